"""What the policies read, as a basis for examples that teach.

Two examples differ in a way a reader can learn from when some condition
the policies test comes out differently: another side of a `when`, a
principal in another group, a resource with another owner.  Examples that
differ only in values no condition distinguishes (another number that
passes the same comparison, another id nobody names) teach nothing new.
So the next example must change the outcome (true, false or error) of at
least one *observation*: a scope condition or an atomic condition of the
policies involved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import fields, is_dataclass
from typing import TYPE_CHECKING

import z3

from cedarscope.analyzer import formula as f
from cedarscope.encoder import Encoding, Unsupported
from cedarscope.encoder.direct import is_true_in
from cedarscope.lang import ast
from cedarscope.lang.schema import BoolType

if TYPE_CHECKING:
    from cedarscope.encoder.terms import Term


def reads(node: object, var: str) -> bool:
    """Does the expression read the request variable `var`?"""
    if isinstance(node, ast.Var):
        return node.name == var
    if isinstance(node, tuple):
        return any(reads(x, var) for x in node)
    if is_dataclass(node):
        return any(reads(getattr(node, fl.name), var) for fl in fields(node) if fl.name != "span")
    return False


def observations(policies: Iterable[ast.Policy], about: str | None = None) -> list[ast.Expr]:
    """The atomic conditions of the policies (scope conditions included),
    each once; with `about`, only those that read that request variable."""
    out: list[ast.Expr] = []
    for policy in policies:
        for atom in f.atoms(f.policy_formula(policy)):
            e = atom.expr
            if e not in out and (about is None or reads(e, about)):
                out.append(e)
    return out


def distinct_outcomes(enc: Encoding, exprs: Iterable[ast.Expr]) -> Callable[..., z3.BoolRef]:
    """For `EnvSolver.examples`: given a model (and `local`, which carries
    the encoding's terms into the model's context), what the next model
    must satisfy to differ in the outcome of at least one observation, as
    a formula of the model's context."""
    exprs = list(exprs)
    terms: list[Term] = []

    def differs(model: z3.ModelRef, local: Callable[[z3.ExprRef], z3.ExprRef] | None = None) -> z3.BoolRef:
        if not terms:  # compiled when first needed: most changes show one example
            for e in exprs:
                try:
                    t = enc.compiler.expr(e)
                except Unsupported:
                    continue
                if t.ty == BoolType():
                    terms.append(t)
        here = local or (lambda e: e)
        options = []
        for t in terms:
            err, val = here(t.err), here(t.val)
            if is_true_in(model, err):
                options.append(z3.Not(err))
            else:
                options.append(z3.Or(err, val != model.eval(val, model_completion=True)))
        return z3.Or(options) if options else z3.BoolVal(False, model.ctx)

    return differs
