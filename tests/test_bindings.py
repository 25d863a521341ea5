"""How often a scope binds a name decides whether a call site may go straight to the new
function (emit/bindings.py): a name bound twice may mean either binding when a call runs."""

from __future__ import annotations

import libcst as cst

from fgi_rewrite.emit.bindings import ScopeChain, declared_global, scope_bindings


def test_plain_imports_of_one_package_bind_it_once_other_bindings_count_each() -> None:
    module = cst.parse_module(
        "import pkg.autograd\nimport pkg.layers\nimport pkg\nimport torch as th\n"
        "from spikes import Spike\nclass Spike: pass\nfor k in range(3): pass\n"
        "with open('f') as handle: pass\ntry:\n    pass\nexcept OSError as error:\n    pass\n"
        "def helper(x):\n    inner = 1\n"
    )
    counts = scope_bindings(module)
    assert counts["pkg"] == 1 and counts["th"] == 1
    assert counts["Spike"] == 2  # imported, then defined again: which one a call reaches depends on when
    assert counts["k"] == counts["handle"] == counts["error"] == counts["helper"] == 1
    assert counts["inner"] == 0  # a function body is its own scope


def test_a_package_rebound_by_assignment_counts_twice_and_parameters_bind_in_their_function() -> None:
    module = cst.parse_module("import pkg.autograd\npkg = None\ndef run(x, Spike=None, *rest, **options):\n"
                              "    global ALPHA\n    ALPHA = 2\n")
    assert scope_bindings(module)["pkg"] == 2
    function = module.body[-1]
    assert isinstance(function, cst.FunctionDef)
    counts = scope_bindings(function)
    assert counts["x"] == counts["Spike"] == counts["rest"] == counts["options"] == 1
    assert declared_global(module) == {"ALPHA"}


def test_a_read_resolves_to_the_nearest_scope_that_binds_it_but_never_to_an_enclosing_class_body() -> None:
    module = cst.parse_module("class Spike: pass\nclass LIF:\n    Spike = None\n    def forward(self, x):\n"
                              "        return Spike\n")
    lif = module.body[1]
    assert isinstance(lif, cst.ClassDef)
    forward = lif.body.body[1]
    assert isinstance(forward, cst.FunctionDef)
    chain = ScopeChain(module)
    chain.enter(lif)
    assert chain.binder("Spike") is lif  # read in the class body itself
    chain.enter(forward)
    assert chain.binder("Spike") is module  # a method does not see its class body's names
    assert chain.binder("len") is None
    assert chain.means_one_thing("Spike", module)
