"""Documents: the layout algebra Cedar's formatter uses, and its renderer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# Documents: the layout algebra of the `pretty` crate that Cedar's formatter
# uses.  A `Line` is a space (or nothing, for `line_`) when its group is flat
# and a newline plus indentation when the group is broken.

LINE_WIDTH = 80
INDENT = 2


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Line:
    flat: str  # " " for `line`, "" for `line_`


@dataclass(frozen=True)
class HardLine:
    pass


@dataclass(frozen=True)
class Nest:
    indent: int
    doc: Doc


@dataclass(frozen=True)
class Group:
    doc: Doc


@dataclass(frozen=True)
class Concat:
    docs: tuple[Doc, ...]


Doc = Text | Line | HardLine | Nest | Group | Concat

NIL = Concat(())
LINE = Line(" ")
LINE_ = Line("")
SPACE = Text(" ")
HARDLINE = HardLine()


# Empty parts are dropped as the `pretty` crate drops them, which matters
# for where a line break's indentation is taken from (see `render`).


def cat(*docs: Doc) -> Doc:
    return Concat(tuple(d for d in docs if d != NIL))


def text(s: str) -> Doc:
    return Text(s)


def nest(doc: Doc, indent: int = INDENT) -> Doc:
    return NIL if doc == NIL else Nest(indent, doc)


def group(doc: Doc) -> Doc:
    return NIL if doc == NIL else Group(doc)


def intersperse(docs: Sequence[Doc], sep: Doc) -> Doc:
    out: list[Doc] = []
    for i, d in enumerate(docs):
        if i:
            out.append(sep)
        out.append(d)
    return cat(*out)


_FLAT, _BREAK = 0, 1


# Unassigned code points that Unicode reserves as wide (EastAsianWidth.txt's
# defaults, plus blocks filled with wide characters since the Unicode
# version of Python's database).  Python reports every unassigned code
# point as "F", so these are needed to measure like `unicode-width` does.
_WIDE_UNASSIGNED = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x16FE0, 0x18DFF),
                    (0x1AFF0, 0x1B2FF), (0x1F000, 0x1FAFF), (0x20000, 0x2FFFD), (0x30000, 0x3FFFD))


# Hangul vowel and final-consonant jamo combine with the syllable before
# them, so `unicode-width` gives them no column (assigned ones only).
_ZERO_JAMO = ((0x1160, 0x11FF), (0xD7B0, 0xD7C6), (0xD7CB, 0xD7FB))


def _char_width(ch: str) -> int:
    if any(lo <= ord(ch) <= hi for lo, hi in _ZERO_JAMO):
        return 0
    category = unicodedata.category(ch)
    if category in ("Mn", "Me", "Cf") or unicodedata.combining(ch):
        return 0
    if category == "Cn":
        return 2 if any(lo <= ord(ch) <= hi for lo, hi in _WIDE_UNASSIGNED) else 1
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(s: str) -> int:
    """Columns `s` takes, as the `unicode-width` measure Cedar's formatter
    uses: combining marks and format characters take none, wide East Asian
    characters two, others (a newline inside a string literal too: the
    formatter does not reset the column there) one."""
    if s.isascii():
        return len(s)
    return sum(_char_width(ch) for ch in s)


def _fits(doc: Doc, pos: int, width: int, rest: list) -> bool:
    """Whether `doc`, printed flat from column `pos`, and what follows it up
    to the next line break of the enclosing (broken) layout stay within
    `width`."""
    todo: list[tuple[int, Doc]] = [(_FLAT, doc)]
    k = len(rest)
    while True:
        if todo:
            mode, d = todo.pop()
        elif k:
            k -= 1
            _, mode, d = rest[k]
        else:
            return True
        if isinstance(d, Text):
            pos += display_width(d.text)
            if pos > width:
                return False
        elif isinstance(d, Line):
            if mode == _BREAK:
                return True
            pos += len(d.flat)
            if pos > width:
                return False
        elif isinstance(d, HardLine):
            return mode == _BREAK
        elif isinstance(d, (Nest, Group)):
            todo.append((mode, d.doc))
        else:
            todo.extend((mode, x) for x in reversed(d.docs))


def render(doc: Doc, width: int = LINE_WIDTH) -> str:
    """Lay `doc` out in `width` columns: each group flat if it fits, else broken."""
    out: list[str] = []
    pos = 0
    cmds: list[tuple[int, int, Doc]] = [(0, _BREAK, doc)]
    while cmds:
        indent, mode, d = cmds.pop()
        if isinstance(d, Text):
            out.append(d.text)
            pos += display_width(d.text)
        elif isinstance(d, Line) and mode == _FLAT:
            out.append(d.flat)
            pos += len(d.flat)
        elif isinstance(d, (Line, HardLine)):
            # indent the new line as what comes next on it (the `pretty`
            # crate does): a line break ending a nested part, like the one
            # after a trailing comment, returns to the outer indentation
            indent = cmds[-1][0] if cmds else indent
            out.append("\n" + " " * indent)
            pos = indent
        elif isinstance(d, Nest):
            cmds.append((indent + d.indent, mode, d.doc))
        elif isinstance(d, Group):
            if mode == _BREAK and not _fits(d.doc, pos, width, cmds):
                cmds.append((indent, _BREAK, d.doc))
            else:
                cmds.append((indent, _FLAT, d.doc))
        else:
            cmds.extend((indent, mode, x) for x in reversed(d.docs))
    return "".join(out)


# Strings possessive, in the "unrolled loop" form: no backtracking state is
# kept per character of a long string literal.
_COMMENT_OR_STRING = re.compile(r'//[^\n]*|"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.S)


def remove_empty_lines(s: str) -> str:
    """Drop the blank lines of a rendered text (a broken line followed by a
    hard one leaves one), but not inside strings and comments, and trim the
    ends, as Cedar's formatter does."""
    out = []
    i = 0
    for m in _COMMENT_OR_STRING.finditer(s):
        out.append(_drop_blank_lines(s[i:m.start()]))
        out.append(m.group())
        i = m.end()
    out.append(_drop_blank_lines(s[i:]))
    return "".join(out).strip()


def _drop_blank_lines(s: str) -> str:
    lines = s.split("\n")
    pieces = [line + "\n" for line in lines[:-1]] + [lines[-1]]
    kept = [p for p in pieces if p.strip() or not p.endswith("\n")]
    return ("\n" if s.startswith("\n") else "") + "".join(kept)
