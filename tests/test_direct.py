"""The direct term builders (encoder.direct) make the very terms z3py makes,
and the shortcuts built on them read terms as Z3 does.

The encoder's answers, and the examples it shows, depend on the exact terms
handed to Z3 (its search follows them), so each builder is compared node
for node with the z3py function it replaces, in the main context and in a
solver context of its own; the node-based constant test with Z3's own; and
the decoder's reading of a set's stores with evaluating each membership.
"""

from __future__ import annotations

import z3

from cedarscope.encoder import direct
from cedarscope.encoder.decode import stored_values
from cedarscope.encoder.strings import string_val
from cedarscope.encoder.terms import conjunction, disjunction, is_false, is_true, ite, negation


def _booleans(ctx: z3.Context | None = None) -> list[z3.BoolRef]:
    a, b, c = z3.Bools("a b c", ctx)
    return [a, b, c, z3.BoolVal(True, ctx), z3.BoolVal(False, ctx), z3.Not(a), z3.And(a, b), z3.Or(b, c),
            z3.Int("n", ctx) > 3, z3.BoolVal(True, ctx) == a]


def test_connectives_make_the_terms_z3py_makes():
    for ctx in (None, z3.Context()):
        bs = _booleans(ctx)
        for x in bs:
            assert direct.not_of(x).eq(z3.Not(x))
            for y in bs:
                assert direct.implies(x, y).eq(z3.Implies(x, y))
                assert direct.and_of(x, y).eq(z3.And(x, y))
                assert direct.connective(z3.Z3_mk_or, [x, y, x]).eq(z3.Or(x, y, x))
        many = bs * 2  # more operands than the cached array types cover
        assert direct.connective(z3.Z3_mk_and, many).eq(z3.And(many))


def test_if_then_else_is_z3pys_in_the_class_of_its_sort():
    for ctx in (None, z3.Context()):
        c, x, y = z3.Bools("c x y", ctx)
        one, zero = z3.BitVecVal(1, 1, ctx), z3.BitVecVal(0, 1, ctx)
        for a, b in ((x, y), (one, zero), (z3.Int("i", ctx), z3.IntVal(3, ctx))):
            made, expected = direct.ite(c, a, b), z3.If(c, a, b)
            assert made.eq(expected) and type(made) is type(expected)


def test_select_apply_const_and_declarations_are_z3pys():
    ints = z3.ArraySort(z3.IntSort(), z3.BoolSort())
    s, i = z3.Const("s", ints), z3.Int("i")
    assert direct.select(s, i).eq(z3.Select(s, i))
    for rsort in (z3.BoolSort(), ints, z3.BitVecSort(64), z3.StringSort(), z3.IntSort()):
        f = direct.declared("f#0", (i, string_val("k")), rsort)
        g = z3.Function("f#0", z3.IntSort(), z3.StringSort(), rsort)
        assert f.eq(g)
        made, expected = direct.apply(f, (i, string_val("k")), rsort), g(i, string_val("k"))
        assert made.eq(expected) and type(made) is type(expected)
        c = direct.const("c#1", rsort)
        assert c.eq(z3.Const("c#1", rsort)) and type(c) is type(z3.Const("c#1", rsort))
    v = z3.String("v")
    assert direct.short_printable(v).eq(z3.And(z3.Length(v) <= 12, z3.InRe(v, z3.Star(z3.Range(" ", "~")))))
    words = z3.Star(z3.Union(z3.Range("0", "9"), z3.Range("A", "Z"), z3.Range("a", "z")))
    assert direct.short_alphanumeric(v).eq(z3.And(z3.Length(v) <= 12, z3.InRe(v, words)))


def test_translation_is_z3pys():
    other = z3.Context()
    x, s = z3.Int("x"), z3.String("s")
    for e in [x, z3.IntVal(7), z3.BitVecVal(-3, 64), x + 1 > 2, s, string_val("ALL"), z3.Length(s),
              z3.K(z3.IntSort(), z3.BoolVal(False)), z3.Function("f", z3.IntSort(), z3.BoolSort())(x)]:
        made, expected = direct.translated(e, other), e.translate(other)
        assert made.eq(expected) and type(made) is type(expected) and made.ctx is other


def test_folding_tells_constants_as_z3_does():
    for ctx in (None, z3.Context()):
        for x in _booleans(ctx) + [z3.simplify(z3.BoolVal(True, ctx) == z3.BoolVal(True, ctx))]:
            assert is_true(x) == z3.is_true(x) and is_false(x) == z3.is_false(x)
            folded = negation(x)
            assert folded.eq(z3.Not(x)) or z3.is_true(x) or z3.is_false(x)
        a, b = z3.Bools("a b", ctx)
        t, f = z3.BoolVal(True, ctx), z3.BoolVal(False, ctx)
        assert conjunction(a, t, b).eq(z3.And(a, b)) and z3.is_false(conjunction(a, f))
        assert disjunction(f, a).eq(a) and z3.is_true(disjunction(a, t))
        assert ite(t, a, b).eq(a) and ite(f, a, b).eq(b) and ite(a, b, f).eq(z3.If(a, b, f))


def test_a_sets_stores_give_each_elements_membership():
    """stored_values, read by each element's value node, agrees with
    evaluating select(set, element) in the model, for strings and ids."""
    for sort, elems in ((z3.StringSort(), [string_val(x) for x in ("", "ALL", "a b", "é")] + [z3.String("w")]),
                        (z3.IntSort(), [z3.IntVal(n) for n in (0, 1, 7)] + [z3.Int("x")])):
        s, t = z3.Const("s", z3.ArraySort(sort, z3.BoolSort())), z3.Const("t", z3.ArraySort(sort, z3.BoolSort()))
        solver = z3.Solver()
        solver.add(s[elems[1]], z3.Not(s[elems[0]]), s[elems[-1]], elems[-1] != elems[1],
                   t == z3.Store(z3.K(sort, z3.BoolVal(True)), elems[2], z3.BoolVal(False)))
        assert solver.check() == z3.sat
        model = solver.model()
        for arr in (s, t):
            stores = stored_values(model.eval(arr, model_completion=True))
            assert stores is not None
            default, exceptions = stores
            for x in elems:
                value = model.eval(x, model_completion=True)
                expected = z3.is_true(model.eval(arr[x], model_completion=True))
                assert exceptions.get(value.as_ast().value, default) == expected


def test_truth_in_a_model_is_z3pys():
    """is_true_in says what z3.is_true of the completed evaluation says,
    for terms the model decides and terms it leaves open."""
    for ctx in (None, z3.Context()):
        a, b, c = z3.Bools("a b c", ctx)
        s = z3.Solver(ctx=ctx)
        s.add(a, z3.Not(b))  # c is left open: completion makes it false
        assert s.check() == z3.sat
        model = s.model()
        for term in [*_booleans(ctx), c, z3.Or(c, a), z3.And(c, a), z3.Not(c)]:
            assert direct.is_true_in(model, term) == z3.is_true(model.eval(term, model_completion=True))
