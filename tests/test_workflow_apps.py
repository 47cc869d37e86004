"""Suppressions and baselines on real stores: the bundled example, the audit
fixtures and every cedar-examples application with a schema.

For each store (copied to a temporary folder):
1. `audit` finds some findings;
2. with `@suppress("<kind>: ...")` added to each finding's subject policies,
   exactly those findings vanish, and the report counts them by kind;
3. `audit --write-baseline` then `audit --baseline` reports 0 findings;
4. with a new problem planted *before* every other policy (a dead permit, so
   every positional id shifts), the baseline run reports exactly that one.

    python -m pytest tests/test_workflow_apps.py -s           # example and fixtures
    python -m pytest tests/test_workflow_apps.py -s -m slow   # every application too
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.bench_queries import APPS
from cedarscope.analyzer.cli import cli
from cedarscope.lang.ast import Annotation
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.printer import print_policyset
from cedarscope.lang.schema import load_schema

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "audit"
LOCAL = {
    "examples": (REPO / "examples" / "policies.cedar", REPO / "examples" / "schema.cedarschema", None),
    "fixture:planted": (FIXTURES / "planted.cedar", FIXTURES / "schema.cedarschema", None),
    "fixture:clean": (FIXTURES / "clean.cedar", FIXTURES / "schema.cedarschema", None),
}


def app_inputs(name: str) -> tuple[Path, Path, Path | None]:
    if name in LOCAL:
        return LOCAL[name]
    import os

    import tests.test_examples_audit as examples_audit

    if os.environ.get("CEDARSCOPE_CORPUS"):
        examples_audit.CORPUS = Path(os.environ["CEDARSCOPE_CORPUS"])
    return examples_audit.app_inputs(name)


def audit(folder: Path, *args: str) -> dict:
    extra = ["--links", "links.json"] if (folder / "links.json").exists() else []
    extra.append("--no-validate")  # the planted fixture fails validation on purpose (its dead policies)
    result = CliRunner().invoke(cli, ["audit", "policies.cedar", "--schema", "schema", "--format", "json",
                                      *extra, *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def copy_store(name: str, folder: Path) -> None:
    policies, schema, links = app_inputs(name)
    shutil.copy(policies, folder / "policies.cedar")
    shutil.copy(schema, folder / "schema")
    if links is not None:
        shutil.copy(links, folder / "links.json")


def with_suppressions(text: str, kinds_by_policy: dict[str, set[str]]) -> str:
    """The policies, each named in `kinds_by_policy` annotated to suppress those kinds."""
    ps = parse_policies(text)
    policies = []
    for pid, policy in ps.policies:
        kinds = kinds_by_policy.get(pid)
        if kinds:
            note = Annotation("suppress", f"{', '.join(sorted(kinds))}: accepted in a test")
            policy = dataclasses.replace(policy, annotations=(*policy.annotations, note))
        policies.append((pid, policy))
    return print_policyset(dataclasses.replace(ps, policies=tuple(policies)))


def planted_problem(schema_path: Path) -> str:
    """A permit that can never match, for the schema's first action."""
    action = load_schema(schema_path).environments()[0].action
    return f'@id("planted-new-problem")\npermit (principal, action == {action}, resource)\nwhen {{ false }};\n\n'


def run_store(name: str, folder: Path, monkeypatch) -> dict:
    monkeypatch.chdir(folder)
    copy_store(name, folder)
    original = (folder / "policies.cedar").read_text()
    before = audit(folder)
    findings = before["findings"]

    # 2. suppress every finding in its subjects
    kinds_by_policy: dict[str, set[str]] = {}
    templates = {link["link_id"]: link["template_id"] for link in
                 (json.loads((folder / "links.json").read_text()) if (folder / "links.json").exists() else [])}
    for f in findings:
        for pid in f["policies"]:
            kinds_by_policy.setdefault(templates.get(pid, pid), set()).add(f["kind"])
    (folder / "policies.cedar").write_text(with_suppressions(original, kinds_by_policy))
    suppressed = audit(folder)
    (folder / "policies.cedar").write_text(original)

    # 3. a baseline of the original findings
    audit(folder, "--write-baseline", "baseline.json")
    baselined = audit(folder, "--baseline", "baseline.json")

    # 4. a new problem, planted first so every positional id shifts
    (folder / "policies.cedar").write_text(planted_problem(folder / "schema") + original)
    planted = audit(folder, "--baseline", "baseline.json")
    return {"findings": findings, "suppressed": suppressed, "baselined": baselined, "planted": planted}


def check_store(name: str, outcome: dict) -> str:
    findings = outcome["findings"]
    by_kind = Counter(f["kind"] for f in findings)
    assert outcome["suppressed"]["findings"] == [], name
    assert outcome["suppressed"]["stats"].get("suppressed", {}) == dict(sorted(by_kind.items())), name
    assert outcome["baselined"]["findings"] == [], name
    assert outcome["baselined"]["stats"]["baselined"] == len(findings), name
    new = [(f["kind"], f["policies"]) for f in outcome["planted"]["findings"]]
    assert new == [("dead", ["planted-new-problem"])], (name, new)
    return (f"{name}: {len(findings)} findings ({', '.join(f'{k} {n}' for k, n in sorted(by_kind.items()))}); "
            f"suppressed {sum(outcome['suppressed']['stats'].get('suppressed', {}).values())}, left 0; "
            f"baseline run 0 (baselined {outcome['baselined']['stats']['baselined']}); "
            f"after planting: {len(new)} ({new[0][0]} {new[0][1][0]})")


@pytest.mark.parametrize("name", list(LOCAL))
def test_example_and_fixtures(name, tmp_path, monkeypatch):
    print(check_store(name, run_store(name, tmp_path, monkeypatch)))


@pytest.mark.slow
@pytest.mark.parametrize("name", [*APPS, "sales_orgs/templated", "hotel_chains/templated", "GitApp", "PhotoApp",
                                  "oopsla/gdrive", "oopsla/github"])
def test_cedar_examples_apps(name, tmp_path, monkeypatch):
    print(check_store(name, run_store(name, tmp_path, monkeypatch)))
