"""The solver's deadlines (encoder.watchdog): a check still running at its
deadline answers unknown for "timeout" (never a Ctrl-C), promptly, and the
context stays usable; checks that end in time are untouched."""

from __future__ import annotations

import time

import z3

from cedarscope.encoder.solver import Solver


def _hard(ctx: z3.Context) -> z3.BoolRef:
    """Fermat's cubes: Z3 searches for a long time without an answer."""
    a, b, c = z3.Ints("a b c", ctx)
    return z3.And(a * a * a + b * b * b == c * c * c, a > 1, b > 1, c > 1)


def test_a_check_past_its_deadline_is_unknown_for_timeout():
    ctx = z3.Context()
    solver = Solver({}, timeout_ms=300, ctx=ctx)
    solver.add(_hard(ctx))
    started = time.monotonic()
    assert solver.check() == z3.unknown
    assert time.monotonic() - started < 5
    assert solver.reason_unknown() == "timeout"


def test_the_context_answers_again_after_a_timeout():
    ctx = z3.Context()
    hard = Solver({}, timeout_ms=200, ctx=ctx)
    hard.add(_hard(ctx))
    assert hard.check() == z3.unknown
    easy = Solver({}, timeout_ms=10_000, ctx=ctx)
    x = z3.Int("x", ctx)
    easy.add(x > 3, x < 5)
    assert easy.check() == z3.sat
    assert easy.model().eval(x).as_long() == 4


def test_many_short_checks_are_never_interrupted():
    ctx = z3.Context()
    solver = Solver({}, timeout_ms=60_000, ctx=ctx)
    x = z3.Int("x", ctx)
    for i in range(300):
        solver.push()
        solver.add(x == i)
        assert solver.check() == z3.sat
        solver.pop()


def test_without_a_timeout_there_is_no_deadline():
    ctx = z3.Context()
    solver = Solver({}, ctx=ctx)
    x = z3.Int("x", ctx)
    solver.add(x * x == 49, x < 0)
    assert solver.check() == z3.sat


def test_an_interrupt_just_after_the_check_leaves_the_model_readable(monkeypatch):
    """The deadline may pass between the check's return and its end: Z3
    would then refuse to evaluate in the context (b'canceled') until its next
    check.  The answer stands and the model reads as usual."""
    import contextlib

    import cedarscope.encoder.solver as solver_module
    from cedarscope.encoder.watchdog import Watch

    @contextlib.contextmanager
    def late(deadline, ctx):
        watch = Watch(deadline, ctx)
        yield watch
        watch.fired = True
        ctx.interrupt()

    monkeypatch.setattr(solver_module, "watching", late)
    ctx = z3.Context()
    solver = Solver({}, timeout_ms=10_000, ctx=ctx)
    x = z3.Int("x", ctx)
    solver.add(x > 3, x < 5)
    assert solver.check() == z3.sat
    assert solver.model().eval(x + 1).as_long() == 5
