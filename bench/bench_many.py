"""Many environments: a Kubernetes-style schema (3 principal types x 8
verbs x 44 kinds = 1,056 environments) with 700 RBAC-like policies, audited
and checked, against the generated store (20 environments) per policy;
`equivalent` on a 1,681-environment schema where one environment changed;
and the store validated against its schema, beside cedarpy doing the same.

Every figure is CPU seconds of the process and its workers (`--jobs 1` for
the per-policy comparison and for `equivalent`), measured in a fresh
subprocess, with the machine's load when it ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench.bench_scale import _cpu_seconds


def _child(job: str, n: int) -> dict:
    if job == "k8s-validate":
        return _validation(n)
    from bench.manyenv import change_one, generate_k8s, grid
    from bench.storegen import generate
    from cedarscope.analyzer.audit import audit
    from cedarscope.analyzer.checks import check_set, relation
    from cedarscope.analyzer.solving import Options
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema

    options = Options(timeout_seconds=60.0, jobs=1)
    if job.startswith("k8s"):
        store = generate_k8s(n)
    elif job == "equivalent":
        store = grid()
    else:
        store = generate(n, 0)
    schema = parse_schema(store.schema, "store.cedarschema")
    ps = parse_policies(store.policies, "store.cedar")
    load = os.getloadavg()[0]
    cpu, started = _cpu_seconds(), time.perf_counter()
    if job.endswith("audit"):
        report = audit(schema, ps, options)
    elif job.endswith("check"):
        report = check_set(schema, ps, ["never-errors", "always-denies"], options)
    else:
        changed = parse_policies(change_one(store), "store-v2.cedar")
        report = relation("equivalent", schema, ps, changed, options)
    return {"job": job, "n": len(ps.policies), "environments": len(schema.environments()),
            "cpu_seconds": _cpu_seconds() - cpu, "seconds": time.perf_counter() - started,
            "result": report.result.value, "findings": len(report.findings), "load": load}


def _validation(n: int, repeats: int = 3) -> dict:
    """Parse the schema and the policies and validate them, on each side, in
    this process; the best CPU time of `repeats` passes of each."""
    import cedarpy

    from bench.manyenv import generate_k8s
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema
    from cedarscope.lang.validator import validate

    store = generate_k8s(n)

    def ours() -> bool:
        schema = parse_schema(store.schema, "store.cedarschema")
        return not validate(parse_policies(store.policies, "store.cedar"), schema)

    def theirs() -> bool:
        return bool(cedarpy.validate_policies(store.policies, store.schema).validation_passed)

    best = {}
    for side, fn in (("ours", ours), ("cedarpy", theirs)):
        times = []
        for _ in range(repeats):
            cpu = _cpu_seconds()
            valid = fn()
            times.append(_cpu_seconds() - cpu)
        best[side] = (min(times), valid)
    return {"job": "k8s-validate", "n": store.count, "cpu_seconds": best["ours"][0],
            "baseline_seconds": best["cedarpy"][0], "valid": [best["ours"][1], best["cedarpy"][1]],
            "load": os.getloadavg()[0]}


def run_one(job: str, n: int) -> dict:
    code = f"import json, bench.bench_many as b; print(json.dumps(b._child({job!r}, {n})))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        return {"job": job, "n": n, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(quick: bool = False) -> dict:
    n_k8s, n_generated = (200, 300) if quick else (700, 1000)
    rows, raw = [], []
    figures = {}
    for job, n in (("k8s-audit", n_k8s), ("generated-audit", n_generated), ("k8s-check", n_k8s),
                   ("generated-check", n_generated), ("equivalent", 0)):
        r = run_one(job, n)
        raw.append(r)
        if "error" in r:
            rows.append({"name": job, "ours": r["error"], "baseline": "", "unit": ""})
            continue
        figures[job] = r
        if job == "equivalent":
            rows.append({"name": f"equivalent, {r['environments']:,} environments, one changed: CPU (--jobs 1)",
                         "ours": round(r["cpu_seconds"], 3), "baseline": f"1 (target); load {r['load']:.1f}",
                         "unit": "s"})
            continue
        per = r["cpu_seconds"] / r["n"] * 1000
        r["ms_per_policy"] = per
        rows.append({"name": f"{job}: {r['n']} policies, {r['environments']:,} environments: CPU per policy",
                     "ours": round(per, 2), "baseline": f"load {r['load']:.1f}", "unit": "ms"})
    r = run_one("k8s-validate", n_k8s)
    raw.append(r)
    if "error" in r:
        rows.append({"name": "k8s-validate", "ours": r["error"], "baseline": "", "unit": ""})
    else:
        rows.append({"name": f"validate (parse + validate) {r['n']} policies, 1,056 environments: CPU, best of 3",
                     "ours": round(r["cpu_seconds"], 3), "baseline": round(r["baseline_seconds"], 3), "unit": "s"})
        rows.append({"name": "validate: ours / cedarpy", "ours": round(r["cpu_seconds"] / r["baseline_seconds"], 2),
                     "baseline": "3 (target)", "unit": "x"})
    for what in ("audit", "check"):
        k8s, gen = figures.get(f"k8s-{what}"), figures.get(f"generated-{what}")
        if k8s and gen:
            rows.append({"name": f"{what}: many-environment / generated store, per policy",
                         "ours": round(k8s["ms_per_policy"] / gen["ms_per_policy"], 2), "baseline": "2 (target)",
                         "unit": "x"})
    # A check's work grows with its findings (each a decoded, replayed
    # example), and one per violated (environment, property) pair is many
    # more in a schema of 1,056 environments than in one of 20.
    for job in ("k8s-check", "generated-check"):
        r = figures.get(job)
        if r and r["findings"]:
            rows.append({"name": f"{job}: {r['findings']:,} findings: CPU per finding",
                         "ours": round(r["cpu_seconds"] / r["findings"] * 1000, 2), "baseline": "", "unit": "ms"})
    return {"rows": rows, "raw": raw}


if __name__ == "__main__":
    print(json.dumps(measure("--quick" in sys.argv), indent=2))
