"""`like` patterns as automata: which strings match a set of patterns and
avoid another.

This is the string half of the lazy `like` procedure in `encoder.solver`:
given, for one string, the patterns it must match and the patterns it must
not, either find such a string or prove there is none and name a small set
of the patterns that already conflict.  It works on Cedar strings (Python
`str`, one character per code point) and is exact:

- A pattern is a deterministic automaton whose state is the set of pattern
  positions matched so far (a bit mask); `*` keeps its position and lets the
  next one start.
- The strings that matter are built from the characters the patterns spell
  plus one character none of them spells: every other character moves every
  automaton the same way, so if a string exists, one over this alphabet does.
- The search is breadth-first over the product of the automata, so a
  witness is a shortest one, and exhausting the product proves emptiness.
  The product of hundreds of patterns is too big to walk, so `realize` walks
  the product of the required patterns and only those avoided patterns that
  matched a candidate so far, adding one each round.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cedarscope.lang.ast import WILDCARD, PatternElem


class Glob:
    """One pattern's automaton."""

    def __init__(self, pattern: tuple[PatternElem, ...]) -> None:
        tokens: list[PatternElem] = []
        for elem in pattern:
            if elem is WILDCARD:
                if not tokens or tokens[-1] is not WILDCARD:
                    tokens.append(WILDCARD)
            else:
                tokens.extend(elem)
        self.pattern = pattern
        n = len(tokens)
        self._stars = sum(1 << i for i, t in enumerate(tokens) if t is WILDCARD)
        self._at: dict[str, int] = {}  # character -> positions that expect it
        for i, t in enumerate(tokens):
            if t is not WILDCARD:
                self._at[t] = self._at.get(t, 0) | (1 << i)
        self._final = 1 << n
        # once the trailing `*` is reached, every continuation matches
        self._sticky = 1 << (n - 1) if n and tokens[-1] is WILDCARD else 0
        self.start = self._close(1)
        self.chars = frozenset(self._at)
        # Per character, state -> next state, filled as searches step: they
        # step the same automaton from the same states over and over.  Every
        # character the pattern does not spell moves it alike ("" stands for them).
        self._moves: dict[str, _Moves] = {}

    def _close(self, state: int) -> int:
        while True:
            more = state | ((state & self._stars) << 1)
            if more == state:
                return state
            state = more

    def step(self, state: int, ch: str) -> int:
        return self.moves(ch)[state]

    def moves(self, ch: str) -> _Moves:
        """The transitions on character ch, as a table filled when first read."""
        key = ch if ch in self._at else ""
        table = self._moves.get(key)
        if table is None:
            table = self._moves[key] = _Moves(self, self._at.get(key, 0))
        return table

    def accepts(self, state: int) -> bool:
        return bool(state & self._final)

    def matches(self, s: str) -> bool:
        state = self.start
        for ch in s:
            state = self.step(state, ch)
            if not state:
                return False
        return self.accepts(state)


class _Moves(dict[int, int]):
    """One character's transitions of a Glob: state -> next state."""

    def __init__(self, automaton: Glob, expecting: int) -> None:
        super().__init__()
        self._automaton, self._expecting = automaton, expecting  # the positions that expect the character

    def __missing__(self, state: int) -> int:
        a = self._automaton
        nxt = self[state] = a._close((state & a._stars) | ((state & self._expecting) << 1))
        return nxt


@functools.lru_cache(maxsize=4096)
def glob(pattern: tuple[PatternElem, ...]) -> Glob:
    """The automaton of a pattern (patterns recur across queries)."""
    return Glob(pattern)


_FRESH_CANDIDATES = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,:;=+ /"


def fresh_char(used: Iterable[str]) -> str:
    """A character none of the patterns spells, printable where possible."""
    used = set(used)
    for ch in _FRESH_CANDIDATES:
        if ch not in used:
            return ch
    for o in range(0x21, 0x110000):
        if not 0xD800 <= o <= 0xDFFF and chr(o) not in used:
            return chr(o)
    raise ValueError("no character left")  # unreachable: patterns are finite


EMPTY = "empty"  # `search` proved there is no such string


@dataclass
class Effort:
    """The product states searches explored: Python work no solver counts,
    which a query's work budget charges (analyzer.solving)."""

    states: int = 0


def search(required: Sequence[Glob], avoided: Sequence[Glob], budget: int, effort: Effort | None = None
           ) -> str | None:
    """A shortest string every required automaton accepts and no avoided one
    does; EMPTY if there is none; None if `budget` product states were not
    enough to tell.  The states it explores are added to `effort`."""
    found, seen = _search(required, avoided, budget)
    if effort is not None:
        effort.states += seen
    return found


def _search(required: Sequence[Glob], avoided: Sequence[Glob], budget: int) -> tuple[str | None, int]:
    autos = list(required) + list(avoided)
    k = len(required)
    used = set().union(*(a.chars for a in autos)) if autos else set()
    alphabet = [fresh_char(used)] + sorted(used)

    # This loop is the hot one: each character's transition tables, and
    # `always` and `accepts` as masks (a dead state is 0).
    moves = [(ch, [a.moves(ch) for a in autos]) for ch in alphabet]
    sticky = [a._sticky for a in avoided]
    finals = [a._final for a in autos]

    def alive(state: tuple[int, ...]) -> bool:
        return 0 not in state[:k] and not any([s & m for s, m in zip(state[k:], sticky, strict=True)])

    def done(state: tuple[int, ...]) -> bool:
        accepted = [s & m for s, m in zip(state, finals, strict=True)]
        return all(accepted[:k]) and not any(accepted[k:])

    start = tuple(a.start for a in autos)
    if not alive(start):
        return EMPTY, 1
    seen = {start: ""}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        text = seen[state]
        if done(state):
            return text, len(seen)
        for ch, tables in moves:
            nxt = tuple([table[s] for table, s in zip(tables, state, strict=True)])
            if nxt in seen or not alive(nxt):
                continue
            if len(seen) >= budget:
                return None, len(seen)
            seen[nxt] = text + ch
            queue.append(nxt)
    return EMPTY, len(seen)


@dataclass
class Realized:
    """The outcome of `realize`: a witness string, or a conflict (the indexes
    of required and avoided patterns no string satisfies together), or
    neither when the budget ran out."""

    witness: str | None = None
    conflict: tuple[tuple[int, ...], tuple[int, ...]] | None = None


def realize(required: Sequence[Glob], avoided: Sequence[Glob], budget: int = 20_000,
            effort: Effort | None = None) -> Realized:
    """A string matching every `required` pattern and no `avoided` one, or a
    small conflicting subset.  Avoided patterns join the search only once a
    candidate matches them (most never do).  The searches' states are added
    to `effort`."""
    relevant: list[int] = []
    while True:
        found = search(required, [avoided[j] for j in relevant], budget, effort)
        if found is None:
            return Realized()
        if found == EMPTY:
            return Realized(conflict=_minimal(required, avoided, relevant, budget, effort))
        hit = next((j for j, a in enumerate(avoided) if j not in relevant and a.matches(found)), None)
        if hit is None:
            return Realized(witness=found)
        relevant.append(hit)


def _minimal(required: Sequence[Glob], avoided: Sequence[Glob], relevant: list[int],
             budget: int, effort: Effort | None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Drop every pattern the conflict does not need (one pass: the result
    conflicts, and removing any one pattern of it would not)."""
    req, avo = list(range(len(required))), list(relevant)

    def empty(rs: list[int], avs: list[int]) -> bool:
        return search([required[i] for i in rs], [avoided[j] for j in avs], budget, effort) == EMPTY

    for j in list(avo):
        if empty(req, [x for x in avo if x != j]):
            avo.remove(j)
    for i in list(req):
        if len(req) > 1 and empty([x for x in req if x != i], avo):
            req.remove(i)
    return tuple(req), tuple(sorted(avo))
