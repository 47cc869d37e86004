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
  back in Python, raises `KeyboardInterrupt` from the check's call site;
* remembers the interrupt: a KeyboardInterrupt raised inside a ``__del__``
  is only printed by Python, so until the command line acknowledges the
  interrupt the watcher delivers it again every POKE_SECONDS, and whatever
  error the interrupt causes on its way (a solver call canceled during
  clean-up) counts as the interrupt (`interrupted`).

The command line turns the interrupt into exit code 130 with nothing
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
import time
import weakref
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import z3

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a process stopped by Ctrl-C
POKE_SECONDS = 0.25

# Set by the console entry point (analyzer.entry): this process is the
# command itself, so once an interrupt is reported it may end at once,
# without freeing the heap object by object (a second or more for a large
# encoding).  Under a test runner the command shares the process: unset.
exit_process_on_interrupt = False


class _Guard:
    """The handler, pipe and watcher of one `ctrl_c_stops_everything`."""

    def __init__(self) -> None:
        self.committing = False
        self.deferred = False
        self.interrupted = False  # a Ctrl-C asked to stop
        self.acknowledged = False  # the command line is stopping: no more KeyboardInterrupts
        self.output_started = False
        self.main_thread = threading.main_thread().ident or 0
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.write_fd, False)
        self.watcher = threading.Thread(target=self._watch, name="cedarscope-ctrl-c", daemon=True)

    def on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self.acknowledged:
            return
        if self.committing and not self.deferred:
            self.deferred = True  # finish writing the finished answer; a second Ctrl-C stops it
            return
        self.interrupted = True
        raise KeyboardInterrupt

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self.read_fd, 64)
            except OSError:
                return
            if not data:
                return
            # (The Python-level handler may not have run yet: the main thread
            # may be inside a solver call, which this interrupt ends.)
            if signal.SIGINT in data and not self.committing and not self.acknowledged:
                interrupt_solver()
                self._poke_until_acknowledged()

    def _poke_until_acknowledged(self) -> None:
        """Interrupt the solver and deliver SIGINT to the main thread again
        until the command line acknowledges the interrupt."""
        while True:
            time.sleep(POKE_SECONDS)
            if self.acknowledged or self.committing or _active is not self:
                return
            interrupt_solver()
            if not self.main_thread:
                return
            try:
                signal.pthread_kill(self.main_thread, signal.SIGINT)
            except (OSError, ValueError):
                return


_active: _Guard | None = None


# The z3 contexts solver calls run in (analyzer.solving gives each
# environment its own): an interrupt must reach whichever is checking.
_contexts: weakref.WeakSet[z3.Context] = weakref.WeakSet()


def solver_context(ctx: z3.Context) -> None:
    """Register a z3 context whose checks Ctrl-C must end; while a guard is
    active, z3 must also leave SIGINT to Python."""
    _contexts.add(ctx)
    if _active is not None:
        _set_z3_ctrl_c(False)


def interrupt_solver() -> None:
    """Make a z3 check that is running now return (as `unknown`)."""
    z3 = sys.modules.get("z3")
    if z3 is None:
        return
    try:
        contexts = [z3.main_ctx(), *list(_contexts)]
    except RuntimeError:  # the set changed while it was read: the main thread made a context
        contexts = [z3.main_ctx()]
    for ctx in contexts:
        ctx.interrupt()


def _set_z3_ctrl_c(enabled: bool) -> None:
    z3 = sys.modules.get("z3")
    if z3 is not None:
        z3.set_param("ctrl_c", enabled)


def solver_imported() -> None:
    """Call after importing the solver while a guard is active: z3 must not
    take SIGINT for itself."""
    if _active is not None:
        _set_z3_ctrl_c(False)


@contextlib.contextmanager
def ctrl_c_stops_everything() -> Iterator[None]:
    """Within the block, Ctrl-C raises `KeyboardInterrupt` promptly, even
    during a solver call.  Outside the main thread (where signals cannot be
    handled), or nested, it changes nothing."""
    global _active
    if threading.current_thread() is not threading.main_thread() or _active is not None:
        yield
        return
    guard = _Guard()
    previous_handler = signal.signal(signal.SIGINT, guard.on_sigint)
    previous_fd = signal.set_wakeup_fd(guard.write_fd, warn_on_full_buffer=False)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_when_interrupted(previous_hook)
    _active = guard
    _set_z3_ctrl_c(False)
    guard.watcher.start()
    try:
        yield
    finally:
        _active = None
        sys.unraisablehook = previous_hook
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGINT, previous_handler)
        _set_z3_ctrl_c(True)
        os.close(guard.write_fd)  # the watcher reads end-of-file and stops
        guard.watcher.join(timeout=1.0)
        os.close(guard.read_fd)


def _quiet_when_interrupted(previous: Callable[[sys.UnraisableHookArgs], object]
                             ) -> Callable[[sys.UnraisableHookArgs], None]:
    """Python prints an exception it cannot raise (in a __del__) as
    "Exception ignored ...".  A KeyboardInterrupt lost that way is ours
    (`_Guard` delivers it again), and what objects left half-made by the
    interrupt fail to clean up is a consequence of stopping: neither is
    shown."""
    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) or interrupted():
            return
        previous(unraisable)
    return hook


def interrupted() -> bool:
    """Has Ctrl-C asked this run to stop?  (Then any error on the way out is
    a consequence of stopping, not a finding or a bug.)"""
    return _active is not None and _active.interrupted


def acknowledge() -> None:
    """The command line is stopping for the interrupt: no further
    KeyboardInterrupt (repeated Ctrl-C) may cut its last words short."""
    if _active is not None:
        _active.acknowledged = True


def raise_if_interrupted() -> None:
    """Before a finished answer is written: an interrupt that was lost on
    the way (swallowed by a ``__del__``) still stops it."""
    if interrupted():
        raise KeyboardInterrupt


@contextlib.contextmanager
def committing_output() -> Iterator[None]:
    """Around the final write of a finished answer: a first Ctrl-C waits
    until it is written (the answer is complete and true), a second stops
    the write (the output is then marked incomplete)."""
    guard = _active
    if guard is None:
        yield
        return
    raise_if_interrupted()
    guard.committing = True
    guard.output_started = True
    try:
        yield
    finally:
        guard.committing = False


def output_started() -> bool:
    """Has a final answer begun to be written (so an interrupt now leaves
    it incomplete)?"""
    return _active is not None and _active.output_started
