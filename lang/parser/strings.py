"""String literals and `like` patterns: Cedar's escapes."""

from __future__ import annotations

from cedarscope.lang.ast import (
    WILDCARD,
)

# String literals


_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "0": "\0", "'": "'", '"': '"'}
_HEX = frozenset("0123456789abcdefABCDEF")


class EscapeError(ValueError):
    """A bad escape: `text` is the offending input, `offset` its index in the body."""

    def __init__(self, text: str, offset: int, message: str = ""):
        super().__init__(message or f"the input `{text}` is not a valid escape")
        self.text = text
        self.offset = offset


def _unescape(body: str, pattern: bool) -> list:
    """Cedar's (Rust's) string escapes over a literal body (without quotes).

    Returns a list of characters; in pattern mode an escaped ``\\*`` is the
    marker `_STAR` (a literal star) rather than a character.
    """
    out: list = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == "\r":
            # Rust rejects a bare carriage return inside a string literal.
            raise EscapeError("\\r", i, "a carriage return in a string literal must be "
                                          "written as the escape `\\r`")
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            raise EscapeError("\\", i)
        esc = body[i + 1]
        if esc in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[esc])
            i += 2
        elif esc == "*" and pattern:
            out.append(_STAR)
            i += 2
        elif esc == "x":
            i = _unescape_hex(body, i, out)
        elif esc == "u":
            i = _unescape_unicode(body, i, out)
        else:
            raise EscapeError(body[i:i + 2], i)
    return out


def _unescape_hex(body: str, i: int, out: list) -> int:
    """``\\xHH``: exactly two hex digits, at most 0x7F (ASCII)."""
    digits = body[i + 2:i + 4]
    if len(digits) < 2 or not all(c in _HEX for c in digits):
        bad = 3 if len(digits) < 1 or digits[0] not in _HEX else 4
        raise EscapeError(body[i:i + bad], i)
    value = int(digits, 16)
    if value > 0x7F:
        raise EscapeError(body[i:i + 4], i)
    out.append(chr(value))
    return i + 4


def _unescape_unicode(body: str, i: int, out: list) -> int:
    """``\\u{H...}``: 1 to 6 hex digits (underscores allowed after the first),
    a Unicode scalar value (no surrogates, at most 0x10FFFF)."""
    if body[i + 2:i + 3] != "{":
        raise EscapeError(body[i:i + 3], i)
    close = body.find("}", i + 3)
    inner = body[i + 3:close] if close >= 0 else body[i + 3:]
    if close < 0 or not inner or inner[0] == "_":
        raise EscapeError(body[i:i + 4], i)
    digits = inner.replace("_", "")
    if not digits or len(digits) > 6 or not all(c in _HEX for c in digits):
        raise EscapeError(body[i:close + 1], i)
    value = int(digits, 16)
    if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        raise EscapeError(body[i:close + 1], i)
    out.append(chr(value))
    return close + 1


class _Star:
    """An escaped ``\\*`` in a `like` pattern: a literal star, not a wildcard."""


_STAR = _Star()


def unescape_string(body: str) -> str:
    """The value of a Cedar string literal body; ValueError on a bad escape."""
    if "\\" not in body and "\r" not in body:  # nothing to interpret: most literals
        return body
    return "".join(_unescape(body, pattern=False))


def unescape_pattern(body: str) -> tuple:
    """A `like` pattern body as `Like.pattern`: an unescaped ``*`` (however it
    was written, e.g. ``\\u{2a}``) is a wildcard, ``\\*`` a literal star;
    adjacent literal characters are merged."""
    if "\\" not in body and "\r" not in body:  # no escapes: split at the stars
        elems: list[str | None] = []
        for i, text in enumerate(body.split("*")):
            if i:
                elems.append(WILDCARD)
            if text:
                elems.append(text)
        return tuple(elems)
    elems = []
    run: list[str] = []  # the literal characters since the last wildcard
    for ch in _unescape(body, pattern=True):
        if ch == "*":
            if run:
                elems.append("".join(run))
                run = []
            elems.append(WILDCARD)
        else:
            run.append("*" if ch is _STAR else ch)
    if run:
        elems.append("".join(run))
    return tuple(elems)
