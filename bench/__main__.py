"""`python -m bench [--quick] [--only NAME]`: run the benchmarks.

Every module `bench/bench_<name>.py` exposes `measure(quick: bool) -> dict`
whose ``rows`` are figures ``{"name", "ours", "baseline", "unit"}``.  This
runs them, prints one table, and writes `bench/results.json` with the date
and the machine the figures were measured on.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"  # full runs; --quick runs write results-quick.json


def results_file(quick: bool) -> Path:
    """Quick runs keep their own file, so they never replace full figures."""
    return BENCH_DIR / "results-quick.json" if quick else RESULTS


def benchmark_names() -> list[str]:
    return sorted(p.stem[len("bench_"):] for p in BENCH_DIR.glob("bench_*.py"))


def machine() -> dict:
    return {
        "nproc": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],  # 1, 5, 15 minutes, when measured
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "z3": _version("z3-solver"),
        "cedarpy": _version("cedarpy"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def run(name: str, quick: bool) -> dict:
    """One benchmark's figures, with its wall time; a failure is recorded
    (with its traceback) rather than stopping the others."""
    start = time.perf_counter()
    try:
        figures = importlib.import_module(f"bench.bench_{name}").measure(quick)
    except Exception as err:
        figures = {"rows": [], "error": f"{type(err).__name__}: {err}",
                   "traceback": traceback.format_exc()}
    figures["seconds"] = round(time.perf_counter() - start, 2)
    return figures


def table(results: dict[str, dict]) -> Table:
    t = Table(title="cedarscope benchmarks")
    for col, justify in (("benchmark", "left"), ("figure", "left"), ("ours", "right"),
                         ("baseline", "right"), ("unit", "left"), ("ours/baseline", "right")):
        t.add_column(col, justify=justify)
    for name, figures in results.items():
        if "error" in figures:
            t.add_row(name, f"[red]failed: {figures['error']}[/red]", "", "", "", "")
        for row in figures["rows"]:
            ours, base = row.get("ours"), row.get("baseline")
            ratio = (f"{ours / base:.2f}" if isinstance(ours, (int, float)) and
                     isinstance(base, (int, float)) and base else "")
            t.add_row(name, str(row["name"]), _fmt(ours), _fmt(base), str(row.get("unit", "")),
                      ratio)
    return t


def _fmt(v) -> str:
    """Floats to one decimal, except small ones, which keep 3 significant
    digits (a 0.004 s query is not "0.0")."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if 0 < abs(v) < 10 else f"{v:,.1f}"
    return str(v)


def markdown(report: dict) -> str:
    """The figures of a results.json as a Markdown table, with when and where."""
    m = report["machine"]
    load = m.get("load_average")
    lines = [f"Measured {report['date'][:10]} on {m['nproc']} cores ({m['cpu']}), Python {m['python']}, "
             f"z3 {m['z3']}, cedarpy {m['cedarpy']}{' (--quick)' if report.get('quick') else ''}"
             + (f"; load average {load[0]} (1 min) when the run ended; each benchmark's load before and "
                "after it is in bench/results.json." if load else "."),
             "", "| benchmark | figure | cedarscope | baseline | unit |", "|---|---|---:|---:|---|"]
    for name, figures in report["benchmarks"].items():
        for row in figures.get("rows", []):
            cells = [name, row["name"], _cell(row["ours"]), _cell(row.get("baseline", "")), row.get("unit", "")]
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
        if "error" in figures:
            lines.append(f"| {name} | failed: {figures['error']} | | | |")
    return "\n".join(lines)


def _cell(value) -> str:
    return f"{value:,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _earlier(quick: bool) -> dict:
    """The figures of the last run of the same kind (quick or full), if any."""
    try:
        report = json.loads(results_file(quick).read_text())
    except (OSError, ValueError):
        return {}
    return report.get("benchmarks", {})


def main(argv: list[str] | None = None) -> int:
    names = benchmark_names()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, short timings")
    parser.add_argument("--only", metavar="NAME", choices=names,
                        help=f"run one benchmark ({', '.join(names)})")
    parser.add_argument("--markdown", action="store_true",
                        help="print bench/results.json as a Markdown table (for the README); run nothing")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(RESULTS.read_text())))
        return 0
    selected = [args.only] if args.only else names
    # A pipe or CI log gets a wide table rather than wrapped cells.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    results = {}
    for name in selected:
        console.print(f"running bench_{name} ...", style="dim")
        load = os.getloadavg()[0]
        results[name] = run(name, args.quick)
        results[name]["date"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        results[name]["load"] = [round(load, 2), round(os.getloadavg()[0], 2)]  # before, after
        results[name]["nproc"] = os.cpu_count()
    console.print(table(results))
    if args.only:
        results = {**_earlier(args.quick), **results}  # --only refreshes one benchmark's figures
    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "benchmarks": results,
    }
    target = results_file(args.quick)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(target)
    console.print(f"wrote {target}", style="dim")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
