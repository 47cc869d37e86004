"""A self-contained HTML page: inline CSS, no scripts, no external
resources, and every piece of input text escaped.

For a diff or what-if the page opens with the summary (one row per change:
direction, environment, the policies whose edit caused it, and the exact
description), then the before/after access matrix when it was computed
(one row per principal and resource type, one column per action; each cell
always, sometimes or never, with changed cells marked), then each change:
its description, the text of the policies that caused it in each version,
and its examples.
"""

from __future__ import annotations

from html import escape

from cedarscope.reports.findings import FINDING_KINDS, AccessCell, Counterexample, Finding, Report
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

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1b1f24; max-width: 80rem; }
h1 { font-size: 1.4rem; }
.holds { color: #1a7f37; } .violated { color: #9a6700; } .unknown { color: #9a6700; }
.allow { color: #1a7f37; font-weight: bold; } .deny { color: #cf222e; font-weight: bold; }
.gained { color: #cf222e; font-weight: bold; } .lost { color: #9a6700; font-weight: bold; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; vertical-align: top; }
td.changed { background: #fff8c5; font-weight: bold; }
td.always { color: #1a7f37; } td.never { color: #57606a; }
section { border-top: 1px solid #d0d7de; margin-top: 1.5rem; }
.kind { font-family: monospace; background: #f6f8fa; padding: 0 .3rem; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; }
.stats { color: #57606a; font-size: .9rem; }
""".strip()


def e(s: object) -> str:
    return escape(str(s), quote=True)


def _pre(lines: list[str]) -> str:
    return "<pre><code>" + e("\n".join(lines)) + "</code></pre>"


# --------------------------------------------------------------------------
# The change plan


def _plan_summary(report: Report) -> list[str]:
    out = ['<table id="summary">',
           "<tr><th>#</th><th>change</th><th>environment</th><th>caused by</th>"
           "<th>exactly these requests</th></tr>"]
    for i, f in enumerate(report.changes, 1):
        sign, _ = SIGN[f.kind]
        described = f"<code>{e(one_line(f.description))}</code>" if f.description else "<em>no exact description</em>"
        out.append(f'<tr><td><a href="#change-{i}">{i}</a></td>'
                   f'<td><span class="{e(f.kind)}">{e(sign)} {e(f.kind)}</span></td>'
                   f"<td>{e(f.environment)}</td><td>{e(causes(f))}</td><td>{described}</td></tr>")
    out.append("</table>")
    unchanged = report.stats.get("unchanged_environments")
    if unchanged is not None:
        out.append(f'<p id="unchanged">{e(unchanged)} environment{"" if unchanged == 1 else "s"} unchanged.</p>')
    return out


BEFORE_AND_AFTER = ("Access before and after",
                    "For each request environment: whether the old and the new policies allow every request "
                    "(always), some (sometimes) or none (never). Cells where access changed are marked.")


def matrix(cells: tuple[AccessCell, ...], heading: str = BEFORE_AND_AFTER[0],
           intro: str = BEFORE_AND_AFTER[1]) -> list[str]:
    """Principal type × resource type rows, one column per action (also
    `access`'s matrix, where each cell has one level)."""
    actions = sorted({str(c.environment.action) for c in cells})
    rows = sorted({(c.environment.principal_type, c.environment.resource_type) for c in cells})
    at = {(c.environment.principal_type, c.environment.resource_type, str(c.environment.action)): c
          for c in cells}
    out = ['<section id="access-matrix">', f"<h2>{e(heading)}</h2>", f"<p>{e(intro)}</p>",
           '<table class="matrix">',
           "<tr><th>principal</th><th>resource</th>" + "".join(f"<th>{e(a)}</th>" for a in actions) + "</tr>"]
    for p, r in rows:
        tds = []
        for a in actions:
            c = at.get((p, r, a))
            if c is None:
                tds.append("<td></td>")
            elif c.changed:
                shown = f"{c.old} → {c.new}" if c.old != c.new else f"{c.new} (changed)"
                tds.append(f'<td class="changed" title="access changed">{e(shown)}</td>')
            else:
                tds.append(f'<td class="{e(c.new)}">{e(c.new)}</td>')
        out.append(f"<tr><th>{e(p)}</th><th>{e(r)}</th>{''.join(tds)}</tr>")
    out += ["</table>", "</section>"]
    return out


def _change(i: int, f: Finding) -> list[str]:
    sign, _ = SIGN[f.kind]
    out = [f'<section id="change-{i}" class="change">',
           f'<h2>{i}. <span class="{e(f.kind)}">{e(sign)} {e(f.kind)}</span>: {e(f.environment)}</h2>',
           f"<p>{e(f.message)}</p>",
           "<p>Caused by: " + (", ".join(f"<code>{e(p)}</code> ({e(f.edits.get(p, 'changed'))})"
                                          for p in f.policies) or "no single policy") + "</p>"]
    if f.description:
        out += [f"<h3>Exactly these requests ({e(f.description_form)} description)</h3>",
                _pre(f.description.splitlines())]
    else:
        out.append("<p>No exact description was found within the budget.</p>")
    for label, text in f.texts.items():
        out += [f"<h3>Policy {e(label)}</h3>", _pre(text.splitlines())]
    for n, cx in enumerate(f.examples, 1):
        out.append(f"<h3>Example {n} of {len(f.examples)}</h3>" if len(f.examples) > 1 else "<h3>Example</h3>")
        out += _example(cx)
    if f.related:
        out.append(f"<p>Related: <code>{e(', '.join(f.related))}</code></p>")
    out.append("</section>")
    return out


def _example(cx: Counterexample) -> list[str]:
    out = [_pre(request_as_cedar(cx.request, cx.unread)), _pre(entities_as_cedar(cx.entities, cx.unread)
                                                               or ["// no entities"])]
    if cx.decisions:
        out.append("<ul>")
        for side, decision, why in decision_lines(cx):
            out.append(f'<li>{e(side)}: <span class="{e(decision)}">{e(decision)}</span>'
                       + (f", {e(why)}" if why else "") + "</li>")
        out.append("</ul>")
    return out


# --------------------------------------------------------------------------
# Other findings


def _summary(report: Report) -> list[str]:
    rows = ['<table id="summary">', "<tr><th>#</th><th>kind</th><th>policies</th><th>location</th>"
            "<th>message</th></tr>"]
    for i, f in enumerate(report.findings, 1):
        where = ", ".join(str(loc) for loc in f.locations)
        rows.append(f'<tr><td><a href="#finding-{i}">{i}</a></td>'
                    f'<td><span class="kind">{e(f.kind)}</span></td>'
                    f"<td>{e(', '.join(f.policies))}</td><td>{e(where)}</td>"
                    f"<td>{e(f.message)}</td></tr>")
    rows.append("</table>")
    return rows


def _finding(i: int, f: Finding) -> list[str]:
    out = [f'<section id="finding-{i}">',
           f"<h2>{i}. {e(FINDING_KINDS[f.kind])}: {e(', '.join(f.policies)) or '(policy set)'}</h2>",
           f"<p>{e(f.message)}</p>", "<ul>"]
    for loc in f.locations:
        out.append(f"<li>at <code>{e(loc)}</code></li>")
    if f.environment is not None:
        out.append(f"<li>environment: <code>{e(f.environment)}</code></li>")
    if f.related:
        out.append(f"<li>related: <code>{e(', '.join(f.related))}</code></li>")
    out.append("</ul>")
    for cx in f.examples:
        out += ["<h3>Example</h3>", *_example(cx)]
    out.append("</section>")
    return out


def render_html(report: Report) -> str:
    words = answer_words(report)
    title = f"{report.tool} {report.command}: {words}"
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{e(title)}</title>", f"<style>\n{STYLE}\n</style>", "</head>", "<body>",
           f'<h1>{e(report.tool)} {e(report.command)}: '
           f'<span class="{e(report.result.value)}">{e(words)}</span></h1>']
    out += [f'<p class="assumption">assuming: {e(a)}</p>' for a in report.assumptions]
    if report.command in PLAN_COMMANDS:
        out += _plan_summary(report)
        if report.matrix:
            out += matrix(report.matrix)
        changes = report.changes
        for i, f in enumerate(changes, 1):
            out += _change(i, f)
        others = [f for f in report.findings if not f.is_change]
    else:
        n = len(report.findings)
        out.append(f"<p>{n} finding{'' if n == 1 else 's'}.</p>")
        if report.findings:
            out += _summary(report)
        changes, others = (), list(report.findings)
    for i, f in enumerate(others, len(changes) + 1):
        out += _finding(i, f)
    if report.stats:
        out.append(f'<pre class="stats">{e(chr(10).join(stats_lines(report.stats)))}</pre>')
    out += ["</body>", "</html>", ""]
    return "\n".join(out)
