"""Scaling: diff and audit of generated stores of 10 to 10,000 policies.

Each measurement runs in a fresh subprocess so its figures are its own: CPU
seconds of the process and its worker processes, wall seconds, peak memory
(the larger of the process's and its largest worker's), and the machine's
load when it ran.  Audit is measured with `--jobs 1` (for the growth
exponent, fitted by least squares on log-log CPU seconds for n >= 1,000)
and with the default jobs (this machine's cores); at 3,000 policies the two
reports' JSON (timing aside) must be identical.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import time

SIZES = (1000, 3000, 10000)
QUICK_SIZES = (300, 1000)
DIFF_SIZES = (100, 1000, 10000)
QUICK_DIFF_SIZES = (100, 1000)


def _peak_rss_kib() -> int:
    """This process's peak resident memory (VmHWM), or its largest worker's.
    Not this process's ru_maxrss: Linux carries that over exec from the
    parent, which would report the bench runner's own peak."""
    import resource

    own = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                own = int(line.split()[1])
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def _cpu_seconds() -> float:
    import resource

    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def _child(job: str, n: int, jobs: int | None = None, seed: int = 0) -> dict:
    """Runs in the subprocess: one diff or audit, timed."""
    from bench.storegen import generate, mutate
    from cedarscope.analyzer.audit import audit
    from cedarscope.analyzer.checks import diff_report
    from cedarscope.analyzer.solving import Options
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema
    from cedarscope.reports.render_json import report_json

    store = generate(n, seed)
    schema = parse_schema(store.schema, "store.cedarschema")
    started = time.perf_counter()
    old = parse_policies(store.policies, "store.cedar")
    parse_seconds = time.perf_counter() - started
    options = Options(timeout_seconds=60.0, jobs=jobs)
    load = os.getloadavg()[0]
    cpu, started = _cpu_seconds(), time.perf_counter()
    if job == "diff":
        new = parse_policies(mutate(store, changes=5), "store-v2.cedar")
        report = diff_report(schema, old, new, options)
    else:
        report = audit(schema, old, options)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    out = report_json(report)
    out["stats"].pop("solver_seconds", None)
    digest = hashlib.sha256(json.dumps(out, sort_keys=True).encode()).hexdigest()[:16]
    return {"job": job, "n": n, "jobs": jobs, "seconds": seconds, "cpu_seconds": cpu,
            "parse_seconds": parse_seconds, "peak_mib": _peak_rss_kib() / 1024, "findings": len(report.findings),
            "result": report.result.value, "queries": report.stats.get("queries", 0), "json_sha256": digest,
            "load_before": load, "load_after": os.getloadavg()[0]}


def run_one(job: str, n: int, jobs: int | None = None, timeout: float = 3600) -> dict:
    code = f"import json, bench.bench_scale as b; print(json.dumps(b._child({job!r}, {n}, {jobs!r})))"
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"job": job, "n": n, "jobs": jobs, "error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"job": job, "n": n, "jobs": jobs,
                "error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def growth_exponent(points: list[tuple[int, float]], smallest: int = 1000) -> float:
    """Least-squares slope of log(seconds) against log(n), for n >= smallest."""
    pts = [(math.log(n), math.log(max(s, 1e-6))) for n, s in points if n >= smallest]
    if len(pts) < 2:
        return float("nan")
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    num = sum((x - mx) * (y - my) for x, y in pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return num / den if den else float("nan")


def _load(r: dict) -> str:
    return f"load {r['load_before']:.1f}->{r['load_after']:.1f}"


def measure(quick: bool = False) -> dict:
    from bench.__main__ import machine

    cores = machine()["nproc"]
    rows, raw = [], []
    for n in QUICK_DIFF_SIZES if quick else DIFF_SIZES:
        r = run_one("diff", n)
        raw.append(r)
        if "error" in r:
            rows.append({"name": f"diff {n} policies", "ours": r["error"], "baseline": "", "unit": ""})
            continue
        rows.append({"name": f"diff {n} policies, default jobs: wall", "ours": round(r["seconds"], 2),
                     "baseline": _load(r), "unit": "s"})
    sizes = QUICK_SIZES if quick else SIZES
    serial: dict[int, dict] = {}
    for n in sizes:
        r = serial[n] = run_one("audit", n, jobs=1)
        raw.append(r)
        if "error" in r:
            rows.append({"name": f"audit {n} policies, --jobs 1", "ours": r["error"], "baseline": "", "unit": ""})
            continue
        rows.append({"name": f"audit {n} policies, --jobs 1: CPU", "ours": round(r["cpu_seconds"], 2),
                     "baseline": _load(r), "unit": "s"})
        rows.append({"name": f"audit {n} policies, --jobs 1: peak memory", "ours": round(r["peak_mib"], 1),
                     "baseline": "2048 (target)", "unit": "MiB"})
    points = [(n, r["cpu_seconds"]) for n, r in serial.items() if "error" not in r]
    rows.append({"name": f"audit: growth exponent {sizes[0]:,} -> {sizes[-1]:,} (CPU, --jobs 1)",
                 "ours": round(growth_exponent(points, sizes[0]), 2), "baseline": "1.2 (target)", "unit": "k"})
    for n in sizes:
        r = run_one("audit", n)
        raw.append(r)
        if "error" in r:
            rows.append({"name": f"audit {n} policies, default jobs", "ours": r["error"], "baseline": "", "unit": ""})
            continue
        rows.append({"name": f"audit {n} policies, default jobs ({cores} cores): wall",
                     "ours": round(r["seconds"], 2), "baseline": _load(r), "unit": "s"})
        rows.append({"name": f"audit {n} policies, default jobs: peak memory", "ours": round(r["peak_mib"], 1),
                     "baseline": "2048 (target)", "unit": "MiB"})
        one = serial.get(n, {})
        if "error" not in one and one:
            rows.append({"name": f"audit {n} policies: --jobs 1 wall / default jobs wall",
                         "ours": round(one["seconds"] / r["seconds"], 2), "baseline": "1.6 (target, 2 cores)",
                         "unit": "x"})
            rows.append({"name": f"audit {n} policies: JSON identical for --jobs 1 and default",
                         "ours": one["json_sha256"] == r["json_sha256"], "baseline": "True", "unit": ""})
    return {"name": "scaling", "rows": rows, "raw": raw}


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    print(json.dumps(measure(quick), indent=2))
