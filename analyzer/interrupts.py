"""Ctrl-C on the command line: stop within a second, whatever is running.

Python turns SIGINT into `KeyboardInterrupt` only between bytecodes, so on
its own it would wait for a solver call to return (up to its timeout).  And
z3, by default, catches SIGINT itself during a check and answers `unknown`
("interrupted from keyboard"), which the analysis would read as "the solver
gave up" and carry on.  So while a command runs, `ctrl_c_stops_everything`:

* tells z3 to leave SIGINT alone (its global parameter ``ctrl_c``), so
  Python's own handler always sees it;
* has Python's signal handler also write the signal's number to a pipe
  (`signal.set_wakeup_fd`), which a watcher thread reads: on SIGINT it
  interrupts z3, so a running check returns at once, and the main thread,
  back in Python, raises `KeyboardInterrupt` from the check's call site.

The command line turns `KeyboardInterrupt` into exit code 130 with nothing
reported as proved.  Only the final write of a finished report is shielded
(`committing_output`): an answer that was complete when Ctrl-C came is
printed whole, unless a second Ctrl-C insists.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a process stopped by Ctrl-C

_state = threading.local()


class _Guard:
    """The handler, pipe and watcher of one `ctrl_c_stops_everything`."""

    def __init__(self) -> None:
        self.committing = False
        self.deferred = False
        self.output_started = False
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.write_fd, False)
        self.watcher = threading.Thread(target=self._watch, name="cedarscope-ctrl-c", daemon=True)

    def on_sigint(self, signum, frame) -> None:
        if self.committing and not self.deferred:
            self.deferred = True  # finish writing the finished answer; a second Ctrl-C stops it
            return
        raise KeyboardInterrupt

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self.read_fd, 64)
            except OSError:
                return
            if not data:
                return
            if signal.SIGINT in data and not self.committing:
                interrupt_solver()


def interrupt_solver() -> None:
    """Make a z3 check that is running now return (as `unknown`)."""
    z3 = sys.modules.get("z3")
    if z3 is not None:
        z3.main_ctx().interrupt()


def _set_z3_ctrl_c(enabled: bool) -> None:
    z3 = sys.modules.get("z3")
    if z3 is not None:
        z3.set_param("ctrl_c", enabled)


def solver_imported() -> None:
    """Call after importing the solver while a guard is active: z3 must not
    take SIGINT for itself."""
    if getattr(_state, "guard", None) is not None:
        _set_z3_ctrl_c(False)


@contextlib.contextmanager
def ctrl_c_stops_everything() -> Iterator[None]:
    """Within the block, Ctrl-C raises `KeyboardInterrupt` promptly, even
    during a solver call.  Outside the main thread (where signals cannot be
    handled) it changes nothing."""
    if threading.current_thread() is not threading.main_thread() or getattr(_state, "guard", None):
        yield
        return
    guard = _Guard()
    previous_handler = signal.signal(signal.SIGINT, guard.on_sigint)
    previous_fd = signal.set_wakeup_fd(guard.write_fd, warn_on_full_buffer=False)
    _state.guard = guard
    _set_z3_ctrl_c(False)
    guard.watcher.start()
    try:
        yield
    finally:
        _state.guard = None
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGINT, previous_handler)
        _set_z3_ctrl_c(True)
        os.close(guard.write_fd)  # the watcher reads end-of-file and stops
        guard.watcher.join(timeout=1.0)
        os.close(guard.read_fd)


@contextlib.contextmanager
def committing_output() -> Iterator[None]:
    """Around the final write of a finished answer: a first Ctrl-C waits
    until it is written (the answer is complete and true), a second stops
    the write (the output is then marked incomplete)."""
    guard = getattr(_state, "guard", None)
    if guard is None:
        yield
        return
    guard.committing = True
    guard.output_started = True
    try:
        yield
    finally:
        guard.committing = False


def output_started() -> bool:
    """Has a final answer begun to be written (so an interrupt now leaves
    it incomplete)?"""
    guard = getattr(_state, "guard", None)
    return bool(guard is not None and guard.output_started)
