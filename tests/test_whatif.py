"""analyzer.whatif directly: the change (removals by id, additions) and the
report it yields, which is exactly the diff of the current and changed sets."""

from __future__ import annotations

import pytest

from cedarscope.analyzer.checks import diff_report
from cedarscope.analyzer.solving import Options
from cedarscope.analyzer.whatif import changed, whatif
from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.schema import parse_schema
from cedarscope.reports.findings import Verdict
from cedarscope.reports.render_json import report_json

SCHEMA = parse_schema("""
entity User { level: Long };
entity Doc;
action view, edit appliesTo { principal: [User], resource: [Doc] };
""")
CURRENT = parse_policies("""
@id("viewers") permit(principal, action == Action::"view", resource);
permit(principal, action == Action::"edit", resource) when { principal.level > 5 };
""")


def test_changed_removes_by_id_and_numbers_new_policies_after_the_current_ones():
    add = parse_policies('permit(principal, action == Action::"edit", resource);\n'
                         '@id("mine") forbid(principal, action, resource) when { principal.level < 0 };')
    result = changed(CURRENT, add, ["viewers"])
    assert [pid for pid, _ in result.policies] == ["policy1", "policy2", "mine"]
    assert result.get("policy2") == add.get("policy0")


def test_removing_an_unknown_id_is_bad_input():
    with pytest.raises(CedarError, match="no policy with id 'nope'"):
        changed(CURRENT, parse_policies(""), ["nope"])


def test_adding_an_id_already_in_use_is_bad_input():
    with pytest.raises(CedarError, match="already in use"):
        changed(CURRENT, parse_policies('@id("viewers") permit(principal, action, resource);'), [])


def test_whatif_is_the_diff_of_the_change():
    add = parse_policies('permit(principal, action == Action::"edit", resource) when { principal.level > 2 };')
    options = Options(timeout_seconds=20.0)
    report = whatif(SCHEMA, CURRENT, add, ["viewers"], options)
    assert report.command == "whatif"
    assert report.result == Verdict.VIOLATED
    assert {(f.kind, f.environment.action.id) for f in report.findings} == {("lost", "view"), ("gained", "edit")}
    expected = diff_report(SCHEMA, CURRENT, changed(CURRENT, add, ["viewers"]), options, command="whatif")
    strip = lambda j: {**j, "stats": None}  # noqa: E731 - timings differ between runs
    assert strip(report_json(report)) == strip(report_json(expected))


def test_an_empty_change_holds():
    report = whatif(SCHEMA, CURRENT, parse_policies(""), [], Options(timeout_seconds=20.0))
    assert report.result == Verdict.HOLDS and report.findings == ()
