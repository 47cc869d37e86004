"""Run `cedarscope` with a Ctrl-C delivered during one phase of its work.

    python -m tests.sigint_probe MODULE:ATTR DELAY -- cedarscope arguments...

The first call of MODULE:ATTR (a function, or a method as `Class.method`)
starts a timer that sends this process SIGINT after DELAY seconds, as a
user's Ctrl-C would arrive, and prints ``sent <time.monotonic()>`` on
stderr.  If the KeyboardInterrupt comes out of a call of MODULE:ATTR, it
prints ``landed MODULE:ATTR``: the interrupt arrived during that phase.
Used by tests/test_interrupts.py.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
import threading
import time


def _probe(target: str, delay: float) -> None:
    module_name, attr_path = target.split(":")
    owner = importlib.import_module(module_name)
    *parents, name = attr_path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    original = getattr(owner, name)
    fired = threading.Event()

    def send() -> None:
        # written first: the command may end (os._exit) before this thread runs again
        sys.stderr.write(f"sent {time.monotonic()}\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGINT)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        if not fired.is_set():
            fired.set()
            threading.Timer(delay, send).start()
        try:
            return original(*args, **kwargs)
        except KeyboardInterrupt:
            sys.stderr.write(f"landed {target}\n")
            raise

    setattr(owner, name, wrapper)


def main(argv: list[str]) -> None:
    target, delay, dashes, *args = argv
    assert dashes == "--", "usage: MODULE:ATTR DELAY -- cedarscope arguments"
    from cedarscope.analyzer import interrupts
    from cedarscope.analyzer.cli import cli

    interrupts.exit_process_on_interrupt = True  # as the console entry point (analyzer.entry) sets it
    cli._load_analysis_commands()  # so the analysis modules can be patched
    _probe(target, float(delay))
    cli.main(args=args, prog_name="cedarscope")


if __name__ == "__main__":
    main(sys.argv[1:])
