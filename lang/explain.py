"""Why one concrete request got its decision: every policy's outcome.

For each evaluable policy (static policies and template links, in policy-set
order) the explanation says one of

* ``scope-mismatch``: the scope does not match, with the first part that
  failed (principal, action, resource: the order Cedar checks them), the
  constraint as written and the request value it saw;
* ``satisfied``: the scope matches and every condition holds;
* ``not-satisfied``: the first condition that does not hold, narrowed to the
  clause inside it that decided (the first false conjunct of a `when`, the
  first true disjunct of an `unless`), with the values its operands had;
* ``error``: evaluation errored, with Cedar's message and the innermost
  expression that raised it (so the policy is skipped);

and which policies determined the decision (the satisfied forbids on a deny,
the satisfied permits on an allow, none on default deny).

Everything here is the concrete evaluator's own verdict: the outcome comes
from `lang.evaluator` on the whole policy, and the narrowing re-evaluates
sub-expressions with the same functions, following the evaluator's order of
evaluation and short-circuiting, so the clause named is one the evaluator
really evaluated.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cedarscope.lang import ast
from cedarscope.lang.authorizer import ALLOW, DENY, Decision
from cedarscope.lang.entities import Entities
from cedarscope.lang.evaluator import EvalError, evaluate, satisfied, scope_matches
from cedarscope.lang.request import Request
from cedarscope.lang.template import PolicyInstance, instantiate
from cedarscope.lang.values import CedarSet, EntityUID

__all__ = ["Outcome", "Seen", "PolicyExplanation", "Explanation", "explain", "explain_instances",
           "explain_policy", "scope_text", "value_text"]


class Outcome(enum.StrEnum):
    """What one policy did with the request."""

    SCOPE_MISMATCH = "scope-mismatch"
    SATISFIED = "satisfied"
    NOT_SATISFIED = "not-satisfied"
    ERROR = "error"


@dataclass(frozen=True)
class Seen:
    """A value the explained clause saw: an expression (Cedar text) and its value."""

    expression: str
    value: Any


@dataclass(frozen=True)
class PolicyExplanation:
    """One policy's outcome for the request.

    `part` is ``principal``/``action``/``resource`` for a scope mismatch and
    ``when``/``unless`` for a failed or erroring condition; `clause` is the
    Cedar text of the constraint or clause that decided, `clause_span` where
    it is written, `clause_value` the value it had (for a failed condition);
    `seen` the values of its operands; `error` the evaluator's message;
    `clause_node` the clause itself (the scope constraint or expression)."""

    id: str
    effect: str
    outcome: Outcome
    policy_span: ast.Span | None = None
    part: str | None = None
    clause: str | None = None
    clause_span: ast.Span | None = None
    clause_value: Any = None
    seen: tuple[Seen, ...] = ()
    error: str | None = None
    template_id: str | None = None
    link_values: tuple[tuple[str, EntityUID], ...] = ()
    determining: bool = False
    clause_node: ast.Expr | ast.Scope | None = dataclasses.field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Explanation:
    """The decision and every policy's outcome, in policy-set order."""

    decision: Decision
    policies: tuple[PolicyExplanation, ...]

    @property
    def determining(self) -> tuple[str, ...]:
        """The ids of the policies that determined the decision (Cedar's reasons)."""
        return tuple(p.id for p in self.policies if p.determining)

    @property
    def errors(self) -> tuple[tuple[str, str], ...]:
        """(policy id, message) for each policy that errored (Cedar's errors)."""
        return tuple((p.id, p.error or "") for p in self.policies if p.outcome is Outcome.ERROR)


def explain(request: Request, entities: Entities, policyset: ast.PolicySet) -> Explanation:
    """Every evaluable policy's outcome for the request, and the decision."""
    return explain_instances(request, entities, instantiate(policyset))


def explain_instances(request: Request, entities: Entities,
                      instances: Sequence[PolicyInstance]) -> Explanation:
    """As `explain`, over already-instantiated policies."""
    outcomes = [explain_policy(instance, request, entities) for instance in instances]
    forbids = [p for p in outcomes if p.outcome is Outcome.SATISFIED and p.effect == "forbid"]
    permits = [p for p in outcomes if p.outcome is Outcome.SATISFIED and p.effect == "permit"]
    deciders = {id(p) for p in forbids or permits}
    decision = DENY if forbids or not permits else ALLOW
    marked = tuple(_with(p, determining=True) if id(p) in deciders else p for p in outcomes)
    return Explanation(decision, marked)


def _with(p: PolicyExplanation, **changes: Any) -> PolicyExplanation:
    return dataclasses.replace(p, **changes)


# --------------------------------------------------------------------------
# One policy


def explain_policy(instance: PolicyInstance, request: Request, entities: Entities) -> PolicyExplanation:
    """One policy's outcome.  The evaluator decides the outcome (`satisfied`);
    the explanation only says which part decided it."""
    policy = instance.policy
    base = PolicyExplanation(instance.id, policy.effect, Outcome.SATISFIED, policy.span,
                             template_id=instance.template_id, link_values=instance.link_values)
    try:
        applies = satisfied(policy, request, entities)
    except EvalError as err:
        return _condition_error(base, policy, request, entities, err)
    if applies:
        return base
    mismatch = _scope_mismatch(base, policy, request, entities)
    if mismatch is not None:
        return mismatch
    return _condition_failure(base, policy, request, entities)


_SCOPE_PARTS = ("principal", "action", "resource")


def _scope_mismatch(base: PolicyExplanation, policy: ast.Policy, request: Request,
                    entities: Entities) -> PolicyExplanation | None:
    """The first scope part that does not match, or None when all do."""
    for part in _SCOPE_PARTS:
        scope = getattr(policy, part)
        uid = getattr(request, part)
        if scope_matches(scope, uid, entities):
            continue
        seen = [Seen(part, uid)]
        if _scope_reads_hierarchy(scope):
            seen.append(Seen(f"ancestors of {part}", CedarSet(sorted(entities.ancestors(uid)))))
        return _with(base, outcome=Outcome.SCOPE_MISMATCH, part=part, clause=scope_text(part, scope),
                     clause_span=scope.span, seen=tuple(seen), clause_node=scope)
    return None


def _scope_reads_hierarchy(scope: ast.Scope) -> bool:
    return (isinstance(scope, (ast.ScopeIn, ast.ActionInSet))
            or isinstance(scope, ast.ScopeIs) and scope.in_target is not None)


def _condition_failure(base: PolicyExplanation, policy: ast.Policy, request: Request,
                       entities: Entities) -> PolicyExplanation:
    """The first condition that does not hold, narrowed to its deciding clause."""
    for condition in policy.conditions:
        wanted = condition.kind == "when"
        if evaluate(condition.body, request, entities) is wanted:
            continue
        clause, value = _deciding_clause(condition.body, wanted, request, entities)
        return _with(base, outcome=Outcome.NOT_SATISFIED, part=condition.kind, clause=_text(clause),
                     clause_span=clause.span or condition.span, clause_value=value,
                     seen=_operand_values(clause, request, entities), clause_node=clause)
    raise AssertionError(f"policy {base.id} is not satisfied, yet its scope and conditions hold")


def _condition_error(base: PolicyExplanation, policy: ast.Policy, request: Request, entities: Entities,
                     err: EvalError) -> PolicyExplanation:
    """The condition that errored, narrowed to the innermost expression that raised."""
    for condition in policy.conditions:
        try:
            value = evaluate(condition.body, request, entities)
        except EvalError:
            site = _error_site(condition.body, request, entities)
            return _with(base, outcome=Outcome.ERROR, part=condition.kind, clause=_text(site),
                         clause_span=site.span or condition.span, error=err.message,
                         seen=_operand_values(site, request, entities), clause_node=site)
        if type(value) is not bool:  # a condition must be a Bool: the type error is the condition's
            return _with(base, outcome=Outcome.ERROR, part=condition.kind, clause=_text(condition.body),
                         clause_span=condition.body.span or condition.span, error=err.message,
                         seen=(Seen(_text(condition.body), value),), clause_node=condition.body)
        if value is not (condition.kind == "when"):
            break
    # The scope never errors on a linked policy; an error elsewhere is a bug here.
    raise AssertionError(f"policy {base.id} errored ({err.message}) but no condition raised it")


# --------------------------------------------------------------------------
# Narrowing a condition to the clause that decided it


def _deciding_clause(e: ast.Expr, wanted: bool, request: Request,
                     entities: Entities) -> tuple[ast.Expr, Any]:
    """`e` evaluated, without error, to ``not wanted``: the clause inside it
    that made it so.  A false `&&` is decided by its first false operand, a
    true `||` by its first true one (the evaluator stops there), `!` flips
    what is wanted; anything else is a clause of its own."""
    if isinstance(e, ast.And) and wanted:
        left_false = evaluate(e.left, request, entities) is False
        return _deciding_clause(e.left if left_false else e.right, True, request, entities)
    if isinstance(e, ast.Or) and not wanted:
        left_true = evaluate(e.left, request, entities) is True
        return _deciding_clause(e.left if left_true else e.right, False, request, entities)
    if isinstance(e, ast.Not):
        return _deciding_clause(e.arg, not wanted, request, entities)
    return e, evaluate(e, request, entities)


def _error_site(e: ast.Expr, request: Request, entities: Entities) -> ast.Expr:
    """`e` raises: the innermost sub-expression that raises on its own, its
    evaluated operands all having values.  Operands are visited in the
    evaluator's order, and only those it evaluates (short-circuiting)."""
    for child in _evaluated_operands(e, request, entities):
        try:
            evaluate(child, request, entities)
        except EvalError:
            return _error_site(child, request, entities)
    return e


def _evaluated_operands(e: ast.Expr, request: Request, entities: Entities) -> Iterator[ast.Expr]:
    """The operands of `e` the evaluator evaluates, in its order.  A caller
    that finds one raising stops iterating, so each is evaluated here only
    after it was seen to have a value."""
    if isinstance(e, (ast.And, ast.Or)):
        yield e.left
        left = evaluate(e.left, request, entities)
        if left is isinstance(e, ast.And):  # `true && ..` and `false || ..` go on
            yield e.right
    elif isinstance(e, ast.If):
        yield e.cond
        cond = evaluate(e.cond, request, entities)
        if type(cond) is bool:
            yield e.then_ if cond else e.else_
    elif isinstance(e, ast.Is):
        yield e.expr
        value = evaluate(e.expr, request, entities)
        if e.in_expr is not None and type(value) is EntityUID and value.type == e.entity_type:
            yield e.in_expr
    else:
        yield from _operands(e)


def _operands(e: ast.Expr) -> tuple[ast.Expr, ...]:
    """The immediate sub-expressions of `e`, in source order."""
    if isinstance(e, (ast.Not, ast.Neg)):
        return (e.arg,)
    if isinstance(e, (ast.BinaryOp, ast.And, ast.Or)):
        return (e.left, e.right)
    if isinstance(e, ast.If):
        return (e.cond, e.then_, e.else_)
    if isinstance(e, (ast.GetAttr, ast.Has, ast.Like)):
        return (e.expr,)
    if isinstance(e, ast.Is):
        return (e.expr,) if e.in_expr is None else (e.expr, e.in_expr)
    if isinstance(e, ast.SetLit):
        return e.elems
    if isinstance(e, ast.RecordLit):
        return tuple(x for _, x in e.fields)
    if isinstance(e, ast.MethodCall):
        return (e.receiver, *e.args)
    if isinstance(e, ast.ExtFun):
        return e.args
    return ()


def _operand_values(clause: ast.Expr, request: Request, entities: Entities) -> tuple[Seen, ...]:
    """The values of the clause's operands that have one and that its text
    does not already show (a literal is its own value); for `in`, also the
    ancestors of the entity on the left."""
    seen: list[Seen] = []
    for operand in _operands(clause):
        try:
            value = evaluate(operand, request, entities)
        except EvalError:
            continue
        text = _text(operand)
        if value_text(value) != text:
            seen.append(Seen(text, value))
        if _tests_hierarchy(clause, operand) and type(value) is EntityUID:
            seen.append(Seen(f"ancestors of {text}", CedarSet(sorted(entities.ancestors(value)))))
    return tuple(seen)


def _tests_hierarchy(clause: ast.Expr, operand: ast.Expr) -> bool:
    if isinstance(clause, ast.BinaryOp) and clause.op == "in":
        return operand is clause.left
    return isinstance(clause, ast.Is) and clause.in_expr is not None and operand is clause.expr


# --------------------------------------------------------------------------
# Cedar text


def _text(e: ast.Expr) -> str:
    from cedarscope.lang.printer import print_expr

    return " ".join(print_expr(e).split())


def value_text(v: Any) -> str:
    """A value as a Cedar literal (for renderers too)."""
    from cedarscope.lang.printer import print_value

    try:
        return print_value(v)
    except (TypeError, ValueError):
        return repr(v)


def scope_text(part: str, scope: ast.Scope) -> str:
    """One scope constraint as written: ``principal in Group::"admins"``."""
    from cedarscope.lang.printer import print_entity_uid

    if isinstance(scope, ast.ScopeAny):
        return part
    if isinstance(scope, ast.ScopeEq):
        return f"{part} == {_target(scope.target)}"
    if isinstance(scope, ast.ScopeIn):
        return f"{part} in {_target(scope.target)}"
    if isinstance(scope, ast.ScopeIs):
        tail = f" in {_target(scope.in_target)}" if scope.in_target is not None else ""
        return f"{part} is {scope.entity_type}{tail}"
    if isinstance(scope, ast.ActionInSet):
        return f"{part} in [{', '.join(print_entity_uid(t) for t in scope.targets)}]"
    raise TypeError(f"not a policy scope: {scope!r}")


def _target(target: EntityUID | ast.Slot) -> str:
    from cedarscope.lang.printer import print_entity_uid

    return target.name if isinstance(target, ast.Slot) else print_entity_uid(target)
