"""A schema for policies that ship without one.

`infer_schema(policies, entities=..., requests=...)` builds a Cedar schema
under which the policies pass Cedar's strict validation, from what the
policies say about their inputs and, when given, what entity data and
requests show.  It is evidence, not truth: the report of every analysis run
on an inferred schema says so.

Evidence, in the order it is read:

1. *Request environments* (which principal and resource types each action
   applies to).  Only scopes say which requests a policy concerns
   (``principal == User::"a"``, ``resource is Doc``, ``principal in
   Team::"t"``); a permit naming types adds them to each of its actions.  A
   permit whose scope leaves a position open (``principal``) concerns every
   type there, so its actions apply to every type seen in that position: in
   permit scopes, in ``is`` tests in permit conditions (which show types
   exist, not who reaches the policy), in requests; inference never narrows
   what a permit allows.  ``principal in Team::"t"`` asks for a type whose
   entities can be in a Team: one the data shows as a member, else the
   principal types seen elsewhere, else Team, which then gets ``in [Team]``
   (without it ``in`` would mean ``==``).  A forbid only takes requests
   away, so its scope is no evidence of who makes them: its types are added
   only where it would otherwise apply to no environment (Cedar rejects such
   a policy), preferring actions a permit leaves open, and such an
   environment gives no memberOf edges from the permits' ``in`` tests (else
   ``forbid(principal is Admin, action, resource is Student)`` would make
   ``principal in resource`` relate Admin to Student).
2. *Types* of attributes, context fields and tags, by unification over every
   policy walked in every environment it applies to (strict validation
   checks each), with Cedar's typing rules: ``<`` takes Long (or datetime,
   duration), ``like`` a String, ``contains`` a Set and its element, ``in``
   an entity or a set of entities (and a memberOf edge between their
   types), ``==`` unifies its operands.  Entity data and request contexts
   give the types of their values.
3. *Optionality*: an attribute the policies read without a ``has`` guard is
   required (strict validation demands it); one only read under a guard, or
   missing from some entity or request, is optional.
4. *Defaults*: a type nothing constrains is a String; an entity whose type
   nothing names is taken to be the type it is compared with or `in`.

Conflicting evidence (an attribute used as a Long and as a String) keeps the
first use; the policy that disagrees then fails validation, as it would
under any schema.  `Inferred.notes` lists such conflicts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cedarscope.lang import ast
from cedarscope.lang.schema import Schema

INFERRED_ASSUMPTION = "schema inferred from the policies"


@dataclass
class Inferred:
    """An inferred schema, its Cedar text, and notes on conflicting evidence."""

    schema: Schema
    text: str
    notes: list[str] = field(default_factory=list)


def infer_schema(policies: ast.PolicySet, entities: Any = None,
                 requests: Sequence[Any] = ()) -> Inferred:
    """A schema under which `policies` validate, from the policies, entity
    data (Cedar's entities JSON, parsed) and requests (Cedar's request JSON,
    parsed), as the module docstring describes."""
    from cedarscope.lang.infer.inference import Inference
    from cedarscope.lang.schema_text import schema_to_text
    from cedarscope.lang.template import instantiate

    inference = Inference()
    rules = [i.policy for i in instantiate(policies)]
    rules += [p for _, p in policies.policies if p.is_template and not _linked(policies, p)]
    for entity in _entity_list(entities):
        inference.read_entity(entity)
    for request in requests:
        inference.read_request(request)
    for policy in rules:
        inference.read_scope(policy)
    for entity in _entity_list(entities):  # data first: it shows which attributes exist
        inference.type_entity(entity)
    for request in requests:
        inference.type_request(request)
    inference.settle_environments(rules)
    for policy in rules:
        inference.type_policy(policy)
    schema = inference.schema()
    return Inferred(schema, schema_to_text(schema), inference.notes)


def _linked(ps: ast.PolicySet, template: ast.Policy) -> bool:
    return any(ps.get(link.template_id) is template for link in ps.links)


def _entity_list(entities: Any) -> list[dict]:
    if entities is None:
        return []
    if isinstance(entities, list):
        return [e for e in entities if isinstance(e, dict)]
    return []


def inferred_json(schema: Schema) -> str:
    """The inferred schema in Cedar's JSON schema format."""
    from cedarscope.lang.schema import schema_to_json

    return json.dumps(schema_to_json(schema), indent=2, sort_keys=True) + "\n"
