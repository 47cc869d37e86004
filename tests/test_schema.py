"""Schemas: Cedar schema syntax and JSON format into one model, Cedar's name
resolution, located errors, the derived graphs, and `schema_to_json`;
checked against cedarpy (the official engine) on the corpus schemas."""

import json
import re
import tarfile
from pathlib import Path

import pytest

from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.schema import (
    Attribute,
    BoolType,
    EntityType,
    ExtensionType,
    LongType,
    RecordType,
    RequestEnv,
    SetType,
    StringType,
    parse_schema,
    record_type,
    schema_to_json,
)
from cedarscope.lang.values import EntityUID
from tests.support.corpus import CORPUS


def corpus_or_skip() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared/corpus not present: {CORPUS}")
    return CORPUS


def error_of(text: str, filename: str = "s.cedarschema") -> str:
    with pytest.raises(CedarError) as info:
        parse_schema(text, filename)
    return str(info.value)


def attrs(schema, entity_type):
    return dict(schema.entity_types[entity_type].shape.attrs)


# --------------------------------------------------------------------------
# Cedar schema syntax


def test_entities_with_parents_shapes_optional_attributes_and_tags():
    s = parse_schema("""
        // a comment
        entity Group;
        entity User in [Group] = { name: String, "age"?: Long, friends: Set<User> } tags String;
        entity Doc { owner: User };
    """)
    assert s.entity_types["User"].member_of == ("Group",)
    assert attrs(s, "User") == {
        "age": Attribute(LongType(), False),
        "friends": Attribute(SetType(EntityType("User"))),
        "name": Attribute(StringType()),
    }
    assert s.entity_types["User"].tags == StringType()
    assert s.entity_types["Doc"].tags is None
    assert attrs(s, "Doc") == {"owner": Attribute(EntityType("User"))}


def test_several_entity_names_in_one_declaration_share_it():
    s = parse_schema("entity A, B, C in [A] = { x: Bool };")
    assert [s.entity_types[n].member_of for n in "ABC"] == [("A",)] * 3
    assert attrs(s, "C") == {"x": Attribute(BoolType())}


def test_enum_entities():
    s = parse_schema('entity Color enum ["red", "green"];')
    assert s.entity_types["Color"].enum == ("red", "green")
    assert s.is_enum("Color")


def test_actions_with_several_names_groups_and_applies_to():
    s = parse_schema("""
        entity U; entity D;
        action "read", write in [all] appliesTo { principal: U, resource: [D, U], context: { ip: ipaddr } };
        action all;
    """)
    read = s.actions[EntityUID("Action", "read")]
    assert read.member_of == (EntityUID("Action", "all"),)
    assert read.principal_types == ("U",) and read.resource_types == ("D", "U")
    assert read.context == record_type({"ip": Attribute(ExtensionType("ipaddr"))})
    assert s.actions[EntityUID("Action", "write")].member_of == (EntityUID("Action", "all"),)
    assert s.actions[EntityUID("Action", "all")].principal_types == ()


def test_annotations_are_accepted_and_ignored():
    plain = parse_schema("namespace N { entity U = { a: Long }; action v appliesTo { principal: U, resource: U }; }")
    annotated = parse_schema("""
        @doc("ns") namespace N {
          @doc("user") entity U = { @doc("attr") a: Long };
          @x action v appliesTo { principal: U, resource: U };
        }""")
    assert annotated == plain


def test_builtin_and_extension_types_by_plain_and_cedar_qualified_name():
    s = parse_schema("""entity E = {
        a: Bool, b: __cedar::Bool, c: Long, d: __cedar::String, e: decimal,
        f: __cedar::ipaddr, g: datetime, h: __cedar::duration };""")
    assert [a.type for _, a in s.entity_types["E"].shape.attrs] == [
        BoolType(), BoolType(), LongType(), StringType(), ExtensionType("decimal"),
        ExtensionType("ipaddr"), ExtensionType("datetime"), ExtensionType("duration")]


def test_string_escapes_in_names():
    s = parse_schema(r'entity E = { "a\tb\u{1F600}\0": Long }; action "q\"x";')
    assert attrs(s, "E") == {"a\tb\U0001F600\0": Attribute(LongType())}
    assert EntityUID("Action", 'q"x') in s.actions


def test_keywords_are_names_where_a_name_is_expected():
    s = parse_schema("entity entity = { in: Long, action: String }; entity Set; entity T = { s: Set };")
    assert set(attrs(s, "entity")) == {"in", "action"}
    assert attrs(s, "T") == {"s": Attribute(EntityType("Set"))}


# --------------------------------------------------------------------------
# Name resolution


def test_namespaced_names_and_actions_are_qualified():
    s = parse_schema("""
        namespace App {
          entity User in [Team]; entity Team;
          action view appliesTo { principal: User, resource: Team };
          action edit in [view, App::Action::"view"];
        }""")
    assert s.entity_types["App::User"].member_of == ("App::Team",)
    view = EntityUID("App::Action", "view")
    assert s.actions[view].principal_types == ("App::User",)
    assert s.actions[EntityUID("App::Action", "edit")].member_of == (view,)


def test_common_type_wins_over_entity_type_of_the_same_name():
    s = parse_schema("type A = { s: String }; entity A; entity U = { a: A };")
    assert attrs(s, "U")["a"].type == record_type({"s": Attribute(StringType())})


def test_unqualified_name_falls_back_to_the_empty_namespace():
    s = parse_schema("type Email = String; entity G; namespace N { entity U in [G] = { e: Email, g: G }; }")
    assert s.entity_types["N::U"].member_of == ("G",)
    assert attrs(s, "N::U") == {"e": Attribute(StringType()), "g": Attribute(EntityType("G"))}


def test_entity_type_shadows_a_builtin_but_cedar_qualified_name_does_not():
    s = parse_schema("entity String; entity U = { a: String, b: __cedar::String };")
    assert attrs(s, "U") == {"a": Attribute(EntityType("String")), "b": Attribute(StringType())}


def test_action_entity_type_can_be_an_attribute_type():
    s = parse_schema("namespace M { action c; } entity U = { a: M::Action };")
    assert attrs(s, "U") == {"a": Attribute(EntityType("M::Action"))}


def test_common_types_resolve_through_each_other():
    s = parse_schema("type A = Set<B>; type B = { x: Long }; entity U = { a: A };"
                     " action v appliesTo { principal: U, resource: U, context: B };")
    assert attrs(s, "U")["a"].type == SetType(record_type({"x": Attribute(LongType())}))
    assert s.actions[EntityUID("Action", "v")].context == record_type({"x": Attribute(LongType())})


@pytest.mark.parametrize("text, message", [
    ("entity T; namespace N { entity T; }", "`N::T` illegally shadows the existing definition of `T`"),
    ("type T = Long; namespace N { type T = String; }", "illegally shadows"),
    ("type Long = String;", "reserved schema keyword: `Long`"),
    ("entity U = { a: Foo };", "failed to resolve type: Foo"),
    ("entity U in [V];", "undeclared entity type `V`"),
    ("type A = B; type B = A; entity U = { a: A };", "cycle in common type references"),
    ("action a in [b];", 'undeclared action: Action::"b"'),
    ("action a in [b]; action b in [a];", "cycle in action hierarchy"),
    ("entity U; action a appliesTo { principal: U };", "missing `resource` declaration for `a`"),
    ("entity U; action a appliesTo { principal: [], resource: U };", "`principal` is `[]`, which is invalid"),
    ("entity U; action a appliesTo { principal: U, resource: U, principal: U };", "duplicate `principal`"),
    ("entity U; action a appliesTo { principal: U, resource: U, context: Long };", "other than `Record`"),
    ("entity U; entity U;", "`U` is declared twice"),
    ("namespace N {} namespace N {}", "duplicate namespace id: `N`"),
    ("action a attributes { x: Long };", "action attributes are not supported"),
    (r'entity U = { "\q": Long };', "invalid escape"),
    ("entity __cedar;", "reserved `__cedar` namespace"),
    ("namespace A::__cedar { entity B; }", "reserved `__cedar` namespace"),
    ("namespace N { entity Action; }", "entity type `Action` declared"),
    ('entity E in [F] enum ["a"]; entity F;', "unexpected token `enum`"),
])
def test_bad_schemas_give_located_errors(text, message):
    err = error_of(text)
    assert message in err
    assert re.match(r"s\.cedarschema:\d+:\d+: error: ", err), err


def test_undefined_type_error_points_at_the_use():
    err = error_of("entity A;\nentity U = {\n  a: Nope\n};")
    assert err.startswith("s.cedarschema:3:6: error: failed to resolve type: Nope")


def test_syntax_error_is_located_and_names_what_was_expected():
    with pytest.raises(CedarError) as info:
        parse_schema("entity A;\nentity B in A B;", "x.cedarschema")
    d = info.value.diagnostics[0]
    assert (d.file, d.line, d.column) == ("x.cedarschema", 2, 15)
    assert "expected" in d.message and "`;`" in d.message
    assert "entity B in A B;" in info.value.format()


def test_unexpected_end_of_input():
    assert "unexpected end of input" in error_of("entity A")


# --------------------------------------------------------------------------
# JSON format


def test_json_schema_with_every_type_form():
    s = parse_schema(json.dumps({
        "NS": {
            "commonTypes": {"Name": {"type": "String"}},
            "entityTypes": {
                "G": {},
                "E": {"enum": ["a", "b"]},
                "U": {"memberOfTypes": ["G"], "tags": {"type": "Long"}, "shape": {"type": "Record", "attributes": {
                    "b": {"type": "Boolean"}, "l": {"type": "Long", "required": False},
                    "n": {"type": "Name"}, "g": {"type": "Entity", "name": "G"},
                    "eoc": {"type": "EntityOrCommon", "name": "G"}, "d": {"type": "Extension", "name": "decimal"},
                    "s": {"type": "Set", "element": {"type": "Bool"}},
                    "r": {"type": "Record", "attributes": {}}}}},
            },
            "actions": {
                "group": {},
                "view": {"memberOf": [{"id": "group"}, {"type": "NS::Action", "id": "group"}],
                         "appliesTo": {"principalTypes": ["U"], "resourceTypes": ["G"],
                                       "context": {"type": "Record", "attributes": {"ip": {"type": "ipaddr"}}}}},
            },
        }
    }))
    assert dict(s.entity_types["NS::U"].shape.attrs) == {
        "b": Attribute(BoolType()), "l": Attribute(LongType(), False), "n": Attribute(StringType()),
        "g": Attribute(EntityType("NS::G")), "eoc": Attribute(EntityType("NS::G")),
        "d": Attribute(ExtensionType("decimal")), "s": Attribute(SetType(BoolType())),
        "r": Attribute(RecordType())}
    assert s.entity_types["NS::U"].tags == LongType()
    assert s.entity_types["NS::E"].enum == ("a", "b")
    view = s.actions[EntityUID("NS::Action", "view")]
    assert view.member_of == (EntityUID("NS::Action", "group"),)
    assert view.context == record_type({"ip": Attribute(ExtensionType("ipaddr"))})


def test_json_plain_type_name_is_a_common_type_not_an_entity_type():
    text = json.dumps({"": {"entityTypes": {"Team": {}, "U": {"shape": {"type": "Record", "attributes": {
        "t": {"type": "Team"}}}}}, "actions": {}}})
    assert "failed to resolve type: Team" in error_of(text)


@pytest.mark.parametrize("body, message", [
    ({"": {"entityTypes": {}}}, "missing field `actions`"),
    ({"": {"entityTypes": {"U": {"shape": {"type": "Record", "attributes": {"a": {"type": "Long", "bogus": 1}}}}},
           "actions": {}}},
     "unknown field `bogus`"),
    ({"": {"entityTypes": {"U": {}}, "actions": {"a": {"appliesTo": {"principalTypes": ["U"]}}}}},
     "missing field `resourceTypes`"),
    ({"": {"entityTypes": {"U": {"memberOfTypes": "G"}}, "actions": {}}}, "expected entity type names"),
    ({"": {"entityTypes": {"A::B": {}}, "actions": {}}}, "invalid id `A::B`"),
    ({"A:B": {"entityTypes": {}, "actions": {}}}, "invalid namespace `A:B`"),
    ({"": {"entityTypes": {"U": {"memberOfTypes": ["B::"]}}, "actions": {}}}, "invalid name `B::`"),
    ({"": {"entityTypes": {"U": {"shape": {"type": "Record"}}}, "actions": {}}}, "missing field `attributes`"),
    ({"": {"entityTypes": {"U": {"shape": {"type": "Long"}}}, "actions": {}}}, "must be a record"),
    ({"": {"entityTypes": {"U": {"shape": {"type": "Record", "attributes": {}, "additionalAttributes": True}}},
           "actions": {}}},
     "additional attributes are not supported"),
    ({"": {"entityTypes": {"U": {"shape": {"type": "Record",
                                           "attributes": {"a": {"type": "Extension", "name": "money"}}}}},
           "actions": {}}},
     "unknown extension type `money`"),
    ({"": {"entityTypes": {"U": {"enum": []}}, "actions": {}}}, "at least one value"),
])
def test_bad_json_schemas_name_the_json_path(body, message):
    err = error_of(json.dumps(body), "s.json")
    assert message in err and err.startswith("s.json: ")


def test_invalid_json_is_located():
    with pytest.raises(CedarError) as info:
        parse_schema('{"": {\n  "entityTypes": {,}}}', "s.json")
    assert (info.value.diagnostics[0].line, info.value.diagnostics[0].column) == (2, 19)


# --------------------------------------------------------------------------
# Derived queries


HIERARCHY = """
    entity Org; entity Team in [Org, Team]; entity User in [Team];
    action read; action write in [read]; action admin in [write];
    action view in [read] appliesTo { principal: [User, Team], resource: [Org] };
    action edit appliesTo { principal: User, resource: [Team, Org] };
"""


def test_environments_are_every_allowed_combination_in_a_fixed_order():
    s = parse_schema(HIERARCHY)
    a = lambda n: EntityUID("Action", n)  # noqa: E731
    assert s.environments() == [
        RequestEnv("User", a("edit"), "Org"), RequestEnv("User", a("edit"), "Team"),
        RequestEnv("Team", a("view"), "Org"), RequestEnv("User", a("view"), "Org"),
    ]


def test_action_ancestors_are_transitive():
    s = parse_schema(HIERARCHY)
    a = lambda n: EntityUID("Action", n)  # noqa: E731
    assert s.action_ancestors(a("admin")) == {a("write"), a("read")}
    assert s.action_ancestors(a("read")) == frozenset()
    assert s.action_ancestors(a("missing")) == frozenset()


def test_action_entities_have_their_groups_as_parents():
    s = parse_schema(HIERARCHY)
    entities = {e.uid.id: e for e in s.action_entities()}
    assert entities["admin"].parents == {EntityUID("Action", "write")}
    assert entities["read"].parents == frozenset()
    assert len(entities) == 5


def test_descendant_and_ancestor_types_follow_member_of_transitively():
    s = parse_schema(HIERARCHY)
    assert s.descendant_types("Org") == {"Team", "User"}
    assert s.descendant_types("Team") == {"Team", "User"}  # Team in [Team]
    assert s.descendant_types("User") == frozenset()
    assert s.ancestor_types("User") == {"Team", "Org"}
    assert s.ancestor_types("Org") == frozenset()


def test_derived_queries_follow_changes_to_the_schema():
    from dataclasses import replace

    s = parse_schema(HIERARCHY)
    assert s.ancestor_types("Org") == frozenset()
    s.entity_types["Org"] = replace(s.entity_types["Org"], member_of=("User",))
    assert s.ancestor_types("Org") == {"User", "Team", "Org"}
    read = EntityUID("Action", "read")
    s.actions[EntityUID("Action", "top")] = s.actions[read].__class__(EntityUID("Action", "top"))
    s.actions[read] = replace(s.actions[read], member_of=(EntityUID("Action", "top"),))
    assert s.action_ancestors(EntityUID("Action", "admin")) == {
        EntityUID("Action", "write"), read, EntityUID("Action", "top")}


# --------------------------------------------------------------------------
# schema_to_json


def test_schema_to_json_reads_back_to_the_same_schema():
    text = """
        type Addr = { street: String, zip?: Long };
        namespace A { entity U in [G] = { a: Addr, d: decimal, s: Set<G>, t: B::T } tags Bool; entity G;
                      entity C enum ["x"]; action v in [w] appliesTo { principal: U, resource: [G, C] }; action w; }
        namespace B { entity T; action "q" in [A::Action::"w"]; }
    """
    s = parse_schema(text)
    assert parse_schema(json.dumps(schema_to_json(s))) == s


def test_schema_to_json_is_accepted_by_cedar():
    cedarpy = pytest.importorskip("cedarpy")
    s = parse_schema("namespace A { entity U = { x?: ipaddr };"
                     " action v appliesTo { principal: U, resource: U, context: { n: Long } }; }")
    rendered = str(cedarpy.Schema.from_json_str(json.dumps(schema_to_json(s))))
    assert parse_schema(rendered) == s


# --------------------------------------------------------------------------
# Corpus, against the official engine


def _corpus_schema_files():
    root = corpus_or_skip()
    return sorted(root.rglob("*.cedarschema")) + sorted(p for p in root.rglob("*.json") if "schema" in p.name)


def _cedarpy_schema(cedarpy, path: Path, text: str):
    if path.suffix == ".json":
        return cedarpy.Schema.from_json_str(text)
    return cedarpy.Schema.from_str(text)


def test_corpus_schemas_agree_with_cedar():
    """Every schema in the corpus: we accept it iff Cedar does; Cedar reads
    our JSON rendering as the same schema (seen through our reader)."""
    cedarpy = pytest.importorskip("cedarpy")
    files = _corpus_schema_files()
    checked = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            theirs = _cedarpy_schema(cedarpy, path, text)
        except ValueError:
            theirs = None
        try:
            mine = parse_schema(text, str(path))
        except CedarError:
            mine = None
        assert (theirs is None) == (mine is None), path
        if mine is not None:
            assert parse_schema(json.dumps(schema_to_json(mine))) == mine, path
            again = str(cedarpy.Schema.from_json_str(json.dumps(schema_to_json(mine))))
            assert parse_schema(again) == mine, path
            if not str(theirs).startswith("<unrenderable"):
                assert parse_schema(str(theirs)) == mine, path
            checked += 1
    assert checked >= 90, f"only {checked} of {len(files)} corpus schemas were readable"


def test_json_and_cedar_syntax_versions_of_a_schema_agree():
    cedarpy = pytest.importorskip("cedarpy")
    root = corpus_or_skip() / "cedar" / "cedar-policy-cli" / "sample-data"
    pairs = 0
    for json_path in sorted(root.rglob("*.cedarschema.json")):
        cedar_path = json_path.with_suffix("")
        if not cedar_path.exists():
            continue
        try:
            cedarpy.Schema.from_json_str(json_path.read_text())
            cedarpy.Schema.from_str(cedar_path.read_text())
        except ValueError:
            continue  # Cedar itself rejects one of them (tinytodo's JSON)
        assert parse_schema(json_path.read_text()) == parse_schema(cedar_path.read_text()), json_path
        pairs += 1
    assert pairs >= 10


def _tarball_schemas(step: int):
    path = corpus_or_skip() / "integration-tests" / "corpus-tests.tar.gz"
    with tarfile.open(path) as tar:
        count = 0
        for member in tar:
            if member.name.endswith(".cedarschema"):
                if count % step == 0:
                    yield member.name, tar.extractfile(member).read().decode("utf-8")
                count += 1


def _check_tarball_schemas(step: int) -> int:
    cedarpy = pytest.importorskip("cedarpy")
    n = 0
    for name, text in _tarball_schemas(step):
        mine = parse_schema(text, name)
        assert parse_schema(str(cedarpy.Schema.from_str(text))) == mine, name
        assert parse_schema(json.dumps(schema_to_json(mine))) == mine, name
        assert parse_schema(str(cedarpy.Schema.from_json_str(json.dumps(schema_to_json(mine))))) == mine, name
        n += 1
    return n


def test_generated_corpus_schemas_sample():
    assert _check_tarball_schemas(step=40) >= 90


@pytest.mark.slow
def test_generated_corpus_schemas_all():
    assert _check_tarball_schemas(step=1) == 3957


def test_syntax_errors_list_only_what_fits_at_that_point():
    err = error_of("entity A = { a: Long b: String };")
    assert err.endswith("unexpected token `b`; expected `,`, `::`, `}`")


# --------------------------------------------------------------------------
# Bad input never escapes as anything but a CedarError


def _mutants(count: int, seed: int):
    import random

    root = corpus_or_skip() / "cedar"
    seeds = [p.read_text() for p in sorted(root.rglob("*.cedarschema"))]
    seeds += [p.read_text() for p in sorted(root.rglob("*schema*.json"))]
    rnd = random.Random(seed)
    pieces = list('{}[]<>;:,"=?@\\ \n') + ["entity X;", "type T = X;", "::", '"\\u{110000}"', "appliesTo",
                                             "enum", "tags", "in [", "Set<", "__cedar", "Action"]
    for _ in range(count):
        text = list(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(len(text) + 1)
            if rnd.random() < 0.4 and text:
                del text[min(i, len(text) - 1)]
            else:
                text[i:i] = list(rnd.choice(pieces))
        yield "".join(text)


JSON_JUNK = [None, 1.5, [], {}, "x", 5, True, {"type": "Set"}, {"type": "Record"}, {"type": "Entity"},
             {"type": "Nope"}, {"type": 5}, ["a"], {"type": "Record", "attributes": []},
             {"type": "Record", "attributes": {"a": 5}}, {"memberOf": [{"id": 5}]},
             {"appliesTo": {"principalTypes": [5], "resourceTypes": []}}]


def _json_mutants(count: int, seed: int):
    """Corpus schemas in the JSON format with one part replaced by junk."""
    import copy
    import random

    seeds = []
    for path in sorted((corpus_or_skip() / "cedar").rglob("*.cedarschema")):
        try:
            seeds.append(schema_to_json(parse_schema(path.read_text())))
        except CedarError:
            pass

    def paths(obj, at=()):
        yield at
        items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
        for k, v in items:
            yield from paths(v, at + (k,))

    def replace(obj, at, value):
        if not at:
            return value
        obj[at[0]] = replace(obj[at[0]], at[1:], value)
        return obj

    rnd = random.Random(seed)
    for _ in range(count):
        schema = rnd.choice(seeds)
        at = rnd.choice(list(paths(schema)))
        yield json.dumps(replace(copy.deepcopy(schema), at, copy.deepcopy(rnd.choice(JSON_JUNK))))


def _never_crashes(count: int) -> None:
    for text in [*_mutants(count, seed=count), *_json_mutants(count, seed=count)]:
        try:
            parse_schema(text, "fuzz")
        except CedarError as e:
            assert e.diagnostics and e.diagnostics[0].file == "fuzz"


def test_mutated_schemas_give_cedar_errors_only():
    _never_crashes(300)


@pytest.mark.slow
def test_mutated_schemas_give_cedar_errors_only_long():
    _never_crashes(20000)


def _up_to_transitive_member_of(schema):
    """The schema with each memberOf list replaced by its transitive closure
    (Cedar's own JSON rendering writes the closure) and type lists in order."""
    from dataclasses import replace

    entity_types = {name: replace(et, member_of=tuple(sorted(schema.ancestor_types(name))))
                    for name, et in schema.entity_types.items()}
    actions = {uid: replace(a, member_of=tuple(sorted(a.member_of)), principal_types=tuple(sorted(a.principal_types)),
                            resource_types=tuple(sorted(a.resource_types)))
               for uid, a in schema.actions.items()}
    return entity_types, actions


def test_cedar_snapshot_renderings_read_as_the_same_schema():
    """Cedar's test schemas against Cedar's own renderings of them: the
    Cedar-syntax round trip through its JSON form, and the resolved JSON."""
    root = corpus_or_skip() / "cedar"
    sources = sorted((root / "cedar-policy" / "src" / "ffi" / "test_schemas").glob("*.cedarschema"))
    snapshots = {
        "roundtrip": root / "cedar-policy-core/src/validator/schema/snapshots"
                     / "cedar_policy_core__validator__schema__to_json__tests__roundtrip_schemas@{name}.snap",
        "resolved": root / "cedar-policy/src/ffi/snapshots"
                    / "cedar_policy__ffi__convert__test__schema_resolution_round_trip@{stem}.snap",
    }
    compared = 0
    for source in sources:
        mine = parse_schema(source.read_text(), str(source))
        for pattern in snapshots.values():
            snap = Path(str(pattern).format(name=source.name, stem=source.stem))
            body = snap.read_text().split("\n---\n", 1)[1]
            assert _up_to_transitive_member_of(parse_schema(body, str(snap))) == _up_to_transitive_member_of(mine), snap
            compared += 1
    assert compared == 2 * len(sources) >= 60
