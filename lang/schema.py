"""Cedar schemas: the type model shared by the validator and the encoder.

Both schema formats (the Cedar schema syntax, ``.cedarschema``, and the JSON
schema) are read into one `Schema`.  All names here are fully qualified
(``NS::Type``, ``NS::Action::"view"``) once a schema is built.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import lark
import networkx as nx

from cedarscope.lang.diagnostics import CedarError, Diagnostic, elide, source_line
from cedarscope.lang.values import EntityUID

# --------------------------------------------------------------------------
# Types


@dataclass(frozen=True)
class BoolType:
    def __str__(self) -> str:
        return "Bool"


@dataclass(frozen=True)
class LongType:
    def __str__(self) -> str:
        return "Long"


@dataclass(frozen=True)
class StringType:
    def __str__(self) -> str:
        return "String"


@dataclass(frozen=True)
class EntityType:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class SetType:
    elem: CedarType

    def __str__(self) -> str:
        return f"Set<{self.elem}>"


@dataclass(frozen=True)
class Attribute:
    type: CedarType
    required: bool = True


@dataclass(frozen=True)
class RecordType:
    """Attributes in sorted name order (so equal records compare equal)."""

    attrs: tuple[tuple[str, Attribute], ...] = ()

    def get(self, name: str) -> Attribute | None:
        for k, a in self.attrs:
            if k == name:
                return a
        return None

    def __str__(self) -> str:
        inner = ", ".join(f"{k}{'' if a.required else '?'}: {a.type}" for k, a in self.attrs)
        return "{" + inner + "}"


@dataclass(frozen=True)
class ExtensionType:
    name: str  # "decimal" | "ipaddr" | "datetime" | "duration"

    def __str__(self) -> str:
        return self.name


CedarType = Union[BoolType, LongType, StringType, EntityType, SetType, RecordType, ExtensionType]


def record_type(attrs: dict) -> RecordType:
    """A RecordType from a {name: Attribute} dict, in canonical order."""
    return RecordType(tuple(sorted(attrs.items())))


# --------------------------------------------------------------------------
# Declarations


@dataclass(frozen=True)
class EntityTypeDef:
    name: str
    member_of: tuple[str, ...] = ()  # entity types its parents may have
    shape: RecordType = RecordType()
    tags: CedarType | None = None
    enum: tuple[str, ...] | None = None  # the only ids an enum type allows


@dataclass(frozen=True)
class ActionDef:
    uid: EntityUID
    member_of: tuple[EntityUID, ...] = ()  # action groups it is directly in
    principal_types: tuple[str, ...] = ()
    resource_types: tuple[str, ...] = ()
    context: RecordType = RecordType()


@dataclass(frozen=True)
class RequestEnv:
    """One request environment: the principal type, the action and the
    resource type of a request the schema allows."""

    principal_type: str
    action: EntityUID
    resource_type: str

    def __str__(self) -> str:
        return f"{self.principal_type}, {self.action}, {self.resource_type}"


@dataclass
class Schema:
    entity_types: dict[str, EntityTypeDef] = field(default_factory=dict)
    actions: dict[EntityUID, ActionDef] = field(default_factory=dict)

    # ----------------------------------------------------------------------
    # Queries over the schema

    def environments(self) -> list[RequestEnv]:
        """Every (principal type, action, resource type) the schema allows,
        ordered by action, then principal type, then resource type."""
        envs = []
        for uid in sorted(self.actions):
            action = self.actions[uid]
            for p in sorted(action.principal_types):
                for r in sorted(action.resource_types):
                    envs.append(RequestEnv(p, uid, r))
        return envs

    def action_ancestors(self, uid: EntityUID) -> frozenset[EntityUID]:
        """The action groups `uid` is transitively in (not itself)."""
        def closure():
            graph = self.action_graph()
            return {n: frozenset(nx.descendants(graph, n)) for n in graph.nodes}

        return self._cached("_action_closure", self.actions, closure).get(uid, frozenset())

    def _cached(self, key: str, source: dict, compute):
        """`compute()`, remembered until an entry of `source` (a dict of
        frozen declarations) is added, removed or replaced."""
        snapshot = tuple(source.items())
        hit = self.__dict__.get(key)
        if hit is not None and len(hit[0]) == len(snapshot) and all(
            a is c and b is d for (a, b), (c, d) in zip(hit[0], snapshot, strict=False)
        ):
            return hit[1]
        value = compute()
        self.__dict__[key] = (snapshot, value)
        return value

    def action_entities(self) -> list[Entity]:
        """The schema's actions as entities (no attributes, their direct
        groups as parents), as Cedar adds them to an entity store."""
        from cedarscope.lang.entities import Entity  # lang.entities imports this module

        return [
            Entity(uid, parents=frozenset(self.actions[uid].member_of))
            for uid in sorted(self.actions)
        ]

    def action_graph(self) -> nx.DiGraph:
        """Action group edges, action -> group it is directly in."""
        g = nx.DiGraph()
        for uid, action in self.actions.items():
            g.add_node(uid)
            for group in action.member_of:
                g.add_edge(uid, group)
        return g

    def type_graph(self) -> nx.DiGraph:
        """The memberOf relation on entity types, child type -> parent type."""
        g = nx.DiGraph()
        for name, et in self.entity_types.items():
            g.add_node(name)
            for parent in et.member_of:
                g.add_edge(name, parent)
        return g

    def descendant_types(self, name: str) -> frozenset[str]:
        """Entity types whose entities may be transitively `in` an entity of
        type `name` through at least one memberOf step (`name` itself only
        when the memberOf relation has a cycle through it)."""
        return self._type_closure("_descendant_types", True).get(name, frozenset())

    def ancestor_types(self, name: str) -> frozenset[str]:
        """Entity types an entity of type `name` may be transitively `in`
        through at least one memberOf step.  Cedar lets an entity's direct
        parent have any of these types."""
        return self._type_closure("_ancestor_types", False).get(name, frozenset())

    def _type_closure(self, key: str, reverse: bool) -> dict[str, frozenset[str]]:
        def closure():
            graph = self.type_graph()
            if reverse:
                graph = graph.reverse(copy=False)
            return {n: _reach(graph, n) for n in graph.nodes}

        return self._cached(key, self.entity_types, closure)

    def is_enum(self, name: str) -> bool:
        et = self.entity_types.get(name)
        return et is not None and et.enum is not None


def _reach(graph: nx.DiGraph, start: str) -> frozenset[str]:
    """Nodes reachable from `start` by one or more edges."""
    if start not in graph:
        return frozenset()
    found: set[str] = set()
    for succ in graph.successors(start):
        found.add(succ)
        found |= nx.descendants(graph, succ)
    return frozenset(found)


# --------------------------------------------------------------------------
# Reading schemas.  Both formats are first read into unresolved declarations
# (`_RawNamespace`), and one resolver turns those into a `Schema`, so the two
# formats share Cedar's name-resolution rules exactly.

_IDENT_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*\Z")
_PATH_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*(::[_a-zA-Z][_a-zA-Z0-9]*)*\Z")
PRIMITIVES = {"Bool": BoolType(), "Long": LongType(), "String": StringType()}
EXTENSIONS = ("ipaddr", "decimal", "datetime", "duration")
# Names a common type may not take (Cedar reserves them for the JSON format).
RESERVED_TYPE_NAMES = frozenset(
    {"Bool", "Boolean", "String", "Long", "Set", "Record", "Entity", "Extension"}
)


@dataclass(frozen=True)
class _Where:
    """Where a declaration was written: a line and column (Cedar syntax) or
    a JSON path (JSON format)."""

    file: str
    line: int | None = None
    column: int | None = None
    path: str | None = None
    source_line: str | None = None

    def error(self, message: str) -> CedarError:
        path = elide(self.path, 160) if self.path else self.path
        return CedarError(
            Diagnostic(elide(message), self.file, self.line, self.column, path, self.source_line)
        )


@dataclass(frozen=True)
class _Ref:
    """A type written by name.  `kind` says what it may name: "any" (an entity
    or common type or a built-in, Cedar's EntityOrCommon), "common" (a common
    type or a built-in: the JSON format's `{"type": "Name"}`), "entity" or
    "extension" (the JSON format's explicit forms)."""

    name: str
    where: _Where
    kind: str = "any"


@dataclass(frozen=True)
class _RawSet:
    elem: _RawType


@dataclass(frozen=True)
class _RawRecord:
    attrs: tuple[tuple[str, _RawType, bool], ...]  # (name, type, required)


_RawType = Union[BoolType, LongType, StringType, _Ref, _RawSet, _RawRecord]


@dataclass
class _RawEntity:
    name: str
    where: _Where
    member_of: list[tuple[str, _Where]] = field(default_factory=list)
    shape: _RawType | None = None
    tags: _RawType | None = None
    enum: tuple[str, ...] | None = None


@dataclass
class _RawAction:
    name: str
    where: _Where
    member_of: list[tuple[str | None, str, _Where]] = field(default_factory=list)
    applies_to: bool = False
    principals: list[tuple[str, _Where]] = field(default_factory=list)
    resources: list[tuple[str, _Where]] = field(default_factory=list)
    context: _RawType | None = None


@dataclass
class _RawNamespace:
    name: str  # "" for the empty namespace
    where: _Where
    common: dict[str, tuple[_RawType, _Where]] = field(default_factory=dict)
    entities: dict[str, _RawEntity] = field(default_factory=dict)
    actions: dict[str, _RawAction] = field(default_factory=dict)

    def qualify(self, name: str) -> str:
        return f"{self.name}::{name}" if self.name else name

    @property
    def action_type(self) -> str:
        return self.qualify("Action")


def parse_schema(text: str, filename: str = "<schema>") -> Schema:
    """A schema from Cedar schema syntax, or from the JSON format when the
    text starts with `{`."""
    try:
        if text.lstrip().startswith("{"):
            namespaces = _read_json_schema(text, filename)
        else:
            namespaces = _read_cedar_schema(text, filename)
        return _Resolver(namespaces).schema()
    except RecursionError:  # types nested thousands deep
        raise CedarError(Diagnostic("the schema's types are nested too deeply", filename)) from None


def load_schema(path) -> Schema:
    from cedarscope.lang.files import read_text

    return parse_schema(read_text(path, "schema file"), str(path))


# --------------------------------------------------------------------------
# Cedar schema syntax


_GRAMMAR_PATH = Path(__file__).with_name("schema_grammar.lark")
_parser: lark.Lark | None = None


def _cedar_parser() -> lark.Lark:
    global _parser
    if _parser is None:
        _parser = lark.Lark(
            _GRAMMAR_PATH.read_text(encoding="utf-8"),
            parser="lalr",
            propagate_positions=True,
            maybe_placeholders=False,
        )
    return _parser


_TOKEN_NAMES = {
    "IDENT": "an identifier", "STRING": "a string", "SEMICOLON": "`;`",
    "LBRACE": "`{`", "RBRACE": "`}`", "LSQB": "`[`", "RSQB": "`]`",
    "LPAR": "`(`", "RPAR": "`)`", "COMMA": "`,`", "COLON": "`:`",
    "EQUAL": "`=`", "LESSTHAN": "`<`", "MORETHAN": "`>`", "OPTIONAL": "`?`",
    "ANNOTATION": "an annotation", "SET": "`Set`", "PRINCIPAL": "`principal`",
    "RESOURCE": "`resource`", "CONTEXT": "`context`", "ATTRIBUTES": "`attributes`",
}


def _expected(names) -> str:
    """The tokens the parser would have accepted, as a person reads them."""
    words = set()
    for n in names:
        if n in _TOKEN_NAMES:
            words.add(_TOKEN_NAMES[n])
        elif n == "$END":
            words.add("end of input")
        else:
            pattern = _cedar_parser().get_terminal(n).pattern
            if isinstance(pattern, lark.lexer.PatternStr):
                words.add(f"`{pattern.value}`")
    return ", ".join(sorted(words)) or "something else"


def _read_cedar_schema(text: str, filename: str) -> list[_RawNamespace]:
    try:
        tree = _cedar_parser().parse(text)
    except lark.exceptions.UnexpectedInput as e:
        line, column = e.line, e.column
        if isinstance(e, lark.exceptions.UnexpectedToken) and e.interactive_parser is not None:
            # LALR merges lookaheads of similar states; ask what truly fits here.
            e.expected = e.interactive_parser.accepts() or e.expected
        if isinstance(e, lark.exceptions.UnexpectedToken) and e.token.type == "$END":
            message = f"unexpected end of input; expected {_expected(e.expected)}"
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
        elif isinstance(e, lark.exceptions.UnexpectedToken):
            message = f"unexpected token `{e.token}`; expected {_expected(e.expected)}"
        elif isinstance(e, lark.exceptions.UnexpectedCharacters):
            expected = _expected(e.allowed) if e.allowed else "a token"
            message = f"unexpected character `{text[e.pos_in_stream]}`; expected {expected}"
        else:
            message = "syntax error"
        raise CedarError(
            Diagnostic(message, filename, line, column, source_line=source_line(text, line))
        )
    return _CedarSchemaReader(text, filename).read(tree)


class _CedarSchemaReader:
    """Cedar schema syntax tree -> unresolved declarations."""

    def __init__(self, text: str, filename: str):
        self.text = text
        self.filename = filename

    def where(self, node) -> _Where:
        if isinstance(node, lark.Token):
            line, column = node.line, node.column
        else:
            line, column = node.meta.line, node.meta.column
        return _Where(self.filename, line, column, source_line=source_line(self.text, line))

    def read(self, tree: lark.Tree) -> list[_RawNamespace]:
        empty = _RawNamespace("", _Where(self.filename, 1, 1))
        namespaces = {"": empty}
        for item in tree.children:
            if item.data == "namespace":
                path = next(c for c in item.children if c.data == "path")
                name = self.path(path)
                if name in namespaces and name != "":
                    raise self.where(path).error(f"duplicate namespace id: `{name}`")
                ns = _RawNamespace(name, self.where(path))
                namespaces[name] = ns
                for decl in item.children:
                    if decl.data not in ("annotation", "path"):
                        self.declaration(ns, decl)
            else:
                self.declaration(empty, item)
        return list(namespaces.values())

    def declaration(self, ns: _RawNamespace, decl: lark.Tree) -> None:
        getattr(self, decl.data)(ns, decl)

    def _declare(self, table: dict, name: str, where: _Where, value) -> None:
        if name in table:
            raise where.error(f"`{name}` is declared twice")
        table[name] = value

    def entity_decl(self, ns: _RawNamespace, decl: lark.Tree) -> None:
        parts = {c.data: c for c in decl.children if isinstance(c, lark.Tree)}
        for ident in parts["idents"].children:
            entity = _RawEntity(str(ident), self.where(ident))
            if "entity_parents" in parts:
                entity.member_of = self.entity_types(parts["entity_parents"].children[0])
            if "entity_shape" in parts:
                entity.shape = self.type(parts["entity_shape"].children[0])
            if "entity_tags" in parts:
                entity.tags = self.type(parts["entity_tags"].children[0])
            self._declare(ns.entities, str(ident), entity.where, entity)

    def enum_decl(self, ns: _RawNamespace, decl: lark.Tree) -> None:
        idents = next(c for c in decl.children if c.data == "idents")
        values = tuple(self.string(c) for c in decl.children if c.data == "string")
        for ident in idents.children:
            entity = _RawEntity(str(ident), self.where(ident), enum=values)
            self._declare(ns.entities, str(ident), entity.where, entity)

    def action_decl(self, ns: _RawNamespace, decl: lark.Tree) -> None:
        parts = {c.data: c for c in decl.children if isinstance(c, lark.Tree)}
        if "action_attributes" in parts:
            raise self.where(parts["action_attributes"]).error(
                "action attributes are not supported in Cedar schema syntax"
            )
        for name_node in parts["names"].children:
            action = _RawAction(self.name(name_node), self.where(name_node))
            if "action_parents" in parts:
                action.member_of = [
                    self.action_ref(r) for r in parts["action_parents"].children[0].children
                ]
            if "applies_to" in parts:
                self.applies_to(action, parts["applies_to"])
            self._declare(ns.actions, action.name, action.where, action)

    def applies_to(self, action: _RawAction, node: lark.Tree) -> None:
        action.applies_to = True
        seen = set()
        for item in node.children:
            key, value = str(item.children[0]), item.children[1]
            if key in seen:
                raise self.where(item).error(
                    f"duplicate `{key}` declaration in action `{action.name}`"
                )
            seen.add(key)
            if key == "context":
                action.context = self.type(value)
                continue
            types = self.entity_types(value)
            if not types:
                raise self.where(item).error(
                    f"for action `{action.name}`, `{key}` is `[]`, which is invalid"
                )
            setattr(action, key + "s", types)
        for key in ("principal", "resource"):
            if key not in seen:
                raise self.where(node).error(
                    f"missing `{key}` declaration for `{action.name}`"
                )

    def type_decl(self, ns: _RawNamespace, decl: lark.Tree) -> None:
        children = [c for c in decl.children if not (isinstance(c, lark.Tree) and c.data == "annotation")]
        ident, body = children
        if str(ident) in RESERVED_TYPE_NAMES:
            raise self.where(ident).error(f"this uses a reserved schema keyword: `{ident}`")
        self._declare(ns.common, str(ident), self.where(ident), (self.type(body), self.where(ident)))

    # Types

    def type(self, node: lark.Tree) -> _RawType:
        kind = node.data
        if kind == "type_ref":
            return _Ref(self.path(node.children[0]), self.where(node))
        if kind == "set_as_name":
            return _Ref("Set", self.where(node))
        if kind == "set_type":
            return _RawSet(self.type(node.children[1]))
        if kind == "record_type":
            attrs = {}
            for attr in node.children:
                parts = [c for c in attr.children if not (isinstance(c, lark.Tree) and c.data == "annotation")]
                optional = any(isinstance(c, lark.Token) and c.type == "OPTIONAL" for c in parts)
                name = self.name(parts[0])
                # A repeated attribute name: the last declaration wins, as in Cedar.
                attrs.pop(name, None)
                attrs[name] = (name, self.type(parts[-1]), not optional)
            return _RawRecord(tuple(attrs.values()))
        raise self.where(node).error(f"unexpected type syntax `{kind}`")

    def entity_types(self, node: lark.Tree) -> list[tuple[str, _Where]]:
        return [(self.path(p), self.where(p)) for p in node.children]

    def action_ref(self, node: lark.Tree) -> tuple[str | None, str, _Where]:
        if node.data == "qualified_action":
            path, string = node.children
            return self.path(path), self.string(string), self.where(node)
        return None, self.name(node.children[0]), self.where(node)

    # Lexical pieces

    def path(self, node: lark.Tree) -> str:
        parts = []
        while isinstance(node, lark.Tree):
            parts.append(str(node.children[-1]))
            node = node.children[0] if len(node.children) > 1 else None
        return "::".join(reversed(parts))

    def name(self, node: lark.Tree) -> str:
        child = node.children[0]
        if isinstance(child, lark.Tree):
            return self.string(child)
        return str(child)

    def string(self, node: lark.Tree) -> str:
        token = node.children[0]
        try:
            return unescape_cedar_string(str(token)[1:-1])
        except ValueError as e:
            raise self.where(token).error(str(e))


_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "0": "\0", "'": "'", '"': '"'}


def unescape_cedar_string(body: str) -> str:
    """The value of a Cedar string literal's body (between the quotes)."""
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and body[i + 2 : i + 3] == "{":
            end = body.find("}", i + 3)
            digits = body[i + 3 : end] if end != -1 else ""
            if not (1 <= len(digits) <= 6) or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ValueError(f"invalid unicode escape `{body[i:end + 1 or None]}`")
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise ValueError(f"invalid unicode escape `{body[i:end + 1]}`")
            out.append(chr(code))
            i = end + 1
        else:
            raise ValueError(f"invalid escape `\\{nxt}`")
    return "".join(out)


# --------------------------------------------------------------------------
# JSON schema format


def _read_json_schema(text: str, filename: str) -> list[_RawNamespace]:
    from cedarscope.lang.files import load_json

    return _JsonSchemaReader(filename).read(load_json(text, filename))


class _JsonSchemaReader:
    """Cedar JSON schema -> unresolved declarations.  Locations are JSON paths."""

    def __init__(self, filename: str):
        self.filename = filename

    def where(self, path: str) -> _Where:
        return _Where(self.filename, path=path or "(top level)")

    def mapping(self, value, path: str, what: str) -> dict:
        """A JSON object whose keys are names chosen by the schema's author."""
        if not isinstance(value, dict):
            raise self.where(path).error(f"expected {what} (a JSON object), got {_json_kind(value)}")
        return value

    def object(self, value, path: str, allowed: set[str], what: str) -> dict:
        """A JSON object with a fixed set of fields."""
        self.mapping(value, path, what)
        for key in value:
            if key not in allowed:
                raise self.where(_join(path, key)).error(
                    f"unknown field `{key}` in {what}; expected one of {', '.join(sorted(allowed))}"
                )
        return value

    def list(self, value, path: str, what: str) -> list:
        if not isinstance(value, list):
            raise self.where(path).error(f"expected {what} (a JSON array), got {_json_kind(value)}")
        return value

    def str(self, value, path: str, what: str) -> str:
        if not isinstance(value, str):
            raise self.where(path).error(f"expected {what} (a string), got {_json_kind(value)}")
        return value

    def ident(self, name: str, path: str) -> str:
        if not _IDENT_RE.match(name):
            raise self.where(path).error(f"invalid id `{name}`")
        return name

    def name(self, value, path: str, what: str) -> str:
        """A type name: an identifier, possibly qualified (`A::B::C`)."""
        name = self.str(value, path, what)
        if not _PATH_RE.match(name):
            raise self.where(path).error(f"invalid name `{name}`")
        return name

    def read(self, data) -> list[_RawNamespace]:
        if not isinstance(data, dict):
            raise self.where("").error(f"expected a JSON object of namespaces, got {_json_kind(data)}")
        namespaces = []
        for name, body in data.items():
            path = _join("", name)
            self.object(body, path, {"entityTypes", "actions", "commonTypes", "annotations"}, "a namespace")
            for required in ("entityTypes", "actions"):
                if required not in body:
                    raise self.where(path).error(f"missing field `{required}`")
            if name and not _PATH_RE.match(name):
                raise self.where(path).error(f"invalid namespace `{name}`")
            ns = _RawNamespace(name, self.where(path))
            common = self.mapping(body.get("commonTypes", {}), _join(path, "commonTypes"), "common types")
            for tname, tbody in common.items():
                tpath = _join(path, "commonTypes", tname)
                self.ident(tname, tpath)
                if tname in RESERVED_TYPE_NAMES:
                    raise self.where(tpath).error(f"this uses a reserved schema keyword: `{tname}`")
                ns.common[tname] = (self.type(tbody, tpath), self.where(tpath))
            entity_types = self.mapping(body["entityTypes"], _join(path, "entityTypes"), "entity types")
            for ename, ebody in entity_types.items():
                self.ident(ename, _join(path, "entityTypes", ename))
                ns.entities[ename] = self.entity(ename, ebody, _join(path, "entityTypes", ename))
            actions = self.mapping(body["actions"], _join(path, "actions"), "actions")
            for aname, abody in actions.items():
                ns.actions[aname] = self.action(aname, abody, _join(path, "actions", aname))
            namespaces.append(ns)
        return namespaces

    def entity(self, name: str, body, path: str) -> _RawEntity:
        if isinstance(body, dict) and "enum" in body:
            # an enum entity type is its list of ids and nothing else (as in Cedar)
            self.object(body, path, {"enum", "annotations"}, "an enum entity type")
        else:
            self.object(body, path, {"memberOfTypes", "shape", "tags", "annotations"}, "an entity type")
        entity = _RawEntity(name, self.where(path))
        mpath = _join(path, "memberOfTypes")
        for i, parent in enumerate(self.list(body.get("memberOfTypes", []), mpath, "entity type names")):
            ppath = f"{mpath}[{i}]"
            entity.member_of.append((self.name(parent, ppath, "an entity type name"), self.where(ppath)))
        if "shape" in body:
            entity.shape = self.type(body["shape"], _join(path, "shape"))
        if "tags" in body:
            entity.tags = self.type(body["tags"], _join(path, "tags"))
        if "enum" in body:
            epath = _join(path, "enum")
            values = self.list(body["enum"], epath, "enum values")
            entity.enum = tuple(self.str(v, f"{epath}[{i}]", "an enum value") for i, v in enumerate(values))
            if not values:
                raise self.where(epath).error("an enum entity type needs at least one value")
        return entity

    def action(self, name: str, body, path: str) -> _RawAction:
        if body is None:
            body = {}
        self.object(body, path, {"memberOf", "appliesTo", "attributes", "annotations"}, "an action")
        if "attributes" in body:
            raise self.where(_join(path, "attributes")).error("action attributes are not supported")
        action = _RawAction(name, self.where(path))
        mpath = _join(path, "memberOf")
        for i, ref in enumerate(self.list(body.get("memberOf") or [], mpath, "action references")):
            rpath = f"{mpath}[{i}]"
            self.object(ref, rpath, {"id", "type"}, "an action reference")
            if "id" not in ref:
                raise self.where(rpath).error("missing field `id`")
            type_ = self.name(ref["type"], _join(rpath, "type"), "an action type") if "type" in ref else None
            action.member_of.append((type_, self.str(ref["id"], _join(rpath, "id"), "an action id"), self.where(rpath)))
        applies = body.get("appliesTo")
        if applies is not None:
            apath = _join(path, "appliesTo")
            self.object(applies, apath, {"principalTypes", "resourceTypes", "context"}, "appliesTo")
            action.applies_to = True
            for key, attr in (("principalTypes", "principals"), ("resourceTypes", "resources")):
                if key not in applies:
                    raise self.where(apath).error(f"missing field `{key}`")
                kpath = _join(apath, key)
                names = self.list(applies[key], kpath, "entity type names")
                setattr(action, attr, [
                    (self.name(n, f"{kpath}[{i}]", "an entity type name"), self.where(f"{kpath}[{i}]"))
                    for i, n in enumerate(names)
                ])
            if "context" in applies:
                action.context = self.type(applies["context"], _join(apath, "context"))
        return action

    def type(self, body, path: str) -> _RawType:
        if not isinstance(body, dict) or "type" not in body:
            raise self.where(path).error("expected a type (a JSON object with a `type` field)")
        kind = self.name(body["type"], _join(path, "type"), "a type name")
        allowed = {"type", "required", "annotations"}
        if kind == "Set":
            self.object(body, path, allowed | {"element"}, "a Set type")
            if "element" not in body:
                raise self.where(path).error("missing field `element`")
            return _RawSet(self.type(body["element"], _join(path, "element")))
        if kind == "Record":
            self.object(body, path, allowed | {"attributes", "additionalAttributes"}, "a Record type")
            if body.get("additionalAttributes", False) is not False:
                raise self.where(_join(path, "additionalAttributes")).error(
                    "records with additional attributes are not supported"
                )
            apath = _join(path, "attributes")
            if "attributes" not in body:
                raise self.where(path).error("missing field `attributes`")
            attrs = body["attributes"]
            self.mapping(attrs, apath, "attributes")
            fields = []
            for aname, abody in attrs.items():
                tpath = _join(apath, aname)
                required = abody.get("required", True) if isinstance(abody, dict) else True
                if not isinstance(required, bool):
                    raise self.where(_join(tpath, "required")).error("expected `required` to be true or false")
                fields.append((aname, self.type(abody, tpath), required))
            return _RawRecord(tuple(fields))
        if kind in ("Entity", "Extension", "EntityOrCommon"):
            self.object(body, path, allowed | {"name"}, f"an {kind} type")
            if "name" not in body:
                raise self.where(path).error("missing field `name`")
            name = self.name(body["name"], _join(path, "name"), "a type name")
            ref_kind = {"Entity": "entity", "Extension": "extension", "EntityOrCommon": "any"}[kind]
            return _Ref(name, self.where(path), ref_kind)
        self.object(body, path, allowed, "a type")
        if kind == "Boolean":
            return BoolType()
        if kind in ("Long", "String"):
            return PRIMITIVES[kind]
        # Any other name is a common type (or a built-in), never an entity type.
        return _Ref(kind, self.where(path), "common")


def _join(path: str, *keys: str) -> str:
    for key in keys:
        plain = key.replace("_", "a").isalnum() and not key[:1].isdigit()
        part = key if plain else json.dumps(key)
        path = f"{path}.{part}" if path else part
    return path


def _json_kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# --------------------------------------------------------------------------
# Name resolution (Cedar's rules): an unqualified name `T` written in
# namespace `NS` is the common type `NS::T`, else the entity type `NS::T`,
# else the common type `T` of the empty namespace, else the entity type `T`,
# else the built-in `__cedar::T`.  A qualified name is absolute.  A
# namespace may not redeclare a name of the empty namespace.


class _Resolver:
    def __init__(self, namespaces: list[_RawNamespace]):
        self.namespaces = namespaces
        self.common: dict[str, tuple[_RawType, _Where, _RawNamespace]] = {}
        self.entity_names: dict[str, _Where] = {}
        self.action_names: set[EntityUID] = set()
        self.resolved_common: dict[str, CedarType] = {}
        self.resolving: list[str] = []
        empty = next((ns for ns in namespaces if ns.name == ""), None)
        empty_names = set(empty.common) | set(empty.entities) if empty else set()
        for ns in namespaces:
            if "__cedar" in ns.name.split("::"):
                raise ns.where.error("use of the reserved `__cedar` namespace")
            for name, (raw, where) in ns.common.items():
                if name == "__cedar":
                    raise where.error("use of the reserved `__cedar` namespace")
                if ns.name and name in empty_names:
                    raise where.error(f"definition of `{ns.qualify(name)}` illegally shadows the existing definition of `{name}`")
                self.common[ns.qualify(name)] = (raw, where, ns)
            for name, entity in ns.entities.items():
                if name == "__cedar":
                    raise entity.where.error("use of the reserved `__cedar` namespace")
                if name == "Action":
                    # `Action` is the type of the namespace's actions.
                    raise entity.where.error("entity type `Action` declared in `entityTypes` list")
                if ns.name and name in empty_names:
                    raise entity.where.error(f"definition of `{ns.qualify(name)}` illegally shadows the existing definition of `{name}`")
                self.entity_names[ns.qualify(name)] = entity.where
            for name in ns.actions:
                self.action_names.add(EntityUID(ns.action_type, name))
        # An action entity type may be named as an attribute's type.
        self.action_types = {uid.type for uid in self.action_names}

    def schema(self) -> Schema:
        schema = Schema()
        for ns in self.namespaces:
            for name, (raw, where) in ns.common.items():
                self.common_type(ns.qualify(name), where)
            for name, raw in ns.entities.items():
                schema.entity_types[ns.qualify(name)] = self.entity_type(ns, raw)
            for name, raw in ns.actions.items():
                action = self.action(ns, raw)
                schema.actions[action.uid] = action
        self.check_action_groups(schema)
        return schema

    def entity_type(self, ns: _RawNamespace, raw: _RawEntity) -> EntityTypeDef:
        shape = RecordType()
        if raw.shape is not None:
            shape = self.type(raw.shape, ns)
            if not isinstance(shape, RecordType):
                raise raw.where.error(f"the shape of entity type `{ns.qualify(raw.name)}` must be a record, not {shape}")
        tags = self.type(raw.tags, ns) if raw.tags is not None else None
        member_of = tuple(dict.fromkeys(self.entity_ref(n, w, ns) for n, w in raw.member_of))
        return EntityTypeDef(ns.qualify(raw.name), member_of, shape, tags, raw.enum)

    def action(self, ns: _RawNamespace, raw: _RawAction) -> ActionDef:
        uid = EntityUID(ns.action_type, raw.name)
        member_of = tuple(dict.fromkeys(self.action_ref(t, i, w, ns) for t, i, w in raw.member_of))
        principals = tuple(dict.fromkeys(self.entity_ref(n, w, ns) for n, w in raw.principals))
        resources = tuple(dict.fromkeys(self.entity_ref(n, w, ns) for n, w in raw.resources))
        context = RecordType()
        if raw.context is not None:
            context = self.type(raw.context, ns)
            if not isinstance(context, RecordType):
                raise raw.where.error(f"context for action {uid} is declared with a type other than `Record`")
        return ActionDef(uid, member_of, principals, resources, context)

    def check_action_groups(self, schema: Schema) -> None:
        graph = schema.action_graph()
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return
        uid = cycle[0][0]
        raise _action_where(self.namespaces, uid).error(f"cycle in action hierarchy containing `{uid}`")

    # References

    def entity_ref(self, name: str, where: _Where, ns: _RawNamespace, actions: bool = False) -> str:
        """An entity type name: `NS::name` if declared, else `name`.  Action
        entity types count only where a value's type is meant (`actions`)."""
        declared = self.entity_names.keys() | (self.action_types if actions else set())
        if "::" not in name and ns.qualify(name) in declared:
            return ns.qualify(name)
        if name in declared:
            return name
        raise where.error(f"undeclared entity type `{name}`")

    def action_ref(self, type_: str | None, id_: str, where: _Where, ns: _RawNamespace) -> EntityUID:
        candidates = [EntityUID(ns.action_type, id_)] if type_ is None else []
        if type_ is not None:
            if "::" not in type_:
                candidates.append(EntityUID(ns.qualify(type_), id_))
            candidates.append(EntityUID(type_, id_))
        for uid in candidates:
            if uid in self.action_names:
                return uid
        raise where.error(f"undeclared action: {candidates[-1]}")

    def type(self, raw: _RawType, ns: _RawNamespace) -> CedarType:
        if isinstance(raw, (BoolType, LongType, StringType)):
            return raw
        if isinstance(raw, _RawSet):
            return SetType(self.type(raw.elem, ns))
        if isinstance(raw, _RawRecord):
            return record_type({name: Attribute(self.type(t, ns), req) for name, t, req in raw.attrs})
        if raw.kind == "entity":
            return EntityType(self.entity_ref(raw.name, raw.where, ns, actions=True))
        if raw.kind == "extension":
            if raw.name not in EXTENSIONS:
                raise raw.where.error(f"unknown extension type `{raw.name}`")
            return ExtensionType(raw.name)
        return self.named_type(raw.name, raw.where, ns, entities=raw.kind == "any")

    def named_type(self, name: str, where: _Where, ns: _RawNamespace, entities: bool) -> CedarType:
        if name.startswith("__cedar::"):
            builtin = self.builtin(name.removeprefix("__cedar::"))
            if builtin is None:
                raise where.error(f"failed to resolve type: {name}")
            return builtin
        candidates = [name] if "::" in name else [ns.qualify(name), name]
        for fq in dict.fromkeys(candidates):
            if fq in self.common:
                return self.common_type(fq, where)
            if entities and (fq in self.entity_names or fq in self.action_types):
                return EntityType(fq)
        builtin = self.builtin(name) if "::" not in name else None
        if builtin is None:
            raise where.error(f"failed to resolve type: {name}")
        return builtin

    @staticmethod
    def builtin(name: str) -> CedarType | None:
        if name in PRIMITIVES:
            return PRIMITIVES[name]
        if name in EXTENSIONS:
            return ExtensionType(name)
        return None

    def common_type(self, fq: str, where: _Where) -> CedarType:
        if fq in self.resolved_common:
            return self.resolved_common[fq]
        if fq in self.resolving:
            raise where.error(f"cycle in common type references containing `{fq.split('::')[-1]}`")
        raw, _, ns = self.common[fq]
        self.resolving.append(fq)
        resolved = self.type(raw, ns)
        self.resolving.pop()
        self.resolved_common[fq] = resolved
        return resolved


def _action_where(namespaces: list[_RawNamespace], uid: EntityUID) -> _Where:
    for ns in namespaces:
        if ns.action_type == uid.type and uid.id in ns.actions:
            return ns.actions[uid.id].where
    return namespaces[0].where if namespaces else _Where("<schema>")


# --------------------------------------------------------------------------
# Writing the JSON schema format.  Every name is written fully qualified
# (a qualified name is absolute in Cedar), types are written with their
# explicit forms, and common types are inlined.


def schema_to_json(schema: Schema) -> dict:
    namespaces: dict[str, dict] = {}

    def namespace(name: str) -> dict:
        return namespaces.setdefault(name, {"entityTypes": {}, "actions": {}})

    for name in sorted(schema.entity_types):
        et = schema.entity_types[name]
        ns, _, basename = name.rpartition("::")
        body: dict = {}
        if et.enum is not None:
            body["enum"] = list(et.enum)
        if et.member_of:
            body["memberOfTypes"] = list(et.member_of)
        if et.shape.attrs:
            body["shape"] = type_to_json(et.shape)
        if et.tags is not None:
            body["tags"] = type_to_json(et.tags)
        namespace(ns)["entityTypes"][basename] = body
    for uid in sorted(schema.actions):
        action = schema.actions[uid]
        ns = uid.type.rpartition("::")[0]
        body = {}
        if action.member_of:
            body["memberOf"] = [{"type": g.type, "id": g.id} for g in action.member_of]
        if action.principal_types and action.resource_types:
            applies: dict = {
                "principalTypes": list(action.principal_types),
                "resourceTypes": list(action.resource_types),
            }
            if action.context.attrs:
                applies["context"] = type_to_json(action.context)
            body["appliesTo"] = applies
        namespace(ns)["actions"][uid.id] = body
    return {name: namespaces[name] for name in sorted(namespaces)}


def type_to_json(t: CedarType) -> dict:
    """A type in the JSON schema format."""
    if isinstance(t, BoolType):
        return {"type": "Boolean"}
    if isinstance(t, LongType):
        return {"type": "Long"}
    if isinstance(t, StringType):
        return {"type": "String"}
    if isinstance(t, EntityType):
        return {"type": "Entity", "name": t.name}
    if isinstance(t, ExtensionType):
        return {"type": "Extension", "name": t.name}
    if isinstance(t, SetType):
        return {"type": "Set", "element": type_to_json(t.elem)}
    if isinstance(t, RecordType):
        attrs = {}
        for name, attr in t.attrs:
            body = type_to_json(attr.type)
            if not attr.required:
                body["required"] = False
            attrs[name] = body
        return {"type": "Record", "attributes": attrs}
    raise TypeError(f"not a schema type: {t!r}")
