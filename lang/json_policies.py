"""Reading Cedar's JSON policy format (the "EST"), the reverse of `lang.est`.

A policy set in Cedar's JSON form is an object with ``staticPolicies`` and
``templates`` (each an object from policy id to one policy's JSON) and
``templateLinks`` (``[{"templateId", "newId", "values": {"?principal": uid}}]``),
as ``cedarpy.policies_to_json_str`` and Cedar's ``PolicySet::to_json`` write
it.  One policy's JSON (an object with ``effect``) is read as a set of one.

The ids are the keys of those objects.  Every node read gets the span of
the JSON object it came from, so validation and analysis point into the
JSON file; every error names the file, the line and column when known, and
the JSON path of the offending value (``staticPolicies.p1.conditions[0].body``).

Cedar's JSON desugars ``e has a.b`` into ``e has a && e.a has b`` and
spells ``like`` patterns one character at a time; the AST read here keeps
those forms (adjacent pattern characters are merged, as the parser does), so
a policy read from JSON means what its text means, not always with the same
tree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from json import scanner as json_scanner
from typing import Any

from cedarscope.lang import ast
from cedarscope.lang.diagnostics import CedarError, Diagnostic, source_line
from cedarscope.lang.parser import EXTENSION_FUNCTIONS, RESERVED_NAMESPACE, VARIABLES
from cedarscope.lang.values import LONG_MAX, LONG_MIN, EntityUID

_IDENT = r"[_a-zA-Z][_a-zA-Z0-9]*"
_TYPE_NAME = re.compile(rf"{_IDENT}(::{_IDENT})*")
_SLOTS = ("?principal", "?resource")
_BINARY = ("==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*")
_BINARY_METHODS = ("contains", "containsAll", "containsAny", "hasTag", "getTag")


def is_policy_set_json(data: Any) -> bool:
    """Does parsed JSON look like a Cedar JSON policy set or one policy?"""
    return isinstance(data, dict) and (
        bool({"staticPolicies", "templates", "templateLinks"} & data.keys()) or "effect" in data)


def parse_policy_json(text: str, filename: str = "<policies.json>") -> ast.PolicySet:
    """The policy set of the text of a JSON policy file."""
    data, positions = _load_with_positions(text, filename)
    return _Reader(filename, text, positions).policy_set(data)


# --------------------------------------------------------------------------
# JSON with the position of every object


class _Positions:
    """Where each JSON object starts (a character offset), by object."""

    def __init__(self) -> None:
        self._offsets: dict[int, int] = {}
        self._objects: list[Any] = []  # kept alive, so no id() is reused

    def record(self, obj: Any, offset: int) -> None:
        self._offsets[id(obj)] = offset
        self._objects.append(obj)

    def get(self, obj: Any) -> int | None:
        return self._offsets.get(id(obj))


def _load_with_positions(text: str, filename: str) -> tuple[Any, _Positions]:
    """The parsed JSON, and where each of its objects starts.

    Python's JSON decoder does not report positions; its pure-Python
    scanner takes the object parser as a hook, which records where each
    object starts."""
    positions = _Positions()

    decoder: Any = json.JSONDecoder()  # its scanner hooks are not in the type stubs
    plain_object = decoder.parse_object

    def parse_object(s_and_end, *args):
        obj, end = plain_object(s_and_end, *args)
        positions.record(obj, s_and_end[1] - 1)  # the offset of the `{`
        return obj, end

    decoder.parse_object = parse_object
    decoder.scan_once = json_scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        data = decoder.decode(text)
    except json.JSONDecodeError as err:
        raise CedarError(Diagnostic(f"invalid JSON: {err.msg}", file=filename, line=err.lineno,
                                    column=err.colno, source_line=source_line(text, err.lineno))) from None
    except RecursionError:
        raise CedarError(Diagnostic("JSON nested too deeply", file=filename)) from None
    return data, positions


# --------------------------------------------------------------------------
# The reader


class _Reader:
    """Builds AST nodes from JSON values, with spans and located errors."""

    def __init__(self, filename: str, text: str, positions: _Positions):
        self.filename = filename
        self.text = text
        self.positions = positions
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    # ---- locations and errors

    def span(self, obj: Any) -> ast.Span | None:
        offset = self.positions.get(obj) if isinstance(obj, dict) else None
        if offset is None:
            return None
        line = _bisect(self._line_starts, offset)
        column = offset - self._line_starts[line - 1] + 1
        return ast.Span(self.filename, line, column, line, column + 1, offset, offset + 1)

    def error(self, message: str, path: str, near: Any = None) -> CedarError:
        span = self.span(near)
        return CedarError(Diagnostic(
            message, file=self.filename, line=span.line if span else None,
            column=span.column if span else None, path=path or "(top level)",
            source_line=source_line(self.text, span.line) if span else None))

    def expect(self, ok: bool, message: str, path: str, near: Any = None) -> None:
        if not ok:
            raise self.error(message, path, near)

    def obj(self, value: Any, path: str, keys: tuple[str, ...], optional: tuple[str, ...] = (),
            near: Any = None) -> dict:
        """`value` as an object with exactly the `keys` (and maybe `optional`)."""
        self.expect(isinstance(value, dict), "expected a JSON object", path, near)
        missing = [k for k in keys if k not in value]
        self.expect(not missing, f"missing {', '.join(repr(k) for k in missing)}", path, value)
        extra = sorted(set(value) - set(keys) - set(optional))
        if extra:
            expected = ", ".join(repr(k) for k in (*keys, *optional))
            raise self.error(f"unexpected key {extra[0]!r} (expected {expected})", path, value)
        return value

    def string(self, value: Any, path: str, near: Any = None) -> str:
        self.expect(isinstance(value, str), "expected a string", path, near)
        return value

    def type_name(self, value: Any, path: str, near: Any = None) -> str:
        name = self.string(value, path, near)
        self.expect(_TYPE_NAME.fullmatch(name) is not None, f"not an entity type name: {name!r}", path, near)
        self.expect(RESERVED_NAMESPACE not in name.split("::"),
                    f"the name {name!r} contains `{RESERVED_NAMESPACE}`, which is reserved", path, near)
        return name

    # ---- the policy set

    def policy_set(self, data: Any) -> ast.PolicySet:
        self.expect(isinstance(data, dict), "expected a Cedar JSON policy set: an object with "
                    "staticPolicies, templates and templateLinks", "")
        if "effect" in data:  # one policy
            return ast.PolicySet((("policy0", self.policy(data, "", template=None)),))
        self.obj(data, "", (), ("staticPolicies", "templates", "templateLinks"))
        entries: list[tuple[str, ast.Policy]] = []
        sections = [key for key in data if key in ("staticPolicies", "templates")]  # in file order
        for section in sections:
            template = section == "templates"
            policies = data[section]
            self.expect(isinstance(policies, dict), "expected an object from policy id to policy",
                        section, policies)
            for pid, policy_json in policies.items():
                path = f"{section}.{_key(pid)}"
                self.expect(pid not in dict(entries), f"duplicate policy id {pid!r}", path, policy_json)
                entries.append((pid, self.policy(policy_json, path, template)))
        links = self.links(data.get("templateLinks", []), dict(entries))
        return ast.PolicySet(tuple(entries), links)

    def links(self, data: Any, policies: dict[str, ast.Policy]) -> tuple[ast.TemplateLink, ...]:
        self.expect(isinstance(data, list), "expected an array of template links", "templateLinks", data)
        out: list[ast.TemplateLink] = []
        ids = set(policies)
        for i, item in enumerate(data):
            path = f"templateLinks[{i}]"
            self.obj(item, path, ("templateId", "newId", "values"))
            template_id = self.string(item["templateId"], f"{path}.templateId", item)
            link_id = self.string(item["newId"], f"{path}.newId", item)
            template = policies.get(template_id)
            if template is None or not template.is_template:
                raise self.error(f"no template with id {template_id!r}", f"{path}.templateId", item)
            self.expect(link_id not in ids, f"duplicate policy id {link_id!r}", f"{path}.newId", item)
            ids.add(link_id)
            values = item["values"]
            self.expect(isinstance(values, dict), "expected an object from slot to entity", f"{path}.values", item)
            self.expect(set(values) == set(template.slots),
                        f"values must give exactly the template's slots: {', '.join(template.slots)}",
                        f"{path}.values", values)
            out.append(ast.TemplateLink(template_id, link_id, tuple(
                (slot, self.entity(values[slot], f"{path}.values.{slot}")) for slot in sorted(values))))
        return tuple(out)

    # ---- one policy

    def policy(self, data: Any, path: str, template: bool | None) -> ast.Policy:
        """One policy; `template` says whether it must (True) or must not
        (False) have slots, None when either is fine."""
        at = f"{path}." if path else ""
        self.obj(data, path, ("effect", "principal", "action", "resource"), ("conditions", "annotations"))
        effect = data["effect"]
        self.expect(effect in ("permit", "forbid"), 'expected "permit" or "forbid"', f"{at}effect", data)
        conditions = data.get("conditions", [])
        self.expect(isinstance(conditions, list), "expected an array of conditions", f"{at}conditions", data)
        policy = ast.Policy(
            effect,
            self.scope(data["principal"], f"{at}principal", "?principal"),
            self.action_scope(data["action"], f"{at}action"),
            self.scope(data["resource"], f"{at}resource", "?resource"),
            tuple(self.condition(c, f"{at}conditions[{i}]") for i, c in enumerate(conditions)),
            self.annotations(data.get("annotations", {}), f"{at}annotations", data),
            span=self.span(data))
        if template is True:
            self.expect(policy.is_template, "a template must have a slot (?principal or ?resource)", path, data)
        elif template is False:
            self.expect(not policy.is_template, "a static policy cannot have slots; put it under templates",
                        path, data)
        return policy

    def annotations(self, data: Any, path: str, near: Any) -> tuple[ast.Annotation, ...]:
        self.expect(isinstance(data, dict), "expected an object from annotation name to value", path, near)
        out = []
        for name, value in data.items():
            self.expect(re.fullmatch(_IDENT, name) is not None, f"not an annotation name: {name!r}",
                        f"{path}.{_key(name)}", data)
            self.expect(value is None or isinstance(value, str), "expected a string or null",
                        f"{path}.{_key(name)}", data)
            out.append(ast.Annotation(name, value, span=self.span(data)))
        return tuple(out)

    def entity(self, data: Any, path: str) -> EntityUID:
        """An entity uid: ``{"type", "id"}``, optionally under ``__entity``."""
        if isinstance(data, dict) and "__entity" in data:
            return self.entity(data["__entity"], f"{path}.__entity")
        self.obj(data, path, ("type", "id"))
        return EntityUID(self.type_name(data["type"], f"{path}.type", data),
                         self.string(data["id"], f"{path}.id", data))

    def target(self, data: dict, path: str, slot: str | None) -> EntityUID | ast.Slot:
        """The ``entity`` or ``slot`` of a scope constraint."""
        if "slot" in data:
            self.expect(slot is not None, "the action scope cannot have a slot", f"{path}.slot", data)
            self.expect(data["slot"] == slot, f"expected the slot {slot!r}", f"{path}.slot", data)
            return ast.Slot(data["slot"], span=self.span(data))
        self.expect("entity" in data, 'expected "entity" or "slot"', path, data)
        return self.entity(data["entity"], f"{path}.entity")

    def scope(self, data: Any, path: str, slot: str) -> ast.Scope:
        self.expect(isinstance(data, dict) and "op" in data, 'expected a scope constraint {"op": ..}', path, data)
        op, span = data["op"], self.span(data)
        if op == "All":
            self.obj(data, path, ("op",))
            return ast.ScopeAny(span=span)
        if op in ("==", "in"):
            self.obj(data, path, ("op",), ("entity", "slot"))
            self.expect(len(data) == 2, 'expected exactly one of "entity" and "slot"', path, data)
            target = self.target(data, path, slot)
            return ast.ScopeEq(target, span=span) if op == "==" else ast.ScopeIn(target, span=span)
        if op == "is":
            self.obj(data, path, ("op", "entity_type"), ("in",))
            in_target = None
            if "in" in data:
                inner = self.obj(data["in"], f"{path}.in", (), ("entity", "slot"))
                self.expect(len(inner) == 1, 'expected exactly one of "entity" and "slot"', f"{path}.in", inner)
                in_target = self.target(inner, f"{path}.in", slot)
            return ast.ScopeIs(self.type_name(data["entity_type"], f"{path}.entity_type", data), in_target, span=span)
        raise self.error(f'unknown scope operator {op!r} (expected "All", "==", "in" or "is")', f"{path}.op", data)

    def action_scope(self, data: Any, path: str) -> ast.Scope:
        self.expect(isinstance(data, dict) and "op" in data, 'expected a scope constraint {"op": ..}', path, data)
        op, span = data["op"], self.span(data)
        if op == "in" and "entities" in data:
            self.obj(data, path, ("op", "entities"))
            entities = data["entities"]
            self.expect(isinstance(entities, list), "expected an array of entities", f"{path}.entities", data)
            return ast.ActionInSet(tuple(self.entity(e, f"{path}.entities[{i}]") for i, e in enumerate(entities)),
                                   span=span)
        self.expect(op != "is", "the action scope cannot use `is`", f"{path}.op", data)
        return self.scope(data, path, slot=None)  # type: ignore[arg-type]

    def condition(self, data: Any, path: str) -> ast.Condition:
        self.obj(data, path, ("kind", "body"))
        kind = data["kind"]
        self.expect(kind in ("when", "unless"), 'expected "when" or "unless"', f"{path}.kind", data)
        return ast.Condition(kind, self.expr(data["body"], f"{path}.body"), span=self.span(data))

    # ---- expressions

    def expr(self, data: Any, path: str) -> ast.Expr:
        self.expect(isinstance(data, dict) and len(data) == 1,
                    "expected an expression: an object with one key", path, data)
        ((key, arg),) = data.items()
        span = self.span(data)
        at = f"{path}.{_key(key)}"
        build = _EXPRESSIONS.get(key)
        if build is not None:
            return build(self, arg, at, span)
        if key in _BINARY:
            left, right = self.operands(arg, at)
            return ast.BinaryOp(key, left, right, span=span)
        if key in _BINARY_METHODS:
            left, right = self.operands(arg, at)
            return ast.MethodCall(left, key, (right,), span=span)
        if key in ("Unknown",):
            raise self.error("partial-evaluation unknowns are not policies", at, data)
        # an extension function or method: its arguments, the receiver first
        self.expect(isinstance(arg, list), f"unknown expression {key!r}", path, data)
        args = tuple(self.expr(a, f"{at}[{i}]") for i, a in enumerate(arg))
        if key in EXTENSION_FUNCTIONS:
            return ast.ExtFun(key, args, span=span)
        self.expect(len(args) >= 1, f"the method {key!r} needs its receiver as the first argument", at, data)
        return ast.MethodCall(args[0], key, args[1:], span=span)

    def operands(self, arg: Any, path: str) -> tuple[ast.Expr, ast.Expr]:
        self.obj(arg, path, ("left", "right"))
        return self.expr(arg["left"], f"{path}.left"), self.expr(arg["right"], f"{path}.right")

    def value(self, data: Any, path: str, span: ast.Span | None, near: Any) -> ast.Expr:
        """A ``Value``: a literal, entity, extension value, set or record."""
        if isinstance(data, bool) or isinstance(data, str):
            return ast.Lit(data, span=span)
        if isinstance(data, int):
            self.expect(LONG_MIN <= data <= LONG_MAX, f"{data} does not fit in a Long (64 bits)", path, near)
            return ast.Lit(data, span=span)
        if isinstance(data, list):
            return ast.SetLit(tuple(self.value(v, f"{path}[{i}]", span, near) for i, v in enumerate(data)),
                              span=span)
        if isinstance(data, dict) and "__entity" in data:
            return ast.EntityLit(self.entity(data["__entity"], f"{path}.__entity"), span=span)
        if isinstance(data, dict) and "__extn" in data:
            extn = self.obj(data["__extn"], f"{path}.__extn", ("fn", "arg"))
            fn = self.string(extn["fn"], f"{path}.__extn.fn", extn)
            self.expect(fn in EXTENSION_FUNCTIONS, f"unknown extension function {fn!r}", f"{path}.__extn.fn", extn)
            return ast.ExtFun(fn, (self.value(extn["arg"], f"{path}.__extn.arg", span, extn),), span=span)
        if isinstance(data, dict):
            return ast.RecordLit(tuple((k, self.value(v, f"{path}.{_key(k)}", span, data)) for k, v in data.items()),
                                 span=span)
        raise self.error("expected a Cedar value (a number, string, boolean, entity, set or record)", path, near)


def _value(r: _Reader, arg: Any, path: str, span) -> ast.Expr:
    return r.value(arg, path, span, arg if isinstance(arg, dict) else None)


def _var(r: _Reader, arg: Any, path: str, span) -> ast.Expr:
    r.expect(arg in VARIABLES, f"expected one of {', '.join(VARIABLES)}", path)
    return ast.Var(arg, span=span)


def _slot(r: _Reader, arg: Any, path: str, span) -> ast.Expr:
    raise r.error("a slot may appear only in the policy scope", path)


def _unary(node: type) -> Callable:
    def build(r: _Reader, arg: Any, path: str, span) -> ast.Expr:
        r.obj(arg, path, ("arg",))
        return node(r.expr(arg["arg"], f"{path}.arg"), span=span)
    return build


def _logical(node: type) -> Callable:
    def build(r: _Reader, arg: Any, path: str, span) -> ast.Expr:
        left, right = r.operands(arg, path)
        return node(left, right, span=span)
    return build


def _is_empty(r: _Reader, arg: Any, path: str, span) -> ast.Expr:
    r.obj(arg, path, ("arg",))
    return ast.MethodCall(r.expr(arg["arg"], f"{path}.arg"), "isEmpty", (), span=span)


def _get_attr(r: _Reader, arg: Any, path: str, span) -> ast.Expr:
    r.obj(arg, path, ("left", "attr"))
    return ast.GetAttr(r.expr(arg["left"], f"{path}.left"), r.string(arg["attr"], f"{path}.attr", arg), span=span)


def _has(r: _Reader, arg: Any, path: str, span) -> ast.Expr:
    r.obj(arg, path, ("left", "attr"))
    return ast.Has(r.expr(arg["left"], f"{path}.left"), (r.string(arg["attr"], f"{path}.attr", arg),), span=span)


def _like(r: _Reader, arg: Any, path: str, span) -> ast.Expr:
    r.obj(arg, path, ("left", "pattern"))
    pattern = arg["pattern"]
    r.expect(isinstance(pattern, list), "expected an array of pattern elements", f"{path}.pattern", arg)
    elems: list[ast.PatternElem] = []
    for i, elem in enumerate(pattern):
        if elem == "Wildcard":
            elems.append(ast.WILDCARD)
            continue
        r.expect(isinstance(elem, dict) and set(elem) == {"Literal"} and isinstance(elem["Literal"], str),
                 '"Wildcard" or {"Literal": "c"}', f"{path}.pattern[{i}]", arg)
        if elems and elems[-1] is not ast.WILDCARD:
            elems[-1] += elem["Literal"]  # adjacent characters merge, as in the parser
        else:
            elems.append(elem["Literal"])
    return ast.Like(r.expr(arg["left"], f"{path}.left"), tuple(elems), span=span)


def _is(r: _Reader, arg: Any, path: str, span) -> ast.Expr:
    r.obj(arg, path, ("left", "entity_type"), ("in",))
    in_expr = r.expr(arg["in"], f"{path}.in") if "in" in arg else None
    return ast.Is(r.expr(arg["left"], f"{path}.left"), r.type_name(arg["entity_type"], f"{path}.entity_type", arg),
                  in_expr, span=span)


def _if(r: _Reader, arg: Any, path: str, span) -> ast.Expr:
    r.obj(arg, path, ("if", "then", "else"))
    return ast.If(r.expr(arg["if"], f"{path}.if"), r.expr(arg["then"], f"{path}.then"),
                  r.expr(arg["else"], f"{path}.else"), span=span)


def _set(r: _Reader, arg: Any, path: str, span) -> ast.Expr:
    r.expect(isinstance(arg, list), "expected an array of expressions", path)
    return ast.SetLit(tuple(r.expr(e, f"{path}[{i}]") for i, e in enumerate(arg)), span=span)


def _record(r: _Reader, arg: Any, path: str, span) -> ast.Expr:
    r.expect(isinstance(arg, dict), "expected an object from attribute to expression", path)
    return ast.RecordLit(tuple((k, r.expr(v, f"{path}.{_key(k)}")) for k, v in arg.items()), span=span)


_EXPRESSIONS: dict[str, Callable[[_Reader, Any, str, Any], ast.Expr]] = {
    "Value": _value, "Var": _var, "Slot": _slot,
    "!": _unary(ast.Not), "neg": _unary(ast.Neg),
    "&&": _logical(ast.And), "||": _logical(ast.Or),
    "isEmpty": _is_empty, ".": _get_attr, "has": _has, "like": _like, "is": _is,
    "if-then-else": _if, "Set": _set, "Record": _record,
}


def _key(name: str) -> str:
    """An object key in a JSON path: bare when it reads as an identifier."""
    return name if re.fullmatch(r"[A-Za-z_?][A-Za-z0-9_]*", name) else json.dumps(name)


def _bisect(starts: list[int], offset: int) -> int:
    """The 1-based line holding `offset`, given each line's start."""
    import bisect

    return bisect.bisect_right(starts, offset)
