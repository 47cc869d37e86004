"""Cold start: `cedarscope --version` and `--help` against `python -c pass`,
and a whole small run: `cedarscope diff` on the bundled example.

Each command runs `runs` times as a fresh process, alternating with the
baseline so that load on a shared machine hits both alike; the figures are
medians, as wall time and as CPU time (user + system of the child, which
other processes on the machine disturb far less).  The goals: `--version`
within 5x of the interpreter's own start and under 0.1 s; the diff under
0.5 s of CPU.

The diff is measured twice, with its own Python bytecode cache
(PYTHONPYCACHEPREFIX) and its own Lark table cache, both filled by a first
run: once with bytecode for every module, as a pip install leaves it, and
once with cedarscope's own sources compiled on every run, as an editable
checkout runs under PYTHONDONTWRITEBYTECODE with no __pycache__ (about
650 KB of source for a diff).

    python -m bench.bench_startup            # 10 runs each
    python -m bench.bench_startup --quick    # 3 runs each
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIFF_ARGS = ["diff", "examples/policies.cedar", "examples/policies_v2.cedar",
             "--schema", "examples/schema.cedarschema"]
DIFF_GOAL_MS = 500.0


def _cedarscope() -> list[str]:
    """The installed console script beside this interpreter, else `python -m cedarscope`."""
    script = Path(sys.executable).with_name("cedarscope")
    if script.exists():
        return [str(script)]
    found = shutil.which("cedarscope")
    return [found] if found else [sys.executable, "-m", "cedarscope"]


def _once(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `argv` (run from the repository
    root; exit 0, or 1 for a report with findings)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def medians(commands: dict[str, list[str]], runs: int,
            envs: dict[str, dict[str, str]] | None = None) -> dict[str, tuple[float, float]]:
    """name -> (median wall, median CPU) in milliseconds, the commands interleaved."""
    envs = envs or {}
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for name, argv in commands.items():  # warm the file cache once
        _once(argv, envs.get(name))
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(_once(argv, envs.get(name)))
    return {name: (statistics.median(w for w, _ in s) * 1000, statistics.median(c for _, c in s) * 1000)
            for name, s in samples.items()}


def _diff_envs(folder: Path, cedarscope: list[str]) -> dict[str, dict[str, str]]:
    """The two settings the diff is measured in, their caches filled."""
    compiled = {"PYTHONPYCACHEPREFIX": str(folder / "bytecode"), "CEDARSCOPE_CACHE_DIR": str(folder / "tables")}
    _once([*cedarscope, *DIFF_ARGS], {**compiled, "PYTHONDONTWRITEBYTECODE": ""})  # fills both caches
    ours = folder / "bytecode-but-ours"
    shutil.copytree(folder / "bytecode", ours)
    for package in ("cedarscope", "lang", "encoder", "analyzer", "reports"):  # the sources, as the checkout has them
        shutil.rmtree(ours / REPO.relative_to(REPO.anchor) / package, ignore_errors=True)
    return {"bytecode": compiled, "sources": {**compiled, "PYTHONPYCACHEPREFIX": str(ours)}}


def measure(quick: bool = False) -> dict:
    runs = 3 if quick else 10
    cedarscope = _cedarscope()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "cedarscope --version": [*cedarscope, "--version"],
        "cedarscope --help": [*cedarscope, "--help"],
    }
    found = medians(commands, runs)
    base_wall, base_cpu = found["python -c pass"]
    rows = []
    for name in ("cedarscope --version", "cedarscope --help"):
        wall, cpu = found[name]
        rows.append({"name": f"{name}: wall, median of {runs}", "ours": round(wall, 1),
                     "baseline": round(base_wall, 1), "unit": "ms (baseline: python -c pass)"})
        rows.append({"name": f"{name}: CPU, median of {runs}", "ours": round(cpu, 1),
                     "baseline": round(base_cpu, 1), "unit": "ms (baseline: python -c pass)"})
    rows += _diff_rows(cedarscope, 5 if quick else runs)
    return {"rows": rows, "command": " ".join(cedarscope)}


def _diff_rows(cedarscope: list[str], runs: int) -> list[dict]:
    diff = [*cedarscope, *DIFF_ARGS]
    with tempfile.TemporaryDirectory(prefix="cedarscope-bench-") as tmp:
        envs = _diff_envs(Path(tmp), cedarscope)
        found = medians({name: diff for name in envs}, runs, envs)
    label = {"bytecode": "bytecode compiled, as installed", "sources": "our sources compiled each run"}
    return [{"name": f"cedarscope diff (bundled example), {label[name]}: CPU, median of {runs}",
             "ours": round(cpu, 1), "baseline": DIFF_GOAL_MS, "unit": "ms (baseline: the goal)"}
            for name, (_, cpu) in found.items()]


if __name__ == "__main__":
    figures = measure(quick="--quick" in sys.argv)
    print(f"command: {figures['command']}")
    for row in figures["rows"]:
        ratio = row["ours"] / row["baseline"] if row["baseline"] else float("nan")
        print(f"{row['name']:45s} {row['ours']:8.1f} vs {row['baseline']:6.1f} {row['unit']}  ({ratio:.1f}x)")
