"""A self-contained HTML page: inline CSS, no scripts, no external
resources, and every piece of input text escaped."""

from __future__ import annotations

from html import escape

from cedarscope.reports.findings import FINDING_KINDS, Finding, Report
from cedarscope.reports.render_text import decision_lines, entities_as_cedar, request_as_cedar, stats_lines

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1b1f24; max-width: 70rem; }
h1 { font-size: 1.4rem; }
.holds { color: #1a7f37; } .violated { color: #cf222e; } .unknown { color: #9a6700; }
.allow { color: #1a7f37; font-weight: bold; } .deny { color: #cf222e; font-weight: bold; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; vertical-align: top; }
section { border-top: 1px solid #d0d7de; margin-top: 1.5rem; }
.kind { font-family: monospace; background: #f6f8fa; padding: 0 .3rem; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; }
.stats { color: #57606a; font-size: .9rem; }
""".strip()


def e(s: object) -> str:
    return escape(str(s), quote=True)


def _summary(report: Report) -> list[str]:
    rows = ["<table>", "<tr><th>#</th><th>kind</th><th>policies</th><th>location</th>"
            "<th>message</th></tr>"]
    for i, f in enumerate(report.findings, 1):
        where = ", ".join(str(loc) for loc in f.locations)
        rows.append(f'<tr><td><a href="#finding-{i}">{i}</a></td>'
                    f'<td><span class="kind">{e(f.kind)}</span></td>'
                    f"<td>{e(', '.join(f.policies))}</td><td>{e(where)}</td>"
                    f"<td>{e(f.message)}</td></tr>")
    rows.append("</table>")
    return rows


def _pre(lines: list[str]) -> str:
    return "<pre><code>" + e("\n".join(lines)) + "</code></pre>"


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
    cx = f.counterexample
    if cx is not None:
        out += ["<h3>Example request</h3>", _pre(request_as_cedar(cx.request)),
                "<h3>Entities</h3>", _pre(entities_as_cedar(cx.entities) or ["// none"])]
        if cx.decisions:
            out.append("<ul>")
            for side, decision, why in decision_lines(cx):
                out.append(f'<li>{e(side)}: <span class="{e(decision)}">{e(decision)}</span>'
                           + (f", {e(why)}" if why else "") + "</li>")
            out.append("</ul>")
    out.append("</section>")
    return out


def render_html(report: Report) -> str:
    n = len(report.findings)
    title = f"{report.tool} {report.command}: {report.result.value}"
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{e(title)}</title>", f"<style>\n{STYLE}\n</style>", "</head>", "<body>",
           f'<h1>{e(report.tool)} {e(report.command)}: '
           f'<span class="{e(report.result.value)}">{e(report.result.value)}</span></h1>',
           f"<p>{n} finding{'' if n == 1 else 's'}.</p>"]
    out += [f'<p class="stats">assuming: {e(a)}</p>' for a in report.assumptions]
    if report.findings:
        out += _summary(report)
        for i, f in enumerate(report.findings, 1):
            out += _finding(i, f)
    if report.stats:
        out.append(f'<pre class="stats">{e(chr(10).join(stats_lines(report.stats)))}</pre>')
    out += ["</body>", "</html>", ""]
    return "\n".join(out)
