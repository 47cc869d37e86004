"""The examples an audit's findings show, decoded per environment.

While an environment's encoding exists, only the models a finding may show
are decoded and replayed (the rest are dropped, so an audit holds one
encoding at a time): a permit's witness (some request it matches), the
request it grants (it matches and no forbid does: what an over-permissive
finding shows), and a forbid's erroring request.  Each is authorized against
the environment's slice, whose other policies cannot match there.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cedarscope.analyzer.matching import named_entities
from cedarscope.analyzer.queries import policy_outcome
from cedarscope.analyzer.solving import Example, Model, Replay, Status
from cedarscope.analyzer.templates import TemplateRule, linked_for_example
from cedarscope.lang.ast import ScopeAny, ScopeIs, TemplateLink
from cedarscope.lang.authorizer import authorize_instances
from cedarscope.lang.entities import Entities
from cedarscope.lang.request import Request
from cedarscope.lang.template import PolicyInstance

if TYPE_CHECKING:
    from cedarscope.analyzer.audit import EnvSession, Facts

Rule = PolicyInstance | TemplateRule  # a static policy, a template link, or a template for every link


def outcome(rule: Rule, request: Request, entities: Entities, links: Sequence[TemplateLink] = ()) -> str:
    """"match", "no-match" or "error" for the rule under concrete inputs (a
    template analysed for every link: through the example's links)."""
    if isinstance(rule, TemplateRule):
        return rule.outcome(request, entities, links)
    return policy_outcome(rule.policy, request, entities)


def _outcome_is(rule: Rule, wanted: str, request: Request, entities: Entities,
                links: Sequence[TemplateLink] = ()) -> bool:
    return outcome(rule, request, entities, links) == wanted


def _fails_open(session: EnvSession, rule: Rule, request: Request, entities: Entities,
                links: Sequence[TemplateLink] = ()) -> bool:
    """Forbid `rule` errors and the environment's slice allows the request:
    what a forbid-may-error finding says its example shows (the model was
    found so; a decoding that leaves out a permit's group would not show it)."""
    if outcome(rule, request, entities, links) != "error":
        return False
    instances = linked_for_example(session.scopes.matching(Example(request, entities, links=tuple(links))), links)
    return authorize_instances(request, entities, instances).decision.value == "allow"


@dataclass
class Shown:
    """An example a finding may show, replayed in its environment: the
    decision over the environment's slice and the policies that determined
    it."""

    example: Example
    decision: str
    reasons: tuple[str, ...]

    @property
    def overriders(self) -> tuple[str, ...]:
        """The forbids that match the example (a deny's reasons are exactly
        the satisfied forbids; a link of a template, by the template)."""
        if self.decision != "deny":
            return ()
        templates = {x.link_id: x.template_id for x in self.example.links}
        return tuple(sorted({templates.get(pid, pid) for pid in self.reasons}))


def may_be_over_permissive(r: Rule) -> bool:
    """Could permit r be over-permissive for a principal or resource that
    neither its scope nor its conditions constrain (the judge's condition)?"""
    from cedarscope.analyzer.properties import mentions_var

    return r.effect == "permit" and any(
        (isinstance(s, ScopeAny) or (isinstance(s, ScopeIs) and s.in_target is None))
        and not any(mentions_var(c.body, var) for c in r.policy.conditions)
        for var, s in (("principal", r.policy.principal), ("resource", r.policy.resource)))


def decode_examples(session: EnvSession, facts: dict[str, Facts]) -> dict[tuple[str, str], Shown | None]:
    """The examples of this environment's findings, by (kind, rule id); a
    None entry is one that did not replay.  The models are dropped after."""
    out: dict[tuple[str, str], Shown | None] = {}
    for r in session.rules:
        f = facts[r.id]
        wanted: list[tuple[str, Model | None, Replay]] = []
        match = functools.partial(_outcome_is, r, "match")
        if f.alive == Status.SAT and r.effect == "permit" and f.overridden == Status.SAT:
            wanted.append(("witness", f.witness, match))  # shows the forbid that defeats it
        if f.alive == Status.SAT and may_be_over_permissive(r):
            # a request it grants, else (every one it matches is denied) one it matches
            wanted.append(("granted", f.granted or f.witness, match))
        if f.errs == Status.SAT:
            wanted.append(("error", f.error_model, functools.partial(_fails_open, session, r)))
        decoded: dict[int, Shown | None] = {}  # a model shown twice is decoded once
        for kind, model, replays in wanted:
            if id(model) not in decoded:
                decoded[id(model)] = shown(session, session.example(model, replays, named_entities(r.policy)))
            out[(kind, r.id)] = decoded[id(model)]
        f.witness = f.granted = f.error_model = None
    return out


def shown(session: EnvSession, example: Example | None) -> Shown | None:
    if example is None:
        return None
    instances = linked_for_example(session.scopes.matching(example), example.links)
    response = authorize_instances(example.request, example.entities, instances)
    return Shown(example, response.decision.value, response.reasons)
