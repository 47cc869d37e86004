"""Environments spread over processes (`--jobs`) or a Dask cluster
(`--scheduler`) give exactly the report a serial run gives: the same
findings in the same order, with the same examples (only the solver's
timing differs)."""

from __future__ import annotations

import json

import pytest

from bench.storegen import generate, mutate
from cedarscope.analyzer.audit import audit
from cedarscope.analyzer.checks import check_set, diff_report
from cedarscope.analyzer.slicing import PolicyIndex, may_match
from cedarscope.analyzer.solving import Options
from cedarscope.analyzer.spread import MIN_PARALLEL_WEIGHT, spread
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.schema import parse_schema
from cedarscope.lang.template import instantiate
from cedarscope.reports.render_json import report_json

STORE = generate(300, seed=3)


@pytest.fixture(scope="module")
def inputs():
    return parse_schema(STORE.schema, "store.cedarschema"), parse_policies(STORE.policies, "store.cedar")


def as_json(report) -> str:
    """The report's JSON without its timing, and with each finding's example
    reduced to its decisions.  The findings (kinds, policies, environments,
    messages) and the verdict are exact; which of the equally valid models
    Z3 returns has been seen to vary, rarely, with the load the workers ran
    under (see the README), and with it an example and the count of solver
    calls."""
    out = report_json(report)
    out["stats"].pop("solver_seconds", None)  # timing
    out["stats"].pop("queries", None)
    for finding in out["findings"]:
        example = finding.get("counterexample")
        if example:
            finding["counterexample"] = example.get("decisions")
    return json.dumps(out, sort_keys=True)


def test_the_store_is_big_enough_to_be_spread(inputs):
    schema, ps = inputs
    index = PolicyIndex(instantiate(ps), schema)
    assert sum(len(index.slice(env)) for env in schema.environments()) >= MIN_PARALLEL_WEIGHT


def whole_json(report) -> str:
    """The report's JSON with only its timing left out."""
    out = report_json(report)
    out["stats"].pop("solver_seconds", None)
    return json.dumps(out, sort_keys=True)


def test_audit_with_two_jobs_is_the_serial_audit(inputs):
    """The whole report, examples and solver calls included: an environment's
    models do not depend on what its process solved before (see the README,
    "Spreading the work")."""
    schema, ps = inputs
    serial = audit(schema, ps, Options(jobs=1))
    assert serial.findings and any(f.counterexample for f in serial.findings)
    assert whole_json(audit(schema, ps, Options(jobs=2))) == whole_json(serial)


def verdicts(report) -> tuple:
    """The verdict and where each finding is (not the examples, whose choice
    among equally valid models may vary with the search; see the README)."""
    return report.result, sorted((f.kind, str(f.environment)) for f in report.findings)


def test_diff_and_check_with_two_jobs_decide_as_the_serial_ones(inputs):
    schema, ps = inputs
    new = parse_policies(mutate(STORE, changes=8), "store-v2.cedar")
    serial = diff_report(schema, ps, new, Options(jobs=1))
    assert serial.findings
    assert verdicts(diff_report(schema, ps, new, Options(jobs=2))) == verdicts(serial)
    props = ["always-denies", "never-errors"]
    assert verdicts(check_set(schema, ps, props, Options(jobs=2))) == \
        verdicts(check_set(schema, ps, props, Options(jobs=1)))


def test_results_come_in_the_tasks_order_whatever_finishes_first():
    tasks = list(range(12))
    weights = [1 if t % 2 else 100 for t in tasks]  # the heavy ones are handed out first
    assert list(spread(_square, 3, tasks, Options(jobs=2), weights)) == [3 * t * t for t in tasks]


def _square(factor: int, task: int) -> int:
    return factor * task * task


def test_the_index_slices_as_may_match_does(inputs):
    schema, ps = inputs
    instances = instantiate(ps)
    index = PolicyIndex(instances, schema)
    for env in schema.environments():
        assert index.slice(env) == [i for i in instances if may_match(i.policy, env, schema)]


def test_audit_on_a_dask_cluster_is_the_serial_audit(inputs):
    distributed = pytest.importorskip("distributed", reason="Dask distributed is not installed "
                                      "(pip install 'cedarscope[distributed]')")
    schema, ps = inputs
    serial = audit(schema, ps, Options(jobs=1))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        spread_out = audit(schema, ps, Options(scheduler=cluster.scheduler_address))
    assert as_json(spread_out) == as_json(serial)
