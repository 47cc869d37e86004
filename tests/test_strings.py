"""`like` in the encoder: native string predicates, the automata, and the
lazy solver, each against Cedar's meaning (the evaluator's `like`).

The two reproductions from issue 13 come first: two patterns on one string
that the regular-expression encoding left unknown.
"""

from __future__ import annotations

import itertools

import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cedarscope.analyzer.properties import ask
from cedarscope.analyzer.queries import Options
from cedarscope.encoder.globs import EMPTY, Glob, realize, search
from cedarscope.encoder.solver import Solver
from cedarscope.encoder.strings import LikeAtom, like, like_regex, string_of, string_val
from cedarscope.lang.ast import WILDCARD
from cedarscope.lang.evaluator import like_regex as cedar_like
from cedarscope.lang.parser import parse_policies, parse_policy, unescape_pattern
from cedarscope.lang.schema import parse_schema
from cedarscope.reports.findings import Verdict


def matches(s: str, pattern: tuple) -> bool:
    """Cedar's meaning: the evaluator's `like`."""
    return cedar_like(pattern).fullmatch(s) is not None


def pat(text: str) -> tuple:
    return unescape_pattern(text)


# --------------------------------------------------------------------------
# The reproductions (issue 13)

SHELL_SCHEMA = """
entity User;
action shell appliesTo { principal: User, resource: User, context: { command: String } };
"""


def test_two_pattern_question_is_decided_with_a_replayed_example():
    schema = parse_schema(SHELL_SCHEMA, "s.cedarschema")
    policies = parse_policies('permit (principal, action == Action::"shell", resource) '
                              'when { context.command like "ls *" };', "p.cedar")
    question = parse_policy('permit(principal, action == Action::"shell", resource) '
                            'when { context.command like "*rm *" };', "<question>")
    report = ask(schema, policies, question, Options(timeout_seconds=5))
    assert report.result == Verdict.VIOLATED  # yes: such a command is allowed
    (finding,) = report.findings
    command = finding.counterexample.request.context["command"]
    assert matches(command, pat("ls *")) and matches(command, pat("*rm *"))


def test_forbidden_pattern_is_never_allowed():
    schema = parse_schema(SHELL_SCHEMA, "s.cedarschema")
    policies = parse_policies('permit (principal, action == Action::"shell", resource);\n'
                              'forbid (principal, action, resource) when { context.command like "*rm -rf*" };',
                              "p.cedar")
    question = parse_policy('permit(principal, action == Action::"shell", resource) '
                            'when { context.command like "sudo *rm -rf /*" };', "<question>")
    report = ask(schema, policies, question, Options(timeout_seconds=5))
    assert report.result == Verdict.HOLDS and not report.findings


@pytest.mark.parametrize("make_solver", [lambda: z3.Solver(), lambda: Solver({})],
                         ids=["plain z3", "lazy solver"])
def test_prefix_against_contains_is_decided(make_solver):
    """Plain Z3 gave up on `"a*"` against `"*bb*"` as regular expressions;
    as native predicates it decides them outright."""
    x = z3.String("x")
    s = make_solver()
    s.set("timeout", 5000)
    s.add(like(x, pat("a*")), like(x, pat("*bb*")))
    assert s.check() == z3.sat
    value = string_of(s.model().eval(x))
    assert matches(value, pat("a*")) and matches(value, pat("*bb*"))


# --------------------------------------------------------------------------
# The native encoding is Cedar's `like`

# Characters that exercise the encoding: plain ones, the escaped star, a
# backslash, one below and one above Z3's alphabet end (U+2FFFF: written as a
# surrogate pair), and a control character.
CHARS = ["a", "b", "*", "\\", "\U0001F600", "\U000E0100", "\n"]
texts = st.text(alphabet=st.sampled_from(CHARS), max_size=6)
patterns = st.lists(st.one_of(st.just(WILDCARD), st.text(alphabet=st.sampled_from(CHARS), min_size=1, max_size=3)),
                    max_size=5).map(tuple)


@settings(max_examples=400, deadline=None)
@given(texts, patterns)
def test_native_like_is_cedar_like_on_every_string(s, pattern):
    assert z3.is_true(z3.simplify(like(string_val(s), pattern))) == matches(s, pattern)


@settings(max_examples=400, deadline=None)
@given(texts, patterns)
def test_automaton_is_cedar_like(s, pattern):
    assert Glob(pattern).matches(s) == matches(s, pattern)


SMALL = st.lists(st.one_of(st.just(WILDCARD), st.text(alphabet="ab", min_size=1, max_size=3)),
                 max_size=4).map(tuple)

# Z3 strings, not only Cedar ones: "\\u{d800}" is a lone surrogate, which no
# Cedar string holds but a Z3 model may.
Z3_CHARS = ["a", "b", "\\u{d800}", "\\u{dc00}"]


@settings(max_examples=100, deadline=None)
@given(SMALL)
def test_native_like_equals_the_regular_expression_on_z3_strings(pattern):
    """On every Z3 string of up to 4 characters over a, b and two lone
    surrogates, the native encoding and the regular expression agree.  (Z3
    itself cannot prove the two equivalent: even `Contains(x, "a")` against
    `.*a.*` with |x| <= 6 comes back unknown.)"""
    for n in range(5):
        for chars in itertools.product(Z3_CHARS, repeat=n):
            s = z3.StringVal("".join(chars))
            assert z3.is_true(z3.simplify(like(s, pattern))) == z3.is_true(z3.simplify(like_regex(s, pattern)))


# --------------------------------------------------------------------------
# The automata: witnesses are real, emptiness is real


def _strings(alphabet: str, up_to: int):
    for n in range(up_to + 1):
        for t in itertools.product(alphabet, repeat=n):
            yield "".join(t)


@settings(max_examples=150, deadline=None)
@given(st.lists(SMALL, max_size=2), st.lists(SMALL, max_size=4))
def test_realize_finds_a_string_or_a_true_conflict(required, avoided):
    found = realize([Glob(p) for p in required], [Glob(p) for p in avoided])
    if found.witness is not None:
        assert all(matches(found.witness, p) for p in required)
        assert not any(matches(found.witness, p) for p in avoided)
    else:
        rs, avs = found.conflict
        core_req, core_avo = [required[i] for i in rs], [avoided[j] for j in avs]
        # no string up to a length past every pattern's pieces satisfies the core
        for s in _strings("abc", 7):
            assert not (all(matches(s, p) for p in core_req) and not any(matches(s, p) for p in core_avo))


def test_search_budget_gives_up_rather_than_guess():
    required = [Glob(pat("*a*b*a*b*"))]
    avoided = [Glob(pat(f"*{'a' * n}*")) for n in range(2, 5)]
    assert search(required, avoided, budget=2) is None
    assert search(required, avoided, budget=10_000) == "abab"
    assert search([Glob(pat("a*"))], [Glob(pat("*"))], budget=10) == EMPTY


# --------------------------------------------------------------------------
# The lazy solver: the same answers as the regular expressions, sooner


def _lazy(x, required, avoided):
    atoms = {}

    def atom(p):
        a = LikeAtom(x, p, like(x, p))
        atoms[a.formula.get_id()] = a
        return a.formula

    s = Solver(atoms, 10_000)
    s.add(*[atom(p) for p in required], *[z3.Not(atom(p)) for p in avoided])
    return s


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SMALL, min_size=1, max_size=2), st.lists(SMALL, max_size=4))
def test_lazy_solver_agrees_with_cedar(required, avoided):
    x = z3.String("x")
    s = _lazy(x, required, avoided)
    status = s.check()
    assert status != z3.unknown
    if status == z3.sat:
        value = string_of(s.model().eval(x))
        assert all(matches(value, p) for p in required) and not any(matches(value, p) for p in avoided)
    else:  # the regular-expression encoding proves it too
        plain = z3.Solver()
        plain.set("timeout", 10_000)
        plain.add(*[like_regex(x, p) for p in required], *[z3.Not(like_regex(x, p)) for p in avoided])
        assert plain.check() in (z3.unsat, z3.unknown)  # never a model the lazy solver missed


def test_lazy_solver_many_forbidden_patterns():
    """Hundreds of avoided patterns on one string: a witness, and a proof when
    one avoided pattern covers the required one."""
    words = [f"w{i}x" for i in range(300)]
    x = z3.String("x")
    s = _lazy(x, [pat("*curl*"), pat("*| sh*")], [pat(f"*{w}*") for w in words] + [pat("*curl*| sh*")])
    assert s.check() == z3.sat
    value = string_of(s.model().eval(x))
    assert "curl" in value and "| sh" in value and value.index("| sh") < value.index("curl")
    s = _lazy(x, [pat("*rm -rf /*")], [pat(f"*{w}*") for w in words] + [pat("*rm -rf*")])
    assert s.check() == z3.unsat


def test_lazy_solver_strings_tied_by_other_constraints():
    """Two strings the formula makes equal: the automata's strings for each
    conflict, and their tests fall back to Z3, which finds one string."""
    a, b = z3.String("a"), z3.String("b")
    atoms = {}

    def atom(x, text):
        t = LikeAtom(x, pat(text), like(x, pat(text)))
        atoms[t.formula.get_id()] = t
        return t.formula

    s = Solver(atoms, 10_000)
    s.add(atom(a, "x*"), atom(b, "*y"), z3.Not(atom(a, "*z*")), a == b)
    assert s.check() == z3.sat
    m = s.model()
    value = string_of(m.eval(a))
    assert value == string_of(m.eval(b)) and value.startswith("x") and value.endswith("y") and "z" not in value
    s.add(atom(b, "*z*"))
    assert s.check() == z3.unsat


def test_lazy_solver_assumptions_and_scopes():
    """An assumption that no witness meets makes `check` inconclusive, never
    unsat; push and pop keep the abstraction exact."""
    x = z3.String("x")
    short = z3.Bool("short")
    s = _lazy(x, [pat("*abcdefgh*")], [])
    s.add(z3.Implies(short, z3.Length(x) <= 4))
    assert s.check(short) in (z3.unsat, z3.unknown)
    assert s.check() == z3.sat
    s.push()
    s.add(x == z3.StringVal("abcdefg"))
    assert s.check() == z3.unsat
    s.pop()
    assert s.check() == z3.sat


# --------------------------------------------------------------------------
# A guardrail-style store (bench/guardrails.py): every question decided, with
# the answer the store was built to give


def test_guardrail_store_questions_are_decided():
    from bench.guardrails import QUESTIONS, generate

    store = generate(150, seed=1)
    schema = parse_schema(store.schema, "guardrails.cedarschema")
    policies = parse_policies(store.policies, "guardrails.cedar")
    answers = {}
    for q in QUESTIONS:
        report = ask(schema, policies, parse_policy(q.cedar, "<question>"), Options(timeout_seconds=20))
        answers[q.text] = {Verdict.HOLDS: "never", Verdict.VIOLATED: "yes"}.get(report.result, "unknown")
    assert answers == {q.text: q.answer for q in QUESTIONS}


def test_string_searches_count_their_work():
    """The states a `like` search explores are charged to the query's work
    budget (they are Python's work, which Z3's resource count misses)."""
    from cedarscope.analyzer.solving import UNITS_PER_STRING_STATE, EnvSolver, Options
    from cedarscope.encoder import Encoding
    from cedarscope.encoder.globs import Effort
    from cedarscope.lang.schema import parse_schema

    effort = Effort()
    assert realize([Glob(pat("*ab*")), Glob(pat("*ba*"))], [Glob(pat("*aba*"))], effort=effort).witness == "bab"
    assert effort.states > 0
    schema = parse_schema("entity U; action a appliesTo { principal: U, resource: U, context: { s: String } };")
    solver = EnvSolver(Encoding(schema, schema.environments()[0]), Options())
    before = solver._work_done()
    solver.solver.effort.states += 10
    assert solver._work_done() - before == 10 * UNITS_PER_STRING_STATE
