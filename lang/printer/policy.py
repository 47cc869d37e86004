"""Policies and policy sets as documents."""

from __future__ import annotations

from collections.abc import Sequence

from cedarscope.lang import ast
from cedarscope.lang.printer.doc import (
    HARDLINE,
    LINE,
    LINE_WIDTH,
    NIL,
    SPACE,
    Doc,
    cat,
    group,
    intersperse,
    nest,
    remove_empty_lines,
    render,
    text,
)
from cedarscope.lang.printer.expr import (
    checked_ident,
    elements_doc,
    entity_uid_doc,
    expr_doc,
    member_doc,
    nesting_shown,
    path_doc,
    str_doc,
)
from cedarscope.lang.printer.source import (
    SOURCE,
    Unplaced,
    leading_doc,
    next_token,
    take_comment,
    token_doc,
    trailing_doc,
    with_comment,
)
from cedarscope.lang.values import EntityUID

# Policies


def _scope_target_doc(target: EntityUID | ast.Slot, k: int | None) -> tuple[Doc, int | None]:
    if isinstance(target, ast.Slot):
        return token_doc(target.name, k), next_token(k)
    uid, k = entity_uid_doc(target, k)
    return member_doc(uid, []), k


def _action_list_doc(targets: Sequence[EntityUID], k: int | None) -> Doc:
    """`[A::"a", A::"b"]` from its `[` token `k` on."""
    open_doc = token_doc("[", k)
    k = next_token(k)
    elems, commas = [], []
    for i, uid in enumerate(targets):
        doc, k = entity_uid_doc(uid, k)
        elems.append(doc)
        if i < len(targets) - 1:
            commas.append(k)
            k = next_token(k)
    body = elements_doc(elems, commas)
    return member_doc(cat(open_doc, nest(body, 1), token_doc("]", k)), [])


def _scope_doc(var: str, scope: ast.Scope) -> Doc:
    """One scope element as the formatter lays it out: `var [is T] [op rhs]`,
    breaking before the right-hand side when it does not fit."""
    src = SOURCE.get()
    k = src.token_at(scope.span.start) if src and scope.span else None
    if src is not None and k is None:
        raise Unplaced(scope)
    start_c = take_comment(k)
    k = next_token(k)
    is_doc: Doc = NIL
    op: str | None = None
    rhs: Doc = NIL
    if isinstance(scope, ast.ScopeIs):
        is_c = take_comment(k)
        entity_type, k = path_doc(scope.entity_type, next_token(k), "entity type")
        is_doc = group(nest(cat(group(cat(LINE, with_comment(text("is"), is_c))), LINE, entity_type)))
        if scope.in_target is not None:
            op = "in"
    elif isinstance(scope, ast.ScopeEq):
        op = "=="
    elif isinstance(scope, (ast.ScopeIn, ast.ActionInSet)):
        op = "in"
    elif not isinstance(scope, ast.ScopeAny):
        raise TypeError(f"not a policy scope: {scope!r}")
    if op is None:
        return cat(with_comment(text(var), start_c), is_doc)
    op_c = take_comment(k)
    if isinstance(scope, ast.ActionInSet):
        rhs = _action_list_doc(scope.targets, next_token(k))
    elif isinstance(scope, ast.ScopeIs) and scope.in_target is not None:
        rhs = _scope_target_doc(scope.in_target, next_token(k))[0]
    elif isinstance(scope, (ast.ScopeEq, ast.ScopeIn)):
        rhs = _scope_target_doc(scope.target, next_token(k))[0]
    head = group(cat(text(var), trailing_doc(start_c.trailing, NIL), is_doc, LINE, with_comment(text(op), op_c)))
    return cat(leading_doc(start_c.leading), group(cat(head, nest(cat(LINE, rhs)))))


def _condition_doc(c: ast.Condition) -> Doc:
    """`when { body }` on one line, else `when` / `{ body }`, else the body
    indented between braces on lines of their own."""
    if c.kind not in ("when", "unless"):
        raise ValueError(f"unknown condition kind {c.kind!r}")
    src = SOURCE.get()
    kind_k = src.token_at(c.span.start) if src and c.span else None
    close_k = src.token_ending(c.span.end) if src and c.span else None
    if src is not None and (kind_k is None or close_k is None):
        raise Unplaced(c)
    brace_c = take_comment(next_token(kind_k))
    close_c = take_comment(close_k)
    kind_c = take_comment(kind_k)
    body_leading = src.take_leading(src.extent(c.body, outer=True)[0]) if src else ()
    body = expr_doc(c.body)
    inner = cat(nest(cat(trailing_doc(brace_c.trailing, LINE), leading_doc(body_leading), group(body))),
                LINE, with_comment(text("}"), close_c))
    return cat(leading_doc(kind_c.leading), group(cat(
        text(c.kind), trailing_doc(kind_c.trailing, LINE),
        leading_doc(brace_c.leading), text("{"), group(inner))))


def _annotation_doc(a: ast.Annotation) -> Doc:
    name = checked_ident(a.name, "annotation name")
    src = SOURCE.get()
    k = src.token_at(a.span.start) if src and a.span else None
    if src is not None and k is None:
        raise Unplaced(a)
    at = token_doc("@", k)
    key = token_doc(name, next_token(k))
    if a.value is None:
        return cat(at, key, HARDLINE)
    value = cat(token_doc("(", next_token(k, 2)), str_doc(a.value, next_token(k, 3)),
                token_doc(")", next_token(k, 4), HARDLINE))
    return cat(at, key, value)


def policy_doc(p: ast.Policy) -> Doc:
    """The layout document of a policy: annotations one per line, the scope on
    one line when it is unconstrained and one element per line otherwise,
    each condition on its own line."""
    if p.effect not in ("permit", "forbid"):
        raise ValueError(f"unknown policy effect {p.effect!r}")
    src = SOURCE.get()
    annotations = [_annotation_doc(a) for a in p.annotations]
    effect_k = semi_k = None
    if src is not None:
        if p.span is None or any(a.span is None for a in p.annotations):
            raise Unplaced(p)
        last_annotation = p.annotations[-1].span if p.annotations else None
        effect_k = src.token_ending(last_annotation.end) + 1 if last_annotation is not None else \
            src.token_at(p.span.start)
        semi_k = src.token_ending(p.span.end)
    effect_leading = src.take_leading(effect_k) if src is not None and effect_k is not None else ()
    effect = token_doc(p.effect, effect_k)
    scopes = [_scope_doc("principal", p.principal), _scope_doc("action", p.action),
              _scope_doc("resource", p.resource)]
    commas = [_scope_end(p.principal), _scope_end(p.action)]
    if all(isinstance(s, ast.ScopeAny) for s in (p.principal, p.action, p.resource)):
        scope = group(nest(cat(scopes[0], token_doc(",", commas[0], SPACE), scopes[1],
                               token_doc(",", commas[1], SPACE), scopes[2])))
    else:
        scope = cat(nest(cat(HARDLINE, scopes[0], token_doc(",", commas[0], HARDLINE), scopes[1],
                             token_doc(",", commas[1], HARDLINE), scopes[2])), HARDLINE)
    conditions = intersperse([_condition_doc(c) for c in p.conditions], HARDLINE)
    open_paren = token_doc("(", next_token(effect_k))
    close_paren = token_doc(")", _scope_end(p.resource), HARDLINE if p.conditions else NIL)
    return cat(
        *annotations,
        leading_doc(effect_leading),
        group(cat(effect, LINE, open_paren)),
        scope,
        close_paren,
        conditions,
        token_doc(";", semi_k),
    )


def _scope_end(scope: ast.Scope) -> int | None:
    """The token after a scope element (its `,` or the closing `)`)."""
    src = SOURCE.get()
    if src is None:
        return None
    if scope.span is None:
        raise Unplaced(scope)
    return src.token_ending(scope.span.end) + 1


def print_policy(p: ast.Policy, width: int = LINE_WIDTH, *, show_nesting: bool = False) -> str:
    """Cedar text for one policy (or template), without a trailing newline,
    laid out as Cedar's formatter does or, with `show_nesting`, with the
    nesting of `&&` and `||` shown (`NESTING_SHOWN`)."""
    with nesting_shown(show_nesting):
        return remove_empty_lines(render(policy_doc(p), width))


def print_policyset(ps: ast.PolicySet, width: int = LINE_WIDTH) -> str:
    """Cedar text for the policies and templates of a set, in order, separated
    by blank lines.  Ids are not written: `@id` annotations are kept as
    annotations, and positional ids follow from the order.  Template links
    have no Cedar syntax and are not printed."""
    if not ps.policies:
        return ""
    return "\n\n".join(print_policy(p, width) for _, p in ps.policies) + "\n"
