"""Concrete semantics stay linear: deep hierarchies, long strings, big sets.

`Entities` answers `in` from one walk up an entity's parents, never from
the whole store's closure (n²/2 pairs for an n-deep chain); a cycle is found
by one walk over the store; string literals cost no per-character regex
state; sets store no key objects beside their strings, Longs and uids.
"""

from __future__ import annotations

import json
import time
import tracemalloc

from cedarscope.lang.authorizer import is_authorized
from cedarscope.lang.entities import Entities, Entity, parse_entities
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.request import Request
from cedarscope.lang.values import CedarRecord, CedarSet, EntityUID, value_eq, value_key

DEPTH = 20_000


def chain(depth: int, back_edge: bool = False) -> list[dict]:
    """Group::"g0" in g1 in ... in g<depth-1> (and g<depth-1> in g0 when asked)."""
    data = [{"uid": {"type": "Group", "id": f"g{i}"}, "attrs": {},
             "parents": [{"type": "Group", "id": f"g{i + 1}"}] if i + 1 < depth else []}
            for i in range(depth)]
    if back_edge:
        data[-1]["parents"] = [{"type": "Group", "id": "g0"}]
    return data


def test_in_over_a_20000_deep_chain_is_linear():
    started = time.process_time()
    store = parse_entities(json.dumps(chain(DEPTH)), "chain.json")
    top, bottom = EntityUID("Group", f"g{DEPTH - 1}"), EntityUID("Group", "g0")
    ps = parse_policies(f'permit (principal in Group::"g{DEPTH - 1}", action, resource);\n'
                        'forbid (principal in Group::"nowhere", action, resource);')
    request = Request(bottom, EntityUID("Action", "view"), top)
    assert is_authorized(request, store, ps).decision == "allow"
    assert len(store.ancestors(bottom)) == DEPTH - 1 and store.ancestors(top) == frozenset()
    # quadratic work over 20,000 levels (200 million steps) would take minutes
    assert time.process_time() - started < 20


def test_ancestors_are_walked_once_per_entity(monkeypatch):
    store = Entities(Entity(EntityUID("G", str(i)), parents=frozenset({EntityUID("G", str(i + 1))}))
                     for i in range(100))
    walks = []
    original = Entities._walk_up
    monkeypatch.setattr(Entities, "_walk_up", lambda self, uid: walks.append(uid) or original(self, uid))
    for _ in range(3):
        assert EntityUID("G", "99") in store.ancestors(EntityUID("G", "0"))
    assert walks == [EntityUID("G", "0")]


def test_a_cycle_in_a_deep_chain_is_found_and_named_deterministically():
    import pytest

    from cedarscope.lang.diagnostics import CedarError

    with pytest.raises(CedarError) as info:
        parse_entities(json.dumps(chain(DEPTH, back_edge=True)), "cycle.json")
    assert "`Group::\"g0\"` is its own ancestor" in str(info.value)
    store = Entities([Entity(EntityUID("A", "b"), parents=frozenset({EntityUID("A", "c")})),
                      Entity(EntityUID("A", "c"), parents=frozenset({EntityUID("A", "b")})),
                      Entity(EntityUID("A", "a"), parents=frozenset({EntityUID("A", "b")}))])
    assert store.find_cycle() == EntityUID("A", "b")
    assert Entities(chain_entities(50)).find_cycle() is None


def chain_entities(n: int) -> list[Entity]:
    return [Entity(EntityUID("G", str(i)), parents=frozenset({EntityUID("G", str(i + 1))})) for i in range(n)]


def test_a_1mb_string_literal_is_parsed_in_little_memory():
    text = 'permit (principal, action, resource) when { context.s == "' + "ab" * 500_000 + '" };'
    tracemalloc.start()
    try:
        parse_policies(text, "long.cedar")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MiB to parse a 1 MB literal"


def test_set_and_record_keys_keep_cedar_equality():
    assert not value_eq(True, 1) and not value_eq(1, "1") and value_eq(EntityUID("A", "x"), EntityUID("A", "x"))
    assert len(CedarSet([True, 1, "1", EntityUID("A", "1")])) == 4
    assert CedarSet(["b", "a", "b"]) == CedarSet(["a", "b"]) and list(CedarSet(["b", "a"])) == ["a", "b"]
    assert list(CedarSet([2, 10, 1])) == [1, 2, 10]
    assert CedarRecord({"a": 1, "b": CedarSet([1])}) == CedarRecord({"b": CedarSet([1]), "a": 1})
    assert CedarRecord({"a": 1}) != CedarRecord({"a": True})
    assert hash(CedarSet([CedarRecord({"a": 1})])) == hash(CedarSet([CedarRecord({"a": 1})]))
    big = CedarSet(f"s{i}" for i in range(1000))
    assert all(value_key(s) is s for s in big._keys)  # no tagged tuple per string
