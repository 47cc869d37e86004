"""The result vocabulary and its renderings (text, JSON, SARIF, Markdown, HTML)."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from cedarscope.lang.entities import Entities, Entity
from cedarscope.lang.request import Request
from cedarscope.lang.schema import RequestEnv
from cedarscope.lang.values import CedarRecord, EntityUID
from cedarscope.reports import FORMATS, render
from cedarscope.reports.findings import (
    FINDING_KINDS,
    AuthorizationResult,
    Counterexample,
    Finding,
    Location,
    PolicyRef,
    Report,
    Verdict,
)
from cedarscope.reports.render_sarif import report_sarif
from cedarscope.reports.render_text import entity_as_cedar, render_authorization_text, request_as_cedar

ALICE = EntityUID("User", "alice")
ADMINS = EntityUID("Group", "admins")
DELETE = EntityUID("Action", "delete")
PLAN = EntityUID("Doc", "plan")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def sample_counterexample() -> Counterexample:
    request = Request(ALICE, DELETE, PLAN, CedarRecord({"mfa": False}))
    entities = Entities([
        Entity(PLAN, CedarRecord({"owner": ALICE}), frozenset(), CedarRecord()),
        Entity(ALICE, CedarRecord({"dept": "eng"}), frozenset({ADMINS}), CedarRecord({"level": 3})),
        Entity(ADMINS),
    ])
    return Counterexample(
        request, entities, {"old": "deny", "new": "allow"},
        {"old": (), "new": (PolicyRef("policy2", Location("policies/v2.cedar", 12, 1), "permit"),)})


def sample_report(message: str = "Admins can now delete plans without MFA") -> Report:
    finding = Finding(
        kind="gained",
        message=message,
        policies=("policy2",),
        related=("policy0",),
        locations=(Location("policies/v2.cedar", 12, 1),),
        environment=RequestEnv("User", DELETE, "Doc"),
        counterexample=sample_counterexample(),
    )
    dead = Finding(kind="dead", message="policy7 never matches", policies=("policy7",),
                   locations=(Location("policies/v2.cedar", 40, 1),))
    return Report("diff", Verdict.VIOLATED, (finding, dead),
                  {"environments": 3, "queries": 6, "solver_seconds": 0.41,
                   "summary": [{"environment": "User, Action::\"delete\", Doc", "gained": 1, "lost": 0}]},
                  assumptions=("stores Cedar accepts", "every entity exists"))


# --------------------------------------------------------------------------
# The vocabulary


def test_verdict_exit_codes():
    assert [Verdict(v).exit_code for v in ("holds", "violated", "unknown")] == [0, 1, 3]
    assert Report("check", "holds").exit_code == 0
    assert Report("check", "unknown").result is Verdict.UNKNOWN


def test_finding_kind_must_be_a_contract_kind():
    with pytest.raises(ValueError, match="unknown finding kind"):
        Finding(kind="scary", message="x")


def test_authorization_decision_must_be_allow_or_deny():
    with pytest.raises(ValueError):
        AuthorizationResult(Request(ALICE, DELETE, PLAN), "maybe")


def test_location_and_policy_ref_from_ast_spans():
    from cedarscope.lang.ast import Policy, ScopeAny, Span
    policy = Policy("permit", ScopeAny(), ScopeAny(), ScopeAny(),
                    span=Span("p.cedar", 4, 2, 6, 3))
    assert Location.of(policy) == Location("p.cedar", 4, 2)
    assert str(PolicyRef.of("policy1", policy)) == "policy1 (p.cedar:4)"
    assert PolicyRef.of("gone", None).location is None


# --------------------------------------------------------------------------
# JSON: exactly the contract


def test_json_has_the_contract_keys_in_order():
    out = json.loads(render(sample_report(), "json"))
    assert list(out) == ["tool", "version", "schema_version", "command", "result", "findings", "assumptions",
                         "stats"]
    assert out["schema_version"] == 2
    assert (out["tool"], out["version"], out["command"], out["result"]) == \
        ("cedarscope", "0.1.0", "diff", "violated")
    f = out["findings"][0]
    assert list(f) == ["kind", "policies", "related", "locations", "environment", "message", "edits",
                       "description", "description_form", "examples", "severity",
                       "counterexample"]
    assert f["examples"] == [f["counterexample"]]
    assert f["locations"] == [{"file": "policies/v2.cedar", "line": 12, "column": 1}]
    assert f["environment"] == {"principal_type": "User", "action": 'Action::"delete"',
                                "resource_type": "Doc"}
    assert out["findings"][1]["counterexample"] is None
    assert out["findings"][1]["environment"] is None
    assert out["stats"]["environments"] == 3
    assert out["assumptions"] == ["stores Cedar accepts", "every entity exists"]


def test_json_counterexample_is_cedar_request_and_entities_format():
    cx = json.loads(render(sample_report(), "json"))["findings"][0]["counterexample"]
    assert list(cx) == ["request", "entities", "decisions"]
    assert cx["decisions"] == {"old": "deny", "new": "allow"}
    assert cx["request"]["principal"] == {"type": "User", "id": "alice"}
    assert cx["request"]["action"] == {"type": "Action", "id": "delete"}
    assert cx["request"]["context"] == {"mfa": False}
    by_id = {e["uid"]["id"]: e for e in cx["entities"]}
    assert by_id["alice"]["parents"] == [{"type": "Group", "id": "admins"}]
    assert by_id["alice"]["attrs"] == {"dept": "eng"}
    assert by_id["plan"]["attrs"]["owner"] == {"__entity": {"type": "User", "id": "alice"}}


def test_json_counterexample_replays_in_the_official_engine():
    cedarpy = pytest.importorskip("cedarpy", reason="cedarpy (the official engine) not installed")
    cx = json.loads(render(sample_report(), "json"))["findings"][0]["counterexample"]
    policy = 'permit (principal in Group::"admins", action, resource) when { resource.owner == principal };'
    result = cedarpy.is_authorized(cx["request"], policy, cx["entities"])
    assert result.decision == cedarpy.Decision.Allow
    assert result.diagnostics.errors == []


# --------------------------------------------------------------------------
# Text


def test_text_prints_the_counterexample_as_cedar():
    from cedarscope.lang.printer import print_value
    out = render(sample_report(), "text")
    assert 'principal == User::"alice", action == Action::"delete", resource == Doc::"plan"' in out
    mfa = print_value(CedarRecord({"mfa": False}))
    assert f"context == {mfa}" in out
    alice = (f'User::"alice" in [Group::"admins"] attrs {print_value(CedarRecord({"dept": "eng"}))}'
             f' tags {print_value(CedarRecord({"level": 3}))}')
    assert alice in out
    assert f'Doc::"plan" attrs {print_value(CedarRecord({"owner": ALICE}))}' in out
    assert "new: allow, determined by permit policy2 at policies/v2.cedar:12" in out
    assert "old: deny, no permit applies" in out
    assert "at policies/v2.cedar:12:1" in out
    lines = out.splitlines()
    assert lines[:3] == ["cedarscope diff: 1 change",  # text says it in the command's words
                         "assuming: stores Cedar accepts", "assuming: every entity exists"]
    assert lines[4] == '+ gained  User, Action::"delete", Doc  policy2 (policies/v2.cedar:12)'
    assert "\nDetails\n" in out and "caused by: policy2" in out


def test_text_lists_findings_alike_but_for_their_environment_under_the_first():
    """A check of a store with many environments finds the same thing in
    many of them: the text shows it once and lists the other environments;
    the JSON keeps every finding."""
    def may_error(resource_type: str, policy: str = "policy3") -> Finding:
        return Finding("may-error", f"{policy} errors on a {resource_type}", (policy,),
                       environment=RequestEnv("User", DELETE, resource_type), counterexample=sample_counterexample())
    findings = (may_error("Doc"), may_error("Folder"), may_error("Doc", "policy4"), may_error("Page"))
    report = Report("check", Verdict.VIOLATED, findings, {})
    out = render(report, "text")
    assert out.splitlines()[0] == ("cedarscope check: violated (4 findings; shown as 2, alike ones in other "
                                   "environments listed under the first)")
    assert "1. [may-error] policy3: policy3 errors on a Doc" in out
    assert "2. [may-error] policy4: policy4 errors on a Doc" in out
    assert "policy3 errors on a Folder" not in out
    listed = out[out.index("also in 2 more environments"):out.index("2. [may-error]")]
    assert 'User, Action::"delete", Folder' in listed and 'User, Action::"delete", Page' in listed
    assert 'Folder  (principal User::"alice", resource Doc::"plan")' in listed  # whose request each is
    assert len(json.loads(render(report, "json"))["findings"]) == 4
    # a second example in an environment the group has is shown in full
    report = Report("ask", Verdict.VIOLATED, (may_error("Doc"), may_error("Doc"), may_error("Folder")), {})
    out = render(report, "text")
    assert [line.split(".")[0] for line in out.splitlines() if line[:1].isdigit()] == ["1", "2"]
    assert "also in 1 more environment," in out


def test_text_counts_notes_apart_from_findings():
    """A strict audit that holds may list notes: the header must not read
    as if it had failing findings."""
    note = Finding("over-permissive", "grants every resource", ("policy1",), severity="note")
    out = render(Report("audit", Verdict.HOLDS, (note, note), {}), "text")
    assert out.splitlines()[0] == "cedarscope audit: holds (2 notes)"
    out = render(Report("audit", Verdict.VIOLATED, (sample_report().findings[1], note), {}), "text")
    assert out.splitlines()[0] == "cedarscope audit: violated (1 finding, 1 note)"


def test_text_quotes_policy_ids_that_are_not_plain_names():
    """An @id may be a sentence; unquoted it runs into the message."""
    f = Finding("shadowed", "shadowed by policy0", ("Admins may read.",), ("policy0",))
    out = render(Report("audit", Verdict.VIOLATED, (f,), {}), "text")
    assert '1. [shadowed] "Admins may read.": shadowed by policy0' in out
    assert "related: policy0" in out


def test_text_counts_actions_in_no_group_instead_of_listing_them():
    """They say nothing a reader needs; the JSON, the store to replay, keeps them."""
    cx = sample_counterexample()
    bare = Entities([*cx.entities, Entity(DELETE), Entity(EntityUID("Action", "view"))])
    grouped = Entity(EntityUID("Action", "edit"), parents=frozenset({EntityUID("Action", "write")}))
    cx = dataclasses.replace(cx, entities=Entities([*bare, grouped]))
    report = dataclasses.replace(sample_report(), findings=(dataclasses.replace(sample_report().findings[1],
                                                                                   counterexample=cx),))
    out = render(report, "text")
    assert 'Action::"delete"\n' not in out and "// and 2 action entities in no group" in out
    assert 'Action::"edit" in [Action::"write"]' in out
    entities = json.loads(render(report, "json"))["findings"][0]["counterexample"]["entities"]
    assert {"type": "Action", "id": "delete"} in [e["uid"] for e in entities]


def test_text_lists_at_most_a_few_environments_of_a_group():
    from cedarscope.reports.render_text import LISTED_ENVIRONMENTS
    findings = tuple(Finding("always-denies", "allowed", environment=RequestEnv("User", DELETE, f"T{i}"))
                     for i in range(LISTED_ENVIRONMENTS + 4))
    out = render(Report("check", Verdict.VIOLATED, findings, {}), "text")
    assert f"also in {LISTED_ENVIRONMENTS + 3} more environments" in out
    assert f"T{LISTED_ENVIRONMENTS}\n" in out and f"T{LISTED_ENVIRONMENTS + 1}\n" not in out
    assert "and 3 more" in out


def test_one_line_keeps_the_space_before_a_set_literal():
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.printer import print_policy
    from cedarscope.reports.render_text import one_line
    long = ", ".join(f'"{c * 30}"' for c in "abc")
    [(_, policy)] = parse_policies(f'permit(principal, action in [Action::"{"v" * 40}", Action::"{"w" * 40}"], '
                                   f'resource) when {{ principal.ok && [{long}].contains(principal.tag) }};'
                                   ).policies
    line = one_line(print_policy(policy))
    assert "action in [Action::" in line and "&& [\"aaa" in line
    assert parse_policies(line).policies[0][1] == policy


def test_text_answers_in_the_commands_words():
    from cedarscope.reports.render_text import answer_words
    assert answer_words(Report("diff", Verdict.HOLDS, stats={"unchanged_environments": 3})) == "no change"
    assert render(Report("diff", Verdict.HOLDS, stats={"unchanged_environments": 3}), "text").splitlines()[:3] == [
        "cedarscope diff: no change", "", "3 environments unchanged"]
    assert answer_words(Report("ask", Verdict.VIOLATED)) == "yes, reachable"
    assert answer_words(Report("ask", Verdict.HOLDS)) == "no, never"
    assert answer_words(Report("check", Verdict.HOLDS)) == "holds"
    assert answer_words(Report("implies", Verdict.VIOLATED)) == "no, the first set allows requests the second denies"
    assert answer_words(Report("equivalent", Verdict.HOLDS)) == "yes, the sets decide every request alike"
    assert answer_words(Report("disjoint", Verdict.UNKNOWN)) == "unknown"


def test_text_marks_values_no_policy_reads():
    cx = sample_counterexample()
    marked = Counterexample(cx.request, cx.entities, cx.decisions, cx.determining,
                            frozenset({'User::"alice".dept', "context.mfa"}))
    out = render(Report("check", Verdict.VIOLATED, (Finding("may-error", "m", counterexample=marked),)), "text")
    assert "// unread: dept" in out and "// unread: mfa" in out


def test_text_request_lines_are_cedar_conditions():
    from cedarscope.lang.evaluator import evaluate
    from cedarscope.lang.parser import parse_expr
    request = sample_counterexample().request
    for line in request_as_cedar(request):
        condition = parse_expr(line.replace(", action ==", " && action ==")
                               .replace(", resource ==", " && resource =="))
        assert evaluate(condition, request, Entities()) is True


def test_text_entities_in_uid_order_and_stats_blocks():
    out = render(sample_report(), "text")
    assert out.index('Doc::"plan"') < out.index('Group::"admins"\n') < out.index('     User::"alice"')
    assert "stats: environments 3, queries 6, solver_seconds 0.41" in out
    assert "summary" not in out  # the plan lines say it


def test_what_confirm_found_is_a_line_of_its_own():
    # not "stats: ..., confirmed not confirmed: cedarpy is not installed"
    for said in ("3 decisions confirmed by cedarpy", "not confirmed: cedarpy is not installed"):
        report = dataclasses.replace(sample_report(), stats={"environments": 3, "confirmed": said})
        for fmt in ("text", "markdown", "html"):
            out = render(report, fmt)
            assert "stats: environments 3\n" in out and f"--confirm: {said}" in out, fmt
            assert "confirmed " + said not in out


def test_text_is_plain_on_a_pipe_and_coloured_on_a_terminal():
    plain = render(sample_report(), "text", color=False)
    coloured = render(sample_report(), "text", color=True)
    assert not ANSI.search(plain)
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == plain


def test_entity_without_parents_attrs_or_tags_is_just_its_uid():
    assert entity_as_cedar(Entity(ADMINS)) == 'Group::"admins"'
    assert request_as_cedar(Request(ALICE, DELETE, PLAN))[1] == "context == {}"


def test_authorization_text_names_determining_policies_and_errors():
    ref = PolicyRef("team-can-view", Location("examples/policies.cedar", 9, 1), "permit")
    bad = PolicyRef("policy3", Location("examples/policies.cedar", 20, 1), "forbid")
    result = AuthorizationResult(Request(ALICE, DELETE, PLAN), "allow", (ref,),
                                 ((bad, "attribute `clearance` not found"),))
    out = render_authorization_text(result)
    assert out.splitlines()[0] == "decision: allow"
    assert "permit team-can-view at examples/policies.cedar:9" in out
    assert "forbid policy3 at examples/policies.cedar:20: attribute `clearance` not found" in out
    deny = render_authorization_text(AuthorizationResult(Request(ALICE, DELETE, PLAN), "deny"))
    assert "no permit applies (default deny)" in deny


# --------------------------------------------------------------------------
# SARIF, Markdown, HTML


def test_sarif_structure():
    log = json.loads(render(sample_report(), "sarif"))
    assert log["version"] == "2.1.0" and "sarif" in log["$schema"]
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["gained", "dead"]  # contract order, only kinds used
    first, second = run["results"]
    assert rules[first["ruleIndex"]]["id"] == first["ruleId"] == "gained"
    assert rules[second["ruleIndex"]]["id"] == "dead"
    # levels that mean something: a gain is a warning, hygiene a note, unless --fail-on names them
    assert (first["level"], second["level"]) == ("warning", "note")
    failing = json.loads(render(dataclasses.replace(sample_report(), fail_on=frozenset({"gained"})), "sarif"))
    assert [r["level"] for r in failing["runs"][0]["results"]] == ["error", "note"]
    region = first["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == "policies/v2.cedar"
    assert region["region"] == {"startLine": 12, "startColumn": 1}
    assert first["properties"]["examples"][0]["decisions"] == {"old": "deny", "new": "allow"}
    assert first["partialFingerprints"] != second["partialFingerprints"]
    assert run["invocations"][0]["exitCode"] == 1


def test_every_sarif_result_has_a_location():
    """GitHub's code scanning refuses a log with a result that has none: a
    finding without subjects is shown where the policy that decided its
    example is, else where the report's first finding is."""
    decided = Finding("always-denies", "allowed", counterexample=sample_counterexample())  # decided by policy2
    bare = Finding("always-allows", "denied")
    log = json.loads(render(Report("check", Verdict.VIOLATED, (decided, bare), {}), "sarif"))
    for result in log["runs"][0]["results"]:
        [where] = result["locations"]
        assert where["physicalLocation"]["artifactLocation"]["uri"] == "policies/v2.cedar"
        assert where["physicalLocation"]["region"]["startLine"] == 12


def test_sarif_absolute_paths_become_file_uris():
    report = Report("audit", "violated", (Finding("dead", "x", ("p",),
                                                  locations=(Location("/tmp/a b.cedar", 1, 1),)),))
    uri = report_sarif(report)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert uri["artifactLocation"]["uri"] == "file:///tmp/a%20b.cedar"


def test_markdown_escapes_table_cells_and_fences_code():
    report = sample_report()
    described = dataclasses.replace(report.findings[0], description='permit (principal, action, resource) when '
                                                                   '{ principal.a || principal.b == "`" };')
    out = render(dataclasses.replace(report, findings=(described, *report.findings[1:])), "markdown")
    assert out.startswith("## cedarscope diff: 1 change")
    # the summary table's cell escapes `|`; the change's body shows the description fenced, as it is
    assert "principal.a \\|\\| principal.b" in out
    assert "```cedar\npermit (principal, action, resource) when { principal.a || principal.b" in out
    assert '```cedar\nprincipal == User::"alice", action == Action::"delete", resource == Doc::"plan"' in out
    assert "- new: **allow**, determined by permit policy2 at policies/v2.cedar:12" in out


def test_html_is_self_contained_and_escaped():
    out = render(sample_report(message='<script>alert("x")</script>'), "html")
    assert out.startswith("<!DOCTYPE html>")
    assert "<script>" not in out
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in out
    assert not re.search(r'(src|href)="(https?:)?//', out)
    assert "User::&quot;alice&quot;" in out


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_is_deterministic_and_handles_an_empty_report(fmt):
    assert render(sample_report(), fmt) == render(sample_report(), fmt)
    empty = render(Report("check", Verdict.HOLDS), fmt)
    assert "holds" in empty


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown report format"):
        render(sample_report(), "pdf")


def test_every_contract_kind_has_a_title():
    contract = ("gained lost always-allows always-denies may-error dead always-matches redundant "
                "shadowed overridden forbid-may-error over-permissive property-violated reachable")
    assert tuple(FINDING_KINDS) == tuple(contract.split())
