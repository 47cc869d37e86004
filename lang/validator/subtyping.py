"""Subtyping and least upper bounds of the validator's types."""

from __future__ import annotations

from cedarscope.lang.validator.types import (
    ANY_ENTITY,
    ANY_SET,
    BOOL,
    AnyEntityT,
    AttrT,
    BoolT,
    EntityT,
    ExtT,
    LongT,
    NeverT,
    RecordT,
    SetT,
    StringT,
    Ty,
    record_of,
)

# Subtyping and least upper bounds (Cedar's `is_subtype`/`least_upper_bound`
# with a `strict` flag: strict mode has no width subtyping, requires equal
# optionality, and never joins different entity types).


class NoLub(Exception):
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
    """The least upper bound of two types; raises NoLub when there is none."""
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
        return record_lub(t0, t1, strict)
    entityish = (EntityT, AnyEntityT)
    if isinstance(t0, entityish) and isinstance(t1, entityish):
        if strict:
            raise NoLub(LUB_HINTS["entity"])
        if isinstance(t0, EntityT) and isinstance(t1, EntityT):
            return EntityT(t0.names | t1.names)
        return ANY_ENTITY
    if isinstance(t0, (RecordT, *entityish)) and isinstance(t1, (RecordT, *entityish)):
        raise NoLub(LUB_HINTS["entity-record"])
    raise NoLub(LUB_HINTS["none"])


def record_lub(r0: RecordT, r1: RecordT, strict: bool) -> RecordT:
    if strict and r0.keys() != r1.keys():
        raise NoLub(LUB_HINTS["width"])
    attrs = {}
    for k, a0 in r0.attrs:
        a1 = r1.get(k)
        if a1 is None:
            continue  # permissive width join: keep the common attributes
        t = least_upper_bound(a0.type, a1.type, strict)
        if strict and a0.required != a1.required:
            raise NoLub(LUB_HINTS["qualifier"])
        attrs[k] = AttrT(t, a0.required and a1.required)
    open_ = r0.open or r1.open or set(attrs) != (r0.keys() | r1.keys())
    return record_of(attrs, open_)


def disjoint(t0: Ty, t1: Ty) -> bool:
    """Types with no common value.  Only entity types are ever called
    disjoint (e.g. Set<Long> and Set<Bool> share the empty set)."""
    return isinstance(t0, EntityT) and isinstance(t1, EntityT) and not (t0.names & t1.names)
