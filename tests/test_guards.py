"""analyzer.guards: the Cedar text that says "this evaluates without error"
is exact, for every store (checked by the solver on the encoding, without
its well-formedness assumptions), and never errors itself."""

from __future__ import annotations

import pytest
import z3

from cedarscope.analyzer.guards import conjunction, defined, difference_fits, product_fits, sum_fits
from cedarscope.encoder import Encoding
from cedarscope.lang.parser import parse_expr
from cedarscope.lang.schema import RequestEnv, parse_schema
from cedarscope.lang.values import EntityUID

SCHEMA = parse_schema("""
entity Team;
entity User in [Team] { level: Long, boss?: User, nick?: String, joined: datetime, tags: Set<String> };
entity Doc { owner: User, size: Long } tags Long;
action view appliesTo { principal: User, resource: Doc,
                        context: { n: Long, when: datetime, wait: duration, ok?: Bool } };
""")
ENV = RequestEnv("User", EntityUID("Action", "view"), "Doc")

EXPRESSIONS = [
    "principal.level + 1 > 5",
    "principal.level + context.n > 0",
    "principal.level - context.n < 0",
    "context.n - principal.level < 0",
    "-principal.level < 0",
    "principal.level * 3 > 7",
    "principal.level * -2 > 7",
    "principal.boss.level > 3",
    "principal.boss.nick like \"a*\"",
    "resource.owner.level == principal.level",
    "resource.getTag(\"rank\") > 2",
    "context.ok",
    "context.when.offset(context.wait) > principal.joined",
    "context.when.durationSince(principal.joined) > duration(\"1h\")",
    "context.when.toDate() == principal.joined",
    "principal.tags.contains(principal.nick)",
    "principal is User in resource.owner.boss",
    "decimal(\"1.5\").lessThan(decimal(\"2.0\"))",
]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_the_guard_holds_exactly_when_the_expression_does_not_error(text):
    enc = Encoding(SCHEMA, ENV)
    e = parse_expr(text)
    pieces = defined(e)
    assert pieces is not None
    term, guard = enc.compiler.expr(e), enc.compiler.expr(conjunction(pieces))
    solver = z3.Solver()
    # never errors, and true exactly where `e` evaluates without error
    solver.add(z3.Or(guard.err, z3.And(z3.Not(guard.err), guard.val) != z3.Not(term.err)))
    assert solver.check() == z3.unsat, text


def test_no_guard_for_a_product_of_two_unknowns():
    assert defined(parse_expr("principal.level * context.n > 0")) is None
    assert defined(parse_expr("decimal(principal.nick) == decimal(\"1.0\")")) is None


def test_bounds_against_python_arithmetic():
    """The literal bounds say exactly when 64-bit arithmetic overflows."""
    lo, hi = -(2**63), 2**63 - 1
    for k in (1, 2, 3, 7, -1, -2, -7, 2**62, -(2**62), hi, lo):
        for x in (lo, lo + 1, -5, 0, 5, hi - 1, hi, hi // 2, lo // 2, hi // abs(k), lo // abs(k)):
            fits = product_fits(parse_expr("context.n"), k)
            expected = lo <= x * k <= hi
            assert _holds(fits, x) == expected, (x, k)
            if k not in (lo,):
                assert _holds(sum_fits(parse_expr("context.n"), parse_expr(str(k))), x) == (lo <= x + k <= hi)
                assert _holds(difference_fits(parse_expr("context.n"), parse_expr(str(k))), x) == (lo <= x - k <= hi)


def _holds(guard, x: int) -> bool:
    """The guard (an expression over `context.n`), evaluated with n = x."""
    if guard is None:
        return True
    from cedarscope.lang.entities import Entities
    from cedarscope.lang.evaluator import evaluate
    from cedarscope.lang.request import Request
    from cedarscope.lang.values import CedarRecord

    request = Request(EntityUID("User", "a"), EntityUID("Action", "view"), EntityUID("Doc", "d"),
                      CedarRecord({"n": x}))
    return evaluate(guard, request, Entities()) is True
