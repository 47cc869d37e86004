"""lang.printer: golden layouts on hand-built ASTs, parentheses exactly where
Cedar's grammar needs them, values as literals, and `parse(print(x)) == x`
for generated ASTs and for every policy of the corpus."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cedarscope.lang import ast as A
from cedarscope.lang.parser import parse_expr, parse_policies, parse_policy
from cedarscope.lang.printer import (
    display_width,
    format_source,
    print_expr,
    print_policy,
    print_policyset,
    print_value,
    source_comments,
)
from cedarscope.lang.values import LONG_MAX, LONG_MIN, CedarRecord, CedarSet, EntityUID
from tests import ast_strategies as S

P, R, C = A.Var("principal"), A.Var("resource"), A.Var("context")
ALICE = EntityUID("User", "alice")


def attr(e, *names):
    for n in names:
        e = A.GetAttr(e, n)
    return e


def lit(v):
    return A.Lit(v)


def when(body, annotations=(), principal=None, action=None, resource=None, effect="permit"):
    return A.Policy(effect, principal or A.ScopeAny(), action or A.ScopeAny(), resource or A.ScopeAny(),
                    (A.Condition("when", body),), annotations)


# --------------------------------------------------------------------------
# Parentheses and operators


@pytest.mark.parametrize("expr, text", [
    (A.And(A.Or(P, R), C), "(principal || resource) && context"),
    (A.Or(P, A.And(R, C)), "principal || resource && context"),
    (A.Or(A.Or(P, R), C), "principal || resource || context"),
    (A.Or(P, A.Or(R, C)), "principal || (resource || context)"),
    (A.BinaryOp("-", lit(1), A.BinaryOp("-", lit(2), lit(3))), "1 - (2 - 3)"),
    (A.BinaryOp("-", A.BinaryOp("-", lit(1), lit(2)), lit(3)), "1 - 2 - 3"),
    (A.BinaryOp("*", A.BinaryOp("+", lit(1), lit(2)), lit(3)), "(1 + 2) * 3"),
    (A.BinaryOp("+", lit(1), A.BinaryOp("*", lit(2), lit(3))), "1 + 2 * 3"),
    (A.BinaryOp("*", lit(2), lit(-3)), "2 * -3"),
    (A.BinaryOp("==", A.BinaryOp("==", lit(1), lit(2)), lit(True)), "(1 == 2) == true"),
    (A.BinaryOp("<", A.BinaryOp("+", lit(1), lit(2)), lit(3)), "1 + 2 < 3"),
    (A.BinaryOp("+", A.If(lit(True), lit(1), lit(2)), lit(3)), "(if true then 1 else 2) + 3"),
    (A.If(lit(True), lit(1), A.Or(P, R)), "if true then 1 else principal || resource"),
    (A.Not(A.Has(P, ("a",))), "!(principal has a)"),
    (A.Not(A.Not(lit(True))), "!!true"),
    (A.Not(A.Not(A.Not(A.Not(A.Not(lit(True)))))), "!!!!(!true)"),
    (A.Not(A.Neg(P)), "!(-principal)"),
    (A.Neg(lit(3)), "-(3)"),
    (A.Neg(lit(-3)), "--3"),
    (A.Neg(A.Neg(A.Neg(A.Neg(lit(-3))))), "----(-3)"),
    (lit(LONG_MIN), "-9223372036854775808"),
    (A.GetAttr(lit(-3), "x"), "(-3).x"),
    (A.GetAttr(A.BinaryOp("+", lit(1), lit(2)), "x"), "(1 + 2).x"),
    (A.MethodCall(A.SetLit((lit(1), lit(-2))), "contains", (lit(3),)), "[1, -2].contains(3)"),
    (A.MethodCall(A.ExtFun("ip", (lit("10.0.0.1"),)), "isInRange", (A.ExtFun("ip", (lit("10.0.0.0/8"),)),)),
     'ip("10.0.0.1").isInRange(ip("10.0.0.0/8"))'),
    (attr(P, "a b", "if", "ok"), 'principal["a b"]["if"].ok'),
    (A.Has(P, ("a", "b", "c")), "principal has a.b.c"),
    (A.Has(P, ("a b",)), 'principal has "a b"'),
    (A.Has(A.BinaryOp("+", lit(1), lit(2)), ("x",)), "1 + 2 has x"),
    (A.Has(A.BinaryOp("==", lit(1), lit(2)), ("x",)), "(1 == 2) has x"),
    (A.Like(attr(P, "path"), ("/home/", A.WILDCARD, 'a*"\\')), 'principal.path like "/home/*a\\*\\"\\\\"'),
    (A.Is(P, "NS::User", A.EntityLit(EntityUID("Group", "g"))), 'principal is NS::User in Group::"g"'),
    (A.BinaryOp("in", A.Is(P, "User"), R), "(principal is User) in resource"),
    (A.RecordLit((("a", lit(1)), ("b c", lit("x")), ("if", A.SetLit(())))), '{ a: 1, "b c": "x", "if": [] }'),
    (A.RecordLit(()), "{}"),
    (lit("tab\there \"q\" \\ \n é 🐈"), '"tab\\there \\"q\\" \\\\ \\n é 🐈"'),
    (A.EntityLit(EntityUID("A::B", 'x"y')), 'A::B::"x\\"y"'),
])
def test_expression_text(expr, text):
    assert print_expr(expr) == text
    assert parse_expr(text) == expr


def test_cedar_reads_printed_parentheses_the_same_way():
    """A few prints checked against the official parser through its JSON."""
    cedarpy = pytest.importorskip("cedarpy")
    from cedarscope.lang.est import expr_to_est

    for e in [A.Neg(lit(3)), A.Neg(lit(-3)), A.And(A.Or(P, R), C), A.Not(A.Neg(P)),
              A.BinaryOp("-", lit(1), A.BinaryOp("-", lit(2), lit(3)))]:
        j = json.loads(cedarpy.policies_to_json_str(print_policy(when(e))))
        assert j["staticPolicies"]["policy0"]["conditions"][0]["body"] == expr_to_est(e)


def test_unprintable_constructs_raise_a_clear_error():
    with pytest.raises(ValueError, match="extended `has`"):
        print_expr(A.Has(P, ("a b", "c")))
    with pytest.raises(ValueError, match="annotation name"):
        print_policy(A.Policy("permit", A.ScopeAny(), A.ScopeAny(), A.ScopeAny(), (),
                              (A.Annotation("not ok"),)))


# --------------------------------------------------------------------------
# Layout (expected texts are what `cedar format` writes for these policies)


def test_trivial_policy_is_one_line():
    assert print_policy(A.Policy("forbid", A.ScopeAny(), A.ScopeAny(), A.ScopeAny())) == \
        "forbid (principal, action, resource);"


def test_constrained_scope_is_one_element_per_line():
    p = A.Policy(
        "permit", A.ScopeEq(ALICE), A.ActionInSet((EntityUID("Action", "view"), EntityUID("Action", "edit"))),
        A.ScopeIs("Photo", A.Slot("?resource")), (A.Condition("unless", A.Has(P, ("banned",))),),
        (A.Annotation("id", "p1"), A.Annotation("shadow")),
    )
    assert print_policy(p) == (
        '@id("p1")\n'
        "@shadow\n"
        "permit (\n"
        '  principal == User::"alice",\n'
        '  action in [Action::"view", Action::"edit"],\n'
        "  resource is Photo in ?resource\n"
        ")\n"
        "unless { principal has banned };"
    )


def test_long_action_list_breaks_under_its_operator():
    actions = tuple(EntityUID("Action", a) for a in ("UpdateList", "CreateTask", "UpdateTask", "DeleteTask"))
    p = A.Policy("permit", A.ScopeAny(), A.ActionInSet(actions), A.ScopeAny(),
                 (A.Condition("when", A.BinaryOp("in", P, attr(R, "editors"))),))
    assert print_policy(p) == (
        "permit (\n"
        "  principal,\n"
        "  action in\n"
        '    [Action::"UpdateList",\n'
        '     Action::"CreateTask",\n'
        '     Action::"UpdateTask",\n'
        '     Action::"DeleteTask"],\n'
        "  resource\n"
        ")\n"
        "when { principal in resource.editors };"
    )


def test_long_conditions_put_one_operand_per_line():
    body = A.And(A.And(A.Has(P, ("contactInfo", "address", "zip")),
                       A.BinaryOp("==", attr(P, "contactInfo", "address", "zip"), lit("90210"))),
                 A.Not(A.MethodCall(attr(C, "tags"), "isEmpty", ())))
    assert print_policy(when(body)) == (
        "permit (principal, action, resource)\n"
        "when\n"
        "{\n"
        "  principal has contactInfo.address.zip &&\n"
        '  principal.contactInfo.address.zip == "90210" &&\n'
        "  !context.tags.isEmpty()\n"
        "};"
    )


# A description of the bundled example's diff (examples/policies_v2.cedar):
# `(owner || team && folder || public) && classification`.
OWNER = A.BinaryOp("==", attr(R, "owner"), P)
IN_TEAM = A.BinaryOp("in", P, A.EntityLit(EntityUID("Team", "engineering")))
IN_FOLDER = A.BinaryOp("in", R, A.EntityLit(EntityUID("Folder", "eng-docs")))
CLEARED = A.BinaryOp("==", attr(R, "classification"), attr(P, "clearance"))
NESTED = A.And(A.Or(A.Or(OWNER, A.And(IN_TEAM, IN_FOLDER)), attr(R, "public")), CLEARED)


def test_cedar_format_breaks_nested_chains_together():
    assert print_policy(when(NESTED)).splitlines()[3:7] == [
        "  (resource.owner == principal ||",
        '   principal in Team::"engineering" &&',
        '   resource in Folder::"eng-docs" ||',
        "   resource.public) &&",
    ]


def test_shown_nesting_parenthesises_inner_chains_that_break_on_their_own():
    text = print_policy(when(NESTED), show_nesting=True)
    assert text.splitlines()[3:8] == [
        "  (resource.owner == principal ||",
        '   (principal in Team::"engineering" && resource in Folder::"eng-docs") ||',
        "   resource.public) &&",
        "  resource.classification == principal.clearance",
        "};",
    ]
    assert parse_policy(text) == when(NESTED)  # the added parentheses are redundant
    # too narrow for the inner chain: it breaks one operand per line, under its parenthesis
    narrow = print_policy(when(NESTED), width=60, show_nesting=True)
    assert narrow.splitlines()[3:8] == [
        "  (resource.owner == principal ||",
        '   (principal in Team::"engineering" &&',
        '    resource in Folder::"eng-docs") ||',
        "   resource.public) &&",
        "  resource.classification == principal.clearance",
    ]
    assert parse_policy(narrow) == when(NESTED)


def test_shown_nesting_indents_a_negated_chain_under_its_parenthesis():
    blocked = A.Not(A.And(A.Not(A.MethodCall(attr(R, "owner", "blocked"), "contains", (P,))),
                          A.MethodCall(attr(P, "blocked"), "contains", (attr(R, "owner"),))))
    body = A.Or(attr(R, "isPrivate"), A.And(A.Or(OWNER, A.BinaryOp("in", P, attr(R, "viewACL"))), blocked))
    text = print_policy(when(body), show_nesting=True)
    assert text.splitlines()[3:8] == [
        "  resource.isPrivate ||",
        "  ((resource.owner == principal || principal in resource.viewACL) &&",
        "   !(!resource.owner.blocked.contains(principal) &&",
        "     principal.blocked.contains(resource.owner)))",
        "};",
    ]
    assert parse_policy(text) == when(body)


def test_long_records_and_member_chains_break():
    record = A.RecordLit(tuple((f"key{i}", lit(f"value{i}")) for i in range(1, 7)))
    chain = attr(P, "organization", "departments", "engineering team", "members", "alice",
                 "permissions", "read")
    body = A.And(A.BinaryOp("==", attr(R, "config"), record), A.BinaryOp("==", chain, lit(True)))
    assert print_policy(when(body)) == (
        "permit (principal, action, resource)\n"
        "when\n"
        "{\n"
        "  resource.config == {\n"
        '    key1: "value1",\n'
        '    key2: "value2",\n'
        '    key3: "value3",\n'
        '    key4: "value4",\n'
        '    key5: "value5",\n'
        '    key6: "value6"\n'
        "  } &&\n"
        "  principal.organization\n"
        "    .departments\n"
        '    ["engineering team"]\n'
        "    .members\n"
        "    .alice\n"
        "    .permissions\n"
        "    .read == true\n"
        "};"
    )


def test_layouts_match_cedar_format():
    """The layouts above, and more, are what the official formatter writes."""
    cedarpy = pytest.importorskip("cedarpy")
    texts = [
        print_policy(when(A.If(A.Has(P, ("x",)), A.BinaryOp("==", attr(P, "x"), lit(1)),
                               A.If(lit(True), lit(False), A.Like(attr(R, "name"), ("*", A.WILDCARD)))))),
        print_policy(when(A.MethodCall(attr(P, "organizationxxxxxxxxxxxxxxxx", "departmentsxxxxxxxxxxxxxxxx"),
                                       "offset", (A.ExtFun("duration", (lit("1h"),)), lit(1))))),
        print_policy(when(A.BinaryOp("+", A.BinaryOp("*", attr(P, "aaaaaaaaaaaaaaaaaaaaaaaaaaa"), lit(123456)),
                                     A.BinaryOp("*", attr(P, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
                                                lit(2))))),
        print_policy(A.Policy("permit", A.ScopeIn(EntityUID("Group" * 15, "x")), A.ScopeAny(),
                              A.ScopeIs("F" * 40, EntityUID("B" * 30, "x")))),
    ]
    for text in texts:
        assert cedarpy.format_policies(text).rstrip("\n") == text


def test_policyset_separates_policies_by_a_blank_line():
    ps = parse_policies('permit(principal,action,resource);@id("b") forbid(principal,action,resource);')
    assert print_policyset(ps) == \
        'permit (principal, action, resource);\n\n@id("b")\nforbid (principal, action, resource);\n'
    assert print_policyset(A.PolicySet(())) == ""


def test_display_width_counts_columns():
    assert display_width("abc") == 3
    assert display_width("🐈") == 2
    assert display_width("a\u05b2") == 1  # a combining mark takes no column


# --------------------------------------------------------------------------
# Values


def test_print_value_every_type():
    from cedarscope.lang.values import Datetime, Decimal, Duration, IPAddr

    assert print_value(True) == "true"
    assert print_value(-3) == "-3"
    assert print_value(LONG_MIN) == "-9223372036854775808"
    assert print_value('a"b') == '"a\\"b"'
    assert print_value(ALICE) == 'User::"alice"'
    assert print_value(CedarSet([1, 2])) in ("[1, 2]", "[2, 1]")
    assert print_value(CedarRecord({"b": 1, "a b": CedarSet()})) == '{ "a b": [], b: 1 }'
    assert print_value(Decimal.parse("1.5")) == f'decimal("{Decimal.parse("1.5")}")'
    assert print_value(IPAddr.parse("10.0.0.0/8")) == 'ip("10.0.0.0/8")'
    assert print_value(Datetime.parse("2024-01-01")) .startswith('datetime("2024-01-01')
    assert print_value(Duration.parse("1h")).startswith('duration("')
    long_set = CedarSet(range(40))
    assert "\n" not in print_value(long_set)  # a value prints on one line
    with pytest.raises(TypeError):
        print_value(object())


def test_printed_values_evaluate_back_to_themselves():
    from cedarscope.lang.entities import Entities
    from cedarscope.lang.evaluator import evaluate
    from cedarscope.lang.request import Request
    from cedarscope.lang.values import Datetime, Decimal, Duration, IPAddr, value_eq

    request = Request(ALICE, EntityUID("Action", "a"), ALICE, CedarRecord({}))
    for v in [True, LONG_MIN, LONG_MAX, "é\n\"", ALICE, CedarSet([1, "a", ALICE]),
              CedarRecord({"x": CedarRecord({"if": CedarSet()})}), Decimal.parse("-12.3456"),
              IPAddr.parse("::1/128"), Datetime.parse("2024-02-03T04:05:06.007Z"), Duration.parse("-1d2ms"),
              Datetime(LONG_MAX), Datetime(LONG_MIN), Datetime(253402300800000)]:  # past year 9999 too
        back = evaluate(parse_expr(print_value(v)), request, Entities())
        assert value_eq(back, v), (v, print_value(v))


# --------------------------------------------------------------------------
# Round trips


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(S.policies())
def test_generated_policies_round_trip(policy):
    text = print_policy(policy)
    assert parse_policy(text) == policy, text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(S.policies(), st.sampled_from([20, 40, 80]))
def test_shown_nesting_round_trips(policy, width):
    """The parentheses that show nesting change nothing the parser reads."""
    text = print_policy(policy, width, show_nesting=True)
    assert parse_policy(text) == policy, text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(S.exprs())
def test_generated_expressions_round_trip(expr):
    text = print_expr(expr)
    assert parse_expr(text) == expr, text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(S.policy_sets())
def test_generated_policy_sets_round_trip(ps):
    back = parse_policies(print_policyset(ps))
    assert back.policies == ps.policies


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(S.policies())
def test_cedar_parses_what_we_print_as_we_meant_it(policy):
    """The official parser accepts every printed policy and reads the same
    policy from it (compared in Cedar's JSON form)."""
    cedarpy = pytest.importorskip("cedarpy")
    from cedarscope.lang.est import policy_to_est

    text = print_policy(policy)
    j = json.loads(cedarpy.policies_to_json_str(text))
    (theirs,) = list(j["templates"].values()) + list(j["staticPolicies"].values())
    assert theirs == policy_to_est(policy), text


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(S.policies())
def test_format_source_is_idempotent_on_printed_policies(policy):
    text = print_policy(policy) + "\n"
    assert format_source(text) == text


def test_extension_literals_of_the_strategies_are_valid():
    from cedarscope.lang.values import Datetime, Decimal, Duration, IPAddr

    classes = {"decimal": Decimal, "ip": IPAddr, "datetime": Datetime, "duration": Duration}

    @settings(max_examples=100, deadline=None)
    @given(S.ext_calls())
    def check(call):
        classes[call.name].parse(call.args[0].value)

    check()


def test_every_corpus_policy_round_trips():
    from tests.test_est_corpus import corpus_policy_sets

    count, failures = 0, []
    for name, _, ps in corpus_policy_sets():
        if ps is None:
            continue
        back = parse_policies(print_policyset(ps), name)
        count += len(ps.policies)
        if back.policies != ps.policies:
            failures.append(name)
    print(f"corpus round trip: {count - len(failures)}/{count} policies")
    assert count > 4000
    assert not failures, failures[:10]


# --------------------------------------------------------------------------
# format_source: comments, parentheses and literals from the source


def test_comments_are_placed_where_cedar_format_places_them():
    src = (
        "// leading\n"
        "permit(principal, action, resource); // trailing\n"
        "\n"
        "// before b\n"
        '@id("b") forbid(principal, action, resource) when { // inside\n'
        "  true };\n"
        "// end\n"
    )
    comments = source_comments(src)
    assert comments.leading == [["// leading"], ["// before b"]]
    assert comments.trailing == ["// trailing", ""]
    assert comments.interior == [[], ["// inside"]]
    assert comments.end == ["// end"]
    assert format_source(src) == (
        "// leading\n"
        "permit (principal, action, resource); // trailing\n"
        "\n"
        "// before b\n"
        '@id("b")\n'
        "forbid (principal, action, resource)\n"
        "when\n"
        "{ // inside\n"
        "  true\n"
        "};\n"
        "// end\n"
    )


def test_format_source_keeps_source_parentheses_keys_and_escapes():
    src = ('permit(principal,action,resource) when { (principal.a + 1) < 3 && "\\u{e9}" == (context.s) '
           '&& principal["x"] == {"k": 1} };')
    assert format_source(src) == (
        "permit (principal, action, resource)\n"
        "when\n"
        "{\n"
        "  (principal.a + 1) < 3 &&\n"
        '  "\\u{e9}" == (context.s) &&\n'
        '  principal["x"] == { "k": 1 }\n'
        "};\n"
    )


def test_format_source_keeps_each_literal_as_written():
    src = ('permit(principal,action,resource) when { "é" == "\\u{e9}" && {"a": 1, b: "\\u{e9}"} has a '
           '&& principal["x"] like "\\u{2a}\\*" && context has "price" };')
    assert format_source(src) == (
        "permit (principal, action, resource)\n"
        "when\n"
        "{\n"
        '  "é" == "\\u{e9}" &&\n'
        '  { "a": 1, b: "\\u{e9}" } has a &&\n'
        '  principal["x"] like "\\u{2a}\\*" &&\n'
        '  context has "price"\n'
        "};\n"
    )


def test_comments_fall_back_to_the_lines_above_their_policy():
    """The safety net when the AST's spans cannot be lined up with the text:
    no comment is lost."""
    from cedarscope.lang.printer.formatting import _format_hoisting_comments

    src = "// a\npermit(principal, // b\n action, resource); // c\n// d\n"
    policies = [p for _, p in parse_policies(src).policies]
    assert _format_hoisting_comments(src, policies, 80) == \
        "// a\n// b\npermit (principal, action, resource); // c\n// d\n"
    assert format_source(src) == "// a\npermit (principal, // b\n  action, resource); // c\n// d\n"


def test_format_source_reports_bad_input():
    from cedarscope.lang.diagnostics import CedarError

    with pytest.raises(CedarError):
        format_source("permit(principal, action, resource) when { 1 + };", "bad.cedar")
    assert format_source("// only a comment\n") == "// only a comment\n"
    assert format_source("") == ""


def _with_comments(text: str, choices: list) -> tuple[str, int]:
    """`text` with a `// cN` comment after some tokens: on the token's line
    (choice 1) or on a line of its own (choice 2)."""
    from cedarscope.lang.printer.source import _source_tokens

    out, prev, n = [], 0, 0
    for (_, end, _), choice in zip(_source_tokens(text), choices, strict=False):
        out.append(text[prev:end])
        prev = end
        if choice:
            n += 1
            out.append(f" // c{n}\n" if choice == 1 else f"\n// c{n}\n")
    out.append(text[prev:])
    return "".join(out), n


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(S.policies(), st.lists(st.sampled_from([0, 0, 0, 0, 0, 0, 1, 2]), max_size=200))
def test_comments_anywhere_are_kept_and_placed_as_cedar_format_places_them(policy, choices):
    """Comments after arbitrary tokens: none is lost, the policy is unchanged,
    and the text is the official formatter's."""
    src, n = _with_comments(print_policy(policy), choices)
    ours = format_source(src)
    assert parse_policy(ours) == policy
    for i in range(1, n + 1):
        assert f"// c{i}" in ours
    cedarpy = pytest.importorskip("cedarpy")
    assert ours.strip("\n") == cedarpy.format_policies(src).strip("\n"), src


# --------------------------------------------------------------------------
# Long runs (`pytest -m slow`)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(S.policy_sets(max_size=3), st.lists(st.sampled_from([0, 0, 0, 0, 0, 0, 1, 2]), max_size=300))
def test_long_run_round_trip_and_formatting_against_cedar(ps, choices):
    """Many policy sets: printed text parses back, Cedar reads it as we mean
    it, and with comments sprinkled in, format_source is Cedar's formatter."""
    cedarpy = pytest.importorskip("cedarpy")
    from cedarscope.lang.est import policy_to_est

    text = print_policyset(ps)
    assert parse_policies(text).policies == ps.policies
    j = json.loads(cedarpy.policies_to_json_str(text))
    theirs = {**j["templates"], **j["staticPolicies"]}
    assert [theirs[f"policy{k}"] for k in range(len(theirs))] == [policy_to_est(p) for _, p in ps.policies]
    src, _ = _with_comments(text, choices)
    assert format_source(src).strip("\n") == cedarpy.format_policies(src).strip("\n"), src
