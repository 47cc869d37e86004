"""Cedar policy text to the AST in `lang.ast`.

Lark computes the LALR(1) table of grammar.lark once; our own lexer (Cedar's
lexical rules, `lexer.cedar_tokens`) and table driver (`table.shared_table()`) run it,
and the AST is built during the parse by `builder.Builder`'s rule callbacks.
No parse tree is ever materialised and nothing recurses, so nesting depth is
bounded only by `MAX_DEPTH`, which keeps every AST small enough for the
recursive code downstream (printer, evaluator, encoder, ``==`` on nodes).

A policy file is cut at top-level ``;`` into one chunk per policy (strings and
comments respected) and each chunk is parsed on its own, so one bad policy
does not hide the errors of the next: every error in the file is reported
(`chunks`).

Checks Cedar makes after its own parse (reserved words, variable and function
names, method arity, scope shape, literal limits, duplicate keys and
annotations) are made in the callbacks that build the affected node, with the
same wording as Cedar where that helps a reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cedarscope.lang.lazy import lazy_exports

if TYPE_CHECKING:
    from cedarscope.lang.parser.reading import load_policies, parse_entity_uid, parse_expr, parse_policies, parse_policy
    from cedarscope.lang.parser.strings import unescape_pattern, unescape_string
    from cedarscope.lang.parser.vocabulary import (
        CONDITION_KINDS,
        CORE_METHOD_ARITY,
        EFFECTS,
        EXTENSION_FUNCTIONS,
        EXTENSION_METHODS,
        MAX_DEPTH,
        MAX_UNARY_OPS,
        RESERVED,
        RESERVED_NAMESPACE,
        SCOPE_VARIABLES,
        VARIABLES,
    )

_EXPORTS = {
    **dict.fromkeys(["CONDITION_KINDS", "CORE_METHOD_ARITY", "EFFECTS", "EXTENSION_FUNCTIONS",
                     "EXTENSION_METHODS", "MAX_DEPTH", "MAX_UNARY_OPS", "RESERVED", "RESERVED_NAMESPACE",
                     "SCOPE_VARIABLES", "VARIABLES"], ".vocabulary"),
    **dict.fromkeys(["unescape_pattern", "unescape_string"], ".strings"),
    **dict.fromkeys(["load_policies", "parse_entity_uid", "parse_expr", "parse_policies", "parse_policy"], ".reading"),
}
__all__ = [
    "CONDITION_KINDS", "CORE_METHOD_ARITY", "EFFECTS", "EXTENSION_FUNCTIONS", "EXTENSION_METHODS", "MAX_DEPTH",
    "MAX_UNARY_OPS", "RESERVED", "RESERVED_NAMESPACE", "SCOPE_VARIABLES", "VARIABLES", "load_policies",
    "parse_entity_uid", "parse_expr", "parse_policies", "parse_policy", "unescape_pattern", "unescape_string",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

