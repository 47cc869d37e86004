"""Cedar's concrete semantics: an expression, a request and an entity store
give a value or an error.

This is the oracle every counterexample is replayed through, so it follows
the official engine exactly, errors included: an error makes the policy it
occurs in not apply (see `lang.authorizer`).  One small function per
construct; `_eval` dispatches on the node's class through a table built once.

Values are those of `lang.values`: bool, int (Long), str, EntityUID,
CedarSet, CedarRecord, Decimal, IPAddr, Datetime, Duration.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from cedarscope.lang import ast
from cedarscope.lang.entities import Entities
from cedarscope.lang.ext import ExtensionValue
from cedarscope.lang.request import Request
from cedarscope.lang.values import (
    LONG_MAX,
    LONG_MIN,
    CedarRecord,
    CedarSet,
    Datetime,
    Decimal,
    Duration,
    EntityUID,
    IPAddr,
)

# --------------------------------------------------------------------------
# Errors

# Kinds, named after the official engine's evaluation errors.
TYPE_ERROR = "type-error"
ENTITY_DOES_NOT_EXIST = "entity-does-not-exist"
ENTITY_ATTR_DOES_NOT_EXIST = "entity-attr-does-not-exist"
ENTITY_TAG_DOES_NOT_EXIST = "entity-tag-does-not-exist"
RECORD_ATTR_DOES_NOT_EXIST = "record-attr-does-not-exist"
INTEGER_OVERFLOW = "integer-overflow"
EXTENSION_ERROR = "extension-error"
UNKNOWN_FUNCTION = "unknown-function"
WRONG_NUM_ARGUMENTS = "wrong-num-arguments"
UNLINKED_SLOT = "unlinked-slot"


class EvalError(Exception):
    """Evaluation failed the way Cedar's evaluation fails; `kind` is one of
    the slugs above, the message reads like Cedar's."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


def _type_name(v: Any) -> str:
    """Cedar's (lower-case) name for a value's type in error messages."""
    t = type(v)
    if t is bool:
        return "bool"
    if t is int:
        return "long"
    if t is str:
        return "string"
    if t is EntityUID:
        return f"(entity of type `{v.type}`)"
    if t is CedarSet:
        return "set"
    if t is CedarRecord:
        return "record"
    return getattr(v, "CEDAR_TYPE", t.__name__)


def _type_error(expected: str, got: Any) -> EvalError:
    return EvalError(TYPE_ERROR, f"type error: expected {expected}, got {_type_name(got)}")


# Typed views of a value: each returns it or raises Cedar's type error.


def _as_bool(v: Any) -> bool:
    if type(v) is not bool:
        raise _type_error("bool", v)
    return v


def _as_long(v: Any) -> int:
    if type(v) is not int:
        raise _type_error("long", v)
    return v


def _as_string(v: Any) -> str:
    if type(v) is not str:
        raise _type_error("string", v)
    return v


def _as_entity(v: Any) -> EntityUID:
    if type(v) is not EntityUID:
        raise _type_error("entity", v)
    return v


def _as_set(v: Any) -> CedarSet:
    if type(v) is not CedarSet:
        raise _type_error("set", v)
    return v


def _as_extension(cls: type[ExtensionValue], v: Any) -> Any:
    if type(v) is not cls:
        if type(v) is str:
            raise EvalError(TYPE_ERROR, f"type error: expected {cls.CEDAR_TYPE}, got string "
                                        f"(maybe you forgot to apply the `{cls.EXT_FUNCTION}` constructor?)")
        raise _type_error(cls.CEDAR_TYPE, v)
    return v


def _checked_long(n: int, verb: str, operands: str) -> int:
    if not LONG_MIN <= n <= LONG_MAX:
        raise EvalError(INTEGER_OVERFLOW, f"integer overflow while attempting to {verb} {operands}")
    return n


# --------------------------------------------------------------------------
# The evaluation environment


class _Env:
    """What an expression is evaluated against."""

    __slots__ = ("request", "entities")

    def __init__(self, request: Request, entities: Entities):
        self.request = request
        self.entities = entities


def evaluate(expr: ast.Expr, request: Request, entities: Entities) -> Any:
    """The value of `expr`, or EvalError."""
    return _eval(expr, _Env(request, entities))


def _eval(e: ast.Expr, env: _Env) -> Any:
    return _EVAL[e.__class__](e, env)


# --------------------------------------------------------------------------
# Entities and the hierarchy


def entity_in(uid: EntityUID, target: EntityUID, entities: Entities) -> bool:
    """``uid in target``: reflexive, and transitive over the parents of the
    entities in the store (an entity missing from the store is in only itself)."""
    return uid == target or target in entities.ancestors(uid)


def _entity_data(uid: EntityUID, env: _Env):
    entity = env.entities.get(uid)
    if entity is None:
        raise EvalError(ENTITY_DOES_NOT_EXIST, f"entity `{uid}` does not exist")
    return entity


# --------------------------------------------------------------------------
# Leaves


def lit(e: ast.Lit, env: _Env) -> Any:
    return e.value


def entity_lit(e: ast.EntityLit, env: _Env) -> EntityUID:
    return e.uid


def var(e: ast.Var, env: _Env) -> Any:
    return getattr(env.request, e.name)


def unlinked(slot: ast.Slot) -> EvalError:
    """A template is never evaluated, only its links (lang.template), so a
    slot met during evaluation was not linked."""
    return EvalError(UNLINKED_SLOT, f"template slot `{slot.name}` was not linked")


def slot(e: ast.Slot, env: _Env) -> EntityUID:
    raise unlinked(e)


# --------------------------------------------------------------------------
# Boolean connectives (`&&` and `||` short-circuit; operands must be Bool)


def not_(e: ast.Not, env: _Env) -> bool:
    return not _as_bool(_eval(e.arg, env))


def and_(e: ast.And, env: _Env) -> bool:
    return _as_bool(_eval(e.left, env)) and _as_bool(_eval(e.right, env))


def or_(e: ast.Or, env: _Env) -> bool:
    return _as_bool(_eval(e.left, env)) or _as_bool(_eval(e.right, env))


def if_(e: ast.If, env: _Env) -> Any:
    return _eval(e.then_ if _as_bool(_eval(e.cond, env)) else e.else_, env)


# --------------------------------------------------------------------------
# Arithmetic on Long (signed 64-bit, errors on overflow)


def neg(e: ast.Neg, env: _Env) -> int:
    n = _as_long(_eval(e.arg, env))
    return _checked_long(-n, "negate", f"the value `{n}`")


def _add(a: Any, b: Any) -> int:
    x, y = _as_long(a), _as_long(b)
    return _checked_long(x + y, "add", f"the values `{x}` and `{y}`")


def _sub(a: Any, b: Any) -> int:
    x, y = _as_long(a), _as_long(b)
    return _checked_long(x - y, "subtract", f"the values `{x}` and `{y}`")


def _mul(a: Any, b: Any) -> int:
    x, y = _as_long(a), _as_long(b)
    return _checked_long(x * y, "multiply", f"the values `{x}` and `{y}`")


# --------------------------------------------------------------------------
# Comparison


def values_equal(a: Any, b: Any) -> bool:
    """Cedar's ``==``: never an error; values of different types are unequal.
    Every Cedar type is its own Python class, and each class's ``==`` is
    Cedar's equality on it (bool is not int here: ``true != 1``)."""
    return type(a) is type(b) and a == b


def _eq(a: Any, b: Any) -> bool:
    return values_equal(a, b)


def _ne(a: Any, b: Any) -> bool:
    return not values_equal(a, b)


def _ordered_operands(a: Any, b: Any) -> tuple[Any, Any]:
    """`<` and friends take two Longs, two datetimes or two durations."""
    ta = type(a)
    if ta is int:
        return a, _as_long(b)
    if ta is Datetime or ta is Duration:
        return a.ms, _as_extension(ta, b).ms
    raise _type_error("one of [long, datetime, duration]", a)


def _lt(a: Any, b: Any) -> bool:
    x, y = _ordered_operands(a, b)
    return x < y


def _le(a: Any, b: Any) -> bool:
    x, y = _ordered_operands(a, b)
    return x <= y


def _gt(a: Any, b: Any) -> bool:
    x, y = _ordered_operands(a, b)
    return x > y


def _ge(a: Any, b: Any) -> bool:
    x, y = _ordered_operands(a, b)
    return x >= y


# --------------------------------------------------------------------------
# Hierarchy membership: `in` with an entity or a set of entities on the right


def in_(a: Any, b: Any, env: _Env) -> bool:
    uid = _as_entity(a)
    if type(b) is EntityUID:
        return entity_in(uid, b, env.entities)
    if type(b) is CedarSet:
        # Every element must be an entity, even after a match.
        targets = [_as_entity(t) for t in b]
        return any(entity_in(uid, t, env.entities) for t in targets)
    raise _type_error("one of [set, entity]", b)


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "==": _eq, "!=": _ne, "<": _lt, "<=": _le, ">": _gt, ">=": _ge,
    "+": _add, "-": _sub, "*": _mul,
}


def binary(e: ast.BinaryOp, env: _Env) -> Any:
    left = _eval(e.left, env)
    right = _eval(e.right, env)
    if e.op == "in":
        return in_(left, right, env)
    return _BINARY[e.op](left, right)


# --------------------------------------------------------------------------
# Attributes


def attr_of(v: Any, attr: str, env: _Env) -> Any:
    """``v.attr`` on a record or an entity (whose data must be in the store)."""
    if type(v) is CedarRecord:
        try:
            return v[attr]
        except KeyError:
            raise EvalError(RECORD_ATTR_DOES_NOT_EXIST,
                            f"record does not have the attribute `{attr}`") from None
    if type(v) is EntityUID:
        attrs = _entity_data(v, env).attrs
        try:
            return attrs[attr]
        except KeyError:
            raise EvalError(ENTITY_ATTR_DOES_NOT_EXIST,
                            f"`{v}` does not have the attribute `{attr}`") from None
    raise _type_error("one of [record, entity]", v)


def has_one(v: Any, attr: str, env: _Env) -> bool:
    """``v has attr``: an entity missing from the store has no attributes."""
    if type(v) is CedarRecord:
        return attr in v
    if type(v) is EntityUID:
        entity = env.entities.get(v)
        return entity is not None and attr in entity.attrs
    raise _type_error("one of [record, entity]", v)


def get_attr(e: ast.GetAttr, env: _Env) -> Any:
    return attr_of(_eval(e.expr, env), e.attr, env)


def has(e: ast.Has, env: _Env) -> bool:
    """``e has a.b.c`` means ``e has a && e.a has b && e.a.b has c``."""
    v = _eval(e.expr, env)
    *prefix, last = e.attrs
    for attr in prefix:
        if not has_one(v, attr, env):
            return False
        v = attr_of(v, attr, env)
    return has_one(v, last, env)


# --------------------------------------------------------------------------
# `like`: `*` matches any run of characters; an escaped `\*` is in the text.

_LIKE_CACHE: dict[tuple, re.Pattern] = {}


def like_regex(pattern: tuple) -> re.Pattern:
    compiled = _LIKE_CACHE.get(pattern)
    if compiled is None:
        text = "".join(".*" if part is ast.WILDCARD else re.escape(part) for part in pattern)
        compiled = _LIKE_CACHE[pattern] = re.compile(text, re.DOTALL)
    return compiled


def like(e: ast.Like, env: _Env) -> bool:
    s = _as_string(_eval(e.expr, env))
    return like_regex(e.pattern).fullmatch(s) is not None


# --------------------------------------------------------------------------
# `is` and `is ... in`


def is_(e: ast.Is, env: _Env) -> bool:
    uid = _as_entity(_eval(e.expr, env))
    # `e is T in x` is `e is T && e in x`: `x` is evaluated only for a T.
    if uid.type != e.entity_type:
        return False
    if e.in_expr is None:
        return True
    return in_(uid, _eval(e.in_expr, env), env)


# --------------------------------------------------------------------------
# Set and record literals


def set_lit(e: ast.SetLit, env: _Env) -> CedarSet:
    return CedarSet([_eval(x, env) for x in e.elems])


def record_lit(e: ast.RecordLit, env: _Env) -> CedarRecord:
    return CedarRecord([(k, _eval(x, env)) for k, x in e.fields])


# --------------------------------------------------------------------------
# Methods of sets and entity tags


def contains(s: Any, v: Any, env: _Env) -> bool:
    return v in _as_set(s)


def contains_all(s: Any, t: Any, env: _Env) -> bool:
    return _as_set(t).issubset(_as_set(s))


def contains_any(s: Any, t: Any, env: _Env) -> bool:
    return _as_set(s).intersects(_as_set(t))


def is_empty(s: Any, env: _Env) -> bool:
    return len(_as_set(s)) == 0


def has_tag(v: Any, tag: Any, env: _Env) -> bool:
    uid, key = _as_entity(v), _as_string(tag)
    entity = env.entities.get(uid)
    return entity is not None and key in entity.tags


def get_tag(v: Any, tag: Any, env: _Env) -> Any:
    uid, key = _as_entity(v), _as_string(tag)
    tags = _entity_data(uid, env).tags
    try:
        return tags[key]
    except KeyError:
        raise EvalError(ENTITY_TAG_DOES_NOT_EXIST, f"`{uid}` does not have the tag `{key}`") from None


# name -> (number of arguments besides the receiver, implementation)
_CORE_METHODS: dict[str, tuple[int, Callable[..., Any]]] = {
    "contains": (1, contains),
    "containsAll": (1, contains_all),
    "containsAny": (1, contains_any),
    "isEmpty": (0, is_empty),
    "hasTag": (1, has_tag),
    "getTag": (1, get_tag),
}


# --------------------------------------------------------------------------
# Extension functions and methods


def _construct(cls: type[ExtensionValue]) -> Callable[[Any], Any]:
    def constructor(arg: Any) -> Any:
        text = _as_string(arg)
        try:
            return cls.parse(text)
        except ValueError as err:
            raise EvalError(EXTENSION_ERROR,
                            f"error while evaluating `{cls.EXT_FUNCTION}` extension function: {err}") from None
    return constructor


def _decimal_compare(test: Callable[[int, int], bool]) -> Callable[[Any, Any], bool]:
    def method(a: Any, b: Any) -> bool:
        return test(_as_extension(Decimal, a).value, _as_extension(Decimal, b).value)
    return method


def _ip_method(test: Callable[[IPAddr], bool]) -> Callable[[Any], bool]:
    def method(a: Any) -> bool:
        return test(_as_extension(IPAddr, a))
    return method


def _is_in_range(a: Any, b: Any) -> bool:
    return _as_extension(IPAddr, a).is_in_range(_as_extension(IPAddr, b))


def _datetime_op(name: str, op: Callable[..., Any], *arg_types: type) -> Callable[..., Any]:
    """A datetime/duration method whose arithmetic may overflow 64 bits."""
    def method(*args: Any) -> Any:
        typed = [_as_extension(t, a) for t, a in zip(arg_types, args, strict=False)]
        try:
            return op(*typed)
        except OverflowError as err:
            raise EvalError(EXTENSION_ERROR,
                            f"error while evaluating `{name}` extension function: {err}") from None
    return method


def _duration_method(op: Callable[[Duration], int]) -> Callable[[Any], int]:
    def method(a: Any) -> int:
        return op(_as_extension(Duration, a))
    return method


# name -> (number of arguments, receiver included for methods; implementation)
EXTENSION_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "decimal": (1, _construct(Decimal)),
    "ip": (1, _construct(IPAddr)),
    "datetime": (1, _construct(Datetime)),
    "duration": (1, _construct(Duration)),
}

EXTENSION_METHODS: dict[str, tuple[int, Callable[..., Any]]] = {
    "lessThan": (2, _decimal_compare(lambda a, b: a < b)),
    "lessThanOrEqual": (2, _decimal_compare(lambda a, b: a <= b)),
    "greaterThan": (2, _decimal_compare(lambda a, b: a > b)),
    "greaterThanOrEqual": (2, _decimal_compare(lambda a, b: a >= b)),
    "isIpv4": (1, _ip_method(IPAddr.is_ipv4)),
    "isIpv6": (1, _ip_method(IPAddr.is_ipv6)),
    "isLoopback": (1, _ip_method(IPAddr.is_loopback)),
    "isMulticast": (1, _ip_method(IPAddr.is_multicast)),
    "isInRange": (2, _is_in_range),
    "offset": (2, _datetime_op("offset", Datetime.offset, Datetime, Duration)),
    "durationSince": (2, _datetime_op("durationSince", Datetime.duration_since, Datetime, Datetime)),
    "toDate": (1, _datetime_op("toDate", Datetime.to_date, Datetime)),
    "toTime": (1, _datetime_op("toTime", Datetime.to_time, Datetime)),
    "toMilliseconds": (1, _duration_method(Duration.to_milliseconds)),
    "toSeconds": (1, _duration_method(Duration.to_seconds)),
    "toMinutes": (1, _duration_method(Duration.to_minutes)),
    "toHours": (1, _duration_method(Duration.to_hours)),
    "toDays": (1, _duration_method(Duration.to_days)),
}


def _check_arity(kind: str, name: str, expected: int, got: int) -> None:
    if expected != got:
        raise EvalError(WRONG_NUM_ARGUMENTS,
                        f"wrong number of arguments provided to {kind} `{name}`: expected {expected}, got {got}")


def method_call(e: ast.MethodCall, env: _Env) -> Any:
    receiver = _eval(e.receiver, env)
    args = [_eval(a, env) for a in e.args]
    core = _CORE_METHODS.get(e.name)
    if core is not None:
        arity, method = core
        _check_arity("method", e.name, arity, len(args))
        return method(receiver, *args, env)
    ext = EXTENSION_METHODS.get(e.name)
    if ext is None:
        raise EvalError(UNKNOWN_FUNCTION, f"unknown method `{e.name}`")
    arity, method = ext
    _check_arity("extension function", e.name, arity, len(args) + 1)
    return method(receiver, *args)


def ext_fun(e: ast.ExtFun, env: _Env) -> Any:
    args = [_eval(a, env) for a in e.args]
    ext = EXTENSION_FUNCTIONS.get(e.name)
    if ext is None:
        raise EvalError(UNKNOWN_FUNCTION, f"unknown extension function `{e.name}`")
    arity, function = ext
    _check_arity("extension function", e.name, arity, len(args))
    return function(*args)


# --------------------------------------------------------------------------
# Dispatch

_EVAL: dict[type, Callable[[Any, _Env], Any]] = {
    ast.Lit: lit,
    ast.EntityLit: entity_lit,
    ast.Var: var,
    ast.Slot: slot,
    ast.Not: not_,
    ast.Neg: neg,
    ast.BinaryOp: binary,
    ast.And: and_,
    ast.Or: or_,
    ast.If: if_,
    ast.GetAttr: get_attr,
    ast.Has: has,
    ast.Like: like,
    ast.Is: is_,
    ast.SetLit: set_lit,
    ast.RecordLit: record_lit,
    ast.MethodCall: method_call,
    ast.ExtFun: ext_fun,
}


# --------------------------------------------------------------------------
# Policies: the scope, then every condition, conjoined left to right


def _scope_target(target: Any) -> EntityUID:
    if type(target) is ast.Slot:
        raise unlinked(target)
    return target


def scope_matches(scope: ast.Scope, uid: EntityUID, entities: Entities) -> bool:
    """Whether a request variable satisfies one scope constraint."""
    if type(scope) is ast.ScopeAny:
        return True
    if type(scope) is ast.ScopeEq:
        return uid == _scope_target(scope.target)
    if type(scope) is ast.ScopeIn:
        return entity_in(uid, _scope_target(scope.target), entities)
    if type(scope) is ast.ScopeIs:
        if uid.type != scope.entity_type:
            return False
        return scope.in_target is None or entity_in(uid, _scope_target(scope.in_target), entities)
    if type(scope) is ast.ActionInSet:
        return any(entity_in(uid, target, entities) for target in scope.targets)
    raise TypeError(f"not a policy scope: {scope!r}")


def satisfied(policy: ast.Policy, request: Request, entities: Entities) -> bool:
    """Whether `policy` applies to the request: its scope matches and every
    `when` body is true and every `unless` body false.  Raises EvalError when
    Cedar reports the policy as erroring (a condition reached by evaluation
    errors or is not a Bool)."""
    if not (scope_matches(policy.principal, request.principal, entities)
            and scope_matches(policy.action, request.action, entities)
            and scope_matches(policy.resource, request.resource, entities)):
        return False
    if not policy.conditions:
        return True
    env = _Env(request, entities)
    for condition in policy.conditions:
        value = _as_bool(_eval(condition.body, env))
        if value != (condition.kind == "when"):
            return False
    return True
