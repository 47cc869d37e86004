"""The `cedarscope` console command (and `python -m cedarscope`).

`cedarscope --version` is answered here, before the command line's framework
is imported: importing click alone costs several times the interpreter's own
start.  Every other invocation goes to `analyzer.cli`, whose `--version`
prints the same line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        from cedarscope.version import VERSION

        sys.stdout.write(f"cedarscope {VERSION}\n")
        return
    from cedarscope.analyzer.cli import main as cli_main

    cli_main(args)
