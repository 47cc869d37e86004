"""The command line starts cheaply: `--version` and `--help` load neither
the solver nor networkx (`--version` not even click).

Each case runs the command in a fresh interpreter through the console
entry point and reports which modules were loaded.  How long start-up takes
is measured by `python -m bench.bench_startup`, not here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cedarscope.version import VERSION

ROOT = Path(__file__).resolve().parents[1]

# Run the entry point with the given arguments, then print the loaded modules
# on stderr (also when the command exits, as click's --help does).
WRAPPER = """
import sys
sys.argv = ["cedarscope", *sys.argv[1:]]
try:
    from cedarscope.analyzer.entry import main
    main()
finally:
    sys.stderr.write("\\nLOADED " + " ".join(sorted(sys.modules)) + "\\n")
"""


def run_entry(*args: str) -> tuple[str, set[str]]:
    done = subprocess.run([sys.executable, "-c", WRAPPER, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = done.stderr.rpartition("LOADED ")[2].split()
    return done.stdout, {name.split(".")[0] for name in loaded}


def test_version_loads_neither_solver_nor_graphs_nor_click():
    out, loaded = run_entry("--version")
    assert out == f"cedarscope {VERSION}\n"
    assert not {"z3", "networkx", "lark", "click", "rich"} & loaded


def test_version_fast_path_prints_what_the_full_command_line_prints():
    from click.testing import CliRunner

    from cedarscope.analyzer.cli import cli

    out, _ = run_entry("--version")
    assert CliRunner().invoke(cli, ["--version"], prog_name="cedarscope").output == out


@pytest.mark.parametrize("args", [("--help",), ("diff", "--help"), ("audit", "--help")])
def test_help_lists_the_commands_without_loading_the_solver(args):
    out, loaded = run_entry(*args)
    assert "Usage: cedarscope" in out
    assert not {"z3", "networkx"} & loaded
    if args == ("--help",):
        for command in ("parse", "validate", "authorize", "diff", "audit", "ask", "check", "whatif"):
            assert f"  {command} " in out, command


def test_python_dash_m_goes_through_the_same_entry_point():
    done = subprocess.run([sys.executable, "-m", "cedarscope", "--version"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, f"cedarscope {VERSION}\n")
