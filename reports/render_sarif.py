"""SARIF 2.1.0, for code-scanning dashboards (GitHub, IDEs).

One run; one rule per finding kind that occurs, with its metadata (name,
short and full description, help, default level); one result per finding,
located at its subjects (for a change: the added, removed or edited
policies that caused it), with a fingerprint unique within the log and
stable across runs.  Levels mean something: a finding that makes the
command fail (`--fail-on`, by default any) is an error only when asked
for; otherwise gains, over-permissive policies and failing-open forbids
are warnings, and losses and hygiene (dead, redundant, shadowed) are notes.
The description, environment, related policies and examples (in the JSON
contract's form) travel in `properties`.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePath
from typing import Any

from cedarscope.reports.findings import FINDING_KINDS, Finding, Location, Report
from cedarscope.reports.render_json import counterexample_json, dumps, environment_json

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

# What each kind means when nobody said it must fail the run.
DEFAULT_LEVEL = {
    "gained": "warning", "lost": "note",
    "always-allows": "warning", "always-denies": "note", "may-error": "warning",
    "dead": "note", "always-matches": "note", "redundant": "note", "shadowed": "note", "overridden": "note",
    "forbid-may-error": "warning", "over-permissive": "warning",
    "property-violated": "error", "reachable": "warning",
}

HELP = {
    "gained": "The new policies allow requests the old ones denied. The description is one Cedar policy "
              "allowing exactly those requests; review it, and the edit that caused it.",
    "lost": "The new policies deny requests the old ones allowed. The description is one Cedar policy "
            "allowing exactly those requests.",
    "always-allows": "Some request is denied, so the policies do not allow every request.",
    "always-denies": "Some request is allowed, so the policies do not deny every request.",
    "may-error": "A policy errors on some request; Cedar then skips it.",
    "dead": "The policy matches no request the schema allows; remove it or fix its scope.",
    "always-matches": "The policy's conditions hold for every request of its scope.",
    "redundant": "Removing the policy changes no decision.",
    "shadowed": "Another permit allows everything this permit allows.",
    "overridden": "Forbids deny everything this permit allows.",
    "forbid-may-error": "A forbid that errors does not deny: on such requests it fails open.",
    "over-permissive": "The permit allows every request of a whole environment.",
    "property-violated": "A @must property written in Cedar does not hold.",
    "reachable": "Some request the question describes is allowed.",
}


def level(kind: str, fail_on: frozenset[str] | None = None) -> str:
    """error only for the kinds `--fail-on` names; without it, each kind's
    default level."""
    default = DEFAULT_LEVEL.get(kind, "warning")
    if fail_on is None:
        return default
    if kind in fail_on:
        return "error"
    return "warning" if default == "error" else default


def artifact_uri(file: str) -> str:
    """A relative path stays a relative URI reference; an absolute one
    becomes a file: URI."""
    path = PurePath(file)
    return path.as_uri() if path.is_absolute() else path.as_posix()


def sarif_location(loc: Location) -> dict[str, Any]:
    return {"physicalLocation": {
        "artifactLocation": {"uri": artifact_uri(loc.file)},
        "region": {"startLine": loc.line, "startColumn": loc.column},
    }}


def fingerprint(f: Finding) -> str:
    """Stable across runs, so dashboards track a finding rather than a line.
    A change is one direction in one environment, caused by its subjects;
    other findings are also told apart by what they say."""
    env = environment_json(f.environment) or {}
    parts = [f.kind, ",".join(f.policies), env.get("principal_type", ""), env.get("action", ""),
             env.get("resource_type", "")]
    if not f.is_change:
        parts += [",".join(f.related), f.message]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:32]


def places(f: Finding) -> list[Location]:
    """Where a finding is shown: its subjects, else the policies that decided
    its example (an always-denies answer names no subject, but the permit
    that allowed it is written somewhere)."""
    if f.locations:
        return list(f.locations)
    cx = f.counterexample
    refs = [r for side in cx.determining.values() for r in side] if cx is not None else []
    return [r.location for r in refs if r.location is not None]


def sarif_result(f: Finding, rule_index: dict[str, int], fail_on: frozenset[str] | None, key: str,
                 fallback: Location | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"policies": list(f.policies), "related": list(f.related),
                        "environment": environment_json(f.environment)}
    if f.is_change:
        properties.update({"edits": dict(f.edits), "description": f.description,
                           "description_form": f.description_form})
    if f.examples:
        properties["examples"] = [counterexample_json(cx) for cx in f.examples]
    locations = []
    # GitHub's code scanning refuses a whole log holding a result without a
    # location: one with none of its own is shown where the report's first is
    for loc in places(f) or ([fallback] if fallback is not None else []):
        if sarif_location(loc) not in locations:
            locations.append(sarif_location(loc))
    return {
        "ruleId": f.kind,
        "ruleIndex": rule_index[f.kind],
        "level": level(f.kind, fail_on) if f.severity == "error" else f.severity,  # a configured severity wins
        "message": {"text": f.message},
        "locations": locations,
        "partialFingerprints": {"cedarscopeFinding/v2": key},
        "properties": properties,
    }


def sarif_rules(report: Report) -> list[dict[str, Any]]:
    used = {f.kind for f in report.findings}
    return [{"id": kind, "name": "".join(w.capitalize() for w in kind.split("-")),
             "shortDescription": {"text": title}, "fullDescription": {"text": HELP.get(kind, title)},
             "help": {"text": HELP.get(kind, title)},
             "defaultConfiguration": {"level": level(kind, report.fail_on)},
             "properties": {"tags": ["access-change"] if kind in ("gained", "lost") else ["cedar-policy"]}}
            for kind, title in FINDING_KINDS.items() if kind in used]


def unique_fingerprints(report: Report) -> list[str]:
    """One per finding, distinct within the log (a repeat gets a suffix)."""
    seen: dict[str, int] = {}
    out = []
    for f in report.findings:
        key = fingerprint(f)
        n = seen.get(key, 0)
        seen[key] = n + 1
        out.append(key if n == 0 else f"{key}:{n}")
    return out


def report_sarif(report: Report) -> dict[str, Any]:
    rules = sarif_rules(report)
    rule_index = {r["id"]: i for i, r in enumerate(rules)}
    keys = unique_fingerprints(report)
    fallback = next((loc for f in report.findings for loc in places(f)), None)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": report.tool, "version": report.version,
                                "rules": rules}},
            "invocations": [{"executionSuccessful": True, "exitCode": report.exit_code,
                             "commandLine": f"{report.tool} {report.command}"}],
            "results": [sarif_result(f, rule_index, report.fail_on, key, fallback)
                        for f, key in zip(report.findings, keys, strict=True)],
            "properties": {"command": report.command, "result": report.result.value,
                           "assumptions": list(report.assumptions), "stats": dict(report.stats)},
        }],
    }


def render_sarif(report: Report) -> str:
    from cedarscope.reports.docs import with_doc_links

    return dumps(with_doc_links(report_sarif(report)))
