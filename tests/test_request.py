"""Requests: the JSON forms of principal/action/resource (uid objects or
Cedar entity literals), schema-directed context, request validation, and the
round trip."""

import pytest

from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.request import Request, parse_request, request_to_json, validate_request
from cedarscope.lang.schema import parse_schema
from cedarscope.lang.values import CedarRecord, CedarSet, Decimal, EntityUID, IPAddr

SCHEMA = parse_schema("""
    namespace App {
      entity User; entity Doc; entity Level enum ["low", "high"];
      action view appliesTo { principal: User, resource: [Doc, Level],
                              context: { ip: ipaddr, score?: decimal, who?: User, tags?: Set<String> } };
    }
""")

VIEW = 'App::Action::"view"'


def test_entity_literal_strings_and_uid_objects():
    r = parse_request({
        "principal": 'App::User::"alice"',
        "action": {"type": "App::Action", "id": "view"},
        "resource": {"__entity": {"type": "App::Doc", "id": "d"}},
        "context": {"n": 1},
    })
    assert r == Request(EntityUID("App::User", "alice"), EntityUID("App::Action", "view"),
                        EntityUID("App::Doc", "d"), CedarRecord({"n": 1}))


def test_missing_context_is_empty():
    r = parse_request({"principal": 'U::"a"', "action": 'Action::"v"', "resource": 'U::"b"'})
    assert r.context == CedarRecord()


def test_context_is_read_as_the_actions_context_type():
    r = parse_request({
        "principal": 'App::User::"a"', "action": VIEW, "resource": 'App::Doc::"d"',
        "context": {"ip": "10.0.0.1", "score": "0.75", "who": {"type": "App::User", "id": "b"}, "tags": ["x"]},
    }, schema=SCHEMA)
    assert r.context == CedarRecord({
        "ip": IPAddr.parse("10.0.0.1"), "score": Decimal.parse("0.75"),
        "who": EntityUID("App::User", "b"), "tags": CedarSet(["x"]),
    })


@pytest.mark.parametrize("obj, message", [
    ({"principal": "User::alice", "action": 'Action::"v"', "resource": 'U::"b"'},
     "principal: error: invalid entity literal"),
    ({"principal": 'U::"a"', "action": 'Action::"v"', "resource": "App::Doc::d"},
     'an entity literal quotes its id: App::Doc::"d", in JSON App::Doc::\\"d\\"'),
    ({"action": 'Action::"v"', "resource": 'U::"b"'}, "missing field `principal`"),
    ({"principal": 'U::"a"', "action": {"type": "Action"}, "resource": 'U::"b"'},
     "action: error: expected an entity reference"),
    ({"principal": 'U::"a"', "action": 'Action::"v"', "resource": 'U::"b"', "context": []},
     "context: error: expected the context"),
    ({"principal": 'U::"a"', "action": 'Action::"v"', "resource": 'U::"b"', "bogus": 1}, "unknown field `bogus`"),
])
def test_bad_requests_are_located_errors(obj, message):
    with pytest.raises(CedarError) as info:
        parse_request(obj, "req.json")
    assert str(info.value).startswith("req.json: ") and message in str(info.value)


def test_context_that_does_not_conform_is_an_error_when_read_with_the_schema():
    with pytest.raises(CedarError, match=r"context\.ip: error: expected ipaddr, got Long"):
        parse_request({"principal": 'App::User::"a"', "action": VIEW, "resource": 'App::Doc::"d"',
                       "context": {"ip": 1}}, "req.json", SCHEMA)


def request(principal='App::User::"a"', action=VIEW, resource='App::Doc::"d"', **context):
    return parse_request({"principal": principal, "action": action, "resource": resource,
                          "context": context})


def messages(r):
    return [d.one_line() for d in validate_request(r, SCHEMA, "req.json")]


def test_a_valid_request_has_no_diagnostics():
    assert messages(request(ip={"__extn": {"fn": "ip", "arg": "::1"}})) == []


@pytest.mark.parametrize("r, expected", [
    (request(action='App::Action::"edit"'),
     'req.json: action: error: request\'s action `App::Action::"edit"` is not declared in the schema'),
    (request(principal='App::Doc::"x"', ip={"__extn": {"fn": "ip", "arg": "::1"}}),
     'req.json: principal: error: principal type `App::Doc` is not valid for `App::Action::"view"`'),
    (request(resource='App::Level::"mid"', ip={"__extn": {"fn": "ip", "arg": "::1"}}),
     'req.json: resource: error: entity `App::Level::"mid"` is of an enumerated type,'
     ' but `mid` is not one of its values'),
    (request(), "req.json: context: error: missing required attribute `ip`"),
    (request(ip="::1"), "req.json: context.ip: error: expected ipaddr, got String"),
    (request(ip={"__extn": {"fn": "ip", "arg": "::1"}}, extra=1),
     "req.json: context.extra: error: attribute `extra` is not declared"),
])
def test_validation_problems(r, expected):
    assert messages(r) == [expected]


def test_request_to_json_reads_back():
    r = parse_request({"principal": 'App::User::"a"', "action": VIEW, "resource": 'App::Doc::"d"',
                       "context": {"ip": "10.0.0.0/8", "score": "1.5", "who": {"type": "App::User", "id": "b"}}},
                      schema=SCHEMA)
    as_json = request_to_json(r)
    assert as_json["principal"] == {"type": "App::User", "id": "a"}
    assert parse_request(as_json) == r
    assert parse_request(as_json, schema=SCHEMA) == r


# --------------------------------------------------------------------------
# Differential: a mutated corpus request is valid iff Cedar can build it

REQUEST_JUNK = [None, 1.5, [], {}, "x", "", 2**63, -1, 0, True, {"__extn": {"fn": "decimal", "arg": "1.0"}},
                {"__extn": {"fn": "ip", "arg": "1.2.3.4"}}, "1.0", "1.2.3.4", "2024-01-01", "1h",
                {"__entity": {"type": "a", "id": ""}}, {"type": "a", "id": ""}, {"type": "Action", "id": "action"},
                [1], ["x"], {"a": 1}, {"fn": "decimal", "arg": "1.0"}, {"type": "a", "id": "x"},
                {"type": "Q", "id": ""}]


def _is_uid(v) -> bool:
    return isinstance(v, dict) and set(v) == {"type", "id"} and all(isinstance(x, str) for x in v.values())


def _agrees_with_cedar_on_mutants(count: int, seed: int) -> int:
    import copy
    import json
    import random

    from tests.test_entities import _json_paths, _replace, _tarball_files, _tarball_tests

    cedarpy = pytest.importorskip("cedarpy")
    list(_tarball_tests(step=1))  # skips when the corpus is absent
    files = _tarball_files()
    tests = [json.loads(text) for name, text in sorted(files.items())
             if name.endswith(".json") and not name.endswith(".entities.json")][::4]
    rnd = random.Random(seed)
    checked = 0
    while checked < count:
        test = rnd.choice(tests)
        schema_text = files[test["schema"]]
        original = {k: rnd.choice(test["requests"])[k] for k in ("principal", "action", "resource", "context")}
        at = rnd.choice([p for p in _json_paths(original) if p])
        mutated = _replace(copy.deepcopy(original), at, copy.deepcopy(rnd.choice(REQUEST_JUNK)))
        scope_uids = all(_is_uid(mutated[k]) for k in ("principal", "action", "resource"))
        if not isinstance(mutated["context"], dict) or not scope_uids:
            continue  # not a request Cedar's API takes at all
        response = cedarpy.is_authorized(mutated, "permit(principal, action, resource);", [], schema_text)
        theirs = next((e for e in response.diagnostics.errors if "failed to build request" in e), None)
        try:
            schema = parse_schema(schema_text)
            problems = validate_request(parse_request(mutated, "r", schema), schema)
            mine = problems[0].one_line() if problems else None
        except CedarError as e:
            mine = str(e)
        assert (theirs is None) == (mine is None), f"{test['schema']} {at}: cedar: {theirs}; ours: {mine}"
        checked += 1
    return checked


def test_mutated_requests_valid_iff_cedar_builds_them():
    assert _agrees_with_cedar_on_mutants(300, seed=1) == 300


@pytest.mark.slow
def test_mutated_requests_valid_iff_cedar_builds_them_long():
    assert _agrees_with_cedar_on_mutants(5000, seed=2) == 5000
