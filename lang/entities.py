"""Entity data: the store a request is evaluated against.

`Entities` keeps each entity's attributes, direct parents and tags, and
answers `in` with the transitive closure of the parent relation (computed
once with networkx; a cycle is an input error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

import networkx as nx

from lang.values import CedarRecord, EntityUID


@dataclass(frozen=True)
class Entity:
    uid: EntityUID
    attrs: CedarRecord = field(default_factory=CedarRecord)
    parents: frozenset[EntityUID] = frozenset()
    tags: CedarRecord = field(default_factory=CedarRecord)


class Entities:
    """An entity store.  `ancestors(uid)` is the transitive closure of parents."""

    def __init__(self, entities: Iterable[Entity] = ()):
        self._by_uid: dict[EntityUID, Entity] = {}
        for e in entities:
            self._by_uid[e.uid] = e
        self._ancestors: Optional[dict[EntityUID, frozenset[EntityUID]]] = None

    def __contains__(self, uid: EntityUID) -> bool:
        return uid in self._by_uid

    def __iter__(self):
        return iter(self._by_uid.values())

    def __len__(self) -> int:
        return len(self._by_uid)

    def get(self, uid: EntityUID) -> Optional[Entity]:
        return self._by_uid.get(uid)

    def graph(self) -> "nx.DiGraph":
        """Edges child -> parent, for every parent edge in the store."""
        g = nx.DiGraph()
        for e in self._by_uid.values():
            g.add_node(e.uid)
            for p in e.parents:
                g.add_edge(e.uid, p)
        return g

    def ancestors(self, uid: EntityUID) -> frozenset[EntityUID]:
        """Every entity `uid` is transitively in (not including itself).
        Parents named by an entity but absent from the store count too, as in
        Cedar."""
        if self._ancestors is None:
            g = self.graph()
            self._ancestors = {n: frozenset(nx.descendants(g, n)) for n in g.nodes}
        return self._ancestors.get(uid, frozenset())

    def with_entities(self, extra: Iterable[Entity]) -> "Entities":
        """A new store with `extra` added (replacing same-uid entities)."""
        return Entities([*self._by_uid.values(), *extra])
