"""Per-file scan pipeline: read bytes -> prefilter -> parse -> find classes -> decide.

Nothing here imports or executes the code it reads.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from fgi_rewrite.analysis.discovery import ClassInfo, ModuleIndex, find_function_classes
from fgi_rewrite.analysis.ir import Refusal
from fgi_rewrite.analysis.project import FileContext
from fgi_rewrite.codes import CODES
from fgi_rewrite.decision import Verdict, judge_all
from fgi_rewrite.model import FileError, FunctionReport, ScanResult

# A Function subclass has to spell its base in a class statement, through an import alias
# (`Function as F_`) or a module-level alias (`F_ = torch.autograd.Function`). Files with none
# of these (about 97% of torch's own tree, 80% of the files that say "Function" at all) are
# not parsed.
_PREFILTER = re.compile(
    rb"\bclass[ \t]+\w+[ \t]*\([^)]*\b(?:Inplace)?Function(?:Base)?\b"  # a base spelling the word Function
    rb"|\bFunction[ \t]+as[ \t]+\w+"  # an import alias
    rb"|=[ \t]*[\w.]*\bFunction[ \t]*(?:#|\r?\n|$)"  # a module-level alias
)
_SUPPRESSION = re.compile(r"#\s*fgi:\s*ignore(?:\[(?P<codes>[A-Za-z0-9_,\s-]+)\])?")


@dataclass(frozen=True)
class Selection:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def keeps(self, code: str) -> bool:
        if self.select and not any(code.startswith(s) for s in self.select):
            return False
        return not any(code.startswith(i) for i in self.ignore)


def suppressed_codes(info: ClassInfo) -> set[str] | None:
    """Codes silenced by a `# fgi: ignore[...]` comment on the class line; None if no comment."""
    body = info.node.body
    comment = None
    if isinstance(body, cst.IndentedBlock) and body.header.comment is not None:
        comment = body.header.comment.value
    elif isinstance(body, cst.SimpleStatementSuite) and body.trailing_whitespace.comment is not None:
        comment = body.trailing_whitespace.comment.value
    if comment is None:
        return None
    match = _SUPPRESSION.search(comment)
    if match is None:
        return None
    codes = match.group("codes")
    return {c.strip().upper() for c in codes.split(",") if c.strip()} if codes else set()


def _report(info: ClassInfo, verdict: Verdict | Refusal, path: str, line: int, column: int) -> FunctionReport:
    if isinstance(verdict, Refusal):
        report = FunctionReport(
            path=path, qualname=info.qualname, name=info.name, line=line, column=column,
            status="refused", code=verdict.code, reason=verdict.reason, kind=None, fix=None, forward_style=None,
        )
    else:
        decision = verdict.decision
        report = FunctionReport(
            path=path, qualname=info.qualname, name=info.name, line=line, column=column,
            status="convertible", code=decision.code, reason=decision.reason, kind=decision.kind, fix=decision.fix,
            forward_style=verdict.ir.forward_style, inputs=decision.inputs, notes=decision.notes,
        )
    suppressed = suppressed_codes(info)
    if suppressed is not None and (not suppressed or report.code in suppressed):
        report = replace(report, status="ignored", reason=f"suppressed by comment ({CODES[report.code].summary})")
    return report


_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=]")
_BOM = b"\xef\xbb\xbf"


def source_error(data: bytes, path: str, error: Exception) -> FileError:
    """The error for a file libcst could not decode or parse, at the line at fault."""
    if isinstance(error, cst.ParserSyntaxError):
        return _syntax_error(data, path, error)
    if isinstance(error, UnicodeDecodeError) and isinstance(error.object, bytes):
        # The offset is into the bytes libcst decoded: the whole file, BOM included.
        line, column = _position(error.object, error.start)
        bad = error.object[error.start]
        return FileError(path, line, column, "FGI901",
                         f"cannot decode as {error.encoding}: byte 0x{bad:02x} ({error.reason})")
    # The encoding declaration itself (unknown, contradicting the BOM) or an undecodable first
    # line, where tokenize looks for one: name that line.
    first_two = data.removeprefix(_BOM).splitlines()[:2]
    declared_at = next((i + 1 for i, text in enumerate(first_two) if _CODING.match(text) or not _utf8(text)), None)
    reason = error.msg if isinstance(error, SyntaxError) else str(error)
    if data.startswith(_BOM) and reason.startswith("encoding problem"):
        reason = f"the UTF-8 byte order mark contradicts the encoding declaration ({reason})"
    return FileError(path, declared_at, 1 if declared_at else None, "FGI901", f"cannot decode: {reason}")


def _utf8(text: bytes) -> bool:
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and (byte) column of an offset into data."""
    return data.count(b"\n", 0, offset) + 1, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def _syntax_error(data: bytes, path: str, error: cst.ParserSyntaxError) -> FileError:
    """libcst reports where its parser gave up; CPython's parser usually names the line at fault."""
    import ast

    if b"\0" in data:  # both parsers reject it without a usable position
        line, column = _position(data, data.index(b"\0"))
        return FileError(path, line, column, "FGI902", "syntax error: null byte in the source")
    try:
        ast.parse(data)
    except SyntaxError as precise:
        if precise.lineno is not None:
            return FileError(path, precise.lineno, precise.offset or None, "FGI902", f"syntax error: {precise.msg}")
    except ValueError:
        pass
    return FileError(path, error.raw_line, error.raw_column + 1, "FGI902", f"syntax error: {error.message}")


def could_define_function(data: bytes) -> bool:
    # The word as a literal first: most files never say it, and a literal search is several
    # times faster than the pattern (on torch's tree the prefilter lets 55 of 2285 files through).
    return b"Function" in data and _PREFILTER.search(data) is not None


def scan_source(data: bytes, path: str, context: FileContext = FileContext()
                ) -> tuple[list[FunctionReport], list[FileError]]:
    if not could_define_function(data) and not context.function_bases:
        return [], []
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError as error:
        return [], [source_error(data, path, error)]
    except (UnicodeDecodeError, LookupError, SyntaxError) as error:
        return [], [source_error(data, path, error)]
    return scan_module(module, data, path, context)


def scan_module(module: cst.Module, data: bytes, path: str, context: FileContext = FileContext()
                ) -> tuple[list[FunctionReport], list[FileError]]:
    """The analysis of an already parsed file (its bytes give the class positions)."""
    classes, index = find_function_classes(module, context.function_bases)
    if not classes:
        return [], []
    positions = _name_positions(data, module, index.classes_in_order, [info.node for info in classes])
    reports, errors = [], []
    verdicts = _verdicts(classes, index, context.subclassed)
    for info in classes:
        line, column = positions[id(info.node)]
        try:
            verdict = verdicts[id(info.node)]
            if isinstance(verdict, Exception) and not isinstance(verdict, Refusal):
                raise verdict
            reports.append(_report(info, verdict, path, line, column))
        except Exception as error:  # one class must never stop the others
            message = f"internal error analysing {info.qualname}: {type(error).__name__}: {error}"
            errors.append(FileError(path, line, column, "FGI903", message))
    return reports, errors


def _verdicts(classes: list[ClassInfo], index: ModuleIndex,
              subclassed: frozenset[str]) -> dict[int, Verdict | Refusal | Exception]:
    try:
        return dict(judge_all(classes, index, subclassed))
    except Exception as error:  # one class must never stop the others: judge them one by one
        verdicts: dict[int, Verdict | Refusal | Exception] = {}
        for info in classes:
            try:
                verdicts.update(judge_all([info], index, subclassed))
            except Exception as single:  # noqa: BLE001 - reported per class as FGI903
                verdicts[id(info.node)] = single
        del error
        return verdicts


def _name_positions(
    data: bytes, module: cst.Module, every_class: list[cst.ClassDef], wanted: list[cst.ClassDef]
) -> dict[int, tuple[int, int]]:
    """1-based (line, column) of each wanted class's name.

    libcst's PositionProvider regenerates the whole module (seconds on a 10k-line file);
    CPython's parser gives the same positions for a fraction of that. Classes only occur in
    statement lists, so the k-th ClassDef in source order is the same class in both trees.
    """
    import ast

    with warnings.catch_warnings():  # invalid escapes in the user's strings are not our message
        warnings.simplefilter("ignore")
        tree = ast.parse(data)
    stack: list[ast.AST] = [tree]
    all_ast: list[ast.ClassDef] = []
    while stack:
        node = stack.pop()
        if isinstance(node, ast.ClassDef):
            all_ast.append(node)
        stack.extend(reversed([c for c in ast.iter_child_nodes(node)
                               if isinstance(c, (ast.stmt, ast.excepthandler, ast.match_case))]))
    if len(all_ast) != len(every_class):
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        return {id(c): (positions[c.name].start.line, positions[c.name].start.column + 1) for c in wanted}
    lines = data.splitlines()
    by_id = {id(c): a for c, a in zip(every_class, all_ast, strict=True)}
    result = {}
    for class_node in wanted:
        found = by_id[id(class_node)]
        raw = lines[found.lineno - 1]
        name_at = raw.index(b"class", found.col_offset) + len(b"class")
        while raw[name_at:name_at + 1] in (b" ", b"\t", b"\\"):
            name_at += 1
        column = len(raw[:name_at].decode(module.encoding, "replace")) + 1
        result[id(class_node)] = (found.lineno, column)
    return result


def scan_file(item: tuple[Path, str] | tuple[Path, str, FileContext]) -> tuple[list[FunctionReport], list[FileError]]:
    """One file: read, prefilter, parse, analyse. Never raises for a bad file. The third item
    says what the other given files do with this one."""
    file, shown = item[0], item[1]
    context = item[2] if len(item) > 2 else FileContext()
    try:
        data = file.read_bytes()
    except OSError as error:
        return [], [FileError(shown, None, None, "FGI901", f"cannot read: {error.strerror or error}")]
    try:
        if file.suffix == ".ipynb":
            from fgi_rewrite import notebooks  # only when a notebook is read: scan's start-up stays small

            return notebooks.scan(data, shown, context)
        return scan_source(data, shown, context)
    except RecursionError:
        return [], [FileError(shown, None, None, "FGI902", "nesting too deep to parse")]


def scan_paths(files: Iterable[Path], display: Callable[[Path], str], selection: Selection = Selection(),
               jobs: int = 1) -> ScanResult:
    from fgi_rewrite.parallel import ordered_map
    from fgi_rewrite.progress import tracked

    result = ScanResult()
    from fgi_rewrite.analysis.project import project_context

    files = list(files)
    context = project_context(files)
    items = [(file, display(file), context[file.resolve()]) for file in files]
    result.files = len(items)
    for reports, errors in tracked(ordered_map(scan_file, items, jobs), len(items), "scanning"):
        result.errors.extend(errors)
        result.functions.extend(r for r in reports if selection.keeps(r.code))
    return result


def summary(result: ScanResult) -> dict[str, object]:
    by_status: dict[str, int] = {"convertible": 0, "refused": 0, "ignored": 0}
    by_code: dict[str, int] = {}
    fixes = {"safe": 0, "unsafe": 0}
    for report in result.functions:
        by_status[report.status] += 1
        by_code[report.code] = by_code.get(report.code, 0) + 1
        if report.status == "convertible" and report.fix:
            fixes[report.fix] += 1
    return {
        "files": result.files,
        "functions": len(result.functions),
        **by_status,
        "safe": fixes["safe"],
        "unsafe": fixes["unsafe"],
        "errors": len(result.errors),
        "skipped": len(result.skipped),
        "by_code": dict(sorted(by_code.items())),
    }


def exit_code(result: ScanResult) -> int:
    if result.errors:
        return 2
    return 1 if any(r.status == "convertible" for r in result.functions) else 0


__all__: Sequence[str] = ["scan_source", "scan_paths", "Selection", "summary", "exit_code"]
