"""`access`: who can do what (analyzer.access), as plain data, and its
text, JSON, Markdown and HTML.

One row per request environment: always, sometimes, never or unknown, and
for "sometimes" the exact set of allowed requests as one Cedar policy.  The
HTML page is the change plan's access matrix (one level per cell) followed
by the descriptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cedarscope.reports.findings import TOOL, VERSION, AccessCell, Answered, Counterexample, Verdict

if TYPE_CHECKING:
    from cedarscope.lang.schema import RequestEnv
    from cedarscope.lang.values import EntityUID

LEVEL_ORDER = ("always", "sometimes", "never", "unknown")


@dataclass(frozen=True)
class AccessRow:
    """One environment: its level, the policies that may match there, the
    exact description of a "sometimes" (`description` None with a
    `description_reason` when none was verified), and an allowed and a
    denied example where they exist."""

    environment: RequestEnv
    level: str
    policies: tuple[str, ...] = ()
    description: str | None = None
    description_form: str | None = None
    description_reason: str = ""
    allowed: Counterexample | None = None
    denied: Counterexample | None = None
    reason: str = ""  # why the level is unknown
    # with a focus (one principal's or resource's access over a store): the
    # store's entities on the other side, by answer
    granted: tuple[EntityUID, ...] = ()  # allowed for every context
    conditional: tuple[EntityUID, ...] = ()  # allowed for some contexts only
    refused: tuple[EntityUID, ...] = ()  # denied for every context


@dataclass(frozen=True)
class AccessReport(Answered):
    rows: tuple[AccessRow, ...]
    result: Verdict  # holds when every environment was answered, else unknown
    stats: Mapping[str, Any] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    focus: str | None = None  # `User::"alice" over store.json`: one entity's access over a store
    command: str = "access"
    tool: str = TOOL
    version: str = VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "result", Verdict(self.result))
        object.__setattr__(self, "rows", tuple(self.rows))
        object.__setattr__(self, "stats", MappingProxyType(dict(self.stats)))

    def tally(self) -> dict[str, int]:
        return {level: sum(1 for r in self.rows if r.level == level) for level in LEVEL_ORDER}

    def to_json(self) -> dict[str, Any]:
        return access_json(self)


def _summary(report: AccessReport) -> str:
    n = len(report.rows)
    parts = [f"{count} {level}" for level, count in report.tally().items() if count]
    focus = f"{report.focus}: " if report.focus else ""
    return f"{focus}{n} environment{'' if n == 1 else 's'}" + (": " + ", ".join(parts) if parts else "")


FOCUS_LISTS = (("granted", "allowed"), ("conditional", "allowed depending on the context"), ("refused", "denied"))


def _focus_lines(row: AccessRow) -> list[str]:
    """The store's entities by answer (the refused ones counted when they
    are many)."""
    out = []
    for name, words in FOCUS_LISTS:
        uids = getattr(row, name)
        if not uids:
            continue
        shown = ", ".join(str(u) for u in uids[:20]) + (f", and {len(uids) - 20} more" if len(uids) > 20 else "")
        out.append(f"{words}: {shown}")
    return out


# --------------------------------------------------------------------------
# Text


def render_access_text(report: AccessReport) -> str:
    from cedarscope.reports.render_text import one_line

    lines = [f"{report.tool} {report.command}: {_summary(report)}"]
    lines += [f"assuming: {a}" for a in report.assumptions]
    lines.append("")
    width = max((len(r.level) for r in report.rows), default=0)
    for row in report.rows:
        lines.append(f"{row.level.ljust(width)}  {row.environment}")
        if report.focus:
            lines += [f"    {line}" for line in _focus_lines(row) or ["(no entity of the other side is in the store)"]]
        elif row.level == "sometimes":
            if row.description is not None:
                if row.description_form == "structural":  # JSON says so too; a reader of the text must know
                    lines.append("    (exact, in structural form: not simplified within the description budget)")
                lines.append(f"    {one_line(row.description)}")
            else:
                lines.append(f"    (no exact description: {row.description_reason})")
        elif row.level == "unknown" and row.reason:
            lines.append(f"    unknown: {row.reason}")
    if report.stats:
        lines += ["", "stats: " + ", ".join(f"{k} {v}" for k, v in report.stats.items())]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# JSON and Markdown


def row_json(row: AccessRow, focused: bool = False) -> dict[str, Any]:
    from cedarscope.reports.render_json import counterexample_json, environment_json

    return {
        "environment": environment_json(row.environment),
        "access": row.level,
        "policies": list(row.policies),
        "description": row.description,
        "description_form": row.description_form,
        **({"description_unavailable": row.description_reason}
           if row.level == "sometimes" and row.description is None and not focused else {}),
        "examples": {name: counterexample_json(cx) for name, cx in (("allowed", row.allowed), ("denied", row.denied))
                     if cx is not None},
        **({"reason": row.reason} if row.reason else {}),
        **({name: [str(u) for u in getattr(row, name)] for name, _ in FOCUS_LISTS} if focused else {}),
    }


def access_json(report: AccessReport) -> dict[str, Any]:
    return {
        "tool": report.tool, "version": report.version, "command": report.command,
        "result": report.result.value,
        "focus": report.focus,
        "summary": report.tally(),
        "environments": [row_json(r, report.focus is not None) for r in report.rows],
        "assumptions": list(report.assumptions),
        "stats": dict(report.stats),
    }


def render_access_json(report: AccessReport) -> str:
    from cedarscope.reports.render_json import dumps

    return dumps(access_json(report))


def render_access_markdown(report: AccessReport) -> str:
    from cedarscope.reports.render_markdown import cell, inline_code
    from cedarscope.reports.render_text import one_line

    out = [f"## {report.tool} {report.command}: {cell(_summary(report))}", ""]
    out += [f"- assuming: {cell(a)}" for a in report.assumptions] + ([""] if report.assumptions else [])
    out += ["| environment | access | exactly these requests |", "|---|---|---|"]
    for row in report.rows:
        if report.focus:
            described = cell("; ".join(_focus_lines(row)))
        elif row.description is not None:
            described = cell(inline_code(one_line(row.description)))
        elif row.level == "sometimes":
            described = f"*no exact description* ({cell(row.description_reason)})"
        else:
            described = cell(row.reason) if row.level == "unknown" else ""
        out.append(f"| {cell(str(row.environment))} | {row.level} | {described} |")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# HTML: the change plan's matrix, one level per cell


def render_access_html(report: AccessReport) -> str:
    from html import escape as e

    from cedarscope.reports.render_html import STYLE, matrix

    title = f"{report.tool} {report.command}: {_summary(report)}"
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{e(title)}</title>", f"<style>\n{STYLE}\n</style>", "</head>", "<body>",
           f"<h1>{e(title)}</h1>"]
    out += [f'<p class="assumption">assuming: {e(a)}</p>' for a in report.assumptions]
    cells = tuple(AccessCell(r.environment, r.level, r.level) for r in report.rows)
    out += matrix(cells, heading="Who can do what",
                  intro="For each request environment: whether the policies allow every request (always), "
                        "some (sometimes) or none (never).")
    described = [r for r in report.rows if r.level == "sometimes"]
    if described:
        out += ['<section id="descriptions">', "<h2>Exactly which requests, where access is sometimes granted</h2>"]
        for r in described:
            text = (f"<pre><code>{e(r.description)}</code></pre>" if r.description is not None
                    else f"<p><em>no exact description</em>: {e(r.description_reason)}</p>")
            out += [f"<h3>{e(str(r.environment))}</h3>", text]
        out.append("</section>")
    unknown = [r for r in report.rows if r.level == "unknown"]
    if report.focus:
        out += ['<section id="entities">', f"<h2>{e(report.focus)}</h2>"]
        for r in report.rows:
            out += [f"<h3>{e(str(r.environment))}: {e(r.level)}</h3>", "<ul>",
                    *(f"<li>{e(line)}</li>" for line in _focus_lines(r)), "</ul>"]
        out.append("</section>")
    out += [f"<p>unknown: {e(str(r.environment))}: {e(r.reason)}</p>" for r in unknown]
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


ACCESS_FORMATS = {"text": render_access_text, "json": render_access_json, "markdown": render_access_markdown,
                  "html": render_access_html}
