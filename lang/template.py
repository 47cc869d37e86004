"""Templates and their links: the evaluable policies of a policy set.

A template mentions slots (``?principal``, ``?resource``) in its scope; Cedar
never evaluates a template, only its links, each of which fills the slots
with entities.  Linking happens once, here: a `PolicyInstance` holds a plain
static policy (slots replaced, source spans kept so locations still point at
the template's text), so the evaluator, the encoder and the analyzer never
see a slot.  (Slots may only appear in the scope: the parser rejects them in
conditions.)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cedarscope.lang.ast import Policy, PolicySet, Scope, Slot, TemplateLink
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.values import EntityUID


@dataclass(frozen=True)
class PolicyInstance:
    """One evaluable policy: a static policy, or a template link.  `policy`
    has no slots; `template_id` names the template a link instantiates
    (None for a static policy), and `link_values` its slot values."""

    id: str
    policy: Policy
    template_id: str | None = None
    link_values: tuple[tuple[str, EntityUID], ...] = ()

    @property
    def effect(self) -> str:
        return self.policy.effect

    @property
    def is_link(self) -> bool:
        return self.template_id is not None


def _fill(scope: Scope, values: dict[str, EntityUID]) -> Scope:
    """The scope with its slot (if any) replaced by the linked entity."""
    for name in ("target", "in_target"):
        target = getattr(scope, name, None)
        if isinstance(target, Slot):
            return dataclasses.replace(scope, **{name: values[target.name]})  # type: ignore[arg-type]
    return scope


def link(template: Policy, values: dict[str, EntityUID]) -> Policy:
    """The static policy a template becomes with its slots filled.  The
    values must name exactly the template's slots (see `instantiate`)."""
    return dataclasses.replace(template, principal=_fill(template.principal, values),
                               resource=_fill(template.resource, values))


# --------------------------------------------------------------------------
# Every possible link at once


@dataclass(frozen=True)
class AnyEntity:
    """A slot filled with an unknown entity of one type: a template analysed
    for every possible link puts one in place of each slot (`for_every_link`),
    and the encoder makes it a variable.  It is never evaluated: examples are
    replayed with the concrete link they decode to."""

    slot: str  # "?principal" | "?resource"
    entity_type: str
    template_id: str

    @property
    def type(self) -> str:  # read like an EntityUID's type by scope slicing
        return self.entity_type


def for_every_link(template_id: str, template: Policy, slot_types: dict[str, str]) -> Policy:
    """The template with each slot standing for any entity of the given
    type (`slot_types` names a type for every slot)."""
    values = {slot: AnyEntity(slot, slot_types[slot], template_id) for slot in template.slots}
    return link(template, values)  # type: ignore[arg-type]


def _link_error(message: str) -> CedarError:
    return CedarError(Diagnostic(message, file="<links>"))


def _linked(policyset: PolicySet, link_: TemplateLink) -> Policy:
    """The policy a link makes, after checking the link against the set."""
    template = policyset.get(link_.template_id)
    if template is None:
        raise _link_error(f"link `{link_.link_id}` names template `{link_.template_id}`, which does not exist")
    if not template.is_template:
        raise _link_error(f"link `{link_.link_id}` names `{link_.template_id}`, which is a static policy, "
                          "not a template")
    values = dict(link_.values)
    if set(values) != set(template.slots):
        raise _link_error(
            f"link `{link_.link_id}` gives values for {sorted(values)} but template "
            f"`{link_.template_id}` has slots {sorted(template.slots)}")
    return link(template, values)


def instantiate(policyset: PolicySet) -> list[PolicyInstance]:
    """The evaluable policies: each static policy in order, then one per
    template link, keyed by the link id.  Templates themselves are never
    evaluated.  A link to a missing template or to a static policy, with the
    wrong slots, or whose id repeats a policy id, is bad input."""
    out = [PolicyInstance(pid, p) for pid, p in policyset.policies if not p.is_template]
    seen = set(policyset.ids)
    for link_ in policyset.links:
        if link_.link_id in seen:
            raise _link_error(f"link id `{link_.link_id}` is already the id of a policy or link")
        seen.add(link_.link_id)
        out.append(PolicyInstance(link_.link_id, _linked(policyset, link_), link_.template_id,
                                  tuple(sorted(link_.values))))
    return out


def source_of(policyset: PolicySet, policy_id: str) -> Policy | None:
    """The policy as written for an id: the static policy, or for a link
    the template it instantiates (for locations); None when unknown."""
    policy = policyset.get(policy_id)
    if policy is not None:
        return policy
    for link_ in policyset.links:
        if link_.link_id == policy_id:
            return policyset.get(link_.template_id)
    return None
