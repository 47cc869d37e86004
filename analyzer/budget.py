"""The solver's budget: a timeout per query, a deadline for the whole run,
and Ctrl-C.

Every solver call takes its timeout from `solver_timeout_ms`: the per-query
timeout, or what is left before the run's deadline when that is less.  Once
the deadline has passed (`out_of_time`), nothing more is asked and the rest
is reported unknown, with `TIME_LIMIT_REACHED` as the reason.  A check that
z3 stopped because of Ctrl-C is an interrupt, never an answer:
`raise_if_interrupted` turns it into `KeyboardInterrupt`.
"""

from __future__ import annotations

import time
from typing import Any

TIME_LIMIT_REACHED = "the run's time limit was reached before this was settled"

# What z3 says when it caught SIGINT during a check (its own handler is on
# unless the command line's `interrupts` guard turned it off).
_KEYBOARD_REASONS = ("interrupted from keyboard",)


def remaining_seconds(options: Any) -> float | None:
    """Seconds left before `options.deadline` (a `time.monotonic()` time),
    or None without one."""
    deadline = getattr(options, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()


def out_of_time(options: Any) -> bool:
    left = remaining_seconds(options)
    return left is not None and left <= 0


def solver_timeout_ms(options: Any) -> int:
    """The timeout for the next solver call, in milliseconds (at least 1)."""
    seconds = options.timeout_seconds
    left = remaining_seconds(options)
    if left is not None:
        seconds = min(seconds, left)
    return max(1, int(seconds * 1000))


def raise_if_interrupted(solver: Any) -> None:
    """After an `unknown`: raise KeyboardInterrupt if z3 stopped for Ctrl-C."""
    if solver.reason_unknown() in _KEYBOARD_REASONS:
        raise KeyboardInterrupt
