"""Cold start: `cedarscope --version` and `--help` against `python -c pass`.

Each command runs `runs` times as a fresh process, alternating with the
baseline so that load on a shared machine hits both alike; the figures are
medians, as wall time and as CPU time (user + system of the child, which
other processes on the machine disturb far less).  The goal: `--version`
within 5x of the interpreter's own start and under 0.1 s.

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
import time
from pathlib import Path


def _cedarscope() -> list[str]:
    """The installed console script beside this interpreter, else `python -m cedarscope`."""
    script = Path(sys.executable).with_name("cedarscope")
    if script.exists():
        return [str(script)]
    found = shutil.which("cedarscope")
    return [found] if found else [sys.executable, "-m", "cedarscope"]


def _once(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `argv`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def medians(commands: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float]]:
    """name -> (median wall, median CPU) in milliseconds, the commands interleaved."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for argv in commands.values():  # warm the file cache once
        _once(argv)
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(_once(argv))
    return {name: (statistics.median(w for w, _ in s) * 1000, statistics.median(c for _, c in s) * 1000)
            for name, s in samples.items()}


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
    return {"rows": rows, "command": " ".join(cedarscope)}


if __name__ == "__main__":
    figures = measure(quick="--quick" in sys.argv)
    print(f"command: {figures['command']}")
    for row in figures["rows"]:
        ratio = row["ours"] / row["baseline"] if row["baseline"] else float("nan")
        print(f"{row['name']:45s} {row['ours']:8.1f} vs {row['baseline']:6.1f} {row['unit']}  ({ratio:.1f}x)")
