"""Rewrite one module: each convertible class becomes an FGI function plus a compatibility shim.

    class FastSigmoid(torch.autograd.Function): ...      ->   def fast_sigmoid(...): ...
                                                              class FastSigmoid:  # fgi-rewrite: ...
                                                                  apply = staticmethod(fast_sigmoid)

Call sites this module can see (`FastSigmoid.apply(...)`, `f = FastSigmoid.apply`,
`self.SpikeFn.apply`) call the function directly; everything else keeps working through the
shim. Nothing is imported or executed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import libcst as cst

from fgi_rewrite.analysis.contract import kept_members
from fgi_rewrite.analysis.discovery import ClassInfo, dotted_name, find_function_classes, torch_name
from fgi_rewrite.analysis.ir import Refusal
from fgi_rewrite.analysis.project import FileContext
from fgi_rewrite.analysis.syntax import bound_names
from fgi_rewrite.decision import judge_all, write_function
from fgi_rewrite.emit.bindings import (
    Alias,
    ScopeChain,
    assigned_attributes,
    base_names,
    is_apply_of,
    static_alias,
)
from fgi_rewrite.emit.function import snake_case
from fgi_rewrite.emit.imports import drop_unused_imports
from fgi_rewrite.scan import could_define_function, suppressed_codes

SHIM_MARKER = "# fgi-rewrite: compatibility shim"

Outcome = Literal["rewritten", "held-back", "refused", "ignored"]


@dataclass(frozen=True)
class RewriteOptions:
    unsafe_fixes: bool = False
    style: str = "signed-zero"
    # Measured (benchmarks/fast_path.py): no-grad inference 3.2-3.7x faster than without it and
    # at least as fast as the custom Function in eager, jit.script and compile; README lists
    # what it costs.
    fast_path: bool = True
    # What the other files given do with this one (star imports, subclasses, foreign bases).
    context: FileContext = FileContext()
    # Classes to leave as they are, with why (`rewrite --verify`: those verify did not find
    # equivalent), as (qualname, reason) pairs.
    hold: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ClassOutcome:
    qualname: str
    outcome: Outcome
    code: str
    reason: str
    function: str | None = None


@dataclass
class ModuleRewrite:
    source: bytes
    outcomes: list[ClassOutcome] = field(default_factory=list)
    # Other changes worth a line of their own (an unsafe fix beside a class's rewrite).
    notes: list[str] = field(default_factory=list)
    # Module-level functions that lost @torch.jit.ignore: verify scripts each one.
    unignored: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(o.outcome == "rewritten" for o in self.outcomes)


def _declares_all(module: cst.Module) -> bool:
    """A module-level `__all__ = ...` (or `+=`, annotated): star imports take only those names."""
    for stmt in module.body:
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else \
                [small.target] if isinstance(small, (cst.AugAssign, cst.AnnAssign)) else []
            if any(isinstance(t, cst.Name) and t.value == "__all__" for t in targets):
                return True
    return False


def _choose_name(class_name: str, taken: set[str], private: bool = False) -> str:
    """snake_case, else `<name>_fgi`, then a number. A name that differs from a taken one only
    by underscores (`multispike` beside `multi_spike`) counts as taken: readers confuse them.
    Private (`_name`) when star-importers would otherwise receive it."""
    squashed = {t.replace("_", "") for t in taken}
    base = "_" + snake_case(class_name).lstrip("_") if private else snake_case(class_name)
    candidates = [base, f"{base}_fgi"] + [f"{base}_fgi{n}" for n in range(2, 100)]
    for candidate in candidates:
        if candidate not in taken and candidate.replace("_", "") not in squashed:
            taken.add(candidate)
            return candidate
    raise Refusal("FGI111", f"no free name for {class_name}'s function")


@dataclass
class _Plan:
    info: ClassInfo
    function_name: str
    function_source: str
    module_level: bool  # the class sits in a class body: the function goes to module level
    code: str = ""  # the kind (FGI001-FGI005), shown beside the outcome


class _Transformer(cst.CSTTransformer):
    def __init__(self, module: cst.Module, plans: dict[int, _Plan], unignore: bool = False) -> None:
        self.plans = plans
        self.config = module.config_for_parsing
        self.unignore = unignore  # drop @torch.jit.ignore from wrappers that only called .apply
        self.notes: list[str] = []
        self.unignored: list[str] = []
        self.chain = ScopeChain(module)
        self.by_scope: dict[int, dict[str, str]] = {}  # id(scope) -> class name -> function name
        self.converted_names = {plan.info.name for plan in plans.values()}
        # Classes nested in a class body: id(owner class) -> nested class name -> function.
        self.nested: dict[int, dict[str, str]] = {}
        self.owners: dict[str, cst.ClassDef] = {}  # module-level owner class name -> its node
        self.hoisted: dict[int, list[cst.BaseStatement]] = {}  # id(top-level stmt) -> functions before it
        self.top: cst.CSTNode | None = None
        for plan in plans.values():
            owner = plan.info.enclosing_class
            if plan.module_level and owner is not None:
                self.nested.setdefault(id(owner), {})[plan.info.name] = plan.function_name
                self.owners[owner.name.value] = owner

    def _statement(self, source: str) -> cst.BaseStatement:
        return cst.parse_statement(source, config=self.config)

    def _statements(self, source: str) -> list[cst.BaseStatement]:
        return list(cst.parse_module(source).body)

    def visit_Module(self, node: cst.Module) -> None:
        # A nested class reached through an attribute (`self.SpikeFn`) may be replaced on an
        # instance, on the class, or in a subclass: then its calls keep `.apply`.
        self.replaced_attributes = assigned_attributes(node)
        self.derived_from = base_names(node)
        self.owners = {name: owner for name, owner in self.owners.items() if self.chain.means_one_thing(name, node)}
        self._register(node.body, node)

    def _register(self, body: object, scope: cst.Module | cst.FunctionDef) -> None:
        mapping = self.by_scope.setdefault(id(scope), {})
        statements = body if isinstance(body, (list, tuple)) else getattr(body, "body", [])
        stack = list(statements)
        while stack:  # classes directly in this scope, also under if/try/with
            stmt = stack.pop()
            if isinstance(stmt, cst.ClassDef) and id(stmt) in self.plans and not self.plans[id(stmt)].module_level:
                name = stmt.name.value
                if self.chain.means_one_thing(name, scope):
                    mapping[name] = self.plans[id(stmt)].function_name
            elif isinstance(stmt, (cst.If, cst.Try, cst.With, cst.For, cst.While)):
                stack.extend(getattr(stmt.body, "body", []))
                for extra in ("orelse", "finalbody"):
                    block = getattr(stmt, extra, None)
                    if block is not None:
                        stack.extend(getattr(getattr(block, "body", None), "body", []) or [])
                for handler in getattr(stmt, "handlers", ()):
                    stack.extend(handler.body.body)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if len(self.chain.scopes) == 1:
            self.top = node
        self.chain.enter(node)
        self._register(node.body, node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
                          ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._after_hoisted(original_node, self._unignored(original_node, updated_node))

    def _after_hoisted(self, original_node: cst.CSTNode, updated: cst.BaseStatement
                       | cst.FlattenSentinel[cst.BaseStatement]) -> cst.BaseStatement | cst.FlattenSentinel[
                           cst.BaseStatement]:
        """A top-level statement preceded by the functions of the classes nested in it. Placed
        here, beside the statement in whatever block holds it, rather than by position in the
        module's body, which a class turned into a function and a shim lengthens."""
        functions = self.hoisted.pop(id(original_node), [])
        if not functions:
            return updated
        statements = list(updated) if isinstance(updated, cst.FlattenSentinel) else [updated]
        first = statements[0]
        if isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):  # comments above stay above
            functions[0] = functions[0].with_changes(leading_lines=first.leading_lines)
            statements[0] = first.with_changes(leading_lines=[cst.EmptyLine(indent=False)] * 2)  # no block indent
        return cst.FlattenSentinel([*functions, *statements])

    def _unignored(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self.chain.leave()
        functions = {plan.function_name for plan in self.plans.values()}
        if updated_node is not original_node and _only_calls(updated_node, functions):
            kept = [d for d in updated_node.decorators if not _is_jit_ignore(d)]
            if len(kept) < len(updated_node.decorators) and not self.unignore:
                self.notes.append(f"{original_node.name.value}: keeps @torch.jit.ignore, whose only reason was the "
                                  ".apply call; --unsafe-fixes drops it")
            elif len(kept) < len(updated_node.decorators):
                self.notes.append(f"{original_node.name.value}: dropped @torch.jit.ignore, whose only reason was "
                                  "the .apply call (unsafe fix: the wrapper is now compiled by TorchScript)")
                if len(self.chain.scopes) == 1:
                    self.unignored.append(original_node.name.value)
                leading = updated_node.decorators[0].leading_lines
                if kept:
                    kept[0] = kept[0].with_changes(leading_lines=leading)
                    return updated_node.with_changes(decorators=kept)
                return updated_node.with_changes(decorators=kept, leading_lines=[*updated_node.leading_lines, *leading])
        return updated_node

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if len(self.chain.scopes) == 1:
            self.top = node
        self.chain.enter(node)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef
                       ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._after_hoisted(original_node, self._converted(original_node, updated_node))

    def _converted(self, original_node: cst.ClassDef, updated_node: cst.ClassDef
                   ) -> cst.ClassDef | cst.FlattenSentinel[cst.BaseStatement]:
        self.chain.leave()
        plan = self.plans.get(id(original_node))
        if plan is None:
            return updated_node
        indent = self.config.default_indent if isinstance(self.config.default_indent, str) else "    "
        shim = self._statement(
            f"class {plan.info.name}:  {SHIM_MARKER}; calls {plan.function_name}\n"
            f"{indent}apply = staticmethod({plan.function_name})\n"
        )
        assert isinstance(shim, cst.ClassDef)
        # Class attributes (`slope = 5.0`, read as Cls.slope or set by users), static and class
        # methods and the docstring stay on the old name.
        kept = kept_members(original_node)
        body = shim.body.with_changes(body=[*kept, *shim.body.body])
        shim = shim.with_changes(leading_lines=original_node.leading_lines, decorators=original_node.decorators,
                                 body=body)
        functions = self._statements(plan.function_source)
        gap = [cst.EmptyLine(indent=False)] * (2 if len(self.chain.scopes) == 1 else 1)
        functions = [f.with_changes(leading_lines=gap) for f in functions]
        if plan.module_level:
            assert self.top is not None
            self.hoisted.setdefault(id(self.top), []).extend(functions)
            return shim
        functions[0] = functions[0].with_changes(leading_lines=original_node.leading_lines)
        return cst.FlattenSentinel([*functions, shim.with_changes(leading_lines=gap)])

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        if updated_node.attr.value != "apply":
            return updated_node
        target = updated_node.value
        if isinstance(target, cst.Name):
            innermost = self.chain.scopes[-1]
            if isinstance(innermost, cst.ClassDef) and target.value in self.nested.get(id(innermost), {}):
                return self._nested_call(innermost, target.value) or updated_node  # `fn = SpikeFn.apply` beside it
            binder = self.chain.binder(target.value)  # a converted class only where it is what the name means
            function = self.by_scope.get(id(binder), {}).get(target.value) if binder is not None else None
            return cst.Name(function) if function is not None else updated_node
        if isinstance(target, cst.Call) and not target.args and isinstance(target.func, cst.Name):
            # `Cls().apply(...)`: the instance only served to reach apply.
            rewritten = self.leave_Attribute(original_node, updated_node.with_changes(value=target.func))
            return rewritten if isinstance(rewritten, cst.Name) else updated_node
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            owner = self._owner_reached(target.value.value)  # self.SpikeFn.apply, LIF.SpikeFn.apply
            if owner is not None:
                return self._nested_call(owner, target.attr.value) or updated_node
        return updated_node

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        return self._class_alias(original_node.value, updated_node)

    def leave_AnnAssign(self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign) -> cst.AnnAssign:
        return self._class_alias(original_node.value, updated_node) if original_node.value is not None \
            else updated_node

    def _class_alias(self, original: cst.BaseExpression, updated: Alias) -> Alias:
        return static_alias(updated) if isinstance(self.chain.scopes[-1], cst.ClassDef) \
            and is_apply_of(original, self.converted_names) else updated

    def _owner_reached(self, name: str) -> cst.ClassDef | None:
        """The class whose attribute `name.X` reads: `LIF` by its module-level name, or `self` /
        `cls` (the first parameter) in a method defined directly in the class's body."""
        if name in self.owners:
            return self.owners[name]
        scopes = self.chain.scopes
        if len(scopes) >= 2 and isinstance(scopes[-1], cst.FunctionDef) and isinstance(scopes[-2], cst.ClassDef):
            method, owner = scopes[-1], scopes[-2]
            params = method.params.posonly_params or method.params.params
            static = any(dotted_name(d.decorator) == "staticmethod" for d in method.decorators)
            if params and params[0].name.value == name and not static:
                return owner
        return None

    def _nested_call(self, owner: cst.ClassDef, name: str) -> cst.Name | None:
        """The function that replaced the class `name` nested in owner, when nothing may hold
        another value there: the owner binds it once, nothing assigns that attribute, and no
        class in the module derives from the owner."""
        function = self.nested.get(id(owner), {}).get(name)
        if function is None or name in self.replaced_attributes or owner.name.value in self.derived_from:
            return None
        return cst.Name(function) if self.chain.counts(owner)[name] == 1 else None

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        # Every hoisted function found its statement: one left over would leave a shim calling
        # a function that does not exist.
        assert not self.hoisted, "functions of nested classes were not placed"
        return updated_node


def _is_jit_ignore(decorator: cst.Decorator) -> bool:
    name = dotted_name(decorator.decorator) or ""
    return name in ("torch.jit.ignore", "jit.ignore")


def _only_calls(function: cst.FunctionDef, functions: set[str]) -> bool:
    """Whether the body is, besides a docstring, `return f(...)` for one of `functions`, with
    parameters and literals as arguments and every parameter annotated: nothing left that
    TorchScript could not compile once `.apply` is gone."""
    params = function.params
    if params.star_arg is not cst.MaybeSentinel.DEFAULT or params.star_kwarg is not None or params.kwonly_params \
            or any(p.annotation is None for p in params.params):
        return False
    statements = list(function.body.body) if isinstance(function.body, cst.IndentedBlock) else []
    first = statements[0] if statements else None
    if isinstance(first, cst.SimpleStatementLine) and isinstance(first.body[0], cst.Expr):
        statements = statements[1:]  # the docstring
    if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine):
        return False
    (small,) = statements[0].body if len(statements[0].body) == 1 else (None,)
    call = small.value if isinstance(small, cst.Return) else None
    if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Name) or call.func.value not in functions:
        return False
    names = {p.name.value for p in params.params}
    simple = (cst.Name, cst.Integer, cst.Float, cst.BinaryOperation, cst.UnaryOperation)
    return all(isinstance(arg.value, simple) and not arg.star and all(
        n.value in names | {"True", "False", "None"} for n in _names_in(arg.value)) for arg in call.args)


def _names_in(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []

    class Names(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

    node.visit(Names())
    return found


def _with_torch_import(module: cst.Module) -> cst.Module:
    """Insert `import torch` after the docstring and __future__ imports."""
    position = 0
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and (
                (len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
                 and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))
                or any(isinstance(s, cst.ImportFrom) and s.module is not None
                       and getattr(s.module, "value", "") == "__future__" for s in stmt.body)):
            position += 1
            continue
        break
    line = cst.parse_statement("import torch\n", config=module.config_for_parsing)
    return module.with_changes(body=[*module.body[:position], line, *module.body[position:]])


def rewrite_module(data: bytes, options: RewriteOptions = RewriteOptions(),
                   parsed: cst.Module | None = None) -> ModuleRewrite:
    """Raises cst.ParserSyntaxError / UnicodeDecodeError for input the caller reports.
    `parsed` is the module already parsed from `data`, when the caller has it."""
    if not could_define_function(data) and not options.context.function_bases:
        return ModuleRewrite(source=data)  # nothing to convert: not even parsed
    module = parsed if parsed is not None else cst.parse_module(data)
    classes, index = find_function_classes(module, options.context.function_bases)
    result = ModuleRewrite(source=data)
    if not classes:
        return result
    taken = bound_names(module)
    torch_alias = torch_name(index)
    plans: dict[int, _Plan] = {}
    # A star-importer of a module without __all__ receives every public name: no new public
    # name may reach it, and no import it may use may go.
    exports_everything = options.context.star_imported and not _declares_all(module)
    verdicts = judge_all(classes, index, options.context.subclassed)
    for info in classes:
        verdict = verdicts[id(info.node)]
        if isinstance(verdict, Refusal):
            result.outcomes.append(ClassOutcome(info.qualname, "refused", verdict.code, verdict.reason))
            continue
        decision = verdict.decision
        suppressed = suppressed_codes(info)
        if suppressed is not None and (not suppressed or decision.code in suppressed):
            result.outcomes.append(ClassOutcome(info.qualname, "ignored", decision.code, "suppressed by comment"))
            continue
        held = dict(options.hold).get(info.qualname)
        if held is not None:
            result.outcomes.append(ClassOutcome(info.qualname, "held-back", decision.code, held))
            continue
        if decision.fix == "unsafe" and not options.unsafe_fixes:
            why = "; ".join(decision.notes) or "unsafe fix"
            result.outcomes.append(ClassOutcome(info.qualname, "held-back", decision.code,
                                                f"unsafe fix, needs --unsafe-fixes: {why}"))
            continue
        name = _choose_name(info.name, taken, private=exports_everything)
        emitted = write_function(verdict.ir, info, name, module, allow_probe=options.unsafe_fixes,
                                 style=options.style, fast_path=options.fast_path,
                                 torch_name=torch_alias or "torch")
        source = emitted.function if emitted.helper is None else emitted.helper + "\n\n" + emitted.function
        try:
            cst.parse_module(source, config=module.config_for_parsing)
        except cst.ParserSyntaxError as error:  # a bug of ours: never write it
            result.outcomes.append(ClassOutcome(info.qualname, "held-back", "FGI903",
                                                f"internal error: generated code does not parse ({error.message})"))
            continue
        plans[id(info.node)] = _Plan(info, name, source, module_level=info.enclosing_class is not None,
                                     code=decision.code)
    for plan in plans.values():
        result.outcomes.append(ClassOutcome(plan.info.qualname, "rewritten", plan.code, f"now {plan.function_name}()",
                                            plan.function_name))
    if not plans:
        return result
    transformer = _Transformer(module, plans, unignore=options.unsafe_fixes)
    new = module.visit(transformer)
    result.notes.extend(transformer.notes)
    result.unignored.extend(transformer.unignored)
    if not exports_everything:  # a star-importer may use any import this module has
        new = drop_unused_imports(module, new)
    if torch_alias is None:
        new = _with_torch_import(new)
    result.source = new.bytes
    return result
