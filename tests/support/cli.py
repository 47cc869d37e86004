"""Running the `cedarscope` command line in-process (click's CliRunner)."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from cedarscope.analyzer.cli import cli
from cedarscope.reports.findings import EXIT_INTERNAL_ERROR


def run(*args: object) -> Result:
    """Invoke cedarscope with `args` (made strings); whatever the input,
    never a traceback and never the internal-error exit code."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    shown = result.output + result.stderr
    assert "Traceback" not in shown, shown
    assert result.exit_code != EXIT_INTERNAL_ERROR, shown
    return result


def run_json(*args: object) -> tuple[int, dict[str, Any]]:
    """An analysis command's exit code and its `--format json` report."""
    result = run(*args, "--format", "json")
    return result.exit_code, json.loads(result.stdout)
