"""Baselines: the findings a project has accepted, so that a run reports
only new ones.

A finding is recorded by a fingerprint of its kind, its subject policies
and its request environment.  A policy is named by its id when the id is
chosen (an ``@id``, a template link, a key of a JSON policy set), and by its
normalised text otherwise, because a positional id (``policy3``) changes
when a policy above it is added.  Line numbers and messages take no part, so
moving, reformatting or renumbering a policy keeps its findings' identity.

The file is JSON: ``{"tool": "cedarscope", "baseline_version": 1,
"findings": [{"fingerprint", "kind", "policies", "environment", "message"}]}``,
sorted by fingerprint so it diffs well under version control.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from cedarscope.lang.ast import Policy, PolicySet
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.files import load_json, read_text, write_text
from cedarscope.reports.findings import Finding

BASELINE_VERSION = 1
_POSITIONAL = re.compile(r"policy\d+\Z")


def policy_identity(pid: str, policy: Policy | None) -> str:
    """``id:<id>`` for a chosen id, ``text:<hash of the printed policy>`` for
    a positional one (printed without its span, so layout does not count)."""
    if policy is None or policy.annotation("id") is not None or not _POSITIONAL.match(pid):
        return f"id:{pid}"
    from cedarscope.lang.printer import print_policy

    digest = hashlib.sha256(print_policy(policy).encode("utf-8")).hexdigest()[:16]
    return f"text:{digest}"


def fingerprint(finding: Finding, policy_sets: Sequence[PolicySet]) -> str:
    """The finding's identity across runs (see the module docstring)."""
    policies = [policy_identity(pid, _find(pid, policy_sets)) for pid in finding.policies]
    env = finding.environment
    where = f"{env.principal_type}|{env.action}|{env.resource_type}" if env is not None else "-"
    key = "\n".join([finding.kind, ",".join(policies), where])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _find(pid: str, policy_sets: Sequence[PolicySet]) -> Policy | None:
    for ps in policy_sets:
        policy = ps.get(pid)
        if policy is not None:
            return policy
    return None


def baseline_json(findings: Iterable[Finding], policy_sets: Sequence[PolicySet]) -> dict[str, Any]:
    from cedarscope.reports.render_json import environment_json

    entries = {}
    for f in findings:
        fp = fingerprint(f, policy_sets)
        entries[fp] = {"fingerprint": fp, "kind": f.kind, "policies": list(f.policies),
                       "environment": environment_json(f.environment), "message": f.message}
    return {"tool": "cedarscope", "baseline_version": BASELINE_VERSION,
            "findings": [entries[fp] for fp in sorted(entries)]}


def write_baseline(path: Path, findings: Iterable[Finding], policy_sets: Sequence[PolicySet]) -> int:
    """Record the findings in `path`; the number recorded."""
    data = baseline_json(findings, policy_sets)
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n", "baseline")
    return len(data["findings"])


def read_baseline(path: Path) -> frozenset[str]:
    """The fingerprints a baseline file records."""
    data = load_json(read_text(path, "baseline"), str(path))  # a regular UTF-8 file, or a located error
    if not isinstance(data, dict) or data.get("baseline_version") != BASELINE_VERSION:
        raise CedarError(Diagnostic(f"not a cedarscope baseline (version {BASELINE_VERSION}); write one "
                                    "with --write-baseline", file=str(path)))
    entries = data.get("findings")
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("fingerprint"), str)
                                                for e in entries):
        raise CedarError(Diagnostic("expected a list of findings, each with a fingerprint",
                                    file=str(path), path="findings"))
    return frozenset(e["fingerprint"] for e in entries)


def new_findings(findings: Sequence[Finding], known: frozenset[str],
                 policy_sets: Sequence[PolicySet]) -> tuple[list[Finding], int]:
    """The findings the baseline does not record, and how many it did."""
    fresh = [f for f in findings if fingerprint(f, policy_sets) not in known]
    return fresh, len(findings) - len(fresh)
