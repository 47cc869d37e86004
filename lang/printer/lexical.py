"""Lexical pieces: identifiers, string literals, patterns, entity uids."""

from __future__ import annotations

import re
from collections.abc import Sequence

from cedarscope.lang import ast
from cedarscope.lang.values import EntityUID, escape_string

# Lexical pieces


RESERVED = frozenset({"true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar"})
IDENT_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*\Z")


def is_ident(s: str) -> bool:
    """A name Cedar accepts as an identifier (attribute, key, path element)."""
    return bool(IDENT_RE.match(s)) and s not in RESERVED


def quote(s: str) -> str:
    """A Cedar string literal for `s`."""
    return '"' + escape_string(s) + '"'


def print_pattern(pattern: Sequence[ast.PatternElem]) -> str:
    """A `like` pattern literal: `*` for a wildcard, `\\*` for a literal star."""
    body = []
    for elem in pattern:
        if elem is ast.WILDCARD:
            body.append("*")
        else:
            body.append(escape_string(elem).replace("*", "\\*"))
    return '"' + "".join(body) + '"'


def print_entity_uid(uid: EntityUID) -> str:
    return f"{uid.type}::{quote(uid.id)}"
