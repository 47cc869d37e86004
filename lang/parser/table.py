"""The LALR(1) table and the loop that runs it: built once, shared, one parse
at a time."""

from __future__ import annotations

import threading
from pathlib import Path

from lark import Lark, Token
from lark.parsers.lalr_analysis import Shift

from cedarscope.lang.lark_cache import lalr_parser
from cedarscope.lang.parser.builder import Builder
from cedarscope.lang.parser.lexer import NoLexer

# ---- the LALR driver
#
# Lark computes the LALR(1) table from grammar.lark and wraps our callbacks
# (filtering punctuation, inlining `?rule`s); the loop that runs the table is
# ours: it is a tight loop over plain lists and tuples, and on an error it can
# work out, without running any callback, exactly which tokens would have
# been accepted.

_GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")
PARSER_LOCK = threading.Lock()


class UnexpectedToken(Exception):
    def __init__(self, token: Token | None, expected: set[str]):
        super().__init__(token)
        self.token, self.expected = token, expected


class _Table:
    def __init__(self, lark: Lark, builder: Builder):
        lalr = lark.parser.parser
        table = lalr._parse_table
        callbacks = lalr.parser.callbacks
        self.builder = builder
        self.start_states = dict(table.start_states)
        self.end_states = dict(table.end_states)
        self.terminals: set[str] = set()
        # rows[state][symbol] = (True, next state) for a shift or goto,
        # (False, (length, goal, callback)) for a reduction.
        self.rows: list[dict] = [{} for _ in range(max(table.states) + 1)]
        for state, actions in table.states.items():
            row = self.rows[state]
            for symbol, (action, arg) in actions.items():
                symbol = str(symbol)  # Lark's names are Tokens, slower as dict keys
                if symbol.isupper() or symbol == "$END":
                    self.terminals.add(symbol)
                if action is Shift:
                    row[symbol] = (True, arg)
                else:
                    row[symbol] = (False, (len(arg.expansion), str(arg.origin.name),
                                           callbacks[arg]))

    def run(self, tokens, start: str):
        rows = self.rows
        states = [self.start_states[start]]
        values: list = []
        for tok in tokens:
            kind = tok.type
            while True:
                act = rows[states[-1]].get(kind)
                if act is None:
                    raise UnexpectedToken(tok, self.acceptable(states, start))
                if act[0]:
                    states.append(act[1])
                    values.append(tok)
                    break
                size, goal, callback = act[1]
                if size:
                    children = values[-size:]
                    del states[-size:]
                    del values[-size:]
                else:
                    children = []
                values.append(callback(children))
                states.append(rows[states[-1]][goal][1])
        end_state = self.end_states[start]
        while True:
            act = rows[states[-1]].get("$END")
            if act is None or act[0]:
                raise UnexpectedToken(None, self.acceptable(states, start))
            size, goal, callback = act[1]
            children = values[-size:] if size else []
            if size:
                del states[-size:]
                del values[-size:]
            values.append(callback(children))
            states.append(rows[states[-1]][goal][1])
            if states[-1] == end_state:
                return values[-1]

    def acceptable(self, states: list[int], start: str) -> set[str]:
        """The terminals the parser could take next, found by replaying only
        the state transitions (LALR tables merge states, so the failing
        state's own row can list tokens that would fail a step later)."""
        rows, end_state = self.rows, self.end_states[start]
        out = set()
        for kind in self.terminals:
            stack = list(states)
            while True:
                act = rows[stack[-1]].get(kind)
                if act is None:
                    break
                if act[0]:
                    out.add(kind)
                    break
                size, goal, _ = act[1]
                if size:
                    del stack[-size:]
                stack.append(rows[stack[-1]][goal][1])
                if kind == "$END" and stack[-1] == end_state:
                    out.add(kind)
                    break
        return out


_TABLE: _Table | None = None


def shared_table() -> _Table:
    global _TABLE
    if _TABLE is None:
        builder = Builder()
        lark = lalr_parser(
            "policy", _GRAMMAR_PATH.read_text(encoding="utf-8"),
            lexer=NoLexer, transformer=builder,
            start=["policy", "expr", "entity"], maybe_placeholders=False,
        )
        _TABLE = _Table(lark, builder)
    return _TABLE
