"""diff catches mutants of real applications, and proves refactorings equivalent.

For each cedar-examples application, 20+ mutants of its policies (flip
`==`/`!=`, drop a `when` clause, swap permit/forbid, widen a scope, change a
constant, remove a policy).  For each mutant:

* if diff reports differences, every counterexample must replay under
  cedarpy with the claimed OLD/NEW decisions;
* if diff proves the versions equivalent, no request of the application's
  own ALLOW/DENY corpus may be decided differently by cedarpy (a cheap
  independent check that the proof is not vacuous).

Equivalent refactorings (reordered policies, a `when` split in two, De
Morgan, `unless` vs `when !`) must be proved equivalent.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from bench.bench_queries import APPS, app_files
from cedarscope.analyzer.checks import diff_report
from cedarscope.analyzer.confirm import linked_text
from cedarscope.analyzer.solving import Options
from cedarscope.lang.ast import (
    And,
    BinaryOp,
    Condition,
    Has,
    Is,
    Like,
    Lit,
    MethodCall,
    Not,
    Or,
    PolicySet,
    ScopeAny,
)
from cedarscope.lang.entities import entities_to_json
from cedarscope.lang.links import parse_links
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.request import request_to_json
from cedarscope.lang.schema import load_schema
from cedarscope.reports.findings import Verdict
from tests.support.corpus import CORPUS
from tests.support.engine import cedarpy_decision

pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason=f"../shared/corpus not present: {CORPUS}")
cedarpy = pytest.importorskip("cedarpy")


def _app(name):
    folder = CORPUS / APPS[name]
    policies, schema = app_files(folder)
    ps = parse_policies(policies.read_text(), str(policies))
    linked = folder / "linked"
    if linked.exists():
        ps = PolicySet(ps.policies, parse_links(linked.read_text(), str(linked)))
    return load_schema(schema), ps


# --------------------------------------------------------------------------
# Mutation operators: each yields (description, mutated PolicySet)


def _replace_policy(ps: PolicySet, index: int, policy) -> PolicySet:
    items = list(ps.policies)
    pid, _ = items[index]
    if policy is None:
        del items[index]
    else:
        items[index] = (pid, policy)
    return PolicySet(tuple(items), ps.links)


def _exprs(node, path=()):
    """Every (path, node) inside an expression, for targeted rewrites."""
    yield path, node
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            if f.name == "span":
                continue
            value = getattr(node, f.name)
            if isinstance(value, tuple):
                for i, v in enumerate(value):
                    if dataclasses.is_dataclass(v):
                        yield from _exprs(v, path + ((f.name, i),))
            elif dataclasses.is_dataclass(value):
                yield from _exprs(value, path + ((f.name, None),))


def _rewrite(node, path, new):
    if not path:
        return new
    (name, index), rest = path[0], path[1:]
    value = getattr(node, name)
    if index is None:
        return dataclasses.replace(node, **{name: _rewrite(value, rest, new)})
    items = list(value)
    items[index] = _rewrite(items[index], rest, new)
    return dataclasses.replace(node, **{name: tuple(items)})


def mutants(ps: PolicySet):
    for k, link in enumerate(ps.links):
        yield f"link {link.link_id}: remove", PolicySet(ps.policies, ps.links[:k] + ps.links[k + 1:])
        for slot, uid in link.values:
            other = dataclasses.replace(uid, id=uid.id + "_other")
            values = tuple((s, other if s == slot else u) for s, u in link.values)
            yield (f"link {link.link_id}: {slot} -> {other}",
                   PolicySet(ps.policies, ps.links[:k] + (dataclasses.replace(link, values=values),)
                             + ps.links[k + 1:]))
    for i, (pid, p) in enumerate(ps.policies):
        flipped = "forbid" if p.effect == "permit" else "permit"
        yield f"{pid}: swap effect", _replace_policy(ps, i, dataclasses.replace(p, effect=flipped))
        if not isinstance(p.action, ScopeAny):
            yield f"{pid}: widen action", _replace_policy(ps, i, dataclasses.replace(p, action=ScopeAny()))
        if p.is_template:
            continue  # its links name it: neither removed nor made static
        yield f"{pid}: remove", _replace_policy(ps, i, None)
        for var in ("principal", "resource"):
            if not isinstance(getattr(p, var), ScopeAny):
                yield f"{pid}: widen {var}", _replace_policy(ps, i, dataclasses.replace(p, **{var: ScopeAny()}))
        for c, cond in enumerate(p.conditions):
            def with_condition(new_cond, c=c, p=p, i=i):
                return _replace_policy(ps, i, dataclasses.replace(
                    p, conditions=p.conditions[:c] + (new_cond,) + p.conditions[c + 1:]))

            yield (f"{pid}: drop condition {c}",
                   _replace_policy(ps, i, dataclasses.replace(p, conditions=p.conditions[:c] + p.conditions[c + 1:])))
            yield (f"{pid}: {cond.kind} -> {'unless' if cond.kind == 'when' else 'when'} in condition {c}",
                   with_condition(dataclasses.replace(cond, kind="unless" if cond.kind == "when" else "when")))
            for n, (path, node) in enumerate(_exprs(cond.body)):
                if isinstance(node, BinaryOp) and node.op in FLIPS:
                    new = dataclasses.replace(node, op=FLIPS[node.op])
                    yield (f"{pid}: {node.op} -> {FLIPS[node.op]} at node {n} of condition {c}",
                           with_condition(dataclasses.replace(cond, body=_rewrite(cond.body, path, new))))
                elif isinstance(node, (And, Or)):
                    other = Or if isinstance(node, And) else And
                    new = other(node.left, node.right)
                    yield (f"{pid}: {type(node).__name__} -> {other.__name__} at node {n} of condition {c}",
                           with_condition(dataclasses.replace(cond, body=_rewrite(cond.body, path, new))))
                if isinstance(node, (MethodCall, Has, Like, Is)) or (
                        isinstance(node, BinaryOp) and node.op in FLIPS):
                    yield (f"{pid}: negate {type(node).__name__} at node {n} of condition {c}",
                           with_condition(dataclasses.replace(cond, body=_rewrite(cond.body, path, Not(node)))))
                if isinstance(node, Lit):
                    value = node.value
                    changed = (not value if isinstance(value, bool) else value + 1 if isinstance(value, int)
                               else value + "_x")
                    yield (f"{pid}: change constant {value!r} at node {n} of condition {c}",
                           with_condition(dataclasses.replace(cond, body=_rewrite(cond.body, path, Lit(changed)))))


FLIPS = {"==": "!=", "!=": "==", "<": "<=", "<=": "<", ">": ">=", ">=": ">"}


def _corpus_requests(name):
    folder = CORPUS / APPS[name]
    root = folder if (folder / "ALLOW").exists() else folder.parent
    entities = json.loads((root / "entities.json").read_text()) if (root / "entities.json").exists() else None
    out = []
    for d in ("ALLOW", "DENY"):
        for f in sorted((root / d).glob("*.json")) if (root / d).exists() else []:
            out.append(json.loads(f.read_text()))
    return entities, out


# Their entities do not conform to their own schemas upstream (corpus README),
# so their corpus requests are decided without one.
NO_SCHEMA = {"github_example", "document_cloud"}


def _schema_text(name):
    return app_files(CORPUS / APPS[name])[1].read_text()


def _cedarpy_decision(text, request, entities_json, schema=None):
    return cedarpy_decision(request, text, entities_json, schema)


MAX_MUTANTS = 24


def _spread(items, n):
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


@pytest.mark.parametrize("name", sorted(APPS))
def test_mutants_are_caught(name):
    _check_mutants(name, MAX_MUTANTS)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(APPS))
def test_all_mutants_are_caught(name):
    _check_mutants(name, None)


def _check_mutants(name, limit):
    schema, ps = _app(name)
    old_text = linked_text(ps)
    schema_text = _schema_text(name)
    found = list(mutants(ps))
    assert len(found) >= 20, f"only {len(found)} mutants"
    # an even spread of at most `limit` keeps the default run short;
    # `pytest -m slow` (test_all_mutants_are_caught) takes every mutant
    if limit is not None:
        found = _spread(found, limit)
    entities, requests = _corpus_requests(name)
    # a short description search: the descriptions stay exact (the structural
    # form when the search is cut), which tests/exactness.py measures at length
    options = Options(timeout_seconds=60.0, max_examples=1, describe_seconds=1.0)
    differing = equivalent = described = 0
    for description, mutant in found:
        report = diff_report(schema, ps, mutant, options)
        assert report.result.value in (Verdict.HOLDS, Verdict.VIOLATED), f"{description}: {report.stats.get('unknown')}"
        new_text = linked_text(mutant)
        if report.result.value == Verdict.VIOLATED:
            differing += 1
            for finding in report.findings:
                cx = finding.counterexample
                req = request_to_json(cx.request)
                ents = json.dumps(entities_to_json(cx.entities))
                assert _cedarpy_decision(old_text, req, ents, schema_text) == cx.decisions["old"], description
                assert _cedarpy_decision(new_text, req, ents, schema_text) == cx.decisions["new"], description
                # the change's exact description allows its example
                assert finding.description is not None, f"{description}: no description"
                described += 1
                assert _cedarpy_decision(finding.description, req, ents, schema_text) == "allow", description
        else:
            equivalent += 1
            if entities is not None:
                ents = json.dumps(entities)
                for req in requests:
                    corpus_schema = None if name in NO_SCHEMA else schema_text
                    assert (_cedarpy_decision(old_text, req, ents, corpus_schema)
                            == _cedarpy_decision(new_text, req, ents, corpus_schema)), \
                        f"{description}: proved equivalent, but cedarpy decides {req} differently"
    print(f"\n{name}: {len(found)} mutants: {differing} differ (every counterexample confirmed by "
          f"cedarpy, {described} descriptions allow theirs), {equivalent} proved equivalent "
          f"(no corpus request decided differently)")
    assert differing >= len(found) // 2, f"{name}: only {differing} of {len(found)} mutants differ"


def _refactorings(ps: PolicySet):
    items = list(ps.policies)
    yield "reordered", PolicySet(tuple(reversed(items)), ps.links)
    out = []
    for pid, p in items:
        conds = []
        for c in p.conditions:
            body = c.body
            if c.kind == "unless":
                conds.append(Condition("when", Not(body)))  # unless c == when !c
            elif isinstance(body, And):
                conds += [Condition("when", body.left), Condition("when", body.right)]  # split
            elif isinstance(body, Or):
                conds.append(Condition("when", Not(And(Not(body.left), Not(body.right)))))  # De Morgan
            else:
                conds.append(c)
        out.append((pid, dataclasses.replace(p, conditions=tuple(conds))))
    yield "split / De Morgan / unless", PolicySet(tuple(out), ps.links)


@pytest.mark.parametrize("name", sorted(APPS))
def test_refactorings_are_equivalent(name):
    schema, ps = _app(name)
    for description, refactored in _refactorings(ps):
        report = diff_report(schema, ps, refactored, Options(timeout_seconds=60.0))
        assert report.result.value == Verdict.HOLDS, f"{name}: {description}: {[f.message for f in report.findings]}"
