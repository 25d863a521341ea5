"""Adversarial cases judged by an independent harness (see tests/adversarial/README.md).

The harness uses the tool only through its CLI (`scan --format json`, `rewrite --out`, once
without and once with `--unsafe-fixes`); it never touches `fgi_rewrite.verify.plan*`,
`fgi_rewrite.verify.compat` or the emitter. It then imports the original and the rewritten files
under distinct module names and compares them with its own code:

- verdict: scan's verdict for every Function class is in the case's allowed set, scan
  reports no class the case does not declare, and `rewrite` agrees with scan (safe ->
  rewritten without --unsafe-fixes; unsafe -> only with it; refused -> class text
  byte-identical in both outputs);
- behaviour, for each call spec, seed, dtype and grad mode: forward values bit for bit,
  dtype, shape, device, requires_grad; the same exceptions; the RNG state after the call
  and after backward; the arguments after the call (in-place edits); gradients wrt every
  argument that requires grad (None-ness, then bits; 16 ulps only for the --unsafe-fixes
  output of a case that allows `unsafe`);
- names: in multi-file cases, every name a module of the case had keeps its origin
  (a star import must not shadow an importer's name, an import a star-importer used must
  not disappear).
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import json
import shutil
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from click.testing import CliRunner  # noqa: E402

from fgi_rewrite.cli import main as cli_main  # noqa: E402

CASES_DIR = Path(__file__).parent / "adversarial" / "cases"
SEEDS = (0, 1, 2)
CALL_SEED = 1234
UNSAFE_ULPS = 16
DEFAULT_DTYPES = ("float32", "float64")
MANTISSA = {torch.float64: 53, torch.float32: 24, torch.bfloat16: 8, torch.float16: 11}
INT_VIEW = {8: torch.int64, 4: torch.int32, 2: torch.int16, 1: torch.int8}


# ---------------------------------------------------------------------------------------
# case discovery and headers


@dataclass
class Case:
    name: str
    root: Path  # a file, or a folder for multi-file cases
    main: Path  # the file with the header
    what: str
    expect: dict[str, set[str]] = field(default_factory=dict)

    @property
    def files(self) -> list[Path]:
        return [self.root] if self.root.is_file() else sorted(self.root.glob("*.py"))


def _parse_header(path: Path) -> tuple[str, dict[str, set[str]]] | None:
    what, expect = None, {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# fgi-case:"):
            what = line.split(":", 1)[1].strip()
        elif line.startswith("# fgi-expect:"):
            spec = line.split(":", 1)[1].split("(", 1)[0].strip()
            qual, allowed = spec.split("=", 1)
            expect[qual.strip()] = {a.strip() for a in allowed.split("|") if a.strip()}
    return (what, expect) if expect else None


def _discover() -> list[Case]:
    cases = []
    for entry in sorted(CASES_DIR.iterdir()):
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_file() and entry.suffix == ".py":
            header = _parse_header(entry)
            assert header, f"{entry}: no fgi-expect header"
            cases.append(Case(entry.stem, entry, entry, *header))
        elif entry.is_dir():
            mains = [(p, h) for p in sorted(entry.glob("*.py")) if (h := _parse_header(p))]
            assert len(mains) == 1, f"{entry}: exactly one file must carry the header"
            cases.append(Case(entry.name, entry, mains[0][0], *mains[0][1]))
    return cases


CASES = _discover()


# ---------------------------------------------------------------------------------------
# the CLI


def _cli(args: list[str]):
    result = CliRunner().invoke(cli_main, args, catch_exceptions=True)
    return result


@dataclass
class ToolRun:
    work: Path
    rel: str  # path given to the CLI, relative to work
    scan: dict
    sides: dict[str, Path]  # side name -> folder holding the case as that side sees it


def _run_tool(case: Case, work: Path, monkeypatch) -> ToolRun:
    monkeypatch.chdir(work)
    inp = work / "in"
    inp.mkdir()
    if case.root.is_file():
        shutil.copy2(case.root, inp / case.root.name)
    else:
        shutil.copytree(case.root, inp / case.root.name)
    rel = f"in/{case.root.name}"
    res = _cli(["scan", rel, "--format", "json"])
    assert res.exit_code in (0, 1), f"scan exited {res.exit_code}: {res.output[-2000:]}"
    scan = json.loads(res.stdout)
    sides = {"orig": inp}
    for side, extra in (("safe", []), ("unsafe", ["--unsafe-fixes"])):
        out = work / f"out_{side}"
        res = _cli(["rewrite", rel, "--out", str(out.name), *extra])
        assert res.exit_code == 0, f"rewrite ({side}) exited {res.exit_code}: {res.output[-2000:]}"
        folder = work / f"side_{side}"
        shutil.copytree(inp, folder)  # unchanged files are not always written under --out
        written = out / "in"
        if written.exists():
            shutil.copytree(written, folder, dirs_exist_ok=True)
        sides[side] = folder
    return ToolRun(work, rel, scan, sides)


# ---------------------------------------------------------------------------------------
# verdicts


def _verdict(entry: dict) -> str:
    if entry["status"] == "convertible":
        return entry.get("fix") or "unsafe"
    if entry["status"] == "refused":
        return f"refused:{entry.get('code')}"
    return entry["status"]


def _allowed(verdict: str, allowed: set[str]) -> bool:
    return verdict in allowed or (verdict.startswith("refused:") and "refused" in allowed)


def _find_class(tree: ast.AST, qualname: str) -> ast.ClassDef | None:
    parts = qualname.split(".")

    def walk(node, idx):
        for child in ast.iter_child_nodes(node):
            if idx < len(parts) and parts[idx] == "<locals>":
                continue
            if isinstance(child, ast.ClassDef) and child.name == parts[idx]:
                if idx == len(parts) - 1:
                    return child
                found = walk(child, idx + 1)
                if found:
                    return found
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child.name == parts[idx]:
                if idx + 1 < len(parts) and parts[idx + 1] == "<locals>":
                    found = walk(child, idx + 2)
                    if found:
                        return found
            elif not isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                found = walk(child, idx)  # if / try blocks
                if found:
                    return found
        return None

    return walk(tree, 0)


def _class_text(path: Path, qualname: str) -> str | None:
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    node = _find_class(ast.parse(text), qualname)
    return None if node is None else ast.get_source_segment(text, node)


def _check_verdicts(case: Case, run: ToolRun) -> tuple[list[str], dict[str, str]]:
    problems, verdicts = [], {}
    entries = run.scan.get("functions", [])
    if run.scan.get("errors"):
        problems.append(f"scan errors: {run.scan['errors']}")
    declared = set(case.expect)
    for e in entries:
        fname = Path(e["path"]).name
        key = e["qualname"] if e["qualname"] in declared else f"{fname}::{e['qualname']}"
        if key not in declared:
            problems.append(f"scan reports undeclared class {fname}::{e['qualname']} ({_verdict(e)})")
            continue
        verdicts[key] = _verdict(e)
        # rewrite must agree with scan
        rel = Path(e["path"]).relative_to("in")
        orig = _class_text(run.sides["orig"] / rel, e["qualname"])
        safe = _class_text(run.sides["safe"] / rel, e["qualname"])
        unsafe = _class_text(run.sides["unsafe"] / rel, e["qualname"])
        v = verdicts[key]
        if v == "safe" and safe == orig:
            problems.append(f"{key}: scan says safe but rewrite left the class as it was")
        if v == "unsafe":
            if safe != orig:
                problems.append(f"{key}: scan says unsafe but rewrite changed it without --unsafe-fixes")
            if unsafe == orig:
                problems.append(f"{key}: scan says unsafe but rewrite --unsafe-fixes left it")
        if v.startswith("refused") and (safe != orig or unsafe != orig):
            problems.append(f"{key}: scan says {v} but rewrite changed the class text")
    for key, allowed in case.expect.items():
        got = verdicts.get(key, "absent")
        if not _allowed(got, allowed):
            problems.append(f"{key}: verdict {got}, expected {'|'.join(sorted(allowed))}")
    return problems, verdicts


# ---------------------------------------------------------------------------------------
# importing both sides


def _import_side(case: Case, folder: Path, side: str):
    """Import the case's main module from `folder` as a distinct module; siblings by plain name."""
    base = folder if case.root.is_file() else folder / case.root.name
    main_file = base / case.main.name
    siblings = {p.stem for p in base.glob("*.py")} - {case.main.stem}
    modname = f"_adv_{side}_{case.name}_{case.main.stem}"
    for s in siblings:
        sys.modules.pop(s, None)
    sys.path.insert(0, str(base))
    try:
        torch.manual_seed(CALL_SEED)
        spec = importlib.util.spec_from_file_location(modname, main_file)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        spec.loader.exec_module(mod)
        loaded = {s: sys.modules[s] for s in siblings if s in sys.modules}
    finally:
        sys.path.remove(str(base))
        for s in siblings:
            sys.modules.pop(s, None)
    return mod, loaded


def _origin(obj, main_names: dict[str, str]):
    if isinstance(obj, types.ModuleType):
        return ("module", main_names.get(obj.__name__, obj.__name__))
    mod = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", None)
    if isinstance(obj, (types.FunctionType, type)) and mod is not None:
        return ("def", main_names.get(mod, mod), qual)
    return None


def _check_names(case: Case, orig, rewritten, side: str) -> list[str]:
    """Multi-file cases: every name a module of the case had keeps its origin."""
    problems = []
    omain, osib = orig
    rmain, rsib = rewritten
    names = {omain.__name__: "<main>", rmain.__name__: "<main>"}
    pairs = [(case.main.stem, omain, rmain)] + [(s, osib[s], rsib.get(s)) for s in osib]
    for stem, om, rm in pairs:
        if rm is None:
            problems.append(f"[{side}] module {stem} not imported by the rewritten side")
            continue
        own = {om.__name__, rm.__name__}
        for name, obj in vars(om).items():
            if name.startswith("_"):
                continue
            o = _origin(obj, names)
            if o is None or (o[0] == "def" and (o[1] in own or o[1] == "<main>" and stem == case.main.stem)):
                continue  # only imported objects and modules are compared
            if name not in vars(rm):
                problems.append(f"[{side}] {stem}.{name} ({o}) disappeared")
                continue
            r = _origin(vars(rm)[name], names)
            if r != o:
                problems.append(f"[{side}] {stem}.{name} was {o}, now {r}")
    return problems


# ---------------------------------------------------------------------------------------
# running a call spec


def _normalize_specs(raw) -> list[dict]:
    specs = []
    for s in raw:
        if isinstance(s, dict):
            spec = dict(s)
        else:
            s = list(s)
            spec = {"call": s[0], "args": s[1]}
            if len(s) > 2:
                spec["grad"] = s[2]
        if "(" not in spec["call"]:
            spec["call"] += "(" + ", ".join(f"a{i}" for i in range(len(spec["args"]))) + ")"
        spec.setdefault("grad", None)  # None: every floating tensor argument
        spec.setdefault("dtypes", DEFAULT_DTYPES)
        spec.setdefault("cast", None)  # None: every floating tensor argument
        spec.setdefault("modes", ("grad", "no_grad"))
        specs.append(spec)
    return specs


def _prepare_args(spec, dtype):
    args = []
    for i, a in enumerate(spec["args"]):
        if isinstance(a, torch.Tensor) and a.is_floating_point():
            if spec["cast"] is None or i in spec["cast"]:
                a = a.to(dtype)
        args.append(a)
    return args


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [y for o in out for y in _flatten(o)]
    return [out]


@dataclass
class Outcome:
    fwd_exc: str | None = None
    outs: list = field(default_factory=list)
    rng_fwd: object = None
    args_after: list = field(default_factory=list)
    bwd_exc: str | None = None
    grads: list = field(default_factory=list)
    rng_bwd: object = None


def _run(mod, spec, args, mode: str) -> Outcome:
    oc = Outcome()
    cloned = []
    grad_idx = []
    for i, a in enumerate(args):
        if isinstance(a, torch.Tensor):
            a = a.detach().clone()
            wants = spec["grad"] is None or i in spec["grad"]
            if mode == "grad" and wants and a.is_floating_point():
                a.requires_grad_(True)
                grad_idx.append(i)
        cloned.append(a)
    ns = dict(vars(mod))
    ns.update({f"a{i}": a for i, a in enumerate(cloned)})
    torch.manual_seed(CALL_SEED)
    try:
        with torch.no_grad() if mode == "no_grad" else contextlib.nullcontext():
            out = eval(spec["call"], ns)
    except Exception as exc:  # noqa: BLE001 - the exception type is compared
        oc.fwd_exc = type(exc).__name__
        return oc
    oc.rng_fwd = torch.get_rng_state()
    oc.outs = _flatten(out)
    oc.args_after = [a.detach().clone() if isinstance(a, torch.Tensor) else a for a in cloned]
    diff_outs = [o for o in oc.outs if isinstance(o, torch.Tensor) and o.requires_grad]
    if mode != "grad" or not grad_idx or not diff_outs:
        return oc
    gen = torch.Generator().manual_seed(99)
    gos = [torch.randn(o.shape, generator=gen, dtype=torch.float64).to(o.dtype) for o in diff_outs]
    try:
        grads = torch.autograd.grad(diff_outs, [cloned[i] for i in grad_idx], gos, allow_unused=True)
    except Exception as exc:  # noqa: BLE001
        oc.bwd_exc = type(exc).__name__
        return oc
    oc.grads = list(zip(grad_idx, grads, strict=True))
    oc.rng_bwd = torch.get_rng_state()
    return oc


def _bits_equal(a, b) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.is_floating_point():
        ia = a.detach().contiguous().view(INT_VIEW[a.element_size()])
        ib = b.detach().contiguous().view(INT_VIEW[b.element_size()])
        an, bn = a.isnan(), b.isnan()
        return torch.equal(an, bn) and bool(((ia == ib) | an).all())
    return torch.equal(a, b)


def _ulp_close(a, b, k: int, computed_in) -> bool:
    """Within k ulps of max(|a|, |b|), an ulp taken in `computed_in`: a gradient that backward
    computed in a float32 output's dtype and autograd then cast to a float64 input's dtype
    carries float32 rounding, which a probe reproduces only to a float32 ulp (README, unsafe
    fixes: the tolerance is stated in the coarser of the gradient's and the output's dtype)."""
    if _bits_equal(a, b):
        return True
    if k == 0 or a.dtype != b.dtype or a.shape != b.shape or not a.is_floating_point():
        return False
    if not torch.equal(a.isnan(), b.isnan()):
        return False
    a64, b64 = a.double(), b.double()
    m = torch.maximum(a64.abs(), b64.abs())
    _, e = torch.frexp(m)
    ulp = torch.ldexp(torch.ones_like(m), e - min(MANTISSA[a.dtype], MANTISSA.get(computed_in, 53)))
    ok = ((a64 - b64).abs() <= k * ulp) | (a64 == b64) | a.isnan()
    return bool(ok.all())


def _describe(t) -> str:
    if not isinstance(t, torch.Tensor):
        return repr(t)
    return f"{t.dtype} {tuple(t.shape)} {t.device} rg={t.requires_grad}"


def _compare(o: Outcome, r: Outcome, k: int) -> str | None:
    if o.fwd_exc or r.fwd_exc:
        return None if o.fwd_exc == r.fwd_exc else f"forward raised {o.fwd_exc} vs {r.fwd_exc}"
    if len(o.outs) != len(r.outs):
        return f"{len(o.outs)} outputs vs {len(r.outs)}"
    for j, (a, b) in enumerate(zip(o.outs, r.outs, strict=True)):
        if isinstance(a, torch.Tensor) != isinstance(b, torch.Tensor):
            return f"output {j}: {_describe(a)} vs {_describe(b)}"
        if not isinstance(a, torch.Tensor):
            if a != b:
                return f"output {j}: {a!r} vs {b!r}"
            continue
        if (a.dtype, a.shape, a.device, a.requires_grad) != (b.dtype, b.shape, b.device, b.requires_grad):
            return f"output {j}: {_describe(a)} vs {_describe(b)}"
        if not _bits_equal(a, b):
            return f"output {j}: values differ (max abs {(a.double() - b.double()).abs().max().item():.3g})"
    if not torch.equal(o.rng_fwd, r.rng_fwd):
        return "RNG state differs after forward"
    for j, (a, b) in enumerate(zip(o.args_after, r.args_after, strict=True)):
        if isinstance(a, torch.Tensor) and not _bits_equal(a, b):
            return f"argument a{j} differs after the call (in-place edit)"
    if o.bwd_exc or r.bwd_exc:
        return None if o.bwd_exc == r.bwd_exc else f"backward raised {o.bwd_exc} vs {r.bwd_exc}"
    if len(o.grads) != len(r.grads):
        return f"{len(o.grads)} gradients vs {len(r.grads)}"
    for (i, ga), (_, gb) in zip(o.grads, r.grads, strict=True):
        if (ga is None) != (gb is None):
            return f"grad a{i}: {'None' if ga is None else 'tensor'} vs {'None' if gb is None else 'tensor'}"
        if ga is None:
            continue
        if (ga.dtype, ga.shape) != (gb.dtype, gb.shape):
            return f"grad a{i}: {_describe(ga)} vs {_describe(gb)}"
        outputs = [t.dtype for t in o.outs if isinstance(t, torch.Tensor) and t.is_floating_point()]
        if not _ulp_close(ga, gb, k, min(outputs, key=MANTISSA.get, default=ga.dtype)):
            d = (ga.double() - gb.double()).abs().max().item()
            return f"grad a{i} differs beyond {k} ulps (max abs {d:.3g})"
    if o.rng_bwd is not None and r.rng_bwd is not None and not torch.equal(o.rng_bwd, r.rng_bwd):
        return "RNG state differs after backward"
    return None


# ---------------------------------------------------------------------------------------
# the test


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# Cases the tool still gets wrong, each with why. strict: a case that starts passing fails the
# run until it leaves this list.
KNOWN_OPEN: dict[str, str] = {}


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.xfail(reason=KNOWN_OPEN[c.name], strict=True))
                                  if c.name in KNOWN_OPEN else c for c in CASES], ids=[c.name for c in CASES])
def test_adversarial(case: Case, tmp_path, monkeypatch):
    run = _run_tool(case, tmp_path, monkeypatch)
    problems, _ = _check_verdicts(case, run)
    allows_unsafe = any("unsafe" in a for a in case.expect.values())

    orig = _import_side(case, run.sides["orig"], "orig")
    rewritten = {}
    for side in ("safe", "unsafe"):
        same = all(
            (run.sides[side] / p.relative_to(case.root.parent)).read_bytes() == p.read_bytes() for p in case.files
        )
        if not same:
            try:
                rewritten[side] = _import_side(case, run.sides[side], side)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"[{side}] rewritten module fails to import: {type(exc).__name__}: {exc}")
    if case.root.is_dir():
        for side, mods in rewritten.items():
            problems += _check_names(case, orig, mods, side)

    omod = orig[0]
    for seed in SEEDS:
        torch.manual_seed(seed)
        specs = _normalize_specs(omod.fgi_inputs(torch))
        for n, spec in enumerate(specs):
            for dtype_name in spec["dtypes"]:
                dtype = getattr(torch, dtype_name)
                args = _prepare_args(spec, dtype)
                for mode in spec["modes"]:
                    o = _run(omod, spec, args, mode)
                    for side, (rmod, _) in rewritten.items():
                        k = UNSAFE_ULPS if side == "unsafe" and allows_unsafe else 0
                        why = _compare(o, _run(rmod, spec, args, mode), k)
                        if why:
                            problems.append(f"[{side}] spec {n} `{spec['call']}` {dtype_name} {mode} seed {seed}: "
                                            f"{why}")
    # one line per distinct problem kind keeps the report readable
    seen, unique = set(), []
    for p in problems:
        key = p.split("`")[0] if p.startswith("[") else p  # one line per side and spec
        if key not in seen:
            seen.add(key)
            unique.append(p)
    assert not unique, "\n".join(unique)
