"""The evaluator and the compiler name each Cedar construct alike, so one
name finds both meanings of a construct (`like` in lang/evaluator.py is
`Compiler.like` in encoder/compiler.py)."""

from __future__ import annotations

from cedarscope.encoder import compiler
from cedarscope.lang import evaluator


def test_every_expression_has_one_name_on_both_sides():
    symbolic = compiler.Compiler(None)._dispatch  # type: ignore[arg-type]  # no environment is needed to name
    assert set(symbolic) == set(evaluator._EVAL)
    for construct, concrete in evaluator._EVAL.items():
        assert symbolic[construct].__name__ == concrete.__name__, construct.__name__


def test_every_method_has_one_name_on_both_sides():
    assert set(compiler._METHODS) == set(evaluator._CORE_METHODS)
    for method, (_, concrete) in evaluator._CORE_METHODS.items():
        assert compiler._METHODS[method][2] == concrete.__name__, method
