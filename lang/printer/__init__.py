"""Cedar ASTs and values back to Cedar text, laid out like Cedar's formatter.

`parse(print(x)) == x` for every AST the parser can produce: parentheses are
printed exactly where Cedar's grammar needs them, strings are re-escaped, and
constructs with no direct surface form of their own (a `Neg` of a
non-negative literal, which Cedar's parser would fold into the literal) are
printed in a form that parses back to the same node.

The layout follows ``cedar format`` (cedar-policy-formatter): each construct
becomes a document of the Wadler/Leijen kind (text, optional line breaks,
nesting, groups that are printed flat when they fit in 80 columns), built the
way the formatter builds it from Cedar's concrete syntax tree, so our output
matches it wherever the AST holds what the source said.  What the AST does not
hold comes from the source text in `format_source`: comments (attached to
the tokens they follow or precede, as the formatter attaches them),
redundant parentheses, quoted record keys and the escapes of string literals.

The modules, bottom up: `doc` (documents and their rendering), `lexical`,
`source` (the text being formatted and its comments), `expr`, `policy`,
`value`, and `formatting` (`format_source`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cedarscope.lang.lazy import lazy_exports

if TYPE_CHECKING:
    from cedarscope.lang.printer.doc import (
        HARDLINE,
        INDENT,
        LINE,
        LINE_,
        LINE_WIDTH,
        NIL,
        SPACE,
        Concat,
        Doc,
        Group,
        HardLine,
        Line,
        Nest,
        Text,
        cat,
        display_width,
        group,
        intersperse,
        nest,
        remove_empty_lines,
        render,
        text,
    )
    from cedarscope.lang.printer.expr import (
        ADD,
        ADD_OPS,
        AND,
        EXPR,
        MAX_UNARY_RUN,
        MEMBER,
        MULT,
        OR,
        RELATION,
        RELATION_OPS,
        UNARY,
        expr_doc,
        level,
        print_expr,
    )
    from cedarscope.lang.printer.formatting import SourceComments, format_source, source_comments
    from cedarscope.lang.printer.lexical import RESERVED, is_ident, print_entity_uid, print_pattern, quote
    from cedarscope.lang.printer.policy import policy_doc, print_policy, print_policyset
    from cedarscope.lang.printer.source import NO_COMMENT, Comment
    from cedarscope.lang.printer.value import print_value, value_to_expr

_EXPORTS = {
    **dict.fromkeys(["HARDLINE", "INDENT", "LINE", "LINE_", "LINE_WIDTH", "NIL", "SPACE", "Concat", "Doc",
                     "Group", "HardLine", "Line", "Nest", "Text", "cat", "display_width", "group",
                     "intersperse", "nest", "remove_empty_lines", "render", "text"], ".doc"),
    **dict.fromkeys(["RESERVED", "is_ident", "print_entity_uid", "print_pattern", "quote"], ".lexical"),
    **dict.fromkeys(["NO_COMMENT", "Comment"], ".source"),
    **dict.fromkeys(["ADD", "ADD_OPS", "AND", "EXPR", "MAX_UNARY_RUN", "MEMBER", "MULT", "OR", "RELATION",
                     "RELATION_OPS", "UNARY", "expr_doc", "level", "print_expr"], ".expr"),
    **dict.fromkeys(["policy_doc", "print_policy", "print_policyset"], ".policy"),
    **dict.fromkeys(["print_value", "value_to_expr"], ".value"),
    **dict.fromkeys(["SourceComments", "format_source", "source_comments"], ".formatting"),
}
__all__ = [
    "ADD", "ADD_OPS", "AND", "Comment", "Concat", "Doc", "EXPR", "Group", "HARDLINE", "HardLine", "INDENT", "LINE",
    "LINE_", "LINE_WIDTH", "Line", "MAX_UNARY_RUN", "MEMBER", "MULT", "NIL", "NO_COMMENT", "Nest", "OR",
    "RELATION", "RELATION_OPS", "RESERVED", "SPACE", "SourceComments", "Text", "UNARY", "cat", "display_width",
    "expr_doc", "format_source", "group", "intersperse", "is_ident", "level", "nest", "policy_doc",
    "print_entity_uid", "print_expr", "print_pattern", "print_policy", "print_policyset", "print_value", "quote",
    "remove_empty_lines", "render", "source_comments", "text", "value_to_expr",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

