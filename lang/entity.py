"""One entity's data: its uid, attributes, direct parents and tags.

Kept apart from the store (`lang.entities`) so that the schema, which adds
its actions to every store as entities, can make them without importing the
store's JSON reader (which itself reads against a schema).
"""

from __future__ import annotations

from dataclasses import dataclass

from cedarscope.lang.values import EMPTY_RECORD, CedarRecord, EntityUID


@dataclass(frozen=True, slots=True)
class Entity:
    uid: EntityUID
    attrs: CedarRecord = EMPTY_RECORD  # shared: records are immutable, and most entities have none
    parents: frozenset[EntityUID] = frozenset()
    tags: CedarRecord = EMPTY_RECORD
