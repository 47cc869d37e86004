"""SARIF 2.1.0, for code-scanning dashboards (GitHub, IDEs).

One run; one rule per finding kind that occurs; one result per finding,
located at its policies.  The environment, related policies and the
counterexample (in the JSON contract's form) travel in `properties`.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePath
from typing import Any

from cedarscope.reports.findings import FINDING_KINDS, Finding, Location, Report
from cedarscope.reports.render_json import counterexample_json, dumps, environment_json

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

# Findings that mean a decision is (or may be) wrong are errors; the rest are
# hygiene (dead, redundant, shadowed policies) and are warnings.
ERROR_KINDS = frozenset({"gained", "lost", "always-allows", "may-error",
                         "forbid-may-error", "property-violated", "over-permissive"})


def level(kind: str) -> str:
    return "error" if kind in ERROR_KINDS else "warning"


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
    """Stable across runs, so dashboards track a finding rather than a line."""
    env = environment_json(f.environment) or {}
    key = "|".join([f.kind, ",".join(f.policies), ",".join(f.related),
                    env.get("principal_type", ""), env.get("action", ""),
                    env.get("resource_type", "")])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def sarif_result(f: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    properties = {"policies": list(f.policies), "related": list(f.related),
                  "environment": environment_json(f.environment)}
    if f.counterexample is not None:
        properties["counterexample"] = counterexample_json(f.counterexample)
    return {
        "ruleId": f.kind,
        "ruleIndex": rule_index[f.kind],
        "level": level(f.kind),
        "message": {"text": f.message},
        "locations": [sarif_location(loc) for loc in f.locations],
        "partialFingerprints": {"cedarscopeFinding/v1": fingerprint(f)},
        "properties": properties,
    }


def sarif_rules(report: Report) -> list[dict[str, Any]]:
    used = {f.kind for f in report.findings}
    return [{"id": kind, "name": title, "shortDescription": {"text": title},
             "defaultConfiguration": {"level": level(kind)}}
            for kind, title in FINDING_KINDS.items() if kind in used]


def report_sarif(report: Report) -> dict[str, Any]:
    rules = sarif_rules(report)
    rule_index = {r["id"]: i for i, r in enumerate(rules)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": report.tool, "version": report.version,
                                "rules": rules}},
            "invocations": [{"executionSuccessful": True, "exitCode": report.exit_code,
                             "commandLine": f"{report.tool} {report.command}"}],
            "results": [sarif_result(f, rule_index) for f in report.findings],
            "properties": {"command": report.command, "result": report.result.value,
                           "assumptions": list(report.assumptions), "stats": dict(report.stats)},
        }],
    }


def render_sarif(report: Report) -> str:
    return dumps(report_sarif(report))
