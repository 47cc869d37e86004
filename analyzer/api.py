"""The Python API: the command line's analyses as typed functions.

Each function takes parsed inputs (load them with the `load_*` / `parse_*`
functions) and returns what the matching command prints: a `Report` for the
analyses (``report.verdict``, ``report.findings``, ``report.to_json()``), an
`AuthorizationResult` for `authorize`, a `Validation` for `validate`.  Bad
input raises `CedarError`, which carries the located diagnostics.  Options
are keyword arguments with the command line's defaults.

    import cedarscope
    schema = cedarscope.load_schema("examples/schema.cedarschema")
    old = cedarscope.load_policies("examples/policies.cedar")
    new = cedarscope.load_policies("examples/policies_v2.cedar")
    report = cedarscope.diff(old, new, schema)
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from cedarscope.analyzer.solving import DEFAULT_DESCRIBE_SECONDS, DEFAULT_TIMEOUT_SECONDS, Options
from cedarscope.lang.ast import Policy, PolicySet
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.entities import Entities
from cedarscope.lang.request import Request
from cedarscope.lang.schema import Schema
from cedarscope.reports.findings import AuthorizationResult, Report

if TYPE_CHECKING:
    from cedarscope.reports.access import AccessReport

PathLike = str | Path
SET_PROPERTIES = ("always-allows", "always-denies", "never-errors")
POLICY_PROPERTIES = ("never-errors", "never-matches", "always-matches")


# --------------------------------------------------------------------------
# Inputs


def load_schema(path: PathLike) -> Schema:
    """A schema file, in Cedar's schema syntax or its JSON format."""
    from cedarscope.lang.schema import load_schema as load

    return load(path)


def parse_schema(text: str, filename: str = "<schema>") -> Schema:
    from cedarscope.lang.schema import parse_schema as parse

    return parse(text, filename)


def load_policies(*paths: PathLike, links: PathLike | None = None) -> PolicySet:
    """The policies of files and folders (``.cedar`` files, searched
    recursively in sorted order), or of one ``git:REV:path``; with `links`,
    a file of template links in Cedar's link format."""
    from cedarscope.analyzer.sources import load_policy_source

    policies = load_policy_source([str(p) for p in paths])
    return with_links_file(policies, links) if links is not None else policies


def parse_policies(text: str, filename: str = "<input>") -> PolicySet:
    from cedarscope.lang.parser import parse_policies as parse

    return parse(text, filename)


def with_links_file(policies: PolicySet, path: PathLike) -> PolicySet:
    """The policy set with the template links of a links file."""
    from cedarscope.lang.links import with_links

    return with_links(policies, _read_json(Path(path)), str(path))


def load_entities(path: PathLike, schema: Schema | None = None) -> Entities:
    """An entities file in Cedar's JSON format (read by the schema, if given)."""
    from cedarscope.lang.entities import load_entities as load

    return load(path, schema)


def load_request(path: PathLike, schema: Schema | None = None) -> Request:
    """A request file: Cedar's request JSON (entity references as Cedar
    strings or ``{"type", "id"}`` objects), checked against the schema."""
    return parse_request(_read_json(Path(path)), str(path), schema)


def _read_json(path: Path) -> Any:
    """A JSON input file: regular, size-capped, errors located (lang.files)."""
    from cedarscope.lang.files import load_json, read_text

    return load_json(read_text(path), str(path))


def parse_request(data: Any, filename: str = "<request>", schema: Schema | None = None) -> Request:
    from cedarscope.lang.request import parse_request as parse
    from cedarscope.lang.request import validate_request

    if not isinstance(data, dict):
        raise CedarError(Diagnostic("expected a JSON object with principal, action, resource and context",
                                    file=filename))
    request = parse(data, filename, schema)
    if schema is not None:
        problems = validate_request(request, schema, filename)
        if problems:
            raise CedarError(problems)
    return request


# --------------------------------------------------------------------------
# Concrete answers


@dataclass(frozen=True)
class Validation:
    """The answer of `validate`: the validator's diagnostics, none when valid."""

    policies: int
    diagnostics: tuple[Diagnostic, ...]

    @property
    def valid(self) -> bool:
        return not self.diagnostics

    def to_json(self) -> dict[str, Any]:
        """Exactly the object `cedarscope validate --format json` prints."""
        return {"valid": self.valid, "policies": self.policies,
                "diagnostics": [diagnostic_json(d) for d in self.diagnostics]}


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    return {"severity": d.severity, "file": d.file, "line": d.line, "column": d.column,
            "path": d.path, "message": d.message}


def validate(policies: PolicySet, schema: Schema) -> Validation:
    """Cedar's strict validation of the policies against the schema."""
    from cedarscope.lang.validator import validate as strict

    return Validation(len(policies.policies), tuple(strict(policies, schema)))


def authorize(policies: PolicySet, entities: Entities, request: Request, *,
              explain: bool = False) -> AuthorizationResult:
    """Cedar's decision for one concrete request, with the policies that
    determined it and those that errored; with `explain`, every policy's
    outcome (``result.explanation``, see `lang.explain`)."""
    from cedarscope.lang.authorizer import is_authorized
    from cedarscope.lang.explain import explain as explain_request
    from cedarscope.lang.template import source_of
    from cedarscope.reports.findings import PolicyRef

    response = is_authorized(request, entities, policies)

    def refs(ids: Sequence[str]) -> tuple[PolicyRef, ...]:
        return tuple(PolicyRef.of(pid, source_of(policies, pid)) for pid in ids)

    return AuthorizationResult(
        request=request, decision=response.decision, reasons=refs(response.reasons),
        errors=tuple(zip(refs([pid for pid, _ in response.errors]),
                         (message for _, message in response.errors), strict=True)),
        explanation=explain_request(request, entities, policies) if explain else None)


# --------------------------------------------------------------------------
# Analyses


class AnalysisOptions(TypedDict, total=False):
    """The keyword options of every analysis, with the command line's defaults."""

    timeout: float  # seconds per query (default DEFAULT_TIMEOUT_SECONDS)
    max_examples: int  # examples per environment (default 1)
    principal_type: str | None  # ask in these environments only
    action: str | None
    resource_type: str | None
    entities_exist: str | None  # "request" or "all": a stronger assumption (encoder.assumptions)
    jobs: int | None  # worker processes for the environments (default: this machine's cores)
    scheduler: str | None  # a Dask scheduler's address: the environments run on that cluster
    time_limit: float | None  # seconds for the whole analysis; what is left then is unknown
    validate: bool  # validate the policies first (default True); False states it among the assumptions
    assume: PolicySet | None  # @assume policies: facts about the user's world (analyzer.stated)


EXISTENCE = {"request": "request-entities-exist", "all": "entities-exist"}


def options(schema: Schema, **given: Unpack[AnalysisOptions]) -> Options:
    """The query options; a narrowing that selects no request environment
    of the schema is an error (a typo must not be "proved" vacuously)."""
    from cedarscope.analyzer.solving import environments

    principal_type, action, resource_type = (given.get("principal_type"), given.get("action"),
                                             given.get("resource_type"))
    existence = given.get("entities_exist")
    if existence is not None and existence not in EXISTENCE:
        raise ValueError(f"entities_exist must be one of {', '.join(EXISTENCE)}, not {existence!r}")
    jobs = given.get("jobs")
    if jobs is not None and jobs < 1:
        raise ValueError("jobs must be at least 1")
    timeout, time_limit = given.get("timeout", DEFAULT_TIMEOUT_SECONDS), given.get("time_limit")
    for name, seconds in (("timeout", timeout), ("time_limit", time_limit)):
        if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"{name} must be a finite positive number of seconds, not {seconds!r}")
    deadline = time.monotonic() + time_limit if time_limit is not None else None
    chosen = Options(timeout_seconds=timeout, deadline=deadline,
                     principal_type=principal_type, action=action, resource_type=resource_type,
                     max_examples=given.get("max_examples", 1),
                     assumptions=frozenset([EXISTENCE[existence]]) if existence else frozenset(),
                     jobs=jobs, scheduler=given.get("scheduler"))
    if (principal_type or action or resource_type) and not environments(schema, chosen):
        named = ", ".join(f"{name} {value}" for name, value in (
            ("principal type", principal_type), ("action", action), ("resource type", resource_type)) if value)
        known = "; ".join(f"{env.principal_type}, {env.action}, {env.resource_type}"
                          for env in schema.environments())
        raise ValueError(f"{named} selects no request environment of the schema (it has: {known or 'none'})")
    assume = given.get("assume")
    if assume is not None:  # proved not to make every answer vacuous, or CedarError
        from cedarscope.analyzer.stated import apply

        apply(schema, assume, chosen)
    return chosen


def valid_first(schema: Schema, sides: dict[str, PolicySet], given: AnalysisOptions) -> tuple[str, ...]:
    """Validate first, as every analysis command does: policies that fail
    strict validation raise CedarError with the validator's diagnostics.
    With ``validate=False`` they are analysed anyway, and the assumption
    returned says so (none when they validate)."""
    from cedarscope.analyzer.inputs import require_valid, unvalidated_assumption

    if given.get("validate", True):
        require_valid(schema, sides)
        return ()
    assumption = unvalidated_assumption(schema, sides, option="validate=False")
    return (assumption,) if assumption else ()


def _valid_query(ps: PolicySet, schema: Schema, what: str) -> None:
    """A question or @must property must validate, whatever `validate` says:
    a misspelt attribute would otherwise be a vacuous "never"."""
    from cedarscope.analyzer.inputs import require_valid_query

    require_valid_query(ps, schema, what)


def answered(report: Report, opts: Options, unvalidated: tuple[str, ...] = ()) -> Report:
    """The report, naming the assumptions its answers hold under: the
    stores covered, what the analysis says it did (templates), the facts
    the user stated, and policies analysed without validation."""
    from dataclasses import replace

    from cedarscope.encoder.assumptions import describe

    named = (*describe(opts.assumptions), *report.assumptions, *opts.stated_notes, *unvalidated)
    return replace(report, assumptions=tuple(dict.fromkeys(named)))


def check(policies: PolicySet, schema: Schema, properties: Sequence[str] = ("never-errors",), *,
          policy: str | None = None, must: PolicySet | None = None, **given: Unpack[AnalysisOptions]) -> Report:
    """Prove properties of the set (always-allows, always-denies,
    never-errors), or of one policy or link with `policy` (never-errors,
    never-matches, always-matches); `must` holds @must("never"/"always")
    properties written in Cedar."""
    from cedarscope.analyzer.checks import check_policy, check_set
    from cedarscope.analyzer.properties import check_properties

    unvalidated = valid_first(schema, {"policies": policies}, given)
    if must is not None:
        _valid_query(must, schema, "property")
    opts = options(schema, **given)
    allowed = POLICY_PROPERTIES if policy else SET_PROPERTIES
    wrong = [p for p in properties if p not in allowed]
    if wrong:
        raise ValueError(f"property {wrong[0]!r} is not one of {', '.join(allowed)}"
                         + (" (with a policy)" if policy else " (for a set)"))
    reports = []
    if properties:
        reports.append(check_policy(schema, policies, policy, properties, opts) if policy
                       else check_set(schema, policies, properties, opts))
    if must is not None:
        reports.append(check_properties(schema, policies, must, opts))
    return answered(merge("check", reports), opts, unvalidated)


def merge(command: str, reports: Sequence[Report]) -> Report:
    """One report from several (findings concatenated, worst verdict)."""
    from cedarscope.analyzer.solving import merged_stats, overall

    findings = tuple(f for r in reports for f in r.findings)
    assumptions = tuple(dict.fromkeys(a for r in reports for a in r.assumptions))
    return Report(command, overall(r.result for r in reports), findings, merged_stats([r.stats for r in reports]),
                  assumptions=assumptions)


def _relation(command: str, first: PolicySet, second: PolicySet, schema: Schema,
              given: AnalysisOptions) -> Report:
    from cedarscope.analyzer.checks import relation

    unvalidated = valid_first(schema, {"first": first, "second": second}, given)
    opts = options(schema, **given)
    return answered(relation(command, schema, first, second, opts), opts, unvalidated)


def equivalent(first: PolicySet, second: PolicySet, schema: Schema, **given: Unpack[AnalysisOptions]) -> Report:
    """Do the two sets decide every request alike?"""
    return _relation("equivalent", first, second, schema, given)


def implies(first: PolicySet, second: PolicySet, schema: Schema, **given: Unpack[AnalysisOptions]) -> Report:
    """Does every request the first set allows, the second allow too?"""
    return _relation("implies", first, second, schema, given)


def disjoint(first: PolicySet, second: PolicySet, schema: Schema, **given: Unpack[AnalysisOptions]) -> Report:
    """Is no request allowed by both sets?"""
    return _relation("disjoint", first, second, schema, given)


def _plan(schema: Schema, given: AnalysisOptions, describe_budget: float, matrix: bool) -> Options:
    from dataclasses import replace

    return replace(options(schema, **given), describe_seconds=describe_budget, matrix=matrix)


def diff(old: PolicySet, new: PolicySet, schema: Schema, *, fail_on: Sequence[str] | None = None,
         describe_budget: float = DEFAULT_DESCRIBE_SECONDS, matrix: bool = False,
         **given: Unpack[AnalysisOptions]) -> Report:
    """The change plan: one finding per change (gained or lost, per request
    environment) with the policies whose edit caused it, its exact
    description in Cedar and examples.  `fail_on` narrows the finding kinds
    that make `exit_code` 1; `describe_budget` is each description's search,
    in seconds of solver work (Z3 resource units: the same result under any
    load; see analyzer.describe); `matrix` adds the before/after access
    matrix (the command line computes it for --format html)."""
    from cedarscope.analyzer.checks import diff_report

    unvalidated = valid_first(schema, {"old": old, "new": new}, given)
    opts = _plan(schema, given, describe_budget, matrix)
    return answered(diff_report(schema, old, new, opts, fail_on=fail_on), opts, unvalidated)


def whatif(policies: PolicySet, schema: Schema, *, add: PolicySet | None = None, remove: Sequence[str] = (),
           fail_on: Sequence[str] | None = None, describe_budget: float = DEFAULT_DESCRIBE_SECONDS,
           matrix: bool = False, **given: Unpack[AnalysisOptions]) -> Report:
    """The change plan that adding `add`'s policies and removing the ids in
    `remove` would cause (as `diff`)."""
    from cedarscope.analyzer.whatif import changed
    from cedarscope.analyzer.whatif import whatif as run

    if add is None and not remove:
        raise ValueError("whatif needs policies to add and/or ids to remove")
    added = add or PolicySet(())
    unvalidated = valid_first(schema, {"old": policies, "new": changed(policies, added, remove)}, given)
    opts = _plan(schema, given, describe_budget, matrix)
    return answered(run(schema, policies, added, remove, opts, fail_on=fail_on), opts, unvalidated)


def audit(policies: PolicySet, schema: Schema, *, must: PolicySet | None = None,
          **given: Unpack[AnalysisOptions]) -> Report:
    """Dead, redundant, shadowed and overridden policies, forbids that may
    error (and so fail open), over-permissive permits; with `must`, the
    @must properties too."""
    from cedarscope.analyzer.audit import audit as run

    unvalidated = valid_first(schema, {"policies": policies}, given)
    if must is not None:
        _valid_query(must, schema, "property")
    opts = options(schema, **given)
    return answered(run(schema, policies, opts, must), opts, unvalidated)


def ask(policies: PolicySet, schema: Schema, question: str | Policy, *, enumerate: int | None = None,
        by: str = "principal", **given: Unpack[AnalysisOptions]) -> Report:
    """Can any request the question (a Cedar policy: scope and conditions)
    describes be allowed?  "violated" means yes, with examples; with
    `enumerate`, up to that many distinct principals (or resources, `by`)."""
    from cedarscope.analyzer.properties import ask as run

    if isinstance(question, str):
        from cedarscope.lang.parser import parse_policy

        question = parse_policy(question, "<question>")
    if by not in ("principal", "resource"):
        raise ValueError("by must be 'principal' or 'resource'")
    given["max_examples"] = enumerate or 1
    unvalidated = valid_first(schema, {"policies": policies}, given)
    _valid_query(PolicySet((("question", question),)), schema, "question")
    opts = options(schema, **given)
    return answered(run(schema, policies, question, opts, by if enumerate else None), opts, unvalidated)


def access(policies: PolicySet, schema: Schema, *, describe_budget: float = DEFAULT_DESCRIBE_SECONDS,
           **given: Unpack[AnalysisOptions]) -> AccessReport:
    """Who can do what: per request environment, whether the policies allow
    every request ("always"), some ("sometimes") or none ("never"), and for
    "sometimes" exactly which, as one Cedar policy (``row.description``);
    ``report.exit_code`` is 3 when some environment is unknown."""
    from dataclasses import replace

    from cedarscope.analyzer.access import access as run
    from cedarscope.analyzer.access import access_report
    from cedarscope.encoder.assumptions import describe

    unvalidated = valid_first(schema, {"policies": policies}, given)
    opts = replace(options(schema, **given), describe_seconds=describe_budget)
    return access_report(policies, run(schema, policies, opts),
                         (*describe(opts.assumptions), *opts.stated_notes, *unvalidated))
