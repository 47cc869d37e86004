"""Differential tests: cedarscope's lang package against the official engine.

Generated cases (tests/generators.py) are run through cedarpy and through our
evaluator/authorizer, validator, parser, printer, schema and entity readers;
every comparison in tests/difftest.py must agree.  Hypothesis is derandomized,
so the default run is deterministic; `python -m tests.difftest --cases N` runs
the same comparisons for as long as one likes.

Disagreements found by long runs are pinned below as explicit regression
cases (xfail with the reason until the owner fixes them).
"""

from __future__ import annotations

import json

import cedarpy
import pytest
from hypothesis import HealthCheck, given, settings

from cedarscope.lang.entities import Entities
from tests import difftest
from tests.generators import cases, render_policyset

SETTINGS = settings(max_examples=40, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def require(check: str) -> None:
    """Skip when the part of lang a check needs does not exist yet."""
    try:
        difftest.need(*difftest.REQUIRES[check])
    except difftest.Skipped as s:
        pytest.skip(str(s))


def new_disagreements(found: list) -> list:
    """Disagreements that are not known bugs (those have xfail regression
    tests below, listed in difftest.KNOWN_ISSUES)."""
    return [d for d in found if not difftest.known_issue(d)]


@pytest.mark.parametrize("check", difftest.CHECKS)
def test_agrees_with_cedar(check):
    require(check)

    @SETTINGS
    @given(cases())
    def run(case):
        found = new_disagreements(difftest.compare(case, (check,)))
        assert not found, "\n".join(str(d) for d in found)

    run()


@pytest.mark.parametrize("chunk", range(4))
def test_seeded_batch_agrees_with_cedar(chunk):
    """60 more cases per chunk from the long-run command's own generator
    (seed 2026), every available check on each."""
    skipped: set = set()
    for i in range(chunk * 60, chunk * 60 + 60):
        found = new_disagreements(difftest.compare(difftest.case_for(2026, i), difftest.CHECKS, skipped))
        assert not found, f"case 2026:{i} (python -m tests.difftest --seed 2026):\n" + "\n".join(map(str, found))


# --------------------------------------------------------------------------
# The generators themselves: cedarpy accepts everything they make.


@SETTINGS
@given(cases())
def test_cedar_accepts_generated_cases(case):
    schema = json.dumps(case.schema.json)
    cedarpy.Entities.from_json_str(json.dumps(case.entities.json), schema)
    difftest.cedar_policyset(case)
    # every request is one the schema allows: cedarpy reaches a decision
    assert all(o.decision in ("allow", "deny") for o in difftest.cedar_authorize(case))


def test_generated_cases_reach_interesting_outcomes():
    """The generators are only useful if evaluation gets past the first
    unknown name: across a fixed batch there are allows, denies by forbid,
    erroring policies and both validation verdicts."""
    seen = {"allow": 0, "forbid": 0, "error": 0, "valid": 0, "invalid": 0}
    for i in range(80):
        case = difftest.case_for(12345, i)
        for o in difftest.cedar_authorize(case):
            seen["allow"] += o.decision == "allow"
            seen["forbid"] += o.decision == "deny" and bool(o.reasons)
            seen["error"] += bool(o.errors)
        ok, _ = difftest.cedar_validates(case.policies.text, case.schema.json)
        seen["valid" if ok else "invalid"] += 1
    assert all(n >= 5 for n in seen.values()), seen


def test_cedar_replay_of_model_objects():
    """`difftest.cedar_replay` (for replaying decoded counterexamples) sends
    our Request/Entities through lang's JSON writers to cedarpy and gets the
    answer cedarpy gives for the generated JSON."""
    require("entities")
    require("request")
    for i in range(15):
        case = difftest.case_for(77, i)
        for r, want in zip(case.requests, difftest.cedar_authorize(case), strict=False):
            got = difftest.cedar_replay(case.schema.json, case.policies.text, r.model(),
                                        case.entities.model(), tuple(case.policies.links_json))
            assert got == want


def test_render_matches_cedar_reading():
    """Our test-side renderer and cedarpy agree on the policy ids."""
    case = difftest.case_for(7, 0)
    est = json.loads(cedarpy.policies_to_json_str(render_policyset(case.policies.model)))
    statics = [pid for pid, p in case.policies.model.policies if not p.is_template]
    templates = [pid for pid, p in case.policies.model.policies if p.is_template]
    assert sorted(est["staticPolicies"]) == sorted(statics)
    assert sorted(est["templates"]) == sorted(templates)


def test_a_disagreement_is_reported_and_shrunk(monkeypatch):
    """The harness finds a planted bug (an authorizer that allows everything)
    and shrinks the case to one request with fewer policies and entities."""
    require("authorize")
    import cedarscope.lang.authorizer
    from cedarscope.lang.authorizer import Response

    monkeypatch.setattr(cedarscope.lang.authorizer, "is_authorized", lambda *a: Response("allow", (), ()))
    case = next(c for c in (difftest.case_for(5, i) for i in range(50))
                if len(c.policies.model.policies) > 2 and len(c.requests) > 1
                and any(o.decision == "deny" for o in difftest.cedar_authorize(c)))
    found = difftest.compare(case, ("authorize",))
    assert found and all(d.check == "authorize" for d in found)
    small = difftest.shrink(case, found[0])
    assert len(small.requests) == 1
    assert len(small.policies.model.policies) == 1
    assert len(small.entities.items) <= len(case.entities.items)
    assert difftest.compare(small, ("authorize",))


# --------------------------------------------------------------------------
# Regressions: disagreements found by `python -m tests.difftest`, pinned as
# explicit cases.  Each is xfail until its owner fixes it; then delete the
# marker (strict=True makes a fixed one fail loudly so it is not forgotten).


def entities_verdicts(schema_json: dict, entities: list) -> tuple[str, str]:
    """(ours, cedar): "accepts" or "rejects" for reading entities with a schema."""
    require("entities")
    from cedarscope.lang.diagnostics import CedarError
    from cedarscope.lang.entities import parse_entities
    from cedarscope.lang.schema import parse_schema

    try:
        cedarpy.Entities.from_json_str(json.dumps(entities), json.dumps(schema_json))
        cedar = "accepts"
    except ValueError:
        cedar = "rejects"
    try:
        parse_entities(entities, "entities.json", schema=parse_schema(json.dumps(schema_json)))
        ours = "accepts"
    except CedarError:
        ours = "rejects"
    return ours, cedar


ENUM_SCHEMA = {"": {"entityTypes": {
    "Color": {"enum": ["red"]},
    "User": {"memberOfTypes": ["Color"],
             "shape": {"type": "Record", "attributes": {
                 "c": {"type": "Entity", "name": "Color", "required": False}}}}},
    "actions": {"view": {"appliesTo": {"principalTypes": ["User"], "resourceTypes": ["Color"]}}}}}


def test_regression_enum_parent_with_undeclared_id_is_rejected():
    entities = [{"uid": {"type": "User", "id": "u"}, "attrs": {},
                 "parents": [{"type": "Color", "id": "blue"}]}]
    assert entities_verdicts(ENUM_SCHEMA, entities) == ("rejects", "rejects")


@pytest.mark.parametrize("entities", [
    [{"uid": {"type": "User", "id": "u"}, "attrs": {"c": {"__entity": {"type": "Color", "id": "blue"}}},
      "parents": []}],
    [{"uid": {"type": "Color", "id": "blue"}, "attrs": {}, "parents": []}],
    [{"uid": {"type": "User", "id": "u"}, "attrs": {}, "parents": [{"type": "Color", "id": "red"}]}],
])
def test_enum_ids_elsewhere_agree(entities):
    ours, cedar = entities_verdicts(ENUM_SCHEMA, entities)
    assert ours == cedar


def test_regression_bool_and_long_literals_differ():
    """lang/ast.py once compared Lit values with Python's ==, so Lit(True)
    == Lit(1) and they hashed alike, conflating Cedar's `true` and `1`."""
    from cedarscope.lang import ast as A

    assert A.Lit(True) != A.Lit(1)
    assert len({A.Lit(True), A.Lit(1)}) == 2


def test_generated_policies_use_every_construct():
    """Across a fixed batch the policies use every expression construct,
    operator, method and scope form, so no part of Cedar goes untested."""
    import dataclasses

    from cedarscope.lang import ast as A

    seen: set = set()

    def walk(x):
        if isinstance(x, tuple):
            for y in x:
                walk(y)
            return
        if not dataclasses.is_dataclass(x):
            return
        seen.add(type(x).__name__)
        if isinstance(x, A.BinaryOp):
            seen.add(x.op)
        if isinstance(x, (A.MethodCall, A.ExtFun)):
            seen.add(x.name)
        if isinstance(x, A.Has) and len(x.attrs) > 1:
            seen.add("has a.b")
        if isinstance(x, A.Is) and x.in_expr is not None:
            seen.add("is-in")
        for f in dataclasses.fields(x):
            walk(getattr(x, f.name))

    for i in range(150):
        case = difftest.case_for(99, i)
        for _, p in case.policies.model.policies:
            walk(p)
    wanted = {"Lit", "EntityLit", "Var", "Slot", "Not", "Neg", "BinaryOp", "And", "Or", "If", "GetAttr",
              "Has", "Like", "Is", "SetLit", "RecordLit", "MethodCall", "ExtFun",
              "ScopeAny", "ScopeEq", "ScopeIn", "ScopeIs", "ActionInSet", "Condition", "Annotation",
              *A.BINARY_OPS, *A.CORE_METHODS, "has a.b", "is-in",
              "decimal", "ip", "datetime", "duration", "lessThan", "lessThanOrEqual", "greaterThan",
              "greaterThanOrEqual", "isIpv4", "isIpv6", "isLoopback", "isMulticast", "isInRange",
              "offset", "durationSince", "toDate", "toTime", "toMilliseconds", "toSeconds", "toMinutes",
              "toHours", "toDays"}
    assert wanted <= seen, sorted(wanted - seen)


# Fixed (found by the difftest "bad-schema" check, fixed in lang/schema.py):
# an enumerated entity type takes no memberOfTypes, shape or tags.
@pytest.mark.parametrize("extra", [{"memberOfTypes": ["G"]}, {"tags": {"type": "String"}},
                                   {"shape": {"type": "Record", "attributes": {}}}])
def test_regression_enum_entity_type_takes_no_other_fields(extra):
    require("schema")
    from cedarscope.lang.diagnostics import CedarError
    from cedarscope.lang.schema import parse_schema

    text = json.dumps({"": {"entityTypes": {"G": {}, "Color": {"enum": ["a"], **extra}}, "actions": {}}})
    with pytest.raises(ValueError):
        cedarpy.Schema.from_json_str(text)
    with pytest.raises(CedarError):
        parse_schema(text, "schema.json")


# Fixed (found by the difftest "format" check, fixed in lang/printer.py):
# format_source keeps each string literal as written, as Cedar's formatter does.
@pytest.mark.parametrize("text", [
    'permit(principal == User::"a", action, resource) when { "\\u{61}" == "a" };\n',
    '@a("x")\n@b("\\u{78}")\npermit(principal, action, resource);\n',
    'permit(principal, action, resource) when { context has "price" };\n',
])
def test_regression_format_keeps_string_spelling(text):
    require("format")
    from cedarscope.lang.printer import format_source

    assert format_source(text, "x.cedar") == cedarpy.format_policies(text)


# Fixed (found by the difftest "probe" check, fixed in lang/printer.py):
# print_value writes a datetime outside years 0000-9999 as epoch + offset.
@pytest.mark.parametrize("expr", ['datetime("9999-12-31").offset(duration("2d"))',
                                  'datetime("0000-01-01").offset(duration("-1h"))'])
def test_regression_print_value_of_far_datetimes(expr):
    require("printer")
    from cedarscope.lang.evaluator import evaluate
    from cedarscope.lang.parser import parse_expr
    from cedarscope.lang.printer import print_value
    from cedarscope.lang.request import Request
    from cedarscope.lang.values import EntityUID

    u = EntityUID("U", "u")
    literal = print_value(evaluate(parse_expr(expr), Request(u, EntityUID("Action", "a"), u), Entities()))
    policy = f"permit (principal, action, resource) when {{ {expr} == {literal} }};"
    req = {"principal": u.to_json(), "action": {"type": "Action", "id": "a"}, "resource": u.to_json(), "context": {}}
    assert cedarpy.is_authorized(req, policy, []).diagnostics.reasons == ["policy0"]
