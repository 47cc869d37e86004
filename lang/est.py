"""Policies in Cedar's JSON policy format (the "EST", as Cedar's
``Policy::to_json`` and ``policies_to_json_str`` write it).

`policy_to_est(policy)` gives the JSON object of one policy or template
(`policyset_to_est(ps)` the JSON of a whole set, links included):
``effect``, ``principal``/``action``/``resource`` scope constraints
(``{"op": "All"}``, ``{"op": "==", "entity": ..}``, ``{"op": "in", "slot":
"?principal"}``, ``{"op": "is", "entity_type": .., "in": ..}``, ``{"op":
"in", "entities": [..]}``), ``conditions`` (``{"kind": "when", "body": ..}``)
and ``annotations`` (left out when there are none; a value-less annotation is
``null``).

Where our AST and Cedar's JSON differ in form, this module produces Cedar's
form, so the result can be handed to any Cedar tool.  Checked against
``cedarpy.policies_to_json_str`` (Cedar 4.12) on the whole corpus:

- ``e has a.b.c`` is desugared as Cedar desugars it, into the left-nested
  ``(e has a && e.a has b) && e.a.b has c``.  Our AST keeps the path.
- ``like`` patterns list one ``{"Literal": c}`` per character (Cedar's JSON
  never merges characters), and ``"Wildcard"`` for each ``*``.
- Method calls: the core ones take ``{"left", "right"}`` (``isEmpty`` takes
  ``{"arg"}``); extension methods and functions take an argument list with
  the receiver first.
- Entity literals are ``{"Value": {"__entity": {"type", "id"}}}``.
- ``action in [A]`` with one element is written as ``action in A``
  (``{"op": "in", "entity": A}``), as Cedar writes it.

Forms Cedar's JSON keeps as written, so nothing is normalised for them:
``!=``, ``>``, ``>=`` (not rewritten to ``!(==)`` or a swapped ``<``/``<=``),
``unless`` clauses, and ``-`` applied to an integer literal (folded into the
literal by both parsers, so ``-(3)`` stays ``{"neg": ..}``).  ``e["a"]`` and
``e.a`` are the same construct in both.  The one normalisation applied on
Cedar's side when comparing is the policy id: ``policies_to_json_str``
names every policy ``policyN`` by position, ignoring ``@id``, and splits
templates from static policies; the corpus test matches by position.
"""

from __future__ import annotations

from typing import Any

from cedarscope.lang import ast
from cedarscope.lang.values import EntityUID

# Core methods whose JSON form is a binary operator object.
_BINARY_METHODS = ("contains", "containsAll", "containsAny", "hasTag", "getTag")


def entity_json(uid: EntityUID) -> dict:
    return {"type": uid.type, "id": uid.id}


def _target(target: EntityUID | ast.Slot) -> dict:
    if isinstance(target, ast.Slot):
        return {"slot": target.name}
    return {"entity": entity_json(target)}


def scope_to_est(scope: ast.Scope) -> dict:
    """A scope constraint in Cedar's JSON form."""
    if isinstance(scope, ast.ScopeAny):
        return {"op": "All"}
    if isinstance(scope, ast.ScopeEq):
        return {"op": "==", **_target(scope.target)}
    if isinstance(scope, ast.ScopeIn):
        return {"op": "in", **_target(scope.target)}
    if isinstance(scope, ast.ScopeIs):
        out: dict = {"op": "is", "entity_type": scope.entity_type}
        if scope.in_target is not None:
            out["in"] = _target(scope.in_target)
        return out
    if isinstance(scope, ast.ActionInSet):
        if len(scope.targets) == 1:
            # Cedar writes `action in [A]` as `action in A`
            return {"op": "in", "entity": entity_json(scope.targets[0])}
        return {"op": "in", "entities": [entity_json(u) for u in scope.targets]}
    raise TypeError(f"not a policy scope: {scope!r}")


def _binary(op: str, left: ast.Expr, right: ast.Expr) -> dict:
    return {op: {"left": expr_to_est(left), "right": expr_to_est(right)}}


def _has_to_est(e: ast.Has) -> dict:
    """`e has a.b.c` as Cedar desugars it: a left-nested `&&` of one `has`
    per path element, each on the attributes before it."""
    target = e.expr
    result: dict | None = None
    for attr in e.attrs:
        test = {"has": {"left": expr_to_est(target), "attr": attr}}
        result = test if result is None else {"&&": {"left": result, "right": test}}
        target = ast.GetAttr(target, attr)
    assert result is not None, "a `has` names at least one attribute"
    return result


def _pattern_to_est(pattern: tuple[ast.PatternElem, ...]) -> list:
    out: list = []
    for elem in pattern:
        if elem is ast.WILDCARD:
            out.append("Wildcard")
        else:
            out.extend({"Literal": ch} for ch in elem)
    return out


def _value(v: Any) -> dict:
    return {"Value": v}


def expr_to_est(e: ast.Expr) -> dict:
    """An expression in Cedar's JSON form."""
    if isinstance(e, ast.Lit):
        return _value(e.value)
    if isinstance(e, ast.EntityLit):
        return _value({"__entity": entity_json(e.uid)})
    if isinstance(e, ast.Var):
        return {"Var": e.name}
    if isinstance(e, ast.Slot):
        return {"Slot": e.name}
    if isinstance(e, ast.Not):
        return {"!": {"arg": expr_to_est(e.arg)}}
    if isinstance(e, ast.Neg):
        return {"neg": {"arg": expr_to_est(e.arg)}}
    if isinstance(e, ast.BinaryOp):
        return _binary(e.op, e.left, e.right)
    if isinstance(e, ast.And):
        return _binary("&&", e.left, e.right)
    if isinstance(e, ast.Or):
        return _binary("||", e.left, e.right)
    if isinstance(e, ast.If):
        return {"if-then-else": {"if": expr_to_est(e.cond), "then": expr_to_est(e.then_),
                                 "else": expr_to_est(e.else_)}}
    if isinstance(e, ast.GetAttr):
        return {".": {"left": expr_to_est(e.expr), "attr": e.attr}}
    if isinstance(e, ast.Has):
        return _has_to_est(e)
    if isinstance(e, ast.Like):
        return {"like": {"left": expr_to_est(e.expr), "pattern": _pattern_to_est(e.pattern)}}
    if isinstance(e, ast.Is):
        out = {"left": expr_to_est(e.expr), "entity_type": e.entity_type}
        if e.in_expr is not None:
            out["in"] = expr_to_est(e.in_expr)
        return {"is": out}
    if isinstance(e, ast.SetLit):
        return {"Set": [expr_to_est(x) for x in e.elems]}
    if isinstance(e, ast.RecordLit):
        return {"Record": {k: expr_to_est(v) for k, v in e.fields}}
    if isinstance(e, ast.MethodCall):
        return _method_to_est(e)
    if isinstance(e, ast.ExtFun):
        return {e.name: [expr_to_est(a) for a in e.args]}
    raise TypeError(f"not a Cedar expression: {e!r}")


def _method_to_est(e: ast.MethodCall) -> dict:
    if e.name == "isEmpty" and not e.args:
        return {"isEmpty": {"arg": expr_to_est(e.receiver)}}
    if e.name in _BINARY_METHODS and len(e.args) == 1:
        return _binary(e.name, e.receiver, e.args[0])
    return {e.name: [expr_to_est(e.receiver), *(expr_to_est(a) for a in e.args)]}


def policy_to_est(policy: ast.Policy) -> dict:
    """A policy or template in Cedar's JSON policy format."""
    out: dict = {
        "effect": policy.effect,
        "principal": scope_to_est(policy.principal),
        "action": scope_to_est(policy.action),
        "resource": scope_to_est(policy.resource),
        "conditions": [{"kind": c.kind, "body": expr_to_est(c.body)} for c in policy.conditions],
    }
    if policy.annotations:
        out["annotations"] = {a.name: a.value for a in policy.annotations}
    return out


def policyset_to_est(ps: ast.PolicySet) -> dict:
    """A policy set in Cedar's JSON policy set format: static policies and
    templates by id, and template links (``templateId``, ``newId`` and the
    slot ``values``)."""
    templates = {pid: policy_to_est(p) for pid, p in ps.policies if p.is_template}
    static = {pid: policy_to_est(p) for pid, p in ps.policies if not p.is_template}
    links = [{"templateId": link.template_id, "newId": link.link_id,
              "values": {slot: entity_json(uid) for slot, uid in link.values}}
             for link in ps.links]
    return {"templates": templates, "staticPolicies": static, "templateLinks": links}
