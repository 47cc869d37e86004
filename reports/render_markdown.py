"""Markdown, for pull-request comments and CI summaries.

A summary table of findings, then one section per finding with its
counterexample in a ``cedar`` code block.
"""

from __future__ import annotations

from cedarscope.reports.findings import FINDING_KINDS, Finding, Report
from cedarscope.reports.render_text import decision_lines, entities_as_cedar, request_as_cedar, stats_lines


def cell(s: str) -> str:
    """Text safe inside a Markdown table cell (one line, no bare pipes)."""
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def longest_backtick_run(s: str) -> int:
    longest = run = 0
    for ch in s:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return longest


def inline_code(s: str) -> str:
    """`s` as inline code, with a fence longer than any backtick run in it."""
    fence = "`" * (longest_backtick_run(s) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def code_block(lines: list[str], lang: str = "cedar") -> list[str]:
    fence = "`" * max(3, longest_backtick_run("\n".join(lines)) + 1)
    return [f"{fence}{lang}", *lines, fence]


def _summary(report: Report) -> list[str]:
    rows = ["| # | kind | policies | location | message |", "|---|---|---|---|---|"]
    for i, f in enumerate(report.findings, 1):
        where = ", ".join(str(loc) for loc in f.locations)
        rows.append(f"| {i} | {cell(f.kind)} | {cell(', '.join(f.policies))} | "
                    f"{cell(where)} | {cell(f.message)} |")
    return rows


def _finding(i: int, f: Finding) -> list[str]:
    out = [f"### {i}. {FINDING_KINDS[f.kind]}: {cell(', '.join(f.policies)) or '(policy set)'}",
           "", cell(f.message), ""]
    for loc in f.locations:
        out.append(f"- at {inline_code(str(loc))}")
    if f.environment is not None:
        out.append(f"- environment: {inline_code(str(f.environment))}")
    if f.related:
        out.append(f"- related: {', '.join(inline_code(p) for p in f.related)}")
    cx = f.counterexample
    if cx is not None:
        out += ["", "Example request:", ""]
        out += code_block(request_as_cedar(cx.request))
        out += ["", "Entities:", ""]
        out += code_block(entities_as_cedar(cx.entities) or ["// none"])
        if cx.decisions:
            out += [""]
            for side, decision, why in decision_lines(cx):
                out.append(f"- {cell(side)}: **{decision}**" + (f", {cell(why)}" if why else ""))
    out.append("")
    return out


def render_markdown(report: Report) -> str:
    n = len(report.findings)
    out = [f"## {report.tool} {report.command}: {report.result.value}", "",
           f"{n} finding{'' if n == 1 else 's'}.", ""]
    out += [f"- assuming: {cell(a)}" for a in report.assumptions] + ([""] if report.assumptions else [])
    if report.findings:
        out += _summary(report) + [""]
        for i, f in enumerate(report.findings, 1):
            out += _finding(i, f)
    if report.stats:
        out += code_block(stats_lines(report.stats), lang="text") + [""]
    return "\n".join(out)
