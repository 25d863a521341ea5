"""The spike variants a benchmark times, obtained the way a user obtains them.

The original class and its FGI rewrite are both executed from source in this process: the
built-in Gaussian spike from `surrogate.SOURCE`, or a user's file given as `PATH::Class`.
The rewrite is the real emitter's output (`rewrite_module`): with the inference fast path
(the default), without it, and in the paper's grouping (`--style paper`). Rewritten sources
live only in memory; they are registered with `linecache` under a name of their own, because
`torch.jit.script` reads a function's source through `inspect`, which finds exec'd code
nowhere else.
"""

from __future__ import annotations

import io
import itertools
import linecache
import sys
import tokenize
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from fgi_rewrite.bench import surrogate
from fgi_rewrite.rewrite import RewriteOptions, rewrite_module

CUSTOM, FGI, FGI_NO_FAST_PATH, PAPER = "custom", "fgi", "fgi-no-fast-path", "paper"
# Opt-in: the emitted function in `--style paper` (inj - inj.detach() + value.detach()), which
# separates the cost of the default signed-zero grouping from the rest of the emitted code.
FGI_PAPER_STYLE = "fgi-paper-style"
VARIANTS = (CUSTOM, FGI, FGI_NO_FAST_PATH, PAPER)
ALL_VARIANTS = (*VARIANTS, FGI_PAPER_STYLE)
SCALAR = 2.7  # a constant input with no default and no --arg: the value verify uses too

_module_ids = itertools.count()


class BenchError(Exception):
    """Bad input to a benchmark: the message names the file (and line) and says why."""


@dataclass(frozen=True)
class Variant:
    name: str
    fn: Callable[..., torch.Tensor]
    custom: bool  # a custom Function's apply: cannot be scripted, runs under @torch.jit.ignore


@dataclass
class SpikeFunction:
    label: str  # "<builtin:gaussian>" or "path::Class"
    variants: dict[str, Variant]
    inputs: Sequence[Mapping[str, Any]]  # verify.argument_spec of the class
    namespace: dict[str, Any] = field(default_factory=dict)  # the original module's globals


def load_source(source: bytes, label: str, real_path: Path | None = None,
                folder: Path | None = None) -> types.ModuleType:
    """Execute `source` as a fresh module. A user's original file keeps its real path (its own
    `@torch.jit.script` helpers then read the file on disk); in-memory sources get a name of
    their own in linecache. Bytes, so that an encoding declaration is honoured. `folder` goes
    first on sys.path meanwhile: the user's sibling modules import as when run from there."""
    name = f"fgi_bench_{next(_module_ids)}"
    filename = str(real_path) if real_path is not None else f"<fgi-rewrite bench {label}>"
    where = real_path if real_path is not None else label
    try:
        if real_path is None:
            encoding = tokenize.detect_encoding(io.BytesIO(source).readline)[0]
            lines = source.decode(encoding).splitlines(True)
            linecache.cache[filename] = (len(source), None, lines, filename)
        code = compile(source, filename, "exec")
    except (SyntaxError, UnicodeDecodeError, LookupError) as error:
        raise BenchError(f"{where}: cannot compile: {error}") from error
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module  # TorchScript and dataclasses look modules up by name
    search = [str(folder)] if folder is not None else []
    sys.path[:0] = search
    try:
        exec(code, module.__dict__)  # noqa: S102 - bench runs the code it times
    except Exception as error:
        sys.modules.pop(name, None)
        raise BenchError(f"{where}: executing it failed: {type(error).__name__}: {error}") from error
    finally:
        del sys.path[:len(search)]
    return module


def _resolve(module: types.ModuleType, qualname: str) -> Any:
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _input_spec(source: bytes, qualname: str) -> Sequence[Mapping[str, Any]]:
    import libcst as cst

    from fgi_rewrite.analysis.discovery import find_function_classes
    from fgi_rewrite.analysis.extract import extract
    from fgi_rewrite.verify.plan import argument_spec

    classes, index = find_function_classes(cst.parse_module(source))
    info = next(c for c in classes if c.qualname == qualname)
    return argument_spec(extract(info, index))


_REWRITES = {FGI: RewriteOptions(), FGI_NO_FAST_PATH: RewriteOptions(fast_path=False),
             FGI_PAPER_STYLE: RewriteOptions(style="paper")}


def _rewrite(data: bytes, qualname: str, shown: str, unsafe_fixes: bool) -> tuple[dict[str, bytes], str]:
    """{variant: rewritten source}, and the emitted function's name; refuses clearly."""
    import dataclasses

    import libcst as cst

    sources: dict[str, bytes] = {}
    function = ""
    for variant, options in _REWRITES.items():
        try:
            result = rewrite_module(data, dataclasses.replace(options, unsafe_fixes=unsafe_fixes))
        except (cst.ParserSyntaxError, UnicodeDecodeError, SyntaxError) as error:
            from fgi_rewrite.scan import scan_source

            errors = scan_source(data, shown)[1]
            where = f"{shown}:{errors[0].line}" if errors and errors[0].line else shown
            message = errors[0].message if errors else str(error)
            raise BenchError(f"{where}: cannot parse: {message}") from error
        outcome = next((o for o in result.outcomes if o.qualname == qualname), None)
        if outcome is None:
            found = ", ".join(o.qualname for o in result.outcomes) or "none"
            raise BenchError(f"{shown}: no torch.autograd.Function class {qualname!r} "
                             f"(Function classes found: {found})")
        if outcome.outcome != "rewritten" or outcome.function is None:
            code = f"{outcome.code} " if outcome.code else ""
            raise BenchError(f"{shown}: {qualname} is not convertible ({outcome.outcome}): {code}{outcome.reason}")
        if "<locals>" in qualname:
            raise BenchError(f"{shown}: {qualname} is defined inside a function; bench cannot reach it")
        sources[variant] = result.source
        function = outcome.function
    return sources, function


def builtin() -> SpikeFunction:
    """The Gaussian spike, its rewrites and the paper's hand-written FGI form."""
    return _load(surrogate.SOURCE.encode(), surrogate.CLASS_NAME, surrogate.NAME, None, unsafe_fixes=False,
                 paper=surrogate.gaussian_spike_paper)


def user_function(spec: str, unsafe_fixes: bool) -> SpikeFunction:
    """`PATH::Class`: the user's class and the function `rewrite` emits for it."""
    path_text, sep, qualname = spec.rpartition("::")
    if not sep or not path_text or not qualname:
        raise BenchError(f"{spec!r}: expected PATH::Class")
    path = Path(path_text)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BenchError(f"{path_text}: cannot read: {error.strerror}") from error
    return _load(data, qualname, spec, path, unsafe_fixes=unsafe_fixes, paper=None)


def _load(data: bytes, qualname: str, label: str, path: Path | None, unsafe_fixes: bool,
          paper: Callable[[torch.Tensor], torch.Tensor] | None) -> SpikeFunction:
    shown = str(path) if path is not None else label
    sources, function = _rewrite(data, qualname, shown, unsafe_fixes)
    folder = path.resolve().parent if path is not None else None
    original = load_source(data, f"{label} original", path, folder)
    variants = {CUSTOM: Variant(CUSTOM, _resolve(original, qualname).apply, custom=True)}
    for name, source in sources.items():
        module = load_source(source, f"{label} {name}", folder=folder)
        variants[name] = Variant(name, getattr(module, function), custom=False)
    if paper is not None:
        variants[PAPER] = Variant(PAPER, paper, custom=False)
    return SpikeFunction(label, variants, _input_spec(data, qualname), vars(original))


@dataclass
class Arguments:
    """One call's arguments: the tensors gradients are taken for, and what each value is."""
    values: list[Any]
    leaves: list[torch.Tensor]
    primary: int  # position of the first differentiable input: the benchmark's "x"
    described: list[str]


def make_arguments(function: SpikeFunction, shape: tuple[int, ...], dtype: torch.dtype, device: str,
                   given: Mapping[str, str], generator: torch.Generator) -> Arguments:
    """Differentiable inputs: standard normal values of `shape` (spikes of every sign); a
    broadcast input: a parameter of the reduced shape; constants: --arg, the default, a
    tensor where forward uses one, else 2.7 (as verify does). Each is described."""
    values: list[Any] = []
    leaves: list[torch.Tensor] = []
    described: list[str] = []
    primary = -1
    for item in function.inputs:
        name = item["name"]
        value: object  # a tensor, a number, or whatever --arg or the default evaluates to
        if item["role"] == "variadic":
            raise BenchError(f"{function.label}: *{name} inputs cannot be benchmarked")
        if item["role"] == "differentiable":
            leaf = torch.randn(shape, generator=generator, dtype=torch.float64).to(dtype=dtype, device=device)
            leaf.requires_grad_(True)
            primary = len(values) if primary < 0 else primary
            leaves.append(leaf)
            value = leaf
            described.append(f"{name}=randn{list(shape)}")
        elif item["role"] == "broadcast":
            size = () if item["full_reduction"] else shape[1:]
            leaf = (torch.rand(size, generator=generator, dtype=torch.float64) + 0.5).to(dtype=dtype, device=device)
            leaf.requires_grad_(True)
            leaves.append(leaf)
            value = leaf
            described.append(f"{name}=parameter{list(size)}")
        elif name in given:
            x = torch.randn(shape, generator=generator, dtype=torch.float64).to(dtype=dtype, device=device)
            try:
                value = eval(given[name], {**function.namespace, "torch": torch, "x": x})
            except Exception as error:
                raise BenchError(f"--arg {name}={given[name]}: {type(error).__name__}: {error}") from error
            described.append(f"{name}={given[name]} (--arg)")
        elif item["default"] is not None:
            try:
                value = eval(item["default"], dict(function.namespace))  # the signature's own default
            except Exception as error:
                raise BenchError(f"{function.label}: default of {name} ({item['default']}) failed: {error}; "
                                 f"give --arg {name}=EXPR") from error
            described.append(f"{name}={item['default']} (default)")
        elif item["as_tensor"] or item["saved"]:
            value = torch.full(shape if item["as_tensor"] else (), SCALAR, dtype=dtype, device=device)
            described.append(f"{name}=tensor({SCALAR}) (forward uses it as a tensor)")
        elif item["annotation"] in ("int", "bool"):
            value = 3 if item["annotation"] == "int" else True
            described.append(f"{name}={value} (annotated {item['annotation']})")
        else:
            value = SCALAR
            described.append(f"{name}={SCALAR} (no default; give --arg {name}=EXPR)")
        values.append(value)
    if primary < 0:
        raise BenchError(f"{function.label}: no differentiable input to benchmark")
    return Arguments(values, leaves, primary, described)


def unknown_arguments(function: SpikeFunction, given: Mapping[str, str]) -> list[str]:
    names = {item["name"] for item in function.inputs}
    return sorted(set(given) - names)


def check_single_input(function: SpikeFunction) -> None:
    """The ALIF model calls the spike with one tensor, u - theta: every other input needs a
    default."""
    first = next((i for i, item in enumerate(function.inputs) if item["role"] == "differentiable"), None)
    if first != 0:
        raise BenchError(f"{function.label}: bench alif passes u - theta as the first input, which must be "
                         f"differentiable")
    needed = [item["name"] for item in function.inputs[1:] if item["default"] is None]
    if needed:
        raise BenchError(f"{function.label}: bench alif calls the spike with one tensor; {', '.join(needed)} "
                         f"has no default (bench spike --arg can set it)")
