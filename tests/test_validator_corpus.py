"""Strict validation verdicts on the shared corpus (../shared/corpus).

- integration-tests/tests/*.json and the 3,957 generated tests in
  corpus-tests.tar.gz each name a policy file and a schema and say whether
  strict validation passes (`shouldValidate`); we must say the same.  The
  default run takes a fixed sample of the tarball (every 4th test, plus all
  hand-written tests); the full tarball runs with `-m slow`.
- Every policy file of the corpus against every schema of the corpus (both
  parsed by us and by cedarpy): we must report the same kinds of error as
  `cedarpy.validate_policies` (slow; the default run checks each example
  application's policies against its own schema).
"""

from __future__ import annotations

import json
import tarfile
from functools import lru_cache
from pathlib import Path

import pytest

from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.schema import parse_schema
from cedarscope.lang.validator import validate
from tests.support.corpus import CORPUS

TESTS = CORPUS / "integration-tests"
TARBALL = TESTS / "corpus-tests.tar.gz"
SAMPLE_STRIDE = 4


def _require_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared/corpus not present: {CORPUS}")


def verdict(policies: str, policies_name: str, schema: str, schema_name: str) -> tuple[bool, list[str]]:
    diags = validate(parse_policies(policies, policies_name), parse_schema(schema, schema_name))
    return not diags, [d.one_line() for d in diags]


# ---- hand-written integration tests ---------------------------------------------


def _handwritten() -> list[Path]:
    return sorted((TESTS / "tests").glob("*/*.json")) if TESTS.is_dir() else []


@pytest.mark.parametrize("path", _handwritten(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_handwritten_should_validate(path):
    _require_corpus()
    spec = json.loads(path.read_text())
    policies, schema = TESTS / spec["policies"], TESTS / spec["schema"]
    ok, messages = verdict(policies.read_text(), str(policies), schema.read_text(), str(schema))
    assert ok == spec["shouldValidate"], messages


# ---- the generated corpus ---------------------------------------------------------


@lru_cache(maxsize=1)
def _tarball() -> dict[str, bytes]:
    with tarfile.open(TARBALL) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _tests(files: dict[str, bytes]) -> list[str]:
    return sorted(n for n in files if n.endswith(".json") and not n.endswith(".entities.json"))


def _run_tarball(stride: int) -> tuple[int, int, list[str]]:
    _require_corpus()
    if not TARBALL.is_file():
        pytest.skip(f"../shared/corpus not present: {TARBALL} missing")
    files = _tarball()
    names = _tests(files)[::stride]
    agree, wrong = 0, []
    for name in names:
        spec = json.loads(files[name])
        ok, messages = verdict(files[spec["policies"]].decode(), spec["policies"],
                               files[spec["schema"]].decode(), spec["schema"])
        if ok == spec["shouldValidate"]:
            agree += 1
        else:
            wrong.append(f"{name}: expected shouldValidate={spec['shouldValidate']}, got {messages[:3]}")
    return agree, len(names), wrong


def test_generated_corpus_sample():
    agree, total, wrong = _run_tarball(SAMPLE_STRIDE)
    assert total > 200
    assert not wrong, f"{agree}/{total} agree\n" + "\n".join(wrong[:20])


@pytest.mark.slow
def test_generated_corpus_all():
    agree, total, wrong = _run_tarball(1)
    assert total == 3957
    assert not wrong, f"{agree}/{total} agree\n" + "\n".join(wrong[:20])


# ---- every corpus policy file against every corpus schema, versus cedarpy ------------


def _kinds(messages) -> set[str]:
    from tests.test_validator import kinds

    return kinds(messages)


def _schema_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*")
                  if p.name.endswith(".cedarschema") or p.name.endswith(".cedarschema.json"))


def _compare(policy_path: Path, schema_path: Path, policies, schema) -> list[str]:
    """Our error kinds against cedarpy's for one pair ([] when they agree)."""
    cedarpy = pytest.importorskip("cedarpy")
    result = cedarpy.validate_policies(policy_path.read_text(errors="replace"), schema_path.read_text())
    theirs = _kinds(e.error for e in result.errors)
    if any(k.startswith("other: ") for k in theirs):
        return []  # input cedarpy rejects outright (a parse error); not a validation verdict
    mine = _kinds(d.message for d in validate(policies, schema))
    return [] if mine == theirs else [f"{policy_path} x {schema_path}: ours {sorted(mine)}, cedar {sorted(theirs)}"]


def _parsed(path: Path, parse):
    try:
        return parse(path.read_text(errors="replace"), str(path))
    except CedarError:
        return None


def test_example_applications_match_cedar():
    _require_corpus()
    wrong, pairs = [], 0
    for schema_path in _schema_files():
        if "cedar-examples" not in schema_path.parts:
            continue
        schema = _parsed(schema_path, parse_schema)
        for policy_path in sorted(schema_path.parent.glob("*.cedar")):
            policies = _parsed(policy_path, parse_policies)
            if schema is None or policies is None:
                continue
            pairs += 1
            wrong += _compare(policy_path, schema_path, policies, schema)
    assert pairs >= 15
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
def test_all_policy_files_against_all_schemas_match_cedar():
    _require_corpus()
    schemas = {p: _parsed(p, parse_schema) for p in _schema_files()}
    policies = {p: _parsed(p, parse_policies) for p in sorted(CORPUS.rglob("*.cedar"))}
    wrong, pairs = [], 0
    for schema_path, schema in schemas.items():
        for policy_path, ps in policies.items():
            if schema is None or ps is None:
                continue
            pairs += 1
            wrong += _compare(policy_path, schema_path, ps, schema)
    assert pairs > 10000
    assert not wrong, f"{len(wrong)} of {pairs} pairs disagree\n" + "\n".join(wrong[:20])
