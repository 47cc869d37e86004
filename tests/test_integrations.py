"""The pre-commit hooks and the GitHub Action's script, exercised on
temporary git repositories with the README's own snippets (the blocks after
a `<!-- tested: tests/test_integrations.py NAME -->` marker)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SCHEMA = '''entity Group;
entity User in [Group] { level: Long };
entity Doc { owner: User, public: Bool };
action view, edit appliesTo { principal: User, resource: Doc };
'''
POLICIES = '''@id("owners-edit")
permit (
  principal,
  action == Action::"edit",
  resource
)
when { resource.owner == principal };

@id("public-view")
@suppress("over-permissive: public documents are for everyone")
permit (
  principal,
  action == Action::"view",
  resource
)
when { resource.public };

@id("admins-view")
permit (
  principal in Group::"admins",
  action == Action::"view",
  resource
);
'''


def readme_block(name: str) -> str:
    """The code block the README marks as tested under `name`."""
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"<!-- tested: tests/test_integrations.py {re.escape(name)} -->\n```\w*\n(.*?)```",
                      text, re.S)
    assert found, f"README has no tested block {name!r}"
    return found.group(1)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}).stdout


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository with policies, a schema and the README's settings."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "project"
    (repo / "policies").mkdir(parents=True)
    (repo / "policies" / "schema.cedarschema").write_text(SCHEMA)
    (repo / "policies" / "docs.cedar").write_text(POLICIES)
    (repo / "pyproject.toml").write_text(readme_block("settings"))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    return repo


# --------------------------------------------------------------------------
# The GitHub Action's script


def action_module():
    spec = importlib.util.spec_from_file_location("cedarscope_action", REPO / "action" / "cedarscope_action.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_action(project: Path, monkeypatch, *args: str) -> tuple[int, dict[str, str], str]:
    monkeypatch.chdir(project)
    outputs, summary = project / "outputs.txt", project / "summary.md"
    env = {"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    base = git(project, "rev-parse", "HEAD").strip()
    code = action_module().run(["--policies", "policies", "--base", base, "--sarif", "out.sarif",
                                "--markdown", "plan.md", *args], env)
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines()) if outputs.exists() else {}
    return code, values, summary.read_text() if summary.exists() else ""


def test_the_action_fails_on_a_gain_and_writes_plan_sarif_and_outputs(project, monkeypatch):
    with (project / "policies" / "docs.cedar").open("a") as f:
        f.write('\npermit (principal, action == Action::"edit", resource)\nwhen { principal.level > 8 };\n')
    code, outputs, summary = run_action(project, monkeypatch, "--schema", "policies/schema.cedarschema",
                                        "--fail-on", "gained,lost")
    assert code == 1 and outputs == {"changes": "1", "failed": "true"}
    assert "gained" in summary and summary == (project / "plan.md").read_text() + "\n"
    sarif = json.loads((project / "out.sarif").read_text())
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["gained"]


def test_the_action_passes_when_no_failing_kind_is_found(project, monkeypatch):
    admins = POLICIES.index('@id("admins-view")')
    (project / "policies" / "docs.cedar").write_text(POLICIES[:admins])
    code, outputs, _ = run_action(project, monkeypatch, "--schema", "policies/schema.cedarschema",
                                  "--fail-on", "gained")
    assert code == 0 and outputs == {"changes": "1", "failed": "false"}  # a loss, which does not fail


def test_the_action_infers_a_schema_when_none_is_given(project, monkeypatch):
    code, outputs, summary = run_action(project, monkeypatch, "--schema", "")
    assert code == 0 and outputs["changes"] == "0"
    assert "schema inferred from the policies" in summary


def test_the_action_reports_bad_input(project, monkeypatch, capsys):
    assert run_action(project, monkeypatch, "--fail-on", "gaind")[0] == 2
    (project / "policies" / "docs.cedar").write_text("permit (principal,")
    assert run_action(project, monkeypatch, "--schema", "policies/schema.cedarschema")[0] == 2
    assert "docs.cedar:1:" in capsys.readouterr().err


def test_action_yml_runs_the_script_with_arguments_it_takes():
    yaml = pytest.importorskip("yaml")
    action = yaml.safe_load((REPO / "action.yml").read_text())
    run = next(step["run"] for step in action["runs"]["steps"] if "cedarscope_action.py" in step.get("run", ""))
    flags = re.findall(r"(--[a-z-]+)", run)
    parsed = action_module().parse_args([arg for flag in flags for arg in (flag, "x")])
    assert parsed.policies == "x"
    used = set(re.findall(r"inputs\.([a-z-]+)", (REPO / "action.yml").read_text()))
    assert used <= set(action["inputs"])


def test_the_readme_workflow_uses_the_action_as_it_is_defined():
    yaml = pytest.importorskip("yaml")
    action = yaml.safe_load((REPO / "action.yml").read_text())
    workflow = yaml.safe_load(readme_block("action"))
    steps = workflow["jobs"]["cedar-policies"]["steps"]
    (ours,) = [s for s in steps if s.get("uses", "").startswith("OWNER/cedarscope@")]
    required = {name for name, spec in action["inputs"].items() if spec.get("required")}
    assert required <= set(ours["with"]) <= set(action["inputs"])
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the base revision must be there for git:REV:path


# --------------------------------------------------------------------------
# pre-commit, with the README's configuration


def run_pre_commit(project: Path, cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
                          cwd=project, capture_output=True, text=True,
                          env={**os.environ, "PRE_COMMIT_HOME": str(cache)})


def test_the_pre_commit_hooks_run_on_a_repository(project, tmp_path):
    pytest.importorskip("pre_commit", reason="pre-commit is not installed (pip install -e '.[dev]')")
    if not (REPO / ".git").exists():
        pytest.skip("cedarscope is not a git checkout here: pre-commit needs a revision of it")
    head = git(REPO, "rev-parse", "HEAD").strip()
    if not git(REPO, "ls-tree", "HEAD", ".pre-commit-hooks.yaml").strip():
        pytest.skip("the checked-out revision has no .pre-commit-hooks.yaml yet")
    config = readme_block("pre-commit").replace("https://github.com/OWNER/cedarscope", str(REPO))
    config = config.replace("rev: v0.1.0", f"rev: {head}")
    (project / ".pre-commit-config.yaml").write_text(config)
    subprocess.run([sys.executable, "-m", "cedarscope", "audit", "--write-baseline",
                    ".cedarscope-baseline.json"], cwd=project, check=True, capture_output=True)
    git(project, "add", ".")
    cache = tmp_path / "pre-commit-cache"

    clean = run_pre_commit(project, cache)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert re.search(r"cedarscope audit\.+Passed", clean.stdout)

    # A new problem: a permit for every user, not in the baseline.
    with (project / "policies" / "docs.cedar").open("a") as f:
        f.write('\n@id("anyone-edits")\npermit (\n  principal,\n  action == Action::"edit",\n  resource\n);\n')
    git(project, "add", ".")
    new = run_pre_commit(project, cache)
    assert new.returncode == 1
    assert re.search(r"cedarscope audit\.+Failed", new.stdout) and "anyone-edits" in new.stdout
    assert re.search(r"cedarscope format --check\.+Passed", new.stdout)

    # A file laid out unlike Cedar's formatter.
    (project / "policies" / "docs.cedar").write_text(POLICIES.replace("permit (", "permit(", 1))
    git(project, "add", ".")
    unformatted = run_pre_commit(project, cache)
    assert re.search(r"cedarscope format --check\.+Failed", unformatted.stdout)
