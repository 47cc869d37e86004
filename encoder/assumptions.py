"""What an analysis assumes about the requests and entity stores it answers for.

By default, nothing beyond what Cedar itself enforces: an answer covers every
request and entity store that Cedar accepts under the schema.  Cedar accepts
a request only if its action is declared, its principal and resource types
are ones the action applies to and its context conforms; it accepts an
entity store only if every entity conforms (declared type, enum ids listed,
attributes and tags of the declared types, parents of `memberOf` types,
action entities as the schema declares them) and the hierarchy has no
cycle (it computes the transitive closure and rejects cycles).  The encoding
relies on these, and on nothing else.

Cedar does not require any entity to be in the store: not the request's
principal or resource, nor one a policy names (`User::"ghost"`), nor one an
attribute, a tag or a parent edge refers to.  For such an entity `has` and
`hasTag` are false, attribute and tag access error, and it has no
ancestors; the encoding models its existence as one more unknown.

Stronger assumptions are explicit options (`Encoding(..., assumptions=)`,
`--entities-exist request|all`); each narrows the stores an answer covers, so a report
lists every one in force.
"""

from __future__ import annotations

from collections.abc import Iterable

# The request's principal and resource are in the store (most applications
# load both before they ask Cedar).
REQUEST_ENTITIES_EXIST = "request-entities-exist"
# Every entity a formula reads is in the store: the request's, the ones the
# policies name, and the ones reached through attributes and tags.  This is
# the hypothesis of the soundness theorems of Cedar's own symbolic compiler
# (cedar-spec, `Env.StronglyWellFormedForPolicies`).
ENTITIES_EXIST = "entities-exist"

STRONGER = {
    REQUEST_ENTITIES_EXIST: "the request's principal and resource are in the entity store",
    ENTITIES_EXIST: ("every entity the policies read is in the entity store (the principal, the "
                     "resource, entities named in policies, in attributes and in tags), as Cedar's "
                     "symbolic compiler assumes"),
}

CEDAR_ACCEPTS = "requests and entity stores are ones Cedar accepts under the schema"

# What the first sentence adds about missing entities: whatever a stronger
# assumption in force leaves open (a report must not say both that entities
# may be missing and that they are all there).
MAY_BE_MISSING = {
    frozenset(): "; entities they name need not be in the store",
    frozenset({REQUEST_ENTITIES_EXIST}): "; other entities they name need not be in the store",
}


def checked(names: Iterable[str]) -> frozenset[str]:
    """The assumption names, each one we know."""
    out = frozenset(names)
    unknown = sorted(out - STRONGER.keys())
    if unknown:
        raise ValueError(f"unknown assumption {unknown[0]!r} (known: {', '.join(STRONGER)})")
    return out


def describe(names: Iterable[str]) -> tuple[str, ...]:
    """The sentences a report prints: the stores covered, then each stronger
    assumption in force, in a fixed order."""
    chosen = checked(names)
    return (CEDAR_ACCEPTS + MAY_BE_MISSING.get(chosen, ""),
            *(text for name, text in STRONGER.items() if name in chosen))
