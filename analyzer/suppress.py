"""Accepted findings: ``@suppress`` annotations on policies, and the
settings' ignored kinds and severities.

    @suppress("over-permissive: anyone may read the public folder")
    @suppress("redundant, shadowed")
    permit (principal, action == Action::"view", resource in Folder::"public");

A policy's ``@suppress`` names finding kinds, comma-separated, optionally
followed by a colon and the reason.  A finding is suppressed when every one
of its subject policies suppresses its kind (a template link inherits its
template's annotations).  Cedar allows one annotation of a name per policy,
so several kinds share one annotation.  A kind that is not a finding kind is
bad input, so a typo never silently suppresses nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cedarscope.lang.ast import Policy, PolicySet
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.reports.findings import FINDING_KINDS, Finding

ANNOTATION = "suppress"


@dataclass(frozen=True)
class Suppression:
    """The kinds one policy suppresses, and why."""

    kinds: frozenset[str]
    reason: str | None = None


def suppression_of(policy: Policy) -> Suppression | None:
    """The policy's ``@suppress``, checked; None when it has none."""
    annotation = policy.annotation(ANNOTATION)
    if annotation is None:
        return None
    text = annotation.value or ""
    kinds_text, _, reason = text.partition(":")
    kinds = [k.strip() for k in kinds_text.split(",") if k.strip()]
    span = annotation.span or policy.span

    def error(message: str) -> CedarError:
        if span is None:
            return CedarError(Diagnostic(message))
        return CedarError(Diagnostic(message, file=span.file, line=span.line, column=span.column))

    if not kinds:
        raise error('@suppress needs finding kinds, e.g. @suppress("over-permissive: why")')
    unknown = [k for k in kinds if k not in FINDING_KINDS]
    if unknown:
        raise error(f"@suppress: unknown finding kind {unknown[0]!r} (known: {', '.join(FINDING_KINDS)})")
    return Suppression(frozenset(kinds), reason.strip() or None)


def suppressions(policy_sets: Iterable[PolicySet]) -> dict[str, Suppression]:
    """Every policy's and link's suppression, by id (the first set that
    knows an id decides: for a diff, the new version, then the old)."""
    out: dict[str, Suppression] = {}
    for ps in policy_sets:
        templates = {pid: p for pid, p in ps.policies}
        for pid, policy in ps.policies:
            found = suppression_of(policy)
            if found is not None:
                out.setdefault(pid, found)
        for link in ps.links:
            template = templates.get(link.template_id)
            found = suppression_of(template) if template is not None else None
            if found is not None:
                out.setdefault(link.link_id, found)
    return out


def is_suppressed(finding: Finding, by_id: Mapping[str, Suppression]) -> bool:
    return bool(finding.policies) and all(
        pid in by_id and finding.kind in by_id[pid].kinds for pid in finding.policies)


@dataclass(frozen=True)
class Triaged:
    """Findings kept, and how many of each kind were set aside and why."""

    kept: tuple[Finding, ...]
    suppressed: Counter[str]
    ignored: Counter[str]


def set_aside(findings: Sequence[Finding], policy_sets: Iterable[PolicySet],
              ignore: Iterable[str] = ()) -> Triaged:
    """Drop the findings the settings ignore, then those the policies suppress."""
    by_id = suppressions(policy_sets)
    ignored_kinds = set(ignore)
    kept: list[Finding] = []
    suppressed: Counter[str] = Counter()
    ignored: Counter[str] = Counter()
    for f in findings:
        if f.kind in ignored_kinds:
            ignored[f.kind] += 1
        elif is_suppressed(f, by_id):
            suppressed[f.kind] += 1
        else:
            kept.append(f)
    return Triaged(tuple(kept), suppressed, ignored)
