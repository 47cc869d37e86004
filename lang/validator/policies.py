"""Checks made once per policy (declared names, applicable actions) and the
request environments a policy is type checked in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from cedarscope.lang import ast as A
from cedarscope.lang.validator.core import policy_condition
from cedarscope.lang.validator.schema_view import Env, SchemaView, is_action_type
from cedarscope.lang.validator.typechecker import NO_CAPS, Checker
from cedarscope.lang.validator.types import BOOL, FALSE
from cedarscope.lang.values import EntityUID, escape_string

# Per-policy checks: declared names and applicable actions.


def _policy_exprs(policy: A.Policy) -> Iterable[A.Expr]:
    for c in policy.conditions:
        yield from _walk(c.body)


def _walk(e: A.Expr) -> Iterable[A.Expr]:
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        for name in ("arg", "left", "right", "cond", "then_", "else_", "expr", "receiver", "in_expr"):
            child = getattr(x, name, None)
            if child is not None and not isinstance(child, str):
                stack.append(child)
        if isinstance(x, (A.SetLit,)):
            stack.extend(x.elems)
        elif isinstance(x, A.RecordLit):
            stack.extend(v for _, v in x.fields)
        elif isinstance(x, (A.MethodCall, A.ExtFun)):
            stack.extend(x.args)


def _scope_uids(policy: A.Policy) -> list[tuple[EntityUID, A.Scope]]:
    found = []
    for scope in (policy.principal, policy.action, policy.resource):
        for t in (getattr(scope, "target", None), getattr(scope, "in_target", None)):
            if isinstance(t, EntityUID):
                found.append((t, scope))
        if isinstance(scope, A.ActionInSet):
            found.extend((t, scope) for t in scope.targets)
    return found


def _entity_uids(policy: A.Policy) -> list[tuple[EntityUID, object]]:
    """Every entity literal in the policy, with the node that locates it."""
    found: list[tuple[EntityUID, object]] = list(_scope_uids(policy))
    found += [(x.uid, x) for x in _policy_exprs(policy) if isinstance(x, A.EntityLit)]
    return found


def _entity_type_names(policy: A.Policy) -> list[tuple[str, object]]:
    """Every entity type the policy names: in literals and `is` tests."""
    found = [(uid.type, where) for uid, where in _entity_uids(policy)]
    for scope in (policy.principal, policy.resource):
        if isinstance(scope, A.ScopeIs):
            found.append((scope.entity_type, scope))
    found += [(x.entity_type, x) for x in _policy_exprs(policy) if isinstance(x, A.Is)]
    return found


def suggest(word: str, choices: Iterable[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return close[0] if close else None


def _declared_names(view: SchemaView, pid: str, policy: A.Policy) -> list[tuple[object, str]]:
    """Undeclared entity types and actions, and undeclared enum ids."""
    out: list[tuple[object, str]] = []
    for name, where in _entity_type_names(policy):
        if not view.is_known_entity_type(name):
            msg = f"for policy `{pid}`, unrecognized entity type `{name}`"
            hint = suggest(name, view.entity_types)
            out.append((where, msg + (f" (did you mean `{hint}`?)" if hint else "")))
    for uid, where in _entity_uids(policy):
        if is_action_type(uid.type):
            if uid not in view.actions:
                msg = f"for policy `{pid}`, unrecognized action `{uid}`"
                hint = suggest(str(uid), (str(a) for a in view.actions))
                out.append((where, msg + (f" (did you mean `{hint}`?)" if hint else "")))
            continue
        et = view.entity_types.get(uid.type)
        if et is not None and et.enum is not None and uid.id not in et.enum:
            out.append((where, f"for policy `{pid}`: entity `{uid}` is of an enumerated entity type, "
                               f'but `"{escape_string(uid.id)}"` is not declared as a valid eid'))
    return out


def _scope_types(view: SchemaView, scope: A.Scope) -> frozenset[str] | None:
    """Entity types a principal/resource scope admits (None: any type)."""
    if isinstance(scope, A.ScopeAny):
        return None
    if isinstance(scope, (A.ScopeEq, A.ScopeIn)):
        if isinstance(scope.target, A.Slot):
            return None
        if isinstance(scope, A.ScopeEq):
            return frozenset([scope.target.type])
        return view.types_in(scope.target.type)
    if isinstance(scope, A.ScopeIs):
        if not view.is_known_entity_type(scope.entity_type):
            return frozenset()
        if isinstance(scope.in_target, EntityUID):
            return view.types_in(scope.in_target.type) & {scope.entity_type}
        return frozenset([scope.entity_type])
    raise TypeError(f"not a principal/resource scope: {scope!r}")


def _scope_actions(view: SchemaView, scope: A.Scope) -> list[EntityUID]:
    if isinstance(scope, A.ScopeAny):
        return sorted(view.actions)
    if isinstance(scope, A.ScopeEq) and isinstance(scope.target, EntityUID):
        return [scope.target]
    if isinstance(scope, A.ScopeIn) and isinstance(scope.target, EntityUID):
        targets = [scope.target]
    elif isinstance(scope, A.ActionInSet):
        targets = list(scope.targets)
    else:  # the parser allows no other action scope
        raise TypeError(f"not an action scope: {scope!r}")
    return sorted(view.actions_in(targets) or ())


def action_applies(view: SchemaView, pid: str, policy: A.Policy) -> str | None:
    """Cedar's "invalid action application": no action the scope admits
    applies to a principal and a resource type the scope admits."""
    principals = _scope_types(view, policy.principal)
    resources = _scope_types(view, policy.resource)

    def fits(admitted: frozenset[str] | None, declared: tuple[str, ...]) -> bool:
        return bool(declared) if admitted is None else not admitted.isdisjoint(declared)

    for uid in _scope_actions(view, policy.action):
        act = view.actions.get(uid)
        if act is not None and fits(principals, act.principal_types) and fits(resources, act.resource_types):
            return None
    msg = f"for policy `{pid}`, unable to find an applicable action given the policy scope constraints"
    fixes = [part for part, scope in (("principal", policy.principal), ("resource", policy.resource))
             if _in_would_fix(view, scope, part, policy.action)]
    if fixes:
        msg += f" (try replacing `==` with `in` in the {' clause and the '.join(fixes)} clause)"
    return msg


def _in_would_fix(view: SchemaView, scope: A.Scope, var: str, action_scope: A.Scope) -> bool:
    """`var == T::"x"` where no applicable action takes a T, but one takes a
    type whose entities may be in a T: `in` was probably meant."""
    if not (isinstance(scope, A.ScopeEq) and isinstance(scope.target, EntityUID)):
        return False
    ty = scope.target.type
    acts = [view.actions[u] for u in _scope_actions(view, action_scope) if u in view.actions]
    applicable = {t for a in acts for t in (a.principal_types if var == "principal" else a.resource_types)}
    return ty not in applicable and bool(applicable & view.descendants.get(ty, frozenset()))


# --------------------------------------------------------------------------
# Environments for one policy: a template is checked with each entity type
# its slots could be linked to.


def _slot_types(view: SchemaView, scope: A.Scope, var_type: str) -> Sequence[str | None]:
    target = getattr(scope, "target", None) or getattr(scope, "in_target", None)
    if not isinstance(target, A.Slot):
        return [None]
    if isinstance(scope, A.ScopeEq):
        return [var_type]
    if isinstance(scope, (A.ScopeIn, A.ScopeIs)):
        return sorted(n for n in view.entity_types if var_type in view.descendants[n]) + [var_type]
    return sorted(view.entity_types)


def _linked_envs(view: SchemaView, policy: A.Policy) -> Iterable[Env]:
    for env in view.envs:
        for p in _slot_types(view, policy.principal, env.principal):
            for r in _slot_types(view, policy.resource, env.resource):
                yield Env(env.principal, env.action, env.resource, env.context, p, r)


@dataclass
class PolicyReport:
    """What validating one policy found: located errors, and whether the
    policy is impossible (false in every request environment)."""

    errors: list[tuple[object, str]] = field(default_factory=list)
    impossible: bool = False


def check_policy(view: SchemaView, pid: str, policy: A.Policy) -> PolicyReport:
    report = PolicyReport(errors=_declared_names(view, pid, policy))
    inapplicable = action_applies(view, pid, policy)
    if inapplicable is not None:
        report.errors.append((policy, inapplicable))
    condition = policy_condition(policy)
    scopes = _scope_parts(condition)
    decided: dict[tuple, tuple[bool, bool, list]] = {}
    all_false = True
    for env in _linked_envs(view, policy):
        errors = _false_by_scope(view, env, pid, scopes, decided)
        if errors is not None:
            report.errors.extend(errors)
            continue
        checker = Checker(view, env, pid)
        ans = checker.expect(condition, NO_CAPS, (BOOL,))
        if ans.ty != FALSE:
            all_false = False
        report.errors.extend(checker.errors)
    report.impossible = all_false
    return report


# --------------------------------------------------------------------------
# Environments the scope rules out.  The condition is `principal && (action &&
# (resource && ...))`, and `&&` does not check its right operand once its
# left has type False; the principal's constraint depends only on the
# principal's (and its slot's) type, the action's only on the action, the
# resource's only on the resource's.  So each is checked once per such key,
# and an environment where one of them is False (in order, after no failed
# one) gets the type False and exactly their errors without a check of its
# own: a policy naming one action and one kind is fully checked in only
# the few environments its scope allows, out of the schema's hundreds.

_SCOPE_KEYS: tuple[Callable[[Env], tuple], ...] = (
    lambda env: (env.principal, env.principal_slot),
    lambda env: (env.action,),
    lambda env: (env.resource, env.resource_slot),
)


def _scope_parts(condition: A.Expr) -> list[A.Expr]:
    """The principal, action and resource constraints of a policy's
    condition (see core.policy_condition)."""
    parts = []
    for _ in _SCOPE_KEYS:
        assert isinstance(condition, A.And)
        parts.append(condition.left)
        condition = condition.right
    return parts


def _false_by_scope(view: SchemaView, env: Env, pid: str, parts: list[A.Expr],
                    decided: dict[tuple, tuple[bool, bool, list]]) -> list | None:
    """The errors of checking the condition in env when a scope constraint
    has type False there, else None (the condition must be checked)."""
    errors: list = []
    for i, (part, key) in enumerate(zip(parts, _SCOPE_KEYS, strict=True)):
        k = (i, *key(env))
        found = decided.get(k)
        if found is None:
            checker = Checker(view, env, pid)
            ans = checker.expect(part, NO_CAPS, (BOOL,))
            found = decided[k] = (ans.ok, ans.ok and ans.ty == FALSE, list(checker.errors))
        ok, false, part_errors = found
        if not ok:
            return None  # let the whole check say what follows a failure
        errors += part_errors
        if false:
            return errors
    return None
