"""Name resolution: unresolved declarations -> a `Schema`."""

from __future__ import annotations

from cedarscope.lang.schema.declarations import ActionDef, EntityTypeDef, Schema
from cedarscope.lang.schema.raw import (
    EXTENSIONS,
    PRIMITIVES,
    RawAction,
    RawEntity,
    RawNamespace,
    RawRecord,
    RawSet,
    RawType,
    Where,
)
from cedarscope.lang.schema.types import (
    Attribute,
    BoolType,
    CedarType,
    EntityType,
    ExtensionType,
    LongType,
    RecordType,
    SetType,
    StringType,
    record_type,
)
from cedarscope.lang.values import EntityUID

# Name resolution (Cedar's rules): an unqualified name `T` written in
# namespace `NS` is the common type `NS::T`, else the entity type `NS::T`,
# else the common type `T` of the empty namespace, else the entity type `T`,
# else the built-in `__cedar::T`.  A qualified name is absolute.  A
# namespace may not redeclare a name of the empty namespace.


def _shadows(qualified: str, name: str) -> str:
    return f"definition of `{qualified}` illegally shadows the existing definition of `{name}`"


class Resolver:
    def __init__(self, namespaces: list[RawNamespace]):
        self.namespaces = namespaces
        self.common: dict[str, tuple[RawType, Where, RawNamespace]] = {}
        self.entity_names: dict[str, Where] = {}
        self.action_names: set[EntityUID] = set()
        self.resolved_common: dict[str, CedarType] = {}
        self.resolving: list[str] = []
        empty = next((ns for ns in namespaces if ns.name == ""), None)
        empty_names = set(empty.common) | set(empty.entities) if empty else set()
        for ns in namespaces:
            if "__cedar" in ns.name.split("::"):
                raise ns.where.error("use of the reserved `__cedar` namespace")
            for name, (raw, where) in ns.common.items():
                if name == "__cedar":
                    raise where.error("use of the reserved `__cedar` namespace")
                if ns.name and name in empty_names:
                    raise where.error(_shadows(ns.qualify(name), name))
                self.common[ns.qualify(name)] = (raw, where, ns)
            for name, entity in ns.entities.items():
                if name == "__cedar":
                    raise entity.where.error("use of the reserved `__cedar` namespace")
                if name == "Action":
                    # `Action` is the type of the namespace's actions.
                    raise entity.where.error("entity type `Action` declared in `entityTypes` list")
                if ns.name and name in empty_names:
                    raise entity.where.error(_shadows(ns.qualify(name), name))
                self.entity_names[ns.qualify(name)] = entity.where
            for name in ns.actions:
                self.action_names.add(EntityUID(ns.action_type, name))
        # An action entity type may be named as an attribute's type.
        self.action_types = {uid.type for uid in self.action_names}

    def schema(self) -> Schema:
        schema = Schema()
        for ns in self.namespaces:
            for name, (_raw, where) in ns.common.items():
                self.common_type(ns.qualify(name), where)
            for name, raw in ns.entities.items():
                schema.entity_types[ns.qualify(name)] = self.entity_type(ns, raw)
            for declared in ns.actions.values():
                action = self.action(ns, declared)
                schema.actions[action.uid] = action
        self.check_action_groups(schema)
        return schema

    def entity_type(self, ns: RawNamespace, raw: RawEntity) -> EntityTypeDef:
        shape = RecordType()
        if raw.shape is not None:
            declared = self.type(raw.shape, ns)
            if not isinstance(declared, RecordType):
                raise raw.where.error(
                    f"the shape of entity type `{ns.qualify(raw.name)}` must be a record, not {declared}")
            shape = declared
        tags = self.type(raw.tags, ns) if raw.tags is not None else None
        member_of = tuple(dict.fromkeys(self.entity_ref(n, w, ns) for n, w in raw.member_of))
        return EntityTypeDef(ns.qualify(raw.name), member_of, shape, tags, raw.enum)

    def action(self, ns: RawNamespace, raw: RawAction) -> ActionDef:
        uid = EntityUID(ns.action_type, raw.name)
        member_of = tuple(dict.fromkeys(self.action_ref(t, i, w, ns) for t, i, w in raw.member_of))
        principals = tuple(dict.fromkeys(self.entity_ref(n, w, ns) for n, w in raw.principals))
        resources = tuple(dict.fromkeys(self.entity_ref(n, w, ns) for n, w in raw.resources))
        context = RecordType()
        if raw.context is not None:
            declared = self.type(raw.context, ns)
            if not isinstance(declared, RecordType):
                raise raw.where.error(f"context for action {uid} is declared with a type other than `Record`")
            context = declared
        return ActionDef(uid, member_of, principals, resources, context)

    def check_action_groups(self, schema: Schema) -> None:
        cycle = schema.action_graph().find_cycle()
        if cycle is None:
            return
        uid = cycle[0]
        raise _action_where(self.namespaces, uid).error(f"cycle in action hierarchy containing `{uid}`")

    # References

    def entity_ref(self, name: str, where: Where, ns: RawNamespace, actions: bool = False) -> str:
        """An entity type name: `NS::name` if declared, else `name`.  Action
        entity types count only where a value's type is meant (`actions`)."""
        declared = self.entity_names.keys() | (self.action_types if actions else set())
        if "::" not in name and ns.qualify(name) in declared:
            return ns.qualify(name)
        if name in declared:
            return name
        raise where.error(f"undeclared entity type `{name}`")

    def action_ref(self, type_: str | None, id_: str, where: Where, ns: RawNamespace) -> EntityUID:
        candidates = [EntityUID(ns.action_type, id_)] if type_ is None else []
        if type_ is not None:
            if "::" not in type_:
                candidates.append(EntityUID(ns.qualify(type_), id_))
            candidates.append(EntityUID(type_, id_))
        for uid in candidates:
            if uid in self.action_names:
                return uid
        raise where.error(f"undeclared action: {candidates[-1]}")

    def type(self, raw: RawType, ns: RawNamespace) -> CedarType:
        if isinstance(raw, (BoolType, LongType, StringType)):
            return raw
        if isinstance(raw, RawSet):
            return SetType(self.type(raw.elem, ns))
        if isinstance(raw, RawRecord):
            return record_type({name: Attribute(self.type(t, ns), req) for name, t, req in raw.attrs})
        if raw.kind == "entity":
            return EntityType(self.entity_ref(raw.name, raw.where, ns, actions=True))
        if raw.kind == "extension":
            if raw.name not in EXTENSIONS:
                raise raw.where.error(f"unknown extension type `{raw.name}`")
            return ExtensionType(raw.name)
        return self.named_type(raw.name, raw.where, ns, entities=raw.kind == "any")

    def named_type(self, name: str, where: Where, ns: RawNamespace, entities: bool) -> CedarType:
        if name.startswith("__cedar::"):
            builtin = self.builtin(name.removeprefix("__cedar::"))
            if builtin is None:
                raise where.error(f"failed to resolve type: {name}")
            return builtin
        candidates = [name] if "::" in name else [ns.qualify(name), name]
        for fq in dict.fromkeys(candidates):
            if fq in self.common:
                return self.common_type(fq, where)
            if entities and (fq in self.entity_names or fq in self.action_types):
                return EntityType(fq)
        builtin = self.builtin(name) if "::" not in name else None
        if builtin is None:
            raise where.error(f"failed to resolve type: {name}")
        return builtin

    @staticmethod
    def builtin(name: str) -> CedarType | None:
        if name in PRIMITIVES:
            return PRIMITIVES[name]
        if name in EXTENSIONS:
            return ExtensionType(name)
        return None

    def common_type(self, fq: str, where: Where) -> CedarType:
        if fq in self.resolved_common:
            return self.resolved_common[fq]
        if fq in self.resolving:
            raise where.error(f"cycle in common type references containing `{fq.split('::')[-1]}`")
        raw, _, ns = self.common[fq]
        self.resolving.append(fq)
        resolved = self.type(raw, ns)
        self.resolving.pop()
        self.resolved_common[fq] = resolved
        return resolved


def _action_where(namespaces: list[RawNamespace], uid: EntityUID) -> Where:
    for ns in namespaces:
        if ns.action_type == uid.type and uid.id in ns.actions:
            return ns.actions[uid.id].where
    return namespaces[0].where if namespaces else Where("<schema>")
