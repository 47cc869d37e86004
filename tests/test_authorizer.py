"""lang.authorizer: decisions, reasons and errors against the official engine,
template links, and the Cedar integration-test corpus run through our parser,
entities reader and authorizer."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from cedarscope.lang.ast import PolicySet, TemplateLink
from cedarscope.lang.authorizer import Response, authorize_instances, instantiate, is_authorized
from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.request import Request
from cedarscope.lang.values import EntityUID
from tests.support.corpus import CORPUS
from tests.test_evaluator import ENTITIES, ENTITIES_JSON, REQUEST, json_value, policies_via_cedar

cedarpy = pytest.importorskip("cedarpy")

INTEGRATION = CORPUS / "integration-tests"


def _request(principal: str, action: str, resource: str, context: dict | None = None) -> tuple[Request, dict]:
    """The same request for us and as the official engine's JSON."""
    def uid(text: str) -> EntityUID:
        t, _, i = text.partition("::")
        return EntityUID(t, json.loads(i))
    context = context or {}
    ours = Request(uid(principal), uid(action), uid(resource), json_value(context))
    return ours, {"principal": principal, "action": action, "resource": resource, "context": context}


def _cedar_response(request_json: dict, policies, entities_json=ENTITIES_JSON) -> tuple:
    r = cedarpy.is_authorized(request_json, policies, entities_json)
    errored = sorted(m.split("`")[1] for m in r.diagnostics.errors)
    return r.decision.value.lower(), sorted(r.diagnostics.reasons), errored


def _ours(response: Response) -> tuple:
    return response.decision, sorted(response.reasons), sorted(pid for pid, _ in response.errors)


POLICY_SETS = [
    # permits only
    """permit(principal in Group::"staff", action, resource);
       permit(principal, action == Action::"view", resource) when { resource.owner == principal };
       permit(principal, action, resource) when { principal.nope };""",
    # a forbid overrides; an erroring forbid does not deny
    """permit(principal, action, resource);
       forbid(principal, action, resource) when { context.n > 3 };
       forbid(principal, action, resource) when { principal.nope == 1 };""",
    """permit(principal is User, action in [Action::"read"], resource is Doc);
       forbid(principal, action, resource) unless { principal has age };
       forbid(principal, action, resource) when { 1 };""",
    # default deny, with and without errors
    """permit(principal == User::"bob", action, resource);""",
    """permit(principal, action, resource) when { context.big + 1 > 0 };
       forbid(principal, action, resource) when { ip(context.ipstr).isLoopback() };""",
    "",
]

REQUESTS = [
    ('User::"alice"', 'Action::"view"', 'Doc::"d1"', {"n": 5, "big": 9223372036854775807, "ipstr": "127.0.0.1"}),
    ('User::"alice"', 'Action::"view"', 'Doc::"d1"', {"n": 1, "big": 1, "ipstr": "10.0.0.1"}),
    ('User::"bob"', 'Action::"read"', 'Doc::"d1"', {"n": 4, "big": 0, "ipstr": "x"}),
    ('User::"nobody"', 'Action::"edit"', 'User::"alice"', {}),
]


@pytest.mark.parametrize("policies", POLICY_SETS)
def test_decisions_match_cedar(policies):
    policyset = policies_via_cedar(policies) if policies else PolicySet(())
    for principal, action, resource, context in REQUESTS:
        ours, request_json = _request(principal, action, resource, context)
        assert _ours(is_authorized(ours, ENTITIES, policyset)) == _cedar_response(request_json, policies)


def test_reasons_and_errors_in_policy_order():
    policyset = policies_via_cedar("""
        permit(principal, action, resource) when { principal.nope };
        permit(principal, action, resource);
        permit(principal, action, resource) when { context.n == 5 };
        forbid(principal, action, resource) when { 1 };""")
    response = is_authorized(REQUEST, ENTITIES, policyset)
    assert response.decision == "allow"
    assert response.reasons == ("policy1", "policy2")
    assert [pid for pid, _ in response.errors] == ["policy0", "policy3"]
    assert "does not have the attribute `nope`" in response.errors[0][1]
    assert "expected bool, got long" in response.errors[1][1]


def test_template_links_match_cedar():
    text = """permit(principal == ?principal, action, resource in ?resource);
              forbid(principal in ?principal, action == Action::"edit", resource);
              permit(principal, action, resource == Doc::"d1") when { false };"""
    links = [("policy0", "alice-d1", {"?principal": 'User::"alice"', "?resource": 'Doc::"d1"'}),
             ("policy0", "bob-d1", {"?principal": 'User::"bob"', "?resource": 'Doc::"d1"'}),
             ("policy1", "no-staff-edit", {"?principal": 'Group::"staff"'})]
    theirs = cedarpy.PolicySet.from_str(text)
    for template, link_id, values in links:
        theirs = theirs.with_linked(template, link_id, values)
    ours = policies_via_cedar(text)
    ours = PolicySet(ours.policies, tuple(
        TemplateLink(t, link_id, tuple((slot, EntityUID(*_split(v))) for slot, v in sorted(values.items())))
        for t, link_id, values in links))
    assert [i.id for i in instantiate(ours)] == ["policy2", "alice-d1", "bob-d1", "no-staff-edit"]
    for principal, action, resource, context in REQUESTS + [('User::"alice"', 'Action::"edit"', 'Doc::"d1"', {})]:
        request, request_json = _request(principal, action, resource, context)
        assert _ours(is_authorized(request, ENTITIES, ours)) == _cedar_response(request_json, theirs)


def _split(text: str) -> tuple[str, str]:
    t, _, i = text.partition("::")
    return t, json.loads(i)


def test_templates_alone_never_apply():
    ours = policies_via_cedar("permit(principal == ?principal, action, resource);")
    assert instantiate(ours) == []
    assert is_authorized(REQUEST, ENTITIES, ours) == Response("deny", (), ())


@pytest.mark.parametrize("link, message", [
    (TemplateLink("nope", "l", ()), "does not exist"),
    (TemplateLink("policy1", "l", ()), "static policy"),
    (TemplateLink("policy0", "l", (("?resource", EntityUID("Doc", "d1")),)), "slots"),
    (TemplateLink("policy0", "policy1", (("?principal", EntityUID("User", "a")),)), "already the id"),
])
def test_bad_links_are_input_errors(link, message):
    base = policies_via_cedar("permit(principal == ?principal, action, resource); permit(principal, action, resource);")
    with pytest.raises(CedarError, match=message):
        instantiate(PolicySet(base.policies, (link,)))


# --------------------------------------------------------------------------
# The integration-test corpus through our parser, entities reader and authorizer


def _corpus_or_skip() -> Path:
    if not INTEGRATION.is_dir():
        pytest.skip(f"../shared/corpus not present: {INTEGRATION} is missing")
    return INTEGRATION


def _corpus_request(r: dict, schema) -> Request:
    from cedarscope.lang.request import parse_request

    return parse_request({k: r[k] for k in ("principal", "action", "resource", "context")}, schema=schema)


def run_integration_test(test: dict, read) -> tuple[int, list]:
    """Authorize every request of one integration test; (passed, failures)."""
    from cedarscope.lang.entities import parse_entities
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema

    policyset = parse_policies(read(test["policies"]), test["policies"])
    schema = parse_schema(read(test["schema"]), test["schema"]) if test.get("schema") else None
    entities = parse_entities(read(test["entities"]), test["entities"], schema=schema)
    instances = instantiate(policyset)
    passed, failures = 0, []
    for r in test["requests"]:
        request = _corpus_request(r, schema)
        got = _ours(authorize_instances(request, entities, instances))
        # is_authorized tests only the policies its index finds for the request
        indexed = _ours(is_authorized(request, entities, policyset))
        want = (r["decision"], sorted(r["reason"]), sorted(r["errors"]))
        if got == want == indexed:
            passed += 1
        else:
            failures.append((test["policies"], r["description"], want, got, indexed))
    return passed, failures


def test_hand_written_integration_tests():
    root = _corpus_or_skip()
    total, failures = 0, []
    for path in sorted((root / "tests").rglob("*.json")):
        passed, failed = run_integration_test(json.loads(path.read_text()), lambda p: (root / p).read_text())
        total += passed + len(failed)
        failures += failed
    assert total == 74
    assert failures == []


def _generated_tests(every: int):
    root = _corpus_or_skip()
    with tarfile.open(root / "corpus-tests.tar.gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        names = sorted(n for n in members if n.endswith(".json") and not n.endswith(".entities.json"))
        read = lambda p: tar.extractfile(members[p]).read().decode()  # noqa: E731
        for name in names[::every]:
            yield name, json.load(tar.extractfile(members[name])), read


def _run_generated(every: int) -> tuple[int, list, list]:
    """(requests run, wrong answers, tests whose input we could not read)."""
    total, failures, unreadable = 0, [], []
    for name, test, read in _generated_tests(every):
        try:
            passed, failed = run_integration_test(test, read)
        except CedarError as err:
            unreadable.append((name, str(err).splitlines()[0]))
            continue
        total += passed + len(failed)
        failures += failed
    return total, failures, unreadable


def test_generated_corpus_sample():
    """Every 20th generated test (about 200 files, 1,600 requests)."""
    total, failures, unreadable = _run_generated(every=20)
    assert unreadable == []
    assert failures == []
    assert total == 8 * 198


@pytest.mark.slow
def test_generated_corpus_all():
    total, failures, unreadable = _run_generated(every=1)
    assert unreadable == []
    assert failures == []
    assert total == 8 * 3957


def test_policy_sets_asked_in_turn_are_not_confused():
    allow = policies_via_cedar("permit(principal, action, resource);")
    deny = policies_via_cedar("forbid(principal, action, resource);")
    for _ in range(3):
        assert is_authorized(REQUEST, ENTITIES, allow).decision == "allow"
        assert is_authorized(REQUEST, ENTITIES, deny).decision == "deny"
    for _ in range(3):  # a fresh, equal policy set each time
        assert is_authorized(REQUEST, ENTITIES, policies_via_cedar("permit(principal, action, resource);")).reasons \
            == ("policy0",)


def test_the_index_skips_only_policies_whose_scope_is_false():
    """Candidates by action (its groups included) and by principal/resource
    type: the same response as testing every policy, erroring ones included."""
    from cedarscope.lang.entities import parse_entities
    from cedarscope.lang.parser import parse_policies

    ps = parse_policies("""
        permit(principal, action in Action::"read-group", resource) when { resource.missing };
        permit(principal == User::"alice", action == Action::"view", resource);
        permit(principal is Team, action, resource);
        forbid(principal, action in [Action::"edit", Action::"view"], resource is Doc) when { context.bad };
        permit(principal in Team::"t", action, resource is Photo);
    """, "p.cedar")
    entities = parse_entities(json.dumps([
        {"uid": {"type": "Action", "id": "view"}, "attrs": {}, "parents": [{"type": "Action", "id": "read-group"}]},
        {"uid": {"type": "User", "id": "alice"}, "attrs": {}, "parents": [{"type": "Team", "id": "t"}]},
        {"uid": {"type": "Doc", "id": "d"}, "attrs": {}, "parents": []},
    ]), "e.json")
    instances = instantiate(ps)
    for principal in ('User::"alice"', 'User::"bob"', 'Team::"t"'):
        for action in ("view", "edit", "delete"):
            for resource in ('Doc::"d"', 'Photo::"p"'):
                request, _ = _request(principal, f'Action::"{action}"', resource, {"bad": 1})
                assert is_authorized(request, entities, ps) == authorize_instances(request, entities, instances)
    request, _ = _request('User::"alice"', 'Action::"view"', 'Doc::"d"', {"bad": 1})
    response = is_authorized(request, entities, ps)
    assert [pid for pid, _ in response.errors] == ["policy0", "policy3"]  # both evaluated, in order
    assert response.reasons == ("policy1",)
