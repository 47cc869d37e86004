"""lang/graphs.py against brute force: reachability, cycles, shortest paths."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from cedarscope.lang.graphs import Digraph

NAMES = "ABCDEFG"

# A graph as (node, successors) pairs, some successors named before their own
# entry (as a memberOf may name a type declared further down).
adjacencies = st.lists(
    st.tuples(st.sampled_from(NAMES), st.lists(st.sampled_from(NAMES), max_size=4)),
    max_size=7,
)


def edges(adjacency) -> set[tuple[str, str]]:
    return {(a, b) for a, bs in adjacency for b in bs}


def closure(adjacency) -> set[tuple[str, str]]:
    """Pairs joined by one or more edges (Warshall)."""
    nodes = {n for a, bs in adjacency for n in (a, *bs)}
    reach = edges(adjacency)
    for k, i, j in itertools.product(sorted(nodes), repeat=3):
        if (i, k) in reach and (k, j) in reach:
            reach.add((i, j))
    return reach


def distance(adjacency, source: str, target: str) -> int | None:
    """Fewest edges from source to target, by plain breadth-first search."""
    succ = edges(adjacency)
    level, seen, steps = {source}, {source}, 0
    while level:
        if target in level:
            return steps
        level = {b for a, b in succ if a in level} - seen
        seen |= level
        steps += 1
    return None


@given(adjacencies)
def test_reachable_is_the_transitive_closure(adjacency):
    graph = Digraph.of(adjacency)
    reach = closure(adjacency)
    for n in graph.nodes:
        assert graph.reachable(n) == {b for a, b in reach if a == n}
        assert graph.reversed().reachable(n) == {a for a, b in reach if b == n}


@given(adjacencies)
def test_nodes_and_edges_in_the_order_first_given(adjacency):
    graph = Digraph.of(adjacency)
    first_named = list(dict.fromkeys(n for a, bs in adjacency for n in (a, *bs)))
    assert graph.nodes == first_named
    ordered = list(dict.fromkeys((a, b) for a, bs in adjacency for b in bs))
    for n in graph.nodes:
        assert graph.successors[n] == [b for a, b in ordered if a == n]
        assert graph.predecessors[n] == [a for a, b in ordered if b == n]


@given(adjacencies)
def test_find_cycle_finds_one_exactly_when_there_is_one(adjacency):
    cycle = Digraph.of(adjacency).find_cycle()
    has_cycle = any(a == b for a, b in closure(adjacency))
    assert (cycle is not None) == has_cycle
    if cycle is not None:
        assert len(set(cycle)) == len(cycle)
        steps = zip(cycle, cycle[1:] + cycle[:1], strict=True)
        assert all(step in edges(adjacency) for step in steps)


@given(adjacencies, st.sampled_from(NAMES), st.sampled_from(NAMES))
def test_shortest_path_has_the_fewest_edges(adjacency, source, target):
    graph = Digraph.of(adjacency)
    path = graph.shortest_path(source, target)
    if source not in graph.successors and source != target:
        assert path is None
        return
    fewest = distance(adjacency, source, target)
    if fewest is None:
        assert path is None
        return
    assert path is not None and path[0] == source and path[-1] == target
    assert len(path) == fewest + 1
    assert all(step in edges(adjacency) for step in zip(path, path[1:], strict=False))


def test_the_cycle_is_named_from_where_the_search_closes_it():
    # The search starts at A and walks A -> B -> C -> D; the edge D -> B
    # closes the cycle at B.
    graph = Digraph.of([("A", ["B"]), ("B", ["C"]), ("C", ["D"]), ("D", ["B"])])
    assert graph.find_cycle() == ["B", "C", "D"]
    assert Digraph.of([("A", ["B"]), ("B", [])]).find_cycle() is None
    assert Digraph.of([("A", ["A"])]).find_cycle() == ["A"]


def test_among_shortest_paths_the_choice_is_fixed():
    # Two shortest paths from U to A, through B or through C.  The forward
    # frontier {B, C} is larger than the backward {A}, so the search grows
    # backward from A and meets first the predecessor whose edge was given
    # first: C (C's entry comes before B's).
    adjacency = [("U", ["B", "C"]), ("C", ["A"]), ("B", ["A"])]
    assert Digraph.of(adjacency).shortest_path("U", "A") == ["U", "C", "A"]
    # With a single successor the forward frontier stays the smaller one.
    assert Digraph.of([("U", ["B"]), ("B", ["A"])]).shortest_path("U", "A") == ["U", "B", "A"]
    assert Digraph.of([("U", [])]).shortest_path("U", "U") == ["U"]
