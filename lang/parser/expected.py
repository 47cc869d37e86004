"""What a syntax error says was expected, in words."""

from __future__ import annotations

from collections.abc import Iterable

# Human names for terminals, for "expected ..." messages


_TERMINAL_NAMES = {
    "IDENT": "an identifier", "SLOT": "a template slot", "INT": "an integer",
    "STRING": "a string literal",
    "TRUE": "'true'", "FALSE": "'false'", "IF": "'if'", "THEN": "'then'", "ELSE": "'else'",
    "IN": "'in'", "IS": "'is'", "LIKE": "'like'", "HAS": "'has'",
    "EQ": "'=='", "NE": "'!='", "LE": "'<='", "GE": "'>='", "LT": "'<'", "GT": "'>'",
    "ANDAND": "'&&'", "OROR": "'||'", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'",
    "BANG": "'!'", "DCOLON": "'::'", "COLON": "':'", "DOT": "'.'", "COMMA": "','",
    "SEMI": "';'", "AT": "'@'", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'",
    "LBRACE": "'{'", "RBRACE": "'}'", "$END": "end of input",
}
# A state that accepts all of these is expecting an expression (or operand).
_EXPR_START = frozenset(("INT", "STRING", "IDENT", "LPAR", "LSQB", "LBRACE"))
_OPERATORS = frozenset((
    "EQ", "NE", "LE", "GE", "LT", "GT", "ANDAND", "OROR", "PLUS", "MINUS", "STAR",
    "DOT", "IN", "IS", "LIKE", "HAS",
))


# States whose expectations read better in words.
_EXPECTED_PHRASES = {
    frozenset(("AT", "IDENT")): "'@', 'permit' or 'forbid'",
    frozenset(("IDENT", "SEMI")): "'when', 'unless' or ';'",
}


def describe_expected(expected: Iterable[str]) -> str:
    names = set(expected)
    phrase = _EXPECTED_PHRASES.get(frozenset(names))
    if phrase:
        return phrase
    parts = []
    if _EXPR_START <= names:
        parts.append("an expression")
        names -= _EXPR_START | {"TRUE", "FALSE", "IF", "BANG", "MINUS", "SLOT"}
    if len(names & _OPERATORS) >= 4:
        parts.append("an operator")
        names -= _OPERATORS
    parts += sorted(_TERMINAL_NAMES.get(n, n) for n in names)
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]
