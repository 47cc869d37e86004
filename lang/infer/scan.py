"""What a policy or a piece of data names, read without typing it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cedarscope.lang import ast
from cedarscope.lang.schema.raw import IDENT_RE
from cedarscope.lang.values import EntityUID


def uid_of(value: Any) -> EntityUID | None:
    """An entity reference in JSON: ``{"__entity": {..}}``, ``{"type", "id"}``
    or Cedar text ``Type::"id"``."""
    if isinstance(value, dict) and "__entity" in value:
        value = value["__entity"]
    if isinstance(value, dict) and isinstance(value.get("type"), str) and isinstance(value.get("id"), str):
        return EntityUID(value["type"], value["id"]) if is_type_name(value["type"]) else None
    if isinstance(value, str) and "::" in value:
        from cedarscope.lang.diagnostics import CedarError
        from cedarscope.lang.parser import parse_entity_uid

        try:
            return parse_entity_uid(value)
        except CedarError:
            return None
    return None


def is_type_name(name: str) -> bool:
    """`Name` or `Namespace::Name`: data naming any other type is not Cedar's
    (and would print as a schema that does not parse)."""
    return all(IDENT_RE.match(part) for part in name.split("::"))


def uids_in(node: Any) -> Iterable[EntityUID]:
    """Every entity uid a policy names, in its scope or its conditions."""
    if isinstance(node, EntityUID):
        yield node
    elif isinstance(node, tuple):
        for x in node:
            yield from uids_in(x)
    elif hasattr(node, "__dataclass_fields__"):
        for name in node.__dataclass_fields__:
            if name != "span":
                yield from uids_in(getattr(node, name))


def unguarded_reads(policy: ast.Policy, var: str) -> set[str]:
    """The attributes of `var` the policy's conditions read and never test
    with `has` (a syntactic over-approximation of the unguarded reads)."""
    reads: set[str] = set()
    tested: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, ast.GetAttr) and node.expr == ast.Var(var):
            reads.add(node.attr)
        if isinstance(node, ast.Has) and node.expr == ast.Var(var):
            tested.add(node.attrs[0])
        if isinstance(node, tuple):
            for x in node:
                walk(x)
        elif hasattr(node, "__dataclass_fields__"):
            for name in node.__dataclass_fields__:
                if name != "span":
                    walk(getattr(node, name))

    walk(policy.conditions)
    return reads - tested


def is_tests(expr: Any, var: str) -> set[str]:
    """The types of ``var is T`` tests anywhere in an expression."""
    found: set[str] = set()
    if isinstance(expr, ast.Is) and isinstance(expr.expr, ast.Var) and expr.expr.name == var:
        found.add(expr.entity_type)
    if isinstance(expr, tuple):
        for x in expr:
            found |= is_tests(x, var)
    elif hasattr(expr, "__dataclass_fields__"):
        for name in expr.__dataclass_fields__:
            if name != "span":
                found |= is_tests(getattr(expr, name), var)
    return found
