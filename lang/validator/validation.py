"""Validating a policy set against a schema; the type of one expression."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from cedarscope.lang import ast as A
from cedarscope.lang import schema as S
from cedarscope.lang.diagnostics import Diagnostic, source_line
from cedarscope.lang.validator.core import core
from cedarscope.lang.validator.policies import action_applies, check_policy, suggest
from cedarscope.lang.validator.schema_view import Env, SchemaView
from cedarscope.lang.validator.typechecker import NO_CAPS, Checker
from cedarscope.lang.validator.types import RecordT, from_schema_record, to_schema_type
from cedarscope.lang.values import EntityUID

# The public API.


class _Locator:
    """Turns the node an error is about into a file:line:col (and, when the
    source text is known, the line itself for the caret display)."""

    def __init__(self, sources: Mapping[str, str] | None):
        self.sources = sources or {}

    def __call__(self, where: object, message: str, fallback: A.Span | None,
                 severity: str = "error") -> Diagnostic:
        span = getattr(where, "span", None) or fallback
        if span is None:
            return Diagnostic(message, "<policy>", severity=severity)
        text = self.sources.get(span.file)
        line = source_line(text, span.line) if text is not None else None
        return Diagnostic(message, span.file, span.line, span.column, source_line=line, severity=severity)


def validate(policyset: A.PolicySet, schema: S.Schema, *, warnings: bool = False,
             sources: Mapping[str, str] | None = None) -> list[Diagnostic]:
    """Cedar's strict validation of every policy, template and template
    link in `policyset` against `schema`.  An empty list means valid.

    With `warnings=True`, Cedar's warnings are included too (severity
    "warning"; they do not make a policy set invalid): a policy that is
    impossible, i.e. false in every request environment the schema allows.
    `sources` maps file names (as in the spans) to their text, to show the
    offending line under each diagnostic.
    """
    view = SchemaView(schema)
    locate = _Locator(sources)
    out: list[Diagnostic] = []
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20000))
    try:
        for pid, policy in policyset.policies:
            out.extend(_validate_policy(view, pid, policy, warnings, locate))
        for link in policyset.links:
            out.extend(_validate_link(view, policyset, link, locate))
    finally:
        sys.setrecursionlimit(limit)
    return out


def _validate_policy(view: SchemaView, pid: str, policy: A.Policy, warnings: bool,
                     locate: _Locator) -> list[Diagnostic]:
    try:
        report = check_policy(view, pid, policy)
    except RecursionError:
        return [locate(policy, f"for policy `{pid}`, the policy is nested too deeply to validate",
                            policy.span)]
    found: dict[tuple, Diagnostic] = {}
    for where, message in report.errors:
        d = locate(where, message, policy.span)
        found.setdefault((d.file, d.line or 0, d.column or 0, d.message), d)
    out = [found[k] for k in sorted(found)]
    if warnings and report.impossible:
        out.append(locate(policy, f"for policy `{pid}`, policy is impossible: the policy "
                                       "expression evaluates to false for all valid requests",
                               policy.span, "warning"))
    return out


def _validate_link(view: SchemaView, policyset: A.PolicySet, link: A.TemplateLink,
                   locate: _Locator) -> list[Diagnostic]:
    template = policyset.get(link.template_id)
    if template is None:
        return [Diagnostic(f"for policy `{link.link_id}`, template `{link.template_id}` not found")]
    out = []
    for _slot, uid in link.values:
        if not view.is_known_entity_type(uid.type):
            hint = suggest(uid.type, view.entity_types)
            out.append(locate(template, f"for policy `{link.link_id}`, unrecognized entity type "
                                             f"`{uid.type}`" + (f" (did you mean `{hint}`?)" if hint else ""),
                                   template.span))
    linked = _fill_slots(template, dict(link.values))
    inapplicable = action_applies(view, link.link_id, linked)
    if inapplicable is not None:
        # the template is fine: the link's values are what to look at
        slots = ", ".join(f"{slot} = {uid}" for slot, uid in link.values)
        out.append(locate(template, f"{inapplicable}; the link fills template `{link.template_id}` with {slots}",
                          template.span))
    return out


def _fill_slots(policy: A.Policy, values: dict[str, EntityUID]) -> A.Policy:
    def fill(scope: A.Scope) -> A.Scope:
        if isinstance(scope, (A.ScopeEq, A.ScopeIn)) and isinstance(scope.target, A.Slot):
            return type(scope)(values.get(scope.target.name, scope.target), span=scope.span)
        if isinstance(scope, A.ScopeIs) and isinstance(scope.in_target, A.Slot):
            return A.ScopeIs(scope.entity_type, values.get(scope.in_target.name, scope.in_target),
                             span=scope.span)
        return scope

    return A.Policy(policy.effect, fill(policy.principal), policy.action, fill(policy.resource),
                    policy.conditions, policy.annotations, span=policy.span)


_last_view: SchemaView | None = None


def type_of(expr: A.Expr, schema: S.Schema, env: S.RequestEnv,
            slots: dict[str, str] | None = None) -> S.CedarType | None:
    """The type Cedar's typechecker infers for `expr` in `env`, as a schema
    type.  No `has` guards are assumed, but the type survives an unguarded
    access (`principal.age` is Long even where `age` is optional); None when
    there is none (an undeclared attribute, an unguarded tag, a type error)
    or it has no schema counterpart.  `slots` maps "?principal"/"?resource"
    to entity type names for templates.  Singleton booleans are Bool."""
    global _last_view
    if _last_view is None or _last_view.schema is not schema:
        _last_view = SchemaView(schema)
    view = _last_view
    context = from_schema_record(schema.actions[env.action].context) if env.action in schema.actions else RecordT()
    slots = slots or {}
    e = Env(env.principal_type, env.action, env.resource_type, context,
            slots.get("?principal"), slots.get("?resource"))
    return to_schema_type(Checker(view, e, "<expr>").check(core(expr), NO_CAPS).ty)
