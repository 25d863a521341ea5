"""Jupyter notebooks (.ipynb): the code cells, in order, read as one module.

The analysis is module-level (a class defined in one cell is called with `Cls.apply` in
another), so the Python code cells are joined into one module, each preceded by a marker line
`pass  # fgi-rewrite cell N` that the rewrite never touches: it keeps the cells apart when the
rewritten module is split back, and it is quiet for verify's "runs code at import" rule.
IPython syntax (`%timeit`, `!pip install`, `?obj`, `obj?`) is masked line for line by
`pass  # fgi-rewrite magic K: ...`, so line numbers and columns stay those of the cell, and
restored afterwards; a cell whose first line is a cell magic (`%%time`) is not Python and is
left out.

Why the standard library's json and not nbformat: nbformat's writer re-serialises the whole
document (sorted keys, its own layout), so outputs, metadata and untouched cells would not be
kept byte for byte. Here only the `source` of a changed cell changes, and the document is
written with the layout the file already has (Jupyter's is indent=1, ensure_ascii=False,
trailing newline), checked by re-serialising the unchanged document first. The tests validate
rewritten notebooks with nbformat.
"""

from __future__ import annotations

import difflib
import io
import json
import re
import tokenize
from dataclasses import dataclass, replace
from typing import Any

from fgi_rewrite.model import FileError, FunctionReport

_CELL_MARKER = "pass  # fgi-rewrite cell {}\n"
_MARKER_LINE = re.compile(r"pass  # fgi-rewrite cell (\d+)\n")
_MAGIC_MARK = re.compile(r"[ \t]*pass  # fgi-rewrite magic (\d+): ")
# Help requests: `?obj`, `??obj`, `obj?`, `obj.attr??` (a `?` ends no Python statement).
_HELP = re.compile(r"\?{1,2}[\w.*\[\]()]+|[\w.*\[\]()]+\?{1,2}")
_SHELL_ASSIGN = re.compile(r"[\w.]+\s*=\s*[%!]")  # `files = !ls`, `t = %timeit -o f()`


class NotebookError(Exception):
    """Not a notebook fgi-rewrite can read; `line`/`column` locate bad JSON in the file."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None, code: str = "FGI902"):
        super().__init__(message)
        self.line, self.column, self.code = line, column, code

    def error(self, shown: str) -> FileError:
        return FileError(shown, self.line, self.column, self.code, str(self))


@dataclass(frozen=True)
class Cell:
    number: int  # 1-based position among all the notebook's cells, as a reader counts them
    text: str  # the source, magics masked
    magics: tuple[str, ...]  # original lines behind the masks, by mask number
    first_line: int  # line of the module where the cell's first line is


@dataclass(frozen=True)
class Notebook:
    document: dict[str, Any]
    cells: tuple[Cell, ...]  # the Python code cells

    @property
    def source(self) -> bytes:
        """The module: every Python code cell after its marker line."""
        parts = []
        for cell in self.cells:
            parts.append(_CELL_MARKER.format(cell.number))
            parts.append(_terminated(cell.text))
        return "".join(parts).encode("utf-8")

    def place(self, line: int) -> tuple[int, int] | None:
        """(cell number, line in the cell) of a line of the module; None for a marker line."""
        for cell in reversed(self.cells):
            if line >= cell.first_line:
                return cell.number, line - cell.first_line + 1
            if line == cell.first_line - 1:
                return None
        return None

    def where(self, line: int) -> str:
        found = self.place(line)
        return f"cell_{found[0]}:{found[1]}" if found else f"line {line}"

    def report(self, report: FunctionReport) -> FunctionReport:
        found = self.place(report.line)
        return report if found is None else replace(report, cell=found[0], line=found[1])

    def error(self, error: FileError) -> FileError:
        found = self.place(error.line) if error.line else None
        return error if found is None else replace(error, cell=found[0], line=found[1])


def _terminated(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _lines(text: str) -> list[str]:
    """Lines with their endings, split at "\\n" only (as Jupyter stores them)."""
    return re.findall(r"[^\n]*\n|[^\n]+", text)


def _cell_text(source: Any, number: int) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    raise NotebookError(f"cell_{number}: source is neither a string nor a list of strings")


def read(data: bytes) -> Notebook:
    """The notebook's Python code cells; NotebookError for a file that is not a notebook."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise NotebookError(f"not a notebook: cannot decode as UTF-8 ({error.reason})", code="FGI901") from None
    except json.JSONDecodeError as error:
        raise NotebookError(f"not a notebook: invalid JSON: {error.msg}", error.lineno, error.colno) from None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        raise NotebookError("not a notebook: no list of cells (fgi-rewrite reads nbformat 4)")
    if document.get("nbformat", 4) != 4:
        raise NotebookError(f"unsupported notebook format {document.get('nbformat')} (fgi-rewrite reads nbformat 4)")
    metadata: dict[str, Any] = document["metadata"] if isinstance(document.get("metadata"), dict) else {}
    language = (metadata.get("kernelspec") or {}).get("language") or (metadata.get("language_info") or {}).get("name")
    if language not in (None, "python"):
        return Notebook(document, ())  # an R or Julia notebook holds no Python
    cells, line = [], 1
    for number, cell in enumerate(document["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        text = _cell_text(cell.get("source", ""), number)
        if text.lstrip().startswith("%%"):
            continue  # a cell magic: the whole cell is another language (%%bash) or a wrapped run
        masked, magics = mask(text)
        cells.append(Cell(number, masked, magics, line + 1))
        line += 1 + len(_lines(masked))
    return Notebook(document, tuple(cells))


def mask(text: str) -> tuple[str, tuple[str, ...]]:
    """The cell with each IPython line (magic, shell escape, help) replaced by a `pass` that
    keeps its indentation, and the lines replaced. Lines inside strings and brackets are Python."""
    out: list[str] = []
    magics: list[str] = []
    for line in _lines(text):
        if _is_ipython(line) and _starts_statement("".join(out)):
            indent = line[: len(line) - len(line.lstrip(" \t"))]
            ending = "\n" if line.endswith("\n") else ""
            out.append(f"{indent}pass  # fgi-rewrite magic {len(magics)}: {line.strip()}{ending}")
            magics.append(line)
        else:
            out.append(line)
    return "".join(out), tuple(magics)


def _is_ipython(line: str) -> bool:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return False
    return stripped[0] in "%!" or bool(_HELP.fullmatch(stripped)) or bool(_SHELL_ASSIGN.match(stripped))


def _starts_statement(before: str) -> bool:
    """Whether the line after `before` starts a statement: Python's tokenizer reads `before` to
    its end outside brackets, strings and backslash continuations. Asked only of lines that look
    like IPython, so a cell is tokenized once per such line."""
    try:
        for _ in tokenize.generate_tokens(io.StringIO(before).readline):
            pass
    except tokenize.TokenError:  # EOF inside a bracket, a triple-quoted string or after a backslash
        return False
    except SyntaxError:  # a broken line above: the parse reports it, the line here is not hidden
        return True
    return True


def unmask(text: str, magics: tuple[str, ...]) -> str:
    restored = []
    for line in _lines(text):
        found = _MAGIC_MARK.match(line)
        # The original line with the ending the line has now (a cell's last line has none).
        restored.append(magics[int(found.group(1))].rstrip("\n") + line[len(line.rstrip("\n")):] if found else line)
    return "".join(restored)


def split(module: str, notebook: Notebook) -> dict[int, str]:
    """The rewritten module's text of each cell (masked), by cell number. What precedes the
    first marker (an `import torch` the rewrite added) goes to the first cell."""
    texts: dict[int, list[str]] = {}
    prelude: list[str] = []
    current = prelude
    for line in _lines(module):
        marker = _MARKER_LINE.fullmatch(line)
        if marker:
            current = texts.setdefault(int(marker.group(1)), [])
        else:
            current.append(line)
    if sorted(texts) != sorted(c.number for c in notebook.cells):
        raise NotebookError("internal error: the rewrite lost a cell boundary; left unchanged", code="FGI903")
    first = notebook.cells[0].number
    texts[first] = prelude + texts[first]
    return {number: "".join(lines) for number, lines in texts.items()}


def _fit(new: str, old: str) -> str:
    """The new cell text with the blank lines around it the old one had (the rewrite puts two
    blank lines before a function it adds at a cell's top, and the joined module ends each
    cell with a newline Jupyter does not store)."""
    lead = len(old) - len(old.lstrip("\n"))
    trail = len(old) - len(old.rstrip("\n"))
    return "\n" * lead + new.strip("\n") + "\n" * trail


def rewritten(data: bytes, notebook: Notebook, module: bytes) -> tuple[bytes, list[str]]:
    """The notebook with each changed cell's source replaced, in the file's own JSON layout,
    and notes (a layout that could not be kept)."""
    texts = split(module.decode("utf-8"), notebook)
    cells = notebook.document["cells"]
    changed: dict[int, str] = {}
    for cell in notebook.cells:
        new = texts[cell.number]
        if new == _terminated(cell.text):
            continue
        masks = [int(m.group(1)) for m in map(_MAGIC_MARK.match, _lines(new)) if m]
        if sorted(masks) != list(range(len(cell.magics))):
            raise NotebookError(f"cell_{cell.number}: the rewrite moved an IPython line; left unchanged", code="FGI903")
        old = _cell_text(cells[cell.number - 1].get("source", ""), cell.number)
        changed[cell.number] = _fit(unmask(new, cell.magics), old)
    if not changed:
        return data, []
    document = dict(notebook.document)
    document["cells"] = list(cells)
    for number, text in changed.items():
        source = cells[number - 1].get("source", "")
        written = text if isinstance(source, str) else _lines(text)  # the form the cell had
        document["cells"][number - 1] = {**cells[number - 1], "source": written}
    layout, notes = _layout(data, notebook.document), []
    if layout is None:
        layout = {"indent": _indent(data), "ensure_ascii": False, "crlf": False,
                  "newline": data.endswith(b"\n")}
        notes.append("its JSON layout could not be reproduced exactly; written as Jupyter writes it "
                     f"(indent {layout['indent']!r})")
    return _dump(document, layout), notes


def _indent(data: bytes) -> str | None:
    found = re.match(rb"\{\r?\n([ \t]+)\"", data.removeprefix(b"\xef\xbb\xbf"))
    return found.group(1).decode() if found else None


def _dump(document: dict[str, Any], layout: dict[str, Any]) -> bytes:
    text = json.dumps(document, indent=layout["indent"], ensure_ascii=layout["ensure_ascii"])
    text += "\n" if layout["newline"] else ""
    if layout["crlf"]:
        text = text.replace("\n", "\r\n")  # JSON escapes newlines in strings: these are layout
    return (b"\xef\xbb\xbf" if layout.get("bom") else b"") + text.encode("utf-8")


def _layout(data: bytes, document: dict[str, Any]) -> dict[str, Any] | None:
    """The json.dumps settings that write this very file again, if there are any."""
    base = {"indent": _indent(data), "newline": data.rstrip(b"\r\n") != data, "crlf": b"\r\n" in data,
            "bom": data.startswith(b"\xef\xbb\xbf")}
    for ensure_ascii in (False, True):
        layout = {**base, "ensure_ascii": ensure_ascii}
        if _dump(document, layout) == data:
            return layout
    return None


def cell_diff(shown: str, old: bytes, new: bytes) -> str:
    """A unified diff per changed code cell, headed `a/nb.ipynb:cell_N`, instead of a diff
    of the JSON."""
    try:
        before, after = json.loads(old.decode("utf-8-sig"))["cells"], json.loads(new.decode("utf-8-sig"))["cells"]
    except (ValueError, KeyError, TypeError):
        return ""
    parts: list[str] = []
    for number, (a, b) in enumerate(zip(before, after, strict=True), 1):  # rewrite never adds or drops a cell
        if a.get("source") == b.get("source"):
            continue
        old_text, new_text = _cell_text(a.get("source", ""), number), _cell_text(b.get("source", ""), number)
        lines = difflib.unified_diff(_lines(_terminated(old_text)), _lines(_terminated(new_text)),
                                     fromfile=f"a/{shown}:cell_{number}", tofile=f"b/{shown}:cell_{number}")
        parts.extend(line if line.endswith("\n") else line + "\n" for line in lines)
    return "".join(parts)


def scan(data: bytes, shown: str, context: Any = None) -> tuple[list[FunctionReport], list[FileError]]:
    """scan_source for a notebook: findings and errors located by cell and line."""
    from fgi_rewrite.analysis.project import FileContext
    from fgi_rewrite.scan import scan_source

    try:
        notebook = read(data)
    except NotebookError as error:
        return [], [error.error(shown)]
    reports, errors = scan_source(notebook.source, shown, context or FileContext())
    return [notebook.report(r) for r in reports], [notebook.error(e) for e in errors]


def rewrite(data: bytes, options: Any) -> Any:
    """rewrite_module for a notebook (a ModuleRewrite whose source is the notebook's bytes,
    the very bytes read when nothing changes). Raises NotebookError, or what rewrite_module
    raises for a cell that does not parse (located with `read(data).error`)."""
    from fgi_rewrite.rewrite import rewrite_module

    notebook = read(data)
    result = rewrite_module(notebook.source, options)
    if not result.changed:
        result.source = data
        return result
    result.source, notes = rewritten(data, notebook, result.source)
    result.notes.extend(notes)
    return result


def source(data: bytes) -> bytes:
    """A notebook's module as project-wide reading (star imports, subclasses) sees it; empty
    for a file that is not a notebook (reported when the file itself is handled)."""
    try:
        return read(data).source
    except NotebookError:
        return b""
