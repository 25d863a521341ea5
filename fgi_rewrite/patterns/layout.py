"""The gradient cast or reshaped: `grad.float()`, `grad.to(torch.float16)`,
`grad.view(shape)`, `grad.reshape(-1)`.

Rule: linear and elementwise (a reshape that does not give back the input's shape fails in
autograd for the original too). Emission: the probe, because a cast rounds at a point of
backward that the carrier's links would not, and a reshape is only undone by autograd's own
shape check, which the probe keeps.
"""

from __future__ import annotations

import libcst as cst

from fgi_rewrite.analysis.discovery import code_of
from fgi_rewrite.analysis.ir import Linear, Value
from fgi_rewrite.patterns.base import ProbedPattern, Reading


def _opaque(what: str):
    def read(reader: Reading, node: cst.CSTNode, values: list[Value]) -> Value:
        receiver = values[0]
        assert isinstance(receiver, Linear)
        return receiver.opaque(f"{what}: {code_of(node)[:60]}")

    return read


CAST = ProbedPattern(
    name="cast",
    methods=frozenset({"float", "double", "half", "bfloat16", "to", "type", "type_as"}),
    functions=frozenset(),
    operators=frozenset(),
    read=_opaque("cast"),
)
RESHAPE = ProbedPattern(
    name="reshape",
    methods=frozenset({"view", "reshape", "squeeze", "unsqueeze", "flatten", "expand"}),
    functions=frozenset(),
    operators=frozenset(),
    read=_opaque("reshaped"),
)
