"""Hypothesis strategies for Cedar policy ASTs (shared by every engineer's tests).

`exprs()`, `policies()` and `policy_sets()` generate ASTs that Cedar's parser
accepts when printed: every scope form (`==`, `in`, `is`, `is .. in`, action
sets, template slots), annotations, every expression node (all operators,
`has` with attribute paths, `like` with wildcards and escaped stars, `is .. in`,
sets, records, core and extension methods, extension functions with valid
literal arguments), unicode strings and the Long boundaries.  Generated ASTs
are canonical (`like` patterns merge adjacent literal text, record keys are
distinct, slots appear only in the scope), so `parse(print(ast)) == ast`.
"""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st

from cedarscope.lang import ast
from cedarscope.lang.values import LONG_MAX, LONG_MIN, EntityUID

RESERVED = {"true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar"}

# Names that read like real policies, mixed with arbitrary identifiers.
_COMMON_NAMES = ["User", "Group", "Photo", "Album", "owner", "level", "tags", "name",
                 "principal", "action", "resource", "context", "permit", "when", "a", "_x1"]


@cache  # building strategies is costly; they are immutable
def idents() -> st.SearchStrategy[str]:
    """Cedar identifiers (reserved words excluded)."""
    generated = st.from_regex(r"\A[_a-zA-Z][_a-zA-Z0-9]{0,8}\Z").filter(lambda s: s not in RESERVED)
    return st.one_of(st.sampled_from(_COMMON_NAMES), generated)


@cache
def cedar_strings() -> st.SearchStrategy[str]:
    """Strings with quotes, backslashes, stars, control characters and
    non-ASCII text (no surrogates: Cedar strings are Unicode scalar values)."""
    tricky = st.sampled_from(['"', "\\", "*", "\\*", "\n", "\t", "\0", "\x7f", "é", "🐈", "\u2028", "'", "a b"])
    arbitrary = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
    return st.one_of(arbitrary, st.lists(tricky, max_size=4).map("".join),
                     st.sampled_from(["", "alice", "vacation.jpg"]))


@cache
def entity_types() -> st.SearchStrategy[str]:
    return st.lists(idents(), min_size=1, max_size=3).map("::".join)


@cache
def action_types() -> st.SearchStrategy[str]:
    """Cedar requires action entities to be of a type named `Action`."""
    return st.one_of(st.just("Action"), idents().map(lambda ns: ns + "::Action"))


@cache
def entity_uids(types: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[EntityUID]:
    return st.builds(EntityUID, types if types is not None else entity_types(), cedar_strings())


@cache
def longs() -> st.SearchStrategy[int]:
    edges = st.sampled_from([0, 1, -1, LONG_MAX, LONG_MIN, LONG_MAX - 1, LONG_MIN + 1, 2**31, -(2**32)])
    return st.one_of(edges, st.integers(LONG_MIN, LONG_MAX), st.integers(-100, 100))


# --------------------------------------------------------------------------
# Extension values: literal strings each constructor accepts.


def _decimal_strings() -> st.SearchStrategy[str]:
    # decimal's range is that of a 64-bit integer scaled by 10^4
    whole = st.integers(0, 922337203685476)
    frac = st.from_regex(r"\A[0-9]{1,4}\Z")
    return st.builds(lambda neg, w, f: f"{'-' if neg else ''}{w}.{f}", st.booleans(), whole, frac)


def _ip_strings() -> st.SearchStrategy[str]:
    v4 = st.builds(lambda a, p: ".".join(map(str, a)) + (f"/{p}" if p is not None else ""),
                   st.lists(st.integers(0, 255), min_size=4, max_size=4),
                   st.none() | st.integers(0, 32))
    v6 = st.sampled_from(["::1", "::", "2001:db8::1", "fe80::1/64", "2001:db8:0:0:0:0:2:1/128"])
    return st.one_of(v4, v6)


def _datetime_strings() -> st.SearchStrategy[str]:
    date = st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
                     st.integers(1970, 2100), st.integers(1, 12), st.integers(1, 28))
    time = st.builds(lambda h, mi, s: f"T{h:02d}:{mi:02d}:{s:02d}",
                     st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
    millis = st.none() | st.integers(0, 999).map(lambda ms: f".{ms:03d}")
    zone = st.sampled_from(["Z", "+0100", "-0530"])
    full = st.builds(lambda d, t, ms, z: d + t + (ms or "") + z, date, time, millis, zone)
    return st.one_of(date, full)


def _duration_strings() -> st.SearchStrategy[str]:
    units = st.lists(st.sampled_from(["d", "h", "m", "s", "ms"]), min_size=1, max_size=5, unique=True)

    def build(sign: bool, us: list[str], n: int) -> str:
        order = ["d", "h", "m", "s", "ms"]
        return ("-" if sign else "") + "".join(f"{n}{u}" for u in sorted(us, key=order.index))

    return st.builds(build, st.booleans(), units, st.integers(0, 1000))


EXT_LITERALS = {
    "decimal": _decimal_strings,
    "ip": _ip_strings,
    "datetime": _datetime_strings,
    "duration": _duration_strings,
}


@cache
def ext_calls() -> st.SearchStrategy[ast.ExtFun]:
    """An extension constructor applied to a valid literal string."""
    return st.one_of(*[
        strings().map(lambda s, n=name: ast.ExtFun(n, (ast.Lit(s),)))
        for name, strings in EXT_LITERALS.items()
    ])


# Method names by arity (the receiver not counted).  Cedar's parser checks
# the name and the number of arguments.
METHODS_BY_ARITY = {
    0: ["isEmpty", "isIpv4", "isIpv6", "isLoopback", "isMulticast", "toDate", "toTime",
        "toDays", "toHours", "toMinutes", "toSeconds", "toMilliseconds"],
    1: ["contains", "containsAll", "containsAny", "hasTag", "getTag", "lessThan",
        "lessThanOrEqual", "greaterThan", "greaterThanOrEqual", "isInRange", "offset",
        "durationSince"],
}


# --------------------------------------------------------------------------
# Expressions


@cache
def _patterns() -> st.SearchStrategy[tuple]:
    """`like` patterns in canonical form: literal runs merged, wildcards between."""
    elem = st.one_of(st.none(), cedar_strings().filter(bool))

    def canonical(elems: list) -> tuple:
        out: list = []
        for e in elems:
            if e is not None and out and out[-1] is not None:
                out[-1] += e
            else:
                out.append(e)
        return tuple(out)

    return st.lists(elem, max_size=5).map(canonical)


@cache
def _leaves() -> st.SearchStrategy[ast.Expr]:
    return st.one_of(
        st.booleans().map(ast.Lit),
        longs().map(ast.Lit),
        cedar_strings().map(ast.Lit),
        entity_uids().map(ast.EntityLit),
        st.sampled_from(["principal", "action", "resource", "context"]).map(ast.Var),
        ext_calls(),
    )


def _unique_fields(pairs: list) -> tuple:
    seen: dict = {}
    for k, v in pairs:
        seen.setdefault(k, v)
    return tuple(seen.items())


@cache
def _attr_names() -> st.SearchStrategy[str]:
    return st.one_of(idents(), cedar_strings())


def _extend(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    c = children
    small_tuple = lambda n: st.lists(c, max_size=n).map(tuple)  # noqa: E731
    return st.one_of(
        st.builds(ast.Not, c),
        st.builds(ast.Neg, c),
        st.builds(ast.BinaryOp, st.sampled_from(ast.BINARY_OPS), c, c),
        st.builds(ast.And, c, c),
        st.builds(ast.Or, c, c),
        st.builds(ast.If, c, c, c),
        st.builds(ast.GetAttr, c, _attr_names()),
        st.builds(ast.Has, c, st.one_of(_attr_names().map(lambda a: (a,)),
                                        st.lists(idents(), min_size=2, max_size=3).map(tuple))),
        st.builds(ast.Like, c, _patterns()),
        st.builds(ast.Is, c, entity_types(), st.none() | c),
        st.builds(ast.SetLit, small_tuple(4)),
        st.builds(ast.RecordLit, st.lists(st.tuples(_attr_names(), c), max_size=4).map(_unique_fields)),
        st.builds(ast.MethodCall, c, st.sampled_from(METHODS_BY_ARITY[0]), st.just(())),
        st.builds(ast.MethodCall, c, st.sampled_from(METHODS_BY_ARITY[1]), c.map(lambda a: (a,))),
    )


@cache
def exprs(max_leaves: int = 12) -> st.SearchStrategy[ast.Expr]:
    """Cedar expressions of every kind (no template slots: Cedar allows those
    only in the scope)."""
    return st.recursive(_leaves(), _extend, max_leaves=max_leaves)


# --------------------------------------------------------------------------
# Policies


@cache
def _scope_targets(slot: str | None) -> st.SearchStrategy:
    uids = entity_uids()
    return uids if slot is None else st.one_of(uids, st.just(ast.Slot(slot)))


@cache
def _head_scopes(slot: str | None) -> st.SearchStrategy[ast.Scope]:
    """The forms of a principal or resource scope, with `slot` allowed as target."""
    target = _scope_targets(slot)
    return st.one_of(
        st.just(ast.ScopeAny()),
        st.builds(ast.ScopeEq, target),
        st.builds(ast.ScopeIn, target),
        st.builds(ast.ScopeIs, entity_types(), st.none() | target),
    )


@cache
def _action_scopes() -> st.SearchStrategy[ast.Scope]:
    actions = entity_uids(action_types())
    return st.one_of(
        st.just(ast.ScopeAny()),
        st.builds(ast.ScopeEq, actions),
        st.builds(ast.ScopeIn, actions),
        st.builds(ast.ActionInSet, st.lists(actions, max_size=3).map(tuple)),
    )


@cache
def annotations() -> st.SearchStrategy[tuple]:
    """Annotations with distinct names (`id` left to `policy_sets`)."""
    names = idents().filter(lambda n: n != "id")
    return st.lists(st.tuples(names, st.none() | cedar_strings()), max_size=3,
                    unique_by=lambda kv: kv[0]).map(
        lambda kvs: tuple(ast.Annotation(k, v) for k, v in kvs))


@cache
def conditions() -> st.SearchStrategy[ast.Condition]:
    return st.builds(ast.Condition, st.sampled_from(["when", "unless"]), exprs())


@cache
def policies(templates: bool = True) -> st.SearchStrategy[ast.Policy]:
    """Static policies and (unless `templates` is False) templates."""
    p_slot = "?principal" if templates else None
    r_slot = "?resource" if templates else None
    return st.builds(
        ast.Policy,
        st.sampled_from(["permit", "forbid"]),
        _head_scopes(p_slot),
        _action_scopes(),
        _head_scopes(r_slot),
        st.lists(conditions(), max_size=2).map(tuple),
        annotations(),
    )


def _with_ids(draw, ps: list[ast.Policy], uids: st.SearchStrategy[EntityUID]) -> ast.PolicySet:
    """Positional ids, or an `@id` annotation for some policies; links for templates."""
    entries = []
    links = []
    for i, p in enumerate(ps):
        pid = f"policy{i}"
        if draw(st.booleans()):
            pid = f"p{i}-{draw(st.sampled_from(['read', 'admin', 'ü', '']))}"
            p = ast.Policy(p.effect, p.principal, p.action, p.resource, p.conditions,
                           (ast.Annotation("id", pid), *p.annotations))
        entries.append((pid, p))
        if p.is_template:
            for k in range(draw(st.integers(0, 2))):
                values = tuple((slot, draw(uids)) for slot in p.slots)
                links.append(ast.TemplateLink(pid, f"link{i}_{k}", values))
    return ast.PolicySet(tuple(entries), tuple(links))


@cache
def policy_sets(max_size: int = 4) -> st.SearchStrategy[ast.PolicySet]:
    """Policy sets with positional and `@id` ids, templates and their links."""

    uids = entity_uids()

    @st.composite
    def build(draw):
        ps = draw(st.lists(policies(), max_size=max_size))
        return _with_ids(draw, ps, uids)

    return build()
