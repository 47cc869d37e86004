"""Our policies in Cedar's JSON format agree with the official engine's, for
every policy of the corpus.

For each policy file of ../shared/corpus (the .cedar files and the policies of
integration-tests/corpus-tests.tar.gz), `policy_to_est` of our parse must
equal the JSON `cedarpy.policies_to_json_str` gives for the same text.
cedarpy names policies `policyN` by position (ignoring `@id`), so policies are
matched by position; the normalisations are listed in lang/est.py.

Also home of `corpus_policy_texts()`, the corpus walk the printer and
formatter tests share.
"""

from __future__ import annotations

import functools
import json
import tarfile
from pathlib import Path

import pytest

from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.est import expr_to_est, policy_to_est
from cedarscope.lang.parser import parse_policies
from tests.support.corpus import CORPUS

CORPUS_TESTS_TAR = CORPUS / "integration-tests" / "corpus-tests.tar.gz"

cedarpy = pytest.importorskip("cedarpy", reason="cedarpy (the official engine) is not installed")


def require_corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared/corpus not present: {CORPUS} is not a directory")
    return CORPUS


@functools.lru_cache(maxsize=1)
def corpus_policy_texts() -> tuple[tuple[str, str], ...]:
    """(name, text) of every policy file in the corpus, in a fixed order."""
    root = require_corpus()
    texts = []
    for path in sorted(root.rglob("*.cedar")):
        texts.append((str(path.relative_to(root)), path.read_text(encoding="utf-8", errors="replace")))
    if CORPUS_TESTS_TAR.is_file():
        with tarfile.open(CORPUS_TESTS_TAR) as tar:
            for member in tar:
                if member.name.endswith(".cedar"):
                    data = tar.extractfile(member).read().decode("utf-8")
                    texts.append((member.name, data))
    return tuple(texts)


@functools.lru_cache(maxsize=1)
def corpus_policy_sets() -> tuple:
    """(name, text, PolicySet or None when our parser rejects the text)."""
    out = []
    for name, text in corpus_policy_texts():
        try:
            out.append((name, text, parse_policies(text, name)))
        except CedarError:
            out.append((name, text, None))
    return tuple(out)


def cedar_est(text: str):
    """cedarpy's JSON of each policy of `text` by position, or None if Cedar rejects it."""
    try:
        j = json.loads(cedarpy.policies_to_json_str(text))
    except Exception:  # cedarpy reports a parse error as a plain ValueError
        return None
    by_id = {**j["templates"], **j["staticPolicies"]}
    return [by_id[f"policy{k}"] for k in range(len(by_id))]


def test_est_agrees_with_cedar_on_the_corpus():
    compared, disagreements, accepted_differently = 0, [], []
    for name, text, ps in corpus_policy_sets():
        theirs = cedar_est(text)
        if (ps is None) != (theirs is None):
            accepted_differently.append(name)
            continue
        if ps is None:
            continue
        assert len(theirs) == len(ps.policies), name
        for (pid, policy), est in zip(ps.policies, theirs, strict=False):
            compared += 1
            if policy_to_est(policy) != est:
                disagreements.append(f"{name}: {pid}")
    print(f"EST agreement: {compared - len(disagreements)}/{compared} policies")
    assert compared > 4000, "the corpus should hold over 4000 policies"
    assert not accepted_differently, accepted_differently[:10]
    assert not disagreements, disagreements[:10]


def _body(text: str) -> dict:
    """cedarpy's JSON of the one condition of a one-policy text."""
    (est,) = cedar_est(text)
    return est["conditions"][0]["body"]


@pytest.mark.parametrize("source", [
    'principal has a.b.c',
    'principal has "a b"',
    'principal.x like "a\\*b*c\\\\"',
    '1 != 2 && 1 > 2 && 1 >= 2',
    'principal in [User::"a", User::"b"]',
    '[1].isEmpty() && [1].contains(1) && principal.hasTag("t")',
    'ip("1.2.3.4").isInRange(ip("1.0.0.0/8"))',
    'datetime("2024-01-01").offset(duration("1h")) == datetime("2024-01-01")',
    '-(3) == -3 && --3 == 3',
    'if principal is User in Group::"g" then {a: 1, "b c": [true]} else {}',
])
def test_expression_forms_match_cedar(source):
    from cedarscope.lang.parser import parse_expr

    theirs = _body(f"permit(principal, action, resource) when {{ {source} }};")
    assert expr_to_est(parse_expr(source)) == theirs


def test_scope_forms_match_cedar():
    text = (
        '@id("t") @note permit(principal == ?principal, action in [Action::"a", Action::"b"], '
        'resource is NS::T in ?resource) when { true } unless { false };\n'
        'forbid(principal is U, action == Action::"a", resource in R::"r");\n'
        'permit(principal in ?principal, action in [Action::"only"], resource == ?resource);\n'
        'permit(principal is U in G::"g", action in Action::"g", resource);\n'
    )
    ps = parse_policies(text)
    theirs = cedar_est(text)
    assert [policy_to_est(p) for _, p in ps.policies] == theirs


def _link(template_est: dict, values: dict) -> dict:
    """A template's JSON with its slots filled, as Cedar links it."""
    out = json.loads(json.dumps(template_est))
    for var in ("principal", "resource"):
        scope = out[var]
        for holder in (scope, scope.get("in", {})):
            if "slot" in holder:
                holder["entity"] = values[holder.pop("slot")]
    return out


def test_policyset_json_is_read_by_cedar():
    """Cedar reads our policy-set JSON (links included) back as the same
    static and linked policies."""
    from hypothesis import HealthCheck, given, settings

    from cedarscope.lang.est import policyset_to_est
    from tests.ast_strategies import policy_sets

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(policy_sets())
    def check(ps):
        est = policyset_to_est(ps)
        text = cedarpy.policies_from_json_str(json.dumps(est))
        expected = list(est["staticPolicies"].values()) + [
            _link(est["templates"][link["templateId"]], link["values"]) for link in est["templateLinks"]]
        theirs = cedar_est(text) if text.strip() else []
        key = functools.partial(json.dumps, sort_keys=True)
        assert sorted(map(key, theirs)) == sorted(map(key, expected))

    check()
