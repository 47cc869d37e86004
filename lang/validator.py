"""Cedar's strict validation: type checking policies against a schema.

This follows the typechecker of the Cedar reference implementation in its
default, *strict*, mode (what `cedarpy.validate_policies` runs):

* once per policy: every entity type it names is declared, every action it
  names is declared, every literal of an enumerated entity type uses a
  declared id, and some action's `appliesTo` fits the policy scope;
* once per request environment (principal type, action, resource type the
  schema allows, and for a template each entity type its slots may take):
  the policy's condition -- its scope constraints, `when` bodies and negated
  `unless` bodies, conjoined -- is type checked.  The checker tracks
  *capabilities* (attributes and tags known to be present because a `has`
  or `hasTag` guard is true on every path to the access) and singleton
  boolean types (`in`, `==`, `is`, `has` that are decided by the schema
  alone), short-circuiting `&&`, `||` and `if` on them as Cedar does.

Errors from every environment are reported; a policy whose condition has
type `false` in every environment is *impossible* (a warning in Cedar, so it
does not fail validation).  Messages use Cedar's wording, prefixed with the
policy id, located at the offending expression's span.

`type_of(expr, schema, env)` exposes the inferred type of an expression (e.g.
the entity type of `principal.manager`) for the encoder.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import networkx as nx

from cedarscope.lang import ast as A
from cedarscope.lang import schema as S
from cedarscope.lang import values as V
from cedarscope.lang.diagnostics import Diagnostic, source_line
from cedarscope.lang.values import EntityUID, escape_string

__all__ = ["validate", "type_of"]


# --------------------------------------------------------------------------
# The validator's types.  Richer than lang.schema's: singleton booleans
# (`true`, `false`), the bottom type `Never`, "any entity", open records, and
# "any set" (only ever *expected*, never inferred).


@dataclass(frozen=True)
class NeverT:
    def __str__(self) -> str:
        return "Never"


@dataclass(frozen=True)
class BoolT:
    value: bool | None = None  # None: any Bool; True/False: singleton types

    def __str__(self) -> str:
        return "Bool"


@dataclass(frozen=True)
class LongT:
    def __str__(self) -> str:
        return "Long"


@dataclass(frozen=True)
class StringT:
    def __str__(self) -> str:
        return "String"


@dataclass(frozen=True)
class SetT:
    elem: Ty | None  # None: any set (an expectation only)

    def __str__(self) -> str:
        return f"Set<{self.elem}>" if self.elem is not None else "Set"


@dataclass(frozen=True)
class EntityT:
    """An entity of one of `names` (a least upper bound; strict mode only
    ever builds singletons).  Action entities are entities of their action
    entity type (``Action``, ``NS::Action``)."""

    names: frozenset[str]

    def __str__(self) -> str:
        return " | ".join(sorted(self.names))


@dataclass(frozen=True)
class AnyEntityT:
    def __str__(self) -> str:
        return "entity"


@dataclass(frozen=True)
class AttrT:
    type: Ty
    required: bool = True


@dataclass(frozen=True)
class RecordT:
    """Attributes sorted by name.  A closed record has exactly these
    attributes; an open one may have more (only the "any record"
    expectation is open in strict mode)."""

    attrs: tuple[tuple[str, AttrT], ...] = ()
    open: bool = False

    def get(self, name: str) -> AttrT | None:
        for k, a in self.attrs:
            if k == name:
                return a
        return None

    def keys(self) -> frozenset[str]:
        return frozenset(k for k, _ in self.attrs)

    def __str__(self) -> str:
        inner = ", ".join(f"{k}{'' if a.required else '?'}: {a.type}" for k, a in self.attrs)
        return "{" + inner + "}"


@dataclass(frozen=True)
class ExtT:
    name: str  # decimal | ipaddr | datetime | duration

    def __str__(self) -> str:
        return self.name


Ty = NeverT | BoolT | LongT | StringT | SetT | EntityT | AnyEntityT | RecordT | ExtT

BOOL, TRUE, FALSE = BoolT(), BoolT(True), BoolT(False)
LONG, STRING = LongT(), StringT()
ANY_SET = SetT(None)
ANY_ENTITY = AnyEntityT()
ANY_RECORD = RecordT((), open=True)
NEVER = NeverT()


def _record(attrs: dict[str, AttrT], open: bool = False) -> RecordT:
    return RecordT(tuple(sorted(attrs.items())), open)


def _from_schema_type(t: S.CedarType) -> Ty:
    """A schema type as a validator type (schema records are closed)."""
    if isinstance(t, S.BoolType):
        return BOOL
    if isinstance(t, S.LongType):
        return LONG
    if isinstance(t, S.StringType):
        return STRING
    if isinstance(t, S.EntityType):
        return EntityT(frozenset([t.name]))
    if isinstance(t, S.SetType):
        return SetT(_from_schema_type(t.elem))
    if isinstance(t, S.RecordType):
        return _from_schema_record(t)
    if isinstance(t, S.ExtensionType):
        return ExtT(t.name)
    raise TypeError(f"not a schema type: {t!r}")


def _from_schema_record(r: S.RecordType) -> RecordT:
    return RecordT(tuple((k, AttrT(_from_schema_type(a.type), a.required)) for k, a in r.attrs))


def _to_schema_type(t: Ty | None) -> S.CedarType | None:
    """A validator type as a schema type, or None when it has no schema
    counterpart (Never, any entity, an entity union, any set)."""
    if isinstance(t, BoolT):
        return S.BoolType()
    if isinstance(t, LongT):
        return S.LongType()
    if isinstance(t, StringT):
        return S.StringType()
    if isinstance(t, EntityT) and len(t.names) == 1:
        return S.EntityType(next(iter(t.names)))
    if isinstance(t, SetT) and t.elem is not None:
        elem = _to_schema_type(t.elem)
        return S.SetType(elem) if elem is not None else None
    if isinstance(t, RecordT):
        attrs = {}
        for k, a in t.attrs:
            at = _to_schema_type(a.type)
            if at is None:
                return None
            attrs[k] = S.Attribute(at, a.required)
        return S.record_type(attrs)
    if isinstance(t, ExtT):
        return S.ExtensionType(t.name)
    return None


# --------------------------------------------------------------------------
# Subtyping and least upper bounds (Cedar's `is_subtype`/`least_upper_bound`
# with a `strict` flag: strict mode has no width subtyping, requires equal
# optionality, and never joins different entity types).


class _NoLub(Exception):
    """Two types have no least upper bound; `hint` says why."""

    def __init__(self, hint: str):
        super().__init__(hint)
        self.hint = hint


LUB_HINTS = {
    "qualifier": "corresponding attributes of compatible record types must have the same optionality, "
                 "either both being required or both being optional",
    "width": "compatible record types must have exactly the same attributes",
    "entity": "different entity types are never compatible even when their attributes would be compatible",
    "entity-record": "entity and record types are never compatible even when their attributes would be compatible",
    "none": "types must be exactly equal to be compatible",
}


def is_subtype(t0: Ty, t1: Ty, strict: bool) -> bool:
    if isinstance(t0, NeverT):
        return True
    if isinstance(t0, BoolT) and isinstance(t1, BoolT):
        return t1.value is None or t0.value == t1.value
    if isinstance(t0, SetT) and isinstance(t1, SetT):
        if t1.elem is None:
            return True
        return t0.elem is not None and is_subtype(t0.elem, t1.elem, strict)
    if isinstance(t0, RecordT) and isinstance(t1, RecordT):
        if t0.open and not t1.open:
            return False
        width = t1.open and not strict and _attrs_subtype(t0, t1, strict)
        return width or (t0.keys() == t1.keys() and _attrs_subtype(t0, t1, strict))
    if isinstance(t0, EntityT) and isinstance(t1, EntityT):
        return t0.names == t1.names if strict else t0.names <= t1.names
    if isinstance(t1, AnyEntityT):
        return isinstance(t0, AnyEntityT) or (isinstance(t0, EntityT) and not strict)
    return t0 == t1 and isinstance(t0, (LongT, StringT, ExtT))


def _attrs_subtype(r0: RecordT, r1: RecordT, strict: bool) -> bool:
    for k, a1 in r1.attrs:
        a0 = r0.get(k)
        if a0 is None:
            return False
        qualifier = a0.required == a1.required if strict else (a0.required or not a1.required)
        if not (qualifier and is_subtype(a0.type, a1.type, strict)):
            return False
    return True


def least_upper_bound(t0: Ty, t1: Ty, strict: bool = True) -> Ty:
    """The least upper bound of two types; raises _NoLub when there is none."""
    if is_subtype(t0, t1, strict):
        return t1
    if is_subtype(t1, t0, strict):
        return t0
    if isinstance(t0, BoolT) and isinstance(t1, BoolT):
        return BOOL
    if isinstance(t0, SetT) and isinstance(t1, SetT):
        if t0.elem is None or t1.elem is None:
            return ANY_SET
        return SetT(least_upper_bound(t0.elem, t1.elem, strict))
    if isinstance(t0, RecordT) and isinstance(t1, RecordT):
        return _record_lub(t0, t1, strict)
    entityish = (EntityT, AnyEntityT)
    if isinstance(t0, entityish) and isinstance(t1, entityish):
        if strict:
            raise _NoLub(LUB_HINTS["entity"])
        if isinstance(t0, EntityT) and isinstance(t1, EntityT):
            return EntityT(t0.names | t1.names)
        return ANY_ENTITY
    if isinstance(t0, (RecordT, *entityish)) and isinstance(t1, (RecordT, *entityish)):
        raise _NoLub(LUB_HINTS["entity-record"])
    raise _NoLub(LUB_HINTS["none"])


def _record_lub(r0: RecordT, r1: RecordT, strict: bool) -> RecordT:
    if strict and r0.keys() != r1.keys():
        raise _NoLub(LUB_HINTS["width"])
    attrs = {}
    for k, a0 in r0.attrs:
        a1 = r1.get(k)
        if a1 is None:
            continue  # permissive width join: keep the common attributes
        t = least_upper_bound(a0.type, a1.type, strict)
        if strict and a0.required != a1.required:
            raise _NoLub(LUB_HINTS["qualifier"])
        attrs[k] = AttrT(t, a0.required and a1.required)
    open_ = r0.open or r1.open or set(attrs) != (r0.keys() | r1.keys())
    return _record(attrs, open_)


def _disjoint(t0: Ty, t1: Ty) -> bool:
    """Types with no common value.  Only entity types are ever called
    disjoint (e.g. Set<Long> and Set<Bool> share the empty set)."""
    return isinstance(t0, EntityT) and isinstance(t1, EntityT) and not (t0.names & t1.names)


# --------------------------------------------------------------------------
# Extension functions: argument types, result type, and for constructors the
# check that a literal argument parses.

@dataclass(frozen=True)
class _ExtFunction:
    name: str
    args: tuple[Ty, ...]
    result: Ty
    parse: Callable[[str], object] | None = None  # constructors only
    what: str = ""  # how a bad constructor argument is described

    def check_argument(self, args: tuple) -> str | None:
        """Cedar's constructor argument check: a string literal must parse."""
        if self.parse is None or len(args) != 1:
            return None
        arg = args[0]
        if not (isinstance(arg, A.Lit) and isinstance(arg.value, str)):
            return None
        try:
            self.parse(arg.value)
        except ValueError:
            return f'{self.what}: `"{escape_string(arg.value)}"`'
        return None


def _extension_functions() -> dict[str, _ExtFunction]:
    dec, ip, dt, dur = ExtT("decimal"), ExtT("ipaddr"), ExtT("datetime"), ExtT("duration")
    fns = [
        _ExtFunction("decimal", (STRING,), dec, V.Decimal.parse, "Failed to parse as a decimal value"),
        _ExtFunction("ip", (STRING,), ip, V.IPAddr.parse, "failed to parse as IP address"),
        _ExtFunction("datetime", (STRING,), dt, V.Datetime.parse, "failed to parse as a datetime value"),
        _ExtFunction("duration", (STRING,), dur, V.Duration.parse, "failed to parse as a duration value"),
    ]
    fns += [_ExtFunction(n, (dec, dec), BOOL)
            for n in ("lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual")]
    fns += [_ExtFunction(n, (ip,), BOOL) for n in ("isIpv4", "isIpv6", "isLoopback", "isMulticast")]
    fns += [
        _ExtFunction("isInRange", (ip, ip), BOOL),
        _ExtFunction("offset", (dt, dur), dt),
        _ExtFunction("durationSince", (dt, dt), dur),
        _ExtFunction("toDate", (dt,), dt),
        _ExtFunction("toTime", (dt,), dur),
    ]
    fns += [_ExtFunction(n, (dur,), LONG)
            for n in ("toDays", "toHours", "toMinutes", "toSeconds", "toMilliseconds")]
    return {f.name: f for f in fns}


EXTENSION_FUNCTIONS = _extension_functions()
# `<` and `<=` apply to Long and to these extension types.
COMPARABLE_EXTENSIONS = ("datetime", "duration")
COMPARISON_TYPES = (ExtT("datetime"), ExtT("duration"), LONG)


def _is_comparable(t: Ty) -> bool:
    return isinstance(t, LongT) or (isinstance(t, ExtT) and t.name in COMPARABLE_EXTENSIONS)


# --------------------------------------------------------------------------
# The schema as the validator reads it.


def is_action_type(name: str) -> bool:
    """Cedar's test for an action entity type: its basename is `Action`."""
    return name == "Action" or name.endswith("::Action")


@dataclass(frozen=True)
class Env:
    """A request environment with its types: context record and, for a
    template, the entity types its slots are linked to in this check."""

    principal: str
    action: EntityUID
    resource: str
    context: RecordT
    principal_slot: str | None = None
    resource_slot: str | None = None


class SchemaView:
    """Precomputed facts about a Schema: the types entities of each type
    may be `in`, action groups, request environments."""

    def __init__(self, schema: S.Schema):
        self.schema = schema
        self.entity_types = schema.entity_types
        self.actions = schema.actions
        types = nx.DiGraph()
        for name, et in schema.entity_types.items():
            types.add_node(name)
            for parent in et.member_of:
                types.add_edge(name, parent)
        # descendants[T]: types whose entities may be transitively in a T.
        self.descendants = {n: frozenset(nx.ancestors(types, n)) for n in schema.entity_types}
        groups = nx.DiGraph()
        for uid, act in schema.actions.items():
            groups.add_node(uid)
            for g in act.member_of:
                groups.add_edge(uid, g)
        self.action_descendants = {
            uid: frozenset(nx.ancestors(groups, uid)) if uid in groups else frozenset()
            for uid in schema.actions
        }
        self.envs = [
            Env(e.principal_type, e.action, e.resource_type,
                _from_schema_record(schema.actions[e.action].context))
            for e in schema.environments()
        ]
        self._attrs: dict[str, RecordT] = {}
        self._action_in_type: dict[tuple[str, str], bool] = {}

    def is_known_entity_type(self, name: str) -> bool:
        return name in self.entity_types or is_action_type(name)

    def types_in(self, name: str) -> frozenset[str]:
        """Entity types whose entities may be `in` an entity of type `name`
        (Cedar's `get_entity_types_in`: its descendants and itself)."""
        return self.descendants.get(name, frozenset()) | {name}

    def actions_in(self, uids: Iterable[EntityUID]) -> frozenset[EntityUID] | None:
        """The actions `action in uids` holds for; None if one is undeclared."""
        found: set[EntityUID] = set()
        for uid in uids:
            if uid not in self.actions:
                return None
            found |= self.action_descendants[uid] | {uid}
        return frozenset(found)

    def action_in_type(self, lhs: str, rhs: str) -> bool:
        """Whether an action of type `lhs` may be in an entity of type `rhs`."""
        if (lhs, rhs) not in self._action_in_type:
            self._action_in_type[lhs, rhs] = lhs == rhs or any(
                uid.type == rhs and any(d.type == lhs for d in self.action_descendants[uid])
                for uid in self.actions
            )
        return self._action_in_type[lhs, rhs]

    def entity_attrs(self, name: str) -> RecordT:
        """The attributes of an entity type; unknown types are open."""
        if name not in self._attrs:
            if name in self.entity_types:
                self._attrs[name] = _from_schema_record(self.entity_types[name].shape)
            elif any(uid.type == name for uid in self.actions):
                self._attrs[name] = RecordT()  # actions have no attributes
            else:
                self._attrs[name] = ANY_RECORD
        return self._attrs[name]

    def tag_types(self, t: Ty) -> list[Ty]:
        """The declared tag types of the entity types `t` may be."""
        names = t.names if isinstance(t, EntityT) else self.entity_types.keys()
        found: list[Ty] = []
        for n in sorted(names):
            et = self.entity_types.get(n)
            if et is not None and et.tags is not None:
                tt = _from_schema_type(et.tags)
                if tt not in found:
                    found.append(tt)
        return found

    def attr_of(self, t: Ty, attr: str) -> AttrT | None:
        """Cedar's `lookup_attribute_type`: the attribute when its type is
        known (required or optional), else None."""
        if isinstance(t, RecordT):
            return t.get(attr)
        if isinstance(t, EntityT):
            return self._entity_lub_attrs(t).get(attr)
        return None

    def _entity_lub_attrs(self, t: EntityT) -> RecordT:
        records = [self.entity_attrs(n) for n in sorted(t.names)]
        result = records[0]
        for r in records[1:]:
            result = _record_lub(result, r, strict=False)
        return RecordT(result.attrs)

    def known_attrs(self, t: Ty) -> list[str]:
        if isinstance(t, RecordT):
            return sorted(t.keys())
        if isinstance(t, EntityT):
            return sorted(self._entity_lub_attrs(t).keys())
        return []

    def may_have_attr(self, t: Ty, attr: str) -> bool:
        if isinstance(t, NeverT):
            return True
        if isinstance(t, AnyEntityT):
            return True
        if isinstance(t, RecordT):
            return t.open or t.get(attr) is not None
        if isinstance(t, EntityT):
            return any(self.entity_attrs(n).open or self.entity_attrs(n).get(attr) is not None
                       for n in t.names)
        return False


# --------------------------------------------------------------------------
# Desugaring to Cedar's core expression forms, so that capabilities (keyed
# by expression) and literal tests see what Cedar's typechecker sees:
# `a != b` is `!(a == b)`, `a > b` is `b < a`, `e has a.b` is
# `e has a && e.a has b`, `e is T in x` is `e is T && e in x`, extension
# methods are extension functions with the receiver first.


def core(e: A.Expr) -> A.Expr:
    sp = e.span
    if isinstance(e, (A.Lit, A.EntityLit, A.Var, A.Slot)):
        return e
    if isinstance(e, A.Not):
        return A.Not(core(e.arg), span=sp)
    if isinstance(e, A.Neg):
        return A.Neg(core(e.arg), span=sp)
    if isinstance(e, A.BinaryOp):
        left, right = core(e.left), core(e.right)
        if e.op == "!=":
            return A.Not(A.BinaryOp("==", left, right, span=sp), span=sp)
        if e.op == ">":
            return A.BinaryOp("<", right, left, span=sp)
        if e.op == ">=":
            return A.BinaryOp("<=", right, left, span=sp)
        return A.BinaryOp(e.op, left, right, span=sp)
    if isinstance(e, A.And):
        return A.And(core(e.left), core(e.right), span=sp)
    if isinstance(e, A.Or):
        return A.Or(core(e.left), core(e.right), span=sp)
    if isinstance(e, A.If):
        return A.If(core(e.cond), core(e.then_), core(e.else_), span=sp)
    if isinstance(e, A.GetAttr):
        return A.GetAttr(core(e.expr), e.attr, span=sp)
    if isinstance(e, A.Has):
        return _core_has(core(e.expr), e.attrs, sp)
    if isinstance(e, A.Like):
        return A.Like(core(e.expr), e.pattern, span=sp)
    if isinstance(e, A.Is):
        target = core(e.expr)
        test = A.Is(target, e.entity_type, span=sp)
        if e.in_expr is None:
            return test
        return A.And(test, A.BinaryOp("in", target, core(e.in_expr), span=sp), span=sp)
    if isinstance(e, A.SetLit):
        return A.SetLit(tuple(core(x) for x in e.elems), span=sp)
    if isinstance(e, A.RecordLit):
        return A.RecordLit(tuple((k, core(v)) for k, v in e.fields), span=sp)
    if isinstance(e, A.MethodCall):
        receiver, args = core(e.receiver), tuple(core(a) for a in e.args)
        if e.name in A.CORE_METHODS:
            return A.MethodCall(receiver, e.name, args, span=sp)
        return A.ExtFun(e.name, (receiver, *args), span=sp)
    if isinstance(e, A.ExtFun):
        return A.ExtFun(e.name, tuple(core(a) for a in e.args), span=sp)
    raise TypeError(f"not a Cedar expression: {e!r}")


def _core_has(target: A.Expr, attrs: tuple[str, ...], sp) -> A.Expr:
    """`e has a.b.c` as `e has a && e.a has b && e.a.b has c`."""
    result: A.Expr | None = None
    obj = target
    for i, attr in enumerate(attrs):
        if i:
            obj = A.GetAttr(obj, attrs[i - 1], span=sp)
        test = A.Has(obj, (attr,), span=sp)
        result = test if result is None else A.And(result, test, span=sp)
    assert result is not None, "a `has` names at least one attribute"
    return result


def _scope_expr(var: str, scope: A.Scope) -> A.Expr:
    """A scope constraint as the expression Cedar checks for it."""
    sp = scope.span
    v = A.Var(var, span=sp)

    def target(t):
        return t if isinstance(t, A.Slot) else A.EntityLit(t, span=sp)

    if isinstance(scope, A.ScopeAny):
        return A.Lit(True, span=sp)
    if isinstance(scope, A.ScopeEq):
        return A.BinaryOp("==", v, target(scope.target), span=sp)
    if isinstance(scope, A.ScopeIn):
        if var == "action":
            return A.BinaryOp("in", v, A.SetLit((target(scope.target),), span=sp), span=sp)
        return A.BinaryOp("in", v, target(scope.target), span=sp)
    if isinstance(scope, A.ActionInSet):
        return A.BinaryOp("in", v, A.SetLit(tuple(target(t) for t in scope.targets), span=sp), span=sp)
    if isinstance(scope, A.ScopeIs):
        test = A.Is(v, scope.entity_type, span=sp)
        if scope.in_target is None:
            return test
        return A.And(test, A.BinaryOp("in", v, target(scope.in_target), span=sp), span=sp)
    raise TypeError(f"not a scope constraint: {scope!r}")


def policy_condition(policy: A.Policy) -> A.Expr:
    """The policy as one boolean expression (Cedar's `Template::condition`):
    principal && (action && (resource && (c1 && (c2 && ...)))) where the
    conditions are the `when` bodies and the negated `unless` bodies."""
    # Right-nested, as Cedar builds it: a failing condition then does not
    # hide the capabilities of the conditions before it from those after.
    body: A.Expr | None = None
    for cond in reversed(policy.conditions):
        c = core(cond.body)
        if cond.kind == "unless":
            c = A.Not(c, span=cond.span)
        body = c if body is None else A.And(c, body, span=cond.span)
    if body is None:
        body = A.Lit(True, span=policy.span)
    expr = body
    for var, scope in (("resource", policy.resource), ("action", policy.action),
                       ("principal", policy.principal)):
        expr = A.And(_scope_expr(var, scope), expr, span=policy.span)
    return expr


# --------------------------------------------------------------------------
# Typechecking one expression in one request environment.


Capability = tuple  # ("attr", expr, name) or ("tag", expr, tag expr)
NO_CAPS: frozenset = frozenset()


class Answer(NamedTuple):
    """Cedar's TypecheckAnswer: success carries a type (maybe refined to a
    singleton boolean) and the capabilities learned when it is true; failure
    may still carry a recovered type, so checking goes on."""

    ok: bool
    ty: Ty | None
    caps: frozenset = NO_CAPS


def success(ty: Ty | None, caps: frozenset = NO_CAPS) -> Answer:
    return Answer(True, ty, caps)


def fail(ty: Ty | None) -> Answer:
    return Answer(False, ty, NO_CAPS)


def then(ans: Answer, f: Callable[[Ty | None, frozenset], Answer]) -> Answer:
    """Continue after `ans`; a failure makes the continuation fail too (and
    lends it no capabilities)."""
    if ans.ok:
        return f(ans.ty, ans.caps)
    result = f(ans.ty, NO_CAPS)
    return fail(result.ty)


def then_all(answers: list[Answer], f: Callable[[list[Ty | None]], Answer]) -> Answer:
    result = f([a.ty for a in answers])
    return result if all(a.ok for a in answers) else fail(result.ty)


HELP = {
    "like": "try using `like` to examine the contents of a string",
    "contains": "try using `contains`, `containsAny`, or `containsAll` to examine the contents of a set",
    "single-contains": "try using `contains` to test if a single element is in a set",
    "has": "try using `has` to test for an attribute",
    "is": "try using `is` to test for an entity type",
    "in": "try using `in` for entity hierarchy membership",
    "empty-string": 'try using `== ""` to test if a string is empty',
    "type-test": "Cedar only supports run time type tests for entities",
    "concat": "Cedar does not support string concatenation",
    "set-ops": "Cedar does not support computing the union, intersection, or difference of sets",
}

LUB_CONTEXT = {
    "set": "elements of a set",
    "if": "both branches of a conditional",
    "==": "both operands to a `==` expression",
    "contains": "elements of the first operand and the second operand to a `contains` expression",
    "containsAnyAll": "elements of both set operands to a `containsAll` or `containsAny` expression",
    "getTag": "tag types for a `.getTag()` operation",
}


def _set_or_string_help(t: Ty) -> str | None:
    if isinstance(t, SetT):
        return HELP["contains"]
    if isinstance(t, StringT):
        return HELP["like"]
    return None


def _collection_help(t: Ty) -> str | None:
    if isinstance(t, (EntityT, AnyEntityT)):
        return HELP["in"]
    if isinstance(t, RecordT):
        return HELP["has"]
    if isinstance(t, StringT):
        return HELP["like"]
    return None


def _no_help(t: Ty) -> str | None:
    return None


def _lit_key(e: A.Expr):
    """A literal's value tagged with its kind (so `1` and `true` differ)."""
    if isinstance(e, A.Lit):
        return (type(e.value).__name__, e.value)
    if isinstance(e, A.EntityLit):
        return ("entity", e.uid)
    return None


def _show_type_list(types: Iterable[Ty]) -> str:
    return ", or ".join(str(t) for t in types)


class Checker:
    """Cedar's single-environment typechecker.  `errors` collects
    (expression, message) pairs; `types` records each node's type."""

    def __init__(self, view: SchemaView, env: Env, policy_id: str):
        self.view = view
        self.env = env
        self.policy_id = policy_id
        self.errors: list[tuple[A.Expr, str]] = []
        self.types: dict[int, Ty | None] = {}

    def error(self, e: A.Expr, message: str, help: str | None = None) -> None:
        text = f"for policy `{self.policy_id}`, {message}"
        if help:
            text += f" ({help})"
        self.errors.append((e, text))

    # ---- entry points -------------------------------------------------------

    def check(self, e: A.Expr, caps: frozenset) -> Answer:
        method = getattr(self, "check_" + type(e).__name__)
        ans = method(e, caps)
        self.types[id(e)] = ans.ty
        return ans

    def expect(self, e: A.Expr, caps: frozenset, expected: tuple[Ty, ...],
               help: Callable[[Ty], str | None] = _no_help) -> Answer:
        """Check `e` and require a (permissive) subtype of one of `expected`
        (permissive, so that any record or entity type passes `{..}` or
        `entity`); on a mismatch report it and lose the type."""

        def compare(t: Ty | None, c: frozenset) -> Answer:
            if t is None:
                return fail(None)
            if not any(is_subtype(t, x, strict=False) for x in expected):
                self.error(e, f"unexpected type: expected {_show_type_list(expected)} but saw {t}", help(t))
                return fail(None)
            return success(t, c)

        ans = then(self.check(e, caps), compare)
        self.types[id(e)] = ans.ty
        return ans

    def lub_or_error(self, e: A.Expr, types: list[Ty | None], context: str) -> Ty | None:
        if any(t is None for t in types):
            return None
        lub: Ty = NEVER
        try:
            for t in types:
                lub = least_upper_bound(lub, t)
        except _NoLub as no:
            shown = " and ".join(dict.fromkeys(str(t) for t in types))
            self.error(e, f"the types {shown} are not compatible",
                       f"{LUB_CONTEXT[context]} must have compatible types; {no.hint}")
            return None
        return lub

    # ---- variables and literals ---------------------------------------------

    def check_Var(self, e: A.Var, caps: frozenset) -> Answer:
        env = self.env
        if e.name == "principal":
            return success(EntityT(frozenset([env.principal])))
        if e.name == "action":
            return success(EntityT(frozenset([env.action.type])))
        if e.name == "resource":
            return success(EntityT(frozenset([env.resource])))
        return success(env.context)

    def check_Slot(self, e: A.Slot, caps: frozenset) -> Answer:
        linked = self.env.principal_slot if e.name == "?principal" else self.env.resource_slot
        return success(EntityT(frozenset([linked])) if linked is not None else ANY_ENTITY)

    def check_Lit(self, e: A.Lit, caps: frozenset) -> Answer:
        if isinstance(e.value, bool):
            return success(BoolT(e.value))
        if isinstance(e.value, int):
            return success(LONG)
        return success(STRING)

    def check_EntityLit(self, e: A.EntityLit, caps: frozenset) -> Answer:
        # Undeclared types and actions are reported once per policy, not here.
        uid = e.uid
        if is_action_type(uid.type):
            known = uid in self.view.actions
        else:
            known = uid.type in self.view.entity_types
        return success(EntityT(frozenset([uid.type]))) if known else fail(None)

    # ---- boolean structure ---------------------------------------------------

    def check_If(self, e: A.If, caps: frozenset) -> Answer:
        def branches(test: Ty | None, test_caps: frozenset) -> Answer:
            if test == TRUE:
                return then(self.check(e.then_, caps | test_caps),
                            lambda t, c: success(t, c | test_caps))
            if test == FALSE:
                return then(self.check(e.else_, caps), lambda t, c: success(t, c))
            ans_then = self.check(e.then_, caps | test_caps)
            if ans_then.ok:
                ans_then = success(ans_then.ty, ans_then.caps | test_caps)
            ans_else = self.check(e.else_, caps)

            def join(t1: Ty | None, c1: frozenset) -> Answer:
                def join2(t2: Ty | None, c2: frozenset) -> Answer:
                    lub = self.lub_or_error(e, [t1, t2], "if")
                    return success(lub, c1 & c2) if lub is not None else fail(None)
                return then(ans_else, join2)

            return then(ans_then, join)

        return then(self.expect(e.cond, caps, (BOOL,)), branches)

    def check_And(self, e: A.And, caps: frozenset) -> Answer:
        def right(tl: Ty | None, cl: frozenset) -> Answer:
            if tl == FALSE:
                return success(FALSE)  # the right operand is never evaluated

            def combine(tr: Ty | None, cr: frozenset) -> Answer:
                if tl is None or tr is None:
                    return fail(BOOL)
                if tr == FALSE:
                    return success(FALSE)
                if tr == TRUE:
                    return success(tl, cl | cr)
                if tl == TRUE:
                    return success(tr, cr)
                return success(BOOL, cl | cr)

            return then(self.expect(e.right, caps | cl, (BOOL,)), combine)

        return then(self.expect(e.left, caps, (BOOL,)), right)

    def check_Or(self, e: A.Or, caps: frozenset) -> Answer:
        def right(tl: Ty | None, cl: frozenset) -> Answer:
            if tl == TRUE:
                return success(tl, cl)  # the right operand is never evaluated

            def combine(tr: Ty | None, cr: frozenset) -> Answer:
                if tl is None or tr is None:
                    return fail(BOOL)
                if tr == TRUE:
                    return success(TRUE, cr)
                if tr == FALSE:
                    return success(tl, cl)
                if tl == FALSE:
                    return success(tr, cr)
                return success(BOOL, cl & cr)

            # The left operand may have been false: none of its capabilities.
            return then(self.expect(e.right, caps, (BOOL,)), combine)

        return then(self.expect(e.left, caps, (BOOL,)), right)

    def check_Not(self, e: A.Not, caps: frozenset) -> Answer:
        def negate(t: Ty | None, _: frozenset) -> Answer:
            if t is None:
                return fail(BOOL)
            if isinstance(t, BoolT) and t.value is not None:
                return success(BoolT(not t.value))
            return success(BOOL)

        return then(self.expect(e.arg, caps, (BOOL,)), negate)

    # ---- arithmetic and comparison ---------------------------------------------

    def check_Neg(self, e: A.Neg, caps: frozenset) -> Answer:
        return then(self.expect(e.arg, caps, (LONG,)), lambda t, c: success(LONG))

    def check_BinaryOp(self, e: A.BinaryOp, caps: frozenset) -> Answer:
        if e.op == "==":
            return self.check_equality(e, caps)
        if e.op in ("<", "<="):
            return self.check_comparison(e, caps)
        if e.op in ("+", "-", "*"):
            return self.check_arithmetic(e, caps)
        if e.op == "in":
            return self.check_in(e, caps)
        raise TypeError(f"not a core binary operator: {e.op}")

    def check_arithmetic(self, e: A.BinaryOp, caps: frozenset) -> Answer:
        def help(t: Ty) -> str | None:
            if e.op == "+" and isinstance(t, StringT):
                return HELP["concat"]
            if isinstance(t, SetT):
                return HELP["set-ops"]
            return None

        left = self.expect(e.left, caps, (LONG,), help)
        return then(left, lambda t1, c1: then(self.expect(e.right, caps, (LONG,), help),
                                              lambda t2, c2: success(LONG)))

    def check_comparison(self, e: A.BinaryOp, caps: frozenset) -> Answer:
        def operands(t1: Ty | None, t2: Ty | None) -> Answer:
            if t1 is None or t2 is None:
                return fail(BOOL)
            mismatch: list[tuple[A.Expr, tuple[Ty, ...], Ty]] = []
            if isinstance(t1, NeverT) and isinstance(t2, NeverT):
                return fail(BOOL)
            if isinstance(t1, NeverT) or isinstance(t2, NeverT):
                other, where = (t2, e.right) if isinstance(t1, NeverT) else (t1, e.left)
                if not _is_comparable(other):
                    mismatch.append((where, COMPARISON_TYPES, other))
            elif t1 == t2 and _is_comparable(t1):
                pass
            elif isinstance(t1, LongT):
                mismatch.append((e.right, (LONG,), t2))
            elif isinstance(t2, LongT):
                mismatch.append((e.left, (LONG,), t1))
            elif _is_comparable(t1):
                mismatch.append((e.right, (t1,), t2))
            elif _is_comparable(t2):
                mismatch.append((e.left, (t2,), t1))
            else:
                mismatch.append((e.left, COMPARISON_TYPES, t1))
                mismatch.append((e.right, COMPARISON_TYPES, t2))
            for where, expected, actual in mismatch:
                self.error(where, f"unexpected type: expected {_show_type_list(expected)} but saw {actual}")
            return fail(BOOL) if mismatch else success(BOOL)

        return then(self.check(e.left, caps),
                    lambda t1, c1: then(self.check(e.right, caps), lambda t2, c2: operands(t1, t2)))

    def check_equality(self, e: A.BinaryOp, caps: frozenset) -> Answer:
        lhs, rhs = self.check(e.left, caps), self.check(e.right, caps)

        def decide(t1: Ty | None, t2: Ty | None) -> Answer:
            if t1 is not None and t2 is not None and _disjoint(t1, t2):
                result = FALSE
            else:
                k1, k2 = _lit_key(self.action_as_literal(e.left)), _lit_key(self.action_as_literal(e.right))
                result = BoolT(k1 == k2) if k1 is not None and k2 is not None else BOOL
            return self.strict_equality(e, result, t1, t2, "==")

        return then(lhs, lambda t1, c1: then(rhs, lambda t2, c2: decide(t1, t2)))

    def strict_equality(self, e: A.Expr, result: Ty, t1: Ty | None, t2: Ty | None,
                        context: str) -> Answer:
        """Strict mode: operands compared for equality must have a least
        upper bound, unless the comparison is decided anyway."""
        if result in (TRUE, FALSE) or t1 is None or t2 is None:
            return success(result)
        if self.lub_or_error(e, [t1, t2], context) is None:
            return fail(result)
        return success(result)

    def action_as_literal(self, e: A.Expr) -> A.Expr:
        """The `action` variable stands for the environment's action literal."""
        if isinstance(e, A.Var) and e.name == "action":
            return A.EntityLit(self.env.action, span=e.span)
        return e

    # ---- hierarchy -----------------------------------------------------------------

    def check_in(self, e: A.BinaryOp, caps: frozenset) -> Answer:
        lhs = self.expect(e.left, caps, (ANY_ENTITY,), lambda t: HELP["contains"])
        rhs = self.expect(e.right, caps, (SetT(ANY_ENTITY), ANY_ENTITY), _set_or_string_help)
        if not (lhs.ok and rhs.ok):
            return fail(BOOL)
        lhs_uid = self.euid_of(e.left)
        rhs_uids = self.euids_of(e.right)
        if lhs_uid is not None and rhs_uids is not None and is_action_type(lhs_uid.type):
            return self.action_in_literals(lhs_uid, rhs_uids)
        lhs_names = lhs.ty.names if isinstance(lhs.ty, EntityT) else None
        rt = rhs.ty.elem if isinstance(rhs.ty, SetT) else rhs.ty
        rhs_names = rt.names if isinstance(rt, EntityT) else None
        if lhs_names is not None and rhs_names is not None and not any(
                left in self.view.types_in(right) or self.view.action_in_type(left, right)
                for left in lhs_names for right in rhs_names):
            return success(FALSE)
        return success(BOOL)

    def action_in_literals(self, lhs: EntityUID, rhs: list[EntityUID]) -> Answer:
        """`Action::"a" in [..literals..]` is decided by the action groups."""
        rhs_actions = [u for u in rhs if is_action_type(u.type)]
        if not rhs_actions:
            return success(FALSE)  # an action is never in a non-action
        members = self.view.actions_in(rhs_actions)
        if members is None:
            return fail(BOOL)  # an undeclared action, reported once per policy
        return success(BoolT(lhs in members))

    def euid_of(self, e: A.Expr) -> EntityUID | None:
        e = self.action_as_literal(e)
        return e.uid if isinstance(e, A.EntityLit) else None

    def euids_of(self, e: A.Expr) -> list[EntityUID] | None:
        one = self.euid_of(e)
        if one is not None:
            return [one]
        if isinstance(e, A.SetLit):
            uids = [self.euid_of(x) for x in e.elems]
            if all(u is not None for u in uids):
                return uids  # type: ignore[return-value]
        return None

    def check_Is(self, e: A.Is, caps: frozenset) -> Answer:
        def test(t: Ty | None, _: frozenset) -> Answer:
            if isinstance(t, EntityT):
                if e.entity_type not in t.names:
                    return success(FALSE)
                return success(TRUE if t.names == {e.entity_type} else BOOL)
            if isinstance(t, AnyEntityT):
                return success(BOOL)
            return fail(BOOL)

        return then(self.expect(e.expr, caps, (ANY_ENTITY,), lambda t: HELP["type-test"]), test)

    # ---- records and attributes -------------------------------------------------------

    def check_GetAttr(self, e: A.GetAttr, caps: frozenset) -> Answer:
        def access(t: Ty | None, _: frozenset) -> Answer:
            if t is None:
                return fail(None)
            attr = self.view.attr_of(t, e.attr)
            if attr is not None:
                if attr.required or ("attr", e.expr, e.attr) in caps:
                    return success(attr.type)
                guard = self.suggested_guard(e.expr, e.attr)
                self.error(e, f"unable to guarantee safety of access to optional attribute "
                              f"{self.describe_access(e.expr, t, e.attr)}",
                           f"try testing for the attribute's presence with `{guard} && ..`")
                return fail(attr.type)
            self.error(e, f"attribute {self.describe_access(e.expr, t, e.attr)} not found",
                       self.attr_suggestion(t, e.attr))
            return fail(None)

        return then(self.expect(e.expr, caps, (ANY_ENTITY, ANY_RECORD)), access)

    def attr_suggestion(self, t: Ty, attr: str) -> str | None:
        import difflib

        close = difflib.get_close_matches(attr, self.view.known_attrs(t), n=1)
        return f"did you mean `{close[0]}`?" if close else None

    def describe_access(self, obj: A.Expr, obj_type: Ty, attr: str) -> str:
        """Cedar's AttributeAccess: `a.b` on entity type `T`, or in context."""
        path = [attr]
        t: Ty | None = obj_type
        while True:
            if isinstance(t, EntityT):
                names = ", ".join(f"`{n}`" for n in sorted(t.names))
                kind = "entity type" if len(t.names) == 1 else "entity types"
                return f"`{'.'.join(reversed(path))}` on {kind} {names}"
            if isinstance(obj, A.Var) and obj.name == "context":
                return f"`{'.'.join(reversed(path))}` in context for {self.env.action}"
            if isinstance(obj, A.GetAttr):
                path.append(obj.attr)
                obj = obj.expr
                t = self.types.get(id(obj))
                continue
            return f"`{'.'.join(reversed(path))}`"

    def suggested_guard(self, obj: A.Expr, attr: str) -> str:
        prefix: list[str] = []
        while isinstance(obj, A.GetAttr) and not isinstance(self.types.get(id(obj)), EntityT):
            prefix.append(obj.attr)
            obj = obj.expr
        base = "context" if isinstance(obj, A.Var) and obj.name == "context" else "e"
        return ".".join([base, *reversed(prefix)]) + f" has {attr}"

    def check_Has(self, e: A.Has, caps: frozenset) -> Answer:
        (attr_name,) = e.attrs  # core() splits attribute paths
        key = ("attr", e.expr, attr_name)

        def test(t: Ty | None, _: frozenset) -> Answer:
            if t is None:
                return fail(BOOL)
            attr = self.view.attr_of(t, attr_name)
            if attr is not None:
                # An entity may be missing from the store, so `has` on a
                # required entity attribute is not known to be true.
                known = key in caps or (attr.required and isinstance(t, RecordT))
                return success(TRUE if known else BOOL, frozenset([key]))
            return success(BOOL if self.view.may_have_attr(t, attr_name) else FALSE)

        return then(self.expect(e.expr, caps, (ANY_ENTITY, ANY_RECORD), _set_or_string_help), test)

    def check_Like(self, e: A.Like, caps: frozenset) -> Answer:
        def help(t: Ty) -> str | None:
            return HELP["is"] if isinstance(t, (EntityT, AnyEntityT)) else None

        return then(self.expect(e.expr, caps, (STRING,), help), lambda t, c: success(BOOL))

    def check_SetLit(self, e: A.SetLit, caps: frozenset) -> Answer:
        elems = [self.check(x, caps) for x in e.elems]

        def build(types: list[Ty | None]) -> Answer:
            lub = self.lub_or_error(e, types, "set")
            if not e.elems:
                self.error(e, "empty set literals are forbidden in policies")
                return fail(None)
            return success(SetT(lub)) if lub is not None else fail(None)

        return then_all(elems, build)

    def check_RecordLit(self, e: A.RecordLit, caps: frozenset) -> Answer:
        values = [self.check(v, caps) for _, v in e.fields]

        def build(types: list[Ty | None]) -> Answer:
            if any(t is None for t in types):
                return fail(None)
            return success(_record({k: AttrT(t) for (k, _), t in zip(e.fields, types, strict=False)}))

        return then_all(values, build)

    # ---- methods -------------------------------------------------------------------------

    def check_MethodCall(self, e: A.MethodCall, caps: frozenset) -> Answer:
        arity = {"isEmpty": 0}.get(e.name, 1)
        if len(e.args) != arity:
            self.error(e, f"wrong number of arguments to `{e.name}`. Expected {arity}, got {len(e.args)}")
            for x in (e.receiver, *e.args):
                self.check(x, caps)
            return fail(None)
        return getattr(self, "method_" + e.name)(e, caps)

    def method_isEmpty(self, e: A.MethodCall, caps: frozenset) -> Answer:
        def help(t: Ty) -> str | None:
            return HELP["empty-string"] if isinstance(t, StringT) else None

        return then(self.expect(e.receiver, caps, (ANY_SET,), help), lambda t, c: success(BOOL))

    def method_contains(self, e: A.MethodCall, caps: frozenset) -> Answer:
        (arg,) = e.args

        def compare(ts: Ty | None, _: frozenset) -> Answer:
            def elem(t: Ty | None, _c: frozenset) -> Answer:
                elem_type = ts.elem if isinstance(ts, SetT) else None
                return self.strict_equality(e, BOOL, elem_type, t, "contains")
            return then(self.check(arg, caps), elem)

        return then(self.expect(e.receiver, caps, (ANY_SET,), _collection_help), compare)

    def method_containsAll(self, e: A.MethodCall, caps: frozenset) -> Answer:
        (arg,) = e.args

        def compare(t1: Ty | None, _: frozenset) -> Answer:
            return then(self.expect(arg, caps, (ANY_SET,), lambda t: HELP["single-contains"]),
                        lambda t2, _c: self.strict_equality(e, BOOL, t1, t2, "containsAnyAll"))

        return then(self.expect(e.receiver, caps, (ANY_SET,), _collection_help), compare)

    method_containsAny = method_containsAll

    def check_tag_operands(self, e: A.MethodCall, caps: frozenset,
                           f: Callable[[Ty], Answer]) -> Answer:
        (tag,) = e.args

        def entity(t: Ty | None, _: frozenset) -> Answer:
            return then(self.expect(tag, caps, (STRING,)),
                        lambda _t, _c: f(t) if isinstance(t, (EntityT, AnyEntityT)) else fail(None))

        return then(self.expect(e.receiver, caps, (ANY_ENTITY,)), entity)

    def method_hasTag(self, e: A.MethodCall, caps: frozenset) -> Answer:
        key = ("tag", e.receiver, e.args[0])

        def test(t: Ty) -> Answer:
            if not self.view.tag_types(t):
                return success(FALSE, frozenset([key]))
            return success(TRUE if key in caps else BOOL, frozenset([key]))

        return self.check_tag_operands(e, caps, test)

    def method_getTag(self, e: A.MethodCall, caps: frozenset) -> Answer:
        key = ("tag", e.receiver, e.args[0])

        def access(t: Ty) -> Answer:
            single = next(iter(t.names)) if isinstance(t, EntityT) and len(t.names) == 1 else None
            if key not in caps:
                where = f" on entity type `{single}`" if single else ""
                self.error(e, f"unable to guarantee safety of access to tag {self.show_tag(e.args[0])}{where}",
                           "try testing for the tag's presence with `.hasTag(..) && ..`")
                return fail(None)
            tag_types = self.view.tag_types(t)
            if not tag_types:
                what = f"type `{single}`" if single else "this type"
                self.error(e, f"`.getTag()` is not allowed on entities of {what} because no `tags` "
                              "were declared on the entity type in the schema")
                return fail(None)
            lub = self.lub_or_error(e, list(tag_types), "getTag")
            return success(lub) if lub is not None else fail(None)

        return self.check_tag_operands(e, caps, access)

    @staticmethod
    def show_tag(tag: A.Expr) -> str:
        if isinstance(tag, A.Lit) and isinstance(tag.value, str):
            return f'`"{escape_string(tag.value)}"`'
        return "given by a non-literal expression"

    # ---- extension functions ---------------------------------------------------------------

    def check_ExtFun(self, e: A.ExtFun, caps: frozenset) -> Answer:
        fn = EXTENSION_FUNCTIONS.get(e.name)
        if fn is None:
            self.error(e, f"undefined extension function: {e.name}")
            for a in e.args:
                self.check(a, caps)
            return fail(None)
        failed = False
        if len(e.args) != len(fn.args):
            self.error(e, "wrong number of arguments in extension function application. "
                          f"Expected {len(fn.args)}, got {len(e.args)}")
            failed = True
        problem = fn.check_argument(e.args)
        if problem is not None:
            self.error(e, f"error during extension function argument validation: {problem}")
            failed = True
        if fn.parse is not None and not all(isinstance(a, (A.Lit, A.EntityLit)) for a in e.args):
            # Strict mode: constructors take literals, so they are checked here.
            self.error(e, "extension constructors may not be called with non-literal expressions",
                       "consider applying extension constructors inside attribute values when "
                       "constructing entity or context data")
            failed = True
        if failed:
            for a in e.args:
                self.check(a, caps)
            return fail(fn.result)
        args = [self.expect(a, caps, (t,)) for a, t in zip(e.args, fn.args, strict=False)]
        return then_all(args, lambda _types: success(fn.result))


# --------------------------------------------------------------------------
# Per-policy checks: declared names and applicable actions.


def _policy_exprs(policy: A.Policy) -> Iterable[A.Expr]:
    for c in policy.conditions:
        yield from _walk(c.body)


def _walk(e: A.Expr) -> Iterable[A.Expr]:
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        for name in ("arg", "left", "right", "cond", "then_", "else_", "expr", "receiver", "in_expr"):
            child = getattr(x, name, None)
            if child is not None and not isinstance(child, str):
                stack.append(child)
        if isinstance(x, (A.SetLit,)):
            stack.extend(x.elems)
        elif isinstance(x, A.RecordLit):
            stack.extend(v for _, v in x.fields)
        elif isinstance(x, (A.MethodCall, A.ExtFun)):
            stack.extend(x.args)


def _scope_uids(policy: A.Policy) -> list[tuple[EntityUID, A.Scope]]:
    found = []
    for scope in (policy.principal, policy.action, policy.resource):
        for t in (getattr(scope, "target", None), getattr(scope, "in_target", None)):
            if isinstance(t, EntityUID):
                found.append((t, scope))
        if isinstance(scope, A.ActionInSet):
            found.extend((t, scope) for t in scope.targets)
    return found


def _entity_uids(policy: A.Policy) -> list[tuple[EntityUID, object]]:
    """Every entity literal in the policy, with the node that locates it."""
    found: list[tuple[EntityUID, object]] = list(_scope_uids(policy))
    found += [(x.uid, x) for x in _policy_exprs(policy) if isinstance(x, A.EntityLit)]
    return found


def _entity_type_names(policy: A.Policy) -> list[tuple[str, object]]:
    """Every entity type the policy names: in literals and `is` tests."""
    found = [(uid.type, where) for uid, where in _entity_uids(policy)]
    for scope in (policy.principal, policy.resource):
        if isinstance(scope, A.ScopeIs):
            found.append((scope.entity_type, scope))
    found += [(x.entity_type, x) for x in _policy_exprs(policy) if isinstance(x, A.Is)]
    return found


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return close[0] if close else None


def _declared_names(view: SchemaView, pid: str, policy: A.Policy) -> list[tuple[object, str]]:
    """Undeclared entity types and actions, and undeclared enum ids."""
    out: list[tuple[object, str]] = []
    for name, where in _entity_type_names(policy):
        if not view.is_known_entity_type(name):
            msg = f"for policy `{pid}`, unrecognized entity type `{name}`"
            hint = _suggest(name, view.entity_types)
            out.append((where, msg + (f" (did you mean `{hint}`?)" if hint else "")))
    for uid, where in _entity_uids(policy):
        if is_action_type(uid.type):
            if uid not in view.actions:
                msg = f"for policy `{pid}`, unrecognized action `{uid}`"
                hint = _suggest(str(uid), (str(a) for a in view.actions))
                out.append((where, msg + (f" (did you mean `{hint}`?)" if hint else "")))
            continue
        et = view.entity_types.get(uid.type)
        if et is not None and et.enum is not None and uid.id not in et.enum:
            out.append((where, f"for policy `{pid}`: entity `{uid}` is of an enumerated entity type, "
                               f'but `"{escape_string(uid.id)}"` is not declared as a valid eid'))
    return out


def _scope_types(view: SchemaView, scope: A.Scope) -> frozenset[str] | None:
    """Entity types a principal/resource scope admits (None: any type)."""
    if isinstance(scope, A.ScopeAny):
        return None
    if isinstance(scope, (A.ScopeEq, A.ScopeIn)):
        if isinstance(scope.target, A.Slot):
            return None
        if isinstance(scope, A.ScopeEq):
            return frozenset([scope.target.type])
        return view.types_in(scope.target.type)
    if isinstance(scope, A.ScopeIs):
        if not view.is_known_entity_type(scope.entity_type):
            return frozenset()
        if isinstance(scope.in_target, EntityUID):
            return view.types_in(scope.in_target.type) & {scope.entity_type}
        return frozenset([scope.entity_type])
    raise TypeError(f"not a principal/resource scope: {scope!r}")


def _scope_actions(view: SchemaView, scope: A.Scope) -> list[EntityUID]:
    if isinstance(scope, A.ScopeAny):
        return sorted(view.actions)
    if isinstance(scope, A.ScopeEq):
        return [scope.target]
    targets = [scope.target] if isinstance(scope, A.ScopeIn) else list(scope.targets)
    return sorted(view.actions_in(targets) or ())


def _action_applies(view: SchemaView, pid: str, policy: A.Policy) -> str | None:
    """Cedar's "invalid action application": no action the scope admits
    applies to a principal and a resource type the scope admits."""
    principals = _scope_types(view, policy.principal)
    resources = _scope_types(view, policy.resource)

    def fits(admitted: frozenset[str] | None, declared: tuple[str, ...]) -> bool:
        return bool(declared) if admitted is None else not admitted.isdisjoint(declared)

    for uid in _scope_actions(view, policy.action):
        act = view.actions.get(uid)
        if act is not None and fits(principals, act.principal_types) and fits(resources, act.resource_types):
            return None
    msg = f"for policy `{pid}`, unable to find an applicable action given the policy scope constraints"
    fixes = [part for part, scope in (("principal", policy.principal), ("resource", policy.resource))
             if _in_would_fix(view, scope, part, policy.action)]
    if fixes:
        msg += f" (try replacing `==` with `in` in the {' clause and the '.join(fixes)} clause)"
    return msg


def _in_would_fix(view: SchemaView, scope: A.Scope, var: str, action_scope: A.Scope) -> bool:
    """`var == T::"x"` where no applicable action takes a T, but one takes a
    type whose entities may be in a T: `in` was probably meant."""
    if not (isinstance(scope, A.ScopeEq) and isinstance(scope.target, EntityUID)):
        return False
    ty = scope.target.type
    acts = [view.actions[u] for u in _scope_actions(view, action_scope) if u in view.actions]
    applicable = {t for a in acts for t in (a.principal_types if var == "principal" else a.resource_types)}
    return ty not in applicable and bool(applicable & view.descendants.get(ty, frozenset()))


# --------------------------------------------------------------------------
# Environments for one policy: a template is checked with each entity type
# its slots could be linked to.


def _slot_types(view: SchemaView, scope: A.Scope, var_type: str) -> list[str | None]:
    target = getattr(scope, "target", None) or getattr(scope, "in_target", None)
    if not isinstance(target, A.Slot):
        return [None]
    if isinstance(scope, A.ScopeEq):
        return [var_type]
    if isinstance(scope, (A.ScopeIn, A.ScopeIs)):
        return sorted(n for n in view.entity_types if var_type in view.descendants[n]) + [var_type]
    return sorted(view.entity_types)


def _linked_envs(view: SchemaView, policy: A.Policy) -> Iterable[Env]:
    for env in view.envs:
        for p in _slot_types(view, policy.principal, env.principal):
            for r in _slot_types(view, policy.resource, env.resource):
                yield Env(env.principal, env.action, env.resource, env.context, p, r)


@dataclass
class PolicyReport:
    """What validating one policy found: located errors, and whether the
    policy is impossible (false in every request environment)."""

    errors: list[tuple[object, str]] = field(default_factory=list)
    impossible: bool = False


def check_policy(view: SchemaView, pid: str, policy: A.Policy) -> PolicyReport:
    report = PolicyReport(errors=_declared_names(view, pid, policy))
    inapplicable = _action_applies(view, pid, policy)
    if inapplicable is not None:
        report.errors.append((policy, inapplicable))
    condition = policy_condition(policy)
    all_false = True
    for env in _linked_envs(view, policy):
        checker = Checker(view, env, pid)
        ans = checker.expect(condition, NO_CAPS, (BOOL,))
        if ans.ty != FALSE:
            all_false = False
        report.errors.extend(checker.errors)
    report.impossible = all_false
    return report


# --------------------------------------------------------------------------
# The public API.


class _Locator:
    """Turns the node an error is about into a file:line:col (and, when the
    source text is known, the line itself for the caret display)."""

    def __init__(self, sources: Mapping[str, str] | None):
        self.sources = sources or {}

    def __call__(self, where: object, message: str, fallback: A.Span | None,
                 severity: str = "error") -> Diagnostic:
        span = getattr(where, "span", None) or fallback
        if span is None:
            return Diagnostic(message, "<policy>", severity=severity)
        text = self.sources.get(span.file)
        line = source_line(text, span.line) if text is not None else None
        return Diagnostic(message, span.file, span.line, span.column, source_line=line, severity=severity)


def validate(policyset: A.PolicySet, schema: S.Schema, *, warnings: bool = False,
             sources: Mapping[str, str] | None = None) -> list[Diagnostic]:
    """Cedar's strict validation of every policy, template and template
    link in `policyset` against `schema`.  An empty list means valid.

    With `warnings=True`, Cedar's warnings are included too (severity
    "warning"; they do not make a policy set invalid): a policy that is
    impossible, i.e. false in every request environment the schema allows.
    `sources` maps file names (as in the spans) to their text, to show the
    offending line under each diagnostic.
    """
    view = SchemaView(schema)
    locate = _Locator(sources)
    out: list[Diagnostic] = []
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20000))
    try:
        for pid, policy in policyset.policies:
            out.extend(_validate_policy(view, pid, policy, warnings, locate))
        for link in policyset.links:
            out.extend(_validate_link(view, policyset, link, locate))
    finally:
        sys.setrecursionlimit(limit)
    return out


def _validate_policy(view: SchemaView, pid: str, policy: A.Policy, warnings: bool,
                     locate: _Locator) -> list[Diagnostic]:
    try:
        report = check_policy(view, pid, policy)
    except RecursionError:
        return [locate(policy, f"for policy `{pid}`, the policy is nested too deeply to validate",
                            policy.span)]
    found: dict[tuple, Diagnostic] = {}
    for where, message in report.errors:
        d = locate(where, message, policy.span)
        found.setdefault((d.file, d.line or 0, d.column or 0, d.message), d)
    out = [found[k] for k in sorted(found)]
    if warnings and report.impossible:
        out.append(locate(policy, f"for policy `{pid}`, policy is impossible: the policy "
                                       "expression evaluates to false for all valid requests",
                               policy.span, "warning"))
    return out


def _validate_link(view: SchemaView, policyset: A.PolicySet, link: A.TemplateLink,
                   locate: _Locator) -> list[Diagnostic]:
    template = policyset.get(link.template_id)
    if template is None:
        return [Diagnostic(f"for policy `{link.link_id}`, template `{link.template_id}` not found")]
    out = []
    for _slot, uid in link.values:
        if not view.is_known_entity_type(uid.type):
            hint = _suggest(uid.type, view.entity_types)
            out.append(locate(template, f"for policy `{link.link_id}`, unrecognized entity type "
                                             f"`{uid.type}`" + (f" (did you mean `{hint}`?)" if hint else ""),
                                   template.span))
    linked = _fill_slots(template, dict(link.values))
    inapplicable = _action_applies(view, link.link_id, linked)
    if inapplicable is not None:
        out.append(locate(template, inapplicable, template.span))
    return out


def _fill_slots(policy: A.Policy, values: dict[str, EntityUID]) -> A.Policy:
    def fill(scope: A.Scope) -> A.Scope:
        if isinstance(scope, (A.ScopeEq, A.ScopeIn)) and isinstance(scope.target, A.Slot):
            return type(scope)(values.get(scope.target.name, scope.target), span=scope.span)
        if isinstance(scope, A.ScopeIs) and isinstance(scope.in_target, A.Slot):
            return A.ScopeIs(scope.entity_type, values.get(scope.in_target.name, scope.in_target),
                             span=scope.span)
        return scope

    return A.Policy(policy.effect, fill(policy.principal), policy.action, fill(policy.resource),
                    policy.conditions, policy.annotations, span=policy.span)


_last_view: SchemaView | None = None


def type_of(expr: A.Expr, schema: S.Schema, env: S.RequestEnv,
            slots: dict[str, str] | None = None) -> S.CedarType | None:
    """The type Cedar's typechecker infers for `expr` in `env`, as a schema
    type.  No `has` guards are assumed, but the type survives an unguarded
    access (`principal.age` is Long even where `age` is optional); None when
    there is none (an undeclared attribute, an unguarded tag, a type error)
    or it has no schema counterpart.  `slots` maps "?principal"/"?resource"
    to entity type names for templates.  Singleton booleans are Bool."""
    global _last_view
    if _last_view is None or _last_view.schema is not schema:
        _last_view = SchemaView(schema)
    view = _last_view
    context = _from_schema_record(schema.actions[env.action].context) if env.action in schema.actions else RecordT()
    slots = slots or {}
    e = Env(env.principal_type, env.action, env.resource_type, context,
            slots.get("?principal"), slots.get("?resource"))
    return _to_schema_type(Checker(view, e, "<expr>").check(core(expr), NO_CAPS).ty)
