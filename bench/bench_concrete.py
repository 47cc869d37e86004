"""Concrete semantics at scale: deep hierarchies, huge literals, many policies.

`python -m bench --only concrete` (or `python -m bench.bench_concrete` for
the table alone) runs the real command line on generated inputs, each in
its own process, and reports its CPU time and peak memory (VmHWM):

* ``authorize`` with a parent chain 20,000 deep among 200,000 entities: the
  request's principal sits at the bottom and the policy asks `in` the top
  (the target: under 5 s and 500 MB);
* ``parse`` and ``authorize`` of a policy holding a 1 MB string literal;
* ``format --check`` of 100,000 policies (bench/storegen.py).

`--quick` uses a tenth of each size.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------
# Inputs


def chain_store(folder: Path, depth: int, entities: int) -> list[str]:
    """A parent chain Group::"g0" in g1 in ... in g<depth-1>, and users in
    random groups; User::"u0" is in g0, the bottom.  Returns the arguments."""
    rng = random.Random(0)
    data = [{"uid": {"type": "Group", "id": f"g{i}"}, "attrs": {},
             "parents": [{"type": "Group", "id": f"g{i + 1}"}] if i + 1 < depth else []}
            for i in range(depth)]
    data += [{"uid": {"type": "User", "id": f"u{i}"}, "attrs": {"n": i},
              "parents": [{"type": "Group", "id": f"g{0 if i == 0 else rng.randrange(depth)}"}]}
             for i in range(entities - depth)]
    (folder / "chain.json").write_text(json.dumps(data))
    (folder / "chain.cedar").write_text(
        f'permit (principal in Group::"g{depth - 1}", action, resource);\n'
        'forbid (principal, action, resource) when { principal in Group::"nowhere" };\n')
    (folder / "request.json").write_text(json.dumps(
        {"principal": 'User::"u0"', "action": 'Action::"view"', "resource": 'User::"u1"', "context": {}}))
    return ["authorize", "-p", str(folder / "chain.cedar"), "-e", str(folder / "chain.json"),
            "-r", str(folder / "request.json")]


def long_string(folder: Path, size: int) -> tuple[list[str], list[str]]:
    """A policy comparing the context with a `size`-byte string literal, and
    a request whose context holds that string.  (parse args, authorize args)"""
    text = "".join(random.Random(1).choice("abcdefghij klmnopq") for _ in range(size))
    (folder / "string.cedar").write_text(
        f'permit (principal, action, resource) when {{ context.s == "{text}" && context.s like "*{text[-20:]}" }};\n')
    (folder / "string.json").write_text(json.dumps(
        {"principal": 'User::"a"', "action": 'Action::"view"', "resource": 'User::"b"', "context": {"s": text}}))
    (folder / "empty.json").write_text("[]")
    parse = ["parse", str(folder / "string.cedar")]
    authorize = ["authorize", "-p", str(folder / "string.cedar"), "-e", str(folder / "empty.json"),
                 "-r", str(folder / "string.json")]
    return parse, authorize


def many_policies(folder: Path, n: int) -> list[str]:
    from bench.storegen import generate

    (folder / "many.cedar").write_text(generate(n, seed=0).policies)
    return ["format", "--check", str(folder / "many.cedar")]


# --------------------------------------------------------------------------
# Measuring one run of the command line in its own process


def _child() -> None:
    """In the measured process: run the command line, then write CPU time,
    wall time and peak memory where CEDARSCOPE_BENCH_OUT says."""
    from cedarscope.analyzer.cli import main

    started, cpu = time.perf_counter(), time.process_time()
    code = 0
    try:
        main(sys.argv[2:])
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    figures = {"exit": code, "wall": time.perf_counter() - started, "cpu": time.process_time() - cpu,
               "peak_mib": _peak_rss_kib() / 1024}
    Path(os.environ["CEDARSCOPE_BENCH_OUT"]).write_text(json.dumps(figures))
    os._exit(0)


def _peak_rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run(args: list[str], timeout: float = 1800) -> dict:
    """CPU seconds, wall seconds, peak MiB and exit code of `cedarscope ARGS`."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "CEDARSCOPE_BENCH_OUT": out.name, "PYTHONPATH": str(REPO)}
        proc = subprocess.run([sys.executable, "-m", "bench.bench_concrete", "--child", *args],
                              env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:1])} failed: {proc.stderr[-2000:]}")
        return json.loads(Path(out.name).read_text())


# --------------------------------------------------------------------------
# The benchmark


def measure(quick: bool = False) -> dict:
    scale = 10 if quick else 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        depth, entities = 20_000 // scale, 200_000 // scale
        cases = [(f"authorize, {depth:,}-deep chain among {entities:,} entities", chain_store(folder, depth, entities),
                  (5.0, 500.0))]
        parse, authorize = long_string(folder, 1_000_000 // scale)
        mb = f"{1_000_000 // scale / 1e6:g} MB"
        cases += [(f"parse, one {mb} string literal", parse, None),
                  (f"authorize, one {mb} string literal", authorize, None)]
        n = 100_000 // scale
        cases.append((f"format --check, {n:,} policies", many_policies(folder, n), None))
        for name, args, target in cases:
            figures = run(args)
            if figures["exit"] not in (0, 1):
                raise RuntimeError(f"{name}: exit {figures['exit']}")
            cpu_target, mib_target = target if target else (None, None)
            rows.append({"name": f"{name}: CPU time", "ours": round(figures["cpu"], 2),
                         "baseline": f"{cpu_target:g} (target)" if cpu_target else "", "unit": "s"})
            rows.append({"name": f"{name}: peak memory", "ours": round(figures["peak_mib"], 1),
                         "baseline": f"{mib_target:g} (target)" if mib_target else "", "unit": "MiB"})
    return {"rows": rows}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        _child()
    from rich.console import Console

    from bench.__main__ import table

    results = {"concrete": measure(quick="--quick" in argv)}
    Console(width=160).print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
