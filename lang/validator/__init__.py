"""Cedar's strict validation: type checking policies against a schema.

This follows the typechecker of the Cedar reference implementation in its
default, *strict*, mode (what `cedarpy.validate_policies` runs):

* once per policy: every entity type it names is declared, every action it
  names is declared, every literal of an enumerated entity type uses a
  declared id, and some action's `appliesTo` fits the policy scope;
* once per request environment (principal type, action, resource type the
  schema allows, and for a template each entity type its slots may take):
  the policy's condition -- its scope constraints, `when` bodies and negated
  `unless` bodies, conjoined -- is type checked.  The checker tracks
  *capabilities* (attributes and tags known to be present because a `has`
  or `hasTag` guard is true on every path to the access) and singleton
  boolean types (`in`, `==`, `is`, `has` that are decided by the schema
  alone), short-circuiting `&&`, `||` and `if` on them as Cedar does.

Errors from every environment are reported; a policy whose condition has
type `false` in every environment is *impossible* (a warning in Cedar, so it
does not fail validation).  Messages use Cedar's wording, prefixed with the
policy id, located at the offending expression's span.

`type_of(expr, schema, env)` exposes the inferred type of an expression (e.g.
the entity type of `principal.manager`) for the encoder.

The modules, bottom up: `types` (the validator's types), `subtyping`,
`extensions` (extension function signatures), `schema_view` (the schema as
the checker reads it), `core` (desugaring), `typechecker` (one expression
in one environment), `policies` (per-policy checks and environments) and
`validation` (the entry points).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cedarscope.lang.lazy import lazy_exports

if TYPE_CHECKING:
    from cedarscope.lang.validator.validation import type_of, validate

__all__ = ["validate", "type_of"]
__getattr__, __dir__ = lazy_exports(__name__, {"validate": ".validation", "type_of": ".validation"})
