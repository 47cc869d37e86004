"""whatif: the diff a proposed change would cause, before it is made.

The change removes policies by id and adds the policies of some files; the
result is exactly `diff(current, changed)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cedarscope.analyzer.checks import diff_report
from cedarscope.analyzer.solving import Options
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.schema import Schema
from cedarscope.reports.findings import Report


def changed(current: PolicySet, add: PolicySet, remove: Sequence[str]) -> PolicySet:
    """`current` without the ids in `remove`, with `add`'s policies appended.
    Added policies without ``@id`` are numbered after the current ones."""
    unknown = [pid for pid in remove if current.get(pid) is None
               and all(link.link_id != pid for link in current.links)]
    if unknown:
        raise CedarError(Diagnostic(f"--remove: no policy with id {unknown[0]!r}", file="<whatif>"))
    kept = [(pid, p) for pid, p in current.policies if pid not in remove]
    links = tuple(link for link in current.links
                  if link.link_id not in remove and link.template_id not in remove)
    taken = {pid for pid, _ in kept} | {link.link_id for link in links}
    n = len(current.policies)
    for pid, policy in add.policies:
        if policy.annotation("id") is None:
            while f"policy{n}" in taken:
                n += 1
            pid = f"policy{n}"
            n += 1
        if pid in taken:
            raise CedarError(Diagnostic(f"--add: policy id {pid!r} is already in use", file="<whatif>"))
        taken.add(pid)
        kept.append((pid, policy))
    return PolicySet(tuple(kept), links + add.links)


def whatif(schema: Schema, current: PolicySet, add: PolicySet, remove: Sequence[str],
           options: Options, fail_on: Iterable[str] | None = None) -> Report:
    return diff_report(schema, current, changed(current, add, remove), options, command="whatif", fail_on=fail_on)
