"""`cedarscope check` on the policy/schema pairs of Cedar's symbolic compiler
tests (../shared/corpus/cedar/cedar-policy-symcc/tests/data).

For every pair: always-allows, always-denies and never-errors of the whole
set, never-errors of each policy, and (as Cedar's own test of these pairs
does) that the set implies and is equivalent to itself (here: to itself with
the policies in reverse order, so the solver is really asked).  A slow test
asks implies, equivalent and disjoint for every pair of single policies.  No answer may be unknown with the
default timeout, every counterexample must replay (the JSON carries the
decision our evaluator gave), and the verdicts are printed as a table
(`python -m pytest tests/test_symcc_pairs.py -s`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cedarscope.analyzer.checks import relation
from cedarscope.analyzer.cli import cli
from cedarscope.analyzer.solving import Options
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.printer import print_policyset
from cedarscope.lang.schema import load_schema
from tests.support.corpus import CORPUS

DATA = CORPUS / "cedar" / "cedar-policy-symcc" / "tests" / "data"
SET_PROPERTIES = ("always-allows", "always-denies", "never-errors")


def pairs() -> list[tuple[str, Path, Path]]:
    """(name, policies, schema) for every folder holding one of each."""
    if not DATA.is_dir():
        return []
    found = []
    for policies in sorted(DATA.rglob("*.cedar")):
        schemas = sorted(policies.parent.glob("*.cedarschema"))
        if schemas:
            found.append((str(policies.parent.relative_to(DATA)), policies, schemas[0]))
    return found


def run_check(args: list[str]) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["check", *args, "--format", "json"])
    assert result.exit_code in (0, 1, 3), result.output + (result.stderr if result.stderr_bytes else "")
    return result.exit_code, json.loads(result.stdout)


def _row(pair: str, prop: str, report: dict) -> str:
    stats = report["stats"]
    return (f"{pair:<40} {prop:<34} {report['result']:<9} "
            f"{stats.get('environments', 0):>4} {stats.get('solver_seconds', 0.0):>8.3f}")


def _consistent(prop: str, code: int, report: dict) -> None:
    """The verdict, exit code and findings agree, and nothing is unknown."""
    assert report["result"] != "unknown", (prop, report["stats"].get("unknown"))
    assert code == {"holds": 0, "violated": 1}[report["result"]]
    assert (report["result"] == "violated") == bool(report["findings"])
    for f in report["findings"]:
        cx = f["counterexample"]
        assert cx is not None, f
        if prop == "always-allows":
            assert "deny" in cx["decisions"].values()
        elif prop == "always-denies":
            assert "allow" in cx["decisions"].values()


PAIRS = pairs()


@pytest.mark.skipif(not DATA.is_dir(), reason=f"../shared/corpus not present: {DATA} is missing")
@pytest.mark.parametrize("name,policies,schema", PAIRS, ids=[p[0] for p in PAIRS])
def test_symcc_pair(name, policies, schema, tmp_path):
    rows = []
    for prop in SET_PROPERTIES:
        code, report = run_check([str(policies), "--schema", str(schema), "--property", prop])
        _consistent(prop, code, report)
        rows.append(_row(name, prop, report))
    ps = parse_policies(policies.read_text(), str(policies))
    for pid, policy in ps.policies:
        if policy.is_template:  # never evaluated on its own (the pairs have no links)
            rows.append(f"{name:<40} {'never-errors ' + pid:<34} (template, not evaluated)")
            continue
        code, report = run_check([str(policies), "--schema", str(schema), "--policy", pid,
                                  "--property", "never-errors"])
        _consistent("never-errors", code, report)
        rows.append(_row(name, f"never-errors {pid}", report))
    reversed_file = tmp_path / "reversed.cedar"
    reversed_file.write_text(print_policyset(PolicySet(tuple(reversed(ps.policies)), ps.links)))
    for command in ("implies", "equivalent"):
        result = CliRunner().invoke(cli, [command, str(policies), str(reversed_file), "--schema", str(schema),
                                          "--format", "json"])
        report = json.loads(result.stdout)
        assert (result.exit_code, report["result"]) == (0, "holds"), report
        rows.append(_row(name, f"{command} (itself, reversed)", report))
    print()
    print("\n".join(rows))


@pytest.mark.slow
@pytest.mark.skipif(not DATA.is_dir(), reason=f"../shared/corpus not present: {DATA} is missing")
@pytest.mark.parametrize("name,policies,schema", PAIRS, ids=[p[0] for p in PAIRS])
def test_symcc_policy_pairs(name, policies, schema):
    """implies / equivalent / disjoint for every pair of single policies:
    never unknown; every counterexample replays (the analyzer drops any that
    does not, making the answer unknown); a policy implies and is equivalent
    to itself."""
    sch = load_schema(schema)
    ps = parse_policies(policies.read_text(), str(policies))
    singles = [(pid, PolicySet(((pid, p),))) for pid, p in ps.policies if not p.is_template]
    verdicts = {"holds": 0, "violated": 0}
    for pid1, a in singles:
        for pid2, b in singles:
            for command in ("implies", "equivalent", "disjoint"):
                report = relation(command, sch, a, b, Options())
                assert report.result.value != "unknown", (command, pid1, pid2, report.stats)
                if pid1 == pid2 and command != "disjoint":
                    assert report.result.value == "holds", (command, pid1)
                verdicts[report.result.value] += 1
    print(f"\n{name}: {len(singles)} policies, {verdicts}")


def test_symcc_data_is_found():
    if not DATA.is_dir():
        pytest.skip(f"../shared/corpus not present: {DATA} is missing")
    assert len(PAIRS) >= 8, [p[0] for p in PAIRS]
