"""Markdown, for pull-request comments and CI summaries.

The summary comes first: for a diff or what-if, a table with one row per
change (direction, environment, the policies whose edit caused it, and the
exact description), then the number of unchanged environments; for other
commands, a table of findings.  Details follow, each folded in a
``<details>`` block so that a long report stays one screen in a review.
"""

from __future__ import annotations

from cedarscope.reports.findings import FINDING_KINDS, Counterexample, Finding, Report
from cedarscope.reports.render_text import (
    PLAN_COMMANDS,
    SIGN,
    answer_words,
    causes,
    decision_lines,
    entities_as_cedar,
    one_line,
    request_as_cedar,
    stats_lines,
)


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


def folded(summary: str, body: list[str]) -> list[str]:
    """A `<details>` block (blank lines around the body, so GitHub renders
    its Markdown)."""
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


def html_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --------------------------------------------------------------------------
# The change plan


def _plan_summary(report: Report) -> list[str]:
    changes = report.changes
    out = []
    if changes:
        out += ["| | change | environment | caused by | exactly these requests |", "|---|---|---|---|---|"]
        for f in changes:
            sign, _ = SIGN[f.kind]
            described = inline_code(one_line(f.description)) if f.description else "_no exact description_"
            out.append(f"| {sign} | {f.kind} | {cell(str(f.environment))} | {cell(causes(f))} | {cell(described)} |")
        out.append("")
    unchanged = report.stats.get("unchanged_environments")
    if unchanged is not None:
        out += [f"_{unchanged} environment{'' if unchanged == 1 else 's'} unchanged._", ""]
    return out


def _change(i: int, f: Finding) -> list[str]:
    sign, _ = SIGN[f.kind]
    subjects = ", ".join(f"{inline_code(p)} ({f.edits.get(p, 'changed')})" for p in f.policies)
    # not f.message: it says in one line what the summary and this body say in parts
    body = [f"Caused by: {subjects or '(no single policy)'}", ""]
    for loc in f.locations:
        body.append(f"- at {inline_code(str(loc))}")
    if f.description:
        body += ["", f"Exactly these requests ({f.description_form} description):", ""]
        body += code_block(f.description.splitlines())
    else:
        body += ["", "No exact description was found within the budget."]
    for n, cx in enumerate(f.examples, 1):
        body += ["", f"Example {n} of {len(f.examples)}:" if len(f.examples) > 1 else "Example:", ""]
        body += _example(cx)
    if f.related:
        body += ["", f"Related: {', '.join(inline_code(p) for p in f.related)}"]
    return folded(html_text(f"{i}. {sign} {f.kind}: {f.environment}"), body)


def _example(cx: Counterexample) -> list[str]:
    out = code_block(request_as_cedar(cx.request, cx.unread) + ["// entities"]
                     + (entities_as_cedar(cx.entities, cx.unread) or ["// none"]))
    if cx.decisions:
        out.append("")
        for side, decision, why in decision_lines(cx):
            out.append(f"- {cell(side)}: **{decision}**" + (f", {cell(why)}" if why else ""))
    return out


# --------------------------------------------------------------------------
# Other findings


def _summary(report: Report) -> list[str]:
    rows = ["| # | kind | policies | location | message |", "|---|---|---|---|---|"]
    for i, f in enumerate(report.findings, 1):
        where = ", ".join(str(loc) for loc in f.locations)
        rows.append(f"| {i} | {cell(f.kind)} | {cell(', '.join(f.policies))} | "
                    f"{cell(where)} | {cell(f.message)} |")
    return rows


def _finding(i: int, f: Finding) -> list[str]:
    body = [cell(f.message), ""]
    for loc in f.locations:
        body.append(f"- at {inline_code(str(loc))}")
    if f.environment is not None:
        body.append(f"- environment: {inline_code(str(f.environment))}")
    if f.related:
        body.append(f"- related: {', '.join(inline_code(p) for p in f.related)}")
    for cx in f.examples:
        body += ["", "Example:", ""] + _example(cx)
    title = f"{i}. {FINDING_KINDS[f.kind]}: {', '.join(f.policies) or '(policy set)'}"
    return folded(html_text(title), body)


def render_markdown(report: Report) -> str:
    out = [f"## {report.tool} {report.command}: {answer_words(report)}", ""]
    out += [f"- assuming: {cell(a)}" for a in report.assumptions] + ([""] if report.assumptions else [])
    if report.command in PLAN_COMMANDS:
        out += _plan_summary(report)
        changes = report.changes
        for i, f in enumerate(changes, 1):
            out += _change(i, f)
        others = [f for f in report.findings if not f.is_change]
    else:
        n = len(report.findings)
        out += [f"{n} finding{'' if n == 1 else 's'}.", ""]
        if report.findings:
            out += _summary(report) + [""]
        changes, others = (), list(report.findings)
    for i, f in enumerate(others, len(changes) + 1):
        out += _finding(i, f)
    if report.stats:
        stats = {k: v for k, v in report.stats.items() if k != "summary" or report.command not in PLAN_COMMANDS}
        out += folded("stats", code_block(stats_lines(stats), lang="text"))
    return "\n".join(out)
