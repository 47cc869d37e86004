"""The `cedarscope` console command (and `python -m cedarscope`).

`cedarscope --version` is answered here, before the command line's framework
is imported: importing click alone costs several times the interpreter's own
start.  Every other invocation goes to `analyzer.cli`, whose `--version`
prints the same line.

Ctrl-C is handled from the first line: until the command line's own
handling (`analyzer.interrupts`) is in place, it stops the program at once
with exit 130 (nothing has been proved yet); and an interrupted run exits
without tearing down a large heap, so it stops within a second.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import FrameType

EXIT_INTERRUPTED = 130


def _stop_early(signum: int, frame: FrameType | None) -> None:
    os.write(2, b"cedarscope: interrupted; nothing was proved\n")
    raise SystemExit(EXIT_INTERRUPTED)


def main(argv: Sequence[str] | None = None) -> None:
    signal.signal(signal.SIGINT, _stop_early)
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        from cedarscope.version import VERSION

        sys.stdout.write(f"cedarscope {VERSION}\n")
        return
    from cedarscope.analyzer import interrupts

    interrupts.exit_process_on_interrupt = True
    from cedarscope.analyzer.cli import main as cli_main

    try:
        cli_main(args)
    except SystemExit as stop:
        if stop.code == EXIT_INTERRUPTED:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(EXIT_INTERRUPTED)
        raise
