"""A change described exactly, as one Cedar policy.

In one request environment the requests a change gains are
``G = allows(A) ∧ ¬allows(B)`` (A the new version and B the old one; for
losses the reverse).  Its *structural* description is the Cedar text of

    S(permits of A) ∧ ¬S(forbids of A) ∧ ¬(S(permits of B) ∧ ¬S(forbids of B))

where S(p) is "p is satisfied", written out with `formula` so that it
never errors.  It is exact by construction, and large.  The *readable*
description is found from it in three steps, each kept only when the solver
proves that the result still equals G for every request of the environment
and every store (under the encoding's assumptions):

1. which policies are needed at all: start from none and add, for each
   counterexample, a policy whose satisfaction there repairs it, preferring
   the changed ones (so unchanged policies cancel, and a large slice costs
   solver calls only for the policies that matter).  A counterexample is
   read concretely, on its decoded example, as Z3 cannot always evaluate
   the array terms of a model;
2. drop every conjunct, disjunct and guard the solver proves redundant
   (largest parts first; a conjunct left out can only widen the formula,
   so one side of the difference is checked);
3. fold scope conditions into the policy scope and merge comparisons of the
   same two operands.

The result is printed, parsed back, validated against the schema and
checked once more.  When step 1 cannot finish, step 2 starts from the
structural form; when the budget runs out first, what step 2 has reached is
printed (the structural form at worst).  When no exact form can be verified
(a guard Cedar cannot state, such as for a product of two attributes),
the description is unavailable: an inexact one is never shown.

The budget is solver work, not time (`describe_work`), and at most
`DEFAULT_STEPS` checks: the same inputs reach the same point of the
search, and so print the same description, on any machine and under any
load.  A wall-clock limit stays as a safety net, far above what the work
takes (`DESCRIBE_SAFETY`); a description it cuts is marked so
(`Description.timed_out`), as only such a one may read differently from
run to run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import z3

from cedarscope.analyzer import formula as f
from cedarscope.analyzer.queries import policy_outcome
from cedarscope.analyzer.solving import Budget, EnvSolver, Model, Options, Status
from cedarscope.encoder.terms import Unsupported
from cedarscope.lang import ast
from cedarscope.lang.schema import BoolType, RequestEnv, Schema
from cedarscope.lang.template import PolicyInstance

READABLE, STRUCTURAL = "readable", "structural"
DEFAULT_STEPS = 400  # solver checks per description
# Z3 resource units per second of budget (Options.describe_seconds): about
# what this search spends in a second of CPU (tags_n_roles' long searches
# measured 7 to 10 million on the development machine, Python included).
WORK_PER_SECOND = 10_000_000
# The wall-clock safety net, per second of budget: far above what the work
# takes, so that only a machine many times slower (or overloaded) meets it.
DESCRIBE_SAFETY = 10.0
# The reasons a check gives when the clock stopped it (Z3 says "canceled" for
# a resource limit too, but that one has spent the work budget).
TIME_REASONS = ("time budget exhausted", "solver: canceled", "solver: timeout")


def describe_work(seconds: float) -> int:
    """The solver work a search of the given budget may do."""
    return int(seconds * WORK_PER_SECOND)


@dataclass(frozen=True)
class Description:
    """A change's description: `policy` (the AST) and `text` (Cedar), of
    the given `form`; or, when no exact one was found, `policy` None and
    the `reason`."""

    policy: ast.Policy | None
    text: str | None
    form: str | None
    atoms: int = 0
    checks: int = 0
    seconds: float = 0.0
    reason: str = ""
    complete: bool = True  # the search ran to its end (else its budget ran out first)
    timed_out: bool = False  # cut by the wall-clock safety net, not the work budget: may vary with load

    @property
    def one_line(self) -> str | None:
        from cedarscope.reports.render_text import one_line  # rich, which JSON output does not need

        return one_line(self.text) if self.text else None


# --------------------------------------------------------------------------
# The search


class Describer:
    """Describes G in one environment, on that environment's solver."""

    def __init__(self, solver: EnvSolver, schema: Schema, goal: z3.BoolRef, side_a: Sequence[PolicyInstance],
                 side_b: Sequence[PolicyInstance], changed: Callable[[PolicyInstance], bool],
                 options: Options, seconds: float | None = None, steps: int = DEFAULT_STEPS):
        self.solver, self.enc, self.schema = solver, solver.enc, schema
        self.env: RequestEnv = solver.env
        self.goal = goal
        self.side_a, self.side_b, self.changed = side_a, side_b, changed
        seconds = options.describe_seconds if seconds is None else seconds
        self.budget = Budget(replace(options, timeout_seconds=seconds * DESCRIBE_SAFETY), describe_work(seconds))
        self.options = options  # the final check has the query's own budget
        self.steps = steps
        self.checks = 0
        self.complete = True  # the search ran to its end (else: the budget ran out)
        self.timed_out = False  # ... and it was the safety net that stopped it
        self._atom_terms: dict[f.Atom, z3.BoolRef] = {}
        self._guard_cache: dict[ast.Expr, bool] = {}

    # Semantics --------------------------------------------------------

    def meaning(self, n: f.Node) -> z3.BoolRef:
        """The formula as a Z3 formula over the environment's encoding."""
        if isinstance(n, f.Holds):
            return self.enc.satisfied(n.instance.policy)
        if isinstance(n, f.Atom):
            if n not in self._atom_terms:
                self._atom_terms[n] = self._atom_meaning(n)
            return self._atom_terms[n]
        if isinstance(n, f.All):
            return z3.And([self.meaning(p) for p in n.parts]) if n.parts else z3.BoolVal(True)
        if isinstance(n, f.Any):
            return z3.Or([self.meaning(p) for p in n.parts]) if n.parts else z3.BoolVal(False)
        return z3.Not(self.meaning(n.part))

    def _atom_meaning(self, a: f.Atom) -> z3.BoolRef:
        t = self.enc.compiler.expr(a.expr)
        if t.ty != BoolType():
            return z3.BoolVal(False)  # a type error: neither true nor false
        return z3.And(z3.Not(t.err), t.val if a.positive else z3.Not(t.val))

    def printed_meaning(self, tree: f.Node) -> z3.BoolRef:
        """What the Cedar text of `tree` means (guards as printed)."""
        return self.enc.satisfied(self.policy(tree))

    def exact(self, meaning: z3.BoolRef, widens: bool | None = None) -> tuple[Status, Model | None]:
        """Is `meaning` G?  UNSAT of their difference means yes; a model
        is a request on which they differ.  When `meaning` is known to
        contain G (`widens`) or to be contained in it (not `widens`), one
        side of the difference is enough, and cheaper to solve."""
        if self.checks >= self.steps:
            return Status.UNKNOWN, None
        self.checks += 1
        if widens is None:
            difference = meaning != self.goal
        elif widens:
            difference = z3.And(meaning, z3.Not(self.goal))
        else:
            difference = z3.And(self.goal, z3.Not(meaning))
        status, model = self.solver.check(difference, self.budget, reuse=True)
        if status is Status.UNKNOWN and not self.budget.out_of_work() and self._out_of_time():
            self.timed_out = True  # the safety net, not the work budget
        return status, model

    def _out_of_time(self) -> bool:
        """Did the last check stop on the wall clock?"""
        last = self.solver.unknown_reasons[-1] if self.solver.unknown_reasons else ""
        return self.budget.out_of_time() or last in TIME_REASONS

    @staticmethod
    def _widens(tree: f.Node, path: tuple[int, ...]) -> bool:
        """Leaving out the part at `path` (of a formula equal to G) gives a
        formula that contains G (true) or is contained in it (false): a
        conjunct left out widens, a disjunct narrows, each negation above
        flips the direction."""
        flips = sum(1 for k in range(len(path)) if isinstance(f.at_path(tree, path[:k]), f.Neg))
        widens = isinstance(f.at_path(tree, path[:-1]), f.All)
        return widens if flips % 2 == 0 else not widens

    # Static simplification ---------------------------------------------

    def simplified(self, n: f.Node) -> f.Node:
        """Atoms the environment decides outright (a type error, `has` on an
        attribute the type lacks, a test of the constant action) become
        constants; guard pieces that hold in every store are left out."""
        if isinstance(n, f.Atom):
            t = self.enc.compiler.expr(n.expr)
            if t.ty != BoolType():
                return f.FALSE
            err, val = z3.simplify(t.err), z3.simplify(t.val)
            if z3.is_true(err):
                return f.FALSE
            if z3.is_false(err):
                if z3.is_bool(val) and (z3.is_true(val) or z3.is_false(val)):
                    return f.TRUE if z3.is_true(val) == n.positive else f.FALSE
                return replace(n, guard=())
            if n.guard:
                return replace(n, guard=tuple(g for g in n.guard if not self._tautology(g)))
            return n
        if isinstance(n, (f.All, f.Any)):
            return type(n)(tuple(self.simplified(p) for p in n.parts))
        if isinstance(n, f.Neg):
            return f.Neg(self.simplified(n.part))
        return n

    def _tautology(self, e: ast.Expr) -> bool:
        if e not in self._guard_cache:
            t = self.enc.compiler.expr(e)
            self._guard_cache[e] = (t.ty == BoolType() and z3.is_false(z3.simplify(t.err))
                                    and z3.is_true(z3.simplify(t.val)))
        return self._guard_cache[e]

    # Step 0: the structural form ----------------------------------------

    def structural(self) -> f.Node:
        def holds(instances: Sequence[PolicyInstance], effect: str) -> list[f.Holds]:
            return [f.Holds(i, self.changed(i)) for i in instances if i.effect == effect]

        permits_a, forbids_a = holds(self.side_a, "permit"), holds(self.side_a, "forbid")
        permits_b, forbids_b = holds(self.side_b, "permit"), holds(self.side_b, "forbid")
        return f.All((f.Any(tuple(permits_a)),
                      *[f.Neg(h) for h in forbids_a],
                      f.Neg(f.All((f.Any(tuple(permits_b)), f.Neg(f.Any(tuple(forbids_b))))))))

    def expanded(self, n: f.Node) -> f.Node:
        """Every `Holds` replaced by its policy's formula, simplified."""
        if isinstance(n, f.Holds):
            return self.simplified(f.policy_formula(n.instance.policy))
        if isinstance(n, (f.All, f.Any)):
            return type(n)(tuple(self.expanded(p) for p in n.parts))
        if isinstance(n, f.Neg):
            return f.Neg(self.expanded(n.part))
        return n

    # Step 1: which policies are needed ------------------------------------

    def needed_policies(self, full: f.Node) -> f.Node | None:
        """`full` with only the policies it needs (None when the budget ran
        out first)."""
        droppable = {p for p, n in f.paths(full) if isinstance(n, f.Holds)
                     or (isinstance(n, f.Neg) and isinstance(n.part, f.Holds))}
        droppable = {p for p in droppable if not any(q != p and p[:len(q)] == q for q in droppable)}
        dropped = set(droppable)
        while True:
            current = pruned(full, dropped)
            status, model = self.exact(self.meaning(current))
            if status is Status.UNSAT:
                return current
            if status is Status.UNKNOWN or model is None:
                return None
            value = self._valuation(full, model, dropped)
            if value is None:
                return None  # neither the model nor its example tells the two apart: never guess
            restore = self._repair(full, (), not value(full, True), value, dropped)
            if not restore:
                return None
            dropped -= restore

    def _valuation(self, full: f.Node, model: Model, dropped: set[tuple[int, ...]]) -> Callable[..., bool] | None:
        """value(node, current, path): a node's truth on the counterexample,
        in the current candidate (dropped parts left out) or in the full
        form; None when it does not separate the two.  Each policy is
        evaluated concretely on the model's decoded example (Z3 may not
        evaluate array terms of a model), and on the model itself when the
        example does not separate them."""
        def concrete(n: f.Node) -> bool:
            assert isinstance(n, f.Holds)
            return policy_outcome(n.instance.policy, request, entities) == "match"

        def symbolic(n: f.Node) -> bool:
            return model.holds(self.meaning(n))

        try:
            request, entities = self.enc.decode(model.solved, local=self.solver.local)
            leaves = [concrete, symbolic]
        except Exception:  # a model the decoder cannot read: the model alone
            leaves = [symbolic]
        for leaf in leaves:
            cache: dict[f.Node, bool] = {}

            def value(n: f.Node, current: bool, at: tuple[int, ...] = (), leaf: Callable[[f.Node], bool] = leaf,
                      cache: dict[f.Node, bool] = cache) -> bool:
                return self._value(n, at, leaf, dropped if current else set(), cache)

            if value(full, True) != value(full, False):
                return value
        return None

    def _value(self, n: f.Node, at: tuple[int, ...], leaf: Callable[[f.Node], bool], dropped: set[tuple[int, ...]],
               cache: dict[f.Node, bool]) -> bool:
        if isinstance(n, (f.Holds, f.Atom)):
            if n not in cache:
                cache[n] = leaf(n)
            return cache[n]
        if isinstance(n, f.Neg):
            return not self._value(n.part, at + (0,), leaf, dropped, cache)
        kept = [self._value(c, at + (i,), leaf, dropped, cache)
                for i, c in enumerate(n.parts) if at + (i,) not in dropped]
        return all(kept) if isinstance(n, f.All) else any(kept)

    def _repair(self, n: f.Node, at: tuple[int, ...], want: bool, value: Callable[..., bool],
                dropped: set[tuple[int, ...]]) -> set[tuple[int, ...]]:
        """Paths to restore so that `n` (kept, valued `not want` now and
        `want` in the full form) gets the value `want` on this model."""
        if isinstance(n, f.Neg):
            return self._repair(n.part, at + (0,), not want, value, dropped)
        if not isinstance(n, (f.All, f.Any)):
            return set()
        is_all = isinstance(n, f.All)
        children = [(at + (i,), c) for i, c in enumerate(n.parts)]
        if want != is_all:  # one child must turn: false in an All, true in an Any
            fixes: list[tuple[int, tuple[int, ...], f.Node, bool]] = []
            for path, c in children:
                full_value = value(c, False, path)
                if full_value != want:
                    continue
                if path in dropped:
                    changed = _is_changed(c)
                    fixes.append((0 if changed else 2, path, c, True))
                elif value(c, True, path) != want:
                    fixes.append((1, path, c, False))
            if not fixes:
                return set()
            _, path, c, restore = min(fixes, key=lambda x: (x[0], x[1]))
            return {path} if restore else self._repair(c, path, want, value, dropped)
        out: set[tuple[int, ...]] = set()
        for path, c in children:  # every kept child must turn
            if path not in dropped and value(c, True, path) != want:
                fix = self._repair(c, path, want, value, dropped)
                if not fix:
                    return set()
                out |= fix
        return out

    # Step 2: drop what is redundant --------------------------------------

    def dropped_parts(self, tree: f.Node) -> f.Node:
        """Each conjunct or disjunct, largest first, left out where the
        solver proves the rest equal to G (two passes, as a drop can make
        an earlier part redundant)."""
        tried: set[f.Node] = set()
        for _ in range(2):
            progress = False
            i = 0
            while True:
                order = [p for p, _ in f.paths(tree)
                         if p and isinstance(f.at_path(tree, p[:-1]), (f.All, f.Any))]
                if i >= len(order):
                    break
                if self.checks >= self.steps:
                    self.complete = False
                    return tree
                path = order[i]
                candidate = f.normal(f.replaced(tree, path, None))
                i += 1
                if candidate in tried:
                    continue
                tried.add(candidate)
                if self._tests_presence(f.at_path(tree, path)) and not self._validates(candidate):
                    continue  # a `has` that validation needs before an access
                status, _ = self.exact(self.meaning(candidate), self._widens(tree, path))
                if status is Status.UNSAT:
                    tree, progress = candidate, True
                    i -= 1  # the part now at this place is next
                elif status is Status.UNKNOWN:
                    self.complete = False
                    return tree
            if not progress:
                break
        return tree

    def dropped_guards(self, tree: f.Node) -> f.Node:
        """Guard pieces the environment makes redundant (checked on the
        printed text, whose meaning changes when a guard goes): all at
        once first, then one by one.  A `has` on an optional attribute
        and a `hasTag` stay: validation needs them."""
        def droppable(g: ast.Expr) -> bool:
            return not self._optional_has(g) and not (isinstance(g, ast.MethodCall) and g.name == "hasTag")

        def without(t: f.Node, keep: Callable[[tuple[int, ...], ast.Expr], bool]) -> f.Node:
            for path, n in list(f.paths(t)):
                if isinstance(n, f.Atom) and n.guard and path:
                    t = f.replaced(t, path, replace(n, guard=tuple(g for g in n.guard if keep(path, g))))
            return t

        pieces = [(path, g) for path, n in f.paths(tree) if isinstance(n, f.Atom) and n.guard and path
                  for g in n.guard if droppable(g)]
        if not pieces:
            return tree
        def all_at_once(path: tuple[int, ...], g: ast.Expr) -> bool:
            return not droppable(g)

        def one(p: tuple[int, ...], x: ast.Expr) -> Callable[[tuple[int, ...], ast.Expr], bool]:
            return lambda path, g: not (path == p and g is x)

        attempts = [all_at_once, *(one(p, x) for p, x in pieces)]
        for keep in attempts:
            candidate = without(tree, keep)
            try:
                meaning = self.printed_meaning(candidate)
            except Unsupported:
                continue
            # Without a guard, its expression errors where the guard was
            # false; the error makes its clause (`when` or `unless`) fail, so
            # the description can only lose requests: one side suffices.
            status, _ = self.exact(meaning, widens=False)
            if status is Status.UNSAT:
                tree = candidate
                if keep is attempts[0]:
                    break
            elif status is Status.UNKNOWN:
                self.complete = False
                break
        return tree

    @staticmethod
    def _tests_presence(n: f.Node) -> bool:
        return any(isinstance(a.expr, ast.Has) or (isinstance(a.expr, ast.MethodCall) and a.expr.name == "hasTag")
                   for a in f.atoms(n))

    def _validates(self, tree: f.Node) -> bool:
        """Cedar's validator accepts the text of `tree` (a `has` can be
        redundant for the solver and still needed by the validator)."""
        from cedarscope.lang.ast import PolicySet
        from cedarscope.lang.validator import validate

        return not validate(PolicySet((("description", self.policy(tree)),)), self.schema)

    def _optional_has(self, e: ast.Expr) -> bool:
        """`x has a` for an attribute validation requires a guard for."""
        if not isinstance(e, ast.Has):
            return False
        from cedarscope.lang.validator import type_of

        ty = type_of(e.expr, self.schema, self.env)
        attr = None
        if ty is not None and hasattr(ty, "name") and ty.name in self.schema.entity_types:
            attr = self.schema.entity_types[ty.name].shape.get(e.attrs[0])
        elif ty is not None and hasattr(ty, "get"):
            attr = ty.get(e.attrs[0])
        return attr is None or not attr.required

    # Step 3 and printing ---------------------------------------------------

    def policy(self, tree: f.Node) -> ast.Policy:
        """The Cedar policy whose satisfaction, in this environment, the
        formula states: scope conditions folded into the scope, `when`
        conditions joined by `&&`, `unless` conditions by `||`."""
        parts = list(f.conjuncts(tree))
        if tree == f.FALSE:
            parts = [f.FALSE]
        scopes: dict[str, ast.Scope] = {}
        whens: list[ast.Expr] = []
        unlesses: list[ast.Expr] = []
        known: frozenset[ast.Expr] = frozenset()  # what the `when`s printed so far establish
        for n in merged_comparisons(parts):
            scope = scope_of(n)
            if scope is not None:
                var, s = scope
                if isinstance(s, ast.ScopeIs) and s.in_target is None and s.entity_type == self._type(var):
                    continue  # true throughout the environment
                if var not in scopes:
                    scopes[var] = s
                    continue
            positive, body = f.clause(n, known)
            (whens if positive else unlesses).append(body)
            if positive:
                known |= f.established(n)
        conditions = []
        if whens:
            conditions.append(ast.Condition("when", f.conjunction(whens)))
        if unlesses:
            conditions.append(ast.Condition("unless", f.disjunction(unlesses)))
        return ast.Policy("permit", self._scope("principal", scopes.get("principal")),
                          ast.ScopeEq(self.env.action), self._scope("resource", scopes.get("resource")),
                          tuple(conditions))

    def _type(self, var: str) -> str:
        return self.env.principal_type if var == "principal" else self.env.resource_type

    def _scope(self, var: str, s: ast.Scope | None) -> ast.Scope:
        """The scope, saying the environment's type where the action allows
        several (so that the description is about this environment only)."""
        action = self.schema.actions.get(self.env.action)
        types = (action.principal_types if var == "principal" else action.resource_types) if action else ()
        several = len(types) > 1
        if s is None:
            return ast.ScopeIs(self._type(var)) if several else ast.ScopeAny()
        if several and isinstance(s, ast.ScopeIn):
            return ast.ScopeIs(self._type(var), s.target)
        return s

    def finished(self, tree: f.Node, form: str, started: float) -> Description:
        """Print, parse back, validate and check once more."""
        from cedarscope.lang.ast import PolicySet
        from cedarscope.lang.diagnostics import CedarError
        from cedarscope.lang.parser import parse_policy
        from cedarscope.lang.printer import print_policy
        from cedarscope.lang.validator import validate

        policy = self.policy(tree)
        text = print_policy(policy, show_nesting=True)  # no one wrote it: show how its parts group
        try:
            parsed = parse_policy(text, "<description>")
        except CedarError as err:
            return self._unavailable(f"the printed description does not parse: {err}", started)
        if parsed != policy:
            return self._unavailable("the printed description does not read back as itself", started)
        problems = validate(PolicySet((("description", parsed),)), self.schema)
        if problems:
            return self._unavailable(f"the description does not validate: {problems[0].message}", started)
        try:
            meaning = self.enc.satisfied(parsed)
        except Unsupported as err:
            return self._unavailable(f"unsupported: {err}", started)
        self.checks += 1  # the final check has its own budget: the search's may be spent
        status, _ = self.solver.check(meaning != self.goal, Budget(self.options), reuse=True)
        if status is Status.SAT or (status is Status.UNKNOWN and form != STRUCTURAL):
            why = "it is not exact" if status is Status.SAT else "it could not be checked in time"
            return self._unavailable(f"no exact description was verified ({why})", started)
        # The structural form is exact by construction; a check that timed
        # out does not withhold it (a check that found a difference does).
        return Description(parsed, text, form, f.size(tree), self.checks, time.perf_counter() - started,
                           complete=self.complete, timed_out=self.timed_out)

    def _unavailable(self, reason: str, started: float) -> Description:
        return Description(None, None, None, 0, self.checks, time.perf_counter() - started, reason)

    def describe(self) -> Description:
        started = time.perf_counter()
        full = self.structural()
        needed = self.needed_policies(full)
        # Without step 1 (its budget spent, or a model whose evaluation of
        # array terms disagrees with the solver, so that it cannot guide the
        # repair), step 2 starts from the whole structural form: slower, as
        # sound, since it only keeps what the solver proves.
        tree = f.normal(self.expanded(full if needed is None else needed))
        self.complete = True
        tree = self.dropped_parts(tree)
        tree = self.dropped_guards(tree)
        # Readable once step 1 found the policies needed (or step 2, from
        # the structural form, ran to its end); a search cut in step 2 keeps
        # the parts it could not yet prove redundant (`complete` is False).
        found = self.finished(tree, READABLE if needed is not None or self.complete else STRUCTURAL, started)
        if found.policy is None:
            structural = self.finished(f.normal(self.expanded(full)), STRUCTURAL, started)
            if structural.policy is not None:
                return structural
        return found


def pruned(n: f.Node, dropped: set[tuple[int, ...]], at: tuple[int, ...] = ()) -> f.Node:
    """`n` without the parts at the dropped paths."""
    if isinstance(n, f.Neg):
        return f.Neg(pruned(n.part, dropped, at + (0,)))
    if isinstance(n, (f.All, f.Any)):
        return type(n)(tuple(pruned(c, dropped, at + (i,)) for i, c in enumerate(n.parts)
                             if at + (i,) not in dropped))
    return n


def _is_changed(n: f.Node) -> bool:
    if isinstance(n, f.Neg):
        n = n.part
    return isinstance(n, f.Holds) and n.changed


# --------------------------------------------------------------------------
# Readability rewrites (exact; the final check covers them too)


def scope_of(n: f.Node) -> tuple[str, ast.Scope] | None:
    """A top-level condition that a principal or resource scope can say."""
    if not isinstance(n, f.Atom) or not n.positive:
        return None
    e = n.expr
    if isinstance(e, ast.BinaryOp) and e.op in ("==", "in"):
        left, right = e.left, e.right
        if e.op == "==" and isinstance(right, ast.Var):
            left, right = right, left
        if isinstance(left, ast.Var) and left.name in ("principal", "resource") and isinstance(right, ast.EntityLit):
            return left.name, (ast.ScopeEq(right.uid) if e.op == "==" else ast.ScopeIn(right.uid))
    if isinstance(e, ast.Is) and isinstance(e.expr, ast.Var) and e.expr.name in ("principal", "resource"):
        if e.in_expr is None:
            return e.expr.name, ast.ScopeIs(e.entity_type)
        if isinstance(e.in_expr, ast.EntityLit):
            return e.expr.name, ast.ScopeIs(e.entity_type, e.in_expr.uid)
    return None


# Each comparison as the orderings of (left, right) it allows.
ORDERINGS = {"<": {"lt"}, "<=": {"lt", "eq"}, "==": {"eq"}, "!=": {"lt", "gt"}, ">=": {"eq", "gt"}, ">": {"gt"}}
BY_ORDERINGS = {frozenset(v): k for k, v in ORDERINGS.items()}
MIRROR = {"lt": "gt", "gt": "lt", "eq": "eq"}


def _comparison(n: f.Node) -> tuple[ast.Expr, ast.Expr, set[str]] | None:
    """A top-level comparison as (left, right, orderings allowed)."""
    if isinstance(n, f.Neg) and isinstance(n.part, f.Atom) and not n.part.guard:
        n = replace(n.part, positive=not n.part.positive)
    if not isinstance(n, f.Atom) or not isinstance(n.expr, ast.BinaryOp) or n.expr.op not in ORDERINGS:
        return None
    allowed = ORDERINGS[n.expr.op]
    if not n.positive:
        allowed = {"lt", "eq", "gt"} - allowed
    return n.expr.left, n.expr.right, set(allowed)


def merged_comparisons(parts: list[f.Node]) -> list[f.Node]:
    """Top-level comparisons of the same two operands as one, when one
    of them is an ordering (so the operands are totally ordered):
    ``a <= b`` and ``a >= b`` are ``a == b``.  Both are read without error
    at the top level, so their conjunction is exactly the merged one."""
    out: list[f.Node] = []
    merged: dict[tuple[ast.Expr, ast.Expr], int] = {}
    for n in parts:
        c = _comparison(n)
        if c is None:
            out.append(n)
            continue
        left, right, allowed = c
        key = (left, right)
        if key not in merged and (right, left) in merged:
            key, allowed = (right, left), {MIRROR[o] for o in allowed}
        if key in merged:
            i = merged[key]
            prior = _comparison(out[i])
            assert prior is not None
            both = prior[2] & allowed
            ordered = any(o not in ("==", "!=") for o in (_op(prior[2]), _op(allowed)))
            if ordered and frozenset(both) in BY_ORDERINGS:
                out[i] = f.Atom(ast.BinaryOp(BY_ORDERINGS[frozenset(both)], key[0], key[1]))
                continue
        merged.setdefault(key, len(out))
        out.append(n)
    return out


def _op(orderings: set[str]) -> str:
    return BY_ORDERINGS.get(frozenset(orderings), "?")
