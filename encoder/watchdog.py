"""Solver deadlines, kept by one thread per process.

Z3's own timeout (the solver parameter ``timeout``) starts a timer for every
check and, when the check returns, waits for the timer's thread to
acknowledge that it stopped.  An analysis makes thousands of checks of a
millisecond or less, and that hand-over cost about a third of each one,
more on a loaded machine.  Here one thread holds every running check's
deadline and interrupts the check's context when it passes; starting and
ending a check only updates a table, and the thread wakes when the earliest
deadline comes.  A check the watchdog interrupted answers unknown, which
`fired` tells apart from a Ctrl-C (analyzer.interrupts).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import Any


class Watch:
    """One check's deadline; `fired` once the watchdog interrupted it."""

    __slots__ = ("deadline", "ctx", "fired")

    def __init__(self, deadline: float, ctx: Any):
        self.deadline, self.ctx, self.fired = deadline, ctx, False


class Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._running: set[Watch] = set()
        self._thread: threading.Thread | None = None
        self._waiting_until: float | None = None  # when the thread wakes next (None: when told)

    @contextlib.contextmanager
    def watching(self, deadline: float | None, ctx: Any) -> Iterator[Watch | None]:
        """Interrupt `ctx` if the block still runs at `deadline` (monotonic
        seconds); None: no deadline."""
        if deadline is None:
            yield None
            return
        watch = Watch(deadline, ctx)
        with self._lock:
            self._running.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cedarscope-deadlines", daemon=True)
                self._thread.start()
            elif self._waiting_until is None or deadline < self._waiting_until:
                self._lock.notify()
        try:
            yield watch
        finally:
            with self._lock:
                self._running.discard(watch)

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                for watch in [w for w in self._running if w.deadline <= now]:
                    # under the lock: the check cannot end (and its context
                    # start another check) between the test and the interrupt
                    watch.fired = True
                    watch.ctx.interrupt()
                    self._running.discard(watch)
                self._waiting_until = min((w.deadline for w in self._running), default=None)
                self._lock.wait(None if self._waiting_until is None else self._waiting_until - now)


watchdog = Watchdog()


def _after_fork_in_child() -> None:
    """A forked worker has none of its parent's threads: it starts its own."""
    global watchdog
    watchdog = Watchdog()


os.register_at_fork(after_in_child=_after_fork_in_child)


def watching(deadline: float | None, ctx: Any) -> contextlib.AbstractContextManager[Watch | None]:
    return watchdog.watching(deadline, ctx)
