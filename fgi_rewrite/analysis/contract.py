"""The compatibility object left on the old name, and what it must keep of the class.

`class Cls: apply = staticmethod(fn)` keeps `Cls.apply`, `Cls().apply`, aliases and
registries working. It also keeps every member code may reach (class attributes, static and
class methods, the docstring); only the autograd protocol (forward, backward, setup_context,
jvp, vmap) goes. A class whose contract a plain object cannot keep is refused (FGI114).
"""

from __future__ import annotations

import libcst as cst

from fgi_rewrite.analysis.discovery import ClassInfo, code_of
from fgi_rewrite.analysis.ir import Refusal

AUTOGRAD_PROTOCOL = frozenset({"forward", "backward", "setup_context", "jvp", "vjp", "vmap", "generate_vmap_rule"})


def _member_name(stmt: cst.BaseStatement) -> str | None:
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        return stmt.name.value
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    if isinstance(target.target, cst.Name):
                        return target.target.value
            if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                return small.target.value
    return None


def kept_members(node: cst.ClassDef) -> list[cst.BaseStatement]:
    """The class body minus the autograd protocol, in source order."""
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    return [stmt for stmt in body if _member_name(stmt) not in AUTOGRAD_PROTOCOL
            and not (isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, cst.Pass) for s in stmt.body))]


def contract_refusal(info: ClassInfo) -> Refusal | None:
    node = info.node
    for decorator in node.decorators:
        # `@staticmethod` on a class nested in a Module body changes nothing about the class.
        if not (isinstance(decorator.decorator, cst.Name) and decorator.decorator.value == "staticmethod"):
            name = code_of(decorator.decorator).strip()
            return Refusal("FGI114", f"class decorator @{name} may rely on the class being a Function", node)
    for stmt in kept_members(node):
        if _member_name(stmt) == "apply":
            return Refusal("FGI114", "the class defines its own apply", stmt)
        if isinstance(stmt, cst.FunctionDef) and not any(
                isinstance(d.decorator, cst.Name) and d.decorator.value in ("staticmethod", "classmethod")
                for d in stmt.decorators):
            return Refusal("FGI114", f"instance method {stmt.name.value}() needs a Function instance", stmt)
    if info.cross_file_bases:
        return Refusal("FGI114", f"derives from {info.cross_file_bases[0]}, a Function class in another file: "
                       "the two are not converted apart", node)
    if info.foreign_bases:
        return Refusal("FGI114", f"inherits from {info.foreign_bases[0]}, outside the files given", node)
    return None
