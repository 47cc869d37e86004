"""Every corpus policy set round-trips through Cedar's JSON policy format:
text -> JSON (written by cedarpy, the official engine) -> read by cedarscope
-> `equivalent` to the text, proved by the solver.

The corpus walk is tests/test_est_corpus.py's.  A set is checked under its
own schema (each corpus test names one; a cedar-examples folder holds one),
else under the schema inferred from its policies, when its policies pass
strict validation under that schema (analysis answers only about valid
policies; many corpus tests are deliberately invalid).  Reading back is also
checked structurally for every set: what we read, written again as JSON,
is exactly what Cedar wrote, and the same policy our parser reads from the
text.  The default run proves equivalence for every 20th set and every set
outside the corpus-tests archive; `-m slow` proves it for all.
"""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

import tests.test_est_corpus as est_corpus
from cedarscope.analyzer.checks import relation
from cedarscope.analyzer.solving import Options
from cedarscope.lang.est import policy_to_est
from cedarscope.lang.json_policies import parse_policy_json
from cedarscope.lang.schema import Schema, load_schema, parse_schema
from cedarscope.lang.validator import validate

if os.environ.get("CEDARSCOPE_CORPUS"):  # a worktree away from ../shared/corpus
    est_corpus.CORPUS = Path(os.environ["CEDARSCOPE_CORPUS"])
    est_corpus.CORPUS_TESTS_TAR = est_corpus.CORPUS / "integration-tests" / "corpus-tests.tar.gz"

cedarpy = pytest.importorskip("cedarpy", reason="cedarpy (the official engine) is not installed")
SAMPLE_EVERY = 20


def round_trip_sets():
    """(name, text, our parse of the text, our read of Cedar's JSON of it),
    for every corpus set both Cedar and we accept."""
    out = []
    for name, text, ps in est_corpus.corpus_policy_sets():
        if ps is None:
            continue
        try:
            cedar_json = cedarpy.policies_to_json_str(text)
        except Exception:  # noqa: BLE001 - Cedar rejects it too (test_est_corpus checks they agree)
            continue
        out.append((name, text, ps, parse_policy_json(cedar_json, f"{name}.json"), cedar_json))
    return out


def test_every_corpus_set_reads_back_as_written():
    sets = round_trip_sets()
    mismatches = []
    for name, _, ps, back, cedar_json in sets:
        theirs = json.loads(cedar_json)
        written = {**theirs["templates"], **theirs["staticPolicies"]}
        if {pid: policy_to_est(p) for pid, p in back.policies} != written:
            mismatches.append(f"{name}: not what Cedar wrote")
        # cedarpy names policies policyN by position, static and templates apart
        for template in (False, True):
            ours = [policy_to_est(p) for _, p in ps.policies if p.is_template == template]
            read = [policy_to_est(back.get(f"policy{i}")) for i in range(len(ps.policies))
                    if back.get(f"policy{i}") is not None and back.get(f"policy{i}").is_template == template]
            if ours != read:
                mismatches.append(f"{name}: not the policies of the text")
    print(f"JSON read back: {len(sets) - len(mismatches)}/{len(sets)} policy sets")
    assert len(sets) > 4000
    assert not mismatches, mismatches[:10]


def schema_for(name: str, ps) -> tuple[Schema, str]:
    """The set's own schema, else the one inferred from its policies."""
    if name.startswith("corpus-tests/"):
        with tarfile.open(est_corpus.CORPUS_TESTS_TAR) as tar:
            member = tar.extractfile(name[: -len(".cedar")] + ".cedarschema")
            return parse_schema(member.read().decode("utf-8"), name), "own"
    folder = (est_corpus.CORPUS / name).parent
    schemas = sorted(folder.glob("*.cedarschema")) + sorted(folder.glob("*.cedarschema.json"))
    if schemas:
        try:
            return load_schema(schemas[0]), "own"
        except Exception:  # noqa: BLE001 - a schema of another Cedar version: infer instead
            pass
    from cedarscope.lang.infer import infer_schema

    return infer_schema(ps).schema, "inferred"


def _prove(every: int) -> None:
    counts = {"holds": 0, "unknown": 0, "violated": 0, "skipped": 0, "invalid under the schema": 0}
    under = {"own": 0, "inferred": 0}
    failures = []
    for i, (name, _, ps, back, _) in enumerate(round_trip_sets()):
        if i % every and name.startswith("corpus-tests/"):
            continue
        try:
            schema, which = schema_for(name, ps)
        except Exception:  # noqa: BLE001 - a corpus schema we reject (a test of bad schemas)
            counts["skipped"] += 1
            continue
        if validate(ps, schema):  # analysis answers only about valid policies; the structural test covers these
            counts["invalid under the schema"] += 1
            continue
        report = relation("equivalent", schema, ps, back, Options(timeout_seconds=30.0))
        counts[report.result.value] += 1
        under[which] += 1
        if report.result.value != "holds":
            failures.append(f"{name}: {report.result.value} {[f.message for f in report.findings][:1]}")
    print(f"JSON round trip equivalent: {counts}, schemas {under}")
    assert counts["holds"] > 0
    assert not failures, failures[:10]


def test_round_trip_is_equivalent_on_a_corpus_sample():
    _prove(SAMPLE_EVERY)


@pytest.mark.slow
def test_round_trip_is_equivalent_on_every_corpus_set():
    _prove(1)
