"""What a report shows once the project's decisions are applied: findings
of ignored kinds and suppressed findings are set aside, and with a
baseline only new findings remain; the settings' per-kind severities are
applied.  What was set aside is counted in the report's stats
(``suppressed``, ``ignored`` by kind; ``baselined``), and the verdict is
recomputed from what remains: a counterexample kept as a warning or note
still makes it violated, and only an error-severity finding fails the run.

Used by the commands whose findings are problems to fix (`audit`, `check`);
a diff's changes are facts about an edit, not problems, and are not triaged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from cedarscope.analyzer.baseline import new_findings, read_baseline, write_baseline
from cedarscope.analyzer.suppress import set_aside
from cedarscope.lang.ast import PolicySet
from cedarscope.reports.findings import Finding, Report, Verdict


def triage(report: Report, policy_sets: Sequence[PolicySet], *, ignore: Iterable[str] = (),
           severities: Mapping[str, str] | None = None, baseline: Path | None = None) -> Report:
    """The report with ignored, suppressed and baselined findings set aside,
    and each kind's configured severity applied."""
    triaged = set_aside(report.findings, policy_sets, ignore)
    severities = severities or {}
    kept = [dataclasses.replace(f, severity=severities[f.kind]) if f.kind in severities else f
            for f in triaged.kept]
    stats = dict(report.stats)
    if triaged.suppressed:
        stats["suppressed"] = dict(sorted(triaged.suppressed.items()))
    if triaged.ignored:
        stats["ignored"] = dict(sorted(triaged.ignored.items()))
    if baseline is not None:
        kept, known = new_findings(kept, read_baseline(baseline), policy_sets)
        stats["baselined"] = known
    return dataclasses.replace(report, result=verdict_of(report, kept), findings=tuple(kept), stats=stats)


def verdict_of(report: Report, kept: Sequence[Finding]) -> Verdict:
    """Violated while a finding of a violated report remains, whatever its
    severity (a note is still a counterexample: the exit code, not the
    verdict, says it does not fail), or an error-severity one; else unknown
    if the solver gave up somewhere, else holds (what was set aside was
    accepted, and the stats count it)."""
    if any(f.severity == "error" for f in kept) or (kept and report.result is Verdict.VIOLATED):
        return Verdict.VIOLATED
    if report.result is Verdict.UNKNOWN or report.stats.get("unknown"):
        return Verdict.UNKNOWN
    return Verdict.HOLDS


def record_baseline(report: Report, policy_sets: Sequence[PolicySet], path: Path) -> int:
    """Write the report's findings (after suppression) as the baseline."""
    return write_baseline(path, report.findings, policy_sets)
