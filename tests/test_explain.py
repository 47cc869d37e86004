"""`authorize --explain` (lang.explain): every policy's outcome for a request.

The corpus tests measure the issue's bar: on Cedar's integration tests, the
determining policies are exactly the reasons Cedar reports (and the errors
exactly its erroring policies), and every per-policy reason agrees with our
evaluator: a mismatching scope part really does not match (and the parts
before it do), a failed clause evaluates to the value reported and decides
its condition, an error site raises the reported error while its operands
have values.  Measure with:  python -m pytest tests/test_explain.py -q -s
(the generated corpus, 31,656 requests, runs under -m slow)."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cedarscope.lang.authorizer import is_authorized
from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.entities import parse_entities
from cedarscope.lang.evaluator import EvalError, evaluate, satisfied, scope_matches
from cedarscope.lang.explain import Outcome, explain
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.request import parse_request, validate_request
from cedarscope.lang.schema import parse_schema
from cedarscope.lang.template import instantiate
from tests.support.corpus import CORPUS

INTEGRATION = CORPUS / "integration-tests"


def need(path: Path) -> Path:
    from tests.support.corpus import missing_reason

    if not path.exists():
        pytest.skip(missing_reason(path))
    return path


# --------------------------------------------------------------------------
# Small cases, one per outcome

POLICIES = """
@id("admins")
permit(principal in Group::"admins", action, resource);
@id("view-eng")
permit(principal, action == Action::"view", resource)
when { principal.dept == "eng" && resource.public }
unless { principal.suspended };
@id("missing")
forbid(principal, action, resource) when { false && principal.nope || principal.nope > 3 };
@id("either")
permit(principal, action, resource) when { !(context.mfa) || principal.dept like "e*" };
@id("suspended")
forbid(principal, action, resource) unless { !principal.suspended };
"""


def _entities(suspended: bool = False):
    return parse_entities(json.dumps([
        {"uid": {"type": "User", "id": "alice"}, "attrs": {"dept": "eng", "suspended": suspended},
         "parents": [{"type": "Group", "id": "eng"}]},
        {"uid": {"type": "Doc", "id": "d"}, "attrs": {"public": False}, "parents": []},
    ]))


def _request(mfa: bool = True):
    return parse_request({"principal": 'User::"alice"', "action": 'Action::"view"', "resource": 'Doc::"d"',
                          "context": {"mfa": mfa}})


def _by_id(explanation):
    return {p.id: p for p in explanation.policies}


def test_each_outcome_names_what_decided_it():
    ps = parse_policies(POLICIES, "p.cedar")
    e = explain(_request(), _entities(), ps)
    by = _by_id(e)
    assert e.decision == "allow" and e.determining == ("either",)

    admins = by["admins"]
    assert admins.outcome is Outcome.SCOPE_MISMATCH and admins.part == "principal"
    assert admins.clause == 'principal in Group::"admins"'
    assert (admins.clause_span.line, admins.clause_span.column) == (3, 8)
    assert [(s.expression, str(s.value)) for s in admins.seen][0] == ("principal", 'User::"alice"')

    view = by["view-eng"]  # the first conjunct holds, the second is the one that failed
    assert view.outcome is Outcome.NOT_SATISFIED and view.part == "when"
    assert view.clause == "resource.public" and view.clause_value is False
    assert (view.clause_span.line, view.clause_span.column) == (6, 35)

    missing = by["missing"]  # `false && principal.nope` short-circuits: the error is in the second disjunct
    assert missing.outcome is Outcome.ERROR and missing.clause == "principal.nope"
    assert (missing.clause_span.line, missing.clause_span.column) == (9, 71)  # the second one (col 71, not 53)
    assert "does not have the attribute `nope`" in missing.error

    either = by["either"]
    assert either.outcome is Outcome.SATISFIED and either.determining


def test_unless_and_negation_name_the_true_clause():
    ps = parse_policies(POLICIES, "p.cedar")
    e = explain(_request(mfa=True), _entities(suspended=True), ps)
    by = _by_id(e)
    view = by["view-eng"]
    # `when` fails first (resource.public is false): the `unless` is never reached
    assert view.part == "when" and view.clause == "resource.public"
    suspended = by["suspended"]
    assert suspended.outcome is Outcome.SATISFIED and suspended.determining and e.decision == "deny"
    e2 = explain(_request(), _entities(suspended=False), ps)
    s2 = _by_id(e2)["suspended"]
    # unless { !principal.suspended } is true: the `!` flips, the clause is `principal.suspended`, false
    assert s2.outcome is Outcome.NOT_SATISFIED and s2.part == "unless"
    assert s2.clause == "principal.suspended" and s2.clause_value is False


def test_templates_links_are_explained_with_their_arguments():
    from cedarscope.lang.links import with_links

    ps = parse_policies('@id("t") permit(principal == ?principal, action, resource in ?resource);', "t.cedar")
    ps = with_links(ps, [{"template_id": "t", "link_id": "bob-docs",
                          "args": {"?principal": 'User::"bob"', "?resource": 'Doc::"d"'}}], "links.json")
    p = explain(_request(), _entities(), ps).policies[0]
    assert p.id == "bob-docs" and p.template_id == "t"
    assert p.outcome is Outcome.SCOPE_MISMATCH and p.clause == 'principal == User::"bob"'


def test_cli_authorize_explain(tmp_path):
    from click.testing import CliRunner

    from cedarscope.analyzer.cli import cli

    (tmp_path / "p.cedar").write_text(POLICIES)
    (tmp_path / "e.json").write_text(json.dumps([
        {"uid": {"type": "User", "id": "alice"}, "attrs": {"dept": "eng", "suspended": False}, "parents": []},
        {"uid": {"type": "Doc", "id": "d"}, "attrs": {"public": False}, "parents": []}]))
    (tmp_path / "r.json").write_text(json.dumps({"principal": 'User::"alice"', "action": 'Action::"view"',
                                                 "resource": 'Doc::"d"', "context": {"mfa": True}}))
    args = ["authorize", "-p", str(tmp_path / "p.cedar"), "-e", str(tmp_path / "e.json"),
            "-r", str(tmp_path / "r.json"), "--explain"]
    text = CliRunner().invoke(cli, args)
    assert text.exit_code == 0, text.output
    assert "view-eng (permit at" in text.output and "`when` clause `resource.public`" in text.output
    assert "either (permit at" in text.output and "satisfied, determining" in text.output
    out = CliRunner().invoke(cli, [*args, "-f", "json"])
    data = json.loads(out.output)
    rows = {row["policy"]: row for row in data["explanation"]}
    assert rows["either"]["determining"] and rows["either"]["outcome"] == "satisfied"
    assert rows["missing"]["outcome"] == "error" and rows["missing"]["clause"] == "principal.nope"
    assert rows["view-eng"]["value"] == "false"
    plain = CliRunner().invoke(cli, args[:-1] + ["-f", "json"])
    assert "explanation" not in json.loads(plain.output)


def test_api_authorize_explain():
    import cedarscope

    result = cedarscope.authorize(parse_policies(POLICIES, "p.cedar"), _entities(), _request(), explain=True)
    assert result.explanation is not None and result.explanation.determining == ("either",)
    assert cedarscope.authorize(parse_policies(POLICIES, "p.cedar"), _entities(), _request()).explanation is None


# --------------------------------------------------------------------------
# The corpus: Cedar's reasons and errors, and agreement with the evaluator


def check_agrees_with_evaluator(explanation, policyset, request, entities) -> None:
    """Every per-policy reason is what our evaluator says, clause by clause."""
    instances = {i.id: i for i in instantiate(policyset)}
    for p in explanation.policies:
        policy = instances[p.id].policy
        try:
            verdict = satisfied(policy, request, entities)
        except EvalError as err:
            assert p.outcome is Outcome.ERROR and p.error == err.message, p
            with pytest.raises(EvalError) as raised:
                evaluate(p.clause_node, request, entities)
            assert raised.value.message == err.message, p
            continue
        if verdict:
            assert p.outcome is Outcome.SATISFIED, p
            continue
        parts = ("principal", "action", "resource")
        if p.outcome is Outcome.SCOPE_MISMATCH:
            k = parts.index(p.part)
            assert p.clause_node is getattr(policy, p.part)
            assert not scope_matches(p.clause_node, getattr(request, p.part), entities), p
            assert all(scope_matches(getattr(policy, q), getattr(request, q), entities) for q in parts[:k]), p
            continue
        assert p.outcome is Outcome.NOT_SATISFIED, p
        assert all(scope_matches(getattr(policy, q), getattr(request, q), entities) for q in parts), p
        assert evaluate(p.clause_node, request, entities) is p.clause_value, p
        failing = next(c for c in policy.conditions
                       if evaluate(c.body, request, entities) is not (c.kind == "when"))
        assert failing.kind == p.part and _contains(failing.body, p.clause_node), p


def _contains(e, node) -> bool:
    if e is node:
        return True
    from cedarscope.lang.explain import _operands

    return any(_contains(child, node) for child in _operands(e))


def run_explained(text: str, read: Callable[[str], str], tally: dict) -> None:
    test = json.loads(text)
    policyset = parse_policies(read(test["policies"]), test["policies"])
    schema = parse_schema(read(test["schema"]), test["schema"]) if test.get("schema") else None
    entities = parse_entities(read(test["entities"]), test["entities"], schema)
    for i, obj in enumerate(test["requests"]):
        try:
            request = parse_request(obj, f"request {i}", schema)
        except CedarError:
            tally["unreadable"] += 1
            continue
        if schema is not None and obj.get("validateRequest", True) and validate_request(request, schema):
            tally["unreadable"] += 1
            continue
        explanation = explain(request, entities, policyset)
        reasons = set(obj.get("reason", obj.get("reasons", [])))
        errors = {e if isinstance(e, str) else e.get("policyId") for e in obj.get("errors", [])}
        assert explanation.decision == obj["decision"].lower(), obj.get("description")
        assert set(explanation.determining) == reasons, (test["policies"], obj.get("description"))
        assert {pid for pid, _ in explanation.errors} == errors, (test["policies"], obj.get("description"))
        assert explanation.determining == is_authorized(request, entities, policyset).reasons
        check_agrees_with_evaluator(explanation, policyset, request, entities)
        tally["requests"] += 1
        for p in explanation.policies:
            tally[p.outcome.value] += 1


def _tally() -> dict:
    return {"requests": 0, "unreadable": 0, **{o.value: 0 for o in Outcome}}


def test_handwritten_integration_tests_explained():
    tally = _tally()
    for path in sorted(need(INTEGRATION / "tests").rglob("*.json")):
        run_explained(path.read_text(), lambda rel: (INTEGRATION / rel).read_text(), tally)
    print(f"\nhandwritten integration tests explained: {tally}")
    assert tally["requests"] == 74


def _tarball_tests(limit: int | None) -> Iterator[tuple[str, Callable[[str], str]]]:
    with tarfile.open(need(INTEGRATION / "corpus-tests.tar.gz")) as tar:
        contents = {m.name: tar.extractfile(m).read().decode() for m in tar if m.isfile()}
    names = sorted(n for n in contents if n.endswith(".json") and not n.endswith(".entities.json"))
    for name in names[:limit]:
        yield contents[name], contents.__getitem__


def test_generated_corpus_sample_explained():
    tally = _tally()
    for text, read in _tarball_tests(300):
        run_explained(text, read, tally)
    print(f"\ncorpus-tests sample explained: {tally}")
    assert tally["requests"] == 300 * 8


@pytest.mark.slow
def test_generated_corpus_explained():
    tally = _tally()
    for text, read in _tarball_tests(None):
        run_explained(text, read, tally)
    print(f"\ncorpus-tests explained: {tally}")
    assert tally["requests"] == 3957 * 8
