"""Query latency on the cedar-examples applications.

For each application with a schema, four queries in every request
environment: equivalent (the set against itself reordered), always-denies,
never-errors, and diff against a mutant (the first permit turned into a
forbid).  Each is asked once cold and then `repeats` times warm in-process;
the figure per query is the time for one environment from a fresh encoding
through compile, solve, decode and replay (no slicing shortcut), reported as
median and p95 of wall time, and median of the process's CPU time, which
other jobs on a shared machine do not inflate.  Compile time per policy is
reported separately.  End to end: wall time of `cedarscope diff` as a
subprocess, start-up included.

Cedar's own symbolic compiler is reported at 6-11 ms per query with cvc5;
the target here is a median warm query of at most 5 ms.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

APPS = {
    "document_cloud": "cedar-examples/cedar-example-use-cases/document_cloud",
    "github_example": "cedar-examples/cedar-example-use-cases/github_example",
    "hotel_chains": "cedar-examples/cedar-example-use-cases/hotel_chains/static",
    "sales_orgs": "cedar-examples/cedar-example-use-cases/sales_orgs/static",
    "streaming_service": "cedar-examples/cedar-example-use-cases/streaming_service",
    "tags_n_roles": "cedar-examples/cedar-example-use-cases/tags_n_roles",
    "tax_preparer": "cedar-examples/cedar-example-use-cases/tax_preparer",
    "tinytodo": "cedar-examples/tinytodo",
}


def app_files(folder: Path) -> tuple[Path, Path]:
    policies = folder / "policies.cedar"
    schemas = sorted(folder.glob("*.cedarschema"))
    preferred = [s for s in schemas if "template" not in s.name]
    return policies, (preferred or schemas)[0]


def mutant_text(text: str) -> str:
    """The first permit turned into a forbid: a change every app notices."""
    return text.replace("permit", "forbid", 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def _builds(ps, mutant, reordered):
    """The four queries, each as a goal-and-replay builder for one encoding."""
    import z3

    from cedarscope.analyzer.queries import allows, decision, response, slice_in
    from cedarscope.lang.template import instantiate

    linked = {id(x): instantiate(x) for x in (ps, mutant, reordered)}

    def allows_in(enc, x):
        return allows(enc, slice_in(linked[id(x)], enc.env, enc.schema))

    return {
        "equivalent (reordered)": lambda enc: (
            allows_in(enc, ps) != allows_in(enc, reordered),
            lambda r, e: decision(ps, r, e) != decision(reordered, r, e)),
        "always-denies": lambda enc: (
            allows_in(enc, ps), lambda r, e: decision(ps, r, e) == "allow"),
        "never-errors": lambda enc: (
            z3.Or([enc.errors(i.policy) for i in slice_in(linked[id(ps)], enc.env, enc.schema)]
                  or [z3.BoolVal(False)]),
            lambda r, e: bool(response(ps, r, e).errors)),
        "diff vs mutant": lambda enc: (
            z3.And(allows_in(enc, mutant), z3.Not(allows_in(enc, ps))),
            lambda r, e: decision(mutant, r, e) == "allow" and decision(ps, r, e) == "deny"),
    }


def _timed_queries(schema, ps, mutant, reordered, repeats: int
                   ) -> tuple[list[tuple[float, float]], list[float]]:
    """Per (query, environment): seconds from a fresh encoding through
    compile, solve, decode and replay.  Returns (warm times as (wall, CPU of
    the process), compile times per policy)."""
    import time

    from cedarscope.analyzer.queries import slice_in
    from cedarscope.analyzer.solving import EnvSolver, Options
    from cedarscope.encoder import Encoding
    from cedarscope.lang.template import instantiate

    options = Options(timeout_seconds=30.0)
    builds = _builds(ps, mutant, reordered)

    def run_all() -> list[tuple[float, float]]:
        times = []
        for env in schema.environments():
            for build in builds.values():
                started, cpu = time.perf_counter(), time.process_time()
                enc = Encoding(schema, env)
                goal, replay = build(enc)
                EnvSolver(enc, options).examples(goal, replay)
                times.append((time.perf_counter() - started, time.process_time() - cpu))
        return times

    run_all()  # cold: imports, z3 context, caches
    warm = [t for _ in range(repeats) for t in run_all()]
    compile_times = []
    instances = instantiate(ps)
    for env in schema.environments():
        enc = Encoding(schema, env)
        for instance in slice_in(instances, env, schema):
            started = time.perf_counter()
            enc.satisfied(instance.policy)
            enc.errors(instance.policy)
            compile_times.append(time.perf_counter() - started)
    return warm, compile_times


def _cli_wall(policies: Path, mutant: str, schema: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        new = Path(tmp) / "policies.cedar"
        new.write_text(mutant)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cedarscope", "diff", str(policies), str(new),
                        "--schema", str(schema), "--format", "json"],
                       capture_output=True, check=False)
        return time.perf_counter() - started


def measure(quick: bool = False) -> dict:
    from cedarscope.lang.ast import PolicySet
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import load_schema

    if not CORPUS.exists():
        raise FileNotFoundError(f"../shared/corpus not present: {CORPUS}")
    repeats = 1 if quick else 3
    rows, all_warm, all_cpu = [], [], []
    for app, rel in APPS.items():
        policies, schema_path = app_files(CORPUS / rel)
        text = policies.read_text()
        schema = load_schema(schema_path)
        ps = parse_policies(text, str(policies))
        mutant = parse_policies(mutant_text(text), "mutant.cedar")
        reordered = PolicySet(tuple(reversed(ps.policies)), ps.links)
        timed, compile_times = _timed_queries(schema, ps, mutant, reordered, repeats)
        warm, warm_cpu = [wall for wall, _ in timed], [cpu for _, cpu in timed]
        all_warm += warm
        all_cpu += warm_cpu
        rows.append({"name": f"{app}: compile per policy (median)",
                     "ours": round(statistics.median(compile_times) * 1000, 2) if compile_times else "",
                     "baseline": "", "unit": "ms"})
        rows.append({"name": f"{app}: warm query median", "ours": round(statistics.median(warm) * 1000, 2),
                     "baseline": "5 (target)", "unit": "ms"})
        rows.append({"name": f"{app}: warm query p95", "ours": round(percentile(warm, 0.95) * 1000, 2),
                     "baseline": "", "unit": "ms"})
        rows.append({"name": f"{app}: warm query median, CPU (load-independent)",
                     "ours": round(statistics.median(warm_cpu) * 1000, 2), "baseline": "5 (target)", "unit": "ms"})
        rows.append({"name": f"{app}: cedarscope diff end to end", "ours":
                     round(_cli_wall(policies, mutant_text(text), schema_path), 2), "baseline": "",
                     "unit": "s"})
    rows.append({"name": "all apps: warm query median", "ours": round(statistics.median(all_warm) * 1000, 2),
                 "baseline": "5 (target)", "unit": "ms"})
    rows.append({"name": "all apps: warm query p95", "ours": round(percentile(all_warm, 0.95) * 1000, 2),
                 "baseline": "", "unit": "ms"})
    rows.append({"name": "all apps: warm query median, CPU", "ours": round(statistics.median(all_cpu) * 1000, 2),
                 "baseline": "5 (target)", "unit": "ms"})
    return {"rows": rows}


if __name__ == "__main__":
    import json

    print(json.dumps(measure("--quick" in sys.argv), indent=2))
