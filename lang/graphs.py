"""Small directed graphs: the memberOf relation on entity types, and action
groups.

Such graphs have a handful of nodes, so two dicts (successors and
predecessors of each node) are all they need (a graph library cost more to import than every
question asked of it).  Everything here is deterministic: nodes and
successors are visited in the order they were first given, so the cycle a
schema error names and the chain of types a counterexample builds are the
same on every run.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

N = TypeVar("N", bound=Hashable)


@dataclass(frozen=True)
class Digraph(Generic[N]):
    """A directed graph: each node's successors and predecessors, both in
    the order their edges were first given.  Every node is a key of both,
    also one that is only ever named at the end of an edge."""

    successors: dict[N, list[N]]
    predecessors: dict[N, list[N]]

    @classmethod
    def of(cls, adjacency: Iterable[tuple[N, Iterable[N]]]) -> Digraph[N]:
        """The graph with an edge from each node to each of its successors.
        Nodes are kept in the order first named, as node or as successor."""
        succ: dict[N, list[N]] = {}
        pred: dict[N, list[N]] = {}
        for node, successors in adjacency:
            out = succ.setdefault(node, [])
            pred.setdefault(node, [])
            for s in successors:
                succ.setdefault(s, [])
                if s not in out:
                    out.append(s)
                    pred.setdefault(s, []).append(node)
        return cls(succ, pred)

    @property
    def nodes(self) -> list[N]:
        return list(self.successors)

    def reversed(self) -> Digraph[N]:
        """The same nodes with every edge turned around."""
        return Digraph(self.predecessors, self.successors)

    def reachable(self, start: N) -> frozenset[N]:
        """The nodes reachable from `start` by one or more edges: `start`
        itself only when it is on a cycle."""
        found: set[N] = set()
        todo = list(self.successors.get(start, ()))
        while todo:
            node = todo.pop()
            if node not in found:
                found.add(node)
                todo.extend(self.successors[node])
        return frozenset(found)

    def find_cycle(self) -> list[N] | None:
        """A cycle as the list of its nodes, or None when the graph has none.

        The cycle is the first one a depth-first search meets, starting from
        the nodes in order and following successors in order; it is listed
        from the node where the search closed it."""
        finished: set[N] = set()
        for root in self.successors:
            if root in finished:
                continue
            path = [root]  # the nodes on the search's current path
            on_path = {root}
            todo = [iter(self.successors[root])]
            while todo:
                for succ in todo[-1]:
                    if succ in on_path:
                        return path[path.index(succ):]
                    if succ not in finished:
                        path.append(succ)
                        on_path.add(succ)
                        todo.append(iter(self.successors[succ]))
                        break
                else:  # every successor done: leave the node
                    done = path.pop()
                    on_path.discard(done)
                    finished.add(done)
                    todo.pop()
        return None

    def shortest_path(self, source: N, target: N) -> list[N] | None:
        """A path from `source` to `target` with the fewest edges (`[source]`
        when they are equal), or None when there is none.

        The search grows a frontier forward from `source` and one backward
        from `target`, a level at a time, always the smaller one (forward on
        a tie), successors and predecessors in order; the path is the first
        one found where the two meet.  Among several shortest paths that
        choice is fixed, so the result is too."""
        if source == target:
            return [source]
        if source not in self.successors or target not in self.successors:
            return None
        came_from: dict[N, N | None] = {source: None}  # forward: node -> the node before it
        goes_to: dict[N, N | None] = {target: None}  # backward: node -> the node after it
        forward, backward = [source], [target]
        while forward and backward:
            if len(forward) <= len(backward):
                forward, meet = _grow(forward, self.successors, came_from, goes_to)
            else:
                backward, meet = _grow(backward, self.predecessors, goes_to, came_from)
            if meet is not None:
                return _join(meet, came_from, goes_to)
        return None


def _grow(frontier: list[N], edges: dict[N, list[N]], seen: dict[N, N | None],
          other: dict[N, N | None]) -> tuple[list[N], N | None]:
    """One level of a search: the next frontier, and the first node where the
    search meets the other side's (None when it does not)."""
    grown: list[N] = []
    for node in frontier:
        for succ in edges[node]:
            if succ not in seen:
                seen[succ] = node
                grown.append(succ)
            if succ in other:
                return grown, succ
    return grown, None


def _join(meet: N, came_from: dict[N, N | None], goes_to: dict[N, N | None]) -> list[N]:
    """The path through `meet`: back to the source, then on to the target."""
    path: list[N] = []
    node: N | None = meet
    while node is not None:
        path.append(node)
        node = came_from[node]
    path.reverse()
    node = goes_to[meet]
    while node is not None:
        path.append(node)
        node = goes_to[node]
    return path
