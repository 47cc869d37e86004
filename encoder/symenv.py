"""The symbolic request and entity store of one request environment.

For a request environment (principal type, action, resource type) the
request is: `principal` and `resource`, Z3 integer constants (their ids, numbered
as in terms.Ids; the types are fixed by the environment), the action, a constant, and the context,
one Z3 constant per (nested) attribute of the action's context type with a
presence bit for optional ones.

The entity store is a family of uninterpreted functions over entity ids, one
per entity type T (never quantified over; every application is recorded, and
the recorded applications are the *footprint*):

- ``exists_T(e)``: e is in the store.  Cedar requires no entity to be there
  (see encoder.assumptions), so this is an unknown like any other: attribute
  access on a missing entity errors, `has` and `hasTag` on it are false, and
  it has no ancestors;
- ``attr_T_a(e)`` and, for optional attributes, ``has_T_a(e)``; record-typed
  attributes are flattened into one function per nested attribute;
- ``anc_T_U(e)``: the set of e's ancestors of type U, for every U that the
  schema's memberOf relation makes (transitively) possible;
- ``hastag_T(e, k)``, ``tag_T(e, k)`` when T declares tags.

Action entities are not symbolic: Cedar takes them, with their hierarchy,
from the schema.  `well_formed()` states, as quantifier-free constraints over
the footprint, what holds in every store Cedar accepts (enum ids, valid ip
values, a missing entity has no ancestors, the hierarchy is irreflexive and
transitive, and the set witnesses of compiler.py), plus the stronger
assumptions the encoding was asked to make; `pin()` fixes every recorded
application to a concrete store.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import z3

from cedarscope.encoder.assumptions import ENTITIES_EXIST, REQUEST_ENTITIES_EXIST, checked
from cedarscope.encoder.direct import apply, const, declared, short_alphanumeric, short_printable
from cedarscope.encoder.terms import (
    BOOL_SORT,
    ID,
    IP,
    NEVER,
    Ids,
    Raw,
    Term,
    TermType,
    Unsupported,
    const_raw,
    sort_of,
    string_val,
    to_sorted,
)
from cedarscope.lang.ast import ActionInSet, Scope, ScopeAny
from cedarscope.lang.entities import Entities
from cedarscope.lang.entity import Entity
from cedarscope.lang.request import Request
from cedarscope.lang.schema import (
    CedarType,
    EntityType,
    ExtensionType,
    LongType,
    RecordType,
    RequestEnv,
    Schema,
    SetType,
    StringType,
)
from cedarscope.lang.values import CedarRecord, CedarSet, EntityUID

if TYPE_CHECKING:
    from cedarscope.lang.template import AnyEntity

# An application of a store function, in the footprint: (kind, info, args,
# application).  `info` depends on the kind: (entity type,) for "exists",
# (entity type, ancestor type) for "anc", (entity type, path, type) for
# attributes and tags, (constructor, lang.values class[, type]) for
# extension parses; mypy cannot tie it to the kind, so its items are Any.
App: TypeAlias = tuple[str, tuple[Any, ...], tuple[z3.ExprRef, ...], z3.ExprRef]
_Node = TypeVar("_Node", bound=Hashable)


def symbol(name: str, n: int) -> str:
    """A Z3 symbol for a readable name: printable (Z3 cuts names at NUL) and
    made unique by a counter."""
    return f"{_printable_name(name)}#{n}"


@functools.lru_cache(maxsize=4096)
def _printable_name(name: str) -> str:
    """(Cached: every encoding names the same store functions and inputs.)"""
    return "".join(c if c.isprintable() and c not in "|\\" else f"\\x{ord(c):x}" for c in name)


@functools.lru_cache(maxsize=4096)
def fn_name(kind: str, etype: str, path: tuple[str, ...]) -> str:
    """The (unambiguous) key of the store function reading `path` of an
    entity's attributes or tags."""
    return f"{kind}_{etype}{json.dumps(list(path))}"


_ANCESTOR_SET = z3.ArraySort(ID, BOOL_SORT)  # the range of anc_T_U


def _transitive(graph: Mapping[_Node, Iterable[_Node]]) -> dict[_Node, set[_Node]]:
    """Transitive closure (excluding the node itself unless on a cycle)."""
    out = {}
    for start in graph:
        seen, todo = set(), list(graph.get(start, ()))
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(graph.get(n, ()))
        out[start] = seen
    return out


class LazyRecord(dict[str, tuple[z3.BoolRef, Raw]]):
    """The raw value of a symbolic record: an attribute's (presence, value)
    constants are made when first read, so inputs no formula reads stay out
    of every formula (and out of the models the decoder reads)."""

    def __init__(self, make: Callable[[str], tuple[z3.BoolRef, Raw]]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, key: str) -> tuple[z3.BoolRef, Raw]:
        v = self[key] = self._make(key)
        return v


class SymEnv:
    def __init__(self, schema: Schema, env: RequestEnv, assumptions: frozenset[str] = frozenset()):
        """`assumptions`: the stronger assumptions (encoder.assumptions) that
        `well_formed()` adds to what Cedar guarantees."""
        self.schema, self.env = schema, env
        self.assumptions = checked(assumptions)
        self.ancestor_types = _transitive({n: d.member_of for n, d in schema.entity_types.items()})
        self.action_ancestors = _transitive({a: d.member_of for a, d in schema.actions.items()})
        adef = schema.actions.get(env.action)
        if adef is None:
            raise Unsupported(f"action {env.action} is not declared in the schema")
        self.context_type: RecordType = adef.context
        self.action_types = {a.type for a in schema.actions}
        self._funcs: dict[str, z3.FuncDeclRef] = {}
        # attribute and tag reads, by entity term (see attribute): (what to keep alive, what was read)
        self._reads: dict[tuple[str, str, int, str | int],
                          tuple[object, tuple[z3.BoolRef, Raw, CedarType] | Raw | None]] = {}
        # footprint: every application of a store function, in order
        self.apps: dict[tuple[str | int, ...], App] = {}  # key -> (kind, info, args, expr)
        self.leaves: list[tuple[TermType, z3.ExprRef]] = []  # symbolic values to keep well-formed
        self.elements: dict[TermType, list[Raw]] = {}  # set element type -> element terms seen
        self.witnessed: list[z3.BoolRef] = []  # witness constraints for set tests
        self._fresh = 0
        self.ids = Ids()
        self._distinct_done: set[tuple[int, int]] = set()
        self._element_keys: set[tuple[TermType, int]] = set()
        self.literal_ids: dict[str, set[str]] = {}  # entity ids the policies mention
        # templates analysed for every link: (template, slot, type) -> its variable,
        # (template, ((slot, type), ...)) -> whether that link exists
        self.slots: dict[tuple[str, str, str], z3.ArithRef] = {}
        self.links: dict[tuple[str, tuple[tuple[str, str], ...]], z3.BoolRef] = {}
        self.principal = Term(EntityType(env.principal_type), z3.Int("principal"), z3.BoolVal(False))
        self.resource = Term(EntityType(env.resource_type), z3.Int("resource"), z3.BoolVal(False))
        self.action = Term(EntityType(env.action.type), self.ids.val(env.action), z3.BoolVal(False))
        self.leaves += [(self.principal.ty, self.principal.val), (self.resource.ty, self.resource.val)]
        self.context = Term(self.context_type, self.leaf("context", self.context_type), z3.BoolVal(False))

    # ------------------------------------------------------------------
    # Symbolic values

    def leaf(self, name: str, ty: TermType) -> Raw:
        """A fresh symbolic value of type `ty` (records: one per attribute)."""
        if isinstance(ty, RecordType):
            record = ty

            def field(k: str) -> tuple[z3.BoolRef, Raw]:
                attr = record.get(k)
                assert attr is not None  # a record is read only at its declared attributes
                present = self._bool(f"{name}.{k}?") if not attr.required else z3.BoolVal(True)
                return present, self.leaf(f"{name}.{k}", attr.type)

            return LazyRecord(field)
        self._fresh += 1  # names are for reading; the counter keeps them apart
        v = const(symbol(name, self._fresh), sort_of(ty))
        self.leaves.append((ty, v))
        return v

    def _bool(self, name: str) -> z3.BoolRef:
        self._fresh += 1
        return z3.Bool(symbol(name, self._fresh))

    def fresh(self, name: str, ty: TermType) -> Raw:
        return self.leaf(name, ty)

    def any_entity(self, slot: AnyEntity) -> Term:
        """The unknown entity a template slot stands for (lang.template.AnyEntity):
        one variable per template, slot and type, shared by every policy that
        mentions it (two versions of a template are linked alike)."""
        key = (slot.template_id, slot.slot, slot.entity_type)
        if key not in self.slots:
            v = z3.Int(symbol(f"{slot.template_id}{slot.slot}", len(self.slots)))
            self.slots[key] = v
            self.leaves.append((EntityType(slot.entity_type), v))
        return Term(EntityType(slot.entity_type), self.slots[key], z3.BoolVal(False))

    def linked(self, slots: tuple[AnyEntity, ...]) -> z3.BoolRef:
        """Whether the link these slot values make exists: a template may be
        linked or not, once for each typing of its slots."""
        key = (slots[0].template_id, tuple(sorted((s.slot, s.entity_type) for s in slots)))
        if key not in self.links:
            self.links[key] = self._bool(f"linked {key[0]}")
        return self.links[key]

    def mention(self, uid: EntityUID) -> None:
        """Record an entity the policies name (decode keeps such ids)."""
        self.literal_ids.setdefault(uid.type, set()).add(uid.id)
        self.ids.num(uid)

    def element(self, ty: TermType, raw: Raw) -> None:
        """Record a value tested for membership in a set of `ty`s (decode
        reads sets through these)."""
        if ty == NEVER:
            return
        key = (ty, raw.get_id() if z3.is_expr(raw) else id(raw))
        if key not in self._element_keys:
            self._element_keys.add(key)
            self.elements.setdefault(ty, []).append(raw)

    def witness(self, ty: TermType) -> Raw:
        """A fresh element of type `ty` standing for 'some element'."""
        w = self.fresh("w", ty)
        self.element(ty, w)
        return w

    # ------------------------------------------------------------------
    # Store functions

    def _func(self, name: str, args: tuple[z3.ExprRef, ...], rsort: z3.SortRef) -> z3.FuncDeclRef:
        """Store function `name` (taking args like these), declared once per
        encoding under a numbered symbol."""
        f = self._funcs.get(name)
        if f is None:
            f = self._funcs[name] = declared(symbol(name, len(self._funcs)), args, rsort)
        return f

    def _apply(self, kind: str, info: tuple[Any, ...], name: str, args: tuple[z3.ExprRef, ...],
               rsort: z3.SortRef) -> z3.ExprRef:
        """The application of store function `name` to `args`, recorded in
        the footprint; made once (policies read the same store values again
        and again)."""
        key = (name, *(a.get_id() for a in args))
        found = self.apps.get(key)
        if found is not None:
            return found[3]
        e = apply(self._func(name, args, rsort), args, rsort)
        self.apps[key] = (kind, info, args, e)
        return e

    def is_declared(self, etype: str) -> bool:
        return etype in self.schema.entity_types

    def exists(self, etype: str, e: z3.ExprRef) -> z3.BoolRef:
        """e is an entity of the store: an unknown, except for actions (the
        schema's), undeclared types (none) and enum ids (those listed; their
        existence is never observed, as enum entities have no attributes,
        tags or parents)."""
        if etype in self.action_types:
            if not z3.is_int_value(e):
                raise Unsupported("a symbolic action entity")
            action_id = self.ids.id_of(etype, e)
            return z3.BoolVal(action_id is not None and EntityUID(etype, action_id) in self.schema.actions)
        d = self.schema.entity_types.get(etype)
        if d is None:
            return z3.BoolVal(False)
        if d.enum is not None and z3.is_int_value(e):
            return z3.BoolVal(self.ids.id_of(etype, e) in d.enum)
        return self._apply("exists", (etype,), f"exists_{etype}", (e,), BOOL_SORT)

    def attribute(self, etype: str, e: z3.ExprRef, name: str) -> tuple[z3.BoolRef, Raw, CedarType] | None:
        """(present, raw value, type) of attribute `name` of entity e, or None
        when entities of this type never have it.  Read once per entity term
        and attribute (policies read the same attributes again and again)."""
        key = ("attr", etype, e.get_id(), name)
        found = self._reads.get(key)
        if found is None:
            d = self.schema.entity_types.get(etype)
            a = d.shape.get(name) if d else None
            value = None
            if a is not None:
                present = self._present("attrpresent", (etype, (name,)), fn_name("attrhas", etype, (name,)), (e,),
                                        a.required)
                value = present, self._attr_value(etype, (name,), a.type, (e,), "attr"), a.type
            found = self._reads[key] = (e, value)  # the entry keeps e alive: its id stays its own
        return found[1]

    def _present(self, kind: str, info: tuple[Any, ...], fname: str, args: tuple[z3.ExprRef, ...],
                 required: bool) -> z3.BoolRef:
        if required:
            return z3.BoolVal(True)
        return self._apply(kind, info, fname, args, BOOL_SORT)

    def _attr_value(self, etype: str, path: tuple[str, ...], ty: TermType, args: tuple[z3.ExprRef, ...],
                    kind: str) -> Raw:
        """The raw value at `path` of an attribute (kind "attr") or tag
        (kind "tag"), flattening records: a record's fields are made when
        first read, so reading one field of a nested record does not apply
        the store functions of all the others."""
        base = fn_name(kind, etype, path)
        if isinstance(ty, RecordType):
            record = ty

            def field(k: str) -> tuple[z3.BoolRef, Raw]:
                a = record.get(k)
                assert a is not None  # a record is read only at its declared attributes
                p = path + (k,)
                present = self._present(kind + "present", (etype, p), fn_name(kind + "has", etype, p), args,
                                        a.required)
                return present, self._attr_value(etype, p, a.type, args, kind)

            return LazyRecord(field)
        v = self._apply(kind, (etype, path, ty), base, args, sort_of(ty))
        self.leaves.append((ty, v))
        return v

    def ancestors(self, etype: str, e: z3.ExprRef, atype: str) -> z3.ArrayRef | None:
        """The set of e's ancestors of type atype, or None if impossible."""
        if atype not in self.ancestor_types.get(etype, ()):
            return None
        return self._apply("anc", (etype, atype), f"anc_{etype}_{atype}", (e,), _ANCESTOR_SET)

    def tags_type(self, etype: str) -> CedarType | None:
        d = self.schema.entity_types.get(etype)
        return d.tags if d else None

    def has_tag(self, etype: str, e: z3.ExprRef, k: z3.SeqRef) -> z3.BoolRef:
        if self.tags_type(etype) is None:
            return z3.BoolVal(False)
        return z3.And(self.exists(etype, e),
                      self._apply("hastag", (etype,), f"hastag_{etype}", (e, k), BOOL_SORT))

    def get_tag(self, etype: str, e: z3.ExprRef, k: z3.SeqRef) -> Raw:
        """The raw value of tag k of entity e, read once per entity and key
        term."""
        key = ("tag", etype, e.get_id(), k.get_id())
        found = self._reads.get(key)
        if found is None:
            found = self._reads[key] = ((e, k), self._attr_value(etype, (), self.tags_type(etype), (e, k), "tag"))
        return found[1]

    def ext_parse(self, name: str, ty: CedarType, cls: str, s: z3.SeqRef) -> tuple[z3.BoolRef, Raw]:
        """An extension constructor applied to a string the policies do not
        spell out (`decimal(context.s)`; validation rejects this): whether
        the string parses, and its value, as functions of the string.  They
        are uninterpreted, an over-approximation: "unsat" stays sound, a
        model may not replay (the analyzer replays every one), and `pin`
        fixes them on every string of the concrete inputs, so pinned answers
        are exact."""
        ok = self._apply("extok", (name, cls), f"extok_{name}", (s,), BOOL_SORT)
        val = self._apply("extval", (name, cls, ty), f"extval_{name}", (s,), sort_of(ty))
        self.leaves.append((ty, val))
        return ok, val

    def action_in(self, action: EntityUID, target: EntityUID) -> bool:
        return action == target or target in self.action_ancestors.get(action, ())

    def action_scope_holds(self, scope: Scope) -> bool:
        """Whether the environment's action satisfies a policy's action
        scope (`Schema.action_scope_holds`: the constant the compiler's
        `action_in` gives two action constants, without building them)."""
        if not isinstance(scope, ScopeAny):
            targets = scope.targets if isinstance(scope, ActionInSet) else (getattr(scope, "target", None),)
            for t in targets:
                if not isinstance(t, EntityUID):
                    raise Unsupported(f"action scope {type(scope).__name__}")
                self.mention(t)  # as every entity a policy names: decoding reads their ids
        return self.schema.action_scope_holds(scope, self.env.action)

    # ------------------------------------------------------------------
    # Assumptions

    def _distinct_sets(self) -> None:
        """Two different sets that are elements of a set must differ on a
        named element, so that decoding (which reads a set through named
        elements) keeps them apart."""
        def depth(t: TermType) -> int:
            return 1 + depth(t.elem) if isinstance(t, SetType) else 0
        for ty in sorted([t for t in self.elements if isinstance(t, SetType) and t.elem != NEVER],
                         key=depth, reverse=True):
            xs = self.elements[ty]
            for i in range(len(xs)):
                for j in range(i + 1, len(xs)):
                    key = (xs[i].get_id(), xs[j].get_id())
                    if key in self._distinct_done:
                        continue
                    self._distinct_done.add(key)
                    w = self.witness(ty.elem)
                    wz = to_sorted(ty.elem, w)
                    self.witnessed.append(z3.Implies(xs[i] != xs[j], z3.Select(xs[i], wz) != z3.Select(xs[j], wz)))

    def well_formed(self) -> list[z3.BoolRef]:
        """What holds in every store Cedar accepts, over the footprint, and
        the stronger assumptions asked for."""
        self._distinct_sets()
        hierarchy = self._hierarchy_wf()  # may add ancestor applications ...
        missing = self._missing_have_no_ancestors()  # ... which this covers
        out = hierarchy + missing + self._assumed_existence()
        for ty, v in self.leaves:
            out += self._leaf_wf(ty, v)
        out += self.witnessed
        return out

    def _missing_have_no_ancestors(self) -> list[z3.BoolRef]:
        """An entity missing from the store has no ancestors (`in` is then
        `==`), as in Cedar."""
        out = []
        for kind, info, args, app in list(self.apps.values()):
            if kind == "anc":
                out.append(z3.Implies(z3.Not(self.exists(info[0], args[0])), app == z3.K(ID, z3.BoolVal(False))))
        return out

    def _assumed_existence(self) -> list[z3.BoolRef]:
        """The stronger assumptions about which entities are in the store."""
        if not self.assumptions & {ENTITIES_EXIST, REQUEST_ENTITIES_EXIST}:
            return []
        out = [self.exists(v.ty.name, v.val) for v in (self.principal, self.resource)]
        if ENTITIES_EXIST in self.assumptions:
            out += [app for kind, _info, _args, app in list(self.apps.values()) if kind == "exists"]
        return out

    def _leaf_wf(self, ty: TermType, v: z3.ExprRef) -> list[z3.BoolRef]:
        if isinstance(ty, EntityType):
            d = self.schema.entity_types.get(ty.name)
            if d is not None and d.enum is not None:
                return [z3.Or([v == self.ids.val(EntityUID(ty.name, x)) for x in d.enum])]
        if isinstance(ty, ExtensionType):
            if ty.name == "ipaddr":
                return [z3.If(IP.is_v4(v),
                              z3.And(z3.ULE(IP.prefix(v), 32), z3.ULT(IP.addr(v), 2**32)),
                              z3.ULE(IP.prefix(v), 128))]
        return []

    def _hierarchy_wf(self) -> list[z3.BoolRef]:
        """Irreflexivity and transitivity of `in` over the footprint: for
        footprint entities a, b and any known entity term c,
        b ∈ anc(a) ∧ c ∈ anc(b) → c ∈ anc(a)."""
        nodes: dict[str, list[z3.ExprRef]] = {}
        for kind, info, args, _e in list(self.apps.values()):
            if kind == "anc":
                lst = nodes.setdefault(info[0], [])
                if not any(x.eq(args[0]) for x in lst):
                    lst.append(args[0])
        out = []
        for t, terms in sorted(nodes.items()):
            for a in terms:
                if t in self.ancestor_types.get(t, ()):
                    out.append(z3.Not(z3.Select(self.ancestors(t, a, t), a)))
                for u in sorted(self.ancestor_types.get(t, ())):
                    for b in nodes.get(u, []):
                        in_ab = z3.Select(self.ancestors(t, a, u), b)
                        for v in sorted(self.ancestor_types.get(u, ())):
                            for c in self._entity_terms(v, nodes):
                                anc_ac = self.ancestors(t, a, v)
                                if anc_ac is None:
                                    continue
                                out.append(z3.Implies(z3.And(in_ab, z3.Select(self.ancestors(u, b, v), c)),
                                                      z3.Select(anc_ac, c)))
        return out

    def _entity_terms(self, etype: str, nodes: dict[str, list[z3.ExprRef]]) -> list[z3.ExprRef]:
        lst = list(nodes.get(etype, []))
        for x in self.elements.get(EntityType(etype), []):
            if not any(x.eq(y) for y in lst):
                lst.append(x)
        return lst

    # ------------------------------------------------------------------
    # Readable models and enumeration

    def present(self) -> list[z3.BoolRef]:
        """The entities the policies read exist (a store holding them reads
        best): the first of the `readable` preferences."""
        return [app for kind, _info, _args, app in list(self.apps.values()) if kind == "exists"]

    def readable(self, words: bool = True, tested: Collection[int] = ()) -> list[z3.BoolRef]:
        """Entities that exist (`present`, first), small numbers, short
        strings, dates in this century.  Strings are alphanumeric words
        (with `words`), except the `tested` ones (term ids), and every string
        without `words`: those are short printable strings."""
        out = self.present()
        for ty, v in self.leaves:
            if isinstance(ty, (EntityType, SetType)):
                continue  # (most leaves: nothing to prefer)
            if isinstance(ty, LongType):
                out.append(z3.And(v >= -1000, v <= 1000))
            elif isinstance(ty, StringType):
                out.append(short_alphanumeric(v) if words and v.get_id() not in tested else short_printable(v))
            elif isinstance(ty, ExtensionType) and ty.name == "decimal":
                out.append(z3.And(v >= -10_000_000, v <= 10_000_000))
            elif isinstance(ty, ExtensionType) and ty.name == "datetime":
                out.append(z3.And(v >= 0, v <= 4_102_444_800_000))  # 1970 to 2100
            elif isinstance(ty, ExtensionType) and ty.name == "duration":
                out.append(z3.And(v >= -31_536_000_000, v <= 31_536_000_000))  # a year
        return out

    def different_from(self, model: z3.ModelRef, parts: tuple[str, ...],
                       local: Callable[[z3.ExprRef], z3.ExprRef] | None = None) -> z3.BoolRef:
        """Some observation of the given request parts changes: decoding
        renames ids and reads sets through their named elements, so only such
        differences give a different counterexample.  The formula is in the
        model's context (`local` carries the terms there, when it is another)."""
        nothing = z3.BoolVal(False, model.ctx)

        def changes(e: z3.ExprRef) -> z3.BoolRef:
            here = local(e) if local is not None else e
            return here != model.eval(here, model_completion=True)

        def differs(ty: TermType, e: z3.ExprRef) -> z3.BoolRef:
            if isinstance(ty, EntityType):
                named = [e == self.ids.val(EntityUID(ty.name, i)) for i in sorted(self.literal_ids.get(ty.name, ()))]
                return z3.Or([changes(is_named) for is_named in named] or [nothing])
            if isinstance(ty, SetType):
                return z3.Or([changes(z3.Select(e, to_sorted(ty.elem, x)))
                              for x in self.elements.get(ty.elem, [])] or [nothing])
            if isinstance(ty, RecordType):
                return nothing  # flattened: its parts are leaves of their own
            return changes(e)

        def app_differs(kind: str, info: tuple[Any, ...], app: z3.ExprRef) -> z3.BoolRef:
            # mypy gives lambdas in a dict literal no signature, so calling one is an "untyped call"
            ty = {"anc": lambda: SetType(EntityType(info[1])), "attr": lambda: info[2],
                  "tag": lambda: info[2]}.get(kind, lambda: None)()  # type: ignore[no-untyped-call]
            return differs(ty, app) if ty is not None else changes(app)

        diffs = []
        for part in parts:
            if part == "context":
                diffs += [differs(ty, v) for ty, v in self.leaves
                          if z3.is_const(v) and v.decl().name().startswith("context")]
            elif part == "store":  # what the policies read of any entity, its existence included
                diffs += [app_differs(kind, info, app) for kind, info, args, app in list(self.apps.values())]
            else:
                var = getattr(self, part)
                diffs.append(differs(var.ty, var.val))
                diffs += [app_differs(kind, info, app) for kind, info, args, app in list(self.apps.values())
                          if args[0].eq(var.val)]
        return z3.Or(diffs) if diffs else nothing

    # ------------------------------------------------------------------
    # Pinning to concrete inputs

    def pin(self, request: Request, entities: Entities) -> list[z3.BoolRef]:
        """Constraints fixing the request and every recorded store
        application to the given concrete inputs."""
        env = self.env
        if (request.principal.type, request.action, request.resource.type) != (
                env.principal_type, env.action, env.resource_type):
            raise ValueError(f"request {request} is not in environment {env}")
        out = [self.principal.val == self.ids.val(request.principal),
               self.resource.val == self.ids.val(request.resource)]
        out += pin_record(self.context.val, self.context_type, request.context, self.ids)
        by_type: dict[str, list[Entity]] = {}
        for ent in entities:
            by_type.setdefault(ent.uid.type, []).append(ent)
        strings = None
        for kind, info, args, e in list(self.apps.values()):
            if kind in ("extok", "extval"):
                if strings is None:
                    stored = [x for ent in entities for x in (ent.attrs, ent.tags)]
                    strings = sorted(_strings([request.context, *stored]))
                out += _pin_parse(kind, info, args[0], e, strings, self.ids)
                continue
            out += self._pin_app(kind, info, args, e, by_type.get(info[0], []), entities)
        return out

    def pin_store(self, entities: Entities) -> list[z3.BoolRef]:
        """Constraints fixing every recorded store application to a concrete
        store, leaving the request free.  An extension constructor applied
        to a computed string would need the request's strings: Unsupported."""
        by_type: dict[str, list[Entity]] = {}
        for ent in entities:
            by_type.setdefault(ent.uid.type, []).append(ent)
        out = []
        for kind, info, args, e in list(self.apps.values()):
            if kind in ("extok", "extval"):
                raise Unsupported("an extension constructor applied to a computed string, over a fixed store")
            out += self._pin_app(kind, info, args, e, by_type.get(info[0], []), entities)
        return out

    def _pin_app(self, kind: str, info: tuple[Any, ...], args: tuple[z3.ExprRef, ...], app: z3.ExprRef,
                 ents: list[Entity], entities: Entities) -> list[z3.BoolRef]:
        out = []
        ids = [self.ids.val(x.uid) for x in ents]
        is_x = [args[0] == i for i in ids]
        if kind == "exists":
            return [app == z3.Or(is_x)]
        if kind == "anc":
            atype = info[1]
            out.append(z3.Implies(z3.Not(z3.Or(is_x)), app == z3.K(ID, z3.BoolVal(False))))
            for x, cond in zip(ents, is_x, strict=False):
                anc = sorted(a for a in entities.ancestors(x.uid) if a.type == atype)
                arr = z3.K(ID, z3.BoolVal(False))
                for a in anc:
                    arr = z3.Store(arr, self.ids.val(a), z3.BoolVal(True))
                out.append(z3.Implies(cond, app == arr))
            return out
        if kind in ("attrpresent", "attr"):
            path = info[1]
            for x, cond in zip(ents, is_x, strict=False):
                found, v = _walk(x.attrs, path)
                if kind == "attrpresent":
                    out.append(z3.Implies(cond, app == z3.BoolVal(found)))
                elif found:
                    out.append(z3.Implies(cond, app == const_raw(v, info[2], self.ids)))
            return out
        if kind == "hastag":
            for x, cond in zip(ents, is_x, strict=False):
                out.append(z3.Implies(cond, app == z3.Or([args[1] == string_val(k) for k in x.tags])))
            return out
        if kind in ("tagpresent", "tag"):
            path = info[1]
            for x, cond in zip(ents, is_x, strict=False):
                for k, tv in x.tags.items():
                    found, v = _walk(CedarRecord({"": tv}), ("",) + path)
                    c = z3.And(cond, args[1] == string_val(k))
                    if kind == "tagpresent":
                        out.append(z3.Implies(c, app == z3.BoolVal(found)))
                    elif found:
                        out.append(z3.Implies(c, app == const_raw(v, info[2], self.ids)))
            return out
        raise AssertionError(kind)


def _strings(values: Iterable[object]) -> set[str]:
    """Every string inside the given values."""
    out: set[str] = set()
    todo = list(values)
    while todo:
        v = todo.pop()
        if isinstance(v, str):
            out.add(v)
        elif isinstance(v, CedarRecord):
            todo.extend(v.values())
        elif isinstance(v, CedarSet):
            todo.extend(v)
    return out


def _pin_parse(kind: str, info: tuple[Any, ...], s: z3.SeqRef, app: z3.ExprRef, strings: list[str],
               ids: Ids) -> list[z3.BoolRef]:
    """Fix an extension constructor's parse of s on every concrete string
    (under a pin, s is one of them)."""
    import cedarscope.lang.values as lv

    out = []
    for text in strings:
        try:
            v = getattr(lv, info[1]).parse(text)
        except ValueError:
            v = None
        is_text = s == string_val(text)
        if kind == "extok":
            out.append(z3.Implies(is_text, app == z3.BoolVal(v is not None)))
        elif v is not None:
            out.append(z3.Implies(is_text, app == const_raw(v, info[2], ids)))
    return out


def _walk(rec: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    v = rec
    for k in path:
        if not isinstance(v, CedarRecord) or k not in v:
            return False, None
        v = v[k]
    return True, v


def pin_record(raw: dict[str, tuple[z3.BoolRef, Raw]], ty: RecordType, rec: CedarRecord, ids: Ids) -> list[z3.BoolRef]:
    extra = set(rec) - {k for k, _ in ty.attrs}
    if extra:
        raise ValueError(f"context has undeclared attributes {sorted(extra)}")
    out = []
    for k, a in ty.attrs:
        present, v = raw[k]
        if k not in rec:
            if a.required:
                raise ValueError(f"context lacks required attribute {k}")
            out.append(z3.Not(present))
            continue
        out.append(present)
        if isinstance(a.type, RecordType):
            out += pin_record(v, a.type, rec[k], ids)
        else:
            out.append(v == const_raw(rec[k], a.type, ids))
    return out
