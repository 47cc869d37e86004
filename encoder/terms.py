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
import re
from dataclasses import dataclass
from typing import Any

import z3

from cedarscope.lang.schema import (
    BoolType,
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


NEVER = NeverType()


@dataclass(frozen=True)
class MixedSetType:
    """The type of a set literal whose elements have different types, such as
    ``[User::"a", Group::"b"]``; such a set is only ever a literal, kept as
    its elements (`Term.lits` holds (type, raw value) pairs)."""

    elems: tuple

    def __str__(self) -> str:
        return "Set<" + " | ".join(sorted(map(str, self.elems))) + ">"
BOOL, LONG, STRING = BoolType(), LongType(), StringType()
DECIMAL, IPADDR = ExtensionType("decimal"), ExtensionType("ipaddr")
DATETIME, DURATION = ExtensionType("datetime"), ExtensionType("duration")
EMPTY_SET = SetType(NEVER)  # type: ignore[arg-type]  # `[]`'s type: Never is the encoder's own bottom type

BV64 = z3.BitVecSort(64)
STR = z3.StringSort()
ID = z3.IntSort()  # entity ids, numbered by `Ids`
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1

_ip = z3.Datatype("IPAddr")
_ip.declare("ip", ("is_v4", z3.BoolSort()), ("addr", z3.BitVecSort(128)), ("prefix", z3.BitVecSort(8)))
IP = _ip.create()


@dataclass
class Term:
    """A typed Cedar value with its error condition.  `lits` keeps the
    element values of a set literal so that tests on it unfold into
    disjunctions instead of array reasoning."""

    ty: Any
    val: Any
    err: z3.BoolRef
    lits: tuple | None = None


# --------------------------------------------------------------------------
# Sorts


_record_sorts: dict[RecordType, z3.DatatypeSortRef] = {}


def sort_of(ty: Any) -> z3.SortRef:
    """The Z3 sort of a type's raw value, when it has one (records become a
    datatype only here, for use as set elements)."""
    if isinstance(ty, BoolType):
        return z3.BoolSort()
    if isinstance(ty, (LongType,)):
        return BV64
    if isinstance(ty, StringType):
        return STR
    if isinstance(ty, EntityType):
        return ID
    if isinstance(ty, ExtensionType):
        return IP if ty.name == "ipaddr" else BV64
    if isinstance(ty, SetType):
        if ty.elem == NEVER:
            return z3.ArraySort(z3.BoolSort(), z3.BoolSort())
        return z3.ArraySort(sort_of(ty.elem), z3.BoolSort())
    if isinstance(ty, RecordType):
        return record_sort(ty)[0]
    raise Unsupported(f"no Z3 sort for values of type {ty}")


def record_sort(ty: RecordType):
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


def to_sorted(ty: Any, raw: Any) -> z3.ExprRef:
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

    def __init__(self):
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
        n = z.as_long()
        if 0 <= n < len(self._uids) and self._uids[n].type == etype:
            return self._uids[n].id
        return None

    def named(self, etype: str) -> set[str]:
        return {u.id for u in self._uids if u.type == etype}


# --------------------------------------------------------------------------
# Strings


def string_val(s: str) -> z3.SeqRef:
    """A Z3 string literal for `s`.  Z3's alphabet ends at U+2FFFF, so a
    character above it is written as a UTF-16 surrogate pair (surrogates never
    occur in Cedar strings, so this is injective and `like` patterns, encoded
    the same way, match exactly as before).  Everything outside printable
    ASCII is escaped so that Z3 reads no escapes we did not mean."""
    out = []
    for ch in s:
        o = ord(ch)
        if o > 0x2FFFF:
            o -= 0x10000
            out.append(f"\\u{{{0xD800 + (o >> 10):x}}}\\u{{{0xDC00 + (o & 0x3FF):x}}}")
        else:
            out.append(ch if 32 <= o < 127 and ch != "\\" else f"\\u{{{o:x}}}")
    return z3.StringVal("".join(out))


_ESC = re.compile(r"\\u\{([0-9a-fA-F]+)\}")
_PAIR = re.compile("([\ud800-\udbff])([\udc00-\udfff])")


def string_of(z: z3.ExprRef) -> str:
    """The Python string of a Z3 string value (undoing Z3's escapes and our
    surrogate pairs)."""
    s = _ESC.sub(lambda m: chr(int(m.group(1), 16)), z.as_string())
    return _PAIR.sub(lambda m: chr(0x10000 + ((ord(m.group(1)) - 0xD800) << 10) + ord(m.group(2)) - 0xDC00), s)


# --------------------------------------------------------------------------
# Extension values (lang.values.Decimal, IPAddr, Datetime, Duration)


MS_PER_DAY = 86_400_000


def ip_val(v4: bool, addr: int, prefix: int) -> z3.ExprRef:
    return IP.ip(z3.BoolVal(v4), z3.BitVecVal(addr, 128), z3.BitVecVal(prefix, 8))


def ext_raw(v: Any) -> z3.ExprRef:
    """The raw Z3 constant of a concrete extension value."""
    kind = v.CEDAR_TYPE
    if kind == "decimal":
        return z3.BitVecVal(v.value, 64)
    if kind in ("datetime", "duration"):
        return z3.BitVecVal(v.ms, 64)
    if kind == "ipaddr":
        return ip_val(v.version == 4, v.addr, v.prefix)
    raise Unsupported(f"extension type {kind}")


def ext_value(name: str, z: z3.ExprRef) -> Any:
    """The concrete lang value of a raw extension constant from a model."""
    import cedarscope.lang.values as lv

    if name == "ipaddr":
        v4 = z3.is_true(z3.simplify(IP.is_v4(z)))
        return lv.IPAddr(4 if v4 else 6, z3.simplify(IP.addr(z)).as_long(), z3.simplify(IP.prefix(z)).as_long())
    i = z3.simplify(z).as_signed_long()
    return {"decimal": lv.Decimal, "datetime": lv.Datetime, "duration": lv.Duration}[name](i)


# --------------------------------------------------------------------------
# Concrete values as raw Z3 constants


def const_raw(v: Any, ty: Any, ids: Ids) -> Any:
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


def default_raw(ty: Any) -> Any:
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
