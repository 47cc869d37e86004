"""The parser against the official one (cedarpy) on every policy in the corpus.

For each `.cedar` file under ../shared/corpus and each policy file inside
integration-tests/corpus-tests.tar.gz: we accept exactly when cedarpy does,
and for accepted files our AST, rendered in Cedar's JSON policy format (the
EST, which `cedarpy.policies_to_json_str` produces), equals cedarpy's; for
rejected files we raise a CedarError whose diagnostics are located.

Run with ``-s`` to see the counts.
"""

from __future__ import annotations

import functools
import json
import tarfile

import pytest

from cedarscope.lang import ast as A
from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.parser import parse_policies
from tests.support.corpus import CORPUS

cedarpy = pytest.importorskip("cedarpy", reason="cedarpy (the official Cedar engine) is not installed")

TARBALL = CORPUS / "integration-tests" / "corpus-tests.tar.gz"


def corpus_policy_texts() -> list[tuple[str, str]]:
    """(name, text) of every policy file in the corpus, in a fixed order."""
    if not CORPUS.is_dir():
        pytest.skip(f"../shared/corpus not present: {CORPUS}")
    return list(_read_corpus())


@functools.lru_cache(maxsize=1)
def _read_corpus() -> tuple[tuple[str, str], ...]:
    texts = [(str(f.relative_to(CORPUS)), f.read_bytes().decode("utf-8"))
             for f in sorted(CORPUS.rglob("*.cedar")) if f.is_file()]
    if TARBALL.is_file():
        with tarfile.open(TARBALL) as tar:
            for m in sorted(tar.getmembers(), key=lambda m: m.name):
                if m.isfile() and m.name.endswith(".cedar"):
                    texts.append((m.name, tar.extractfile(m).read().decode("utf-8")))
    return tuple(texts)


# ---------------------------------------------------------------------------
# Our AST in Cedar's JSON policy format (EST), for comparison with cedarpy.


def est_uid(uid) -> dict:
    return {"type": uid.type, "id": uid.id}


_EST_BINARY = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
               "in": "in", "+": "+", "-": "-", "*": "*"}


def est_expr(e) -> dict:
    if isinstance(e, A.Lit):
        return {"Value": e.value}
    if isinstance(e, A.EntityLit):
        return {"Value": {"__entity": est_uid(e.uid)}}
    if isinstance(e, A.Var):
        return {"Var": e.name}
    if isinstance(e, A.Not):
        return {"!": {"arg": est_expr(e.arg)}}
    if isinstance(e, A.Neg):
        return {"neg": {"arg": est_expr(e.arg)}}
    if isinstance(e, A.BinaryOp):
        return {_EST_BINARY[e.op]: {"left": est_expr(e.left), "right": est_expr(e.right)}}
    if isinstance(e, A.And):
        return {"&&": {"left": est_expr(e.left), "right": est_expr(e.right)}}
    if isinstance(e, A.Or):
        return {"||": {"left": est_expr(e.left), "right": est_expr(e.right)}}
    if isinstance(e, A.If):
        return {"if-then-else": {"if": est_expr(e.cond), "then": est_expr(e.then_),
                                 "else": est_expr(e.else_)}}
    if isinstance(e, A.GetAttr):
        return {".": {"left": est_expr(e.expr), "attr": e.attr}}
    if isinstance(e, A.Has):
        return est_has(e.expr, e.attrs)
    if isinstance(e, A.Like):
        pattern = []
        for elem in e.pattern:
            if elem is A.WILDCARD:
                pattern.append("Wildcard")
            else:
                pattern.extend({"Literal": ch} for ch in elem)
        return {"like": {"left": est_expr(e.expr), "pattern": pattern}}
    if isinstance(e, A.Is):
        out = {"left": est_expr(e.expr), "entity_type": e.entity_type}
        if e.in_expr is not None:
            out["in"] = est_expr(e.in_expr)
        return {"is": out}
    if isinstance(e, A.SetLit):
        return {"Set": [est_expr(x) for x in e.elems]}
    if isinstance(e, A.RecordLit):
        return {"Record": {k: est_expr(v) for k, v in e.fields}}
    if isinstance(e, A.MethodCall):
        if e.name == "isEmpty":
            return {"isEmpty": {"arg": est_expr(e.receiver)}}
        if e.name in A.CORE_METHODS:
            return {e.name: {"left": est_expr(e.receiver), "right": est_expr(e.args[0])}}
        return {e.name: [est_expr(e.receiver)] + [est_expr(a) for a in e.args]}
    if isinstance(e, A.ExtFun):
        return {e.name: [est_expr(a) for a in e.args]}
    raise AssertionError(f"no EST form for {type(e).__name__}")


def est_has(expr, attrs) -> dict:
    """Cedar desugars ``e has a.b.c`` into ``e has a && e.a has b && e.a.b has c``."""
    out = None
    for i, attr in enumerate(attrs):
        target = expr
        for prev in attrs[:i]:
            target = A.GetAttr(target, prev)
        one = {"has": {"left": est_expr(target), "attr": attr}}
        out = one if out is None else {"&&": {"left": out, "right": one}}
    return out


def est_target(t) -> dict:
    if isinstance(t, A.Slot):
        return {"slot": t.name}
    return {"entity": est_uid(t)}


def est_scope(s) -> dict:
    if isinstance(s, A.ScopeAny):
        return {"op": "All"}
    if isinstance(s, A.ScopeEq):
        return {"op": "==", **est_target(s.target)}
    if isinstance(s, A.ScopeIn):
        return {"op": "in", **est_target(s.target)}
    if isinstance(s, A.ScopeIs):
        out = {"op": "is", "entity_type": s.entity_type}
        if s.in_target is not None:
            out["in"] = est_target(s.in_target)
        return out
    if isinstance(s, A.ActionInSet):
        # Cedar reads a one-element action list as `action in` that entity.
        if len(s.targets) == 1:
            return {"op": "in", "entity": est_uid(s.targets[0])}
        return {"op": "in", "entities": [est_uid(u) for u in s.targets]}
    raise AssertionError(f"no EST form for {type(s).__name__}")


def est_policy(p: A.Policy) -> dict:
    out = {
        "effect": p.effect,
        "principal": est_scope(p.principal),
        "action": est_scope(p.action),
        "resource": est_scope(p.resource),
        "conditions": [{"kind": c.kind, "body": est_expr(c.body)} for c in p.conditions],
    }
    if p.annotations:
        out["annotations"] = {a.name: a.value for a in p.annotations}
    return out


def cedar_est(text: str) -> list[dict]:
    """cedarpy's EST of each policy and template, in file order."""
    doc = json.loads(cedarpy.policies_to_json_str(text))
    by_id = {**doc["staticPolicies"], **doc["templates"]}
    return [by_id[f"policy{i}"] for i in range(len(by_id))]


# ---------------------------------------------------------------------------


def compare(name: str, text: str):
    """('accepted'|'rejected', problem or None) for one file."""
    try:
        official = cedar_est(text)
    except ValueError:
        official = None
    try:
        ours = parse_policies(text, name)
    except CedarError as e:
        if official is not None:
            return "accepted", f"we reject what cedarpy accepts: {e.format()}"
        if not e.diagnostics or any(d.line is None or d.column is None for d in e.diagnostics):
            return "rejected", f"unlocated diagnostic: {e}"
        return "rejected", None
    if official is None:
        return "rejected", "we accept what cedarpy rejects"
    mine = [est_policy(p) for _, p in ours.policies]
    if mine != official:
        for i, (a, b) in enumerate(zip(mine, official, strict=False)):
            if a != b:
                return "accepted", f"policy {i} differs:\n ours  {a}\n cedar {b}"
        return "accepted", f"{len(mine)} policies, cedarpy has {len(official)}"
    return "accepted", None


def test_corpus_agrees_with_cedarpy():
    texts = corpus_policy_texts()
    counts = {"accepted": 0, "rejected": 0}
    problems = []
    for name, text in texts:
        verdict, problem = compare(name, text)
        counts[verdict] += 1
        if problem:
            problems.append(f"{name}: {problem}")
    print(f"\ncorpus parse agreement: {len(texts)} files, {counts['accepted']} accepted, "
          f"{counts['rejected']} rejected by cedarpy, {len(problems)} disagreements")
    assert len(texts) > 4000, "expected the whole corpus (files and corpus-tests.tar.gz)"
    assert not problems, "\n".join(problems[:10])


# ---------------------------------------------------------------------------
# Spans: every node's span is source text that parses back to that node.


def sub_expressions(e):
    """`e` and every expression under it (iteratively: no recursion limit)."""
    todo = [e]
    while todo:
        node = todo.pop()
        yield node
        for name in node.__dataclass_fields__:
            value = getattr(node, name)
            if isinstance(value, tuple):
                for item in value:
                    if isinstance(item, tuple):  # record fields: (key, value)
                        todo.extend(x for x in item if hasattr(x, "__dataclass_fields__"))
                    elif hasattr(item, "__dataclass_fields__") and not isinstance(item, A.Span):
                        todo.append(item)
            elif hasattr(value, "__dataclass_fields__") and not isinstance(value, (A.Span, A.EntityUID)):
                todo.append(value)


def check_span(text: str, span: A.Span) -> str:
    """The text a span covers, after checking its lines and columns against
    its offsets."""
    def line_col(offset):
        return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1
    assert (span.line, span.column) == line_col(span.start), span
    assert (span.end_line, span.end_column) == line_col(span.end), span
    return text[span.start:span.end]


def test_spans_cover_the_source_of_each_node():
    from cedarscope.lang.parser import parse_expr, parse_policy
    texts = corpus_policy_texts()
    files = [t for t in texts if not t[0].startswith("corpus-tests/")]
    sample = files + texts[len(files)::4]
    checked = 0
    for name, text in sample:
        try:
            ps = parse_policies(text, name)
        except CedarError:
            continue
        for _, policy in ps.policies:
            assert parse_policy(check_span(text, policy.span)) == policy
            for cond in policy.conditions:
                check_span(text, cond.span)
                for node in sub_expressions(cond.body):
                    assert node.span.file == name
                    assert parse_expr(check_span(text, node.span)) == node, (name, node.span)
                    checked += 1
    print(f"\nspans checked: {checked} expression nodes in {len(sample)} files")
    assert checked > 5_000
