"""The JSON contract (DESIGN.md, documented in the README).

One object per analysis command.  `request` and `entities` are exactly
Cedar's JSON request and entities formats, so any Cedar engine can replay a
counterexample as it is.  Keys are written in the contract's order; change
this file only deliberately.
"""

from __future__ import annotations

import json
from typing import Any

from cedarscope.lang.entities import entities_to_json
from cedarscope.lang.request import request_to_json
from cedarscope.lang.schema import RequestEnv
from cedarscope.reports.findings import (
    AccessCell,
    AuthorizationResult,
    Counterexample,
    Finding,
    Location,
    PolicyRef,
    Report,
)


def location_json(loc: Location) -> dict[str, Any]:
    return {"file": loc.file, "line": loc.line, "column": loc.column}


def environment_json(env: RequestEnv | None) -> dict[str, Any] | None:
    if env is None:
        return None
    return {"principal_type": env.principal_type, "action": str(env.action),
            "resource_type": env.resource_type}


# Changes whenever a field's meaning does.  2: findings carry `description`
# and `examples` (a diff's gained/lost finding is one change), `edits`; the
# diff `summary` lists only changed environments.
SCHEMA_VERSION = 2


def counterexample_json(cx: Counterexample) -> dict[str, Any]:
    out: dict[str, Any] = {
        "request": request_to_json(cx.request),
        "entities": entities_to_json(cx.entities),
        "decisions": dict(cx.decisions),
    }
    if cx.links:  # templates analysed for every link: the links that realise it, in Cedar's format
        from cedarscope.lang.links import links_to_json
        out["links"] = links_to_json(cx.links)
    return out


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "policies": list(f.policies),
        "related": list(f.related),
        "locations": [location_json(loc) for loc in f.locations],
        "environment": environment_json(f.environment),
        "message": f.message,
        "edits": dict(f.edits),
        "description": f.description,
        "description_form": f.description_form,
        "examples": [counterexample_json(cx) for cx in f.examples],
        "severity": f.severity,
        "counterexample": counterexample_json(f.counterexample) if f.counterexample else None,
    }


def access_json(cell: AccessCell) -> dict[str, Any]:
    return {"environment": environment_json(cell.environment), "old": cell.old, "new": cell.new,
            "changed": cell.changed}


def report_json(report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tool": report.tool,
        "version": report.version,
        "schema_version": SCHEMA_VERSION,
        "command": report.command,
        "result": report.result.value,
        "findings": [finding_json(f) for f in report.findings],
        "assumptions": list(report.assumptions),
        "stats": dict(report.stats),
    }
    if report.matrix:
        out["access_matrix"] = [access_json(c) for c in report.matrix]
    return out


def render_json(report: Report) -> str:
    return dumps(report_json(report))


# --------------------------------------------------------------------------
# The `authorize` command's answer (not an analysis report)


def policy_ref_json(ref: PolicyRef) -> dict[str, Any]:
    out: dict[str, Any] = {"policy": ref.id}
    if ref.effect:
        out["effect"] = ref.effect
    if ref.location:
        out.update(location_json(ref.location))
    return out


def authorization_json(result: AuthorizationResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "decision": result.decision,
        "reasons": [policy_ref_json(r) for r in result.reasons],
        "errors": [{**policy_ref_json(r), "message": m} for r, m in result.errors],
        "request": request_to_json(result.request),
    }
    if result.explanation is not None:
        from cedarscope.reports.render_explain import explanation_json
        out["explanation"] = explanation_json(result.explanation)
    return out


def render_authorization_json(result: AuthorizationResult) -> str:
    return dumps(authorization_json(result))


def dumps(obj: Any) -> str:
    """Indented, non-ASCII kept as is, newline-terminated."""
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
