"""Ctrl-C and budgets.

Ctrl-C at any moment stops `cedarscope` within a second with exit 130 and
nothing reported as proved: during parsing, validation, encoding, a solver
call and rendering of a long audit (a generated store, bench/storegen.py),
and at fixed moments of a plain run.  A whole-run `--time-limit` turns what
is left into "unknown"; `--timeout` and `--time-limit` take finite positive
seconds up to a documented maximum.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.storegen import generate
from cedarscope.analyzer.cli import MAX_TIME_LIMIT_SECONDS, MAX_TIMEOUT_SECONDS, cli

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "cli"
HARD = FIXTURES / "hard.cedar"  # a sum of three cubes: each check runs until its timeout
SCHEMA = FIXTURES / "schema.cedarschema"
STOP_WITHIN_SECONDS = 1.0


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, Path]:
    """A 3,000-policy store: its audit runs for well over the 4 s the last
    interrupt waits, even with two workers on an idle machine (1,000
    policies took about 4 s there)."""
    folder = tmp_path_factory.mktemp("store")
    s = generate(3000, seed=0)
    (folder / "policies.cedar").write_text(s.policies)
    (folder / "schema.cedarschema").write_text(s.schema)
    return folder / "policies.cedar", folder / "schema.cedarschema"


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}


def _stopped(proc: subprocess.Popen, sent_at: float) -> tuple[str, str, float]:
    out, err = proc.communicate(timeout=120)
    return out, err, time.monotonic() - sent_at


def assert_interrupted(code: int, out: str, err: str, seconds: float) -> None:
    assert code == 130, (code, err[-2000:])
    assert seconds < STOP_WITHIN_SECONDS, f"stopped {seconds:.2f} s after Ctrl-C"
    assert "holds" not in out and out == "", "nothing is reported as proved"
    assert "interrupted" in err and "Traceback" not in err


@pytest.mark.parametrize("phase, target, delay", [
    ("parsing", "cedarscope.analyzer.sources:load_policy_source", 0.05),
    ("validation", "cedarscope.lang.validator:validate", 0.05),
    ("encoding", "cedarscope.analyzer.audit:EnvSession.__init__", 0.005),
    ("rendering", "cedarscope.reports:render", 0.005),
])
def test_ctrl_c_during_each_phase_of_a_long_audit(store, phase, target, delay):
    """Every run must stop at once with 130; a run whose interrupt arrived
    just after the phase (the machine is shared) is repeated, up to 3 times,
    until one lands in it."""
    policies, schema = store
    for _ in range(3):  # one process, so the probe's interrupt lands where the phase runs
        landed, code, out, err, seconds = _probe(target, delay, "audit", policies, "-s", schema, "--jobs", "1")
        assert_interrupted(code, out, err, seconds)
        if landed:
            return
    pytest.fail(f"the interrupt never arrived during {phase}")


def _probe(target: str, delay: float, *args) -> tuple[bool, int, str, str, float]:
    """Run cedarscope under tests/sigint_probe.py: (did the interrupt land
    in `target`, exit code, stdout, stderr, seconds from Ctrl-C to exit)."""
    proc = subprocess.run([sys.executable, "-m", "tests.sigint_probe", target, str(delay), "--",
                           *(str(a) for a in args)],
                          capture_output=True, text=True, env=_env(), cwd=REPO, timeout=300)
    ended = time.monotonic()
    sent = [float(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("sent ")]
    assert sent, proc.stderr[-2000:]
    return f"landed {target}" in proc.stderr, proc.returncode, proc.stdout, proc.stderr, ended - sent[0]


def test_ctrl_c_during_a_solver_call():
    """z3 would turn the interrupt into `unknown` and go on to the next
    environment (another full timeout); it must stop at once instead."""
    landed, code, out, err, seconds = _probe("z3:Solver.check", 0.5, "check", HARD, "-s", SCHEMA,
                                             "-P", "always-denies", "--timeout", "60")
    assert landed, err
    assert_interrupted(code, out, err, seconds)


@pytest.mark.parametrize("after", [0.5, 2.0, 4.0])
def test_ctrl_c_at_fixed_moments_of_a_plain_audit(store, after):
    policies, schema = store
    proc = subprocess.Popen([sys.executable, "-m", "cedarscope", "audit", str(policies), "-s", str(schema)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=REPO)
    time.sleep(after)
    assert proc.poll() is None, "the audit ended before the interrupt"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err, seconds = _stopped(proc, sent)
    assert_interrupted(proc.returncode, out, err, seconds)


def test_ctrl_c_stops_a_parallel_audit_and_its_workers(store):
    """A terminal's Ctrl-C reaches the whole process group: the workers
    leave it to the command, which stops them and exits with 130."""
    policies, schema = store
    proc = subprocess.Popen([sys.executable, "-m", "cedarscope", "audit", str(policies), "-s", str(schema),
                             "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), cwd=REPO, start_new_session=True)
    time.sleep(3.0)
    assert proc.poll() is None, "the audit ended before the interrupt"
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    out, err, seconds = _stopped(proc, sent)
    assert_interrupted(proc.returncode, out, err, seconds)
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):  # no worker of the group is left running
        os.killpg(proc.pid, 0)


# --------------------------------------------------------------------------
# Budgets


def test_time_limit_reports_the_rest_unknown():
    """Two environments, each check running until its 60 s timeout: the
    whole-run limit of 2 s stops it and says why."""
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["check", str(HARD), "-s", str(SCHEMA), "-P", "always-denies",
                                      "--timeout", "60", "--time-limit", "2", "--format", "json"])
    elapsed = time.monotonic() - started
    report = json.loads(result.stdout)
    assert (result.exit_code, report["result"]) == (3, "unknown")
    assert elapsed < 10, elapsed
    assert any("time limit" in reason for reason in report["stats"]["unknown"]), report["stats"]


def test_time_limit_in_audit_withholds_every_claim_it_did_not_settle(store):
    policies, schema = store
    result = CliRunner().invoke(cli, ["audit", str(policies), "-s", str(schema), "--time-limit", "0.5",
                                      "--format", "json"])
    report = json.loads(result.stdout)
    assert result.exit_code in (1, 3)
    assert any("time limit" in reason for reason in report["stats"]["unknown"])
    # A claim that needs the solver is never made on an unsettled environment
    # (dead without the solver: no environment's scope can match at all).
    assert {f["kind"] for f in report["findings"]} <= {"dead"}


@pytest.mark.parametrize("option", ["--timeout", "--time-limit"])
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e308", "0", "-1", "abc", "", "1e400"])
def test_budgets_are_finite_positive_seconds(option, value):
    result = CliRunner().invoke(cli, ["check", str(HARD), "-s", str(SCHEMA), option, value])
    assert result.exit_code == 2, result.output
    assert "Invalid value" in result.output and "seconds" in result.output
    assert len(result.output.splitlines()[-1]) < 200


def test_budget_maximums_are_accepted_and_documented():
    result = CliRunner().invoke(cli, ["check", "--help"])
    assert f"{MAX_TIMEOUT_SECONDS:g}" in result.output and f"{MAX_TIME_LIMIT_SECONDS:g}" in result.output
    over = CliRunner().invoke(cli, ["check", str(HARD), "-s", str(SCHEMA), "--timeout", str(MAX_TIMEOUT_SECONDS * 2)])
    assert over.exit_code == 2
