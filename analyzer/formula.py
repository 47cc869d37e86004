"""Boolean formulas over Cedar conditions, and their Cedar text.

A change's description is built as a formula whose leaves are Cedar
boolean expressions taken from the policies, each read with a polarity:

* ``Atom(e, True)``: `e` evaluates to true (without error);
* ``Atom(e, False)``: `e` evaluates to false (without error);

combined with ``All`` (and), ``Any`` (or) and ``Neg`` (not), and
``Holds(policy)``, a whole policy's satisfaction, before it is expanded.
Because an atom means "evaluates to true", a formula has a plain
two-valued meaning, while Cedar text has a third outcome, error.  The text
of a formula therefore guards every atom it prints below a negation or
inside a disjunction with `guards.defined` (``x has a && x.a > 3``), so it
never errors and means exactly the formula.  At the top level no guard is
needed: a `when { e }` clause whose `e` errors leaves the policy
unsatisfied, just as `Atom(e, True)` is false there.

`truth(e, polarity)` reads a Cedar condition as a formula, following
Cedar's short-circuit order: ``a && b`` is true iff a and b are, and false
iff a is false, or a is true and b false.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from cedarscope.analyzer.guards import conjunction as conjunction  # re-exported (analyzer.describe)
from cedarscope.analyzer.guards import defined
from cedarscope.analyzer.guards import disjunction as disjunction  # re-exported (analyzer.describe)
from cedarscope.lang import ast
from cedarscope.lang.template import PolicyInstance


@dataclass(frozen=True)
class Atom:
    """A Cedar boolean expression that evaluates to `positive` (no error).
    `guard` holds the pieces printed before it where it is not top level
    (None: Cedar cannot state one)."""

    expr: ast.Expr
    positive: bool = True
    guard: tuple[ast.Expr, ...] | None = ()


@dataclass(frozen=True)
class All:
    parts: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Any:
    parts: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Neg:
    part: Node


@dataclass(frozen=True)
class Holds:
    """A whole policy is satisfied (expanded with `policy_formula`).
    `changed`: the policy differs between the two versions."""

    instance: PolicyInstance
    changed: bool

    def __hash__(self) -> int:
        return hash((self.instance.id, self.instance.policy))


Node = Atom | All | Any | Neg | Holds
TRUE, FALSE = All(), Any()


# --------------------------------------------------------------------------
# Reading Cedar as formulas


def truth(e: ast.Expr, positive: bool = True) -> Node:
    """`e` evaluates to `positive`, without error."""
    if isinstance(e, ast.And):
        if positive:
            return All((truth(e.left), truth(e.right)))
        return Any((truth(e.left, False), All((truth(e.left), truth(e.right, False)))))
    if isinstance(e, ast.Or):
        if positive:
            return Any((truth(e.left), All((truth(e.left, False), truth(e.right)))))
        return All((truth(e.left, False), truth(e.right, False)))
    if isinstance(e, ast.Not):
        return truth(e.arg, not positive)
    if isinstance(e, ast.If):
        return Any((All((truth(e.cond), truth(e.then_, positive))),
                    All((truth(e.cond, False), truth(e.else_, positive)))))
    if isinstance(e, ast.Lit) and isinstance(e.value, bool):
        return TRUE if e.value == positive else FALSE
    guard = defined(e)
    return Atom(e, positive, tuple(guard) if guard is not None else None)


def scope_expr(var: str, scope: ast.Scope) -> ast.Expr | None:
    """A principal or resource scope as the condition it stands for (None
    for an unconstrained scope)."""
    v = ast.Var(var)
    if isinstance(scope, ast.ScopeEq):
        return ast.BinaryOp("==", v, ast.EntityLit(scope.target))  # type: ignore[arg-type]
    if isinstance(scope, ast.ScopeIn):
        return ast.BinaryOp("in", v, ast.EntityLit(scope.target))  # type: ignore[arg-type]
    if isinstance(scope, ast.ScopeIs):
        target = ast.EntityLit(scope.in_target) if scope.in_target is not None else None  # type: ignore[arg-type]
        return ast.Is(v, scope.entity_type, target)
    return None


def policy_formula(policy: ast.Policy) -> Node:
    """When a (static, sliced) policy is satisfied in its environment: its
    principal and resource scope, each `when` true and each `unless` false.
    The action scope is true: the slice keeps only policies whose action
    scope matches the environment's action."""
    parts: list[Node] = []
    for var, scope in (("principal", policy.principal), ("resource", policy.resource)):
        e = scope_expr(var, scope)
        if e is not None:
            parts.append(Atom(e))
    parts += [truth(c.body, c.kind == "when") for c in policy.conditions]
    return All(tuple(parts))


# --------------------------------------------------------------------------
# Shape


def normal(n: Node) -> Node:
    """Flattened, with constants folded and double negations removed."""
    if isinstance(n, Neg):
        inner = normal(n.part)
        if inner == TRUE:
            return FALSE
        if inner == FALSE:
            return TRUE
        if isinstance(inner, Neg):
            return inner.part
        if isinstance(inner, Atom) and inner.guard == ():  # it cannot error
            return replace(inner, positive=not inner.positive)
        return Neg(inner)
    if isinstance(n, (All, Any)):
        kind = type(n)
        unit, zero = (TRUE, FALSE) if kind is All else (FALSE, TRUE)
        parts: list[Node] = []
        for p in n.parts:
            q = normal(p)
            if q == zero:
                return zero
            if q == unit:
                continue
            for r in (q.parts if isinstance(q, kind) else (q,)):
                if kind is Any:
                    r = _given_false(r, parts)
                    if r == TRUE:
                        return TRUE
                if r not in parts:
                    parts.append(r)
        return parts[0] if len(parts) == 1 else kind(tuple(parts))
    return n


def _given_false(n: Node, earlier: list[Node]) -> Node:
    """A disjunct without the conjuncts that only say an earlier disjunct
    is false: ``x || (!x && y)`` is ``x || y`` when `!x && y` cannot hold
    with x erroring (how `truth` reads Cedar's short-circuit `||`, and a
    chain of them would otherwise repeat every earlier test).  That is so
    when x cannot error at all, or when the disjunct's other atoms, true,
    imply x's guard: an atom holds only if its own guard does (`guards`),
    so ``a.b == 1 || (!(a.b == 1) && a.b == 2)`` is
    ``a.b == 1 || a.b == 2``, `a has b` holding in either."""
    if not isinstance(n, (All, Atom)):
        return n
    false = {(a.expr, not a.positive) for a in earlier if isinstance(a, Atom) and a.guard is not None}
    parts = conjuncts(n)
    candidate = [isinstance(c, Atom) and c.guard is not None and (c.expr, c.positive) in false for c in parts]
    covered = {g for c, dropped in zip(parts, candidate, strict=True)
               if not dropped and isinstance(c, Atom) and c.guard for g in c.guard}
    kept = tuple(c for c, dropped in zip(parts, candidate, strict=True)
                 if not (dropped and isinstance(c, Atom) and set(c.guard or ()) <= covered))
    if len(kept) == len(parts):
        return n
    return kept[0] if len(kept) == 1 else All(kept)


def conjuncts(n: Node) -> tuple[Node, ...]:
    return n.parts if isinstance(n, All) else (n,)


def paths(n: Node, at: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], Node]]:
    """Every node with its path, breadth first (so larger parts come first)."""
    todo = [(at, n)]
    while todo:
        nxt = []
        for p, x in todo:
            yield p, x
            if isinstance(x, (All, Any)):
                nxt += [(p + (i,), c) for i, c in enumerate(x.parts)]
            elif isinstance(x, Neg):
                nxt.append((p + (0,), x.part))
        todo = nxt


def at_path(n: Node, path: tuple[int, ...]) -> Node:
    for i in path:
        n = n.part if isinstance(n, Neg) else n.parts[i]  # type: ignore[union-attr]
    return n


def replaced(n: Node, path: tuple[int, ...], new: Node | None) -> Node:
    """`n` with the node at `path` replaced by `new` (None: removed from its
    All or Any, which makes it true or false respectively)."""
    if not path:
        assert new is not None
        return new
    i, rest = path[0], path[1:]
    if isinstance(n, Neg):
        return Neg(replaced(n.part, rest, new))
    assert isinstance(n, (All, Any))
    if not rest and new is None:
        return type(n)(n.parts[:i] + n.parts[i + 1:])
    return type(n)(n.parts[:i] + (replaced(n.parts[i], rest, new),) + n.parts[i + 1:])


def atoms(n: Node) -> Iterator[Atom]:
    for _, x in paths(n):
        if isinstance(x, Atom):
            yield x


# --------------------------------------------------------------------------
# Cedar text

FLIPPED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def negated(e: ast.Expr) -> ast.Expr:
    """`!e`, as a comparison with the opposite operator where there is one
    (exact: comparisons are total on the types they accept)."""
    if isinstance(e, ast.BinaryOp) and e.op in FLIPPED:
        return ast.BinaryOp(FLIPPED[e.op], e.left, e.right)
    if isinstance(e, ast.Not):
        return e.arg
    return ast.Not(e)


def guarded(n: Node, known: frozenset[ast.Expr] = frozenset()) -> ast.Expr:
    """The formula as a Cedar expression that never errors (where every
    guard is available) and is true exactly when the formula is.  `known`:
    guard pieces true wherever the expression is evaluated (conjuncts
    printed before it established them), so they are not repeated."""
    if isinstance(n, Atom):
        body = n.expr if n.positive else negated(n.expr)
        return conjunction([*_unknown(n, known), body])
    if isinstance(n, All):
        out: list[ast.Expr] = []
        for p in n.parts:  # `&&` evaluates a part only where those before it hold
            out += _and_chain(guarded(p, known))
            known = known | established(p)
        return conjunction(out)
    if isinstance(n, Any):
        return _any(n.parts, known)
    if isinstance(n, Neg):
        return negated(guarded(n.part, known))
    raise TypeError(f"{n!r} is expanded before it is printed")


def _unknown(n: Atom, known: frozenset[ast.Expr]) -> list[ast.Expr]:
    return [g for g in n.guard or () if g not in known]


def _any(parts: tuple[Node, ...], known: frozenset[ast.Expr]) -> ast.Expr:
    """A disjunction, the guard pieces its parts all start with said once
    before it: ``(g && a) || (g && b)`` is ``g && (a || b)``, g being
    evaluated first in both."""
    common: list[ast.Expr] = []
    if len(parts) > 1:
        for column in zip(*(_leading(p, known) for p in parts), strict=False):
            if any(g != column[0] for g in column):
                break
            common.append(column[0])
    inner = disjunction([guarded(p, known | frozenset(common)) for p in parts])
    return conjunction([*common, inner]) if common else inner


def _and_chain(e: ast.Expr) -> list[ast.Expr]:
    """The operands of a chain of `&&`, which is associative in Cedar
    (errors included: evaluated left to right either way), so that
    ``a && (b && c)`` prints as ``a && b && c``."""
    return [*_and_chain(e.left), *_and_chain(e.right)] if isinstance(e, ast.And) else [e]


def _leading(n: Node, known: frozenset[ast.Expr]) -> list[ast.Expr]:
    """The guard pieces `guarded` prints first for n."""
    first = n.parts[0] if isinstance(n, All) and n.parts else n
    return _unknown(first, known) if isinstance(first, Atom) else []


def established(n: Node) -> frozenset[ast.Expr]:
    """Guard pieces true wherever the formula is: an atom holds only where
    its guard does (it evaluated without error), and so does a `has` test
    that holds."""
    if isinstance(n, Atom):
        facts = frozenset(n.guard or ())
        return facts | {n.expr} if n.positive and isinstance(n.expr, ast.Has) else facts
    if isinstance(n, All):
        return frozenset().union(*(established(p) for p in n.parts))
    return frozenset()


def clause(n: Node, known: frozenset[ast.Expr] = frozenset()) -> tuple[bool, ast.Expr]:
    """A top-level conjunct as (is a `when`, body).  Its atoms print
    unguarded: an error there leaves the policy unsatisfied, as the
    formula is false there.  `known` as for `guarded`."""
    if isinstance(n, Neg) and isinstance(n.part, Atom) and not n.part.guard:
        n = replace(n.part, positive=not n.part.positive)
    if isinstance(n, Atom):
        if n.positive:
            return True, n.expr
        if isinstance(n.expr, ast.BinaryOp) and n.expr.op in FLIPPED:
            return True, negated(n.expr)
        return False, n.expr
    if isinstance(n, Neg):
        return False, guarded(n.part, known)
    return True, guarded(n, known)


def size(n: Node) -> int:
    """The number of atoms: the conditions a reader must take in."""
    return sum(1 for _ in atoms(n))
