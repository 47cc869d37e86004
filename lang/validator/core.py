"""Desugaring to Cedar's core expression forms, before type checking."""

from __future__ import annotations

from cedarscope.lang import ast as A

# Desugaring to Cedar's core expression forms, so that capabilities (keyed
# by expression) and literal tests see what Cedar's typechecker sees:
# `a != b` is `!(a == b)`, `a > b` is `b < a`, `e has a.b` is
# `e has a && e.a has b`, `e is T in x` is `e is T && e in x`, extension
# methods are extension functions with the receiver first.


def core(e: A.Expr) -> A.Expr:
    sp = e.span
    if isinstance(e, (A.Lit, A.EntityLit, A.Var, A.Slot)):
        return e
    if isinstance(e, A.Not):
        return A.Not(core(e.arg), span=sp)
    if isinstance(e, A.Neg):
        return A.Neg(core(e.arg), span=sp)
    if isinstance(e, A.BinaryOp):
        left, right = core(e.left), core(e.right)
        if e.op == "!=":
            return A.Not(A.BinaryOp("==", left, right, span=sp), span=sp)
        if e.op == ">":
            return A.BinaryOp("<", right, left, span=sp)
        if e.op == ">=":
            return A.BinaryOp("<=", right, left, span=sp)
        return A.BinaryOp(e.op, left, right, span=sp)
    if isinstance(e, A.And):
        return A.And(core(e.left), core(e.right), span=sp)
    if isinstance(e, A.Or):
        return A.Or(core(e.left), core(e.right), span=sp)
    if isinstance(e, A.If):
        return A.If(core(e.cond), core(e.then_), core(e.else_), span=sp)
    if isinstance(e, A.GetAttr):
        return A.GetAttr(core(e.expr), e.attr, span=sp)
    if isinstance(e, A.Has):
        return _core_has(core(e.expr), e.attrs, sp)
    if isinstance(e, A.Like):
        return A.Like(core(e.expr), e.pattern, span=sp)
    if isinstance(e, A.Is):
        target = core(e.expr)
        test = A.Is(target, e.entity_type, span=sp)
        if e.in_expr is None:
            return test
        return A.And(test, A.BinaryOp("in", target, core(e.in_expr), span=sp), span=sp)
    if isinstance(e, A.SetLit):
        return A.SetLit(tuple(core(x) for x in e.elems), span=sp)
    if isinstance(e, A.RecordLit):
        return A.RecordLit(tuple((k, core(v)) for k, v in e.fields), span=sp)
    if isinstance(e, A.MethodCall):
        receiver, args = core(e.receiver), tuple(core(a) for a in e.args)
        if e.name in A.CORE_METHODS:
            return A.MethodCall(receiver, e.name, args, span=sp)
        return A.ExtFun(e.name, (receiver, *args), span=sp)
    if isinstance(e, A.ExtFun):
        return A.ExtFun(e.name, tuple(core(a) for a in e.args), span=sp)
    raise TypeError(f"not a Cedar expression: {e!r}")


def _core_has(target: A.Expr, attrs: tuple[str, ...], sp) -> A.Expr:
    """`e has a.b.c` as `e has a && e.a has b && e.a.b has c`."""
    result: A.Expr | None = None
    obj = target
    for i, attr in enumerate(attrs):
        if i:
            obj = A.GetAttr(obj, attrs[i - 1], span=sp)
        test = A.Has(obj, (attr,), span=sp)
        result = test if result is None else A.And(result, test, span=sp)
    assert result is not None, "a `has` names at least one attribute"
    return result


def _scope_expr(var: str, scope: A.Scope) -> A.Expr:
    """A scope constraint as the expression Cedar checks for it."""
    sp = scope.span
    v = A.Var(var, span=sp)

    def target(t):
        return t if isinstance(t, A.Slot) else A.EntityLit(t, span=sp)

    if isinstance(scope, A.ScopeAny):
        return A.Lit(True, span=sp)
    if isinstance(scope, A.ScopeEq):
        return A.BinaryOp("==", v, target(scope.target), span=sp)
    if isinstance(scope, A.ScopeIn):
        if var == "action":
            return A.BinaryOp("in", v, A.SetLit((target(scope.target),), span=sp), span=sp)
        return A.BinaryOp("in", v, target(scope.target), span=sp)
    if isinstance(scope, A.ActionInSet):
        return A.BinaryOp("in", v, A.SetLit(tuple(target(t) for t in scope.targets), span=sp), span=sp)
    if isinstance(scope, A.ScopeIs):
        test = A.Is(v, scope.entity_type, span=sp)
        if scope.in_target is None:
            return test
        return A.And(test, A.BinaryOp("in", v, target(scope.in_target), span=sp), span=sp)
    raise TypeError(f"not a scope constraint: {scope!r}")


def policy_condition(policy: A.Policy) -> A.Expr:
    """The policy as one boolean expression (Cedar's `Template::condition`):
    principal && (action && (resource && (c1 && (c2 && ...)))) where the
    conditions are the `when` bodies and the negated `unless` bodies."""
    # Right-nested, as Cedar builds it: a failing condition then does not
    # hide the capabilities of the conditions before it from those after.
    body: A.Expr | None = None
    for cond in reversed(policy.conditions):
        c = core(cond.body)
        if cond.kind == "unless":
            c = A.Not(c, span=cond.span)
        body = c if body is None else A.And(c, body, span=cond.span)
    if body is None:
        body = A.Lit(True, span=policy.span)
    expr = body
    for var, scope in (("resource", policy.resource), ("action", policy.action),
                       ("principal", policy.principal)):
        expr = A.And(_scope_expr(var, scope), expr, span=policy.span)
    return expr
