"""`cedarscope audit` on each cedar-examples application that has a schema
(bench/bench_queries.py APPS), with every counterexample replayed by the
official engine (cedarpy, given the schema so the example must also conform
to it): the decision is the one claimed, and a forbid-may-error witness makes
that forbid error.  The findings are printed (`pytest -s`).

Findings without an example (dead, redundant, shadowed) are claims that
something holds for every request; each is re-proved by another query that
does not share the audit's incremental solving: `check --policy P
never-matches` for dead, `equivalent(set, set - P)` for redundant,
`implies({P}, {Q})` for "P is shadowed by Q" (forbids read as permits, so
"allows" means "matches"), and `implies({P}, {the overriding forbids})` for
overridden.  The planted audit fixture (tests/fixtures/audit) is
cross-checked the same way.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.bench_queries import APPS, app_files
from cedarscope.analyzer.checks import check_policy, relation
from cedarscope.analyzer.cli import cli
from cedarscope.analyzer.confirm import linked_text
from cedarscope.analyzer.solving import Options
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.authorizer import instantiate
from cedarscope.lang.links import with_links
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.schema import load_schema
from tests.support.corpus import CORPUS

AUDIT_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "audit"
EXAMPLES = "cedar-examples"
# Further applications with a schema, beyond the benchmark's: (policies,
# schema, template links or None), relative to the corpus.
MORE_APPS = {
    "sales_orgs/templated": ("cedar-example-use-cases/sales_orgs/templated/policies.cedar",
                             "cedar-example-use-cases/sales_orgs/templated/policies.cedarschema",
                             "cedar-example-use-cases/sales_orgs/templated/linked"),
    "hotel_chains/templated": ("cedar-example-use-cases/hotel_chains/templated/policies.cedar",
                               "cedar-example-use-cases/hotel_chains/templated/policies.cedarschema",
                               "cedar-example-use-cases/hotel_chains/templated/linked"),
    "GitApp": ("cedar-policy-language-in-action/GitApp/gitapp.cedar",
               "cedar-policy-language-in-action/GitApp/gitapp.cedarschema", None),
    "PhotoApp": ("cedar-policy-language-in-action/PhotoApp/photoapp.cedar",
                 "cedar-policy-language-in-action/PhotoApp/photoapp.cedarschema", None),
    "oopsla/gdrive": ("oopsla2024-benchmarks/benches/gdrive/cedar/policies.cedar",
                      "oopsla2024-benchmarks/benches/gdrive/cedar/gdrive.cedarschema.json", None),
    "oopsla/github": ("oopsla2024-benchmarks/benches/github/cedar/policies.cedar",
                      "oopsla2024-benchmarks/benches/github/cedar/github.cedarschema.json", None),
}


def app_inputs(app: str) -> tuple[Path, Path, Path | None]:
    """(policies, schema, links) of an application, skipping when absent."""
    if app == "fixture:planted":
        return AUDIT_FIXTURE / "planted.cedar", AUDIT_FIXTURE / "schema.cedarschema", None
    if app in APPS:
        folder = CORPUS / APPS[app]
        if not folder.is_dir():
            pytest.skip(f"../shared/corpus not present: {folder} is missing")
        policies, schema = app_files(folder)
        links = folder / "linked" if (folder / "linked").is_file() else None
        return policies, schema, links
    paths = [CORPUS / EXAMPLES / rel if rel else None for rel in MORE_APPS[app]]
    if not paths[0].is_file():
        pytest.skip(f"../shared/corpus not present: {paths[0]} is missing")
    return paths[0], paths[1], paths[2]

cedarpy = pytest.importorskip("cedarpy", reason="cedarpy (the official engine) is not installed")


def load(policies: Path, links: Path | None = None) -> PolicySet:
    ps = parse_policies(policies.read_text(), str(policies))
    if links is not None:
        ps = with_links(ps, json.loads(links.read_text()), str(links))
    return ps


def audit_json(policies: Path, schema: Path, links: Path | None = None) -> tuple[int, dict]:
    extra = ["--links", str(links)] if links else []
    if policies == AUDIT_FIXTURE / "planted.cedar":
        extra.append("--no-validate")  # some planted problems exist only in policies that fail validation
    result = CliRunner().invoke(cli, ["audit", str(policies), "--schema", str(schema), "--format", "json",
                                      *extra])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def cedarpy_answer(ps: PolicySet, schema: Path, cx: dict) -> tuple[str, set[str]]:
    """The official decision, and the ids of the policies that errored."""
    # linked_text lists the policies in `instantiate` order, so cedarpy's
    # positional ids policyN name them by index.
    ids = [i.id for i in instantiate(ps)]
    result = cedarpy.is_authorized(cx["request"], linked_text(ps), json.dumps(cx["entities"]),
                                   schema=schema.read_text())
    errored = {ids[int(m.split("`policy", 1)[1].split("`", 1)[0])]
               for m in result.diagnostics.errors if "`policy" in m}
    decision = "allow" if result.decision == cedarpy.Decision.Allow else "deny"
    return decision, errored


def as_permits(ps: PolicySet, ids) -> PolicySet:
    """The policies `ids` of `ps`, each as a permit: the set allows exactly
    the requests that one of them matches."""
    return PolicySet(tuple((pid, dataclasses.replace(ps.get(pid), effect="permit")) for pid in ids))


def holds(report) -> bool:
    assert report.result.value != "unknown", report.stats
    return report.result.value == "holds"


def cross_check(schema, ps: PolicySet, finding: dict) -> None:
    """Re-prove an audit claim with a different query."""
    kind, subjects, related = finding["kind"], finding["policies"], finding["related"]
    options = Options()
    if any(ps.get(pid) is None or ps.get(pid).is_template for pid in subjects + related):
        return  # template links: not cross-checked here
    if kind == "dead":
        (pid,) = subjects
        assert holds(check_policy(schema, ps, pid, ["never-matches"], options)), finding
    elif kind == "redundant":
        (pid,) = subjects
        rest = PolicySet(tuple((i, p) for i, p in ps.policies if i != pid), ps.links)
        assert holds(relation("equivalent", schema, ps, rest, options)), finding
    elif kind == "shadowed":
        (pid,) = subjects
        assert holds(relation("implies", schema, as_permits(ps, [pid]), as_permits(ps, related),
                              options)), finding
    elif kind == "overridden":
        (pid,) = subjects
        assert all(ps.get(r).effect == "forbid" for r in related), finding
        assert holds(relation("implies", schema, as_permits(ps, [pid]), as_permits(ps, related),
                              options)), finding


def test_planted_audit_claims_are_reproved():
    policies, schema = AUDIT_FIXTURE / "planted.cedar", AUDIT_FIXTURE / "schema.cedarschema"
    _, report = audit_json(policies, schema)
    ps = parse_policies(policies.read_text(), str(policies))
    kinds = {f["kind"] for f in report["findings"]}
    assert {"dead", "redundant", "shadowed", "overridden"} <= kinds
    for f in report["findings"]:
        cross_check(load_schema(schema), ps, f)
        if f["counterexample"]:
            decision, errored = cedarpy_answer(ps, schema, f["counterexample"])
            assert decision == f["counterexample"]["decisions"]["policies"], f


@pytest.mark.parametrize("app", sorted(APPS) + sorted(MORE_APPS))
def test_audit_findings_replay_under_cedarpy(app):
    policies, schema, links = app_inputs(app)
    code, report = audit_json(policies, schema, links)
    ps = load(policies, links)
    assert report["result"] in ("holds", "violated"), report["stats"]
    assert code == (1 if report["findings"] else 0)
    title = f"{app}{' (with links)' if links else ''}"
    lines = [f"{title}: {report['result']}, {len(report['findings'])} findings, stats {report['stats']}"]
    for f in report["findings"]:
        cx = f["counterexample"]
        lines.append(f"  {f['kind']:<17} {', '.join(f['policies'])}"
                     f"{' (related: ' + ', '.join(f['related']) + ')' if f['related'] else ''}"
                     f"{'' if cx else ' [no example]'}: {f['message']}")
        cross_check(load_schema(schema), ps, f)
        if cx is None:
            continue
        decision, errored = cedarpy_answer(ps, schema, cx)
        assert decision == cx["decisions"]["policies"], (f, decision)
        if f["kind"] == "forbid-may-error":
            assert set(f["policies"]) <= errored, (f, errored)
    print()
    print("\n".join(lines))


REMOVABLE_KINDS = {"dead", "redundant", "shadowed", "overridden"}


@pytest.mark.parametrize("app", sorted(APPS) + sorted(MORE_APPS) + ["fixture:planted"])
def test_audit_misses_no_removable_permit(app):
    """Completeness, checked one policy at a time: a permit whose removal
    changes no decision (equivalent(set, set - P) holds) is reported as dead,
    redundant, shadowed or overridden, except the first of a group of
    equivalent permits, which is kept (the later ones are reported as
    shadowed by it); and a policy reported so is removable."""
    policies, schema, links = app_inputs(app)
    ps, sch = load(policies, links), load_schema(schema)
    _, report = audit_json(policies, schema, links)
    flagged = {pid for f in report["findings"] if f["kind"] in REMOVABLE_KINDS for pid in f["policies"]}
    removable = set()
    for pid, policy in ps.policies:
        if policy.is_template:
            continue
        rest = PolicySet(tuple((i, p) for i, p in ps.policies if i != pid), ps.links)
        if holds(relation("equivalent", sch, ps, rest, Options())):
            removable.add(pid)
            kept_first = any(
                f["kind"] == "shadowed" and pid in f["related"] for f in report["findings"])
            assert policy.effect == "forbid" or pid in flagged or kept_first, \
                (pid, "removable but not reported")
    assert flagged <= removable, flagged - removable
