"""Scaling: diff and audit of generated stores of 10 to 10,000 policies.

Each measurement runs in a fresh subprocess so its peak memory (ru_maxrss)
is its own.  The growth exponent k of time ~ n^k is fitted by least squares
on log-log points (n >= 100, where fixed start-up costs no longer dominate).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

SIZES = (10, 100, 1000, 10000)
QUICK_SIZES = (10, 100, 1000)


def _peak_rss_kib() -> int:
    """This process's peak resident memory (VmHWM).  Not ru_maxrss: Linux
    carries that over exec from the parent, which would report the bench
    runner's own peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(job: str, n: int, seed: int = 0) -> dict:
    """Runs in the subprocess: one diff or audit, timed."""
    from bench.storegen import generate, mutate
    from cedarscope.analyzer.audit import audit
    from cedarscope.analyzer.checks import diff_report
    from cedarscope.analyzer.solving import Options
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema

    store = generate(n, seed)
    schema = parse_schema(store.schema, "store.cedarschema")
    started = time.perf_counter()
    old = parse_policies(store.policies, "store.cedar")
    parse_seconds = time.perf_counter() - started
    options = Options(timeout_seconds=60.0)
    started = time.perf_counter()
    if job == "diff":
        new = parse_policies(mutate(store, changes=5), "store-v2.cedar")
        report = diff_report(schema, old, new, options)
        found = len(report.findings)
    else:
        report = audit(schema, old, options)
        found = len(report.findings)
    seconds = time.perf_counter() - started
    peak_kib = _peak_rss_kib()
    return {"job": job, "n": n, "seconds": seconds, "parse_seconds": parse_seconds,
            "peak_mib": peak_kib / 1024, "findings": found, "result": report.result.value,
            "queries": report.stats.get("queries", 0)}


def run_one(job: str, n: int, timeout: float = 1800) -> dict:
    code = f"import json, bench.bench_scale as b; print(json.dumps(b._child({job!r}, {n})))"
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"job": job, "n": n, "error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"job": job, "n": n, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def growth_exponent(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(seconds) against log(n)."""
    pts = [(math.log(n), math.log(max(s, 1e-6))) for n, s in points if n >= 100]
    if len(pts) < 2:
        return float("nan")
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    num = sum((x - mx) * (y - my) for x, y in pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return num / den if den else float("nan")


def measure(quick: bool = False) -> dict:
    sizes = QUICK_SIZES if quick else SIZES
    rows, raw = [], []
    for job in ("diff", "audit"):
        points = []
        for n in sizes:
            r = run_one(job, n)
            raw.append(r)
            if "error" in r:
                rows.append({"name": f"{job} {n} policies", "ours": r["error"], "baseline": "", "unit": ""})
                continue
            points.append((n, r["seconds"]))
            rows.append({"name": f"{job} {n} policies: time", "ours": round(r["seconds"], 2),
                         "baseline": "", "unit": "s"})
            rows.append({"name": f"{job} {n} policies: peak memory", "ours": round(r["peak_mib"], 1),
                         "baseline": "", "unit": "MiB"})
        rows.append({"name": f"{job}: growth exponent (time ~ n^k)",
                     "ours": round(growth_exponent(points), 2), "baseline": "1.0 = linear", "unit": "k"})
    return {"name": "scaling", "rows": rows, "raw": raw}


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    print(json.dumps(measure(quick), indent=2))
