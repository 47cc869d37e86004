"""`count` (analyzer.counting): requests of a bounded universe allowed,
gained and lost.

The issue's bar: on a small store, the counts equal those from enumerating
every request with cedarpy (every principal and resource of the store, and
every context the schema allows: the contexts here are finite, so a pair
counts when some context gives it the decision, as `count` defines)."""

from __future__ import annotations

import itertools
import json

import pytest
from click.testing import CliRunner

from cedarscope.analyzer.cli import cli
from cedarscope.analyzer.counting import Universe, count
from cedarscope.analyzer.solving import Options
from cedarscope.lang.entities import parse_entities
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.schema import parse_schema, schema_to_json

cedarpy = pytest.importorskip("cedarpy")

SCHEMA = """
entity Org;
entity Team in [Org] { budget: Long };
entity User in [Team] { level: Long, tags: Set<String> };
entity Doc { owner: User, public: Bool, team?: Team };
action view appliesTo { principal: User, resource: Doc, context: { mfa: Bool, internal: Bool } };
action edit appliesTo { principal: User, resource: Doc, context: { mfa: Bool } };
action delete appliesTo { principal: User, resource: Doc };
"""

OLD = """
permit(principal, action == Action::"view", resource) when { resource.public || resource.owner == principal };
permit(principal, action == Action::"edit", resource) when { resource.owner == principal && context.mfa };
permit(principal in Org::"acme", action == Action::"delete", resource) when { principal.level > 3 };
forbid(principal, action, resource) when { principal.tags.contains("suspended") };
"""

NEW = """
permit(principal, action == Action::"view", resource)
  when { resource.public || (resource has team && principal in resource.team) || context.internal };
permit(principal, action == Action::"edit", resource) when { resource.owner == principal };
permit(principal in Team::"ops", action == Action::"delete", resource) when { principal.level > 1 };
permit(principal, action == Action::"delete", resource) when { resource.owner.level > 4 };
forbid(principal, action == Action::"edit", resource) unless { context.mfa || principal.level >= 5 };
forbid(principal, action, resource) when { principal.tags.contains("suspended") };
"""


def _user(uid, level, teams, tags=()):
    return {"uid": {"type": "User", "id": uid}, "attrs": {"level": level, "tags": list(tags)},
            "parents": [{"type": "Team", "id": t} for t in teams]}


def _doc(uid, owner, public, team=None):
    attrs = {"owner": {"__entity": {"type": "User", "id": owner}}, "public": public}
    if team:
        attrs["team"] = {"__entity": {"type": "Team", "id": team}}
    return {"uid": {"type": "Doc", "id": uid}, "attrs": attrs, "parents": []}


STORE = [
    {"uid": {"type": "Org", "id": "acme"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Team", "id": "ops"}, "attrs": {"budget": 5}, "parents": [{"type": "Org", "id": "acme"}]},
    {"uid": {"type": "Team", "id": "dev"}, "attrs": {"budget": 9}, "parents": [{"type": "Org", "id": "acme"}]},
    {"uid": {"type": "Team", "id": "solo"}, "attrs": {"budget": 0}, "parents": []},
    _user("alice", 5, ["ops"]),
    _user("bob", 2, ["dev"], ["suspended"]),
    _user("carol", 4, ["dev"]),
    _user("dan", 1, ["solo"]),
    _user("erin", 2, ["ops"]),
    _doc("plan", "alice", False, "ops"),
    _doc("notes", "bob", True),
    _doc("memo", "carol", False, "dev"),
    _doc("draft", "dan", False),
    _doc("orphan", "ghost", True),  # its owner is not in the store: reading ghost's level errors
]


def contexts(schema, action):
    """Every context the action's (all-Bool) context type allows."""
    attrs = [name for name, _ in schema.actions[action].context.attrs]
    for values in itertools.product([False, True], repeat=len(attrs)):
        yield dict(zip(attrs, values, strict=True))


def cedarpy_counts(schema, store, policies, old=None):
    """Per environment: the (principal, resource) pairs some context makes
    allowed (and gained, lost), by asking cedarpy about every request."""
    users = [e["uid"]["id"] for e in store if e["uid"]["type"] == "User"]
    docs = [e["uid"]["id"] for e in store if e["uid"]["type"] == "Doc"]
    schema_json = json.dumps(schema_to_json(schema))
    out = {}
    for env in schema.environments():
        requests, keys = [], []
        for u, d in itertools.product(users, docs):
            for ctx in contexts(schema, env.action):
                requests.append({"principal": f'User::"{u}"', "action": str(env.action),
                                 "resource": f'Doc::"{d}"', "context": ctx})
                keys.append((u, d))

        def decisions(text, requests=requests):
            results = cedarpy.is_authorized_batch(requests, text, json.dumps(store), schema_json)
            return [r.decision == cedarpy.Decision.Allow for r in results]

        new_allowed = decisions(policies)
        tallies = {"allowed": {k for k, a in zip(keys, new_allowed, strict=True) if a}}
        if old is not None:
            old_allowed = decisions(old)
            tallies["gained"] = {k for k, a, b in zip(keys, old_allowed, new_allowed, strict=True) if b and not a}
            tallies["lost"] = {k for k, a, b in zip(keys, old_allowed, new_allowed, strict=True) if a and not b}
        out[str(env.action)] = tallies
    return out


def test_counts_equal_cedarpy_enumerating_every_request():
    schema = parse_schema(SCHEMA)
    store = parse_entities(json.dumps(STORE), "store.json", schema)
    report = count(schema, parse_policies(NEW, "new.cedar"), Universe.of_store(store, "store.json"), Options(),
                   old=parse_policies(OLD, "old.cedar"))
    expected = cedarpy_counts(schema, STORE, NEW, OLD)
    assert report.verdict == "holds"
    seen = {}
    for row in report.rows:
        assert (row.principals, row.resources) == (5, 5)
        for t in row.tallies:
            pairs = expected[str(row.environment.action)][t.kind]
            assert t.exact and t.requests == len(pairs), (row.environment, t.kind, t.requests, len(pairs))
            assert {u.id for u in t.principals} == {u for u, _ in pairs}
            assert {d.id for d in t.resources} == {d for _, d in pairs}
            seen[(str(row.environment.action), t.kind)] = t.requests
    print(f"\ncounts (each equal to cedarpy's over every request): {seen}")
    assert sum(seen.values()) > 0 and any(seen[k] for k in seen if k[1] == "gained") \
        and any(seen[k] for k in seen if k[1] == "lost")


def test_a_count_past_the_cap_is_a_bound():
    schema = parse_schema(SCHEMA)
    store = parse_entities(json.dumps(STORE), "store.json", schema)
    report = count(schema, parse_policies(NEW), Universe.of_store(store), Options(action="view"), cap=3)
    [row] = report.rows
    [t] = row.tallies
    assert (t.requests, t.exact, t.outcome) == (3, False, "capped") and t.number() == "at least 3"
    assert report.verdict == "holds" and report.totals()[0].outcome == "capped"


def test_a_generic_universe_counts_what_some_store_allows():
    schema = parse_schema(SCHEMA)
    ps = parse_policies('permit(principal == User::"alice", action == Action::"delete", resource);\n'
                        'permit(principal, action == Action::"view", resource) when { resource.public };')
    report = count(schema, ps, Universe.generic(3), Options())
    by_action = {str(row.environment.action): row.tallies[0] for row in report.rows}
    assert by_action['Action::"view"'].requests == 9  # some store makes each document public
    assert by_action['Action::"delete"'].requests == 0  # alice is not among user1..user3
    assert by_action['Action::"edit"'].requests == 0


def test_cli_count(tmp_path):
    (tmp_path / "s.cedarschema").write_text(SCHEMA)
    (tmp_path / "old.cedar").write_text(OLD)
    (tmp_path / "new.cedar").write_text(NEW)
    (tmp_path / "store.json").write_text(json.dumps(STORE))
    args = ["count", str(tmp_path / "new.cedar"), "-s", str(tmp_path / "s.cedarschema"), "-e",
            str(tmp_path / "store.json"), "--old", str(tmp_path / "old.cedar")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "gained:" in result.output and "of 5 principals on" in result.output
    assert result.output.startswith("cedarscope count: counted (")  # count's words: no property holds here
    data = json.loads(CliRunner().invoke(cli, [*args, "-f", "json"]).output)
    assert data["command"] == "count" and data["universe"] == {"description": str(tmp_path / "store.json"),
                                                              "principals": 5, "resources": 5}
    assert set(data["counts"][0]) == {"environment", "universe", "context", "allowed", "gained", "lost"}
    bad = CliRunner().invoke(cli, args[:4])  # no universe
    assert bad.exit_code == 2 and "--entities" in bad.output
