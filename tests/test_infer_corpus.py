"""Schema inference measured on real policies run without their schema:
every cedar-examples application and Cedar's corpus tests.

For each policy set, a schema is inferred from the policies alone, then with
the entity data, then with the entity data and the requests too.  Each
inferred schema must be accepted by cedarpy (the official engine), the
policies must pass strict validation under it (ours and cedarpy's), and the
requests shipped with the application must be accepted by cedarpy under it
(with the entity data, when inference saw the data).  How close it comes to
the real schema (recall and precision of entity types, attributes, actions,
request environments and memberOf edges) is printed:

    python -m tests.test_infer_corpus            # the table (all corpus tests)
    python -m pytest tests/test_infer_corpus.py  # the checks (a corpus sample; -m slow for all)
"""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cedarscope.lang.infer import infer_schema
from cedarscope.lang.links import with_links
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.schema import Schema, parse_schema
from cedarscope.lang.validator import validate

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("CEDARSCOPE_CORPUS") or REPO.parent / "shared" / "corpus")
EXAMPLES = CORPUS / "cedar-examples"
CORPUS_TESTS = CORPUS / "integration-tests" / "corpus-tests.tar.gz"
MODES = ("policies", "+entities", "+entities+requests")
SAMPLE_EVERY = 40  # the default run checks every 40th corpus test; -m slow checks all

cedarpy = pytest.importorskip("cedarpy", reason="cedarpy (the official engine) is not installed")


@dataclass
class Case:
    """One policy set with what ships beside it."""

    name: str
    policies: str
    schema: str | None  # the real schema's text
    entities: list | None = None
    requests: list = field(default_factory=list)  # Cedar request JSON objects
    links: list | None = None


def _schema_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def example_cases() -> list[Case]:
    """Every policy file of cedar-examples, with the schema, entities,
    template links and ALLOW/DENY requests of its folder."""
    if not EXAMPLES.is_dir():
        pytest.skip(f"../shared/corpus not present: {EXAMPLES} is missing (set CEDARSCOPE_CORPUS)")
    cases = []
    for policies in sorted(EXAMPLES.rglob("*.cedar")):
        folder = policies.parent
        schemas = sorted(folder.glob("*.cedarschema*"))
        matching = [s for s in schemas if ("template" in s.name) == ("template" in policies.name)] or schemas
        entities = sorted(folder.glob("*entities.json"))
        requests = sorted(folder.glob("ALLOW/*.json")) + sorted(folder.glob("DENY/*.json"))
        links = folder / "linked"
        entity_data = json.loads(entities[0].read_text()) if entities else None
        cases.append(Case(str(policies.relative_to(EXAMPLES)), policies.read_text(encoding="utf-8"),
                          _schema_text(matching[0]) if matching else None,
                          entity_data if isinstance(entity_data, list) else None,
                          [json.loads(r.read_text()) for r in requests],
                          json.loads(links.read_text()) if links.is_file() else None))
    return cases


def corpus_cases(every: int = 1) -> Iterator[Case]:
    """Cedar's corpus tests (policies, schema, entities, requests), every `every`th."""
    if not CORPUS_TESTS.is_file():
        pytest.skip(f"../shared/corpus not present: {CORPUS_TESTS} is missing (set CEDARSCOPE_CORPUS)")
    with tarfile.open(CORPUS_TESTS) as tar:
        files = {m.name: m for m in tar if m.isfile()}

        def read(name: str) -> str:
            return tar.extractfile(files[name]).read().decode("utf-8")

        tests = sorted(n for n in files if n.endswith(".json") and not n.endswith(".entities.json"))
        for name in tests[::every]:
            test = json.loads(read(name))
            requests = [{k: r[k] for k in ("principal", "action", "resource", "context")}
                        for r in test["requests"] if r.get("validateRequest", True)]
            yield Case(name, read(test["policies"]), read(test["schema"]), json.loads(read(test["entities"])),
                       requests)


# --------------------------------------------------------------------------
# One measurement


@dataclass
class Outcome:
    accepted: bool  # cedarpy parses the inferred schema
    valid_ours: bool
    valid_cedar: bool
    requests: int
    requests_accepted: int
    closeness: dict[str, tuple[int, int, int]]  # figure -> (found, real, inferred)
    valid_real: bool = True  # the policies validate under the real schema (else no schema may do)
    problem: str = ""


def measure(case: Case, mode: str) -> Outcome | None:
    """Infer a schema for `case` from the evidence `mode` allows and check
    it; None when Cedar itself rejects the policies."""
    try:
        ps = parse_policies(case.policies, case.name)
        if case.links:
            ps = with_links(ps, case.links)
    except Exception:  # noqa: BLE001 - a corpus file our parser (and Cedar) rejects
        return None
    entities = case.entities if mode != "policies" else None
    requests = case.requests if mode == "+entities+requests" else []
    inferred = infer_schema(ps, entities, requests)
    text = _linked_text(ps)
    try:
        handle = cedarpy.Schema.from_str(inferred.text)
    except ValueError as err:
        return Outcome(False, False, False, 0, 0, {}, problem=f"cedarpy rejects the schema: {err}")
    schema = parse_schema(inferred.text, "inferred.cedarschema")
    ours = validate(ps, schema)
    theirs = cedarpy.validate_policies(text, handle)
    store = json.dumps(case.entities) if entities is not None else "[]"
    accepted = sum(1 for r in case.requests if _accepted(r, text, store, handle))
    problem = ours[0].one_line() if ours else (str(list(theirs.errors)[0]) if theirs.errors else "")
    real = _real_schema(case.schema)
    return Outcome(True, not ours, theirs.validation_passed, len(case.requests), accepted,
                   closeness(real, schema) if real is not None else {},
                   real is not None and not validate(ps, real), problem)


def _linked_text(ps) -> str:
    from cedarscope.analyzer.confirm import linked_text

    return linked_text(ps)


def _accepted(request: dict, policies: str, entities: str, schema) -> bool:
    """cedarpy builds the request and entities under the schema (a decision
    is reached; its value does not matter here)."""
    result = cedarpy.is_authorized(request, policies, entities, schema=schema)
    return not (result.decision == cedarpy.Decision.NoDecision and result.diagnostics.errors)


def _real_schema(text: str | None) -> Schema | None:
    if text is None:
        return None
    try:
        return parse_schema(text, "real")
    except Exception:  # noqa: BLE001 - some corpus schemas are deliberately invalid
        return None


def closeness(real: Schema, inferred: Schema) -> dict[str, tuple[int, int, int]]:
    """(found, in the real schema, in the inferred one) per kind of declaration."""
    def attrs(s: Schema) -> set:
        return {(t, a) for t, et in s.entity_types.items() for a, _ in et.shape.attrs}

    def typed_attrs(s: Schema) -> set:
        return {(t, a, str(x.type)) for t, et in s.entity_types.items() for a, x in et.shape.attrs}

    def optionality(s: Schema) -> set:
        return {(t, a, x.required) for t, et in s.entity_types.items() for a, x in et.shape.attrs}

    def edges(s: Schema) -> set:
        return {(t, p) for t, et in s.entity_types.items() for p in et.member_of}

    def envs(s: Schema) -> set:
        return set(s.environments())

    def context(s: Schema) -> set:
        return {(uid, a) for uid, act in s.actions.items() for a, _ in act.context.attrs}

    figures = {"entity types": (set(real.entity_types), set(inferred.entity_types)),
               "attributes": (attrs(real), attrs(inferred)),
               "attribute types": (typed_attrs(real), typed_attrs(inferred)),
               "attribute optionality": (optionality(real), optionality(inferred)),
               "actions": (set(real.actions), set(inferred.actions)),
               "environments": (envs(real), envs(inferred)),
               "context attributes": (context(real), context(inferred)),
               "memberOf edges": (edges(real), edges(inferred))}
    return {k: (len(r & i), len(r), len(i)) for k, (r, i) in figures.items()}


# --------------------------------------------------------------------------
# The checks


@pytest.fixture(scope="module")
def examples() -> list[Case]:
    return example_cases()


@pytest.mark.parametrize("mode", MODES)
def test_every_example_app_validates_under_its_inferred_schema(examples, mode):
    failures = []
    for case in examples:
        outcome = measure(case, mode)
        assert outcome is not None, case.name
        if not (outcome.accepted and outcome.valid_ours and outcome.valid_cedar):
            failures.append(f"{case.name}: {outcome.problem}")
    assert not failures, failures


def test_example_requests_are_accepted_given_the_data(examples):
    rejected = []
    for case in examples:
        outcome = measure(case, "+entities+requests")
        if outcome.requests_accepted != outcome.requests:
            rejected.append(f"{case.name}: {outcome.requests - outcome.requests_accepted} of {outcome.requests}")
    assert not rejected, rejected


def _check_corpus(every: int) -> None:
    failures, checked = [], 0
    for case in corpus_cases(every):
        for mode in ("policies", "+entities+requests"):
            outcome = measure(case, mode)
            if outcome is None:
                continue
            checked += 1
            if not outcome.accepted or (outcome.valid_real and not (outcome.valid_ours and outcome.valid_cedar)):
                failures.append(f"{case.name} ({mode}): {outcome.problem}")
            elif mode != "policies" and outcome.valid_real and outcome.requests_accepted != outcome.requests:
                failures.append(f"{case.name} ({mode}): {outcome.requests - outcome.requests_accepted} "
                                f"of {outcome.requests} requests rejected")
    assert checked > 0
    assert not failures, f"{len(failures)} of {checked}: {failures[:5]}"


def test_corpus_sample_validates_under_inferred_schemas():
    _check_corpus(SAMPLE_EVERY)


@pytest.mark.slow
def test_every_corpus_test_validates_under_its_inferred_schema():
    _check_corpus(1)


# --------------------------------------------------------------------------
# The table


def _report(title: str, cases: list[Case]) -> None:
    for mode in MODES:
        totals: dict[str, list[int]] = {}
        counts = {"sets": 0, "accepted": 0, "valid under the real schema": 0, "valid (ours)": 0,
                  "valid (cedarpy)": 0, "valid (ours) of those valid under the real schema": 0}
        requests = [0, 0]
        for case in cases:
            outcome = measure(case, mode)
            if outcome is None:
                continue
            counts["sets"] += 1
            counts["accepted"] += outcome.accepted
            counts["valid (ours)"] += outcome.valid_ours
            counts["valid (cedarpy)"] += outcome.valid_cedar
            counts["valid under the real schema"] += outcome.valid_real
            counts["valid (ours) of those valid under the real schema"] += outcome.valid_real and outcome.valid_ours
            requests[0] += outcome.requests_accepted
            requests[1] += outcome.requests
            for k, v in outcome.closeness.items():
                totals.setdefault(k, [0, 0, 0])
                totals[k] = [a + b for a, b in zip(totals[k], v, strict=True)]
        print(f"\n{title}, inferred from {mode}:")
        print("  " + ", ".join(f"{k} {v}/{counts['sets']}" for k, v in counts.items() if k != "sets"))
        print(f"  requests accepted: {requests[0]}/{requests[1]}")
        for k, (found, real, inferred) in totals.items():
            recall = f"{100 * found / real:.1f}%" if real else "-"
            precision = f"{100 * found / inferred:.1f}%" if inferred else "-"
            print(f"  {k:21} recall {recall:>7} ({found}/{real})  precision {precision:>7} ({found}/{inferred})")


if __name__ == "__main__":
    _report("cedar-examples", example_cases())
    _report("corpus tests", list(corpus_cases()))
