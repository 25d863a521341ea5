"""Numeric constants in emitted code that TorchScript can compile.

TorchScript cannot read a Python global or a class attribute (`SCALE`, `Spike.alpha`: "python
value of type 'float' cannot be used as a value"), so a function that reads one does not
script. Each constant the function reads is bound once at its top:

    scale = 100.0 if torch.jit.is_scripting() else SCALE

TorchScript compiles only the first branch (it resolves `is_scripting()` statically), eager
Python only the second, so eager code still reads the constant at call time. Only constants
bound once to a number literal and assigned nowhere else in the module are bound
(analysis/extract.py: `_numeric_literals`); a constant some code reconfigures would be frozen
at its source value under TorchScript, so it stays as written and the function does not script.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from fgi_rewrite.analysis.discovery import dotted_name
from fgi_rewrite.analysis.syntax import scope_of


class _Reads(cst.CSTTransformer):
    """Replaces reads of the constants by their local names, recording which were read."""

    def __init__(self, locals_for: Callable[[str], str], constants: dict[str, str], shadowed: set[str]) -> None:
        self.locals_for = locals_for
        self.constants = constants
        self.shadowed = shadowed
        self.read: dict[str, str] = {}  # constant -> local name, in the order first read

    def _local(self, name: str) -> cst.Name:
        if name not in self.read:
            self.read[name] = self.locals_for(name)
        return cst.Name(self.read[name])

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        name = original_node.value
        if name in self.constants and "." not in name and name not in self.shadowed:
            return self._local(name)
        return updated_node

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        name = dotted_name(original_node)
        if name is not None and name in self.constants and name.split(".")[0] not in self.shadowed:
            return self._local(name)
        return updated_node.with_changes(attr=original_node.attr)  # `ctx.alpha`: an attribute, not a read

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)  # `f(alpha=...)`: a keyword

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False  # its parameters would shadow; left as written


def bind_constants(source: str, constants: dict[str, str], torch_name: str, fresh: Callable[[str], str]) -> str:
    """`source` (one function definition) with every read of `constants` (name -> literal
    source) replaced by a local bound at the top of its body, as the module docstring shows."""
    if not constants:
        return source
    module = cst.parse_module(source)
    function = module.body[0]
    assert isinstance(function, cst.FunctionDef)
    scope = scope_of(function)
    shadowed = set(scope.local)  # a parameter or local of that name hides the global
    used = set(scope.local) | set(scope.free)  # `alpha = ... else alpha` would make alpha local

    def local_for(name: str) -> str:
        candidate = fresh(name.split(".")[-1].lower())
        while candidate in used:
            candidate = fresh(name.split(".")[-1].lower())
        used.add(candidate)
        return candidate

    reads = _Reads(local_for, constants, shadowed)
    body = function.body.visit(reads)
    if not reads.read:
        return source
    assert isinstance(body, cst.IndentedBlock)
    statements = list(body.body)
    docstring = 1 if statements and _is_docstring(statements[0]) else 0
    bindings = [
        cst.parse_statement(f"{local} = {constants[name]} if {torch_name}.jit.is_scripting() else {name}\n")
        for name, local in reads.read.items()
    ]
    if docstring == 0 or len(statements) > 1:
        note = "# TorchScript cannot read Python globals: scripted code uses the value in the source"
        bindings[0] = bindings[0].with_changes(leading_lines=[cst.EmptyLine(comment=cst.Comment(note))])
    body = body.with_changes(body=[*statements[:docstring], *bindings, *statements[docstring:]])
    return module.with_changes(body=[function.with_changes(body=body)]).code


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.SimpleString))
