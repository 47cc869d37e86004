"""Properties written in Cedar, and questions written in Cedar.

A property file holds policies annotated ``@must("never")`` or
``@must("always")``.  Their scope and conditions describe a set of requests
(the effect keyword is only syntax): ``never`` means the policies under audit
must allow none of them, ``always`` that they must allow all of them.

`ask` takes one such policy as a question: "is any request it describes
allowed?", answered with examples, a proof of "never", or unknown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass
from typing import TYPE_CHECKING, TypeAlias

import z3

from cedarscope.analyzer.checks import counterexample, describe_request
from cedarscope.analyzer.queries import allows, evaluable_in, policy_outcome
from cedarscope.analyzer.queries import ask as ask_query
from cedarscope.analyzer.slicing import PolicyIndex, may_match
from cedarscope.analyzer.solving import Answer, Options, overall, stats_of
from cedarscope.analyzer.templates import notes as template_notes
from cedarscope.analyzer.templates import with_example_links
from cedarscope.lang.ast import Policy, PolicySet, TemplateLink, Var
from cedarscope.lang.authorizer import ALLOW, DENY, is_authorized
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.schema import Schema
from cedarscope.lang.template import instantiate
from cedarscope.reports.findings import Finding, Location, Report

if TYPE_CHECKING:
    from cedarscope.encoder.encoding import Encoding
    from cedarscope.lang.entities import Entities
    from cedarscope.lang.request import Request

    # Per encoding: for a found model, what the next one must satisfy (solving.Distinct)
    Distinct: TypeAlias = Callable[[Encoding], Callable[..., z3.BoolRef]]

NEVER, ALWAYS = "never", "always"


def mentions_var(node: object, name: str) -> bool:
    """Does the expression read the request variable `name`?"""
    if isinstance(node, Var):
        return node.name == name
    if isinstance(node, tuple):
        return any(mentions_var(x, name) for x in node)
    if is_dataclass(node):
        return any(mentions_var(getattr(node, f.name), name) for f in fields(node) if f.name != "span")
    return False


def describes(question: Policy, request: Request, entities: Entities) -> bool:
    """Concretely: does the question's scope and conditions match?"""
    return policy_outcome(question, request, entities) == "match"


def must_of(policy: Policy) -> str:
    """The policy's ``@must`` mode, checked."""
    annotation = policy.annotation("must")
    value = annotation.value if annotation else None
    if value not in (NEVER, ALWAYS):
        span = policy.span
        raise CedarError(Diagnostic(
            'a property needs @must("never") or @must("always")',
            file=span.file if span else "<properties>",
            line=span.line if span else None, column=span.column if span else None))
    return value


def _answers(schema: Schema, ps: PolicySet, question: Policy, mode: str, options: Options,
             distinct: Distinct | None = None) -> list[Answer]:
    """Is a request the question describes allowed (mode never) or denied
    (mode always)?  Asked in the environments the question's scope can
    match (a static slice, see analyzer.slicing)."""
    index = PolicyIndex(instantiate(ps), schema)
    wanted = ALLOW if mode == NEVER else DENY

    def goal(enc: Encoding) -> z3.BoolRef:
        allowed = allows(enc, evaluable_in(ps, index, enc.env))
        return z3.And(enc.satisfied(question), allowed if mode == NEVER else z3.Not(allowed))

    def replay(request: Request, entities: Entities, links: Sequence[TemplateLink] = ()) -> bool:
        linked = with_example_links(ps, links)
        return describes(question, request, entities) and is_authorized(request, entities, linked).decision == wanted

    return ask_query(schema, options, goal, replay, distinct, where=lambda env: may_match(question, env, schema))


def check_properties(schema: Schema, ps: PolicySet, properties: PolicySet, options: Options) -> Report:
    findings, answers = [], []
    for pid, prop in properties.policies:
        mode = must_of(prop)
        result = _answers(schema, ps, prop, mode, options)
        answers.extend(result)
        for answer in result:
            for ex in answer.examples:
                cx = counterexample(ex, {"policies": ps})
                what = "allowed" if mode == NEVER else "denied"
                loc = Location.of(prop)
                findings.append(Finding(
                    "property-violated",
                    f'property {pid} (@must("{mode}")) is violated: {describe_request(ex)} is {what}',
                    tuple(r.id for r in cx.determining["policies"]), (pid,),
                    (loc,) if loc else (), answer.env, cx))
    return Report("check", overall(a.verdict for a in answers), tuple(findings), stats_of(answers),
                  assumptions=template_notes(ps))


def _distinct_by(part: str, ps: PolicySet, question: Policy, schema: Schema) -> Distinct:
    """The next example has another principal (or resource) that differs in
    what the question and the policies of the environment's slice read of
    it: principals that differ only in their id, or in what only policies
    for other environments read, are one answer."""
    from cedarscope.analyzer.observations import distinct_outcomes, observations

    index = PolicyIndex(instantiate(ps), schema)

    def make(enc: Encoding) -> Callable[..., z3.BoolRef]:
        # the static slice: a template's slots are no entity whose reads could be observed
        relevant = [i.policy for i in index.slice(enc.env)] + [question]
        read = distinct_outcomes(enc, observations(relevant, about=part))

        def differs(model: z3.ModelRef, local: Callable[[z3.ExprRef], z3.ExprRef] | None = None) -> z3.BoolRef:
            return z3.And(enc.different_from(model, (f"{part}-id",), local), read(model, local))
        return differs
    return make


def _at_most(answers: list[Answer], n: int) -> list[Answer]:
    """The first `n` examples over all environments, taken in turn from each
    (its first, then its second, ...) so the list shows every environment
    it can; an environment whose examples are all left out is still
    reachable."""
    kept = [0] * len(answers)
    left = n
    for rank in range(max((len(a.examples) for a in answers), default=0)):
        for i, a in enumerate(answers):
            if left and rank < len(a.examples):
                kept[i] += 1
                left -= 1
    return [dataclasses.replace(a, examples=a.examples[:k]) for a, k in zip(answers, kept, strict=True)]


def ask(schema: Schema, ps: PolicySet, question: Policy, options: Options,
        enumerate_by: str | None = None) -> Report:
    """Is any request the question describes allowed?  With `enumerate_by`
    ("principal" or "resource") and options.max_examples = N, up to N
    examples in all, with distinct principals (resources): each
    environment's search stops at N, and the answers are then cut to N."""
    distinct = _distinct_by(enumerate_by, ps, question, schema) if enumerate_by else _distinct_by_request
    answers = _answers(schema, ps, question, NEVER, options, distinct)
    extra = {}
    if enumerate_by:
        found = sum(len(a.examples) for a in answers)  # before the cut: an environment may find N
        answers = _at_most(answers, options.max_examples)
        extra["enumerated"] = _enumerated(enumerate_by, found, options.max_examples,
                                          all(a.exhausted for a in answers))
    findings = []
    for answer in answers:
        for ex in answer.examples:
            cx = counterexample(ex, {"policies": ps})
            findings.append(Finding(
                "reachable", f"yes: {describe_request(ex)} is allowed",
                tuple(r.id for r in cx.determining["policies"]), (), (), answer.env, cx))
    # For `ask`, "violated" (some request is allowed) is the answer "yes".
    return Report("ask", overall(a.verdict for a in answers), tuple(findings),
                  stats_of(answers, environments=len(answers), **extra), assumptions=template_notes(ps))


def _enumerated(part: str, found: int, asked: int, exhausted: bool) -> str:
    """Whether `ask --enumerate N` listed every distinct principal (resource)."""
    shown = min(found, asked)
    noun = f"distinct {part}{'' if shown == 1 else 's'}"
    if found >= asked:
        return f"{shown} {noun}, as many as asked for (there may be more)"
    if exhausted:
        return f"{shown} {noun}: all there are"
    return f"{shown} {noun}; the search for more stopped before it ended (its budget, or an unknown)"


def _distinct_by_request(enc: Encoding) -> Callable[..., z3.BoolRef]:
    return enc.different_from
