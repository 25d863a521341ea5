"""Comments, docstrings and strings never change a verdict or the emitted code.

Every decision is taken on syntax trees (docs/architecture.md, "The pipeline";
fgi_rewrite/analysis/syntax.py). To show it,
each fixture is rewritten twice: as shipped, and with a comment spelling every word the
analysis knows on every statement line and a docstring spelling them at the top of every
function. The verdicts must be equal, and the two outputs must be the same program once
comments and docstrings are set aside.
"""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest

from fgi_rewrite.rewrite import RewriteOptions, rewrite_module
from fgi_rewrite.scan import scan_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# Words the analysis looks for: attributes, calls, operators, dtypes, ctx methods.
KEYWORDS = (
    "requires_grad needs_input_grad saved_tensors save_for_backward mark_non_differentiable mark_dirty "
    "is None is not None < <= > >= == != .float( .to( .type_as( dtype= torch.where torch.zeros "
    "heaviside spike sum( .view( transpose( [0] __all__ import * apply staticmethod ctx.alpha (None,) *"
)


class _Noise(cst.CSTTransformer):
    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine,
                                  updated_node: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
        if any(isinstance(small, (cst.Import, cst.ImportFrom)) for small in updated_node.body):
            # Deliberate: an import whose line carries a comment is never removed (the comment
            # would go with it), so import lines stay as they are.
            return updated_node
        comment = cst.Comment(f"# {KEYWORDS}")
        return updated_node.with_changes(trailing_whitespace=cst.TrailingWhitespace(
            whitespace=cst.SimpleWhitespace("  "), comment=comment, newline=updated_node.trailing_whitespace.newline))

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        body = updated_node.body
        if not isinstance(body, cst.IndentedBlock):
            return updated_node
        first = body.body[0] if body.body else None
        has_docstring = (isinstance(first, cst.SimpleStatementLine) and isinstance(first.body[0], cst.Expr)
                         and isinstance(first.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))
        if has_docstring:
            return updated_node
        docstring = cst.SimpleStatementLine([cst.Expr(cst.SimpleString(f'"""{KEYWORDS}"""'))])
        return updated_node.with_changes(body=body.with_changes(body=[docstring, *body.body]))


def _program(source: bytes) -> str:
    """The module as ast sees it, without docstrings or other bare string statements."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            kept = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                            and isinstance(s.value.value, str))]
            node.body = kept or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.dump(tree)


def _verdicts(source: bytes) -> list[tuple[str, str, str, str | None]]:
    reports, _ = scan_source(source, "case.py")
    return [(r.qualname, r.status, r.code, r.fix) for r in reports]


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.py")))
def test_comments_and_strings_change_nothing(fixture: str) -> None:
    source = (FIXTURES / fixture).read_bytes()
    noisy = cst.parse_module(source).visit(_Noise()).bytes
    assert _verdicts(noisy) == _verdicts(source)
    for options in (RewriteOptions(), RewriteOptions(unsafe_fixes=True)):
        plain, loud = rewrite_module(source, options), rewrite_module(noisy, options)
        assert [(o.qualname, o.outcome, o.code) for o in loud.outcomes] == \
               [(o.qualname, o.outcome, o.code) for o in plain.outcomes]
        assert _program(loud.source) == _program(plain.source)
