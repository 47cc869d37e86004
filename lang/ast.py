"""Cedar's abstract syntax, one frozen dataclass per construct.

Names follow Cedar's own vocabulary (the Lean model in cedar-spec and the
Cedar reference).  Every node carries the source span it was parsed from;
spans never take part in equality, so ``parse(print(ast)) == ast`` compares
structure only.

The AST keeps the surface forms a reader wrote (``!=``, ``>``, ``unless``,
``has a.b``, ``e["a"]`` vs ``e.a`` is *not* kept: both are `GetAttr`), and the
evaluator and encoder give each its Cedar meaning.  Where Cedar's own parser
desugars (e.g. ``has a.b``), that is documented on the node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from cedarscope.lang.values import EntityUID

# --------------------------------------------------------------------------
# Source locations


@dataclass(frozen=True)
class Span:
    """A region of a source file: 1-based line and column of start and end
    (end exclusive), plus 0-based character offsets."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    start: int = 0
    end: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False, kw_only=True)


# --------------------------------------------------------------------------
# Expressions


@dataclass(frozen=True, eq=False)
class Lit:
    """A literal: Bool, Long or String.  (Entity literals are `EntityLit`.)

    Equality includes the value's type: Python's ``True == 1`` must not make
    ``true`` and ``1`` the same literal (policies are compared and used as
    cache keys by structure)."""

    value: bool | int | str
    span: Span | None = _span()

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Lit) and type(self.value) is type(other.value)
                and self.value == other.value)

    def __hash__(self) -> int:
        return hash((Lit, type(self.value), self.value))


@dataclass(frozen=True)
class EntityLit:
    """An entity reference such as ``User::"alice"``."""

    uid: EntityUID
    span: Span | None = _span()


@dataclass(frozen=True)
class Var:
    """One of the four request variables."""

    name: str  # "principal" | "action" | "resource" | "context"
    span: Span | None = _span()


@dataclass(frozen=True)
class Slot:
    """A template slot: ``?principal`` or ``?resource``."""

    name: str  # "?principal" | "?resource"
    span: Span | None = _span()


@dataclass(frozen=True)
class Not:
    """``!arg``"""

    arg: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class Neg:
    """``-arg`` (the parser folds ``-`` applied to an integer literal into
    the literal, as Cedar does, so ``-9223372036854775808`` is a `Lit`)."""

    arg: Expr
    span: Span | None = _span()


# Binary operators kept as written.  Cedar's own AST rewrites ``a != b`` to
# ``!(a == b)``, ``a > b`` to ``b < a`` and ``a >= b`` to ``b <= a``.
BINARY_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*")


@dataclass(frozen=True)
class BinaryOp:
    op: str  # one of BINARY_OPS
    left: Expr
    right: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class And:
    """``left && right`` (short-circuiting)."""

    left: Expr
    right: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class Or:
    """``left || right`` (short-circuiting)."""

    left: Expr
    right: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class If:
    """``if cond then then_ else else_``"""

    cond: Expr
    then_: Expr
    else_: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class GetAttr:
    """``expr.attr`` or ``expr["attr"]`` (the same construct in Cedar)."""

    expr: Expr
    attr: str
    span: Span | None = _span()


@dataclass(frozen=True)
class Has:
    """``expr has a`` or the extended ``expr has a.b.c``.

    ``attrs`` is the attribute path, at least one element.  Cedar desugars
    ``e has a.b`` into ``e has a && e.a has b``; we keep the path and give it
    that meaning in the evaluator and encoder.
    """

    expr: Expr
    attrs: tuple[str, ...]
    span: Span | None = _span()


# A `like` pattern: literal text runs and wildcards.  Adjacent literal
# characters are merged into one str, so the representation is canonical.
WILDCARD = None  # a pattern element that is None stands for an unescaped `*`
PatternElem = str | None


@dataclass(frozen=True)
class Like:
    """``expr like "pat*tern"``"""

    expr: Expr
    pattern: tuple[PatternElem, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Is:
    """``expr is Type`` or ``expr is Type in target``."""

    expr: Expr
    entity_type: str
    in_expr: Expr | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class SetLit:
    """``[e1, e2, ...]``"""

    elems: tuple[Expr, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class RecordLit:
    """``{"k": e, ...}`` in source order (duplicate keys are a parse error)."""

    fields: tuple[tuple[str, Expr], ...]
    span: Span | None = _span()


# Methods of the core language; every other method name is an extension
# method (decimal, ipaddr, datetime, duration).
CORE_METHODS = ("contains", "containsAll", "containsAny", "isEmpty", "hasTag", "getTag")


@dataclass(frozen=True)
class MethodCall:
    """``receiver.name(args...)``: the set methods, tag methods and the
    extension methods (``lessThan``, ``isInRange``, ``offset``, ...)."""

    receiver: Expr
    name: str
    args: tuple[Expr, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class ExtFun:
    """An extension function call: ``ip("10.0.0.1")``, ``decimal("1.5")``,
    ``datetime("2024-01-01")``, ``duration("1h")``."""

    name: str
    args: tuple[Expr, ...]
    span: Span | None = _span()


Expr = (
    Lit | EntityLit | Var | Slot | Not | Neg | BinaryOp | And | Or | If | GetAttr | Has
    | Like | Is | SetLit | RecordLit | MethodCall | ExtFun
)


# --------------------------------------------------------------------------
# Policy scope


@dataclass(frozen=True)
class ScopeAny:
    """An unconstrained scope variable: ``principal``."""

    span: Span | None = _span()


@dataclass(frozen=True)
class ScopeEq:
    """``principal == User::"alice"`` or ``principal == ?principal``."""

    target: EntityUID | Slot
    span: Span | None = _span()


@dataclass(frozen=True)
class ScopeIn:
    """``principal in Group::"g"`` or ``principal in ?principal``."""

    target: EntityUID | Slot
    span: Span | None = _span()


@dataclass(frozen=True)
class ScopeIs:
    """``principal is User`` or ``principal is User in Group::"g"``."""

    entity_type: str
    in_target: EntityUID | Slot | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class ActionInSet:
    """``action in [Action::"a", Action::"b"]`` (the only set-form scope)."""

    targets: tuple[EntityUID, ...]
    span: Span | None = _span()


# principal and resource take ScopeAny | ScopeEq | ScopeIn | ScopeIs;
# action takes ScopeAny | ScopeEq | ScopeIn | ActionInSet (no slots).
Scope = ScopeAny | ScopeEq | ScopeIn | ScopeIs | ActionInSet


@dataclass(frozen=True)
class Condition:
    """A ``when { body }`` or ``unless { body }`` clause."""

    kind: str  # "when" | "unless"
    body: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class Annotation:
    """``@name("value")`` or the value-less ``@name``."""

    name: str
    value: str | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class Policy:
    """A static policy or a template (a template mentions a `Slot`)."""

    effect: str  # "permit" | "forbid"
    principal: Scope
    action: Scope
    resource: Scope
    conditions: tuple[Condition, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    span: Span | None = _span()

    def annotation(self, name: str) -> Annotation | None:
        for a in self.annotations:
            if a.name == name:
                return a
        return None

    @cached_property  # asked per policy in every environment of an analysis
    def slots(self) -> tuple[str, ...]:
        """The slots this policy mentions, in scope order."""
        found = []
        for scope in (self.principal, self.resource):
            target = getattr(scope, "target", None) or getattr(scope, "in_target", None)
            if isinstance(target, Slot):
                found.append(target.name)
        return tuple(found)

    @cached_property
    def is_template(self) -> bool:
        return bool(self.slots)


@dataclass(frozen=True)
class TemplateLink:
    """A template instantiated with entity uids for its slots."""

    template_id: str
    link_id: str
    values: tuple[tuple[str, EntityUID], ...]  # (("?principal", uid), ...)


@dataclass(frozen=True)
class PolicySet:
    """Policies in file order, keyed by id (``@id`` or positional
    ``policyN``), with templates and their links.  `policies` holds static
    policies and templates alike; `links` instantiate the templates."""

    policies: tuple[tuple[str, Policy], ...]
    links: tuple[TemplateLink, ...] = ()

    def get(self, policy_id: str) -> Policy | None:
        for pid, p in self.policies:
            if pid == policy_id:
                return p
        return None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(pid for pid, _ in self.policies)

    @cached_property  # asked in every environment of an analysis
    def templates(self) -> tuple[tuple[str, Policy], ...]:
        """The templates (policies with a slot), with their ids, in order."""
        return tuple((pid, p) for pid, p in self.policies if p.is_template)
