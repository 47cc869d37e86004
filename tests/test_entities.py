"""Entities JSON: Cedar's value forms, schema-directed reading, conformance
errors with JSON paths, action entities from the schema, cycles, and the
round trip; checked against cedarpy on the corpus."""

import functools
import json
import tarfile

import pytest

from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.entities import entities_to_json, parse_entities, value_from_json, value_to_json
from cedarscope.lang.schema import EntityType, ExtensionType, LongType, SetType, parse_schema
from cedarscope.lang.values import CedarRecord, CedarSet, Datetime, Decimal, Duration, EntityUID, IPAddr
from tests.support.corpus import CORPUS

SCHEMA = parse_schema("""
    entity Group;
    entity User in [Group] = { age: Long, nick?: String, boss?: User, score?: decimal,
                               ips?: Set<ipaddr>, info?: { when: datetime } };
    entity Doc in [Folder] tags Long;
    entity Folder in [Group];
    entity Color enum ["red", "green"];
    action read appliesTo { principal: User, resource: Doc };
    action write in [read];
""")


def uid(t, i):
    return {"type": t, "id": i}


def user(i="alice", attrs=None, parents=()):
    return {"uid": uid("User", i), "attrs": {"age": 3} if attrs is None else attrs, "parents": list(parents)}


def error_of(data, schema=SCHEMA) -> str:
    with pytest.raises(CedarError) as info:
        parse_entities(json.dumps(data), "entities.json", schema)
    return str(info.value)


# --------------------------------------------------------------------------
# Without a schema


def test_values_in_their_explicit_json_forms():
    v = value_from_json({
        "b": True, "n": -5, "s": "x", "set": [1, 1, 2], "rec": {"a": {}},
        "e": {"__entity": uid("User", "a")},
        "d": {"__extn": {"fn": "decimal", "arg": "1.5"}},
        "ip": {"__extn": {"fn": "ip", "arg": "10.0.0.0/8"}},
        "later": {"__extn": {"fn": "offset", "args": [
            {"__extn": {"fn": "datetime", "arg": "1970-01-01"}}, {"__extn": {"fn": "duration", "arg": "1h"}}]}},
    })
    assert v == CedarRecord({
        "b": True, "n": -5, "s": "x", "set": CedarSet([1, 2]), "rec": CedarRecord({"a": CedarRecord()}),
        "e": EntityUID("User", "a"), "d": Decimal.parse("1.5"), "ip": IPAddr.parse("10.0.0.0/8"),
        "later": Datetime(3_600_000),
    })


def test_without_a_schema_a_uid_shaped_object_is_a_record():
    assert value_from_json(uid("User", "a")) == CedarRecord({"type": "User", "id": "a"})


@pytest.mark.parametrize("obj, message", [
    (1.5, "floating-point number is not a Cedar value"),
    (None, "null is not a Cedar value"),
    (2**63, "out of range for Long"),
    ({"__extn": {"fn": "decimal", "arg": "1.23456"}}, "decimal"),
    ({"__extn": {"fn": "nope", "arg": "1"}}, 'unknown extension function "nope"'),
    ({"__entity": {"type": "User"}}, "expected an entity reference"),
])
def test_bad_values_are_errors_with_their_path(obj, message):
    with pytest.raises(CedarError) as info:
        value_from_json({"a": [obj]}, path="attrs", filename="f.json")
    text = str(info.value)
    assert message in text and text.startswith("f.json: attrs.a[0]")


def test_store_without_schema_keeps_what_is_written():
    store = parse_entities(json.dumps([
        {"uid": uid("User", "a"), "attrs": {"x": 1}, "parents": [uid("Group", "g")], "tags": {"t": "v"}},
        {"uid": {"__entity": uid("Group", "g")}, "attrs": {}, "parents": []},
    ]))
    a = store.get(EntityUID("User", "a"))
    assert a.attrs == CedarRecord({"x": 1}) and a.tags == CedarRecord({"t": "v"})
    assert store.ancestors(EntityUID("User", "a")) == {EntityUID("Group", "g")}
    assert len(store) == 2


@pytest.mark.parametrize("data, message", [
    ({"uid": uid("U", "a")}, "[0]: error: missing field `attrs`"),
    ({"uid": uid("U", "a"), "attrs": {}}, "missing field `parents`"),
    ({"uid": uid("U", "a"), "attrs": {}, "parents": [], "extra": 1}, "[0].extra: error: unknown field `extra`"),
    ({"uid": {"type": "not a name", "id": "a"}, "attrs": {}, "parents": []}, "invalid entity type name"),
    ({"uid": uid("U", "a"), "attrs": {}, "parents": "G"}, "[0].parents: error: expected an array"),
])
def test_malformed_entities(data, message):
    assert message in error_of([data], None)


def test_duplicate_entities_must_be_identical():
    same = user()
    assert len(parse_entities([same, same], schema=SCHEMA)) == 1 + 2  # plus two actions
    assert "duplicate entity entry `User::\"alice\"`" in error_of([same, user(attrs={"age": 4})])


def test_a_cycle_in_parents_is_an_error():
    data = [{"uid": uid("G", "a"), "attrs": {}, "parents": [uid("G", "b")]},
            {"uid": uid("G", "b"), "attrs": {}, "parents": [uid("G", "a")]}]
    assert "a cycle in `parents`" in error_of(data, None)


def test_invalid_json_and_non_utf8_are_located(tmp_path):
    with pytest.raises(CedarError) as info:
        parse_entities('[\n {"uid": }]', "e.json")
    assert (info.value.diagnostics[0].line, info.value.diagnostics[0].column) == (2, 10)
    bad = tmp_path / "e.json"
    bad.write_bytes(b'[{"uid": "\xff"}]')
    from cedarscope.lang.entities import load_entities
    with pytest.raises(CedarError, match="invalid UTF-8"):
        load_entities(bad)


# --------------------------------------------------------------------------
# With a schema


def test_schema_directed_implicit_forms():
    store = parse_entities([user(attrs={
        "age": 30, "boss": uid("User", "bob"), "score": "0.5", "ips": ["1.2.3.4"],
        "info": {"when": {"fn": "datetime", "arg": "2024-01-01"}},
    })], schema=SCHEMA)
    attrs = store.get(EntityUID("User", "alice")).attrs
    assert attrs["boss"] == EntityUID("User", "bob")
    assert attrs["score"] == Decimal.parse("0.5")
    assert attrs["ips"] == CedarSet([IPAddr.parse("1.2.3.4")])
    assert attrs["info"]["when"] == Datetime.parse("2024-01-01")


def test_schema_adds_the_action_entities():
    store = parse_entities([], schema=SCHEMA)
    assert store.ancestors(EntityUID("Action", "write")) == {EntityUID("Action", "read")}


def test_action_entities_in_the_data_must_match_the_schema():
    write = {"uid": uid("Action", "write"), "attrs": {}, "parents": [uid("Action", "read")]}
    parsed = parse_entities([write], schema=SCHEMA).get(EntityUID("Action", "write"))
    assert parsed.parents == {EntityUID("Action", "read")}
    assert "does not match its schema declaration" in error_of([{**write, "parents": []}])
    assert "not declared as an action" in error_of([{"uid": uid("Action", "nope"), "attrs": {}, "parents": []}])


def test_parent_may_have_any_transitive_ancestor_type():
    doc = {"uid": uid("Doc", "d"), "attrs": {}, "parents": [uid("Folder", "f"), uid("Group", "g")]}
    assert len(parse_entities([doc], schema=SCHEMA).get(EntityUID("Doc", "d")).parents) == 2


@pytest.mark.parametrize("data, path, message", [
    ([user(attrs={"age": "3"})], "[0].attrs.age", "expected Long, got String"),
    ([user(attrs={})], "[0].attrs", 'expected entity `User::"alice"` to have attribute `age`'),
    ([user(attrs={"age": 1, "zzz": 1})], "[0].attrs.zzz", "should not exist according to the schema"),
    ([user(attrs={"age": 1, "boss": uid("Group", "g")})], "[0].attrs.boss",
     "expected entity of type User, got entity of type Group"),
    ([user(attrs={"age": 1, "score": 1})], "[0].attrs.score", "expected decimal, got Long"),
    ([user(attrs={"age": 1, "score": {"__extn": {"fn": "ip", "arg": "1.1.1.1"}}})], "[0].attrs.score",
     "expected decimal, got ipaddr"),
    ([user(attrs={"age": 1, "ips": "1.1.1.1"})], "[0].attrs.ips", "expected Set<ipaddr>, got String"),
    ([user(attrs={"age": 1, "info": {}})], "[0].attrs.info", "to have attribute `when`"),
    ([user(parents=[uid("Doc", "d")])], "[0].parents", "not allowed to have an ancestor of type `Doc`"),
    ([{"uid": uid("Nope", "x"), "attrs": {}, "parents": []}], "[0].uid", "entity type `Nope` is not declared"),
    ([{"uid": uid("Color", "blue"), "attrs": {}, "parents": []}], "[0].uid", "is of an enumerated type"),
    ([{"uid": uid("Group", "g"), "attrs": {}, "parents": [], "tags": {"a": 1}}], "[0].tags", "declares none"),
    ([{"uid": uid("Doc", "d"), "attrs": {}, "parents": [], "tags": {"a": "x"}}], "[0].tags.a",
     "expected Long, got String"),
])
def test_conformance_errors_name_the_file_and_json_path(data, path, message):
    err = error_of(data)
    assert err.startswith(f"entities.json: {path}: error: "), err
    assert message in err


def test_one_line_error_form():
    assert error_of([user(), user("bob", attrs={"age": "old"})]) == \
        "entities.json: [1].attrs.age: error: expected Long, got String"


# --------------------------------------------------------------------------
# Writing


def test_entities_to_json_reads_back_to_the_same_store():
    store = parse_entities([
        user(attrs={"age": 1, "score": "1.25", "ips": ["::1", "10.0.0.0/8"], "info": {"when": "2024-05-06T07:08:09Z"}},
             parents=[uid("Group", "g")]),
        {"uid": uid("Doc", "d"), "attrs": {}, "parents": [], "tags": {"n": 5}},
    ], schema=SCHEMA)
    again = parse_entities(json.dumps(entities_to_json(store)), schema=SCHEMA)
    assert sorted(again, key=lambda e: e.uid) == sorted(store, key=lambda e: e.uid)


def test_value_to_json_uses_explicit_escapes():
    assert value_to_json(CedarRecord({"e": EntityUID("A", "b"), "d": Duration(-1), "s": CedarSet([True])})) == {
        "e": {"__entity": {"type": "A", "id": "b"}},
        "d": {"__extn": {"fn": "duration", "arg": "-1ms"}},
        "s": [True],
    }
    far = Datetime(-10**15)  # before year 0: no datetime string reaches it
    assert value_from_json(value_to_json(far)) == far


def test_typed_value_from_json():
    assert value_from_json({"type": "U", "id": "a"}, EntityType("U")) == EntityUID("U", "a")
    assert value_from_json(["1.5"], SetType(ExtensionType("decimal"))) == CedarSet([Decimal.parse("1.5")])
    with pytest.raises(CedarError, match="expected Long, got Bool"):
        value_from_json(True, LongType())


# --------------------------------------------------------------------------
# Corpus


@functools.lru_cache(maxsize=1)
def _tarball_files() -> dict:
    files = {}
    with tarfile.open(CORPUS / "integration-tests" / "corpus-tests.tar.gz") as tar:
        for member in tar:
            if member.isfile() and not member.name.endswith(".cedar"):
                files[member.name] = tar.extractfile(member).read().decode("utf-8")
    return files


def _tarball_tests(step: int):
    path = CORPUS / "integration-tests" / "corpus-tests.tar.gz"
    if not path.exists():
        pytest.skip(f"../shared/corpus not present: {path}")
    files = _tarball_files()
    names = sorted(n for n in files if n.endswith(".entities.json"))[::step]
    for name in names:
        yield name, files[name.replace(".entities.json", ".cedarschema")], files[name]


def _check_tarball_entities(step: int) -> int:
    cedarpy = pytest.importorskip("cedarpy")
    n = 0
    for name, schema_text, entities_text in _tarball_tests(step):
        schema = parse_schema(schema_text)
        store = parse_entities(entities_text, name, schema)
        # Cedar accepts our rendering, and it reads back to the same store.
        rendered = json.dumps(entities_to_json(store))
        cedarpy.Entities.from_json_str(rendered, schema_text)
        again = parse_entities(rendered, name, schema)
        assert sorted(again, key=lambda e: e.uid) == sorted(store, key=lambda e: e.uid), name
        n += 1
    return n


def test_generated_corpus_entities_sample():
    assert _check_tarball_entities(step=40) >= 90


@pytest.mark.slow
def test_generated_corpus_entities_all():
    assert _check_tarball_entities(step=1) == 3957


def test_example_entities_with_their_schemas():
    root = CORPUS / "cedar-examples"
    if not root.is_dir():
        pytest.skip(f"../shared/corpus not present: {root}")
    n = 0
    for schema_path in sorted(root.rglob("*.cedarschema")):
        folder = schema_path.parent
        if folder.name in ("github_example", "document_cloud") or not (folder / "ALLOW").is_dir():
            continue  # entities that do not match their schemas upstream, or not in Cedar's format
        for entities_path in sorted(folder.glob("*entities.json")):
            schema = parse_schema(schema_path.read_text(), str(schema_path))
            parse_entities(entities_path.read_text(), str(entities_path), schema)
            n += 1
    assert n >= 8


def test_action_groups_in_the_data_are_compared_after_closure_over_the_data():
    schema = parse_schema("action v; action w in [v]; action x in [w];")
    x = {"uid": uid("Action", "x"), "attrs": {}, "parents": [uid("Action", "w")]}
    w = {"uid": uid("Action", "w"), "attrs": {}, "parents": [uid("Action", "v")]}
    assert parse_entities([x, w], schema=schema).ancestors(EntityUID("Action", "x")) == {
        EntityUID("Action", "w"), EntityUID("Action", "v")}
    with pytest.raises(CedarError, match="must be in exactly the groups"):
        parse_entities([x], schema=schema)  # as Cedar: `w` is not in the data, so x is not in v
    both = {**x, "parents": [uid("Action", "w"), uid("Action", "v")]}
    assert len(parse_entities([both], schema=schema)) == 3


# --------------------------------------------------------------------------
# Bad input never escapes as anything but a CedarError

JUNK = [None, 1.5, [], {}, "x", 2**64, True, -1, {"__extn": 5}, {"__extn": {"fn": "decimal"}},
        {"__extn": {"fn": ["x"], "arg": "1"}}, {"__extn": {"fn": "offset", "args": [1, 2]}},
        {"__entity": 5}, {"type": "a"}, {"fn": "ip", "arg": "zz"}, {"__expr": "1"},
        [{"__entity": {"type": "a", "id": ""}}]]


def _json_paths(obj, path=()):
    yield path
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        yield from _json_paths(v, path + (k,))


def _replace(obj, path, value):
    if not path:
        return value
    obj[path[0]] = _replace(obj[path[0]], path[1:], value)
    return obj


def _never_crashes(count: int) -> int:
    import copy
    import random

    from cedarscope.lang.request import parse_request, validate_request

    rnd = random.Random(count)
    tests = list(_tarball_tests(step=100))
    checked = 0
    for _ in range(count):
        name, schema_text, entities_text = rnd.choice(tests)
        schema = parse_schema(schema_text)
        entities = json.loads(entities_text)
        request = {"principal": {"type": "a", "id": ""}, "action": {"type": "Action", "id": "action"},
                   "resource": {"type": "a", "id": ""}, "context": {"k": [1, {"n": "x"}]}}
        target = rnd.choice([entities, request])
        path = rnd.choice(list(_json_paths(target)))
        mutated = _replace(copy.deepcopy(target), path, copy.deepcopy(rnd.choice(JUNK)))
        try:
            if target is entities:
                parse_entities(json.dumps(mutated), name, schema)
            else:
                validate_request(parse_request(mutated, name, schema), schema)
        except CedarError as e:
            assert e.diagnostics
        checked += 1
    return checked


def test_mutated_entities_and_requests_give_cedar_errors_only():
    assert _never_crashes(300) == 300


@pytest.mark.slow
def test_mutated_entities_and_requests_give_cedar_errors_only_long():
    assert _never_crashes(20000) == 20000


# --------------------------------------------------------------------------
# Differential: mutated corpus entities are accepted iff Cedar accepts them

VALUE_JUNK = [None, 1.5, [], {}, "x", "", 2**63, 2**63 - 1, -2**63, True, False, -1, 0,
              {"__extn": {"fn": "decimal", "arg": "1.0"}}, {"__extn": {"fn": "ip", "arg": "1.2.3.4"}},
              "1.0", "1.2.3.4", "2024-01-01", "1h", {"__entity": {"type": "a", "id": ""}},
              {"type": "a", "id": ""}, {"type": "Action", "id": "action"}, [1], ["x"], [True, 1], {"a": 1},
              {"fn": "decimal", "arg": "1.0"}, {"__extn": {"fn": "datetime", "arg": "2024-01-01"}},
              {"__extn": {"fn": "duration", "arg": "1d"}}, [{"type": "a", "id": ""}], {"type": "a", "id": "x"}]


def _agrees_with_cedar_on_mutants(count: int, seed: int) -> int:
    import copy
    import random

    cedarpy = pytest.importorskip("cedarpy")
    rnd = random.Random(seed)
    tests = list(_tarball_tests(step=4))
    accepted = 0
    for _ in range(count):
        name, schema_text, entities_text = rnd.choice(tests)
        entities = json.loads(entities_text)
        at = rnd.choice([p for p in _json_paths(entities) if len(p) >= 2] or [()])
        mutated = copy.deepcopy(entities)
        if at and rnd.random() < 0.2:
            parent = mutated
            for key in at[:-1]:
                parent = parent[key]
            del parent[at[-1]]
        else:
            mutated = _replace(mutated, at, copy.deepcopy(rnd.choice(VALUE_JUNK)))
        text = json.dumps(mutated)
        try:
            cedarpy.Entities.from_json_str(text, schema_text)
            theirs = None
        except ValueError as e:
            theirs = str(e)
        try:
            parse_entities(text, name, parse_schema(schema_text))
            mine = None
        except CedarError as e:
            mine = str(e)
        assert (theirs is None) == (mine is None), f"{name} {at}: cedar: {theirs}; ours: {mine}"
        accepted += theirs is None
    return accepted


def test_mutated_entities_accepted_iff_cedar_accepts():
    assert _agrees_with_cedar_on_mutants(400, seed=1) > 0


@pytest.mark.slow
def test_mutated_entities_accepted_iff_cedar_accepts_long():
    assert _agrees_with_cedar_on_mutants(10000, seed=2) > 0
