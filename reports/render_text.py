"""Readable text: coloured with rich on a terminal, plain on a pipe.

Requests and entities are written in Cedar syntax, so a counterexample can
be read (and pasted into a policy) as it is:

    principal == User::"alice", action == Action::"delete", resource == Doc::"plan"
    context == { mfa: false }
    User::"alice" in [Group::"admins"] attrs { dept: "eng" }

(values are printed by `lang.printer.print_value`).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text

from cedarscope.lang.ast import TemplateLink
from cedarscope.lang.authorizer import ALLOW, DENY
from cedarscope.lang.entities import Entities
from cedarscope.lang.entity import Entity
from cedarscope.lang.printer import print_value
from cedarscope.lang.request import Request
from cedarscope.lang.values import CedarRecord, CedarSet, is_action_type
from cedarscope.reports.docs import finding_doc_url
from cedarscope.reports.findings import (
    AuthorizationResult,
    Counterexample,
    Finding,
    PolicyRef,
    Report,
    Verdict,
)

VERDICT_STYLE = {Verdict.HOLDS: "bold green", Verdict.VIOLATED: "bold red",
                 Verdict.UNKNOWN: "bold yellow"}
DECISION_STYLE: dict[str, str] = {ALLOW: "bold green", DENY: "bold red"}


# --------------------------------------------------------------------------
# Cedar syntax for requests and entities (shared by Markdown and HTML)


def request_as_cedar(request: Request, unread: frozenset[str] = frozenset()) -> list[str]:
    """The request as the scope and context conditions that pin it down."""
    return [
        f"principal == {print_value(request.principal)}, "
        f"action == {print_value(request.action)}, "
        f"resource == {print_value(request.resource)}",
        f"context == {print_value(request.context)}" + unread_note(unread, "context."),
    ]


def entity_as_cedar(entity: Entity, unread: frozenset[str] = frozenset()) -> str:
    """One entity: its uid, then its parents, attributes and tags when any;
    attributes no policy reads (given a plain default) are named after it."""
    uid = print_value(entity.uid)
    parts = [uid]
    if entity.parents:
        parts.append(f"in {print_value(CedarSet(entity.parents))}")
    if entity.attrs:
        parts.append(f"attrs {print_value(CedarRecord(entity.attrs))}")
    if entity.tags:
        parts.append(f"tags {print_value(CedarRecord(entity.tags))}")
    return " ".join(parts) + unread_note(unread, f"{uid}.")


def unread_note(unread: frozenset[str], prefix: str) -> str:
    names = sorted(u[len(prefix):] for u in unread if u.startswith(prefix))
    return f"  // unread: {', '.join(names)}" if names else ""


def entities_as_cedar(entities: Entities, unread: frozenset[str] = frozenset()) -> list[str]:
    """Every entity, one a line, in uid order (deterministic output)."""
    return [entity_as_cedar(e, unread) for e in sorted(entities, key=lambda e: e.uid)]


def policy_label(pid: str) -> str:
    """A policy id as the text names it: quoted, as a Cedar string, when it
    is not a plain name (an `@id` may be a sentence: "Admins may read.")."""
    return pid if _PLAIN_ID.fullmatch(pid) else json.dumps(pid, ensure_ascii=False)


_PLAIN_ID = re.compile(r"[\w.:-]*\w")


def one_line(text: str) -> str:
    """A printed policy on one line (the printer breaks lines between
    tokens, never inside a string literal)."""
    out = ""
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if not out:
            out = line
        elif (out.endswith("(") or line.startswith((")", "."))
              or (line.startswith("(") and (out[-1].isalnum() or out[-1] == "_"))):
            out += line  # a member access or call the printer broke across lines
        else:
            out += " " + line
    return out


def links_as_text(links: Sequence[TemplateLink]) -> list[str]:
    """One template link a line: ``t(?principal=User::"alice") links t with ?principal = User::"alice"``."""
    return [f"{link.link_id} links {link.template_id} with "
            + ", ".join(f"{slot} = {print_value(uid)}" for slot, uid in link.values) for link in links]


def ref_text(ref: PolicyRef) -> str:
    """``permit policy2 at policies/v2.cedar:12``"""
    effect = f"{ref.effect} " if ref.effect else ""
    where = f" at {ref.location.file}:{ref.location.line}" if ref.location else ""
    return f"{effect}{ref.id}{where}"


def decision_lines(cx: Counterexample) -> list[tuple[str, str, str]]:
    """(side, decision, why) per side, in the order given."""
    rows = []
    for side, decision in cx.decisions.items():
        refs = cx.determining.get(side, ())
        if refs:
            why = f"determined by {', '.join(ref_text(r) for r in refs)}"
        elif decision == DENY:
            why = "no permit applies"
        else:
            why = ""
        rows.append((side, decision, why))
    return rows


# --------------------------------------------------------------------------
# Building the text


# A relation's counterexample labelled by the sets that allow it: its JSON
# kind (gained / lost / reachable) would read as a change between versions.
RELATION_LABELS = {"lost": "only the first allows", "gained": "only the second allows", "reachable": "both allow"}


def _finding(text: Text, index: int, f: Finding, label: str | None = None) -> None:
    label = label or f.kind
    text.append(f"\n{index}. ", style="bold")
    text.append(f"[{label}]" if f.severity == "error" else f"[{label}, {f.severity}]", style="bold magenta")
    if f.policies:
        text.append(f" {', '.join(map(policy_label, f.policies))}", style="bold")
    text.append(f": {f.message}\n")
    for loc in f.locations:
        text.append(f"   at {loc}\n", style="dim")
    if f.environment is not None:
        text.append(f"   environment: {f.environment}\n")
    if f.related:
        text.append(f"   related: {', '.join(map(policy_label, f.related))}\n")
    text.append(f"   see {finding_doc_url(f.kind) or 'cedarscope docs ' + f.kind}\n", style="dim")
    if f.counterexample is not None:
        _counterexample(text, f.counterexample)


def _bare_action(e: Entity) -> bool:
    """An action entity in no action group, with nothing else to it: it says
    nothing a reader needs (an action's groups are what the policies read),
    and a store may list dozens."""
    return is_action_type(e.uid.type) and not e.parents and not e.attrs and not e.tags


def _counterexample(text: Text, cx: Counterexample) -> None:
    text.append("   example request:\n", style="bold")
    for line in request_as_cedar(cx.request, cx.unread):
        text.append(f"     {line}\n", style="cyan")
    text.append("   entities:\n", style="bold")
    shown = [e for e in cx.entities if not _bare_action(e)]
    lines = entities_as_cedar(Entities(shown), cx.unread)
    for line in lines or ["(none)"]:
        text.append(f"     {line}\n", style="cyan")
    bare = len(cx.entities) - len(shown)
    if bare:  # the JSON keeps them: it is the store to replay
        text.append(f"     // and {bare} action entit{'y' if bare == 1 else 'ies'} in no group\n", style="dim")
    if cx.links:
        text.append("   template links:\n", style="bold")
        for line in links_as_text(cx.links):
            text.append(f"     {line}\n", style="cyan")
    if cx.decisions:
        text.append("   decisions:\n", style="bold")
        for side, decision, why in decision_lines(cx):
            text.append(f"     {side}: ")
            text.append(decision, style=DECISION_STYLE.get(decision, ""))
            text.append(f", {why}\n" if why else "\n")


# Environments listed under a group's first finding; the JSON has every one.
LISTED_ENVIRONMENTS = 8


def alike(findings: Sequence[Finding]) -> list[list[Finding]]:
    """The findings grouped with those that differ from them only in their
    environment (and so in the example, and the request the message names):
    the same kind, subjects, related policies and severity.  A check of a
    store with a thousand environments finds the same thing in hundreds of
    them; the text shows it once.  A second finding in an environment a
    group already has (another example: `--max-examples`, `ask --enumerate`)
    is shown in full.  Groups come in the order of their first."""
    groups: dict[tuple[object, ...], list[Finding]] = {}
    out: list[list[Finding]] = []
    for f in findings:
        key = (f.kind, f.policies, f.related, f.severity)
        group = groups.get(key)
        if f.environment is None:
            out.append([f])
        elif group is not None and all(g.environment != f.environment for g in group):
            group.append(f)
        else:
            groups.setdefault(key, [f])
            out.append(groups[key] if groups[key][0] is f else [f])
    return out


def _also(text: Text, others: Sequence[Finding]) -> None:
    n = len(others)
    text.append(f"   also in {n} more environment{'' if n == 1 else 's'}, each with its own example "
                "(--format json):\n", style="bold")
    for f in others[:LISTED_ENVIRONMENTS]:
        cx = f.counterexample  # whose request it is (`ask --enumerate` lists distinct principals)
        who = f"  (principal {cx.request.principal}, resource {cx.request.resource})" if cx is not None else ""
        text.append(f"     {f.environment}{who}\n")
    if n > LISTED_ENVIRONMENTS:
        text.append(f"     and {n - LISTED_ENVIRONMENTS} more\n")


def counted(findings: Sequence[Finding]) -> str:
    """"3 findings", with the warnings and notes that do not fail the run
    counted apart ("1 finding, 2 notes"; "2 notes")."""
    by_severity = {severity: sum(1 for f in findings if f.severity == severity)
                   for severity in ("error", "warning", "note")}
    words = [f"{k} {'finding' if severity == 'error' else severity}{'' if k == 1 else 's'}"
             for severity, k in by_severity.items() if k]
    return ", ".join(words) or "0 findings"


def report_text(report: Report) -> Text:
    if report.command in PLAN_COMMANDS:
        return plan_text(report)
    text = Text()
    text.append(f"{report.tool} {report.command}: ", style="bold")
    text.append(answer_words(report), style=VERDICT_STYLE[report.result])
    n = len(report.findings)
    groups = alike(report.findings)
    grouped = f"; shown as {len(groups)}, alike ones in other environments listed under the first" \
        if len(groups) < n else ""
    text.append(f" ({counted(report.findings)}{grouped})\n")
    for a in report.assumptions:
        text.append(f"assuming: {a}\n", style="dim")
    relation = report.command in RELATION_ANSWERS
    for i, group in enumerate(groups, 1):
        _finding(text, i, group[0], RELATION_LABELS.get(group[0].kind) if relation else None)
        if len(group) > 1:
            _also(text, group[1:])
    if report.stats:
        text.append("\n")
        for line in stats_lines(report.stats):
            text.append(f"{line}\n", style="dim")
    return text


# --------------------------------------------------------------------------
# The change plan (diff, whatif): one line per change, then the details

PLAN_COMMANDS = ("diff", "whatif")
SIGN = {"gained": ("+", "bold red"), "lost": ("-", "bold yellow")}

# The relations between two sets answer yes or no to their own question
# (holds, violated).
RELATION_ANSWERS = {
    "equivalent": ("yes, the sets decide every request alike", "no, the sets decide some requests differently"),
    "implies": ("yes, the second set allows every request the first allows",
                "no, the first set allows requests the second denies"),
    "disjoint": ("yes, no request is allowed by both sets", "no, some requests are allowed by both sets"),
}


def answer_words(report: Report) -> str:
    """The answer in the command's own words (the text output only: JSON,
    the API and exit codes keep holds / violated / unknown)."""
    if report.command == "ask":
        return {Verdict.HOLDS: "no, never", Verdict.VIOLATED: "yes, reachable",
                Verdict.UNKNOWN: "unknown"}[report.result]
    if report.command in PLAN_COMMANDS:
        n = len(report.changes)
        found = "no change" if n == 0 else f"{n} change{'' if n == 1 else 's'}"
        return found if report.result is not Verdict.UNKNOWN else f"unknown ({found} found)"
    if report.command in RELATION_ANSWERS and report.result is not Verdict.UNKNOWN:
        yes, no = RELATION_ANSWERS[report.command]
        return yes if report.result is Verdict.HOLDS else no
    return report.result.value


def causes(f: Finding) -> str:
    """The policies that caused a change, with where each is written."""
    pairs = zip(f.policies, f.locations, strict=True) if len(f.locations) == len(f.policies) else (
        (p, None) for p in f.policies)
    out = []
    for pid, loc in pairs:
        out.append(f"{policy_label(pid)} ({loc.file}:{loc.line})" if loc else policy_label(pid))
    return ", ".join(out) or "(no single policy)"


def plan_line(text: Text, f: Finding) -> None:
    sign, style = SIGN[f.kind]
    text.append(f"{sign} {f.kind:<6}  ", style=style)
    text.append(f"{f.environment}  ", style="bold")
    text.append(f"{causes(f)}\n")
    if f.description:
        text.append(f"    {one_line(f.description)}\n", style="cyan")
    else:
        text.append("    (no exact description found; see the examples)\n", style="dim")


def plan_text(report: Report) -> Text:
    text = Text()
    text.append(f"{report.tool} {report.command}: ", style="bold")
    text.append(answer_words(report), style=VERDICT_STYLE[report.result])
    text.append("\n")
    for a in report.assumptions:
        text.append(f"assuming: {a}\n", style="dim")
    text.append("\n")
    changes = report.changes
    for f in changes:
        plan_line(text, f)
    unchanged = report.stats.get("unchanged_environments")
    if unchanged is not None:
        text.append(f"{'  ' if changes else ''}{unchanged} environment{'' if unchanged == 1 else 's'} "
                    f"unchanged\n", style="dim")
    if changes:
        text.append("\nDetails\n", style="bold")
    for i, f in enumerate(changes, 1):
        _change(text, i, f)
    others = [f for f in report.findings if not f.is_change]
    for i, f in enumerate(others, len(changes) + 1):
        _finding(text, i, f)
    if report.stats:
        text.append("\n")
        for line in stats_lines({k: v for k, v in report.stats.items() if k != "summary"}):
            text.append(f"{line}\n", style="dim")
    return text


def _change(text: Text, index: int, f: Finding) -> None:
    sign, style = SIGN[f.kind]
    text.append(f"\n{index}. ", style="bold")
    text.append(f"{sign} {f.kind}", style=style)
    text.append(f"  {f.environment}\n", style="bold")
    edits = ", ".join(f"{policy_label(pid)} ({f.edits.get(pid, 'changed')})" for pid in f.policies)
    text.append(f"   caused by: {edits or '(no single policy)'}\n")
    for loc in f.locations:
        text.append(f"   at {loc}\n", style="dim")
    if f.description:
        text.append(f"   exactly these requests ({f.description_form} description):\n", style="bold")
        for line in f.description.splitlines():
            text.append(f"     {line}\n", style="cyan")
    else:
        text.append("   no exact description was found within the budget\n", style="dim")
    for n, cx in enumerate(f.examples, 1):
        if len(f.examples) > 1:
            text.append(f"   example {n} of {len(f.examples)}:\n", style="bold")
        _counterexample(text, cx)
    if f.related:
        text.append(f"   related: {', '.join(map(policy_label, f.related))}\n")


def _stat(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.2f}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_stat(x)}" for k, x in v.items())
    return str(v)


# Figures that are sentences, each on a line of its own after the counts
# (``confirmed 3 decisions confirmed by cedarpy`` would read as a stutter).
SENTENCE_STATS = {"confirmed": "--confirm", "enumerated": "--enumerate"}


def stats_lines(stats: Mapping[str, Any]) -> list[str]:
    """Scalar figures on one ``stats:`` line; each sentence (what --confirm
    found) on its own line; each list-valued figure (a per-environment
    summary, the reasons for unknowns) as its own block."""
    scalars = [f"{k} {_stat(v)}" for k, v in stats.items()
               if not isinstance(v, (list, tuple)) and k not in SENTENCE_STATS]
    lines = [f"stats: {', '.join(scalars)}"] if scalars else []
    lines += [f"{label}: {stats[k]}" for k, label in SENTENCE_STATS.items() if k in stats]
    for k, v in stats.items():
        if isinstance(v, (list, tuple)):
            lines.append(f"{k}:")
            lines += [f"  {_stat(item)}" for item in v] or ["  (none)"]
    return lines


def authorization_text(result: AuthorizationResult) -> Text:
    text = Text()
    text.append("decision: ", style="bold")
    text.append(result.decision, style=DECISION_STYLE[result.decision])
    text.append("\n")
    if result.reasons:
        text.append("determined by:\n", style="bold")
        for ref in result.reasons:
            text.append(f"  {ref_text(ref)}\n")
    elif result.decision == DENY:
        text.append("determined by: no permit applies (default deny)\n", style="bold")
    if result.errors:
        text.append("errors:\n", style="bold")
        for ref, message in result.errors:
            text.append(f"  {ref_text(ref)}: ", style="yellow")
            text.append(f"{message}\n")
    if result.explanation is not None:
        from cedarscope.reports.render_explain import explanation_lines
        text.append("policies:\n", style="bold")
        for line, style in explanation_lines(result.explanation):
            text.append(f"  {line}\n", style=style)
    return text


# --------------------------------------------------------------------------
# Output


def to_string(text: Text, color: bool) -> str:
    """ANSI-coloured (for a terminal) or plain text."""
    if not color:
        return text.plain
    from rich.console import Console  # only for colour: it costs more to import than rich.text

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system="standard",
                      width=100_000, soft_wrap=True, highlight=False, emoji=False)
    console.print(text, end="")
    return buf.getvalue()


def render_text(report: Report, color: bool | None = False) -> str:
    return to_string(report_text(report), bool(color))


def render_authorization_text(result: AuthorizationResult, color: bool | None = False) -> str:
    return to_string(authorization_text(result), bool(color))


__all__ = [
    "render_text", "render_authorization_text", "request_as_cedar", "entity_as_cedar",
    "entities_as_cedar", "decision_lines", "ref_text", "stats_lines", "one_line", "answer_words", "causes",
]
