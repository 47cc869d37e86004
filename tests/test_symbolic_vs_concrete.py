"""Symbolic vs concrete on the shared corpus.

For every corpus request whose inputs conform to the schema, pinning the
symbolic request and store to it must make each policy's `satisfied` and
`errors` formulas (and `allows` for the set) take exactly the values that
lang.evaluator / lang.authorizer compute, and the pin must determine them
(no other assignment is possible).

The default run checks a deterministic sample; `-m slow` checks everything.
`python -m tests.test_symbolic_vs_concrete` prints the full figures.
"""

from __future__ import annotations

import collections
import json
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import z3

from cedarscope.encoder import Encoding, Unsupported
from cedarscope.lang.ast import PolicySet, TemplateLink
from cedarscope.lang.authorizer import is_authorized
from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.entities import parse_entities, value_from_json
from cedarscope.lang.evaluator import EvalError, satisfied
from cedarscope.lang.parser import parse_entity_uid, parse_policies
from cedarscope.lang.request import Request
from cedarscope.lang.schema import RequestEnv, parse_schema
from cedarscope.lang.template import instantiate
from cedarscope.lang.values import EntityUID
from tests.support.corpus import CORPUS


def corpus_or_skip() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared/corpus not present: {CORPUS}")
    return CORPUS


@dataclass
class Case:
    name: str
    schema: str
    policies: str
    entities: object
    requests: list  # each {"principal", "action", "resource", "context"}
    links: list = field(default_factory=list)


def _uid(x) -> EntityUID:
    if isinstance(x, str):
        return parse_entity_uid(x)
    return EntityUID(x["type"], x["id"])


def integration_cases(root: Path) -> Iterator[Case]:
    base = root / "integration-tests"
    for p in sorted((base / "tests").rglob("*.json")):
        t = json.loads(p.read_text())
        yield Case(str(p.relative_to(root)), (base / t["schema"]).read_text(),
                   (base / t["policies"]).read_text(), json.loads((base / t["entities"]).read_text()),
                   t["requests"])


def generated_cases(root: Path) -> Iterator[Case]:
    """The fuzzer-generated tests, read in one pass over the archive (a
    gzipped tar is slow to seek in)."""
    with tarfile.open(root / "integration-tests" / "corpus-tests.tar.gz") as tar:
        files = {m.name: tar.extractfile(m).read().decode() for m in tar if m.isfile()}
    for name in sorted(n for n in files if n.endswith(".json") and not n.endswith(".entities.json")):
        t = json.loads(files[name])
        yield Case(name, files[t["schema"]], files[t["policies"]], json.loads(files[t["entities"]]),
                   t["requests"])


def example_cases(root: Path) -> Iterator[Case]:
    for folder in sorted({p.parent for p in (root / "cedar-examples").rglob("ALLOW")}):
        schemas = sorted(folder.glob("*.cedarschema"))
        policies = sorted(p for p in folder.glob("*.cedar"))
        ents = sorted(folder.glob("*entities.json"))
        if len(schemas) != 1 or len(policies) != 1 or len(ents) != 1:
            continue
        reqs = [json.loads(p.read_text()) for d in ("ALLOW", "DENY") for p in sorted((folder / d).glob("*.json"))]
        links = json.loads((folder / "linked").read_text()) if (folder / "linked").exists() else []
        yield Case(str(folder.relative_to(root)), schemas[0].read_text(), policies[0].read_text(),
                   json.loads(ents[0].read_text()), reqs, links)


def all_cases(root: Path) -> Iterator[Case]:
    yield from integration_cases(root)
    yield from example_cases(root)
    yield from generated_cases(root)


@dataclass
class Stats:
    cases: int = 0
    requests: int = 0
    nonconforming: int = 0
    checks: int = 0  # (request, policy) pairs compared
    agree: int = 0
    unsupported: collections.Counter = field(default_factory=collections.Counter)
    failures: list = field(default_factory=list)
    seconds: float = 0.0


def _request(r: dict, schema) -> Request | None:
    action = _uid(r["action"])
    adef = schema.actions.get(action)
    if adef is None:
        return None
    ctx = value_from_json(r.get("context", {}), adef.context, "context", schema=schema)
    return Request(_uid(r["principal"]), action, _uid(r["resource"]), ctx)


def _concrete(policy, request, entities) -> tuple[bool, bool]:
    try:
        return satisfied(policy, request, entities), False
    except EvalError:
        return False, True


def check_case(case: Case, stats: Stats) -> None:
    """Compare symbolic and concrete answers for every conforming request."""
    start = time.perf_counter()
    stats.cases += 1
    try:
        schema = parse_schema(case.schema)
        ps = parse_policies(case.policies)
        if case.links:
            ps = PolicySet(ps.policies, tuple(
                TemplateLink(link["template_id"], link["link_id"],
                             tuple(sorted((k, _uid(v)) for k, v in link["args"].items())))
                for link in case.links))
        entities = parse_entities(case.entities, schema=schema)
    except CedarError:
        stats.nonconforming += len(case.requests)
        stats.requests += len(case.requests)
        return
    envs = set(schema.environments())
    encodings: dict[RequestEnv, Encoding] = {}
    for r in case.requests:
        stats.requests += 1
        try:
            request = _request(r, schema)
        except CedarError:
            request = None
        env = request and RequestEnv(request.principal.type, request.action, request.resource.type)
        if request is None or env not in envs:
            stats.nonconforming += 1
            continue
        try:
            enc = encodings.get(env) or encodings.setdefault(env, Encoding(schema, env))
            _check_request(case, enc, ps, request, entities, stats)
        except Unsupported as e:
            stats.unsupported[str(e)] += 1
    stats.seconds += time.perf_counter() - start


def _check_request(case, enc, ps, request, entities, stats) -> None:
    insts = instantiate(ps)
    formulas = []
    for i in insts:
        formulas.append((i.id, enc.satisfied(i.policy), enc.errors(i.policy),
                         *_concrete(i.policy, request, entities)))
    allow = enc.allows([i.policy for i in insts])
    expected_allow = is_authorized(request, entities, ps).decision == "allow"
    s = z3.Solver()
    s.add(enc.pin(request, entities))
    if s.check() != z3.sat:
        stats.failures.append((case.name, str(request), "pin is unsatisfiable"))
        return
    m = s.model()
    differ = []
    for pid, sat_f, err_f, want_sat, want_err in formulas:
        stats.checks += 1
        got = (value_in(s, m, sat_f), value_in(s, m, err_f))
        if got == (want_sat, want_err):
            stats.agree += 1
        else:
            stats.failures.append((case.name, str(request), pid, got, (want_sat, want_err)))
        differ += [sat_f != z3.BoolVal(got[0]), err_f != z3.BoolVal(got[1])]
    differ.append(allow != z3.BoolVal(expected_allow))
    s.add(z3.Or(differ))
    if s.check() != z3.unsat:
        stats.failures.append((case.name, str(request), "pin does not determine the answers"))


def value_in(s: z3.Solver, m: z3.ModelRef, f: z3.BoolRef) -> bool:
    """f's value under the pinned inputs.  Z3's model evaluation does not
    always reduce equalities between array values, so when it leaves a term,
    ask the solver (the caller then checks the pin determines the value)."""
    v = m.eval(f, model_completion=True)
    if z3.is_true(v) or z3.is_false(v):
        return z3.is_true(v)
    return s.check(f) == z3.sat


def constructs(node, counts: collections.Counter) -> None:
    """Count the Cedar constructs in an AST (operators and methods by name)."""
    import dataclasses

    from cedarscope.lang import ast

    if isinstance(node, (list, tuple)):
        for x in node:
            constructs(x, counts)
        return
    if not dataclasses.is_dataclass(node) or isinstance(node, ast.Span):
        return
    name = type(node).__name__
    if isinstance(node, ast.BinaryOp):
        name = f"BinaryOp {node.op}"
    elif isinstance(node, (ast.MethodCall, ast.ExtFun)):
        name = f"{name} {node.name}"
    elif isinstance(node, ast.Has) and len(node.attrs) > 1:
        name = "Has (path)"
    elif isinstance(node, ast.Is) and node.in_expr is not None:
        name = "Is ... in"
    counts[name] += 1
    for f in dataclasses.fields(node):
        if f.name != "span":
            constructs(getattr(node, f.name), counts)


def census(cases) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    for case in cases:
        try:
            ps = parse_policies(case.policies)
        except CedarError:
            continue
        for _, p in ps.policies:
            constructs(p, counts)
    return counts


def run(cases, every: int = 1) -> Stats:
    stats = Stats()
    for i, case in enumerate(cases):
        if i % every == 0:
            check_case(case, stats)
    return stats


def _assert_all_agree(stats: Stats) -> None:
    assert not stats.failures, stats.failures[:5]
    assert not stats.unsupported, stats.unsupported.most_common(5)
    assert stats.checks > 0


def test_integration_tests_agree():
    _assert_all_agree(run(integration_cases(corpus_or_skip())))


def test_cedar_examples_agree():
    _assert_all_agree(run(example_cases(corpus_or_skip())))


def test_generated_corpus_sample_agrees():
    _assert_all_agree(run(generated_cases(corpus_or_skip()), every=40))


@pytest.mark.slow
def test_generated_corpus_agrees():
    _assert_all_agree(run(generated_cases(corpus_or_skip())))


if __name__ == "__main__":
    import sys

    root = corpus_or_skip() if CORPUS.is_dir() else sys.exit("no corpus")
    every = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    if "--census" in sys.argv:
        for name, n in sorted(census(all_cases(root)).items()):
            print(f"{n:7d}  {name}")
        sys.exit(0)
    for label, gen in (("integration", integration_cases), ("examples", example_cases),
                       ("generated", generated_cases)):
        st = run(gen(root), every if label == "generated" else 1)
        pct = 100.0 * st.agree / st.checks if st.checks else 0.0
        print(f"{label}: cases={st.cases} requests={st.requests} nonconforming={st.nonconforming} "
              f"checks={st.checks} agree={st.agree} ({pct:.2f}%) unsupported={sum(st.unsupported.values())} "
              f"failures={len(st.failures)} time={st.seconds:.1f}s")
        for u, n in st.unsupported.most_common(10):
            print("   unsupported:", n, u)
        for f in st.failures[:10]:
            print("   FAIL:", f)


# --------------------------------------------------------------------------
# Random consistent cases (tests/generators.py): schemas, stores, requests and
# policies the corpus does not have.


def random_case_stats(seeds) -> Stats:
    import random
    import types

    from tests.generators import RandomChooser, gen_case

    stats = Stats()
    for seed in seeds:
        c = gen_case(RandomChooser(random.Random(f"encoder:{seed}")))
        schema = c.schema.model
        entities = c.entities.model().with_entities(schema.action_entities())
        ps = c.policies.model
        envs = set(schema.environments())
        encodings: dict = {}
        stats.cases += 1
        for r in c.requests:
            request = r.model()
            stats.requests += 1
            env = RequestEnv(request.principal.type, request.action, request.resource.type)
            if env not in envs:
                stats.nonconforming += 1
                continue
            try:
                enc = encodings.get(env) or encodings.setdefault(env, Encoding(schema, env))
                _check_request(types.SimpleNamespace(name=f"seed {seed}"), enc, ps, request, entities, stats)
            except Unsupported as e:
                stats.unsupported[str(e)] += 1
    return stats


def test_random_cases_agree():
    _assert_all_agree(random_case_stats(range(25)))


@pytest.mark.slow
def test_many_random_cases_agree():
    _assert_all_agree(random_case_stats(range(1000)))
