"""`python -m libcst.tool codemod -x --no-format fgi_rewrite.codemod.ToFGI PATH`, for people
who drive codemods through libcst's own tool. Safe fixes only; one file at a time, so call
sites in other files keep working through the compatibility shim."""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodCommand, SkipFile

from fgi_rewrite.rewrite import RewriteOptions, rewrite_module


class ToFGI(CodemodCommand):
    DESCRIPTION = "Rewrite convertible torch.autograd.Function classes to forward gradient injection (safe fixes)."

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        result = rewrite_module(tree.bytes, RewriteOptions(unsafe_fixes=False))
        if not result.changed:
            raise SkipFile("no convertible class with a safe fix")
        return cst.parse_module(result.source)
