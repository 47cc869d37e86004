"""Cedar schema syntax (``.cedarschema``) -> unresolved declarations."""

from __future__ import annotations

from pathlib import Path

import lark

from cedarscope.lang.diagnostics import CedarError, Diagnostic, source_line
from cedarscope.lang.lark_cache import lalr_parser
from cedarscope.lang.schema.raw import (
    RESERVED_TYPE_NAMES,
    RawAction,
    RawEntity,
    RawNamespace,
    RawRecord,
    RawRef,
    RawSet,
    RawType,
    Where,
)

_GRAMMAR_PATH = Path(__file__).with_name("cedar_schema.lark")
_parser: lark.Lark | None = None


def _cedar_parser() -> lark.Lark:
    global _parser
    if _parser is None:
        _parser = lalr_parser(
            "schema", _GRAMMAR_PATH.read_text(encoding="utf-8"),
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


def read_cedar_schema(text: str, filename: str) -> list[RawNamespace]:
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
            message = f"unexpected character `{e.char}`; expected {expected}"
        else:
            message = "syntax error"
        raise CedarError(
            Diagnostic(message, filename, line, column, source_line=source_line(text, line))
        ) from None
    return _CedarSchemaReader(text, filename).read(tree)


class _CedarSchemaReader:
    """Cedar schema syntax tree -> unresolved declarations."""

    def __init__(self, text: str, filename: str):
        self.text = text
        self.filename = filename

    def where(self, node) -> Where:
        if isinstance(node, lark.Token):
            line, column = node.line, node.column
        else:
            line, column = node.meta.line, node.meta.column
        shown = source_line(self.text, line) if line is not None else None
        return Where(self.filename, line, column, source_line=shown)

    def read(self, tree: lark.Tree) -> list[RawNamespace]:
        empty = RawNamespace("", Where(self.filename, 1, 1))
        namespaces = {"": empty}
        for item in tree.children:
            if item.data == "namespace":
                path = next(c for c in item.children if c.data == "path")
                name = self.path(path)
                if name in namespaces and name != "":
                    raise self.where(path).error(f"duplicate namespace id: `{name}`")
                ns = RawNamespace(name, self.where(path))
                namespaces[name] = ns
                for decl in item.children:
                    if decl.data not in ("annotation", "path"):
                        self.declaration(ns, decl)
            else:
                self.declaration(empty, item)
        return list(namespaces.values())

    def declaration(self, ns: RawNamespace, decl: lark.Tree) -> None:
        getattr(self, decl.data)(ns, decl)

    def _declare(self, table: dict, name: str, where: Where, value) -> None:
        if name in table:
            raise where.error(f"`{name}` is declared twice")
        table[name] = value

    def entity_decl(self, ns: RawNamespace, decl: lark.Tree) -> None:
        parts = {c.data: c for c in decl.children if isinstance(c, lark.Tree)}
        for ident in parts["idents"].children:
            entity = RawEntity(str(ident), self.where(ident))
            if "entity_parents" in parts:
                entity.member_of = self.entity_types(parts["entity_parents"].children[0])
            if "entity_shape" in parts:
                entity.shape = self.type(parts["entity_shape"].children[0])
            if "entity_tags" in parts:
                entity.tags = self.type(parts["entity_tags"].children[0])
            self._declare(ns.entities, str(ident), entity.where, entity)

    def enum_decl(self, ns: RawNamespace, decl: lark.Tree) -> None:
        idents = next(c for c in decl.children if c.data == "idents")
        values = tuple(self.string(c) for c in decl.children if c.data == "string")
        for ident in idents.children:
            entity = RawEntity(str(ident), self.where(ident), enum=values)
            self._declare(ns.entities, str(ident), entity.where, entity)

    def action_decl(self, ns: RawNamespace, decl: lark.Tree) -> None:
        parts = {c.data: c for c in decl.children if isinstance(c, lark.Tree)}
        if "action_attributes" in parts:
            raise self.where(parts["action_attributes"]).error(
                "action attributes are not supported in Cedar schema syntax"
            )
        for name_node in parts["names"].children:
            action = RawAction(self.name(name_node), self.where(name_node))
            if "action_parents" in parts:
                action.member_of = [
                    self.action_ref(r) for r in parts["action_parents"].children[0].children
                ]
            if "applies_to" in parts:
                self.applies_to(action, parts["applies_to"])
            self._declare(ns.actions, action.name, action.where, action)

    def applies_to(self, action: RawAction, node: lark.Tree) -> None:
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

    def type_decl(self, ns: RawNamespace, decl: lark.Tree) -> None:
        children = [c for c in decl.children if not (isinstance(c, lark.Tree) and c.data == "annotation")]
        ident, body = children
        if str(ident) in RESERVED_TYPE_NAMES:
            raise self.where(ident).error(f"this uses a reserved schema keyword: `{ident}`")
        self._declare(ns.common, str(ident), self.where(ident), (self.type(body), self.where(ident)))

    # Types

    def type(self, node: lark.Tree) -> RawType:
        kind = node.data
        if kind == "type_ref":
            return RawRef(self.path(node.children[0]), self.where(node))
        if kind == "set_as_name":
            return RawRef("Set", self.where(node))
        if kind == "set_type":
            return RawSet(self.type(node.children[1]))
        if kind == "record_type":
            attrs: dict[str, tuple[str, RawType, bool]] = {}
            for attr in node.children:
                parts = [c for c in attr.children if not (isinstance(c, lark.Tree) and c.data == "annotation")]
                optional = any(isinstance(c, lark.Token) and c.type == "OPTIONAL" for c in parts)
                name = self.name(parts[0])
                # A repeated attribute name: the last declaration wins, as in Cedar.
                attrs.pop(name, None)
                attrs[name] = (name, self.type(parts[-1]), not optional)
            return RawRecord(tuple(attrs.values()))
        raise self.where(node).error(f"unexpected type syntax `{kind}`")

    def entity_types(self, node: lark.Tree) -> list[tuple[str, Where]]:
        return [(self.path(p), self.where(p)) for p in node.children]

    def action_ref(self, node: lark.Tree) -> tuple[str | None, str, Where]:
        if node.data == "qualified_action":
            path, string = node.children
            return self.path(path), self.string(string), self.where(node)
        return None, self.name(node.children[0]), self.where(node)

    # Lexical pieces

    def path(self, node: lark.Tree) -> str:
        parts = []
        part: lark.Tree | lark.Token | None = node
        while isinstance(part, lark.Tree):
            parts.append(str(part.children[-1]))
            part = part.children[0] if len(part.children) > 1 else None
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
            raise self.where(token).error(str(e)) from None


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
