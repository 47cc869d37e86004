r"""Differential testing of cedarscope against the official Cedar engine (cedarpy).

    python -m tests.difftest --cases N [--seed S] [--jobs J] [--out DIR]

generates N cases (tests/generators.py: a schema, then entities, policies and
requests consistent with it), runs each through cedarpy and through our lang
package, and compares (each comparison can be picked with --check):

- authorize: decision, reason set and error set (policy ids) per request, our
  evaluator/authorizer given the generated model objects;
- validate: strict validation verdict per policy, lang.validator vs Cedar;
- probe: single expressions over extension literals (valid and mutated), Long
  arithmetic, `like`, equality and error propagation: the value our
  evaluator computes must be the one Cedar computes (or both error);
- parser, formatter, syntax: lang.parser reads the generated text, Cedar's own
  formatter output, and variants (comments, `e["a"]`, `\u{..}` escapes) to
  the generated policies, and rejects what Cedar rejects;
- printer: lang.printer's text means to Cedar what the original means, and
  lang.parser reads it back;
- format: lang.printer.format_source lays text out exactly as Cedar's
  formatter (cedarpy.format_policies) does;
- schema, cedar-schema: lang.schema reads the JSON schema and the same schema
  in Cedar's schema syntax (common types, qualified or not) to the model;
- entities, request: lang.entities / lang.request read the JSON data (implicit
  forms directed by the schema) to the model;
- conformance: entities and requests with one defect are rejected exactly
  when Cedar rejects them;
- schemaless: authorization without a schema, from the texts alone.

Every disagreement is printed and written, shrunk to the policies, entities
and request that still show it, as a reproducer folder under --out.  The exit
code is 1 when there is any disagreement.  A part of lang that does not exist
yet is reported as skipped, not as a disagreement.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import multiprocessing
import random
import re
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cedarpy

from cedarscope.lang import ast as A
from cedarscope.lang.entities import Entities, Entity
from tests.generators import (
    PROBE_SCHEMA,
    Case,
    GenEntities,
    GenPolicies,
    RandomChooser,
    VariantRenderer,
    gen_case,
    mutate_cedar_schema,
    mutate_entities_json,
    mutate_request_json,
    mutate_schema_json,
    render_cedar_schema,
    render_expr,
    render_policyset,
    schemaless_json,
)

# The comparisons, by name; each can be selected on its own.
CHECKS = ("authorize", "validate", "parser", "formatter", "printer", "schema", "cedar-schema",
          "entities", "request", "probe", "conformance", "bad-schema", "schemaless", "syntax", "format")


@dataclass(frozen=True)
class Disagreement:
    check: str       # one of CHECKS
    detail: str      # what differs, ours vs Cedar's (or "crash: ..." when our side raised)
    request: int | None = None  # index of the request, when one request shows it

    def __str__(self) -> str:
        where = f" request {self.request}" if self.request is not None else ""
        return f"[{self.check}{where}] {self.detail}"


# What each check needs from lang (it is skipped while that does not exist).
REQUIRES = {
    "authorize": ("cedarscope.lang.authorizer", "is_authorized"),
    "validate": ("cedarscope.lang.validator", "validate"),
    "parser": ("cedarscope.lang.parser", "parse_policies"),
    "formatter": ("cedarscope.lang.parser", "parse_policies"),
    "printer": ("cedarscope.lang.printer", "print_policyset"),
    "schema": ("cedarscope.lang.schema", "parse_schema"),
    "cedar-schema": ("cedarscope.lang.schema", "parse_schema"),
    "entities": ("cedarscope.lang.entities", "parse_entities"),
    "request": ("cedarscope.lang.request", "parse_request"),
    "probe": ("cedarscope.lang.evaluator", "evaluate"),
    "conformance": ("cedarscope.lang.request", "validate_request"),
    "bad-schema": ("cedarscope.lang.schema", "parse_schema"),
    "schemaless": ("cedarscope.lang.parser", "parse_policies"),
    "syntax": ("cedarscope.lang.parser", "parse_policies"),
    "format": ("cedarscope.lang.printer", "format_source"),
}


# Checks whose cases `shrink` can cut down (the others derive their inputs
# from the whole case, or are already one expression each).
SHRINKABLE = {"authorize", "validate", "parser", "formatter", "printer", "schemaless", "syntax", "format"}


# Disagreements already diagnosed as bugs on our side, each pinned by an
# xfail regression test in tests/test_differential.py.  The default test run
# tolerates these (their regression tests track them); the long-run command
# counts them unless --ignore-known.  Remove an entry when its bug is fixed.
KNOWN_ISSUES: tuple = ()  # (check, detail pattern, regression test) of open bugs


def known_issue(d: Disagreement) -> str | None:
    """The regression test that pins `d`, when it is a known bug."""
    for check, pattern, test in KNOWN_ISSUES:
        if d.check == check and re.search(pattern, d.detail):
            return test
    return None


class Skipped(Exception):
    """A part of lang this check needs does not exist yet."""


def need(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise Skipped(f"{module}.{name} not available: {e}") from None


# --------------------------------------------------------------------------
# The official engine


@dataclass(frozen=True)
class Outcome:
    decision: str                # "allow" | "deny"
    reasons: frozenset[str]
    errors: frozenset[str]       # ids of policies whose evaluation errored

    def __str__(self) -> str:
        return f"{self.decision} reasons={sorted(self.reasons)} errors={sorted(self.errors)}"


ERROR_POLICY = re.compile(r"policy `([^`]*)`")


def cedar_policyset(case: Case) -> cedarpy.PolicySet:
    ps = cedarpy.PolicySet.from_str(case.policies.text)
    if case.policies.links_json:
        ps = ps.with_linked_batch(case.policies.links_json)
    return ps


def cedar_authorize(case: Case) -> list[Outcome]:
    schema = json.dumps(case.schema.json)
    entities = cedarpy.Entities.from_json_str(json.dumps(case.entities.json), schema)
    results = cedarpy.is_authorized_batch([r.json for r in case.requests], cedar_policyset(case),
                                          entities, schema)
    out = []
    for res in results:
        d = res._authz_resp
        if d["decision"] not in ("Allow", "Deny"):
            raise RuntimeError(f"cedarpy rejected a generated case: {d['diagnostics']}")
        errors = frozenset(m.group(1) for e in res.diagnostics.errors
                           for m in [ERROR_POLICY.search(e)] if m)
        out.append(Outcome(d["decision"].lower(), frozenset(res.diagnostics.reasons), errors))
    return out


def cedar_replay(schema_json: dict | None, policies_text: str, request: Any, entities: Entities,
                 links_json: tuple = ()) -> Outcome:
    """The official engine's answer for one concrete request and store given
    as our model objects (e.g. a decoded counterexample).  Entities and the
    request go over as explicit JSON; the schema, when given, adds its action
    entities, so `entities` should then hold none."""
    entities_to_json = need("cedarscope.lang.entities", "entities_to_json")
    request_to_json = need("cedarscope.lang.request", "request_to_json")
    ps = cedarpy.PolicySet.from_str(policies_text)
    if links_json:
        ps = ps.with_linked_batch(list(links_json))
    schema = json.dumps(schema_json) if schema_json is not None else None
    req = request_to_json(request)
    req = dict(req, context=json.dumps(req.get("context", {})))
    res = cedarpy.is_authorized(req, ps, entities_to_json(entities), schema)
    if res._authz_resp["decision"] not in ("Allow", "Deny"):
        raise ValueError(f"cedarpy rejected the input: {res.diagnostics.errors}")
    errors = frozenset(m.group(1) for e in res.diagnostics.errors for m in [ERROR_POLICY.search(e)] if m)
    return Outcome(res._authz_resp["decision"].lower(), frozenset(res.diagnostics.reasons), errors)


def cedar_validates(text: str, schema_json: dict) -> tuple[bool, list[str]]:
    res = cedarpy.validate_policies(text, json.dumps(schema_json))
    return res.validation_passed, [str(e) for e in res.errors]


# --------------------------------------------------------------------------
# Our side


def model_entities(case: Case, entities: GenEntities | None = None) -> Entities:
    """The generated store plus the schema's actions as entities (with their
    groups as parents), which Cedar adds when it reads entities with a schema."""
    ge = entities or case.entities
    actions = [Entity(uid, parents=frozenset(a.member_of)) for uid, a in case.schema.model.actions.items()]
    return ge.model().with_entities(actions)


def our_authorize(case: Case) -> list[Outcome]:
    is_authorized = need("cedarscope.lang.authorizer", "is_authorized")
    entities = model_entities(case)
    out = []
    for r in case.requests:
        resp = is_authorized(r.model(), entities, case.policies.model)
        out.append(Outcome(resp.decision, frozenset(resp.reasons), frozenset(pid for pid, _ in resp.errors)))
    return out


def check_authorize(case: Case, expected: list[Outcome]) -> list[Disagreement]:
    ours = our_authorize(case)
    found = []
    for i, (o, c) in enumerate(zip(ours, expected, strict=False)):
        if o != c:
            found.append(Disagreement("authorize", f"ours: {o}; cedar: {c}", i))
    return found


def check_validate(case: Case) -> list[Disagreement]:
    """Strict validation verdicts agree, for each policy on its own (Cedar
    validates policies independently, so this pins down which one differs)."""
    validate = need("cedarscope.lang.validator", "validate")
    found = []
    for pid, p in case.policies.model.policies:
        single = A.PolicySet(((pid, p),))
        diags = validate(single, case.schema.model)
        cedar_ok, cedar_errors = cedar_validates(render_policyset(single), case.schema.json)
        if (not diags) != cedar_ok:
            ours = "valid" if not diags else "invalid: " + "; ".join(d.message for d in diags[:3])
            cedar = "valid" if cedar_ok else "invalid: " + "; ".join(cedar_errors[:3])
            found.append(Disagreement("validate", f"{pid}: ours: {ours}; cedar: {cedar}"))
    return found


def check_parser(case: Case) -> list[Disagreement]:
    parse_policies = need("cedarscope.lang.parser", "parse_policies")
    return same_policies(parse_policies(case.policies.text, "case.cedar"), case.policies.model,
                         "parser", "generated text")


def same_policies(parsed: A.PolicySet, want: A.PolicySet, check: str, how: str) -> list[Disagreement]:
    found = []
    if parsed.ids != want.ids:
        found.append(Disagreement(check, f"{how}: ids {parsed.ids} != {want.ids}"))
    for (pid, p), (_, q) in zip(parsed.policies, want.policies, strict=False):
        if p != q or repr(p) != repr(q):  # repr: the AST's == takes Lit(True) for Lit(1)
            found.append(Disagreement(check, f"{how}: {pid} parsed as {p!r}, generated {q!r}"))
    return found


def check_formatter(case: Case) -> list[Disagreement]:
    """Our parser reads Cedar's own formatter output (minimal parentheses,
    Cedar's layout) back to the generated policies."""
    parse_policies = need("cedarscope.lang.parser", "parse_policies")
    formatted = cedarpy.format_policies(case.policies.text)
    return same_policies(parse_policies(formatted, "formatted.cedar"), case.policies.model,
                         "formatter", "cedarpy.format_policies text")


def check_syntax(case: Case) -> list[Disagreement]:
    """The policies written another way (tests/generators.VariantRenderer):
    where Cedar reads the variant as the same policies, our parser must read
    it as the generated model; where Cedar rejects it, ours must too."""
    parse_policies = need("cedarscope.lang.parser", "parse_policies")
    from cedarscope.lang.diagnostics import CedarError
    vr = VariantRenderer(RandomChooser(random.Random("syntax:" + case.policies.text)))
    text = vr.policyset(case.policies.model)
    try:
        same_for_cedar = (json.loads(cedarpy.policies_to_json_str(text))
                          == json.loads(cedarpy.policies_to_json_str(case.policies.text)))
        cedar_error = None
    except ValueError as e:
        same_for_cedar, cedar_error = False, str(e)
    try:
        parsed, ours_error = parse_policies(text, "variant.cedar"), None
    except CedarError as e:
        parsed, ours_error = None, str(e)
    if cedar_error is not None:
        if ours_error is None:
            return [Disagreement("syntax", f"ours accepts text Cedar rejects ({cedar_error}; "
                                           f"forms: {vr.risky}):\n{text}")]
        return []
    if not same_for_cedar:  # the variant renderer changed the meaning: not a finding
        return []
    if ours_error is not None:
        return [Disagreement("syntax", f"ours rejects text Cedar accepts: {ours_error}\n{text}")]
    return same_policies(parsed, case.policies.model, "syntax", f"variant text\n{text}\n")


def check_format(case: Case) -> list[Disagreement]:
    """lang.printer.format_source lays text out exactly as Cedar's formatter
    does: the generated text, and a variant with comments, odd whitespace,
    `\\u{..}` escapes and quoted keys (which Cedar keeps as written)."""
    format_source = need("cedarscope.lang.printer", "format_source")
    vr = VariantRenderer(RandomChooser(random.Random("format:" + case.policies.text)))
    found = []
    for what, text in (("generated text", case.policies.text), ("variant text", vr.policyset(case.policies.model))):
        want = cedarpy.format_policies(text)
        got = format_source(text, "case.cedar")
        if got.rstrip() != want.rstrip():
            import difflib
            diff = "\n".join(difflib.unified_diff(want.splitlines(), got.splitlines(), "cedar", "ours", lineterm=""))
            found.append(Disagreement("format", f"{what}:\n{diff}"))
    return found


def check_printer(case: Case) -> list[Disagreement]:
    """lang.printer's text must be the same policies to Cedar (same JSON form)."""
    print_policyset = need("cedarscope.lang.printer", "print_policyset")
    printed = print_policyset(case.policies.model)
    want = json.loads(cedarpy.policies_to_json_str(case.policies.text))
    try:
        got = json.loads(cedarpy.policies_to_json_str(printed))
    except ValueError as e:
        return [Disagreement("printer", f"cedar cannot parse the printed text: {e}\n{printed}")]
    if got != want:
        return [Disagreement("printer", f"printed text means something else to Cedar:\n{printed}")]
    try:  # and our own parser reads it back (parse(print(x)) == x)
        parse_policies = need("cedarscope.lang.parser", "parse_policies")
    except Skipped:
        return []
    return same_policies(parse_policies(printed, "printed.cedar"), case.policies.model,
                         "printer", "lang.printer text read by lang.parser")


def check_schema(case: Case) -> list[Disagreement]:
    parse_schema = need("cedarscope.lang.schema", "parse_schema")
    return same_schema(parse_schema(json.dumps(case.schema.json), "schema.json"), case, "schema")


def check_cedar_schema(case: Case) -> list[Disagreement]:
    """The same schema in Cedar's schema syntax: cedarpy reads it to the same
    validation verdict, and lang.schema reads it to the same model."""
    parse_schema = need("cedarscope.lang.schema", "parse_schema")
    text = render_cedar_schema(RandomChooser(random.Random(case.policies.text)), case.schema)
    try:
        cedarpy.Schema.from_str(text)
    except ValueError as e:
        return [Disagreement("cedar-schema", f"test renderer: cedar rejects the schema text: {e}\n{text}")]
    found = []
    cedar_json, _ = cedar_validates(case.policies.text, case.schema.json)
    cedar_text = cedarpy.validate_policies(case.policies.text, text).validation_passed
    if cedar_json != cedar_text:
        found.append(Disagreement("cedar-schema", f"test renderer: cedar reads the schema text differently:\n{text}"))
    return found + same_schema(parse_schema(text, "schema.cedarschema"), case, "cedar-schema")


def same_schema(parsed: Any, case: Case, check: str) -> list[Disagreement]:
    found = []
    want = case.schema.model
    for name in sorted(set(parsed.entity_types) | set(want.entity_types)):
        if parsed.entity_types.get(name) != want.entity_types.get(name):
            found.append(Disagreement(check, f"entity type {name}: {parsed.entity_types.get(name)!r} "
                                                f"!= {want.entity_types.get(name)!r}"))
    for uid in sorted(set(parsed.actions) | set(want.actions)):
        if parsed.actions.get(uid) != want.actions.get(uid):
            found.append(Disagreement(check, f"action {uid}: {parsed.actions.get(uid)!r} "
                                                f"!= {want.actions.get(uid)!r}"))
    return found


def check_entities(case: Case) -> list[Disagreement]:
    parse_entities = need("cedarscope.lang.entities", "parse_entities")
    parsed = parse_entities(json.loads(json.dumps(case.entities.json)), "entities.json", schema=case.schema.model)
    want = model_entities(case)
    found = []
    for uid in sorted({e.uid for e in parsed} | {e.uid for e in want}):
        if parsed.get(uid) != want.get(uid):
            found.append(Disagreement("entities", f"{uid}: {parsed.get(uid)!r} != {want.get(uid)!r}"))
    return found


def check_request(case: Case) -> list[Disagreement]:
    parse_request = need("cedarscope.lang.request", "parse_request")
    found = []
    for i, r in enumerate(case.requests):
        got = parse_request(json.loads(json.dumps(r.json)), "request.json", schema=case.schema.model)
        if got != r.model():
            found.append(Disagreement("request", f"{got!r} != {r.model()!r}", i))
    return found


def check_bad_schema(case: Case) -> list[Disagreement]:
    """A schema with one defect, in JSON and in Cedar's schema syntax: we
    reject it exactly when Cedar does."""
    parse_schema = need("cedarscope.lang.schema", "parse_schema")
    from cedarscope.lang.diagnostics import CedarError
    ch = RandomChooser(random.Random("schema:" + case.policies.text))
    j, kind = mutate_schema_json(ch, case.schema)
    text = json.dumps(j)
    try:
        cedarpy.Schema.from_json_str(text)
        cedar = "accepts"
    except ValueError as e:
        cedar = f"rejects ({e})"
    try:
        parse_schema(text, "schema.json")
        ours = "accepts"
    except CedarError as e:
        ours = f"rejects ({e})"
    found = []
    if ours[:7] != cedar[:7]:
        found.append(Disagreement("bad-schema", f"schema with defect {kind}: ours {ours}; cedar {cedar}\n{text}"))
    # and the same in Cedar's schema syntax
    text, kind = mutate_cedar_schema(ch, case.schema, render_cedar_schema(ch, case.schema))
    try:
        cedarpy.Schema.from_str(text)
        cedar = "accepts"
    except ValueError as e:
        cedar = f"rejects ({e})"
    try:
        parse_schema(text, "schema.cedarschema")
        ours = "accepts"
    except CedarError as e:
        ours = f"rejects ({e})"
    if ours[:7] != cedar[:7]:
        found.append(Disagreement("bad-schema", f"schema text with change {kind}: ours {ours}; "
                                                f"cedar {cedar}\n{text}"))
    return found


def check_schemaless(case: Case) -> list[Disagreement]:
    """Authorization with no schema, from the texts alone: our parser, our
    entity and request readers (explicit JSON forms) and our authorizer."""
    parse_policies = need("cedarscope.lang.parser", "parse_policies")
    parse_entities = need("cedarscope.lang.entities", "parse_entities")
    parse_request = need("cedarscope.lang.request", "parse_request")
    is_authorized = need("cedarscope.lang.authorizer", "is_authorized")
    ents_json, reqs_json = schemaless_json(case.schema, case.entities, case.requests)
    cedar_ents = cedarpy.Entities.from_json_str(json.dumps(ents_json))
    results = cedarpy.is_authorized_batch(reqs_json, cedar_policyset(case), cedar_ents)
    parsed = parse_policies(case.policies.text, "case.cedar")
    ps = A.PolicySet(parsed.policies, case.policies.model.links)
    entities = parse_entities(ents_json, "entities.json")
    found = []
    for i, (rj, res) in enumerate(zip(reqs_json, results, strict=False)):
        d = res._authz_resp
        errors = frozenset(m.group(1) for e in res.diagnostics.errors for m in [ERROR_POLICY.search(e)] if m)
        cedar = Outcome(d["decision"].lower(), frozenset(res.diagnostics.reasons), errors)
        resp = is_authorized(parse_request(rj, "request.json"), entities, ps)
        ours = Outcome(resp.decision, frozenset(resp.reasons), frozenset(pid for pid, _ in resp.errors))
        if ours != cedar:
            found.append(Disagreement("schemaless", f"ours: {ours}; cedar: {cedar}", i))
    return found


def check_conformance(case: Case) -> list[Disagreement]:
    """Entities and requests with a defect: we reject exactly what Cedar
    rejects when reading them with the schema."""
    parse_entities = need("cedarscope.lang.entities", "parse_entities")
    parse_request = need("cedarscope.lang.request", "parse_request")
    validate_request = need("cedarscope.lang.request", "validate_request")
    from cedarscope.lang.diagnostics import CedarError
    ch = RandomChooser(random.Random(case.policies.text))
    schema, model = json.dumps(case.schema.json), case.schema.model
    found = []

    data, kind = mutate_entities_json(ch, case.schema, case.entities)
    try:
        cedarpy.Entities.from_json_str(json.dumps(data), schema)
        cedar = "accepts"
    except ValueError as e:
        cedar = f"rejects ({e})"
    try:
        parse_entities(data, "entities.json", schema=model)
        ours = "accepts"
    except CedarError as e:
        ours = f"rejects ({e})"
    if ours[:7] != cedar[:7]:
        found.append(Disagreement("conformance", f"entities with defect {kind}: ours {ours}; cedar {cedar}\n"
                                                 f"{json.dumps(data, ensure_ascii=False)}"))

    for i, r in enumerate(case.requests[:2]):
        j, kind = mutate_request_json(ch, case.schema, r)
        res = cedarpy.is_authorized(dict(j, context=json.dumps(j["context"])),
                                    "permit(principal, action, resource);", [], schema)
        cedar = "accepts" if res._authz_resp["decision"] != "NoDecision" else f"rejects ({res.diagnostics.errors})"
        try:
            diags = validate_request(parse_request(j, "request.json", schema=model), model)
            ours = "accepts" if not diags else f"rejects ({'; '.join(d.message for d in diags)})"
        except CedarError as e:
            ours = f"rejects ({e})"
        if ours[:7] != cedar[:7]:
            found.append(Disagreement("conformance", f"request with defect {kind}: ours {ours}; cedar {cedar}\n"
                                                     f"{json.dumps(j, ensure_ascii=False)}", i))
    return found


def value_expr(v: Any) -> A.Expr:
    """A Cedar literal expression for one of our values."""
    from cedarscope.lang.values import CedarRecord, CedarSet, EntityUID
    if isinstance(v, (bool, int, str)):
        return A.Lit(v)
    if isinstance(v, EntityUID):
        return A.EntityLit(v)
    if isinstance(v, CedarSet):
        return A.SetLit(tuple(value_expr(x) for x in v))
    if isinstance(v, CedarRecord):
        return A.RecordLit(tuple((k, value_expr(x)) for k, x in v.items()))
    if v.EXT_FUNCTION == "datetime" and not re.match(r"\d{4}-", str(v)):
        # outside years 0000-9999 no datetime literal exists: epoch + offset
        epoch = A.ExtFun("datetime", (A.Lit("1970-01-01"),))
        return A.MethodCall(epoch, "offset", (A.ExtFun("duration", (A.Lit(f"{v.ms}ms"),)),))
    return A.ExtFun(v.EXT_FUNCTION, (A.Lit(str(v)),))


def check_probes(probes: list[A.Expr]) -> list[Disagreement]:
    """Each probe expression becomes a policy `when { probe == <our value> }`
    (or `probe == probe` where we say it errors); Cedar must find each such
    policy satisfied (or erroring) exactly when we do."""
    evaluate = need("cedarscope.lang.evaluator", "evaluate")
    EvalError = need("cedarscope.lang.evaluator", "EvalError")
    from cedarscope.lang.request import Request
    from cedarscope.lang.values import EntityUID
    u, act = EntityUID("U", "u"), EntityUID("Action", "a")
    request, entities = Request(u, act, u), Entities([Entity(act)])
    policies, ours = [], {}
    for i, e in enumerate(probes):
        pid = f"policy{i}"
        try:
            v = evaluate(e, request, entities)
            body, ours[pid] = A.BinaryOp("==", e, value_expr(v)), f"value {render_expr(value_expr(v))}"
        except EvalError as err:
            body, ours[pid] = A.BinaryOp("==", e, e), f"error ({err})"
        cond = A.Condition("when", body)
        policies.append((pid, A.Policy("permit", A.ScopeAny(), A.ScopeAny(), A.ScopeAny(), (cond,))))
    text = render_policyset(A.PolicySet(tuple(policies)))
    req = {"principal": u.to_json(), "action": act.to_json(), "resource": u.to_json(), "context": {}}
    try:
        res = cedarpy.is_authorized(req, cedarpy.PolicySet.from_str(text), [], json.dumps(PROBE_SCHEMA))
    except ValueError as err:  # our value printed as a literal Cedar rejects
        return [Disagreement("probe", f"cedar cannot parse our values as literals: {err}\n{text}")]
    errors = {m.group(1) for e in res.diagnostics.errors for m in [ERROR_POLICY.search(e)] if m}
    reasons = set(res.diagnostics.reasons)
    found = []
    for pid, _ in policies:
        we_error = ours[pid].startswith("error")
        cedar = "error" if pid in errors else "true" if pid in reasons else "false"
        if cedar != ("error" if we_error else "true"):
            expr = render_expr(probes[int(pid[6:])])
            detail = next((e for e in res.diagnostics.errors if f"`{pid}`" in e), "")
            found.append(Disagreement("probe", f"{expr}: ours {ours[pid]}; cedar: {cedar} {detail}"))
    return found + check_print_value(probes, request, entities, req)


def check_print_value(probes: list[A.Expr], request: Any, entities: Entities, req: dict) -> list[Disagreement]:
    """lang.printer.print_value writes each probe's value as a literal Cedar
    reads back to the same value."""
    try:
        print_value = need("cedarscope.lang.printer", "print_value")
    except Skipped:
        return []
    evaluate = need("cedarscope.lang.evaluator", "evaluate")
    EvalError = need("cedarscope.lang.evaluator", "EvalError")
    found, texts = [], []
    for e in probes:
        try:
            v = evaluate(e, request, entities)
        except EvalError:
            continue
        lit = print_value(v)
        policy = f"permit (principal, action, resource) when {{ {render_expr(e)} == {lit} }};"
        try:
            cedarpy.policies_to_json_str(policy)
        except ValueError as err:
            found.append(Disagreement("probe", f"print_value gives {lit}, which Cedar cannot read: {err}"))
            continue
        texts.append((policy, lit))
    if not texts:
        return found
    res = cedarpy.is_authorized(req, "\n".join(t for t, _ in texts), [], json.dumps(PROBE_SCHEMA))
    reasons = set(res.diagnostics.reasons)
    errors = {m.group(1) for e in res.diagnostics.errors for m in [ERROR_POLICY.search(e)] if m}
    for i, (policy, lit) in enumerate(texts):
        if f"policy{i}" not in reasons:
            how = "an error" if f"policy{i}" in errors else "another value"
            found.append(Disagreement("probe", f"print_value gives {lit}, which Cedar evaluates to {how}: {policy}"))
    return found


def compare(case: Case, checks: tuple[str, ...] = CHECKS,
            skipped: set | None = None) -> list[Disagreement]:
    """Every disagreement between our lang package and cedarpy on the case.
    Checks whose module is missing are added to `skipped`."""
    runners: dict[str, Callable[[], list[Disagreement]]] = {
        "authorize": lambda: check_authorize(case, cedar_authorize(case)),
        "validate": lambda: check_validate(case),
        "parser": lambda: check_parser(case),
        "formatter": lambda: check_formatter(case),
        "printer": lambda: check_printer(case),
        "cedar-schema": lambda: check_cedar_schema(case),
        "schema": lambda: check_schema(case),
        "entities": lambda: check_entities(case),
        "request": lambda: check_request(case),
        "probe": lambda: check_probes(case.probes),
        "conformance": lambda: check_conformance(case),
        "bad-schema": lambda: check_bad_schema(case),
        "schemaless": lambda: check_schemaless(case),
        "syntax": lambda: check_syntax(case),
        "format": lambda: check_format(case),
    }
    found = []
    for name in checks:
        try:
            found.extend(runners[name]())
        except Skipped as s:
            if skipped is not None:
                skipped.add(f"{name}: {s}")
        except Exception as e:  # a crash on valid input is a disagreement too
            tb = traceback.format_exception(e)
            found.append(Disagreement(name, f"crash: {type(e).__name__}: {e}\n{''.join(tb[-3:])}"))
    return found


# --------------------------------------------------------------------------
# Shrinking a disagreement to a small reproducer


def with_policies(case: Case, policies: tuple) -> Case:
    ids = {pid for pid, _ in policies}
    links = tuple(link for link in case.policies.model.links if link.template_id in ids)
    ps = A.PolicySet(policies, links)
    # keep the generated ids: the text is rendered with explicit positions below
    gp = GenPolicies(ps, render_policyset(ps), [j for j in case.policies.links_json if j["template_id"] in ids])
    return dataclasses.replace(case, policies=gp)


def renumber(case: Case) -> Case:
    """Policy ids back to the positional policy0, policy1, ... that the text implies."""
    mapping = {pid: f"policy{i}" for i, (pid, _) in enumerate(case.policies.model.policies)}
    policies = tuple((mapping[pid], p) for pid, p in case.policies.model.policies)
    links = tuple(dataclasses.replace(link, template_id=mapping[link.template_id])
                  for link in case.policies.model.links)
    links_json = [dict(j, template_id=mapping[j["template_id"]]) for j in case.policies.links_json]
    ps = A.PolicySet(policies, links)
    return dataclasses.replace(case, policies=GenPolicies(ps, render_policyset(ps), links_json))


def shrink(case: Case, d: Disagreement) -> Case:
    """Greedily drop requests, policies, conditions and entities while the
    same check still disagrees."""

    def still(c: Case) -> bool:
        try:
            return any(x.check == d.check for x in compare(c, (d.check,)))
        except Exception:
            return False

    if d.request is not None:
        case = dataclasses.replace(case, requests=[case.requests[d.request]])
    changed = True
    while changed:
        changed = False
        pols = case.policies.model.policies
        for i in range(len(pols)):
            if len(pols) == 1:
                break
            trial = renumber(with_policies(case, pols[:i] + pols[i + 1:]))
            if still(trial):
                case, changed = trial, True
                break
        pols = case.policies.model.policies
        for i, (pid, p) in enumerate(pols):
            for k in range(len(p.conditions)):
                q = dataclasses.replace(p, conditions=p.conditions[:k] + p.conditions[k + 1:])
                trial = with_policies(case, pols[:i] + ((pid, q),) + pols[i + 1:])
                if still(trial):
                    case, changed = trial, True
                    break
            if changed:
                break
        if not changed:
            case, changed = shrink_bodies(case, still)
        items = case.entities.items
        for i in range(len(items)):
            ge = GenEntities(items[:i] + items[i + 1:], case.entities.json[:i] + case.entities.json[i + 1:],
                             case.entities.pools)
            trial = dataclasses.replace(case, entities=ge)
            if still(trial):
                case, changed = trial, True
                break
    return case


def subexpressions(e: A.Expr) -> list[A.Expr]:
    """The direct sub-expressions of an expression."""
    out = []
    for f in dataclasses.fields(e):
        v = getattr(e, f.name)
        if isinstance(v, tuple):
            out.extend(x for x in v if dataclasses.is_dataclass(x) and not isinstance(x, A.Span))
            out.extend(x for pair in v if isinstance(pair, tuple) for x in pair if dataclasses.is_dataclass(x))
        elif dataclasses.is_dataclass(v) and not isinstance(v, A.Span):
            out.append(v)
    return out


def shrink_bodies(case: Case, still: Callable[[Case], bool]) -> tuple[Case, bool]:
    """One step: replace some condition body by one of its sub-expressions."""
    pols = case.policies.model.policies
    for i, (pid, p) in enumerate(pols):
        for k, c in enumerate(p.conditions):
            for sub in subexpressions(c.body):
                cond = dataclasses.replace(c, body=sub)
                q = dataclasses.replace(p, conditions=p.conditions[:k] + (cond,) + p.conditions[k + 1:])
                trial = with_policies(case, pols[:i] + ((pid, q),) + pols[i + 1:])
                if still(trial):
                    return trial, True
    return case, False


def write_reproducer(out: Path, name: str, case: Case, found: list[Disagreement]) -> Path:
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "policies.cedar").write_text(case.policies.text)
    (folder / "schema.json").write_text(json.dumps(case.schema.json, indent=2))
    (folder / "entities.json").write_text(json.dumps(case.entities.json, indent=2, ensure_ascii=False))
    (folder / "requests.json").write_text(json.dumps([r.json for r in case.requests], indent=2, ensure_ascii=False))
    if case.policies.links_json:
        (folder / "links.json").write_text(json.dumps(case.policies.links_json, indent=2))
    (folder / "case.json").write_text(json.dumps(case.to_json(), indent=2, ensure_ascii=False))
    (folder / "disagreements.txt").write_text("\n".join(str(d) for d in found) + "\n")
    return folder


# --------------------------------------------------------------------------
# The long-run command


def case_for(seed: int, index: int) -> Case:
    return gen_case(RandomChooser(random.Random(f"{seed}:{index}")))


def run_one(args: tuple[int, int, tuple[str, ...]]) -> tuple[int, list[Disagreement], set]:
    seed, index, checks = args
    skipped: set = set()
    return index, compare(case_for(seed, index), checks, skipped), skipped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.difftest", description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1000, help="how many cases to run")
    ap.add_argument("--seed", type=int, default=0, help="the run's seed (case i uses seed:i)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--out", type=Path, default=Path("/tmp/cedarscope-difftest"),
                    help="folder for reproducers")
    ap.add_argument("--check", action="append", choices=CHECKS,
                    help="run only these comparisons (repeatable; default all)")
    ap.add_argument("--no-shrink", action="store_true", help="write reproducers unshrunk")
    ap.add_argument("--max-reports", type=int, default=50, help="stop writing reproducers after this many")
    ap.add_argument("--ignore-known", action="store_true",
                    help="do not count disagreements listed in KNOWN_ISSUES (bugs with xfail regression tests)")
    args = ap.parse_args(argv)
    checks = tuple(args.check or CHECKS)

    work = [(args.seed, i, checks) for i in range(args.cases)]
    start = time.monotonic()
    last = start
    disagreeing = 0
    by_check: dict[str, int] = {}
    skipped_all: set = set()
    reports = 0
    pool = multiprocessing.Pool(args.jobs) if args.jobs > 1 else None
    results = pool.imap_unordered(run_one, work, chunksize=8) if pool else map(run_one, work)
    done = 0
    known: dict[str, int] = {}
    for index, found, skipped in results:
        done += 1
        skipped_all |= skipped
        for d in found:
            test = known_issue(d)
            if test:
                known[test] = known.get(test, 0) + 1
        if args.ignore_known:
            found = [d for d in found if not known_issue(d)]
        if found:
            disagreeing += 1
            for d in found:
                by_check[d.check] = by_check.get(d.check, 0) + 1
            print(f"case {args.seed}:{index}: {len(found)} disagreement(s)")
            for d in found:
                print("  " + str(d).replace("\n", "\n    "))
            if reports < args.max_reports:
                case = case_for(args.seed, index)
                if not args.no_shrink and found[0].check in SHRINKABLE:
                    case = shrink(case, found[0])
                    found = compare(case, (found[0].check,))
                folder = write_reproducer(args.out, f"case-{args.seed}-{index}-{found[0].check if found else 'x'}",
                                          case, found)
                print(f"  reproducer: {folder}")
                reports += 1
        now = time.monotonic()
        if now - last > 15:
            print(f"... {done}/{args.cases} cases, {done / (now - start):.1f} cases/s, "
                  f"{disagreeing} disagreeing", flush=True)
            last = now
    if pool:
        pool.close()
    elapsed = time.monotonic() - start
    for s in sorted(skipped_all):
        print(f"skipped {s}")
    for test, n in sorted(known.items()):
        print(f"known issue ({n}x): tests/test_differential.py::{test}")
    print(f"{done} cases in {elapsed:.1f} s ({done / elapsed:.1f} cases/s), "
          f"{disagreeing} with disagreements {dict(sorted(by_check.items()))}"
          + (" (known issues ignored)" if args.ignore_known else ""))
    return 1 if disagreeing else 0


if __name__ == "__main__":
    sys.exit(main())
