"""The GitHub Action's work (action.yml runs this script): diff the policies
at the pull request's base revision against the checked-out head, write the
plan as Markdown (to a file for a comment, and to the job summary), write
SARIF for code scanning, set the step's outputs, and exit 1 when a change of
a kind in --fail-on was found.

    python action/cedarscope_action.py --policies policies --base BASE_SHA \\
        [--schema schema.cedarschema] [--fail-on gained,lost] [--sarif out.sarif] [--markdown plan.md]

Exit codes are cedarscope's: 0 no failing change, 1 a failing change, 2 bad
input (printed as located errors), 3 the solver could not decide.  The
repository must be checked out with the base revision available
(actions/checkout with fetch-depth: 0).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from cedarscope.lang.diagnostics import CedarError
from cedarscope.reports.findings import FINDING_KINDS, Report, Verdict

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT, EXIT_UNKNOWN = 0, 1, 2, 3


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cedarscope-action", description=__doc__.splitlines()[0])
    parser.add_argument("--policies", required=True, help="policy file or folder, from the repository root")
    parser.add_argument("--base", required=True, help="the base revision")
    parser.add_argument("--schema", default="", help="schema file; empty to infer one")
    parser.add_argument("--fail-on", default="gained", help="comma-separated finding kinds that fail the job")
    parser.add_argument("--sarif", default="", help="write SARIF here (empty: none)")
    parser.add_argument("--markdown", default="", help="write the Markdown plan here (empty: none)")
    return parser.parse_args(list(argv))


def fail_kinds(text: str) -> frozenset[str]:
    kinds = frozenset(k.strip() for k in text.split(",") if k.strip())
    unknown = sorted(kinds - set(FINDING_KINDS))
    if unknown:
        raise ValueError(f"--fail-on: unknown finding kind {unknown[0]!r} (known: {', '.join(FINDING_KINDS)})")
    return kinds


def plan(policies: str, base: str, schema_path: str) -> Report:
    """The diff of the policies from `base` to the working tree."""
    from cedarscope.analyzer.api import diff, load_policies, load_schema
    from cedarscope.analyzer.workflow import INFERRED, assuming, infer

    old = load_policies(f"git:{base}:{policies}")
    new = load_policies(policies)
    if schema_path:
        return diff(old, new, load_schema(schema_path))
    return assuming(diff(old, new, infer([new, old]).schema), INFERRED)


def markdown_plan(report: Report, policies: str, base: str) -> str:
    from cedarscope.reports import render

    return f"### cedarscope: `{policies}` since `{base[:12]}`\n\n" + render(report, "markdown")


def write_outputs(report: Report, failing: int, env: Mapping[str, str]) -> None:
    """The step's outputs (GITHUB_OUTPUT) when run by Actions."""
    path = env.get("GITHUB_OUTPUT")
    if path:
        changes = sum(1 for f in report.findings if f.kind in ("gained", "lost"))
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"changes={changes}\nfailed={'true' if failing else 'false'}\n")


def run(argv: Sequence[str], env: Mapping[str, str]) -> int:
    args = parse_args(argv)
    try:
        kinds = fail_kinds(args.fail_on)
    except ValueError as err:
        print(f"cedarscope-action: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.base:
        print("cedarscope-action: error: no base revision (run on pull_request, or give base)", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        report = plan(args.policies, args.base, args.schema)
    except CedarError as err:
        print(err.format(), file=sys.stderr)
        return EXIT_BAD_INPUT
    from cedarscope.reports import render

    markdown = markdown_plan(report, args.policies, args.base)
    if args.markdown:
        Path(args.markdown).write_text(markdown, encoding="utf-8")
    if env.get("GITHUB_STEP_SUMMARY"):
        with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary:
            summary.write(markdown + "\n")
    if args.sarif:
        Path(args.sarif).write_text(render(report, "sarif"), encoding="utf-8")
    failing = [f for f in report.findings if f.kind in kinds]
    write_outputs(report, len(failing), env)
    print(f"cedarscope: {len(report.findings)} change(s); {len(failing)} of a failing kind "
          f"({', '.join(sorted(kinds)) or 'none'})")
    if failing:
        return EXIT_FAIL
    return EXIT_UNKNOWN if report.verdict is Verdict.UNKNOWN else EXIT_OK


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], os.environ))
