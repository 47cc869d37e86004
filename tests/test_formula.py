"""Formulas over Cedar conditions (analyzer.formula): `normal` keeps their
meaning while it shortens them."""

from __future__ import annotations

import itertools

import pytest

from cedarscope.analyzer import formula as f
from cedarscope.lang.parser import parse_expr

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
