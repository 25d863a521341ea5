"""Drop imports that the rewrite left unused (`Function`, `once_differentiable`, ...).

Only names that the original module used and the rewritten one no longer uses are removed: an
import that was unused before (a re-export in a package's __init__, a side-effect import) is
someone's intent and stays. A pre-commit fix hook must not leave code its linter rejects.
"""

from __future__ import annotations

from collections import Counter

import libcst as cst


class _References(cst.CSTVisitor):
    """How often each name is read, not counting the names bound by imports themselves."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.counts[node.value] += 1

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # `obj.Function` does not read a name Function
        return False

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        # __all__ = ["Function"] keeps an import alive
        self.counts[node.value.strip("'\"")] += 1


def _references(module: cst.Module) -> Counter[str]:
    visitor = _References()
    module.visit(visitor)
    return visitor.counts


def _bound_name(alias: cst.ImportAlias) -> str | None:
    if alias.asname is not None:
        return alias.asname.name.value if isinstance(alias.asname.name, cst.Name) else None
    node: cst.BaseExpression = alias.name
    while isinstance(node, cst.Attribute):  # `import torch.autograd` binds `torch`
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


class _Remove(cst.CSTTransformer):
    def __init__(self, unused: set[str]) -> None:
        self.unused = unused

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        # An import with a comment on or above its line is left alone: the comment would go too.
        commented = node.trailing_whitespace.comment is not None or any(
            line.comment is not None for line in node.leading_lines)
        return not commented

    def _keep(self, names: list[cst.ImportAlias]) -> list[cst.ImportAlias]:
        kept = [a for a in names if _bound_name(a) not in self.unused]
        if kept and kept[-1].comma is not cst.MaybeSentinel.DEFAULT:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return kept

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import):
        kept = self._keep(list(updated_node.names))
        return updated_node.with_changes(names=kept) if kept else cst.RemoveFromParent()

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom):
        if isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        kept = self._keep(list(updated_node.names))
        if not kept:
            return cst.RemoveFromParent()
        return updated_node.with_changes(names=kept)


def drop_unused_imports(before: cst.Module, after: cst.Module) -> cst.Module:
    used_before, used_after = _references(before), _references(after)
    unused = {name for name, count in used_before.items() if count and not used_after.get(name)}
    return after.visit(_Remove(unused)) if unused else after
