"""The Python API: the README's example runs as written, and the API gives
the command line's answers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cedarscope

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def readme_api_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"## Python API.*?```python\n(.*?)```", text, re.S)
    assert found, "README has a ## Python API section with a python example"
    return found.group(1)


def test_readme_example_runs_from_an_unrelated_folder(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(f"import os\nos.chdir({str(REPO)!r})\n" + readme_api_example())
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "violated"
    assert "allow" in lines and "True" in lines
    assert lines[-1].startswith("<input>:1:") and "error" in lines[-1]


def test_api_and_cli_give_the_same_report(monkeypatch):
    monkeypatch.chdir(REPO)  # the same file names on both sides
    schema = cedarscope.load_schema("examples/schema.cedarschema")
    old = cedarscope.load_policies("examples/policies.cedar")
    new = cedarscope.load_policies("examples/policies_v2.cedar")
    report = cedarscope.diff(old, new, schema)
    proc = subprocess.run([sys.executable, "-m", "cedarscope", "diff", "examples/policies.cedar",
                           "examples/policies_v2.cedar", "--schema", "examples/schema.cedarschema",
                           "--format", "json", "--max-examples", "1"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == report.exit_code == 1
    cli = json.loads(proc.stdout)
    api = report.to_json()
    for side in (cli, api):
        side.pop("stats")
    assert cli == api


def test_bad_input_raises_one_exception_type_with_located_diagnostics():
    with pytest.raises(cedarscope.CedarError) as info:
        cedarscope.parse_schema("entity User = {", "s.cedarschema")
    d = info.value.diagnostics[0]
    assert d.file == "s.cedarschema" and d.line == 1


def test_options_are_checked():
    schema = cedarscope.load_schema(EXAMPLES / "schema.cedarschema")
    policies = cedarscope.load_policies(EXAMPLES / "policies.cedar")
    with pytest.raises(ValueError, match="selects no request environment"):
        cedarscope.audit(policies, schema, principal_type="Nobody")
    with pytest.raises(ValueError, match="property"):
        cedarscope.check(policies, schema, ["never-matches"])


def test_importing_the_package_loads_neither_the_solver_nor_the_analyzer():
    code = ("import sys, cedarscope; "
            "print(sorted(m for m in ('z3', 'networkx', 'cedarscope.analyzer.api') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr


def test_analyses_validate_first_as_the_command_line_does():
    """A policy that fails strict validation gets the validator's errors,
    never an answer; `validate=False` answers and says so."""
    schema = cedarscope.load_schema(EXAMPLES / "schema.cedarschema")
    good = cedarscope.load_policies(EXAMPLES / "policies.cedar")
    bad = cedarscope.parse_policies('permit (principal, action, resource) when { principal.nickname == "x" };',
                                    "bad.cedar")
    for run in (lambda: cedarscope.audit(bad, schema), lambda: cedarscope.diff(good, bad, schema),
                lambda: cedarscope.equivalent(bad, good, schema),
                lambda: cedarscope.check(bad, schema, ["always-denies"]),
                lambda: cedarscope.ask(bad, schema, "permit (principal, action, resource);"),
                lambda: cedarscope.whatif(good, schema, add=bad)):
        with pytest.raises(cedarscope.CedarError) as raised:
            run()
        assert any(d.file == "bad.cedar" and d.line == 1 for d in raised.value.diagnostics)
    report = cedarscope.check(bad, schema, ["always-denies"], validate=False)
    assert any("fail strict validation" in a for a in report.assumptions)
    assert not any("fail strict validation" in a for a in cedarscope.check(good, schema).assumptions)
    with pytest.raises(cedarscope.CedarError):  # a question is validated whatever `validate` says
        cedarscope.ask(good, schema, 'permit (principal, action, resource) when { principal.nickname == "x" };',
                       validate=False)


def test_a_time_limit_leaves_the_rest_unknown():
    schema = cedarscope.load_schema(EXAMPLES / "schema.cedarschema")
    policies = cedarscope.load_policies(EXAMPLES / "policies.cedar")
    report = cedarscope.audit(policies, schema, time_limit=1e-9)
    assert report.verdict in ("unknown", "violated")
    assert any("time limit" in reason for reason in report.stats["unknown"])
    for bad in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(cedarscope.OptionError):
            cedarscope.audit(policies, schema, time_limit=bad)


@pytest.mark.parametrize("option, value", [("entities_exist", "some"), ("timeout", -1), ("jobs", 0)])
def test_a_bad_option_value_is_an_option_error_naming_it(option, value):
    """As the README says: an option the analysis cannot take is an OptionError."""
    schema = cedarscope.load_schema(EXAMPLES / "schema.cedarschema")
    policies = cedarscope.load_policies(EXAMPLES / "policies.cedar")
    with pytest.raises(cedarscope.OptionError) as info:
        cedarscope.check(policies, schema, **{option: value})
    assert info.value.option == option


def test_the_package_exports_each_name_from_its_home():
    from cedarscope import _HOME

    assert set(cedarscope.__all__) == {*_HOME, "__version__"}
    for name in _HOME:
        assert getattr(cedarscope, name) is not None


# --------------------------------------------------------------------------
# The command line is a thin layer over the API

CLI_FIXTURES = REPO / "tests" / "fixtures" / "cli"
MARK = "stated by a spy on the API"


def _cli_runs() -> list[tuple[str, list[str]]]:
    """One run of each command that answers through the API, and the API
    function it must call."""
    s, p, p2 = (str(CLI_FIXTURES / name) for name in ("schema.cedarschema", "policies.cedar", "policies_v2.cedar"))
    e = str(EXAMPLES)
    return [
        ("check", ["check", p, "-s", s]),
        ("equivalent", ["equivalent", p, p2, "-s", s]),
        ("implies", ["implies", p, p2, "-s", s]),
        ("disjoint", ["disjoint", p, p2, "-s", s]),
        ("diff", ["diff", p, p2, "-s", s, "--describe-budget", "0"]),
        ("whatif", ["whatif", p, "-s", s, "--remove", "owner", "--describe-budget", "0"]),
        ("audit", ["audit", p, "-s", s]),
        ("ask", ["ask", p, "-s", s, "-q", 'permit (principal, action == Action::"edit", resource);']),
        ("access", ["access", p, "-s", s, "--describe-budget", "0"]),
        ("count", ["count", p, "-s", s, "--per-type", "1"]),
        ("validate", ["validate", p, "-s", s]),
        ("authorize", ["authorize", "-p", f"{e}/policies.cedar", "-e", f"{e}/entities.json",
                       "-r", f"{e}/request.json", "-s", f"{e}/schema.cedarschema"]),
    ]


@pytest.mark.parametrize("name,args", _cli_runs(), ids=[name for name, _ in _cli_runs()])
def test_every_command_answers_through_the_api(monkeypatch, name, args):
    """Each command calls its API function once and prints what it returns:
    a spy in place of the function marks the report, and the mark is printed."""
    from dataclasses import replace

    from click.testing import CliRunner

    from cedarscope.analyzer import api
    from cedarscope.analyzer.cli import cli

    original, calls = getattr(api, name), []

    def spy(*positional, **keywords):
        calls.append(keywords)
        answer = original(*positional, **keywords)
        return replace(answer, assumptions=(*answer.assumptions, MARK)) if hasattr(answer, "assumptions") else answer

    monkeypatch.setattr(api, name, spy)
    fmt = ["--format", "json"] if name not in ("validate", "authorize") else []
    result = CliRunner().invoke(cli, [*args, *fmt])
    assert result.exit_code in (0, 1, 3), result.output + result.stderr
    assert len(calls) == 1, f"{name} did not answer through cedarscope.analyzer.api.{name}"
    if name not in ("validate", "authorize"):
        assert MARK in json.loads(result.stdout)["assumptions"]


def test_the_command_lines_options_reach_the_api(monkeypatch, tmp_path):
    """The flags every analysis shares arrive as the API's keyword options:
    the time limit as a deadline from the start of the run, the assumptions,
    --no-validate, --jobs and --scheduler, examples and the settings' triage."""
    from click.testing import CliRunner

    from cedarscope.analyzer import api
    from cedarscope.analyzer.cli import cli, run_started

    seen: dict = {}

    def spy(*positional, **keywords):
        seen.update(keywords)
        raise api.OptionError("stopped by the spy")

    monkeypatch.setattr(api, "audit", spy)
    assume = tmp_path / "world.cedar"
    assume.write_text('@assume\npermit (principal, action, resource) when { principal in Team::"eng" };\n')
    (tmp_path / "cedarscope.toml").write_text('ignore = ["redundant"]\n[severity]\n"dead" = "warning"\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [
        "audit", str(CLI_FIXTURES / "policies.cedar"), "-s", str(CLI_FIXTURES / "schema.cedarschema"),
        "--time-limit", "100", "--timeout", "7", "--entities-exist", "all", "--assume", str(assume),
        "--no-validate", "--jobs", "2", "--principal-type", "User", "--save-examples", "out", "--confirm",
        "--strict"])
    assert result.exit_code == 2 and "stopped by the spy" in result.stderr  # an option error is a usage error
    assert run_started() < seen.pop("deadline") <= run_started() + 100
    assert seen.pop("spelling").names["validate"] == "--no-validate"
    assert seen.pop("progress") is not None and seen.pop("must") is None
    assert seen == {"timeout": 7.0, "principal_type": "User", "action": None, "resource_type": None,
                    "entities_exist": "all", "jobs": 2, "scheduler": None, "validate": False,
                    "assume": (assume,), "max_examples": 1, "save_examples": Path("out"), "confirm": True,
                    "strict": True, "ignore": ("redundant",), "severities": {"dead": "warning"},
                    "baseline": None}


def test_audit_and_check_set_aside_what_the_policies_accept():
    """@suppress, ignored kinds and severities apply through the API as on
    the command line."""
    schema = cedarscope.load_schema(CLI_FIXTURES / "schema.cedarschema")
    policies = cedarscope.parse_policies(
        '@id("never")\npermit (principal, action, resource) when { false };\n'
        '@id("quiet")\n@suppress("dead: kept for the audit log")\n'
        'permit (principal, action, resource) when { false };\n',
        "p.cedar")
    report = cedarscope.audit(policies, schema)
    assert [f.policies for f in report.findings if f.kind == "dead"] == [("never",)]
    assert report.stats["suppressed"] == {"dead": 1}
    assert not any(f.kind == "dead" for f in cedarscope.audit(policies, schema, ignore=["dead"]).findings)
    relaxed = cedarscope.audit(policies, schema, severities={"dead": "note"})
    assert {f.severity for f in relaxed.findings if f.kind == "dead"} == {"note"}


def test_api_option_errors_name_the_keywords():
    from cedarscope.analyzer.api import OptionError

    schema = cedarscope.load_schema(CLI_FIXTURES / "schema.cedarschema")
    policies = cedarscope.load_policies(CLI_FIXTURES / "policies.cedar")
    with pytest.raises(OptionError, match="^principal_type Nobody selects no request"):
        cedarscope.check(policies, schema, principal_type="Nobody")
    with pytest.raises(ValueError, match="always-allows is a set property; drop policy"):
        cedarscope.check(policies, schema, ["always-allows"], policy="owner")
    with pytest.raises(ValueError, match="no policy with id 'nope'"):
        cedarscope.check(policies, schema, ["never-matches"], policy="nope")
    with pytest.raises(ValueError, match="principal needs entities"):
        cedarscope.access(policies, schema, principal='User::"ann"')
    with pytest.raises(ValueError, match="exactly one of entities and per_type"):
        cedarscope.count(policies, schema)


def test_the_api_states_the_solvers_defaults_without_loading_it():
    """The API writes the solver's defaults out, so that validate and
    authorize (and their commands) do not load Z3."""
    from cedarscope.analyzer import api, solving

    assert (api.DEFAULT_TIMEOUT_SECONDS, api.DEFAULT_DESCRIBE_SECONDS) == (
        solving.DEFAULT_TIMEOUT_SECONDS, solving.DEFAULT_DESCRIBE_SECONDS)
    code = ("import sys, cedarscope.analyzer.api as api; "
            "s = api.load_schema('examples/schema.cedarschema'); "
            "api.validate(api.load_policies('examples/policies.cedar'), s); "
            "print('z3' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "False", proc.stderr
