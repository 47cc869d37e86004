"""Cedar strings as Z3 strings, and `like` as Z3's native string predicates.

A Cedar string is a Z3 string.  Z3's alphabet ends at U+2FFFF, so a
character above it is written as a UTF-16 surrogate pair; Cedar strings never
hold surrogates, so the encoding is injective.

`like`.  A pattern is literal pieces between wildcards, p0 * p1 * ... * pn.
Rather than a regular expression (on which Z3's solver gives up for as few
as two patterns, `"ls *"` and `"*rm *"`), `like` is stated with the
predicates the sequence solver reasons about directly:

    no wildcard          s == p0
    p0*  / *pn           PrefixOf(p0, s) / SuffixOf(pn, s)
    p0*pn                both, and |s| >= |p0| + |pn|
    *p*                  Contains(s, p)
    p0*m1*...*mk*pn      the prefix and the suffix, and each middle piece
                         found in order by IndexOf, leftmost first, ending
                         before the suffix starts

Leftmost-first is complete: if the middle pieces fit in some order-preserving
placement, placing each one at its first occurrence after the previous ends
no later than that placement, so it fits too.  Every formula is a function
of `s` (no fresh variables), so it is exact under negation, which a forbid's
pattern always meets.  It is exact on the surrogate encoding as well: a
piece begins with a non-surrogate or a high surrogate and ends with a
non-surrogate or a low surrogate, so in the encoding of a Cedar string it
can only match at character boundaries.  `like_regex` keeps the regular
expression as the reference the tests compare against.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import z3

from cedarscope.lang.ast import WILDCARD, PatternElem

# --------------------------------------------------------------------------
# String values


@functools.lru_cache(maxsize=4096)  # (policies spell the same strings again and again)
def string_val(s: str) -> z3.SeqRef:
    """A Z3 string literal for `s` (characters above U+2FFFF as surrogate
    pairs).  Everything outside printable ASCII is escaped so that Z3 reads no
    escapes we did not mean."""
    out = []
    for ch in s:
        o = ord(ch)
        if o > 0x2FFFF:
            o -= 0x10000
            out.append(f"\\u{{{0xD800 + (o >> 10):x}}}\\u{{{0xDC00 + (o & 0x3FF):x}}}")
        else:
            out.append(ch if 32 <= o < 127 and ch != "\\" else f"\\u{{{o:x}}}")
    return z3.StringVal("".join(out))


def encoded_length(s: str) -> int:
    """The length of `string_val(s)` in Z3 characters."""
    return sum(2 if ord(ch) > 0x2FFFF else 1 for ch in s)


_ESC = re.compile(r"\\u\{([0-9a-fA-F]+)\}")
_PAIR = re.compile("([\ud800-\udbff])([\udc00-\udfff])")


def string_of(z: z3.ExprRef) -> str:
    """The Python string of a Z3 string value (undoing Z3's escapes and our
    surrogate pairs)."""
    s = _ESC.sub(lambda m: chr(int(m.group(1), 16)), z.as_string())
    return _PAIR.sub(lambda m: chr(0x10000 + ((ord(m.group(1)) - 0xD800) << 10) + ord(m.group(2)) - 0xDC00), s)


# --------------------------------------------------------------------------
# `like`


def pieces(pattern: tuple[PatternElem, ...]) -> list[str]:
    """The literal pieces between a pattern's wildcards: one more than there
    are wildcards, the first and last possibly empty."""
    out = [""]
    for elem in pattern:
        if elem is WILDCARD:
            out.append("")
        else:
            out[-1] += elem
    return out


def like(s: z3.SeqRef, pattern: tuple[PatternElem, ...]) -> z3.BoolRef:
    """`s like pattern`, with native string predicates (see the module
    docstring for the cases and why they are exact)."""
    parts = pieces(pattern)
    if len(parts) == 1:
        return s == string_val(parts[0])
    first, *middle, last = parts
    middle = [m for m in middle if m]  # `**` is `*`
    if not first and not last and len(middle) == 1:
        return z3.Contains(s, string_val(middle[0]))
    tests = []
    if first:
        tests.append(z3.PrefixOf(string_val(first), s))
    if last:
        tests.append(z3.SuffixOf(string_val(last), s))
    end = encoded_length(first)  # where the next piece may start
    for m in middle:
        at = z3.IndexOf(s, string_val(m), end)
        tests.append(at >= 0)
        end = at + encoded_length(m)
    if last and (first or middle):  # the suffix must not overlap what precedes it
        tests.append(end + encoded_length(last) <= z3.Length(s))
    return z3.And(tests) if len(tests) > 1 else tests[0] if tests else z3.BoolVal(True)


@dataclass(frozen=True)
class LikeAtom:
    """One `subject like pattern` test in a compiled formula: `formula` is
    its native encoding (`like`), which `encoder.solver` may replace by a
    Boolean and decide lazily."""

    subject: z3.SeqRef
    pattern: tuple[PatternElem, ...]
    formula: z3.BoolRef


def like_atom(s: z3.SeqRef, pattern: tuple[PatternElem, ...]) -> LikeAtom | None:
    """The test as an atom worth deciding lazily, or None when the native
    formula is as easy as it gets (no wildcard, only wildcards, a literal
    subject)."""
    if WILDCARD not in pattern or all(p is WILDCARD for p in pattern) or z3.is_string_value(s):
        return None
    return LikeAtom(s, pattern, like(s, pattern))


def like_regex(s: z3.SeqRef, pattern: tuple[PatternElem, ...]) -> z3.BoolRef:
    """`s like pattern` as a regular-expression membership: the reference
    encoding `like` is tested against."""
    any_run = z3.Star(z3.AllChar(z3.ReSort(z3.StringSort())))
    parts = [any_run if p is WILDCARD else z3.Re(string_val(p)) for p in pattern]
    if not parts:
        return s == z3.StringVal("")
    return z3.InRe(s, parts[0] if len(parts) == 1 else z3.Concat(*parts))
