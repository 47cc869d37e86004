"""What analysis accepts: policies, questions and properties that pass
Cedar's strict validation against the schema.

The encoder gives meaning to well-typed policies.  A policy that fails
validation (it reads an attribute the schema does not declare, compares a
Long with a String, names an undeclared action) errors or never matches in
every request of some environment, and an analysis of it answers about that
accident: an audit once called every forbid reading an undeclared `context`
"dead", and advised deleting the guards.  So every analysis first calls
`require_valid` on each policy set it is given, and `require_valid_query`
on questions and properties; the command line turns the `CedarError` into
the validator's located errors and exit 2.  A caller that wants answers
about unvalidated policies anyway asks `unvalidated_assumption` for the
sentence its report must carry.
"""

from __future__ import annotations

from collections.abc import Mapping

from cedarscope.lang.ast import PolicySet
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.schema import Schema

VALIDATE_HINT = ("analysis answers only about policies that pass Cedar's strict validation "
                 "against the schema; fix the errors above")


def validation_errors(schema: Schema, sides: Mapping[str, PolicySet] | PolicySet) -> list[Diagnostic]:
    """The strict-validation errors of every policy set in `sides` (one set,
    or named sides such as old and new), each side's errors once."""
    from cedarscope.lang.validator import validate

    if isinstance(sides, PolicySet):
        sides = {"policies": sides}
    errors: list[Diagnostic] = []
    seen: set[tuple[str, int | None, int | None, str | None, str]] = set()
    for ps in sides.values():
        for d in validate(ps, schema):
            key = (d.file, d.line, d.column, d.path, d.message)
            if d.severity == "error" and key not in seen:
                seen.add(key)
                errors.append(d)
    return errors


def require_valid(schema: Schema, sides: Mapping[str, PolicySet] | PolicySet, hint: str = VALIDATE_HINT) -> None:
    """Raise the validator's errors, followed by `hint` as a note, unless
    every policy, template and template link of every side validates."""
    errors = validation_errors(schema, sides)
    if errors:
        raise CedarError([*errors, Diagnostic(hint, file=errors[0].file, severity="note")])


def unvalidated_assumption(schema: Schema, sides: Mapping[str, PolicySet] | PolicySet,
                           option: str = "--no-validate") -> str | None:
    """The assumption a report must state when it answers about policies
    that fail validation (None when every policy validates)."""
    errors = validation_errors(schema, sides)
    if not errors:
        return None
    n = len(errors)
    return (f"policies that fail strict validation are analysed ({option}; {n} validation "
            f"error{'s' if n != 1 else ''}): answers about them describe how cedarscope encodes "
            "ill-typed expressions, and may be vacuous")


def require_valid_query(ps: PolicySet, schema: Schema, what: str,
                        sources: Mapping[str, str] | None = None) -> None:
    """A question or property must be a static policy that type-checks
    against the schema: one that names a missing attribute or action would
    error (or match nothing) in every request, and be "proved" vacuously.
    `what` names it in the messages ("question", "property")."""
    from cedarscope.lang.validator import validate

    templates = [p for _, p in ps.policies if p.is_template]
    if templates:
        span = templates[0].span
        raise CedarError(Diagnostic(f"a {what} cannot be a template (it has slots)",
                                    file=span.file if span else "<input>",
                                    line=span.line if span else None,
                                    column=span.column if span else None))
    diagnostics = [d for d in validate(ps, schema, sources=sources) if d.severity == "error"]
    if diagnostics:
        # An attribute missing from one of the scope's types, not a typo (a
        # typo comes with a "did you mean"): narrowing the scope is the fix.
        narrow = any("attribute" in d.message and "not found" in d.message and "did you mean" not in d.message
                     for d in diagnostics)
        hint = Diagnostic(f"a {what} must pass Cedar's validation in every request environment its "
                          "scope allows; narrow its scope (e.g. `resource is Doc`) where an attribute "
                          "exists only on some types", file=diagnostics[0].file, severity="note")
        raise CedarError([*diagnostics, hint] if narrow else diagnostics)
