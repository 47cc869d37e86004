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
        with pytest.raises(ValueError):
            cedarscope.audit(policies, schema, time_limit=bad)


def test_the_package_exports_each_name_from_its_home():
    from cedarscope import _HOME

    assert set(cedarscope.__all__) == {*_HOME, "__version__"}
    for name in _HOME:
        assert getattr(cedarscope, name) is not None
