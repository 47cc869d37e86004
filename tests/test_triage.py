"""Accepting findings: @suppress annotations, the settings file's ignores,
and baselines whose fingerprints survive moving and renumbering policies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cedarscope.analyzer.baseline import fingerprint, read_baseline, write_baseline
from cedarscope.analyzer.config import Config, effective, find_config, read_config
from cedarscope.analyzer.suppress import suppression_of, suppressions
from cedarscope.analyzer.triage import triage
from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.links import with_links
from cedarscope.lang.parser import parse_policies, parse_policy
from cedarscope.lang.schema import RequestEnv
from cedarscope.lang.values import EntityUID
from cedarscope.reports.findings import Finding, Report, Verdict

ENV = RequestEnv("User", EntityUID("Action", "view"), "Doc")

# --------------------------------------------------------------------------
# @suppress


def test_suppress_names_kinds_and_a_reason():
    s = suppression_of(parse_policy('@suppress("over-permissive, redundant: public read route") '
                                    'permit(principal, action, resource);'))
    assert s.kinds == {"over-permissive", "redundant"} and s.reason == "public read route"


@pytest.mark.parametrize("text, message", [
    ('@suppress("over-permisive") permit(principal, action, resource);', "unknown finding kind 'over-permisive'"),
    ('@suppress(": why") permit(principal, action, resource);', "needs finding kinds"),
    ('@suppress permit(principal, action, resource);', "needs finding kinds"),
])
def test_a_bad_suppress_is_a_located_error(text, message):
    with pytest.raises(CedarError) as err:
        suppression_of(parse_policy(text, "p.cedar"))
    d = err.value.diagnostics[0]
    assert message in d.message and (d.file, d.line, d.column) == ("p.cedar", 1, 1)


def test_links_inherit_their_templates_suppressions():
    ps = parse_policies('@id("t") @suppress("dead") permit(principal == ?principal, action, resource);')
    ps = with_links(ps, [{"template_id": "t", "link_id": "l", "args": {"?principal": 'User::"a"'}}])
    assert set(suppressions([ps])) == {"t", "l"}


POLICIES = '''
@id("public") @suppress("over-permissive: anyone may read public docs")
permit(principal, action == Action::"view", resource);
permit(principal, action == Action::"edit", resource);
'''


def report(*findings: Finding, unknown: bool = False) -> Report:
    stats = {"environments": 1, "queries": 1, **({"unknown": ["x"]} if unknown else {})}
    return Report("audit", Verdict.VIOLATED if findings else Verdict.HOLDS, findings, stats)


def finding(kind: str, *policies: str) -> Finding:
    return Finding(kind, f"{kind} {policies}", policies, (), (), ENV)


def test_triage_sets_aside_and_counts_suppressed_and_ignored():
    ps = parse_policies(POLICIES)
    out = triage(report(finding("over-permissive", "public"), finding("over-permissive", "policy1"),
                        finding("redundant", "policy1")), [ps], ignore=["redundant"])
    assert [f.policies for f in out.findings] == [("policy1",)]
    assert out.stats["suppressed"] == {"over-permissive": 1} and out.stats["ignored"] == {"redundant": 1}
    assert out.verdict is Verdict.VIOLATED
    out = triage(report(finding("over-permissive", "public")), [ps])
    assert out.findings == () and out.verdict is Verdict.HOLDS


def test_a_finding_is_suppressed_only_when_every_subject_suppresses_its_kind():
    ps = parse_policies(POLICIES)
    out = triage(report(finding("over-permissive", "public", "policy1")), [ps])
    assert len(out.findings) == 1


def test_configured_severities_apply_and_only_errors_fail():
    ps = parse_policies(POLICIES)
    out = triage(report(finding("over-permissive", "policy1"), finding("redundant", "policy1")), [ps],
                 severities={"redundant": "note", "over-permissive": "warning"})
    assert [(f.kind, f.severity) for f in out.findings] == [("over-permissive", "warning"), ("redundant", "note")]
    # still violated (each is a counterexample: never "holds"), but not failing
    assert out.verdict is Verdict.VIOLATED and out.exit_code == 0
    out = triage(report(finding("over-permissive", "policy1"), finding("redundant", "policy1")), [ps],
                 severities={"redundant": "note"})
    assert out.verdict is Verdict.VIOLATED and out.exit_code == 1


def test_nothing_left_but_an_unknown_stays_unknown():
    ps = parse_policies(POLICIES)
    assert triage(report(finding("over-permissive", "public"), unknown=True), [ps]).verdict is Verdict.UNKNOWN


# --------------------------------------------------------------------------
# Baselines


def test_fingerprints_survive_moving_reformatting_and_renumbering(tmp_path):
    before = parse_policies('permit(principal, action == Action::"a", resource);\n'
                            'permit(principal, action == Action::"view", resource) when { resource.public };')
    after = parse_policies('@id("new") forbid(principal, action, resource) when { false };\n'
                           'permit(\n  principal,\n  action == Action::"view",\n  resource\n)\n'
                           'when { resource.public };\n'
                           'permit(principal, action == Action::"a", resource);')
    # the view permit is policy1 before and policy1 after, but the "a" permit moved from 0 to 2
    assert fingerprint(finding("dead", "policy0"), [before]) == fingerprint(finding("dead", "policy2"), [after])
    assert fingerprint(finding("dead", "policy0"), [before]) != fingerprint(finding("dead", "policy1"), [after])
    assert fingerprint(finding("dead", "policy0"), [before]) != fingerprint(finding("redundant", "policy0"),
                                                                           [before])


def test_chosen_ids_are_the_identity_even_when_the_text_changes():
    one = parse_policies('@id("p") permit(principal, action, resource);')
    two = parse_policies('@id("p") permit(principal, action, resource) when { context.x };')
    assert fingerprint(finding("dead", "p"), [one]) == fingerprint(finding("dead", "p"), [two])


def test_a_baseline_run_reports_only_new_findings(tmp_path):
    ps = parse_policies(POLICIES)
    old = report(finding("over-permissive", "policy1"))
    path = tmp_path / "baseline.json"
    assert write_baseline(path, old.findings, [ps]) == 1
    assert len(read_baseline(path)) == 1
    again = triage(report(finding("over-permissive", "policy1")), [ps], baseline=path)
    assert again.findings == () and again.stats["baselined"] == 1 and again.verdict is Verdict.HOLDS
    planted = triage(report(finding("over-permissive", "policy1"), finding("redundant", "policy1")),
                     [ps], baseline=path)
    assert [f.kind for f in planted.findings] == ["redundant"]


def test_a_bad_baseline_is_bad_input(tmp_path):
    path = tmp_path / "b.json"
    path.write_text('{"findings": []}')
    with pytest.raises(CedarError, match="not a cedarscope baseline"):
        read_baseline(path)
    path.write_text("{")
    with pytest.raises(CedarError, match="invalid JSON"):
        read_baseline(path)


# --------------------------------------------------------------------------
# Settings


def test_settings_are_found_upward_and_paths_are_relative_to_their_file(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.cedarscope]\nschema = "policies/s.cedarschema"\n'
                                             'policies = ["policies"]\ntimeout = 5\nignore = ["dead"]\n'
                                             '[tool.cedarscope.severity]\nshadowed = "note"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    config = find_config()
    assert config.file == tmp_path / "pyproject.toml"
    assert config.values["schema"] == str(Path("../../policies/s.cedarschema"))
    assert config.values["timeout"] == 5.0 and config.ignore == ("dead",) and config.severity == {"shadowed": "note"}
    defaults = config.default_map()
    assert defaults["audit"]["schema_path"] == config.values["schema"]
    assert defaults["parse"]["paths"] == (str(Path("../../policies")),)
    rows = {key: (value, source) for key, value, source in effective(config, {"timeout": 9.0})}
    assert rows["timeout"] == (9.0, "command line")
    assert rows["ignore"] == (("dead",), str(tmp_path / "pyproject.toml"))
    from cedarscope.analyzer.spread import default_jobs
    assert rows["jobs"] == (default_jobs(), "default")  # what --jobs defaults to: the cores, not 1


def test_cedarscope_toml_comes_first_and_a_pyproject_without_the_table_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.cedarscope]\ntimeout = 1\n')
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "x"\n')
    monkeypatch.chdir(inner)
    assert find_config().file == tmp_path / "pyproject.toml"
    (tmp_path / "cedarscope.toml").write_text('timeout = 2\n')
    assert find_config().values["timeout"] == 2.0


@pytest.mark.parametrize("text, message", [
    ('timeuot = 3', "unknown setting 'timeuot'"),
    ('timeout = "fast"', "expected a positive number of seconds"),
    ('ignore = ["deadd"]', "unknown finding kind 'deadd'"),
    ('[severity]\ndead = "fatal"', "severity 'fatal' is not one of error, warning, note"),
    ('jobs = 0', "expected a positive whole number"),
    ('timeout = ', "invalid TOML"),
])
def test_bad_settings_are_located_errors(tmp_path, text, message):
    path = tmp_path / "cedarscope.toml"
    path.write_text(text)
    with pytest.raises(CedarError) as err:
        read_config(path)
    assert message in err.value.diagnostics[0].message and err.value.diagnostics[0].file == str(path)


def test_no_settings_file_means_defaults(tmp_path):
    if any((folder / name).is_file() for folder in tmp_path.parents for name in ("cedarscope.toml", "pyproject.toml")):
        pytest.skip("a settings file above the temporary folder")
    assert find_config(tmp_path) == Config()
    assert json.dumps(Config().default_map()) == "{}"
