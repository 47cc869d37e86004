"""Formulas over Cedar conditions (analyzer.formula): `normal` keeps their
meaning while it shortens them."""

from __future__ import annotations

import itertools

import pytest

from cedarscope.analyzer import formula as f
from cedarscope.lang.parser import parse_expr
from cedarscope.lang.printer import print_expr

ATOMS = ['resource == Doc::"a"', 'resource == Doc::"b"', 'principal == User::"c"']  # none can error


def value(n: f.Node, truth: dict[str, bool]) -> bool:
    """A formula's value where every atom is defined (`truth`: by its text)."""
    if isinstance(n, f.Atom):
        return truth[str(n.expr)] == n.positive
    if isinstance(n, f.All):
        return all(value(p, truth) for p in n.parts)
    if isinstance(n, f.Any):
        return any(value(p, truth) for p in n.parts)
    assert isinstance(n, f.Neg)
    return not value(n.part, truth)


@pytest.mark.parametrize("text", [
    "P || Q || R", "P && Q || R", "!(P || Q) || R", "P || !P", "(P || Q) && (Q || R) || !R", "if P then Q else R || P",
])
def test_normal_keeps_the_meaning(text):
    expr = parse_expr(text.replace("P", f"({ATOMS[0]})").replace("Q", f"({ATOMS[1]})")
                      .replace("R", f"({ATOMS[2]})"))
    n = f.truth(expr)
    keys = [str(parse_expr(a)) for a in ATOMS]
    for values in itertools.product((False, True), repeat=3):
        truth = dict(zip(keys, values, strict=True))
        assert value(f.normal(n), truth) == value(n, truth), (text, values)


def test_a_chain_of_ors_does_not_repeat_its_earlier_tests():
    """``a || b || c`` reads as "a, or not a and b, or ..." (Cedar's short
    circuit); where no test can error that is just a, b or c."""
    n = f.normal(f.truth(parse_expr(" || ".join(ATOMS))))
    assert isinstance(n, f.Any) and all(isinstance(p, f.Atom) and p.positive for p in n.parts)
    assert f.normal(f.truth(parse_expr(f"{ATOMS[0]} || !({ATOMS[0]})"))) == f.TRUE


# Guarded text, against the evaluator: every store where resource may lack
# `a` or `b` (an access then errors), and principal `c`.
GUARDED = [
    "resource.a == 1 || resource.a == 2",
    "resource.a == 1 || resource.b == 2 || resource.a == 3",
    "resource has a && (resource.a == 1 || resource.a == 2 || resource.b == 1)",
    "!(resource.a == 1 || resource.a == 2) || resource.b == 3",
    "resource.a == 1 || (resource.b == 2 && resource.a == 2)",
    "(resource.a == 1 && resource.b == 1) || resource.b == 2",
]


def _stores():
    from cedarscope.lang.entities import parse_entities
    from cedarscope.lang.request import Request
    from cedarscope.lang.values import EntityUID
    request = Request(EntityUID("User", "c"), EntityUID("Action", "view"), EntityUID("Doc", "d"), {})
    choices = [None, 1, 2, 3]
    for a, b in itertools.product(choices, choices):
        attrs = {k: v for k, v in (("a", a), ("b", b)) if v is not None}
        yield request, parse_entities([{"uid": {"type": "Doc", "id": "d"}, "attrs": attrs, "parents": []}])


@pytest.mark.parametrize("text", GUARDED)
def test_guarded_text_is_true_exactly_where_the_condition_is(text):
    """What a description prints for a condition never errors and holds
    exactly where the condition evaluates to true, though it drops tests an
    earlier disjunct or conjunct already made (`x || (!x && y)` read as
    `x || y` where y's guard is x's, a `has` said once)."""
    from cedarscope.lang.evaluator import EvalError, evaluate
    e = parse_expr(text)
    printed = f.guarded(f.normal(f.truth(e)))
    again = parse_expr(print_expr(printed))  # the text a reader sees means the same
    for request, entities in _stores():
        try:
            expected = evaluate(e, request, entities) is True
        except EvalError:
            expected = False
        assert evaluate(again, request, entities) is expected, (text, print_expr(printed), entities)


def test_guarded_text_says_a_shared_guard_once():
    printed = print_expr(f.guarded(f.normal(f.truth(parse_expr("resource.a == 1 || resource.a == 2")))))
    assert printed == "resource has a && (resource.a == 1 || resource.a == 2)"
    inside = print_expr(f.guarded(f.normal(f.truth(
        parse_expr("resource has a && (resource.a == 1 || resource.b == 2)")))))
    assert inside.count("resource has a") == 1, inside


def test_a_test_that_may_error_is_kept_where_nothing_else_guards_it():
    """In ``x.a == 1 || x.b == 2`` the second disjunct holds where `x.a`
    errors, so "not x.a == 1" cannot go from it unguarded."""
    n = f.normal(f.truth(parse_expr("resource.a == 1 || resource.b == 2")))
    assert isinstance(n, f.Any) and isinstance(n.parts[1], f.All)
    assert any(isinstance(c, f.Atom) and not c.positive for c in n.parts[1].parts)
