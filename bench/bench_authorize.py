"""Concrete authorization throughput: our `lang.authorizer` against the
official engine (`cedarpy.is_authorized_batch`), in the same run, on the
corpus: Cedar's integration tests (hand-written and generated) and the
cedar-examples applications.

Policies, entities and schema are parsed once per test on both sides
(cedarpy through its reusable PolicySet/Entities/Schema handles); requests
are parsed inside the timed loop on both sides (ours: `parse_request` with
the schema; cedarpy converts each request inside `is_authorized_batch`), so
the figures compare what a caller pays per request.  Each side's decisions are also checked against
the expected ones, so a fast wrong answer shows up as such.
"""

from __future__ import annotations

import json
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
INTEGRATION = CORPUS / "integration-tests"
EXAMPLES = CORPUS / "cedar-examples"
# Upstream, these two applications' entities do not match their schemas.
AUTHORIZE_WITHOUT_SCHEMA = {"github_example", "document_cloud"}


@dataclass
class Case:
    """One policy store and its requests, as text (both engines parse it)."""

    name: str
    policies: str
    entities: str
    schema: str | None
    requests: list[dict]  # Cedar request JSON
    expected: list[str]  # "allow" | "deny" per request
    links: list[dict] = field(default_factory=list)  # Cedar's link format


# --------------------------------------------------------------------------
# The corpus as cases


def integration_cases(limit_generated: int | None) -> Iterator[tuple[str, Case]]:
    """("hand-written" | "generated", case) for every integration test."""
    for path in sorted((INTEGRATION / "tests").rglob("*.json")):
        yield "hand-written", _integration_case(json.loads(path.read_text()), str(path),
                                                lambda p: (INTEGRATION / p).read_text())
    with tarfile.open(INTEGRATION / "corpus-tests.tar.gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        tests = sorted(n for n in members
                       if n.endswith(".json") and not n.endswith(".entities.json"))
        for name in tests[:limit_generated]:
            read = lambda p: tar.extractfile(members[p]).read().decode("utf-8")  # noqa: E731
            yield "generated", _integration_case(json.loads(read(name)), name, read)


def _integration_case(test: dict, name: str, read: Callable[[str], str]) -> Case:
    requests = [{k: r[k] for k in ("principal", "action", "resource", "context")}
                for r in test["requests"]]
    return Case(name, read(test["policies"]), read(test["entities"]),
                read(test["schema"]) if test.get("schema") else None,
                requests, [r["decision"] for r in test["requests"]])


def example_cases() -> Iterator[Case]:
    """Every cedar-examples application with ALLOW/ and DENY/ requests."""
    for app in sorted({d.parent for d in EXAMPLES.rglob("ALLOW")}):
        policies = _one(app, "*.cedar")
        entities = _one(app, "*entities.json")
        schema = None if app.name in AUTHORIZE_WITHOUT_SCHEMA else _one(app, "*.cedarschema")
        requests, expected = [], []
        for decision in ("ALLOW", "DENY"):
            for req in sorted((app / decision).glob("*.json")):
                requests.append(json.loads(req.read_text()))
                expected.append(decision.lower())
        links = json.loads((app / "linked").read_text()) if (app / "linked").exists() else []
        yield Case(str(app.relative_to(EXAMPLES)), policies.read_text(), entities.read_text(),
                   schema.read_text() if schema else None, requests, expected, links)


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise FileNotFoundError(f"{folder}: expected one {pattern}, found {len(found)}")
    return found[0]


# --------------------------------------------------------------------------
# The two engines, each prepared once per case


def prepare_ours(case: Case) -> Callable[[], list[str]]:
    from cedarscope.lang.authorizer import is_authorized
    from cedarscope.lang.entities import parse_entities
    from cedarscope.lang.links import with_links
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.request import parse_request
    from cedarscope.lang.schema import parse_schema

    schema = parse_schema(case.schema, case.name) if case.schema else None
    policyset = parse_policies(case.policies, case.name)
    if case.links:
        policyset = with_links(policyset, case.links, case.name)
    entities = parse_entities(case.entities, case.name, schema)
    # Each request is parsed (and validated against the schema) inside the
    # timed run, as cedarpy converts its requests inside is_authorized_batch.
    return lambda: [is_authorized(parse_request(r, case.name, schema), entities, policyset).decision
                    for r in case.requests]


def prepare_cedarpy(case: Case) -> Callable[[], list[str]]:
    import cedarpy

    schema = cedarpy.Schema.from_str(case.schema) if case.schema else None
    policyset = cedarpy.PolicySet.from_str(case.policies)
    if case.links:
        policyset = policyset.with_linked_batch(
            [{"template_id": link["template_id"], "new_id": link["link_id"], "values": link["args"]}
             for link in case.links])
    entities = cedarpy.Entities.from_json_str(case.entities, schema)

    def run() -> list[str]:
        results = cedarpy.is_authorized_batch(case.requests, policyset, entities, schema)
        return ["allow" if r.allowed else "deny" for r in results]
    return run


# --------------------------------------------------------------------------
# Measuring


@dataclass
class Side:
    runs: list[Callable[[], list[str]]] = field(default_factory=list)
    requests: int = 0  # requests timed (those of the cases this engine loaded)
    total: int = 0  # requests offered
    correct: int = 0
    failed_cases: int = 0  # cases the engine could not load

    def add(self, prepare: Callable[[Case], Callable[[], list[str]]], case: Case) -> None:
        self.total += len(case.requests)
        try:
            run = prepare(case)
            decisions = run()
        except ImportError:
            raise
        except Exception:  # an input this engine rejects: counted, not timed
            self.failed_cases += 1
            return
        self.runs.append(run)
        self.requests += len(decisions)
        self.correct += sum(d == e for d, e in zip(decisions, case.expected, strict=False))

    def rate(self, min_seconds: float) -> float:
        """Requests per second over whole passes of every prepared case."""
        if not self.requests:
            return 0.0
        passes, start = 0, time.perf_counter()
        while True:
            for run in self.runs:
                run()
            passes += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                return passes * self.requests / elapsed


def measure(quick: bool) -> dict:
    if not CORPUS.exists():
        raise FileNotFoundError(f"../shared/corpus not present: {CORPUS}")
    min_seconds = 0.3 if quick else 2.0
    groups: dict[str, tuple[Side, Side]] = {}
    for group, case in integration_cases(limit_generated=100 if quick else None):
        _add(groups, f"integration tests ({group})", case)
    for case in example_cases():
        _add(groups, "cedar-examples", case)
    rows = []
    for name, (ours, theirs) in groups.items():
        rows.append({"name": f"{name}: requests/s", "ours": round(ours.rate(min_seconds), 1),
                     "baseline": round(theirs.rate(min_seconds), 1), "unit": "req/s"})
        rows.append({"name": f"{name}: expected decisions", "ours": ours.correct,
                     "baseline": theirs.correct, "unit": f"of {ours.total}"})
        if ours.failed_cases or theirs.failed_cases:
            rows.append({"name": f"{name}: stores not loaded", "ours": ours.failed_cases,
                         "baseline": theirs.failed_cases, "unit": "stores"})
    return {"rows": rows, "baseline": "cedarpy.is_authorized_batch (Cedar 4.12, Rust)"}


def _add(groups: dict[str, tuple[Side, Side]], name: str, case: Case) -> None:
    ours, theirs = groups.setdefault(name, (Side(), Side()))
    ours.add(prepare_ours, case)
    theirs.add(prepare_cedarpy, case)
