"""Cedar itself: parsing, printing, schemas, entities, evaluation, validation.

The bottom layer of cedarscope: it imports neither the solver nor any layer
above it.  The names callers use most are re-exported here and imported on
first use, so `import cedarscope.lang` loads neither lark nor the
submodules; the rest stay in their modules (`cedarscope.lang.ast`,
`.values`, `.schema`, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cedarscope.lang.lazy import lazy_exports

if TYPE_CHECKING:
    from cedarscope.lang.ast import Policy, PolicySet, TemplateLink
    from cedarscope.lang.authorizer import is_authorized
    from cedarscope.lang.diagnostics import CedarError, Diagnostic
    from cedarscope.lang.entities import Entities, load_entities, parse_entities
    from cedarscope.lang.entity import Entity
    from cedarscope.lang.evaluator import evaluate
    from cedarscope.lang.links import parse_links, with_links
    from cedarscope.lang.parser import load_policies, parse_entity_uid, parse_expr, parse_policies, parse_policy
    from cedarscope.lang.printer import format_source, print_policy, print_policyset
    from cedarscope.lang.request import Request, parse_request
    from cedarscope.lang.schema import RequestEnv, Schema, load_schema, parse_schema
    from cedarscope.lang.validator import validate
    from cedarscope.lang.values import CedarRecord, CedarSet, Datetime, Decimal, Duration, EntityUID, IPAddr

_EXPORTS = {
    **dict.fromkeys(["Policy", "PolicySet", "TemplateLink"], ".ast"),
    **dict.fromkeys(["CedarError", "Diagnostic"], ".diagnostics"),
    **dict.fromkeys(["Entities", "load_entities", "parse_entities"], ".entities"),
    **dict.fromkeys(["Entity"], ".entity"),
    **dict.fromkeys(["CedarRecord", "CedarSet", "Datetime", "Decimal", "Duration", "EntityUID", "IPAddr"], ".values"),
    **dict.fromkeys(["load_policies", "parse_entity_uid", "parse_expr", "parse_policies", "parse_policy"], ".parser"),
    **dict.fromkeys(["format_source", "print_policy", "print_policyset"], ".printer"),
    **dict.fromkeys(["RequestEnv", "Schema", "load_schema", "parse_schema"], ".schema"),
    **dict.fromkeys(["Request", "parse_request"], ".request"),
    **dict.fromkeys(["is_authorized"], ".authorizer"),
    **dict.fromkeys(["evaluate"], ".evaluator"),
    **dict.fromkeys(["validate"], ".validator"),
    **dict.fromkeys(["parse_links", "with_links"], ".links"),
}
__all__ = [
    "CedarError", "CedarRecord", "CedarSet", "Datetime", "Decimal", "Diagnostic", "Duration", "Entities", "Entity",
    "EntityUID", "IPAddr", "Policy", "PolicySet", "Request", "RequestEnv", "Schema", "TemplateLink", "evaluate",
    "format_source", "is_authorized", "load_entities", "load_policies", "load_schema", "parse_entities",
    "parse_entity_uid", "parse_expr", "parse_links", "parse_policies", "parse_policy", "parse_request",
    "parse_schema", "print_policy", "print_policyset", "validate", "with_links",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

