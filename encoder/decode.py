"""A Z3 model back to a concrete request and the smallest entity store.

Entity ids.  The policies observe an id only by comparing entities with each
other and with the entities they name, so any renaming that is injective per
type and keeps the named ids reproduces every decision.  Ids the policies
name (and enum ids, and actions) are kept; every other id the model chose is
replaced, in order of first use, by a fresh readable one that no policy
names: ``alice``, ``bob``, ... for the principal's type, ``photo1``,
``photo2``, ... (the type's name) for the others.

The store holds only what the policies can observe: the entities whose
existence, attributes, tags or ancestors the formulas read and that the
model puts in the store (one the model leaves out is absent, as Cedar
allows: parents, attribute and tag values may name it all the same).
Attributes are the ones read, plus the schema's required ones (with a valid
default when unread, so the store conforms); tags are the ones the model
says are present.  Parents are the
ancestors the model gives; an ancestor whose type the schema does not allow
as a direct parent is reached through fresh intermediate entities along a
memberOf path.  Sets are read as in compiler.py: the elements the formulas
mention that the model puts in the set.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Iterator
from typing import Any, TypeAlias

import z3

from cedarscope.encoder.direct import select
from cedarscope.encoder.symenv import SymEnv, fn_name
from cedarscope.encoder.terms import NEVER, TermType, ext_value, string_of, to_sorted
from cedarscope.lang.entities import Entities
from cedarscope.lang.entity import Entity
from cedarscope.lang.request import Request
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

# Terms that may denote an entity, each with its number when it is a constant.
_Numbered: TypeAlias = list[tuple[z3.ExprRef, int | None]]
# (names given, names used): see Decoder.
Naming: TypeAlias = tuple[dict[tuple[str, int | str], str], dict[str, set[str]]]

# Per encoding (its SymEnv): the terms that may denote an entity of each
# type, with their numbers; every decode of the encoding reads them.
_ENTITY_TERMS: weakref.WeakKeyDictionary[SymEnv, tuple[tuple[int, int], dict[str, _Numbered]]]
_ENTITY_TERMS = weakref.WeakKeyDictionary()
# the same, by the entity named: (named, others)
_NAMED_TERMS: weakref.WeakKeyDictionary[SymEnv, dict[str, tuple[dict[EntityUID, _Numbered], _Numbered]]]
_NAMED_TERMS = weakref.WeakKeyDictionary()

PEOPLE = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")


class Decoder:
    def __init__(self, sym: SymEnv, model: z3.ModelRef, naming: Naming | None = None,
                 focus: frozenset[EntityUID] | None = None, local: Callable[[Any], Any] | None = None):
        """`naming` (names given, names used) is shared by the decoders of one
        encoding, so examples decoded one after another name different model
        ids differently (distinct principals read as alice, bob, ...).  With
        `focus`, an entity the policies name is made an ancestor only when it
        is in focus (see `decode`).  `local` carries a term of the encoding
        into the model's context when the model lives in another one."""
        self.sym, self.model, self.focus = sym, model, focus
        self.local: Callable[[Any], Any] = local or (lambda e: e)
        self._names: dict[tuple[str, int | str], str]
        self._used: dict[str, set[str]]
        self._names, self._used = naming if naming is not None else ({}, {})
        self._fresh_n = 0
        self._index: dict[tuple[str | int, tuple[int | str, ...]], z3.ExprRef] = {}
        self._values: dict[int, tuple[z3.ExprRef, z3.ExprRef]] = {}  # id -> (term, value)
        self._uids: dict[tuple[str, int], EntityUID] = {}
        self._numbers: dict[int, tuple[z3.ExprRef, int | None]] = {}  # id -> (value, number)
        # Values that got a default because no formula reads them, as
        # `User::"alice".department` or `context.mfa` (shown as unread).
        self.unread: list[str] = []
        self._defaulted: list[tuple[str, ...]] = []

    def eval(self, e: z3.ExprRef) -> z3.ExprRef:
        """The term's value in the model, read once per term (the entry
        keeps the term alive, so its id is not reused for another)."""
        key = e.get_id()
        found = self._values.get(key)
        if found is None:
            found = self._values[key] = (e, self.model.eval(self.local(e), model_completion=True))
        return found[1]

    def number(self, z: z3.ExprRef) -> int | None:
        """`_number` of a model value, read once per value object (the
        entry keeps it alive, so its id stays its own): the decoder asks it
        of the same values again and again (every store function applied to
        an entity is indexed by its value, and read back per attribute)."""
        found = self._numbers.get(id(z))
        if found is None:
            found = self._numbers[id(z)] = (z, _number(z))
        return found[1]

    def key(self, z: z3.ExprRef) -> int | str:
        """A hashable form of a model value (an entity number or a tag key)."""
        n = self.number(z)
        return n if n is not None else string_of(z)

    def members(self, s: z3.ExprRef, elements: list[tuple[z3.ExprRef, int | None]]
                ) -> list[tuple[z3.ExprRef, int | None]]:
        """The elements (terms, with their number when they are constants)
        the model puts in the set s: its value is read once, as stores over
        a constant array, and each element looked up there (evaluated one by
        one when the value has another form)."""
        value = array_members(self.eval(s))
        if value is None:
            return [(y, n) for y, n in elements
                    if z3.is_true(self.eval(select(s, y)))]
        default, exceptions = value
        out: list[tuple[z3.ExprRef, int | None]] = []
        for y, n in elements:
            if n is None:
                n = self.number(self.eval(y))
            if n is None:
                if z3.is_true(self.eval(select(s, y))):
                    out.append((y, None))
            elif exceptions.get(n, default):
                out.append((y, n))
        return out

    # ------------------------------------------------------------------
    # Ids

    def uid(self, etype: str, z: Any) -> EntityUID:
        """The entity for an id the model chose (an integer; see terms.Ids):
        a numbered id is kept, any other number gets a fresh readable id."""
        n = self.number(z) if z3.is_expr(z) else None
        if n is not None:
            return self.numbered(etype, n)
        key = (etype, str(z))
        if key not in self._names:
            self._names[key] = self._fresh_name(etype)
        return EntityUID(etype, self._names[key])

    def numbered(self, etype: str, n: int) -> EntityUID:
        """The entity for id number n (read once per decoder: an ancestor
        set may hold every group the policies name)."""
        found = self._uids.get((etype, n))
        if found is None:
            named = self.sym.ids.id_numbered(etype, n)
            if named is None:
                if (etype, n) not in self._names:
                    self._names[(etype, n)] = self._fresh_name(etype)
                named = self._names[(etype, n)]
            found = self._uids[(etype, n)] = EntityUID(etype, named)
        return found

    def _fresh_name(self, etype: str) -> str:
        taken = self.sym.ids.named(etype) | self._used.setdefault(etype, set())
        pool: Iterator[str]
        if etype == self.sym.env.principal_type:
            pool = itertools.chain(PEOPLE, (f"user{i}" for i in itertools.count(1)))
        else:
            base = "".join(c for c in etype.split("::")[-1].lower() if c.isalnum()) or "entity"
            pool = (f"{base}{i}" for i in itertools.count(1))
        name = next(n for n in pool if n not in taken)
        self._used[etype].add(name)
        return name

    def unnamed(self, etype: str) -> EntityUID:
        """A fresh entity of type etype that no model value denotes."""
        self._fresh_n += 1
        return self.uid(etype, f"fresh{self._fresh_n}")

    # ------------------------------------------------------------------
    # Values

    def value(self, ty: Any, raw: Any) -> Any:
        if isinstance(ty, RecordType):
            return CedarRecord({k: self.value(a.type, v) for k, a in ty.attrs
                                for p, v in [raw[k]] if z3.is_true(self.eval(p))})
        if self.unconstrained(raw):
            return self.default(ty)
        z = self.eval(raw)
        if isinstance(ty, BoolType):
            return z3.is_true(z)
        if isinstance(ty, LongType):
            return z.as_signed_long()
        if isinstance(ty, StringType):
            return string_of(z)
        if isinstance(ty, EntityType):
            return self.uid(ty.name, z)
        if isinstance(ty, ExtensionType):
            return ext_value(ty.name, z)
        if isinstance(ty, SetType):
            return self.set_value(ty, raw)
        raise TypeError(f"cannot decode a value of type {ty}")

    def unconstrained(self, raw: Any) -> bool:
        """raw is a symbolic input no asserted formula mentions (Z3 models
        interpret only those), so a default value reads best."""
        if not z3.is_app(raw):
            return False
        decl = self.local(raw).decl()  # asked of the model, not looked up among all its declarations (thousands)
        return (decl.kind() == z3.Z3_OP_UNINTERPRETED
                and not z3.Z3_model_has_interp(self.model.ctx.ref(), self.model.model, decl.ast))

    def set_value(self, ty: SetType, raw: Any) -> CedarSet:
        if ty.elem == NEVER:
            return CedarSet()
        elements = self.sym.elements.get(ty.elem, [])
        stores = stored_values(self.eval(raw)) if isinstance(ty.elem, _LITERAL_VALUED) else None
        members = []
        for x in elements:
            if stores is not None and _is_literal(v := self.eval(x)):  # looked up by its value's node
                member = stores[1].get(v.ast.value, stores[0])
            else:
                member = z3.is_true(self.eval(select(raw, to_sorted(ty.elem, x))))
            if member:
                members.append(self.value(ty.elem, x))
        return CedarSet(members)

    def default(self, ty: Any) -> Any:
        """Some valid value of type ty, for attributes nothing observes."""
        import cedarscope.lang.values as lv

        if isinstance(ty, BoolType):
            return False
        if isinstance(ty, LongType):
            return 0
        if isinstance(ty, StringType):
            return ""
        if isinstance(ty, EntityType):
            d = self.sym.schema.entity_types.get(ty.name)
            if d is not None and d.enum:
                return EntityUID(ty.name, d.enum[0])
            return self.unnamed(ty.name)
        if isinstance(ty, SetType):
            return CedarSet()
        if isinstance(ty, RecordType):
            return CedarRecord({k: self.default(a.type) for k, a in ty.attrs if a.required})
        if isinstance(ty, ExtensionType):
            # mypy gives lambdas in a dict literal no signature, so calling one is an "untyped call"
            return {"decimal": lambda: lv.Decimal(0), "ipaddr": lambda: lv.IPAddr(4, 0, 32),
                    "datetime": lambda: lv.Datetime(0), "duration": lambda: lv.Duration(0)}[ty.name]()  # type: ignore[no-untyped-call]
        raise TypeError(f"no default value of type {ty}")

    # ------------------------------------------------------------------
    # The request

    def request(self) -> Request:
        sym = self.sym
        p = self.value(sym.principal.ty, sym.principal.val)
        r = self.value(sym.resource.ty, sym.resource.val)
        context = sym.context.val
        # An attribute no formula read has no symbol yet (the record makes
        # them on first read); decoding gives it a default.
        self.unread += [f"context.{k}" for k, a in sym.context_type.attrs if a.required and k not in context]
        return Request(p, sym.env.action, r, self.value(sym.context_type, context))

    # ------------------------------------------------------------------
    # The store

    def entities(self) -> Entities:
        sym = self.sym
        self._index = {}
        for key, (_kind, _info, args, app) in sym.apps.items():
            self._index.setdefault((key[0], tuple(self.key(self.eval(a)) for a in args)), app)
        observed: dict[EntityUID, tuple[str, z3.ExprRef]] = {}  # uid -> (type, model id term)
        exists: dict[EntityUID, bool] = {}
        ancestors: dict[EntityUID, set[EntityUID]] = {}
        tag_keys: dict[EntityUID, dict[str, z3.ExprRef]] = {}
        terms: dict[str, _Numbered] = {}  # ancestor type -> the terms that may denote one
        for kind, info, args, app in sym.apps.values():
            if kind in ("extok", "extval"):
                continue  # not about an entity
            etype = info[0]
            mid = self.eval(args[0])
            uid = self.uid(etype, mid)
            observed.setdefault(uid, (etype, mid))
            if kind == "exists":
                exists[uid] = z3.is_true(self.eval(app))
            elif kind == "anc":
                anc = ancestors.setdefault(uid, set())
                if info[1] not in terms:
                    terms[info[1]] = self._in_focus(info[1], self._entity_terms(info[1]))
                for y, n in self.members(app, terms[info[1]]):
                    anc.add(self.numbered(info[1], n) if n is not None else self.uid(info[1], self.eval(y)))
            elif kind == "hastag" and z3.is_true(self.eval(app)) and z3.is_true(self._read(f"exists_{etype}", (mid,))):
                k = self.eval(args[1])
                tag_keys.setdefault(uid, {})[string_of(k)] = k
        keep = [u for u in observed if exists.get(u)]  # a missing entity has no ancestors either
        parents: dict[EntityUID, set[EntityUID]] = {}
        extra: dict[EntityUID, set[EntityUID]] = {}
        for u in keep:
            parents[u] = self._parents(u, ancestors.get(u, set()), extra)
        out = []
        for u in keep:
            etype, mid = observed[u]
            out.append(Entity(u, self._attrs_of(u, etype, mid), frozenset(parents[u]),
                              self._tags(etype, mid, tag_keys.get(u, {}))))
        for u, ps in extra.items():
            out.append(Entity(u, self._attrs_of(u, u.type, None), frozenset(ps)))
        out += self._actions()
        return Entities(sorted(out, key=lambda e: e.uid))

    def _in_focus(self, etype: str, terms: list[tuple[z3.ExprRef, int | None]]
                  ) -> list[tuple[z3.ExprRef, int | None]]:
        """The terms that may denote an ancestor, less the entities the
        policies name that are not in focus (a constant term has its number;
        any other term is kept, whatever it denotes)."""
        if self.focus is None:
            return terms
        named, others = _NAMED_TERMS[self.sym][etype]
        return [t for uid in sorted(self.focus) if uid.type == etype for t in named.get(uid, ())] + others

    def _entity_terms(self, etype: str) -> list[tuple[z3.ExprRef, int | None]]:
        """The terms that may denote an entity of etype (those with ancestor
        sets, and set elements), with the number of each constant among them;
        found once per encoding and footprint (see `_ENTITY_TERMS`), and
        split into the entities the policies name and the other terms."""
        sym = self.sym
        cached = _ENTITY_TERMS.get(sym)
        footprint = (len(sym.apps), sum(len(v) for v in sym.elements.values()))
        if cached is None or cached[0] != footprint:
            cached = _ENTITY_TERMS[sym] = (footprint, {})
            _NAMED_TERMS[sym] = {}
        by_type: dict[str, list[tuple[z3.ExprRef, int | None]]] = cached[1]
        if etype not in by_type:
            terms = [args[0] for kind, info, args, _app in sym.apps.values() if kind == "anc" and info[0] == etype]
            terms += sym.elements.get(EntityType(etype), [])
            by_type[etype] = [(y, _number(y)) for y in terms]
            named: dict[EntityUID, list[tuple[z3.ExprRef, int | None]]] = {}
            others = []
            for y, n in by_type[etype]:
                name = sym.ids.id_numbered(etype, n) if n is not None else None
                if name is None:
                    others.append((y, n))
                else:
                    named.setdefault(EntityUID(etype, name), []).append((y, n))
            _NAMED_TERMS[sym][etype] = (named, others)
        return by_type[etype]

    def _parents(self, u: EntityUID, anc: set[EntityUID], extra: dict[EntityUID, set[EntityUID]]) -> set[EntityUID]:
        """Direct parents giving u exactly the ancestors `anc` (plus fresh
        intermediates where the schema needs them)."""
        declared = self.sym.schema.entity_types.get(u.type)
        direct_types = set(declared.member_of) if declared is not None else set()
        out = {a for a in anc if a.type in direct_types}
        graph = self.sym.schema.type_graph()
        for a in sorted(anc - out):
            path = graph.shortest_path(u.type, a.type)
            assert path is not None, f"{a} is an ancestor of {u} the schema's memberOf does not allow"
            chain = [self.unnamed(t) for t in path[1:-1]] + [a]
            out.add(chain[0])
            for child, parent in zip(chain, chain[1:], strict=False):
                extra.setdefault(child, set()).add(parent)
        return out

    def _attrs_of(self, uid: EntityUID, etype: str, mid: z3.ExprRef | None) -> CedarRecord:
        """An entity's attributes, noting those given a default as unread."""
        self._defaulted = []
        attrs = self._attrs(etype, mid)
        self.unread += [f"{uid}." + ".".join(path) for path in self._defaulted]
        return attrs

    def _attrs(self, etype: str, mid: z3.ExprRef | None) -> CedarRecord:
        d = self.sym.schema.entity_types.get(etype)
        if d is None:
            return CedarRecord()
        return self._record(d.shape, "attr", etype, (), (mid,) if mid is not None else None)

    def _record(self, ty: RecordType, kind: str, etype: str, path: tuple[str, ...],
                args: tuple[z3.ExprRef, ...] | None) -> CedarRecord:
        out = {}
        for k, a in ty.attrs:
            p = path + (k,)
            if not a.required:
                present = self._read(fn_name(kind + "has", etype, p), args)
                if present is None or not z3.is_true(present):
                    continue
            out[k] = self._field(a.type, kind, etype, p, args)
        return CedarRecord(out)

    def _field(self, ty: TermType, kind: str, etype: str, path: tuple[str, ...],
               args: tuple[z3.ExprRef, ...] | None) -> Any:
        if isinstance(ty, RecordType):
            return self._record(ty, kind, etype, path, args)
        raw = self._read(fn_name(kind, etype, path), args, raw=True)
        if kind == "attr" and raw is None:
            self._defaulted.append(path)
        return self.default(ty) if raw is None else self.value(ty, raw)

    def _read(self, fname: str, args: tuple[z3.ExprRef, ...] | None, raw: bool = False) -> z3.ExprRef | None:
        """The formulas' application of store function fname to entities with
        these model ids, or None when the formulas never read it."""
        if args is None:
            return None
        app = self._index.get((fname, tuple(self.key(a) for a in args)))
        if app is None:
            return None
        return app if raw else self.eval(app)

    def _tags(self, etype: str, mid: z3.ExprRef, keys: dict[str, z3.ExprRef]) -> CedarRecord:
        tty = self.sym.tags_type(etype)
        out = {}
        for k, kz in sorted(keys.items()):
            args = (mid, kz)
            if isinstance(tty, RecordType):
                out[k] = self._record(tty, "tag", etype, (), args)
            else:
                out[k] = self._field(tty, "tag", etype, (), args)
        return CedarRecord(out)

    def _actions(self) -> list[Entity]:
        """The request's action, the actions the policies name, and their
        groups, as the schema declares them."""
        sym = self.sym
        named = {EntityUID(t, i) for t in sym.action_types for i in sym.literal_ids.get(t, ())}
        wanted = set()
        for a in {sym.env.action} | {a for a in named if a in sym.schema.actions}:
            wanted |= {a} | set(sym.action_ancestors.get(a, ()))
        actions = sym.schema.actions
        return [Entity(a, parents=frozenset(actions[a].member_of) if a in actions else frozenset())
                for a in sorted(wanted)]


def _number(z: z3.ExprRef) -> int | None:
    """The value of an integer numeral, else None (read with three calls
    into Z3 rather than z3py's dozen: the decoder reads thousands)."""
    return _numeral(z.ctx_ref(), z.as_ast())


def _numeral(ctx: z3.ContextObj, ast: z3.Ast) -> int | None:
    """`_number` of a raw AST of context ctx."""
    if z3.Z3_get_ast_kind(ctx, ast) != z3.Z3_NUMERAL_AST:
        return None
    if z3.Z3_get_sort_kind(ctx, z3.Z3_get_sort(ctx, ast)) != z3.Z3_INT_SORT:
        return None
    return int(z3.Z3_get_numeral_string(ctx, ast))


def decode(sym: SymEnv, model: z3.ModelRef, naming: Naming | None = None,
           unread: list[str] | None = None, focus: frozenset[EntityUID] | None = None,
           local: Callable[[Any], Any] | None = None) -> tuple[Request, Entities]:
    """The request and store of a model; `unread`, when given, receives the
    values that got a default because no formula reads them.  With `focus`
    (the entities one policy names), the store leaves out the memberships in
    the other named entities: an example about one policy then reads as such
    (a model may put the principal in every group any policy names), and the
    example is checked against that policy by replaying it, as every example
    is.  `local` carries the encoding's terms into the model's context."""
    d = Decoder(sym, model, naming, focus, local)
    request = d.request()
    entities = d.entities()
    if unread is not None:
        unread += d.unread
    return request, entities


def array_members(value: z3.ExprRef) -> tuple[bool, dict[int, bool]] | None:
    """A model's value of a set of entity ids (an array Int -> Bool) as
    (default, {id: member}), or None when it is not a chain of stores over
    a constant array.  Profiling and decoding read thousands of these."""
    return _stores(value, _numeral)


# Element types whose model values are literals, one node per value (Z3
# hash-conses them), so that an element is looked up in a set's stores by
# its value's node.
_LITERAL_VALUED = (StringType, LongType, EntityType)


def stored_values(value: z3.ExprRef) -> tuple[bool, dict[int, bool]] | None:
    """A model's value of a set as (default, {index node: member}), or None
    when it is not a chain of stores over a constant array with literal
    members (then each element is evaluated on its own)."""
    return _stores(value, _literal_node)


def _literal_node(ctx: z3.ContextObj, index: z3.Ast) -> int | None:
    """A literal index's node, which is its value's (else None)."""
    return index.value if _literal(ctx, index) else None


def _stores(value: z3.ExprRef, key: Callable[[z3.ContextObj, z3.Ast], int | None]
            ) -> tuple[bool, dict[int, bool]] | None:
    """An array's model value as (default, {key of index: member}), or None
    when it is not a chain of stores of Boolean members over a constant
    array, or `key` cannot read an index.  Read through Z3's C interface,
    without a z3py object per node (the raw children stay alive as long as
    `value` does)."""
    ctx, node = value.ctx_ref(), value.as_ast()
    exceptions: dict[int, bool] = {}
    while z3.Z3_get_ast_kind(ctx, node) == z3.Z3_APP_AST:
        op = z3.Z3_get_decl_kind(ctx, z3.Z3_get_app_decl(ctx, node))
        if op == z3.Z3_OP_CONST_ARRAY:
            default = _truth_value(ctx, z3.Z3_get_app_arg(ctx, node, 0))
            return None if default is None else (default, exceptions)
        if op != z3.Z3_OP_STORE or z3.Z3_get_app_num_args(ctx, node) != 3:
            return None
        index = key(ctx, z3.Z3_get_app_arg(ctx, node, 1))
        member = _truth_value(ctx, z3.Z3_get_app_arg(ctx, node, 2))
        if index is None or member is None:
            return None
        exceptions.setdefault(index, member)  # the outermost store wins
        node = z3.Z3_get_app_arg(ctx, node, 0)
    return None


def _is_literal(v: z3.ExprRef) -> bool:
    return _literal(v.ctx_ref(), v.as_ast())


def _literal(ctx: z3.ContextObj, ast: z3.Ast) -> bool:
    """A numeral or a string literal."""
    return z3.Z3_get_ast_kind(ctx, ast) == z3.Z3_NUMERAL_AST or bool(z3.Z3_is_string(ctx, ast))


def _truth_value(ctx: z3.ContextObj, ast: z3.Ast) -> bool | None:
    """True or False for the Boolean constants, else None."""
    value = z3.Z3_get_bool_value(ctx, ast)
    return None if value == z3.Z3_L_UNDEF else value == z3.Z3_L_TRUE
