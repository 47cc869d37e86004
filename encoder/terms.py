"""Terms: Cedar values as Z3 expressions, typed by the schema's type model.

A `Term` pairs a static Cedar type with a *raw* Z3 representation of the
value and a Boolean that holds exactly when evaluating it errors.  The raw
representation of each type:

- Bool: a Z3 Bool; Long: a 64-bit bit-vector (two's complement);
- String: a Z3 string (Cedar strings are Unicode; characters above Z3's
  maximum code point 0x2FFFF raise `Unsupported`);
- an entity of type T: an integer standing for its id (`Ids`); the type is
  static, so entities of different types never meet at the Z3 level;
- decimal: a bit-vector of the value times 10^4; datetime: milliseconds since
  the epoch; duration: milliseconds (all 64 bits);
- ipaddr: the `IPAddr` datatype (is-v4 bit, 128-bit address, prefix length);
- Set<E>: a Z3 array from E's sort to Bool (see compiler.py for why this is a
  sound and complete choice for Cedar's finite sets);
- Record: a Python dict from attribute name to (present, raw value); when a
  record must be a Z3 value (a set element), a datatype per record type.

`NEVER` is the type of a term that always errors, whose value is irrelevant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import z3

from cedarscope.encoder.direct import connective, not_of
from cedarscope.encoder.direct import ite as direct_ite
from cedarscope.encoder.ext import IP as IP  # re-exported
from cedarscope.encoder.ext import MS_PER_DAY, ext_raw, ip_val  # noqa: F401  (re-exported)
from cedarscope.encoder.ext import ext_value as ext_value  # re-exported
from cedarscope.encoder.strings import string_of as string_of  # re-exported
from cedarscope.encoder.strings import string_val as string_val  # re-exported
from cedarscope.lang.schema import (
    BoolType,
    CedarType,
    EntityType,
    ExtensionType,
    LongType,
    RecordType,
    SetType,
    StringType,
)
from cedarscope.lang.values import CedarRecord, CedarSet, EntityUID


class Unsupported(Exception):
    """A Cedar construct (or value) the encoder does not encode yet."""


@dataclass(frozen=True)
class NeverType:
    """The type of a term that always errors."""

    def __str__(self) -> str:
        return "Never"


# The encoder's bottom type joins the schema's types: `[]` has type
# SetType(NEVER), which lang's CedarType does not list.
NEVER: CedarType = NeverType()  # type: ignore[assignment]


@dataclass(frozen=True)
class MixedSetType:
    """The type of a set literal whose elements have different types, such as
    ``[User::"a", Group::"b"]``; such a set is only ever a literal, kept as
    its elements (`Term.lits` holds (type, raw value) pairs)."""

    elems: tuple[TermType, ...]

    def __str__(self) -> str:
        return "Set<" + " | ".join(sorted(map(str, self.elems))) + ">"
BOOL, LONG, STRING = BoolType(), LongType(), StringType()
DECIMAL, IPADDR = ExtensionType("decimal"), ExtensionType("ipaddr")
DATETIME, DURATION = ExtensionType("datetime"), ExtensionType("duration")
EMPTY_SET = SetType(NEVER)  # `[]`'s type: Never is the encoder's own bottom type

BV64 = z3.BitVecSort(64)
STR = z3.StringSort()
ID = z3.IntSort()  # entity ids, numbered by `Ids`
BOOL_SORT = z3.BoolSort()
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1

# z3-solver ships no types, so to mypy every Z3 class (z3.ExprRef,
# z3.BoolRef, ...) is Any; annotations name them all the same, for the
# reader.  These two say what a term's parts are:
# - TermType: a CedarType (NEVER among them) or a MixedSetType.  Any, because
#   the compiler reads what a validated policy guarantees (a set's `elem`, an
#   entity type's `name`) without narrowing each time.
# - Raw: a Z3 expression, or for a record a dict from attribute name to
#   (present, Raw), as the module docstring lists.
TermType: TypeAlias = Any
Raw: TypeAlias = Any


@dataclass
class Term:
    """A typed Cedar value with its error condition.  `lits` keeps the
    element values of a set literal so that tests on it unfold into
    disjunctions instead of array reasoning."""

    ty: TermType
    val: Raw
    err: z3.BoolRef
    lits: tuple[Any, ...] | None = None  # raw values; for a mixed set, (type, raw value) pairs


# --------------------------------------------------------------------------
# Formulas


TRUE, FALSE = z3.BoolVal(True), z3.BoolVal(False)


def bad(ty: TermType) -> Term:
    """A term of type ty that always errors (its value is a placeholder)."""
    return Term(ty, None if ty == NEVER else default_raw(ty), TRUE)


def is_entity(t: Term) -> bool:
    return isinstance(t.ty, EntityType)


# Z3 hash-conses terms: in a context, `true` and `false` are one node each.
# So a Boolean of the main context (the encoding's) is a constant exactly
# when its node is one of these two, which Python can tell without calling
# into Z3 (the compiler folds every connective it makes).
_MAIN = TRUE.ctx
_TRUE_NODE, _FALSE_NODE = TRUE.as_ast().value, FALSE.as_ast().value


_L_TRUE: int = z3.Z3_L_TRUE  # Z3's lbool values (z3 is untyped: named here as ints)
_L_FALSE: int = z3.Z3_L_FALSE
_L_UNDEF: int = z3.Z3_L_UNDEF


def _truth(b: z3.BoolRef | bool) -> int:
    """_L_TRUE, _L_FALSE, or _L_UNDEF (not a constant)."""
    if isinstance(b, bool):
        return _L_TRUE if b else _L_FALSE
    if b.ctx is _MAIN:
        node = b.ast.value
        return _L_TRUE if node == _TRUE_NODE else _L_FALSE if node == _FALSE_NODE else _L_UNDEF
    return z3.Z3_get_bool_value(b.ctx_ref(), b.as_ast())  # type: ignore[no-any-return]  # z3 is untyped; an lbool is an int


def is_true(b: z3.BoolRef) -> bool:
    """z3.is_true, without calls into Z3 for the encoding's terms."""
    return _truth(b) == _L_TRUE


def is_false(b: z3.BoolRef) -> bool:
    """z3.is_false, the same way."""
    return _truth(b) == _L_FALSE


def or_of(bs: list[z3.BoolRef]) -> z3.BoolRef:
    """z3.Or of Boolean terms of one context (at least one, in any context:
    nothing is folded into the encoding's constants)."""
    return bs[0] if len(bs) == 1 else connective(z3.Z3_mk_or, bs)


def disjunction(*args: z3.BoolRef | bool) -> z3.BoolRef:
    """z3.Or, folding constants (so that constant parts of a policy stay constant)."""
    return _folded(args, _L_TRUE, TRUE, FALSE, z3.Z3_mk_or)


def conjunction(*args: z3.BoolRef | bool) -> z3.BoolRef:
    """z3.And, folding constants."""
    return _folded(args, _L_FALSE, FALSE, TRUE, z3.Z3_mk_and)


def _folded(args: tuple[z3.BoolRef | bool, ...], absorbing: int, absorbed: z3.BoolRef, empty: z3.BoolRef,
            make: Callable[..., z3.Ast]) -> z3.BoolRef:
    """The connective `make` of `args`: `absorbed` as soon as one of them is
    the absorbing constant, the others' identity constants left out."""
    bs = []
    for b in args:
        value = _truth(b)
        if value == absorbing:
            return absorbed
        if value == _L_UNDEF:
            bs.append(b)
    return empty if not bs else bs[0] if len(bs) == 1 else connective(make, bs)


def negation(b: z3.BoolRef) -> z3.BoolRef:
    """z3.Not, folding constants."""
    value = _truth(b)
    if value != _L_UNDEF:
        return FALSE if value == _L_TRUE else TRUE
    return not_of(b)


def ite(c: z3.BoolRef, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
    """z3.If, folding a constant condition (two Booleans: made directly)."""
    value = _truth(c)
    if value == _L_TRUE:
        return a
    if value == _L_FALSE:
        return b
    if isinstance(a, z3.BoolRef) and isinstance(b, z3.BoolRef):
        return direct_ite(c, a, b)
    return z3.If(c, a, b)


# --------------------------------------------------------------------------
# Sorts


_record_sorts: dict[RecordType, z3.DatatypeSortRef] = {}
_set_sorts: dict[SetType, z3.ArraySortRef] = {}  # (asked for at every set test)


def sort_of(ty: TermType) -> z3.SortRef:
    """The Z3 sort of a type's raw value, when it has one (records become a
    datatype only here, for use as set elements)."""
    if isinstance(ty, BoolType):
        return BOOL_SORT
    if isinstance(ty, (LongType,)):
        return BV64
    if isinstance(ty, StringType):
        return STR
    if isinstance(ty, EntityType):
        return ID
    if isinstance(ty, ExtensionType):
        return IP if ty.name == "ipaddr" else BV64
    if isinstance(ty, SetType):
        found = _set_sorts.get(ty)
        if found is None:
            elem = BOOL_SORT if ty.elem == NEVER else sort_of(ty.elem)
            found = _set_sorts[ty] = z3.ArraySort(elem, BOOL_SORT)
        return found
    if isinstance(ty, RecordType):
        return record_sort(ty)[0]
    raise Unsupported(f"no Z3 sort for values of type {ty}")


def record_sort(ty: RecordType) -> tuple[z3.DatatypeSortRef, z3.FuncDeclRef, list[z3.FuncDeclRef]]:
    """The datatype for records of type `ty`: one presence bit and one value
    per attribute.  Named after the type itself, so the name does not depend
    on which record types the process met before."""
    if ty not in _record_sorts:
        sorts = [sort_of(a.type) for _, a in ty.attrs]  # nested records first
        name = "Rec" + hashlib.sha1(str(ty).encode("utf-8")).hexdigest()[:16]
        d = z3.Datatype(name)
        fields = []
        for i, srt in enumerate(sorts):
            fields += [(f"{name}_has{i}", z3.BoolSort()), (f"{name}_val{i}", srt)]
        d.declare(f"mk_{name}", *fields)
        _record_sorts[ty] = d.create()
    dt = _record_sorts[ty]
    return dt, dt.constructor(0), [dt.accessor(0, i) for i in range(dt.constructor(0).arity())]


def to_sorted(ty: TermType, raw: Raw) -> z3.ExprRef:
    """The raw value as a single Z3 expression (records packed)."""
    if isinstance(ty, RecordType):
        _, mk, _ = record_sort(ty)
        args = []
        for k, a in ty.attrs:
            present, v = raw[k]
            v = to_sorted(a.type, v)
            if not a.required:  # an absent attribute's slot holds a fixed value,
                # so equal records are equal datatype values
                v = z3.If(present, v, to_sorted(a.type, default_raw(a.type)))
            args += [present, v]
        return mk(*args)
    return raw


# --------------------------------------------------------------------------
# Entity ids


class Ids:
    """Entity ids as integers.  Cedar observes an entity id only by comparing
    entities of one type, so any one-to-one numbering is exact, and Z3
    reasons about integers far faster than about strings.  Entities are
    numbered on first use; a model's integer that numbers no entity of the
    type stands for an id no one named."""

    def __init__(self) -> None:
        self._num: dict[EntityUID, int] = {}
        self._uids: list[EntityUID] = []

    def num(self, uid: EntityUID) -> int:
        if uid not in self._num:
            self._num[uid] = len(self._uids)
            self._uids.append(uid)
        return self._num[uid]

    def val(self, uid: EntityUID) -> z3.ArithRef:
        return z3.IntVal(self.num(uid))

    def id_of(self, etype: str, z: z3.ExprRef) -> str | None:
        """The id of the entity of type etype an integer constant numbers."""
        return self.id_numbered(etype, z.as_long())

    def id_numbered(self, etype: str, n: int) -> str | None:
        """The id of the entity of type etype numbered n, if one is."""
        if 0 <= n < len(self._uids) and self._uids[n].type == etype:
            return self._uids[n].id
        return None

    def named(self, etype: str) -> set[str]:
        return {u.id for u in self._uids if u.type == etype}


# --------------------------------------------------------------------------
# Concrete values as raw Z3 constants


def const_raw(v: Any, ty: TermType, ids: Ids) -> Raw:
    """The raw representation of concrete value `v` at type `ty`.  Raises
    ValueError when `v` does not have type `ty`."""
    bad = ValueError(f"value {v!r} does not have type {ty}")
    if isinstance(ty, BoolType):
        if not isinstance(v, bool):
            raise bad
        return z3.BoolVal(v)
    if isinstance(ty, LongType):
        if isinstance(v, bool) or not isinstance(v, int):
            raise bad
        return z3.BitVecVal(v, 64)
    if isinstance(ty, StringType):
        if not isinstance(v, str):
            raise bad
        return string_val(v)
    if isinstance(ty, EntityType):
        if not isinstance(v, EntityUID) or v.type != ty.name:
            raise bad
        return ids.val(v)
    if isinstance(ty, ExtensionType):
        if getattr(v, "CEDAR_TYPE", None) != ty.name:
            raise bad
        return ext_raw(v)
    if isinstance(ty, SetType):
        if not isinstance(v, CedarSet):
            raise bad
        arr = z3.K(sort_of(ty.elem) if ty.elem != NEVER else z3.BoolSort(), z3.BoolVal(False))
        for e in v:
            if ty.elem == NEVER:
                raise bad
            arr = z3.Store(arr, to_sorted(ty.elem, const_raw(e, ty.elem, ids)), z3.BoolVal(True))
        return arr
    if isinstance(ty, RecordType):
        if not isinstance(v, CedarRecord) or not set(v) <= {k for k, _ in ty.attrs}:
            raise bad
        out = {}
        for k, a in ty.attrs:
            if k in v:
                out[k] = (z3.BoolVal(True), const_raw(v[k], a.type, ids))
            elif a.required:
                raise bad
            else:
                out[k] = (z3.BoolVal(False), default_raw(a.type))
        return out
    raise bad


def default_raw(ty: TermType) -> Raw:
    """Some valid raw value of type `ty` (for absent optional attributes)."""
    if isinstance(ty, BoolType):
        return z3.BoolVal(False)
    if isinstance(ty, (LongType,)):
        return z3.BitVecVal(0, 64)
    if isinstance(ty, StringType):
        return z3.StringVal("")
    if isinstance(ty, EntityType):
        return z3.IntVal(-1)
    if isinstance(ty, ExtensionType):
        return ip_val(True, 0, 32) if ty.name == "ipaddr" else z3.BitVecVal(0, 64)
    if isinstance(ty, SetType):
        return z3.K(sort_of(ty.elem) if ty.elem != NEVER else z3.BoolSort(), z3.BoolVal(False))
    if isinstance(ty, RecordType):
        return {k: (z3.BoolVal(a.required), default_raw(a.type)) for k, a in ty.attrs}
    raise Unsupported(f"no default value of type {ty}")
