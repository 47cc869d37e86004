"""`authorize --explain`: every policy's outcome for one request, as text
lines and as JSON (see `lang.explain`).

Text, one policy per line, then the values the deciding clause saw:

    p1 (permit at policies.cedar:3:1): not satisfied: `when` clause `resource.public` at policies.cedar:5:35 is false
        resource = Doc::"d"
"""

from __future__ import annotations

from typing import Any

from cedarscope.lang.ast import Span
from cedarscope.lang.explain import Explanation, Outcome, PolicyExplanation, value_text
from cedarscope.lang.printer import print_entity_uid

# Text style per outcome (rich style names).
OUTCOME_STYLE = {Outcome.SATISFIED: "green", Outcome.NOT_SATISFIED: "", Outcome.SCOPE_MISMATCH: "dim",
                 Outcome.ERROR: "yellow"}


def _at(span: Span | None) -> str:
    return f" at {span}" if span is not None else ""


def _link(p: PolicyExplanation) -> str:
    if p.template_id is None:
        return ""
    args = ", ".join(f"{slot} = {print_entity_uid(uid)}" for slot, uid in p.link_values)
    return f", link of template {p.template_id} with {args}"


def headline(p: PolicyExplanation) -> str:
    """One line: the policy, its outcome, and the clause that decided it."""
    who = f"{p.id} ({p.effect}{_at(p.policy_span)}{_link(p)})"
    if p.outcome is Outcome.SATISFIED:
        return f"{who}: satisfied" + (", determining" if p.determining else "")
    if p.outcome is Outcome.SCOPE_MISMATCH:
        return f"{who}: scope does not match: {p.part} constraint `{p.clause}`{_at(p.clause_span)}"
    if p.outcome is Outcome.NOT_SATISFIED:
        return (f"{who}: not satisfied: `{p.part}` clause `{p.clause}`{_at(p.clause_span)} "
                f"is {value_text(p.clause_value)}")
    return f"{who}: error: {p.error} (raised by `{p.clause}`{_at(p.clause_span)} in its `{p.part}` clause)"


def seen_lines(p: PolicyExplanation) -> list[str]:
    """``expression = value`` for each value the deciding clause saw."""
    return [f"{s.expression} = {value_text(s.value)}" for s in p.seen]


def explanation_lines(explanation: Explanation) -> list[tuple[str, str]]:
    """(line, style) pairs: each policy's headline, its seen values indented."""
    lines: list[tuple[str, str]] = []
    for p in explanation.policies:
        lines.append((headline(p), "bold green" if p.determining else OUTCOME_STYLE[p.outcome]))
        lines += [(f"    {line}", "cyan") for line in seen_lines(p)]
    return lines


# --------------------------------------------------------------------------
# JSON


def _span_json(span: Span | None) -> dict[str, Any] | None:
    if span is None:
        return None
    return {"file": span.file, "line": span.line, "column": span.column}


def policy_explanation_json(p: PolicyExplanation) -> dict[str, Any]:
    """One policy's outcome: `clause` and `location` say what decided it
    (null when satisfied); `value` is a failed clause's value as Cedar text."""
    out: dict[str, Any] = {
        "policy": p.id,
        "effect": p.effect,
        "location": _span_json(p.policy_span),
        "outcome": p.outcome.value,
        "determining": p.determining,
        "part": p.part,
        "clause": p.clause,
        "clause_location": _span_json(p.clause_span),
        "value": value_text(p.clause_value) if p.outcome is Outcome.NOT_SATISFIED else None,
        "seen": [{"expression": s.expression, "value": value_text(s.value)} for s in p.seen],
        "error": p.error,
    }
    if p.template_id is not None:
        out["template"] = p.template_id
        out["link"] = {slot: print_entity_uid(uid) for slot, uid in p.link_values}
    return out


def explanation_json(explanation: Explanation) -> list[dict[str, Any]]:
    return [policy_explanation_json(p) for p in explanation.policies]
