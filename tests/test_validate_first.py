"""Validate first: no analysis command answers about policies that fail
Cedar's strict validation against the schema.  They exit 2 with the
validator's located errors and a hint, print nothing on stdout, and only
`--no-validate` makes them analyse such policies, with the report saying so.

Also `analyzer.inputs.require_valid` on its own, as the Python API calls it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cedarscope.analyzer.cli import cli
from cedarscope.analyzer.inputs import require_valid, unvalidated_assumption
from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.schema import parse_schema

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cli"
SCHEMA = FIXTURES / "schema.cedarschema"
V1 = FIXTURES / "policies.cedar"

# The first example: a schema that declares no context, and forbids
# that read it.  An audit once called them dead ("can never match").
NO_CONTEXT_SCHEMA = """
entity User { level: Long };
entity Doc;
action view appliesTo { principal: User, resource: Doc };
"""
GUARDS = """
@id("allow-all")
permit (principal, action, resource);

@id("guard-mfa")
forbid (principal, action, resource) unless { context.mfa };

@id("guard-level")
forbid (principal, action, resource) when { context.level < principal.level };
"""


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture
def no_context(tmp_path):
    (tmp_path / "schema.cedarschema").write_text(NO_CONTEXT_SCHEMA)
    (tmp_path / "guards.cedar").write_text(GUARDS)
    (tmp_path / "ok.cedar").write_text('@id("allow-all")\npermit (principal, action, resource);\n')
    return tmp_path


def assert_validation_refusal(result, *locations: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == "", "nothing is answered"
    for where in locations:
        assert where in result.stderr, result.stderr
    assert "strict validation" in result.stderr and "--no-validate" in result.stderr
    assert "holds" not in result.stderr and "dead" not in result.stderr


def test_audit_of_forbids_reading_an_undeclared_context_exits_2(no_context):
    result = run("audit", no_context / "guards.cedar", "-s", no_context / "schema.cedarschema")
    assert_validation_refusal(result, f"{no_context / 'guards.cedar'}:6:", f"{no_context / 'guards.cedar'}:9:")
    assert "context" in result.stderr


def test_diff_whose_new_version_fails_validation_exits_2(no_context):
    result = run("diff", no_context / "ok.cedar", no_context / "guards.cedar", "-s", no_context / "schema.cedarschema")
    assert_validation_refusal(result, f"{no_context / 'guards.cedar'}:6:")
    # ... and the old side too, in either position
    result = run("diff", no_context / "guards.cedar", no_context / "ok.cedar", "-s", no_context / "schema.cedarschema")
    assert_validation_refusal(result, f"{no_context / 'guards.cedar'}:6:")


@pytest.mark.parametrize("command", [
    ("check",), ("check", "-P", "always-allows"), ("check", "--policy", "guard-mfa", "-P", "never-matches"),
    ("audit",), ("ask", "-q", "permit(principal, action, resource);"),
    ("whatif", "--remove", "allow-all"), ("equivalent", "OK"), ("implies", "OK"), ("disjoint", "OK"),
    ("diff", "OK"),
], ids=" ".join)
def test_every_analysis_command_refuses_invalid_policies(no_context, command):
    ok = no_context / "ok.cedar"
    name, *rest = command
    rest = [str(ok) if r == "OK" else r for r in rest]
    result = run(name, no_context / "guards.cedar", *rest, "-s", no_context / "schema.cedarschema")
    assert_validation_refusal(result, f"{no_context / 'guards.cedar'}:6:")
    # the invalid set as the second side
    if name in ("equivalent", "implies", "disjoint", "diff"):
        result = run(name, ok, no_context / "guards.cedar", "-s", no_context / "schema.cedarschema")
        assert_validation_refusal(result, f"{no_context / 'guards.cedar'}:6:")


def test_whatif_refuses_an_added_policy_that_fails_validation(no_context):
    (no_context / "add.cedar").write_text("forbid (principal, action, resource) unless { context.mfa };\n")
    result = run("whatif", no_context / "ok.cedar", "--add", no_context / "add.cedar",
                 "-s", no_context / "schema.cedarschema")
    assert_validation_refusal(result, f"{no_context / 'add.cedar'}:1:")


def test_template_links_are_validated_too(tmp_path):
    (tmp_path / "t.cedar").write_text('@id("t")\npermit (principal == ?principal, action, resource);\n')
    (tmp_path / "links.json").write_text(json.dumps(
        [{"template_id": "t", "link_id": "l", "args": {"?principal": 'Doc::"d"'}}]))
    result = run("check", tmp_path / "t.cedar", "--links", tmp_path / "links.json", "-s", SCHEMA)
    assert result.exit_code == 2 and result.stdout == "", result.output


def test_no_validate_analyses_and_says_so(no_context):
    result = run("audit", no_context / "guards.cedar", "-s", no_context / "schema.cedarschema",
                 "--no-validate", "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code in (0, 1, 3)
    assert any("--no-validate" in a and "fail strict validation" in a for a in report["assumptions"])
    text = run("audit", no_context / "guards.cedar", "-s", no_context / "schema.cedarschema", "--no-validate")
    assert "assuming: policies that fail strict validation are analysed" in text.stdout


def test_valid_policies_carry_no_validation_assumption():
    result = run("check", V1, "-s", SCHEMA, "-P", "always-denies", "--no-validate", "--format", "json")
    assert not any("--no-validate" in a for a in json.loads(result.stdout)["assumptions"])


def test_validate_itself_keeps_exit_1(no_context):
    result = run("validate", no_context / "guards.cedar", "-s", no_context / "schema.cedarschema")
    assert result.exit_code == 1 and f"{no_context / 'guards.cedar'}:6:" in result.stdout


def test_require_valid_raises_the_validator_errors_for_either_side():
    schema = parse_schema(NO_CONTEXT_SCHEMA, "s.cedarschema")
    bad = parse_policies(GUARDS, "guards.cedar")
    good = parse_policies("permit (principal, action, resource);", "ok.cedar")
    require_valid(schema, good)
    require_valid(schema, {"old": good, "new": good})
    for sides in (bad, {"old": good, "new": bad}, {"old": bad, "new": good}):
        with pytest.raises(CedarError) as info:
            require_valid(schema, sides)
        errors = [d for d in info.value.diagnostics if d.severity == "error"]
        assert {(d.file, d.line) for d in errors} == {("guards.cedar", 6), ("guards.cedar", 9)}
        assert info.value.diagnostics[-1].severity == "note"
    assert unvalidated_assumption(schema, good) is None
    assert "2 validation errors" in unvalidated_assumption(schema, bad)
