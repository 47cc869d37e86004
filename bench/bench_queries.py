"""Query latency on the cedar-examples applications.

For each application with a schema: equivalent (the set against itself),
always-denies, never-errors, and diff against a mutant (one permit turned
into a forbid).  Each query is asked once cold and then `repeats` times warm
in-process; the figure per query is its solver time in one environment
(compile + solve + decode + replay), reported as median and p95 over all
environments and queries.  End to end: wall time of `cedarscope diff` as a
subprocess, start-up included.

Cedar's own symbolic compiler is reported at 6-11 ms per query with cvc5;
the target here is a median warm query under 10 ms.
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


def _timed_queries(schema, ps, mutant, repeats: int) -> dict[str, list[float]]:
    from analyzer import queries
    from analyzer.diff import diff
    from analyzer.queries import Options

    options = Options(timeout_seconds=30.0)
    jobs = {
        "equivalent": lambda: queries.equivalent(schema, ps, ps, options),
        "always-denies": lambda: queries.always_denies(schema, ps, options),
        "never-errors": lambda: queries.never_errors(schema, ps, options),
        "diff vs mutant": lambda: [a for d in diff(schema, ps, mutant, options).envs
                                   for a in (d.gained, d.lost)],
    }
    times: dict[str, list[float]] = {}
    for name, job in jobs.items():
        job()  # cold: imports, z3 context, caches
        for _ in range(repeats):
            for answer in job():
                times.setdefault(name, []).append(answer.solver_seconds)
    return times


def _cli_wall(policies: Path, mutant: str, schema: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        new = Path(tmp) / "policies.cedar"
        new.write_text(mutant)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "analyzer", "diff", str(policies), str(new),
                        "--schema", str(schema), "--format", "json"],
                       capture_output=True, check=False)
        return time.perf_counter() - started


def measure(quick: bool = False) -> dict:
    from lang.parser import parse_policies
    from lang.schema import load_schema

    if not CORPUS.exists():
        raise FileNotFoundError(f"../shared/corpus not present: {CORPUS}")
    repeats = 1 if quick else 3
    rows, all_warm = [], []
    for app, rel in APPS.items():
        policies, schema_path = app_files(CORPUS / rel)
        text = policies.read_text()
        schema = load_schema(schema_path)
        ps = parse_policies(text, str(policies))
        mutant = parse_policies(mutant_text(text), "mutant.cedar")
        times = _timed_queries(schema, ps, mutant, repeats)
        warm = [t for ts in times.values() for t in ts]
        all_warm += warm
        rows.append({"name": f"{app}: warm query median", "ours": round(statistics.median(warm) * 1000, 2),
                     "baseline": "10 (target)", "unit": "ms"})
        rows.append({"name": f"{app}: warm query p95", "ours": round(percentile(warm, 0.95) * 1000, 2),
                     "baseline": "", "unit": "ms"})
        rows.append({"name": f"{app}: cedarscope diff end to end", "ours":
                     round(_cli_wall(policies, mutant_text(text), schema_path), 2), "baseline": "",
                     "unit": "s"})
    rows.append({"name": "all apps: warm query median", "ours": round(statistics.median(all_warm) * 1000, 2),
                 "baseline": "10 (target)", "unit": "ms"})
    rows.append({"name": "all apps: warm query p95", "ours": round(percentile(all_warm, 0.95) * 1000, 2),
                 "baseline": "", "unit": "ms"})
    return {"rows": rows}


if __name__ == "__main__":
    import json

    print(json.dumps(measure("--quick" in sys.argv), indent=2))
