"""Expressions as documents, parenthesised exactly where Cedar's grammar needs it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from cedarscope.lang import ast
from cedarscope.lang.printer.doc import (
    LINE,
    LINE_,
    LINE_WIDTH,
    NIL,
    SPACE,
    Doc,
    cat,
    group,
    intersperse,
    nest,
    remove_empty_lines,
    render,
    text,
)
from cedarscope.lang.printer.lexical import is_ident, print_pattern, quote
from cedarscope.lang.printer.source import (
    NO_COMMENT,
    SOURCE,
    Comment,
    first_token,
    last_token,
    next_token,
    take_comment,
    token_after,
    token_doc,
    with_comment,
)
from cedarscope.lang.values import EntityUID

# Expressions.  Precedence levels of Cedar's grammar, loosest first; an
# operand printed where a tighter level is required gets parentheses.

EXPR, OR, AND, RELATION, ADD, MULT, UNARY, MEMBER = range(8)
RELATION_OPS = ("==", "!=", "<", "<=", ">", ">=", "in")
ADD_OPS = ("+", "-")
MAX_UNARY_RUN = 4  # Cedar rejects five or more `!` (or `-`) in a row

# How `&&` and `||` chains are laid out.  Cedar's formatter breaks the
# operators of a chain and of the chains inside it together, so that a broken
# `a || b && c` reads as one flat list: right for text a person wrote (and
# parenthesised as they meant).  For text no one wrote (a diff's
# description), `NESTING_SHOWN` parenthesises a chain inside a chain and lets
# each operand break on its own, so indentation shows what groups with what.
# The parentheses are redundant: the text parses back to the same AST.
NESTING_SHOWN: ContextVar[bool] = ContextVar("NESTING_SHOWN", default=False)


@contextmanager
def nesting_shown(shown: bool) -> Iterator[None]:
    """Lay out chains with their nesting shown (or not) while printing."""
    token = NESTING_SHOWN.set(shown)
    try:
        yield
    finally:
        NESTING_SHOWN.reset(token)


def str_doc(value: str, k: int | None, next_doc: Doc = NIL) -> Doc:
    """A string literal token: as the source wrote it when formatting (Cedar's
    formatter keeps a literal's escapes), else as `quote` writes it."""
    src = SOURCE.get()
    written = src.written(k, value, pattern=False) if src else None
    return token_doc(written or quote(value), k, next_doc)


def _pattern_doc(pattern: tuple, k: int | None) -> Doc:
    src = SOURCE.get()
    written = src.written(k, pattern, pattern=True) if src else None
    return token_doc(written or print_pattern(pattern), k)


def checked_ident(name: str, what: str) -> str:
    if not is_ident(name):
        raise ValueError(f"cannot print {what} {name!r}: not a Cedar identifier")
    return name


def path_doc(name: str, k: int | None, what: str) -> tuple[Doc, int | None]:
    """`A::B::C` from token `k` on, each piece with its comments; also the
    index of the token after it."""
    parts = [checked_ident(p, what) for p in name.split("::")]
    docs = []
    for i, part in enumerate(parts):
        if i:
            docs.append(token_doc("::", k))
            k = next_token(k)
        docs.append(token_doc(part, k))
        k = next_token(k)
    return cat(*docs), k


def entity_uid_doc(uid: EntityUID, k: int | None) -> tuple[Doc, int | None]:
    """`Type::"id"` from token `k` on; also the index of the token after it."""
    path, k = path_doc(uid.type, k, "entity type")
    sep = token_doc("::", k)
    eid = str_doc(uid.id, next_token(k))
    return cat(path, sep, eid), next_token(k, 2)


def _source_parens(e: ast.Expr) -> int:
    """How many pairs of parentheses the source wrote around `e`."""
    src = SOURCE.get()
    return src.parens.get(id(e), 0) if src else 0


def level(e: ast.Expr) -> int:
    """The grammar level at which `e` is printed without parentheses."""
    if _source_parens(e):
        return MEMBER
    if isinstance(e, ast.If):
        return EXPR
    if isinstance(e, ast.Or):
        return OR
    if isinstance(e, ast.And):
        return AND
    if isinstance(e, ast.BinaryOp):
        if e.op in RELATION_OPS:
            return RELATION
        return ADD if e.op in ADD_OPS else MULT
    if isinstance(e, (ast.Has, ast.Like, ast.Is)):
        return RELATION
    if isinstance(e, (ast.Not, ast.Neg)):
        return UNARY
    if (value := _long_value(e)) is not None and value < 0:
        return UNARY  # `-3` is a negated literal to the grammar
    return MEMBER


def _long_value(e: ast.Expr) -> int | None:
    """The value of a Long literal (Python's bools are ints too), else None."""
    if isinstance(e, ast.Lit) and isinstance(e.value, int) and not isinstance(e.value, bool):
        return e.value
    return None


def _operand(e: ast.Expr, min_level: int) -> Doc:
    """`e` where the grammar requires level `min_level`, parenthesised if looser."""
    if level(e) >= min_level:
        return expr_doc(e)
    return member_doc(_paren_doc(_node_doc(e)), [])


def _paren_doc(inner: Doc, open_c: Comment = NO_COMMENT, close_c: Comment = NO_COMMENT) -> Doc:
    return group(cat(with_comment(text("("), open_c), nest(inner, 1), with_comment(text(")"), close_c)))


def member_doc(primary: Doc, accesses: list[Doc]) -> Doc:
    """A primary followed by attribute accesses and calls, breakable between them."""
    return group(cat(primary, nest(intersperse(accesses, LINE_))))


def expr_doc(e: ast.Expr) -> Doc:
    """The layout document of an expression, at the loosest level (`Expr`),
    in the parentheses its source wrote."""
    n = _source_parens(e)
    if not n:
        return _node_doc(e)
    first, last = first_token(e), last_token(e)
    opens = [take_comment(next_token(first, -i)) for i in range(n, 0, -1)]
    doc = _node_doc(e)
    for i in range(1, n + 1):
        doc = member_doc(_paren_doc(doc, opens[n - i], take_comment(next_token(last, i))), [])
    return doc


def _node_doc(e: ast.Expr) -> Doc:
    """The document of `e` itself, without the parentheses its source had."""
    if isinstance(e, ast.If):
        return _if_doc(e)
    if isinstance(e, ast.Or):
        return _chain_doc(e, ast.Or, "||", AND)
    if isinstance(e, ast.And):
        return _chain_doc(e, ast.And, "&&", RELATION)
    if isinstance(e, ast.BinaryOp):
        if e.op in RELATION_OPS:
            return _relation_doc(e)
        if e.op in ADD_OPS:
            return _arith_doc(e, ADD_OPS, MULT)
        if e.op == "*":
            return _arith_doc(e, ("*",), UNARY)
        raise ValueError(f"unknown binary operator {e.op!r}")
    if isinstance(e, ast.Has):
        return _has_doc(e)
    if isinstance(e, ast.Like):
        return _like_doc(e)
    if isinstance(e, ast.Is):
        return _is_doc(e)
    if isinstance(e, (ast.Not, ast.Neg)):
        return _unary_doc(e)
    if (value := _long_value(e)) is not None and value < 0:
        return _negative_literal_doc(e, value)
    if isinstance(e, (ast.GetAttr, ast.MethodCall, ast.ExtFun)):
        primary, accesses = _access_chain(e)
        return member_doc(primary, accesses)
    return member_doc(_primary(e), [])


def _if_doc(e: ast.If) -> Doc:
    """`if c then a else b`, each part indented on its own line when broken."""
    if_c = take_comment(first_token(e))
    then_c, else_c = take_comment(token_after(e.cond)), take_comment(token_after(e.then_))

    def branch(word: str, c: Comment, x: ast.Expr) -> Doc:
        return cat(with_comment(text(word), c), nest(cat(LINE, expr_doc(x))))

    return group(cat(branch("if", if_c, e.cond), LINE, branch("then", then_c, e.then_), LINE,
                     branch("else", else_c, e.else_)))


def _flatten(e: ast.Expr, kind: type[ast.And] | type[ast.Or]) -> list[ast.Expr]:
    """The operands of a left-nested `||` or `&&` chain."""
    operands = []
    top = e
    while isinstance(e, kind) and (e is top or not _source_parens(e)):
        operands.append(e.right)
        e = e.left
    operands.append(e)
    operands.reverse()
    return operands


def _chain_doc(e: ast.Expr, kind: type[ast.And] | type[ast.Or], op: str, operand_level: int) -> Doc:
    """`a || b || c`: operators at line ends, operands one per line when broken
    (with `NESTING_SHOWN`, each operand a group, and chains parenthesised)."""
    operands = _flatten(e, kind)
    shown = NESTING_SHOWN.get()

    def operand(x: ast.Expr) -> Doc:
        return group(_operand(x, RELATION)) if shown else _operand(x, operand_level)

    parts: list[Doc] = []
    for x in operands[:-1]:
        c = take_comment(token_after(x))
        parts.extend([operand(x), SPACE, with_comment(text(op), c, LINE)])
    parts.append(operand(operands[-1]))
    return cat(*parts)


def _relation_doc(e: ast.BinaryOp) -> Doc:
    left = _operand(e.left, ADD)
    c = take_comment(token_after(e.left))
    return cat(left, SPACE, with_comment(text(e.op), c), SPACE, _operand(e.right, ADD))


def _arith_doc(e: ast.Expr, ops: tuple[str, ...], operand_level: int) -> Doc:
    """`a + b - c` (or `a * b`): a left-nested chain, grouped."""
    operands: list[ast.Expr] = []
    operators: list[str] = []
    top = e
    while isinstance(e, ast.BinaryOp) and e.op in ops and (e is top or not _source_parens(e)):
        operands.append(e.right)
        operators.append(e.op)
        e = e.left
    parts = [_operand(e, operand_level)]
    prev = e
    for x, op in zip(reversed(operands), reversed(operators), strict=False):
        c = take_comment(token_after(prev))
        parts.extend([SPACE, with_comment(text(op), c), LINE, _operand(x, operand_level)])
        prev = x
    return group(cat(*parts))


def _unary_doc(e: ast.Not | ast.Neg) -> Doc:
    """A run of `!` or of `-` applied to a member (Cedar allows at most four
    in a row, of one kind).  Cedar reads the `-` before an integer literal
    as the literal's sign, so `Neg(Lit(3))` prints as `-(3)` and
    `Neg(Lit(-3))` as `--3`."""
    symbol = "!" if isinstance(e, ast.Not) else "-"
    run = 0
    x: ast.Expr = e
    while isinstance(x, (ast.Not, ast.Neg)) and type(x) is type(e) and run < MAX_UNARY_RUN \
            and (x is e or not _source_parens(x)):
        run += 1
        x = x.arg
    first = first_token(e)
    value = _long_value(x)
    if isinstance(e, ast.Neg) and value is not None and value < 0 and run < MAX_UNARY_RUN \
            and not _source_parens(x):
        # the literal's own sign joins the run
        signs = [token_doc(symbol, next_token(first, i)) for i in range(run + 1)]
        return cat(*signs, token_doc(str(-value), last_token(x)))
    signs = [token_doc(symbol, next_token(first, i)) for i in range(run)]
    if isinstance(e, ast.Neg) and value is not None and not _source_parens(x):
        return cat(*signs, member_doc(_paren_doc(_node_doc(x)), []))  # `-(3)`, not the literal -3
    if NESTING_SHOWN.get():  # a broken `!(a && b)` indents `b` under `a`
        return cat(*signs, nest(_operand(x, MEMBER), run))
    return cat(*signs, _operand(x, MEMBER))


def _negative_literal_doc(e: ast.Expr, value: int) -> Doc:
    """`-3` (the literal `e`, of negative `value`): to the grammar, a `-`
    applied to the literal 3."""
    first = first_token(e)
    return cat(token_doc("-", first), token_doc(str(-value), last_token(e)))


def _has_doc(e: ast.Has) -> Doc:
    target = _operand(e.expr, ADD)
    has_k = token_after(e.expr)
    has_c = take_comment(has_k)
    attrs = e.attrs
    src = SOURCE.get()
    quoted = src is not None and src.written(next_token(has_k), attrs[0], pattern=False) is not None
    if len(attrs) == 1 and (quoted or not is_ident(attrs[0])):
        field = str_doc(attrs[0], next_token(has_k))
    else:
        names = [checked_ident(a, "attribute in an extended `has`") for a in attrs]
        head = token_doc(names[0], next_token(has_k))
        accesses = [cat(token_doc(".", next_token(has_k, 2 * i)), token_doc(n, next_token(has_k, 2 * i + 1)))
                    for i, n in enumerate(names[1:], start=1)]
        field = member_doc(head, accesses)
    return group(cat(target, LINE, with_comment(text("has"), has_c), LINE, nest(field)))


def _like_doc(e: ast.Like) -> Doc:
    target = _operand(e.expr, ADD)
    like_k = token_after(e.expr)
    like_c = take_comment(like_k)
    pattern = _pattern_doc(e.pattern, next_token(like_k))
    return group(cat(target, LINE, with_comment(text("like"), like_c), LINE, nest(pattern)))


def _is_doc(e: ast.Is) -> Doc:
    target = _operand(e.expr, ADD)
    is_k = token_after(e.expr)
    is_c = take_comment(is_k)
    entity_type, in_k = path_doc(e.entity_type, next_token(is_k), "entity type")
    parts = [target, SPACE, with_comment(text("is"), is_c), SPACE, nest(entity_type)]
    if e.in_expr is not None:
        in_c = take_comment(in_k)
        parts.extend([LINE, with_comment(text("in"), in_c), SPACE, nest(_operand(e.in_expr, ADD))])
    return group(cat(*parts))


def _call_doc(args: Sequence[ast.Expr], open_k: int | None, close_k: int | None) -> Doc:
    """`(a, b)` after a method or function name."""
    open_c = take_comment(open_k)
    if not args:
        return cat(with_comment(text("("), open_c), token_doc(")", close_k))
    parts = [expr_doc(args[0])]
    for prev, arg in zip(args, args[1:], strict=False):
        parts.extend([token_doc(",", token_after(prev)), LINE, expr_doc(arg)])
    body = cat(nest(cat(LINE_, *parts)), LINE_)
    return cat(with_comment(text("("), open_c), body, token_doc(")", close_k))


def _access_chain(e: ast.Expr) -> tuple[Doc, list[Doc]]:
    """Split a chain of `.attr`, `["attr"]`, `.method(..)` and a function's
    `(..)` into its primary and its accesses, as Cedar's grammar reads a
    Member.  Accesses are built outermost first, tokens located from the
    receiver's end."""
    chain: list[ast.GetAttr | ast.MethodCall] = []
    top = e
    while (e is top or not _source_parens(e)) and isinstance(e, (ast.GetAttr, ast.MethodCall)):
        chain.append(e)
        e = e.expr if isinstance(e, ast.GetAttr) else e.receiver
    chain.reverse()
    if isinstance(e, ast.ExtFun) and (e is top or not _source_parens(e)):
        # `ip("..")` is a name followed by a call, to the grammar
        name, open_k = path_doc(e.name, first_token(e), "function name")
        primary, accesses = name, [_call_doc(e.args, open_k, last_token(e))]
    elif _source_parens(e):
        primary, accesses = expr_doc(e), []
    elif level(e) >= MEMBER:
        primary, accesses = _primary(e), []
    else:
        primary, accesses = member_doc(_paren_doc(_node_doc(e)), []), []
    k = token_after(e)
    for node in chain:
        accesses.extend(_access_docs(node, k))
        k = next_token(last_token(node))
    return primary, accesses


def _access_docs(node: ast.GetAttr | ast.MethodCall, k: int | None) -> list[Doc]:
    """The accesses one node adds to a chain, its first token being `k`."""
    if isinstance(node, ast.GetAttr):
        src = SOURCE.get()
        indexed = src is not None and k is not None and k < len(src.tokens) and src.text_of(k) == "["
        if is_ident(node.attr) and not indexed:
            return [cat(token_doc(".", k), token_doc(node.attr, next_token(k)))]
        return [cat(token_doc("[", k), str_doc(node.attr, next_token(k)), token_doc("]", next_token(k, 2)))]
    name = checked_ident(node.name, "method name")
    field = cat(token_doc(".", k), token_doc(name, next_token(k)))
    return [field, _call_doc(node.args, next_token(k, 2), last_token(node))]


def _primary(e: ast.Expr) -> Doc:
    first = first_token(e)
    if isinstance(e, ast.Lit) and isinstance(e.value, str):
        return str_doc(e.value, first)
    if isinstance(e, ast.Lit):
        return token_doc(_literal(e.value), first)
    if isinstance(e, ast.EntityLit):
        return entity_uid_doc(e.uid, first)[0]
    if isinstance(e, (ast.Var, ast.Slot)):
        return token_doc(e.name, first)
    if isinstance(e, ast.SetLit):
        return _set_doc(e)
    if isinstance(e, ast.RecordLit):
        return _record_doc(e)
    raise TypeError(f"not a Cedar expression: {e!r}")


def _literal(v: bool | int | str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return quote(v)
    raise TypeError(f"not a Cedar literal: {v!r}")


def elements_doc(elems: Sequence[Doc], commas: Sequence[int | None]) -> Doc:
    """Elements separated by `,` and a line break opportunity."""
    parts: list[Doc] = []
    for i, d in enumerate(elems):
        if i:
            parts.extend([token_doc(",", commas[i - 1]), LINE])
        parts.append(d)
    return cat(*parts)


def _set_doc(e: ast.SetLit) -> Doc:
    elems = [expr_doc(x) for x in e.elems]
    body = elements_doc(elems, [token_after(x) for x in e.elems[:-1]])
    return cat(token_doc("[", first_token(e)), nest(body, 1), token_doc("]", last_token(e)))


def _record_key_doc(key: str, k: int | None) -> Doc:
    """A record key: quoted only when it must be, unless the source quoted it."""
    src = SOURCE.get()
    written = src.written(k, key, pattern=False) if src else None
    return token_doc(written or (key if is_ident(key) else quote(key)), k)


def _record_doc(e: ast.RecordLit) -> Doc:
    open_k = first_token(e)
    if not e.fields:
        return cat(token_doc("{", open_k), token_doc("}", last_token(e)))
    inits = []
    key_k = next_token(open_k)
    for key, value in e.fields:
        key_doc = _record_key_doc(key, key_k)
        colon = token_doc(":", next_token(key_k))
        inits.append(cat(key_doc, colon, SPACE, expr_doc(value)))
        key_k = token_after(value, 2)
    body = elements_doc(inits, [token_after(v) for _, v in e.fields[:-1]])
    return cat(token_doc("{", open_k), group(cat(nest(cat(LINE, body)), LINE)), token_doc("}", last_token(e)))


def print_expr(e: ast.Expr, width: int = LINE_WIDTH, *, show_nesting: bool = False) -> str:
    """Cedar text for an expression (`show_nesting`: see `NESTING_SHOWN`)."""
    with nesting_shown(show_nesting):
        return remove_empty_lines(render(group(expr_doc(e)), width))
