"""A hypothesis strategy that writes random, plausible surrogate-gradient Function classes.

Each example is one small module: a `torch.autograd.Function` subclass assembled from
independent pieces (spike form, surrogate formula, how backward applies it, what ctx carries,
forward style, helpers, static and class methods the shim must keep, call sites), and a record
of what the generator meant: whether the class is convertible (or which refusal code it must
get, and how far the original still runs), which inputs are differentiable, the features used,
and the ground truth. Refused forms cover backward (non-linear, non-elementwise, side effects,
randomness, a term filled in from zeros, a saved tuple used as a tensor), forward (mark_dirty,
a non-elementwise op before the spike, a bool or non-differentiable output, several outputs)
and the class (a registering decorator, its own apply, a name backward and forward resolve
differently). The ground truth is the generator's own formulas, spelled
with plain names and evaluated here without the tool, so a rewrite that changed the original
and its FGI twin alike would still be caught.

Formulas are written once as templates with placeholders ({x}, {thr}, {z}, {a}, {go}, {out})
and rendered twice: with the class's spellings (ctx.alpha, saved names, ...) into the source,
and with fixed plain names into the truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from hypothesis import strategies as st

# Every feature the strategy can produce; the fuzz test checks that a run exercised them all.
FEATURES = (
    "spike:compare_cast", "spike:where", "spike:masked_assign", "spike:sign", "spike:floor_clamp",
    "surrogate:fast_sigmoid", "surrogate:atan", "surrogate:gaussian", "surrogate:triangle",
    "surrogate:sigmoid", "surrogate:rectangle", "surrogate:identity",
    "inputs:1", "inputs:2", "inputs:3",
    "thr:scalar", "thr:tensor_constant", "thr:tensor", "thr:broadcast",
    "alpha:literal", "alpha:input", "alpha:default", "alpha:global", "alpha:class_attribute",
    "alpha:local_from_ctx",
    "forward:ctx", "forward:setup_context",
    "base:torch.autograd.Function", "base:Function", "base:autograd.Function",
    "ctx:named_context", "backward:once_differentiable",
    "saves:inputs", "saves:z", "saves:output", "ctx:tensor_attribute", "ctx:scalar_attribute",
    "z:forward_local",
    "grad:inline", "grad:factor", "grad:helper_surrogate", "grad:helper_gradient", "grad:in_place",
    "mask:clone_assign", "mask:where", "mask:masked_fill",
    "thr_grad:from_grad_x", "thr_grad:recomputed", "thr_grad:neg_spelling", "thr_grad:sum_to_size",
    "needs_input_grad", "return:bare",
    "call:direct", "call:alias", "call:closure", "call:lambda_factory", "call:class_value",
    "call:instance", "call:default_argument", "call:class_attribute", "call:omits_default",
    "refuse:nonlinear", "refuse:not_elementwise", "refuse:several_outputs",
    "refuse:side_effect", "refuse:random", "refuse:mark_dirty",
    "refuse:forward_not_elementwise", "refuse:bool_output", "refuse:mark_non_differentiable",
    "refuse:zeros_filled_in_place", "refuse:saved_not_unpacked", "refuse:name_capture",
    "refuse:class_decorator", "refuse:own_apply",
    "forward:flatten_roundtrip", "shim:static_method", "alpha:tensor_requires_grad",
    "grad:clone_mul_inplace", "grad:clone_mul_float64",
    "expect:convert", "expect:refuse",
)

Expect = Literal["convert", "refuse"]


@dataclass(frozen=True)
class Input:
    name: str
    role: Literal["x", "thr", "alpha"]
    kind: Literal["tensor", "broadcast", "scalar", "scalar_tensor"]
    differentiable: bool
    # scalar inputs: the value passed (the default, when there is one); scalar_tensor: a 0-d
    # float64 tensor of that value that requires grad, though backward returns None for it
    value: float | None = None


@dataclass(frozen=True)
class CallSite:
    name: str
    arity: int  # takes the first `arity` inputs


@dataclass(frozen=True)
class Truth:
    """The class's formulas in plain names: x, thr, a (alpha's value), z, go, out."""

    z: str
    value_statements: tuple[str, ...]
    value: str
    prelude: tuple[str, ...]  # backward's statements before the gradients (sig = ..., sg = ...)
    gradient: str  # of x, unmasked
    mask: str | None  # where x's gradient is zeroed
    thr_gradient: Literal["none", "tensor", "broadcast"] = "none"
    thr_from_grad_x: bool = False  # else recomputed from grad_output, out of place and unmasked
    in_place: bool = False  # x's gradient is updated in place: rounded to grad_output's dtype
    constants: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Generated:
    source: str
    class_name: str
    inputs: tuple[Input, ...]
    call_sites: tuple[CallSite, ...]
    expect: Expect
    code: str | None  # the refusal code expected when expect == "refuse"
    features: tuple[str, ...]
    truth: Truth
    mark_dirty: bool = False  # forward writes into its input: call it with non-leaf tensors
    outputs: int = 1
    # Every gradient is a plain chain of products and divisions of grad_output, so the fix must
    # be safe (symbolic); masks and helpers that receive grad_output make it unsafe
    # (docs/architecture.md, "What safe means").
    symbolic: bool = True
    # How far the original runs (refused classes): forward and backward; forward only (its
    # output carries no gradient); or backward raises.
    runs: Literal["backward", "forward_only", "backward_raises"] = "backward"
    # Calls of static and class methods the shim must keep, as expressions of `C` (the class,
    # or its shim) and `t` (a tensor): both sides must return the same.
    member_calls: tuple[str, ...] = ()

    def __repr__(self) -> str:  # hypothesis prints this for a falsifying example
        sites = ", ".join(f"{c.name}/{c.arity}" for c in self.call_sites)
        return (f"Generated({self.class_name}, expect={self.expect}, code={self.code}, call sites: {sites})\n"
                f"----- source -----\n{self.source}------------------")


# ------------------------------------------------------------------------------ catalogue
# Spike forms of z in forward: (feature, statements, returned expression).
_SPIKES: list[tuple[str, tuple[str, ...], str]] = [
    ("spike:compare_cast", (), "({z} > 0).float()"),
    ("spike:compare_cast", (), "({z} >= 0).to({x}.dtype)"),
    ("spike:compare_cast", (), "{z}.gt(0).type_as({x})"),
    ("spike:compare_cast", (), "torch.gt({z}, 0).to({x})"),
    ("spike:where", (), "torch.where({z} > 0, torch.ones_like({x}), torch.zeros_like({x}))"),
    ("spike:masked_assign", ("{out} = torch.zeros_like({x})", "{out}[{z} > 0] = 1.0"), "{out}"),
    ("spike:sign", (), "0.5 * (torch.sign({z}) + 1.0)"),
    ("spike:sign", (), "torch.sign({z})"),
    ("spike:floor_clamp", (), "torch.clamp(torch.floor({z}), 0, 4)"),
    ("spike:floor_clamp", (), "torch.round({z}).clamp(0.0, 4.0)"),
]

# Surrogates: name -> (prelude statements, chain of (op, operand) applied to grad_output,
# uses alpha). The chain is grad_output's arithmetic in order: division stays division.
_SURROGATES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...], bool]] = {
    "identity": ((), (), False),
    "fast_sigmoid": ((), (("div", "({a} * {z}.abs() + 1.0) ** 2"),), True),
    "atan": ((), (("mul", "{a} / 2"), ("div", "1 + (math.pi / 2 * {a} * {z}) ** 2")), True),
    "gaussian": ((), (("mul", "torch.exp(-({z} ** 2) / (2 * {a} ** 2))"), ("div", "math.sqrt(2 * math.pi) * {a}")),
                 True),
    "triangle": ((), (("mul", "torch.clamp(1.0 - {a} * {z}.abs(), min=0.0)"),), True),
    "sigmoid": (("sig = torch.sigmoid({a} * {z})",), (("mul", "{a} * sig * (1 - sig)"),), True),
    "rectangle": ((), (("mul", "({z}.abs() < 0.5).to({z}.dtype)"),), False),
}

_NONLINEAR = ("{go}.clamp(-1.0, 1.0)", "{go}.abs()", "({go} ** 2)", "torch.clamp({go}, -1.0, 1.0)", "({go} + 0.1)")
_NOT_ELEMENTWISE = ("{go}.cumsum(-1)", "{go}.flip(-1)", "torch.cumsum({go}, dim=0)", "({go} / {go}.norm())",
                    "{go}.sum(-1, keepdim=True).expand_as({go})", "{go}.sum(-1, keepdim=True).expand_as({z})",
                    "{go}.sum(-1, keepdim=True).expand({go}.shape)", "{go}.roll(1, -1)")
_REFUSALS = {"nonlinear": "FGI102", "not_elementwise": "FGI103", "several_outputs": "FGI101",
             "side_effect": "FGI104", "random": "FGI106", "mark_dirty": "FGI105",
             "forward_not_elementwise": "FGI112", "bool_output": "FGI113", "mark_non_differentiable": "FGI113",
             "zeros_filled_in_place": "FGI102", "saved_not_unpacked": "FGI108", "name_capture": "FGI115",
             "class_decorator": "FGI114", "own_apply": "FGI114"}
# Non-elementwise ops forward applies to x before the spike, each keeping x's shape (6 x 5 in
# the fuzz test) so the original still runs.
_FORWARD_NOT_ELEMENTWISE = ("{x}.flip(0)", "{x}.flip(-1)", "{x}.cumsum(-1)", "torch.cumsum({x}, dim=0)",
                            "{x}.roll(1, -1)", "{x}[..., :]", "{x}.transpose(0, 1).reshape({x}.shape)",
                            "{x}.t().contiguous().view({x}.shape)", "({x} - {x}.mean(-1, keepdim=True))",
                            "{x}.sort(-1).values", "({x} @ torch.eye({x}.shape[-1], dtype={x}.dtype))")
# Spikes returned as bool tensors, without a cast.
_BOOL_SPIKES = ("{z} > 0", "({z} >= 0)", "torch.gt({z}, 0)", "{z}.ge(0)")

_MASK = "{z}.abs() > 1.0"
_PLAIN = {"x": "x", "thr": "thr", "z": "z", "a": "a", "go": "go", "out": "out"}


def _chain(base: str, chain: tuple[tuple[str, str], ...]) -> str:
    """grad_output's arithmetic, left to right: `go / (c1)`, `go * (c1) / (c2)`."""
    text = base
    for op, operand in chain:
        text = f"{text} {'*' if op == 'mul' else '/'} ({operand})"
    return text


def _factor(chain: tuple[tuple[str, str], ...]) -> str:
    """The same chain folded into one factor g (grad_output * g rounds differently: the class
    then computes exactly that, and so does the truth)."""
    text = ""
    for op, operand in chain:
        if not text:
            text = f"({operand})" if op == "mul" else f"1.0 / ({operand})"
        else:
            text = f"{text} {'*' if op == 'mul' else '/'} ({operand})"
    return text


def _indent(lines: list[str], depth: int) -> list[str]:
    return ["    " * depth + line if line else "" for line in lines]


@st.composite
def function_classes(draw: Any) -> Generated:  # noqa: C901 - one long run of feature draws; not yet split
    features: list[str] = []

    def pick(options: Any) -> Any:
        return draw(st.sampled_from(options))

    def flag(feature: str) -> bool:
        on = draw(st.booleans())
        if on:
            features.append(feature)
        return on

    # --- what the class must become: mostly convertible, else one defect ------------------
    refusal = pick([None] * 16 + list(_REFUSALS))  # about half convertible
    if refusal is not None:
        features.append(f"refuse:{refusal}")
    mark_dirty = refusal == "mark_dirty"
    several_outputs = refusal == "several_outputs"
    # name capture: backward reads a global that forward shadows with its alpha parameter, or
    # backward binds a local whose name forward reads from module scope
    capture = pick(["shadowed_global", "local_read_by_forward"]) if refusal == "name_capture" else None

    # --- inputs: x, then maybe a threshold, then maybe a hyper-parameter ------------------
    x = pick(["x", "u", "mem", "inp"])
    thr = pick(["thr", "theta", "threshold"])
    alpha_name = pick(["alpha", "slope", "k"])
    thr_kind = pick(["none", "scalar", "tensor", "broadcast", "tensor_constant"])
    if refusal == "zeros_filled_in_place" and thr_kind not in ("tensor", "broadcast"):
        thr_kind = pick(["tensor", "broadcast"])  # the second input must be differentiable
    if refusal == "saved_not_unpacked" and thr_kind not in ("none", "scalar"):
        thr_kind = pick(["none", "scalar"])  # backward saves x alone: `x = ctx.saved_tensors`
    alpha_mode = "input" if capture == "shadowed_global" else pick(["literal", "input", "global", "class_attribute"])
    features.append(f"alpha:{alpha_mode}")
    alpha_value = pick([2.7, 0.9, 4.0])
    thr_value = pick([0.5, 1.0, -0.5])
    alpha_default = alpha_mode == "input" and flag("alpha:default")
    # A hyper-parameter passed as a 0-d tensor that requires grad: backward returns None for
    # it, so neither side may give it a gradient.
    # (never with a default: a call omitting it would compute with the float, not the tensor)
    alpha_tensor = alpha_mode == "input" and not alpha_default and refusal is None \
        and flag("alpha:tensor_requires_grad")
    inputs = [Input(x, "x", "tensor", True)]
    if thr_kind != "none":
        features.append(f"thr:{thr_kind}")
        kind = {"scalar": "scalar", "broadcast": "broadcast"}.get(thr_kind, "tensor")
        inputs.append(Input(thr, "thr", kind, thr_kind in ("tensor", "broadcast"),  # type: ignore[arg-type]
                            thr_value if thr_kind == "scalar" else None))
    if alpha_mode == "input":
        inputs.append(Input(alpha_name, "alpha", "scalar_tensor" if alpha_tensor else "scalar", False, alpha_value))
    features.append(f"inputs:{len(inputs)}")
    thr_grad: Literal["none", "tensor", "broadcast"] = {"tensor": "tensor", "broadcast": "broadcast"}.get(
        thr_kind, "none")  # type: ignore[assignment]

    # --- surrogate, spike, class shape -----------------------------------------------------
    # backward must read alpha (shadowed global) or a saved tensor (saved_not_unpacked)
    surrogate = pick([name for name, (_, _, uses) in _SURROGATES.items()
                      if uses or capture != "shadowed_global"
                      if name != "identity" or refusal != "saved_not_unpacked"])
    features.append(f"surrogate:{surrogate}")
    prelude_t, chain_t, uses_alpha = _SURROGATES[surrogate]
    spike_feature, spike_statements_t, spike_t = pick(_SPIKES)
    features.append(spike_feature)
    # mark_non_differentiable: only in forward (in setup_context the tool gives FGI116)
    style = "ctx" if refusal in ("mark_dirty", "mark_non_differentiable") else pick(["ctx", "setup_context"])
    features.append(f"forward:{style}")
    base = pick(["torch.autograd.Function", "Function", "autograd.Function"])
    features.append(f"base:{base}")
    ctx = pick(["ctx", "context"])
    if ctx == "context":
        features.append("ctx:named_context")
    once = flag("backward:once_differentiable")
    go = pick(["grad_output", "grad", "dy"])
    stem = {"identity": "STE", "rectangle": "Rect"}.get(surrogate, "".join(p.title() for p in surrogate.split("_")))
    class_name = f"{stem}Spike{pick(['', 'Fn', 'Op'])}"
    out = "spike"

    # forward: shape = x.shape; flat = x.flatten(); ...; return spike.reshape(shape)
    flatten = refusal is None and thr_kind in ("none", "scalar") and flag("forward:flatten_roundtrip")
    # Where backward finds z: recomputed from the saved inputs, saved itself, or a ctx attribute.
    z_source = "inputs"
    if thr_kind != "none" and style == "ctx" and not mark_dirty and not flatten \
            and refusal not in ("zeros_filled_in_place", "saved_not_unpacked"):
        z_source = pick(["inputs", "z", "attribute"])
    features.append({"inputs": "saves:inputs", "z": "saves:z", "attribute": "ctx:tensor_attribute"}[z_source])
    z_local = thr_kind != "none" and (z_source != "inputs" or draw(st.booleans()))  # `z = x - thr` in forward
    if z_local:
        features.append("z:forward_local")
    save_output = refusal not in ("mark_dirty", "several_outputs", "bool_output", "saved_not_unpacked") \
        and flag("saves:output")
    alpha_local = alpha_mode == "input" and capture is None and flag("alpha:local_from_ctx")
    alpha_back = {"literal": repr(alpha_value), "global": "ALPHA", "class_attribute": f"{class_name}.alpha",
                  "input": alpha_name if alpha_local or capture == "shadowed_global" else f"{ctx}.alpha"}[alpha_mode]
    captured = pick(["gain", "scale", "offset_scale"]) if capture == "local_read_by_forward" else None

    # --- forward ----------------------------------------------------------------------------
    forward: list[str] = []
    x_forward = x  # x as forward's spike reads it
    if flatten:
        forward += ["shape = " + pick([f"{x}.shape", f"{x}.size()"]),
                    "flat = " + pick([f"{x}.flatten()", f"{x}.reshape(-1)", f"{x}.view(-1)"])]
        x_forward = "flat"
    elif refusal == "forward_not_elementwise":
        x_forward = pick(_FORWARD_NOT_ELEMENTWISE).format(x=x)
    z_forward = f"({x_forward} - {thr})" if thr_kind != "none" else x_forward
    if z_local:
        forward.append(f"z = {x_forward} - {thr}")
        z_forward = "z"
    spelled = {"x": x_forward if flatten else x, "thr": thr, "out": out,
               "z": f"({z_forward} * {captured})" if captured else z_forward}
    if refusal == "bool_output":
        spike_statements_t, spike_t = (), pick(_BOOL_SPIKES)
    forward += [s.format(**spelled) for s in spike_statements_t]
    spike_expr = spike_t.format(**spelled)
    if flatten:
        reshaped = f"{spike_expr}.{pick(['reshape', 'view'])}(shape)"
        if save_output or draw(st.booleans()):
            forward.append(f"{out} = {reshaped}")
            spike_expr = out
        else:
            spike_expr = reshaped
    if (save_output or mark_dirty or refusal == "mark_non_differentiable") and spike_expr != out:
        forward.append(f"{out} = {spike_expr}")
        spike_expr = out
    if refusal == "mark_non_differentiable":
        forward.append(f"{ctx}.mark_non_differentiable({out})")
    returned = spike_expr
    if mark_dirty:
        forward += [f"{x}.copy_({spike_expr})", f"{ctx}.mark_dirty({x})"]
        returned = x
    if several_outputs:
        returned += f", {z_forward} * 1.0"

    # How backward applies the surrogate to grad_output (decided here: a float64 factor of
    # `grad_x = grad_output.clone(); grad_x.mul_(g)` is built from one more saved tensor).
    form = pick(["inline", "factor", "helper_surrogate", "helper_gradient", "clone_mul_inplace"]) \
        if chain_t else "inline"
    if form == "clone_mul_inplace" and refusal == "random":
        form = "factor"
    features.append(f"grad:{form}")
    clone_f64 = form == "clone_mul_inplace" and refusal != "saved_not_unpacked" and flag("grad:clone_mul_float64")

    saved: list[str] = []  # names backward unpacks, in order
    saved_forward: list[str] = []  # the same values, spelled in forward
    attributes: list[tuple[str, str]] = []  # ctx attributes set in forward / setup_context
    if z_source == "inputs":
        saved.append(x)
        saved_forward.append(f"{x}.clone()" if mark_dirty else x)  # forward overwrites x
        if thr_kind in ("tensor", "broadcast", "tensor_constant"):
            saved.append(thr)
            saved_forward.append(thr)
        elif thr_kind == "scalar":
            attributes.append(("thr", thr))
    elif z_source == "z":
        saved.append("z")
        saved_forward.append(z_forward)
    else:
        attributes.append(("z", z_forward))
    if save_output:
        saved.append(out)
        saved_forward.append(out if style == "ctx" else "output")
    if clone_f64:
        saved.append("zd")  # z in float64: the factor is float64 even for float32 inputs
        saved_forward.append((f"({x} - {thr})" if thr_kind != "none" else x)
                             + pick([".double()", ".to(torch.float64)"]))
    if alpha_mode == "input":
        attributes.append(("alpha", alpha_name))
    if any(name in ("thr", "alpha") for name, _ in attributes):
        features.append("ctx:scalar_attribute")
    save = [f"{ctx}.save_for_backward({', '.join(saved_forward)})"] if saved_forward else []
    ctx_lines = [f"{ctx}.{name} = {value}" for name, value in attributes]

    signature = [p.name + (f"={p.value!r}" if p.role == "alpha" and alpha_default else "") for p in inputs]
    methods: list[str] = []
    if style == "ctx":
        # mark_dirty: x is saved before forward writes into it; otherwise after the spike exists.
        body = save + forward + ctx_lines if mark_dirty else forward + save + ctx_lines
        methods += ["@staticmethod", f"def forward({', '.join([ctx, *signature])}):",
                    *_indent([*body, f"return {returned}"], 1), ""]
    else:
        methods += ["@staticmethod", f"def forward({', '.join(signature)}):",
                    *_indent([*forward, f"return {returned}"], 1), ""]
        unpack = f"{', '.join(p.name for p in inputs)}{',' if len(inputs) == 1 else ''} = inputs"
        methods += ["@staticmethod", f"def setup_context({ctx}, inputs, output):",
                    *_indent([unpack, *save, *ctx_lines], 1), ""]

    # --- backward: unpack, z, surrogate prelude -----------------------------------------------
    back: list[str] = []
    if refusal == "saved_not_unpacked":
        back.append(f"{saved[0]} = {ctx}.saved_tensors")  # a tuple, used as a tensor below
    elif len(saved) == 1:
        back.append(pick([f"({saved[0]},) = {ctx}.saved_tensors", f"{saved[0]}, = {ctx}.saved_tensors",
                          f"{saved[0]} = {ctx}.saved_tensors[0]"]))
    elif saved:
        back.append(f"{', '.join(saved)} = {ctx}.saved_tensors")
    if alpha_local:
        back.append(f"{alpha_name} = {ctx}.alpha")
    z_back = "z"
    if z_source == "attribute":
        back.append(f"z = {ctx}.z")
    elif z_source == "z":
        pass  # unpacked from saved_tensors above
    elif thr_kind == "scalar":
        back.append(f"z = {x} - {ctx}.thr")
    elif thr_kind != "none":
        if draw(st.booleans()):
            back.append(f"z = {x} - {thr}")
        else:
            z_back = f"({x} - {thr})"
    elif thr_kind == "none":
        z_back = x
    if captured:
        back.append(f"{captured} = 1.0")  # forward reads the module's `{captured}`
    if refusal == "side_effect":
        effect = pick([f'print("backward", {go}.shape)', "CALLS.append(1)", "global COUNT\nCOUNT += 1"])
        back += effect.split("\n")

    in_class = {"z": z_back, "a": alpha_back, "go": go, "out": out}
    plain = {"z": "z", "a": "a", "go": "go", "out": "out"}
    chain = chain_t
    if save_output and chain:
        chain = (*chain, ("mul", "1.5 - 0.5 * {out}"))  # a damping read from the saved spike
    back += [p.format(**in_class) for p in prelude_t]
    truth_prelude = [p.format(**plain) for p in prelude_t]

    # --- backward: x's gradient -----------------------------------------------------------------
    mask_form = pick(["none", "none", "none", "clone_assign", "where", "masked_fill"])
    if form == "clone_mul_inplace" and mask_form not in ("none", "clone_assign"):
        mask_form = "none"
    if mask_form != "none":
        features.append(f"mask:{mask_form}")
    base_go = f"({go} * {captured})" if captured else go
    if refusal in ("nonlinear", "not_elementwise"):
        base_go = pick(_NONLINEAR if refusal == "nonlinear" else _NOT_ELEMENTWISE).format(go=go, z=z_back)
    if refusal == "random":
        back.append(f"noise = 1.0 + 0.01 * torch.randn_like({z_back})")

    def rendered(names: dict[str, str]) -> tuple[tuple[str, str], ...]:
        return tuple((op, operand.format(**names)) for op, operand in chain)

    helpers: list[str] = []
    alpha_param = uses_alpha and alpha_mode == "input"  # a helper takes alpha as a parameter
    helper_names = {"z": "z", "a": "alpha" if alpha_param else alpha_back, "out": out}
    helper_params = ", ".join(["z"] + (["alpha"] if alpha_param else []) + ([out] if save_output and chain else []))
    helper_args = ", ".join([z_back] + ([alpha_back] if alpha_param else []) + ([out] if save_output and chain else []))
    helper_prelude = _indent([p.format(**helper_names) for p in prelude_t], 1)
    if form == "factor":
        back.append(f"sg = {_factor(rendered(in_class))}")
    elif form == "helper_surrogate":
        helpers += [f"def {surrogate}_surrogate({helper_params}):", *helper_prelude,
                    f"    return {_factor(rendered(helper_names))}", "", ""]
    elif form == "helper_gradient":
        helpers += [f"def {surrogate}_gradient(grad, {helper_params}):", *helper_prelude,
                    f"    return {_chain('grad', rendered(helper_names))}", "", ""]
    sg_first = draw(st.booleans())
    g_class = {**in_class, "z": "zd"} if clone_f64 else in_class  # clone_mul's factor

    def gradient_of(start: str) -> str:
        """x's gradient expression computed from `start` (grad_output, or its masked clone)."""
        if form == "inline":
            text = _chain(start, rendered(in_class))
            return f"{start}.clone()" if not chain and start == go and sg_first else text
        if form == "factor":
            return f"sg * {start}" if sg_first else f"{start} * sg"
        if form == "helper_surrogate":
            return f"{start} * {surrogate}_surrogate({helper_args})"
        if form == "clone_mul_inplace":  # out of place (the threshold's recomputed gradient)
            return f"{start} * ({_factor(rendered(g_class))})"
        return f"{surrogate}_gradient({start}, {helper_args})"

    noise = " * noise" if refusal == "random" else ""
    mask = _MASK.format(**in_class)
    grad_x: list[str] = []
    if form == "clone_mul_inplace":
        # In place, the product keeps grad_output's dtype, even with a float64 factor.
        grad_x += [f"grad_x = {base_go}.clone()", *([f"grad_x[{mask}] = 0"] if mask_form == "clone_assign" else []),
                   f"grad_x.mul_({_factor(rendered(g_class))})"]
    elif mask_form == "clone_assign":
        grad_x += [f"grad_x = {base_go}.clone()", f"grad_x[{mask}] = 0", f"grad_x = {gradient_of('grad_x')}{noise}"]
        if grad_x[-1] == "grad_x = grad_x":
            grad_x.pop()
    elif form == "factor" and mask_form == "none" and not noise and flag("grad:in_place"):
        # In place, the product keeps grad_output's dtype (float32 for a .float() spike).
        grad_x += [f"grad_x = {base_go}.clone()", pick(["grad_x *= sg", "grad_x.mul_(sg)"])]
    else:
        expr = gradient_of(base_go) + noise
        if mask_form == "where":
            expr = f"torch.where({mask}, torch.zeros_like({go}), {expr})"
        elif mask_form == "masked_fill":
            expr = f"({expr}).masked_fill({mask}, 0.0)"
        grad_x.append(f"grad_x = {expr}")
    if form in ("inline", "helper_gradient"):
        truth_gradient = _chain("go", rendered(plain))
    elif form == "clone_mul_inplace":
        if clone_f64:
            truth_prelude.append("zd = z.double()")
        truth_prelude.append(f"sg = {_factor(rendered({**plain, 'z': 'zd'} if clone_f64 else plain))}")
        truth_gradient = "go * sg"
    else:
        truth_prelude.append(f"sg = {_factor(rendered(plain))}")
        truth_gradient = "go * sg" if not sg_first else "sg * go"

    # --- backward: the threshold's gradient ---------------------------------------------------
    grad_thr: list[str] = []
    thr_from_grad_x = False
    if thr_grad != "none":
        thr_from_grad_x = draw(st.booleans())
        features.append("thr_grad:from_grad_x" if thr_from_grad_x else "thr_grad:recomputed")
        term = "grad_x" if thr_from_grad_x else f"({gradient_of(base_go)}{noise})"
        if thr_grad == "tensor":
            spellings = ["-{t}", "{t}.neg()", "torch.neg({t})", "-1.0 * {t}"]
        else:
            spellings = ["-{t}.sum(0)", "{t}.sum(0).neg()", "(-{t}).sum(0)"]
            if thr in saved:  # the parameter itself is at hand: reduce to its shape
                spellings.append("-{t}.sum_to_size(" + thr + ".shape)")
        spelling = pick(spellings)
        if spelling != spellings[0]:
            features.append("thr_grad:sum_to_size" if "sum_to_size" in spelling else "thr_grad:neg_spelling")
        grad_thr.append("grad_thr = " + spelling.format(t=term))
        if refusal == "zeros_filled_in_place":
            # a term independent of grad_output: zeros filled in place, maybe minus the real one
            fill = pick(["grad_thr.add_(1.0)", f"grad_thr[{thr} > 1.0] = 1.0", "grad_thr.fill_(0.5)"])
            zeros = [f"grad_thr = torch.zeros_like({thr})", fill]
            grad_thr = zeros + ([f"grad_thr = grad_thr - {term}"] if draw(st.booleans()) else [])

    needs = flag("needs_input_grad")
    if needs:
        back.append(" = ".join(["grad_x", *(["grad_thr"] if grad_thr else []), "None"]))
        back += [f"if {ctx}.needs_input_grad[0]:", *_indent(grad_x, 1)]
        if grad_thr:
            back += [f"if {ctx}.needs_input_grad[1]:", *_indent(grad_thr, 1)]
    else:
        back += grad_x + grad_thr
    if several_outputs:
        back.append(f"grad_x = grad_x + {go}_z")  # the second output's gradient reaches x too
    returned_grads = ["grad_x"] + [("grad_thr" if grad_thr else "None") for p in inputs if p.role == "thr"] \
        + ["None" for p in inputs if p.role == "alpha"]
    if len(returned_grads) == 1 and flag("return:bare"):
        back.append("return grad_x")
    else:
        back.append(f"return {', '.join(returned_grads)}")
    grad_params = [go] + ([f"{go}_z"] if several_outputs else [])
    methods += ["@staticmethod", *(["@once_differentiable"] if once else []),
                f"def backward({', '.join([ctx, *grad_params])}):", *_indent(back, 1)]

    # --- module -------------------------------------------------------------------------------
    member_calls: list[str] = []
    members: list[str] = []
    if refusal is None and flag("shim:static_method"):
        # static and class methods code reaches through the class: the shim must keep them
        kinds = pick(["static", "class", "both"])
        if kinds in ("static", "both"):
            members += ["@staticmethod", f"def surrogate(z, alpha={alpha_value!r}):",
                        "    return 1.0 / (alpha * z.abs() + 1.0) ** 2", ""]
            member_calls += ["C.surrogate(t)", "C.surrogate(t, 0.5)"]
        if kinds in ("class", "both"):
            result = "cls.alpha * value" if alpha_mode == "class_attribute" else "cls.__name__, value * 2.0"
            members += ["@classmethod", "def configure(cls, value):", f"    return {result}", ""]
            member_calls += ["C.configure(3.0)"]
    if refusal == "own_apply":
        members += pick([["@classmethod", "def apply(cls, *args):", "    return super().apply(*args)", ""],
                         ["@staticmethod", "def apply(*args, **kwargs):",
                          f"    return super({class_name}, {class_name}).apply(*args, **kwargs)", ""]])
    if members and draw(st.booleans()):
        methods = methods + [""] + members[:-1]
    else:
        methods = members + methods
    class_body = ([f"alpha = {alpha_value!r}", ""] if alpha_mode == "class_attribute" else []) + methods
    header = ["import torch"]
    if "math." in "\n".join(class_body + helpers):
        header.insert(0, "import math")
    header += {"Function": ["from torch.autograd import Function"],
               "autograd.Function": ["from torch import autograd"]}.get(base, [])
    if once:
        header.append("from torch.autograd.function import once_differentiable")
    module = [*header, "", ""]
    if alpha_mode == "global":
        module += [f"ALPHA = {alpha_value!r}", "", ""]
    if refusal == "side_effect":
        module += ["CALLS = []", "COUNT = 0", "", ""]
    if capture == "shadowed_global":
        module += [f"{alpha_name} = {pick([0.5, 3.0])!r}  # backward reads this, not forward's parameter", "", ""]
    elif captured:
        module += [f"{captured} = 1.0", "", ""]
    decorator: list[str] = []
    if refusal == "class_decorator":
        if draw(st.booleans()):
            module += ["REGISTRY = {}", "", "", "def register(cls):", "    REGISTRY[cls.__name__] = cls",
                       "    return cls", "", ""]
            decorator = ["@register"]
        else:
            module += ["SURROGATES = {}", "", "", "def register(name):", "    def wrap(cls):",
                       "        SURROGATES[name] = cls", "        return cls", "", "    return wrap", "", ""]
            decorator = [f'@register("{stem.lower()}")']
    module += helpers + [*decorator, f"class {class_name}({base}):", *_indent(class_body, 1), "", ""]
    sites, site_lines = _call_sites(draw, class_name, inputs, alpha_default, features)
    source = "\n".join(module + site_lines).rstrip("\n") + "\n"

    expect: Expect = "convert"
    code = None
    if refusal is not None:
        expect, code = "refuse", _REFUSALS[refusal]
    elif thr_grad == "broadcast" and (mask_form != "none" or form == "helper_gradient"):
        # x's gradient needs a probe (a helper that receives grad_output is probed too), and
        # a probe cannot recover the reduced gradient of a broadcast input: the emitter cannot
        # write it, so scan and rewrite both refuse it.
        expect, code = "refuse", "FGI116"
    features.append(f"expect:{expect}")
    truth = Truth(
        z="x - thr" if thr_kind != "none" else "x",
        value_statements=tuple(s.format(x="x", z="z", out="out") for s in spike_statements_t),
        value=spike_t.format(x="x", z="z", out="out"),
        prelude=tuple(truth_prelude),
        gradient=truth_gradient,
        mask=_MASK.format(**plain) if mask_form != "none" else None,
        thr_gradient=thr_grad,
        thr_from_grad_x=thr_from_grad_x,
        in_place="grad:in_place" in features or form == "clone_mul_inplace",
        constants={"a": alpha_value},
    )
    unknown = set(features) - set(FEATURES)
    assert not unknown, f"features missing from FEATURES: {sorted(unknown)}"
    return Generated(source, class_name, tuple(inputs), tuple(sites), expect, code, tuple(dict.fromkeys(features)),
                     truth, mark_dirty=mark_dirty, outputs=2 if several_outputs else 1,
                     # a broadcast input's gradient is reduced by autograd in another order: unsafe.
                     # So is a factor reading a hyper-parameter input (possibly a tensor that
                     # broadcasts beyond x) while the value also spreads over a non-differentiable
                     # threshold input: no reduction to the value's shape is proven to undo it.
                     symbolic=mask_form == "none" and form != "helper_gradient" and thr_grad != "broadcast"
                     and not (uses_alpha and alpha_mode == "input" and thr_kind in ("scalar", "tensor_constant")),
                     runs={"bool_output": "forward_only", "mark_non_differentiable": "forward_only",
                           "saved_not_unpacked": "backward_raises"}.get(refusal or "", "backward"),  # type: ignore[arg-type]
                     member_calls=tuple(member_calls))


def _call_sites(draw: Any, cls: str, inputs: list[Input], alpha_default: bool,
                features: list[str]) -> tuple[list[CallSite], list[str]]:
    """One to three module-level callables that reach the class in the ways real code does."""
    count = draw(st.integers(1, 3))
    kinds = draw(st.permutations(["direct", "alias", "closure", "lambda_factory", "class_value", "instance",
                                  "default_argument", "class_attribute"]))[:count]
    sites: list[CallSite] = []
    lines: list[str] = []
    for kind in kinds:
        features.append(f"call:{kind}")
        arity = len(inputs)
        if alpha_default and kind != "alias" and draw(st.booleans()):
            arity -= 1  # the call relies on forward's default
            features.append("call:omits_default")
        params = ", ".join(p.name for p in inputs[:arity])
        name = f"spike_{kind}"
        lines += {
            "direct": [f"def {name}({params}):", f"    return {cls}.apply({params})"],
            "alias": [f"{name} = {cls}.apply"],
            "closure": ["def make_spike():", f"    def spike({params}):", f"        return {cls}.apply({params})",
                        "", "    return spike", "", "", f"{name} = make_spike()"],
            "lambda_factory": ["def make_spike_lambda():", f"    return lambda {params}: {cls}.apply({params})",
                               "", "", f"{name} = make_spike_lambda()"],
            "class_value": ["class SpikeLayer:", "    def __init__(self, fn_cls):", "        self.fn_cls = fn_cls",
                            "", "    def __call__(self, *args):", "        return self.fn_cls.apply(*args)", "", "",
                            f"{name} = SpikeLayer({cls})"],
            "instance": [f"def {name}({params}):", f"    return {cls}().apply({params})"],
            "default_argument": [f"def {name}({params}, fn={cls}.apply):", f"    return fn({params})"],
            # apply kept as a class attribute and called through self: it must not become a method
            "class_attribute": ["class SpikeHolder:", f"    fn = {cls}.apply", "",
                                "    def __call__(self, *args):", "        return self.fn(*args)", "", "",
                                f"{name} = SpikeHolder()"],
        }[kind] + ["", ""]
        sites.append(CallSite(name, arity))
    return sites, lines


# ------------------------------------------------------------------------------ ground truth
def truth(gen: Generated, arguments: list[Any], grad_output: Any) -> tuple[Any, list[Any]]:
    """The value and each input's gradient (None for constants), from the generator's own
    formulas in plain names, evaluated on detached inputs in their dtype: no class, no tool."""
    import torch

    t = gen.truth
    scope: dict[str, Any] = {"torch": torch, "math": math, "a": t.constants["a"]}
    for item, argument in zip(gen.inputs, arguments, strict=True):
        if item.role != "alpha":
            scope[item.role] = argument.detach() if isinstance(argument, torch.Tensor) else argument
        elif isinstance(argument, torch.Tensor):
            # a 0-d tensor alpha: `number / tensor` is torch's reciprocal-times, not a division
            scope["a"] = argument.detach()
    scope["z"] = eval(t.z, scope)
    for statement in t.value_statements:
        exec(statement, scope)  # noqa: S102 - the generator's own formulas
    value = eval(t.value, scope)
    scope.update(out=value, go=grad_output)
    for statement in t.prelude:
        exec(statement, scope)  # noqa: S102 - the generator's own formulas
    unmasked = eval(t.gradient, scope)
    grad_x = unmasked.to(grad_output.dtype) if t.in_place else unmasked
    if t.mask is not None:
        grad_x = torch.where(eval(t.mask, scope), torch.zeros_like(grad_x), grad_x)
    grads: list[Any] = []
    for item in gen.inputs:
        if item.role == "x":
            grads.append(grad_x)
        elif item.differentiable:
            thr_grad = -(grad_x if t.thr_from_grad_x else unmasked)
            grads.append(thr_grad.sum(0) if t.thr_gradient == "broadcast" else thr_grad)
        else:
            grads.append(None)
    return value, grads
