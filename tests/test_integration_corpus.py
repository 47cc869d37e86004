"""Cedar's integration tests and the cedar-examples applications, run through
our parser, schema, entities, authorizer and validator: every request's
decision, reason set and error set, and every `shouldValidate` verdict,
must match what the official engine produced.

Measure with:  python -m pytest tests/test_integration_corpus.py -q -s
(each test prints its counts)."""

import json
from pathlib import Path

import pytest

from cedarscope.analyzer.conformance import (
    Tally,
    find_example_apps,
    find_test_files,
    parse_links,
    run_example_app,
    run_tarball,
    run_test,
    run_test_file,
)
from tests.support.corpus import CORPUS

INTEGRATION = CORPUS / "integration-tests"
EXAMPLES = CORPUS / "cedar-examples"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"../shared/corpus not present: {path}")
    return path


def assert_all_pass(tally: Tally, what: str) -> None:
    print(f"\n{what}: {tally.summary()}")
    shown = "\n".join(tally.failures[:25])
    more = len(tally.failures) - 25
    assert not tally.failures, f"{what}: {tally.summary()}\n{shown}" + (f"\n... and {more} more" if more > 0 else "")


def test_handwritten_integration_tests():
    tally = Tally()
    for path in find_test_files(need(INTEGRATION / "tests")):
        tally.add(run_test_file(path, INTEGRATION))
    assert_all_pass(tally, "handwritten integration tests")
    assert tally.files == 22 and tally.requests == 74


def test_generated_corpus_tests():
    tally = Tally()
    for result in run_tarball(need(INTEGRATION / "corpus-tests.tar.gz")):
        tally.add(result)
    assert_all_pass(tally, "corpus-tests.tar.gz")
    assert tally.files == 3957 and tally.requests == 3957 * 8


def test_cedar_examples_applications():
    tally = Tally()
    apps = find_example_apps(need(EXAMPLES))
    for app in apps:
        result = run_example_app(app)
        assert result.requests or result.problem, f"{app} has no requests"
        tally.add(result)
    assert_all_pass(tally, "cedar-examples ALLOW/DENY requests")
    assert len(apps) == 11 and tally.requests == 72


# --------------------------------------------------------------------------
# The runner itself reports failures (so the tests above can fail)


def _files(**contents):
    return lambda name: contents[name]


TEST = {
    "policies": "p.cedar", "entities": "e.json", "schema": "s.cedarschema", "shouldValidate": True,
    "requests": [{"description": "alice views", "principal": {"type": "User", "id": "alice"},
                  "action": {"type": "Action", "id": "view"}, "resource": {"type": "User", "id": "alice"},
                  "context": {}, "decision": "allow", "reason": ["policy0"], "errors": []}],
}
FILES = dict(
    p="permit(principal, action, resource);",
    s="entity User; action view appliesTo { principal: User, resource: User };",
    e="[]",
)


def run(test=TEST, **overrides):
    files = {**FILES, **overrides}
    return run_test(json.dumps(test), "t.json", _files(**{
        "p.cedar": files["p"], "s.cedarschema": files["s"], "e.json": files["e"]}))


def test_runner_passes_a_matching_test():
    result = run()
    assert result.passed and result.validated is True and len(result.requests) == 1


def test_runner_reports_a_wrong_decision_and_reasons():
    result = run(p="forbid(principal, action, resource);")
    assert not result.passed
    assert result.failures() == ["t.json: alice views: decision deny, expected allow"]
    result = run(p="permit(principal, action, resource);\npermit(principal, action, resource);")
    assert result.failures() == ["t.json: alice views: reasons [policy0, policy1], expected [policy0]"]


def test_runner_reports_errors_and_validation_verdict():
    result = run(p='permit(principal, action, resource) when { principal.nope };')
    lines = result.failures()
    assert any("validation failed, expected it to pass" in line for line in lines)
    assert any("errors [policy0], expected []" in line for line in lines)


def test_runner_reports_unreadable_inputs_without_raising():
    result = run(e='[{"uid": {"type": "Nope", "id": "x"}, "attrs": {}, "parents": []}]')
    assert not result.passed and "cannot read inputs" in result.problem
    result = run(test={**TEST, "requests": [{**TEST["requests"][0], "principal": "not a uid"}]})
    assert "cannot read the request" in result.requests[0].describe()


def test_links_file():
    links = parse_links('[{"template_id": "t", "link_id": "l", "args": {"?principal": "User::\\"a\\""}}]')
    assert links[0].template_id == "t" and links[0].link_id == "l"
    assert links[0].values[0][0] == "?principal" and str(links[0].values[0][1]) == 'User::"a"'
