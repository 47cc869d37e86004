"""One entity's data: its uid, attributes, direct parents and tags.

Kept apart from the store (`lang.entities`) so that the schema, which adds
its actions to every store as entities, can make them without importing the
store's JSON reader (which itself reads against a schema).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cedarscope.lang.values import CedarRecord, EntityUID


@dataclass(frozen=True)
class Entity:
    uid: EntityUID
    attrs: CedarRecord = field(default_factory=CedarRecord)
    parents: frozenset[EntityUID] = frozenset()
    tags: CedarRecord = field(default_factory=CedarRecord)
