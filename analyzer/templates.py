"""Templates analysed for every possible link.

A template's risk is what it could grant once linked.  When a policy set
comes without template links, each template is analysed as if it *may* be
linked, with any arguments: each slot stands for an unknown entity of a
type the schema allows there (`lang.template.AnyEntity`, a variable of the
encoding), and whether the link exists is one more unknown.  In an
environment, a slot's types are those under which the template's scope can
match: the environment's own type for ``== ?slot``, and also every type it
can be a member of for ``in ?slot``.  One link per template and typing is
enough for every question asked of one request: a request allowed (or
denied) under some set of links is allowed (denied) under a subset with at
most one link per template whose scope it matches.

Examples carry the links that realise them (decoded from the model, see
`Encoding.links`), and are replayed with exactly those links.  With links
given (`--links`), templates are analysed through those links only, as
before.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cedarscope.lang.ast import Policy, PolicySet, Scope, ScopeEq, ScopeIn, ScopeIs, Slot, TemplateLink
from cedarscope.lang.schema import RequestEnv, Schema
from cedarscope.lang.template import PolicyInstance, for_every_link, link

if TYPE_CHECKING:
    from cedarscope.lang.entities import Entities
    from cedarscope.lang.request import Request

NOTE = ("templates without links are analysed for every possible link: each may be linked, with any "
        "arguments of the types its scope allows")


def open_templates(ps: PolicySet) -> list[tuple[str, Policy]]:
    """The templates analysed for every link: all of them when the set has
    no links at all (with links, the given links are analysed instead)."""
    if ps.links:
        return []
    return list(ps.templates)


def _slot_types(scope: Scope, var_type: str, schema: Schema) -> dict[str, list[str]]:
    """For a principal or resource scope: its slot, if any, and the types
    under which the scope can match an entity of `var_type`."""
    target = getattr(scope, "target", None) if not isinstance(scope, ScopeIs) else scope.in_target
    if not isinstance(target, Slot):
        return {}
    if isinstance(scope, ScopeEq):
        return {target.name: [var_type]}
    if isinstance(scope, ScopeIs) and scope.entity_type != var_type:
        return {target.name: []}
    assert isinstance(scope, (ScopeIn, ScopeIs))
    return {target.name: [var_type, *sorted(t for t in schema.ancestor_types(var_type) if t != var_type)]}


def typings(template: Policy, env: RequestEnv, schema: Schema) -> list[dict[str, str]]:
    """Each assignment of types to the template's slots under which its
    scope can match in `env`, in a fixed order."""
    options = {**_slot_types(template.principal, env.principal_type, schema),
               **_slot_types(template.resource, env.resource_type, schema)}
    slots = sorted(options)
    return [dict(zip(slots, combo, strict=True)) for combo in itertools.product(*(options[s] for s in slots))]


def instance_id(template_id: str, typing: dict[str, str], several: bool) -> str:
    if not several:
        return template_id
    return f"{template_id}[{', '.join(f'{slot}: {t}' for slot, t in sorted(typing.items()))}]"


def every_link_instances(ps: PolicySet, env: RequestEnv, schema: Schema) -> list[PolicyInstance]:
    """The templates of `ps` analysed for every link, as evaluable policies of
    `env` (one per typing of their slots that can match there)."""
    out = []
    for template_id, template in open_templates(ps):
        found = typings(template, env, schema)
        for typing in found:
            out.append(PolicyInstance(instance_id(template_id, typing, len(found) > 1),
                                      for_every_link(template_id, template, typing), template_id))
    return out


def notes(ps: PolicySet) -> tuple[str, ...]:
    """What a report says it did with templates: analysed for every link
    (no links given), or not analysed (links given, none for them)."""
    if not any(p.is_template for _, p in ps.policies):
        return ()
    open_ = open_templates(ps)
    if open_:
        return (f"{NOTE} ({', '.join(pid for pid, _ in open_)})",)
    linked = {link.template_id for link in ps.links}
    unlinked = [pid for pid, p in ps.policies if p.is_template and pid not in linked]
    if unlinked:
        return (f"templates with no link in the links given are not analysed: {', '.join(unlinked)}",)
    return ()


@dataclass(frozen=True)
class TemplateRule:
    """A template analysed for every link, as one rule of an audit: in each
    environment, the template under every typing of its slots that can
    match there (`policies_in`); concretely, the links an example names."""

    id: str
    policy: Policy  # the template as written (location, conditions)
    schema: Schema

    @property
    def effect(self) -> str:
        return self.policy.effect

    def policies_in(self, env: RequestEnv) -> tuple[Policy, ...]:
        return tuple(for_every_link(self.id, self.policy, typing) for typing in typings(self.policy, env, self.schema))

    def outcome(self, request: Request, entities: Entities, links: Sequence[TemplateLink]) -> str:
        """"match" when a link of this template among `links` is satisfied,
        else "error" when one errors, else "no-match"."""
        from cedarscope.analyzer.queries import policy_outcome
        from cedarscope.lang.template import link

        found = {policy_outcome(link(self.policy, dict(x.values)), request, entities)
                 for x in links if x.template_id == self.id}
        return next((o for o in ("match", "error") if o in found), "no-match")


def template_rules(ps: PolicySet, schema: Schema) -> list[TemplateRule]:
    return [TemplateRule(pid, p, schema) for pid, p in open_templates(ps)]


def with_example_links(ps: PolicySet, links: Sequence[TemplateLink]) -> PolicySet:
    """The policy set with the links an example decoded to (for its replay)."""
    if not links:
        return ps
    return dataclasses.replace(ps, links=(*ps.links, *links))


def policies_in(rule: PolicyInstance | TemplateRule, env: RequestEnv) -> tuple[Policy, ...]:
    """The policies a rule stands for in an environment (a template: one
    per typing of its slots)."""
    return rule.policies_in(env) if isinstance(rule, TemplateRule) else (rule.policy,)


def linked_for_example(rules: Sequence[PolicyInstance | TemplateRule],
                        links: Sequence[TemplateLink]) -> list[PolicyInstance]:
    """The rules as evaluable policies for an example: a template for every
    link stands for the example's links of it (none: it cannot match)."""
    out: list[PolicyInstance] = []
    for r in rules:
        if isinstance(r, TemplateRule):
            out.extend(PolicyInstance(x.link_id, link(r.policy, dict(x.values)), r.id, x.values)
                       for x in links if x.template_id == r.id)
        else:
            out.append(r)
    return out
