"""`python -m cedarscope` and the `cedarscope` command: the command line."""

import signal


def _stop_early(signum, frame):
    """Ctrl-C before the command line's own handling is in place (while it
    is imported): stop at once with 130; nothing has been proved yet."""
    import os

    os.write(2, b"cedarscope: interrupted; nothing was proved\n")
    raise SystemExit(130)


def run() -> None:
    signal.signal(signal.SIGINT, _stop_early)
    from cedarscope.analyzer.cli import main

    try:
        main()
    except SystemExit as stop:
        if stop.code == 130:  # interrupted: skip tearing down a large heap, stop now
            import os
            import sys

            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(130)
        raise


if __name__ == "__main__":
    run()
