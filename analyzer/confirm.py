"""Counterexamples outside the solver: written to disk as Cedar JSON, and
confirmed by the official Cedar engine (`cedarpy`) when it is installed.

Every example was already replayed through our own evaluator before it was
shown; `--confirm` is the second opinion.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cedarscope.analyzer.templates import with_example_links
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.authorizer import ALLOW, DENY
from cedarscope.lang.entities import Entities, entities_to_json
from cedarscope.lang.printer import print_policy
from cedarscope.lang.request import request_to_json
from cedarscope.lang.schema import schema_to_json
from cedarscope.lang.template import instantiate
from cedarscope.reports.findings import Report

if TYPE_CHECKING:
    from cedarscope.lang.request import Request
    from cedarscope.lang.schema import Schema

EXAMPLE_FILES = frozenset({"request.json", "entities.json", "links.json"})


def save_examples(report: Report, folder: Path) -> list[Path]:
    """Each example (every example of every finding) as
    ``NNN-kind/request.json`` + ``entities.json``.
    Examples an earlier run wrote there are removed first, so the folder
    holds exactly this report's examples; nothing else is touched."""
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(folder.iterdir()):
        if _is_saved_example(old):
            for f in old.iterdir():
                f.unlink()
            old.rmdir()
    shown = [(finding, cx) for finding in report.findings for cx in finding.examples]
    for i, (finding, cx) in enumerate(shown):
        target = folder / f"{i:03d}-{finding.kind}"
        target.mkdir()
        (target / "request.json").write_text(json.dumps(request_to_json(cx.request), indent=2) + "\n")
        (target / "entities.json").write_text(json.dumps(entities_to_json(cx.entities), indent=2) + "\n")
        if cx.links:  # the template links the example needs, in Cedar's link format
            from cedarscope.lang.links import links_to_json

            (target / "links.json").write_text(json.dumps(links_to_json(cx.links), indent=2) + "\n")
        written.append(target)
    return written


def _is_saved_example(path: Path) -> bool:
    """A folder `save_examples` wrote: ``NNN-kind`` holding only its files."""
    number, _, kind = path.name.partition("-")
    return (path.is_dir() and not path.is_symlink() and len(number) >= 3 and number.isdigit()
            and bool(kind) and all(f.is_file() and f.name in EXAMPLE_FILES for f in path.iterdir()))


def linked_text(ps: PolicySet) -> str:
    """Every evaluable policy as static Cedar text, links instantiated, in
    the order `instantiate` gives (so positional ids line up)."""
    return "\n\n".join(print_policy(instance.policy) for instance in instantiate(ps)) + "\n"


def cedarpy_decision(ps: PolicySet, request: Request, entities: Entities, schema: Schema | None = None) -> str:
    """The official engine's decision, "allow" or "deny".  With a schema, the
    engine also checks that the request and entities conform to it; when they
    do not, the answer is "invalid: <the engine's message>"."""
    import cedarpy

    result = cedarpy.is_authorized(request_to_json(request), linked_text(ps),
                                   json.dumps(entities_to_json(entities)),
                                   schema=schema_to_json(schema) if schema is not None else None)
    if result.decision == cedarpy.Decision.Allow:
        return ALLOW
    if result.decision == cedarpy.Decision.Deny:
        return DENY
    return "invalid: " + "; ".join(result.diagnostics.errors or ["no decision"])


def confirm_report(report: Report, schema: Schema | None, sides: Mapping[str, PolicySet]) -> Report:
    """The report with stats saying how many examples cedarpy confirmed.  A
    disagreement is listed by finding; it means our evaluator and the
    official engine differ, which is a bug to report."""
    try:
        import cedarpy  # noqa: F401
    except ImportError:
        stats = dict(report.stats, confirmed="not confirmed: cedarpy is not installed")
        return dataclasses.replace(report, stats=stats)
    confirmed, disagreements = 0, []
    for i, finding in enumerate(report.findings):
        for cx in finding.examples:
            for side, decision in cx.decisions.items():
                if side not in sides:
                    continue
                theirs = cedarpy_decision(with_example_links(sides[side], cx.links), cx.request, cx.entities, schema)
                if theirs == decision:
                    confirmed += 1
                else:
                    disagreements.append(f"finding {i} ({side}): cedarscope {decision}, cedarpy {theirs}")
            if finding.description is not None:  # a change's description allows each of its examples
                from cedarscope.lang.parser import parse_policies

                described = parse_policies(finding.description, "<description>")
                theirs = cedarpy_decision(described, cx.request, cx.entities, schema)
                if theirs == ALLOW:
                    confirmed += 1
                else:
                    disagreements.append(f"finding {i} (description): cedarpy {theirs} on its example")
    if not any(finding.examples for finding in report.findings):
        # a proof has no example to replay (a "no" of ask, a "holds"): say so, not "0 confirmed"
        return dataclasses.replace(report, stats=dict(report.stats, confirmed="nothing to confirm: no example"))
    stats = dict(report.stats, confirmed=f"{confirmed} decision{'' if confirmed == 1 else 's'} confirmed by cedarpy"
                 + (" (request and entities checked against the schema)" if schema is not None else ""))
    if disagreements:
        stats["confirm_disagreements"] = disagreements
    return dataclasses.replace(report, stats=stats)
