"""The encoder, construct by construct, on a small hand-written schema.

`agrees(expr)`: with the symbolic inputs pinned to a concrete request and
store, a policy `permit(...) when { expr }` is satisfied / errors exactly as
lang.evaluator and cedarpy (the official engine) say.

`solve(expr)`: is there any well-formed input making expr true?  Sat answers
are decoded and replayed through the evaluator; unsat answers are ones Cedar's
semantics forces (so the set encoding is checked in both directions).
"""

from __future__ import annotations

import pytest
import z3

from cedarscope.encoder import Encoding, Unsupported
from cedarscope.lang.entities import entities_to_json, parse_entities, value_from_json
from cedarscope.lang.evaluator import EvalError, satisfied
from cedarscope.lang.parser import parse_policies, parse_policy
from cedarscope.lang.request import Request
from cedarscope.lang.schema import RequestEnv, parse_schema
from cedarscope.lang.values import EntityUID
from tests.test_symbolic_vs_concrete import value_in

try:
    import cedarpy
except ImportError:  # pragma: no cover
    cedarpy = None

SCHEMA_TEXT = """
entity Group in [Group] { name: String };
entity Org;
entity Team in [Org];
entity User in [Group, Team] {
  age: Long, nick?: String, langs: Set<String>, manager?: User,
  addr: { city: String, zip?: Long }, ip: ipaddr, score: decimal,
  born: datetime, wait: duration
} tags String;
entity Color enum ["red", "green"];
entity Doc { owner: User, readers: Set<User>, level: Long, color: Color, groups: Set<Group> } tags Long;
action "read";
action view in ["read"] appliesTo {
  principal: [User], resource: [Doc],
  context: { n: Long, s: String, xs: Set<Long>, ys: Set<Long>, opt?: Long,
             rec: { a: Long, b?: String }, users: Set<User>, d: decimal,
             i: ipaddr, t: datetime, dur: duration, nested: Set<Set<Long>> }
};
"""

ENTITIES = [
    {"uid": {"type": "User", "id": "alice"}, "parents": [{"type": "Group", "id": "g1"}, {"type": "Team", "id": "t1"}],
     "attrs": {"age": 30, "nick": "al", "langs": ["en", "fr"], "manager": {"type": "User", "id": "bob"},
               "addr": {"city": "Paris", "zip": 75001}, "ip": "10.0.0.7", "score": "1.5",
               "born": "1990-05-17", "wait": "1h30m"},
     "tags": {"role": "admin", "x": ""}},
    {"uid": {"type": "User", "id": "bob"}, "parents": [],
     "attrs": {"age": 9223372036854775807, "langs": [], "addr": {"city": "Oslo"}, "ip": "::1",
               "score": "-0.0001", "born": "1969-12-31T23:59:59.999Z", "wait": "-1ms"}},
    {"uid": {"type": "Group", "id": "g1"}, "parents": [{"type": "Group", "id": "g2"}], "attrs": {"name": "one"}},
    {"uid": {"type": "Group", "id": "g2"}, "parents": [], "attrs": {"name": "two"}},
    {"uid": {"type": "Team", "id": "t1"}, "parents": [{"type": "Org", "id": "o1"}], "attrs": {}},
    {"uid": {"type": "Doc", "id": "d1"}, "parents": [],
     "attrs": {"owner": {"type": "User", "id": "alice"}, "readers": [{"type": "User", "id": "bob"}],
               "level": 3, "color": {"type": "Color", "id": "green"}, "groups": [{"type": "Group", "id": "g2"}]},
     "tags": {"rank": 7}},
]

CONTEXT = {"n": 5, "s": "he*llo\u00e9\U0001F600", "xs": [1, 2, 3], "ys": [2], "rec": {"a": 1},
           "users": [{"__entity": {"type": "User", "id": "alice"}}], "d": "2.25", "i": "192.168.1.0/24",
           "t": "2024-01-01T00:00:00Z", "dur": "2d", "nested": [[1], []]}

SCHEMA = parse_schema(SCHEMA_TEXT)
ENV = RequestEnv("User", EntityUID("Action", "view"), "Doc")


def _request(principal="alice", resource="d1", context=None) -> Request:
    ctx = value_from_json(CONTEXT if context is None else context, SCHEMA.actions[ENV.action].context, schema=SCHEMA)
    return Request(EntityUID("User", principal), ENV.action, EntityUID("Doc", resource), ctx)


def _policy(expr: str):
    return parse_policy(f"permit(principal, action, resource) when {{ {expr} }};")


def _concrete(policy, request, entities) -> tuple[bool, bool]:
    try:
        return satisfied(policy, request, entities), False
    except EvalError:
        return False, True


def _symbolic(enc, policy, request, entities) -> tuple[bool, bool]:
    sat_f, err_f = enc.satisfied(policy), enc.errors(policy)
    s = z3.Solver()
    s.add(enc.pin(request, entities))
    assert s.check() == z3.sat
    m = s.model()
    got = (value_in(s, m, sat_f), value_in(s, m, err_f))
    # the pin determines the answer
    s.add(z3.Or(sat_f != z3.BoolVal(got[0]), err_f != z3.BoolVal(got[1])))
    assert s.check() == z3.unsat
    return got


def _cedarpy(expr: str, request: Request, entities) -> tuple[bool, bool]:
    from cedarscope.lang.entities import value_to_json

    req = {"principal": request.principal.to_json(), "action": request.action.to_json(),
           "resource": request.resource.to_json(),
           "context": {k: value_to_json(v) for k, v in request.context.items()}}
    text = f"permit(principal, action, resource) when {{ {expr} }};"
    r = cedarpy.is_authorized(req, text, entities_to_json(entities))
    return r.decision.value == "Allow", bool(list(r.diagnostics.errors))


def agrees(expr: str, principal="alice", resource="d1", context=None) -> tuple[bool, bool]:
    entities = parse_entities(ENTITIES, schema=SCHEMA)
    request = _request(principal, resource, context)
    policy = _policy(expr)
    enc = Encoding(SCHEMA, ENV)
    got = _symbolic(enc, policy, request, entities)
    assert got == _concrete(policy, request, entities), expr
    if cedarpy is not None:
        assert got == _cedarpy(expr, request, entities), expr
    return got


EXPRS = [
    # literals, connectives, short-circuit and type errors
    "true", "false && (1 + \"a\" == 2)", "true && 1", "1 || true", "false || context.n == 5",
    "!context.n", "if context.n > 3 then true else 1", "if context.n > 9 then 1 else false",
    "if true then principal else resource",
    # Long arithmetic and overflow
    "context.n + 1 == 6", "context.n * -2 == -10", "context.n - 7 < 0",
    "principal.age + 1 > 0", "User::\"bob\".age + 1 > 0", "User::\"bob\".age * 2 > 0",
    "-(User::\"bob\".age) - 2 < 0", "-(-9223372036854775807 - 1) > 0", "9223372036854775807 * -1 < 0",
    "context.n >= 5 && context.n <= 5", "1 < \"a\"",
    # equality across types
    "1 == \"1\"", "principal == resource", "principal == User::\"alice\"", "context.rec == {a: 1}",
    "context.rec == {a: 1, b: \"x\"}", "[1, 2] == [2, 1]", "[] == context.ys", "context.xs == [1, 2, 3]",
    "{a: [1]} == {a: [1]}", "context.d == decimal(\"2.250\")", "context.i == ip(\"192.168.1.0/24\")",
    # strings and like
    "context.s like \"he\\*llo*\"", "context.s like \"*\\u{1F600}\"", "context.s like \"*\"",
    "context.s like \"he*llo\"", "\"\" like \"\"", "\"abc\" like \"a*c*\"", "context.n like \"*\"",
    # attributes and has
    "principal.nick == \"al\"", "User::\"bob\".nick == \"x\"", "principal has nick",
    "User::\"bob\" has nick", "principal.addr has zip", "User::\"bob\".addr.zip == 1",
    "principal has addr.zip", "User::\"bob\" has addr.zip", "context has opt", "context.opt == 1",
    "context.rec has b", "context has rec.a", "principal.nope == 1", "principal has nope",
    "User::\"nobody\".age == 1", "User::\"nobody\" has age", "principal.manager.age > 10",
    "User::\"bob\".manager.age > 1", "resource.owner == principal", "resource.owner.addr.city == \"Paris\"",
    "{a: 1}.a == 1", "{a: 1}.b == 1", "{a: 1} has b", "1 has a", "resource.color == Color::\"green\"",
    "Color::\"red\" has foo", "Color::\"purple\".x == 1",
    # hierarchy, is
    "principal in Group::\"g2\"", "principal in Group::\"g3\"", "principal in Org::\"o1\"",
    "principal in principal", "principal in [Group::\"g3\", Group::\"g1\"]", "principal in resource.groups",
    "principal in context.users", "Group::\"g1\" in Group::\"g2\"", "Group::\"g2\" in Group::\"g1\"",
    "principal in [User::\"alice\", Group::\"zz\"]", "principal in [Team::\"t1\", 1]", "principal in 1",
    "1 in principal", "principal in []", "action in Action::\"read\"", "action in [Action::\"read\"]",
    "action == Action::\"view\"", "principal is User", "principal is Group", "principal is User in Group::\"g1\"",
    "1 is User", "resource.owner is User in Org::\"o1\"",
    # sets
    "context.xs.contains(2)", "context.xs.contains(\"2\")", "context.xs.containsAll(context.ys)",
    "context.ys.containsAll(context.xs)", "context.xs.containsAny([7, 3])", "context.xs.containsAny([])",
    "context.ys.isEmpty()", "[].isEmpty()", "principal.langs.contains(\"fr\")", "User::\"bob\".langs.isEmpty()",
    "resource.readers.contains(User::\"bob\")", "context.users.containsAll(resource.readers)",
    "[principal, resource].contains(resource)", "[1, \"a\"].contains(\"a\")", "[1, \"a\"].containsAll([1])",
    "context.nested.contains([1])", "context.nested.contains([])", "context.nested.contains([2])",
    "1.contains(1)", "context.xs.containsAll(1)", "[[1], [2]].contains([2])", "[{a: 1}].contains({a: 1})",
    # tags
    "principal.hasTag(\"role\")", "principal.getTag(\"role\") == \"admin\"", "principal.getTag(\"nope\") == \"\"",
    "User::\"bob\".hasTag(\"role\")", "resource.getTag(\"rank\") > 5", "resource.hasTag(context.s)",
    "Group::\"g1\".hasTag(\"x\")", "Group::\"g1\".getTag(\"x\") == 1", "principal.hasTag(1)",
    # decimal
    "context.d.lessThan(decimal(\"2.26\"))", "context.d.greaterThanOrEqual(principal.score)",
    "User::\"bob\".score.lessThanOrEqual(decimal(\"0.0\"))", "decimal(\"1.23456\") == decimal(\"1.2\")",
    "decimal(\"922337203685477.5808\").lessThan(decimal(\"1.0\"))", "context.d.greaterThan(1)",
    "context.d < decimal(\"3.0\")",
    # ipaddr
    "context.i.isIpv4()", "principal.ip.isInRange(ip(\"10.0.0.0/8\"))", "principal.ip.isInRange(context.i)",
    "User::\"bob\".ip.isLoopback()", "User::\"bob\".ip.isIpv6()", "ip(\"224.1.2.3\").isMulticast()",
    "ip(\"ff02::1\").isMulticast()", "ip(\"127.0.0.1/8\").isLoopback()", "ip(\"127.0.0.0/7\").isLoopback()",
    "ip(\"10.0.0.1/24\") == ip(\"10.0.0.0/24\")", "ip(\"1.2.3.4\").isInRange(ip(\"::/0\"))",
    "ip(\"not an ip\").isIpv4()", "context.i.isInRange(ip(\"192.168.0.0/16\"))",
    # datetime and duration
    "context.t > principal.born", "context.t.offset(context.dur) > context.t",
    "context.t.durationSince(principal.born) > duration(\"1d\")",
    "User::\"bob\".born.toDate() == datetime(\"1969-12-31\")",
    "User::\"bob\".born.toTime() == duration(\"23h59m59s999ms\")", "principal.wait.toMinutes() == 90",
    "User::\"bob\".wait.toSeconds() == 0", "context.dur.toDays() == 2", "context.dur.toHours() == 48",
    "context.dur.toMilliseconds() == 172800000", "principal.wait < context.dur", "context.t < context.dur",
    "datetime(\"2024-13-01\") == context.t", "duration(\"9223372036854775807ms\") > duration(\"0ms\")",
    "datetime(\"1970-01-01\").offset(duration(\"9223372036854775807ms\")) > context.t",
    "datetime(\"1970-01-01\").offset(duration(\"-9223372036854775807ms\")).offset(duration(\"-2ms\")) < context.t",
]


@pytest.mark.parametrize("expr", EXPRS)
def test_pinned_encoding_agrees_with_evaluator(expr):
    agrees(expr)


@pytest.mark.parametrize("expr", ["principal.age > 20", "principal has nick", "principal in Group::\"g2\"",
                                  "principal.hasTag(\"role\")", "principal.manager.age > 0"])
def test_pinned_encoding_other_principal(expr):
    agrees(expr, principal="bob")


def test_pinned_optional_context_attribute_present():
    ctx = dict(CONTEXT, opt=4, rec={"a": 1, "b": "x"})
    assert agrees("context.opt == 4 && context.rec.b == \"x\"", context=ctx) == (True, False)


def test_concrete_answers_are_the_expected_ones():
    assert agrees("principal.age + 1 > 0") == (True, False)
    assert agrees("User::\"bob\".age + 1 > 0") == (False, True)
    assert agrees("principal in Group::\"g2\"") == (True, False)
    assert agrees("false && (1 + \"a\" == 2)") == (False, False)


# --------------------------------------------------------------------------
# Solving: unsat answers are forced by Cedar's semantics, sat answers replay


def solve(expr: str, env: RequestEnv = ENV, schema=SCHEMA):
    """(sat?, decoded request, entities) for `expr` being true."""
    policy = _policy(expr)
    enc = Encoding(schema, env)
    s = z3.Solver()
    s.add(enc.satisfied(policy))
    s.add(enc.well_formed())
    r = s.check()
    assert r != z3.unknown
    if r == z3.unsat:
        return False, None, None
    request, entities = enc.decode(s.model())
    assert _concrete(policy, request, entities) == (True, False), (expr, request, entities_to_json(entities))
    parse_entities(entities_to_json(entities), schema=schema)  # conforms
    return True, request, entities


SAT = [
    "context.xs.contains(7) && !context.ys.contains(7)",
    "!context.xs.containsAll(context.ys)",
    "context.xs.containsAll(context.ys) && !context.ys.containsAll(context.xs)",
    "context.xs.containsAny(context.ys) && !context.xs.isEmpty()",
    "!context.xs.isEmpty() && !context.xs.contains(1) && !context.xs.contains(2)",
    "context.xs != context.ys && context.xs.containsAll([1]) && context.ys.containsAll([1])",
    "context.xs.containsAll(context.ys) && context.ys.containsAll(context.xs) && !context.xs.isEmpty()",
    "!context.nested.isEmpty() && !context.nested.contains([])",
    "principal in resource.groups && !(principal in Group::\"g1\")",
    "principal in context.users && principal != User::\"alice\"",
    "resource.readers.containsAll(context.users) && !context.users.isEmpty()",
    "principal.langs.contains(context.s) && !(context.s like \"*a*\")",
]

UNSAT = [
    "context.xs.isEmpty() && context.xs.contains(context.n)",
    "!context.xs.containsAll(context.ys) && context.ys.isEmpty()",
    "context.xs.containsAll(context.ys) && context.ys.contains(3) && !context.xs.contains(3)",
    "context.xs == context.ys && context.xs.contains(1) && !context.ys.contains(1)",
    "context.xs.containsAny(context.ys) && context.xs.isEmpty()",
    "!context.xs.containsAny(context.ys) && context.xs.contains(4) && context.ys.contains(4)",
    "[1, 2].containsAll(context.xs) && context.xs.contains(3)",
    "principal in Group::\"a\" && Group::\"a\" in Group::\"b\" && principal in Group::\"c\""
    " && !(principal in Group::\"b\")",
    "Group::\"a\" in Group::\"b\" && Group::\"b\" in Group::\"a\"",
    "principal in resource.groups && resource.groups.isEmpty()",
    "principal.age + 1 < principal.age",
    "resource.color != Color::\"red\" && resource.color != Color::\"green\"",
    "principal.ip.isInRange(ip(\"10.0.0.0/8\")) && principal.ip.isIpv6()",
    "principal.langs.contains(\"a\") && principal.langs.isEmpty()",
]


@pytest.mark.parametrize("expr", SAT)
def test_satisfiable_queries_decode_and_replay(expr):
    assert solve(expr)[0]


@pytest.mark.parametrize("expr", UNSAT)
def test_unsatisfiable_queries(expr):
    assert not solve(expr)[0]


def test_can_error_is_found_and_replays():
    policy = _policy("principal.age + context.n > 0 && principal.nick == \"x\"")
    enc = Encoding(SCHEMA, ENV)
    s = z3.Solver()
    s.add(enc.errors(policy), *enc.well_formed())
    assert s.check() == z3.sat
    request, entities = enc.decode(s.model())
    assert _concrete(policy, request, entities) == (False, True)


@pytest.mark.parametrize("s", ["2.25", "2.250", "abc", "10.0.0.1", "1h", "2024-01-01"])
def test_extension_constructors_on_strings_from_the_inputs(s):
    ctx = dict(CONTEXT, s=s)
    for expr in ["decimal(context.s) == context.d", "ip(context.s).isIpv4()",
                 "duration(context.s) < context.dur", "datetime(context.s) == context.t",
                 "decimal(principal.nick).lessThan(context.d)"]:
        agrees(expr, context=ctx)


@pytest.mark.parametrize("expr", [
    "[if context.n > 1 then 1 else \"a\"].contains(1)",
    "[if context.n > 9 then 1 else \"a\", 2].contains(\"a\")",
    "[if context.n > 9 then principal else resource, principal].contains(resource)",
    "{a: if context.n > 1 then 1 else \"x\"}.a == 1",
    "{a: if context.n > 9 then 1 else \"x\"} == {a: \"x\"}",
    "principal in [if context.n > 1 then Group::\"g2\" else resource]",
])
def test_literals_with_conditionally_typed_elements(expr):
    agrees(expr)


def test_unsupported_is_raised_for_unencoded_methods():
    from cedarscope.lang import ast

    unknown = ast.MethodCall(ast.GetAttr(ast.Var("context"), "s"), "frobnicate", ())
    policy = ast.Policy("permit", ast.ScopeAny(), ast.ScopeAny(), ast.ScopeAny(),
                        (ast.Condition("when", unknown),))
    with pytest.raises(Unsupported, match="frobnicate"):
        Encoding(SCHEMA, ENV).satisfied(policy)


# --------------------------------------------------------------------------
# Templates and policy sets


def test_template_links_and_allows():
    ps = parse_policies("""
        @id("t") permit(principal == ?principal, action, resource in ?resource);
        @id("f") forbid(principal, action, resource) when { context.n > 10 };
    """)
    from cedarscope.lang.ast import PolicySet, TemplateLink
    ps = PolicySet(ps.policies, (TemplateLink("t", "link1", (("?principal", EntityUID("User", "alice")),
                                                              ("?resource", EntityUID("Doc", "d1")))),))
    enc = Encoding(SCHEMA, ENV)
    from cedarscope.lang.template import instantiate
    allow = enc.allows([i.policy for i in instantiate(ps)])
    s = z3.Solver()
    s.add(allow, *enc.well_formed())
    assert s.check() == z3.sat
    request, entities = enc.decode(s.model())
    assert request.principal == EntityUID("User", "alice") and request.resource == EntityUID("Doc", "d1")
    from cedarscope.lang.authorizer import is_authorized
    assert is_authorized(request, entities, ps).decision == "allow"
    s = z3.Solver()
    s.add(allow, enc.sym.principal.val != enc.sym.ids.val(EntityUID("User", "alice")), *enc.well_formed())
    assert s.check() == z3.unsat


def test_records_in_sets_compare_by_cedar_equality():
    schema = parse_schema("""
        entity U;
        action a appliesTo { principal: [U], resource: [U],
                             context: { recs: Set<{ a?: Long }>, r: { a?: Long } } };
    """)
    env = RequestEnv("U", EntityUID("Action", "a"), "U")
    for expr, expected in [
        ("context.recs.contains({}) && !context.recs.contains(context.r) && !(context.r has a)", False),
        ("context.recs.contains(context.r) && context.r has a && context.r.a == 3"
         " && !context.recs.contains({a: 3})", False),
        ("!context.recs.isEmpty() && !context.recs.contains({})", True),
    ]:
        assert solve(expr, env, schema)[0] == expected, expr


def test_infinite_array_models_decode_to_finite_sets():
    """Z3 may interpret a set as an infinite array (here forced: every Long);
    decoding reads it through the named elements, so it is finite and the
    decisions replay."""
    policy = _policy("context.xs.contains(5) && !context.xs.isEmpty() && context.ys.containsAll(context.xs)")
    enc = Encoding(SCHEMA, ENV)
    s = z3.Solver()
    s.add(enc.satisfied(policy), *enc.well_formed())
    xs = enc.sym.context.val["xs"][1]
    s.add(xs == z3.K(z3.BitVecSort(64), z3.BoolVal(True)))
    assert s.check() == z3.sat
    request, entities = enc.decode(s.model())
    assert 5 in request.context["xs"] and len(request.context["xs"]) <= 3
    assert _concrete(policy, request, entities) == (True, False)
