"""The Python API: the command line's analyses as typed functions.

The command line's commands are thin layers over these functions: they
read their arguments and files, call the function here, and render what it
returns, so both give the same answers.  Each function takes parsed inputs
(load them with the `load_*` / `parse_*` functions) and returns what the matching command prints: a `Report` for the
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
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from cedarscope.analyzer.inputs import VALIDATE_HINT
from cedarscope.lang.ast import Policy, PolicySet
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.entities import Entities
from cedarscope.lang.request import Request
from cedarscope.lang.schema import Schema
from cedarscope.lang.values import EntityUID
from cedarscope.reports.findings import AuthorizationResult, Report

if TYPE_CHECKING:  # the solver loads when an analysis runs: validate and authorize never load it
    from cedarscope.analyzer.access import Focus
    from cedarscope.analyzer.solving import Options
    from cedarscope.reports.access import AccessReport
    from cedarscope.reports.counts import CountReport

PathLike = str | Path
# solving.DEFAULT_TIMEOUT_SECONDS and DEFAULT_DESCRIBE_SECONDS, written out:
# importing the solver here would load Z3 for validate and authorize
# (tests/test_api.py checks that they agree).
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_DESCRIBE_SECONDS = 5.0
MAX_DESCRIBE_SECONDS = 86_400.0  # a day of solver work per description: more is surely a typo
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
# Analyses: one wiring for Python and the command line
#
# Every analysis runs the same steps, in this order, whoever calls it (the
# command line's commands are thin layers over these functions): questions
# and properties validated; the policies validated first (`valid_first`);
# the options checked and built (`options`); the analysis; the assumptions
# named (`answered`); examples saved and confirmed; for audit and check,
# accepted findings set aside (`triaged`).


class OptionError(ValueError):
    """An option an analysis cannot take: a narrowing that selects no
    request environment, a property for the wrong subject, a policy id the
    set does not have.  With `option`, the error is about that option's
    value (the command line shows it as an invalid value of that flag)."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.message = message
        self.option = option


@dataclass(frozen=True)
class Spelling:
    """How the caller writes the options, for the messages and assumptions
    that name them: Python's keyword arguments (`PYTHON`), or the command
    line's flags.  `validate_hint` closes the validator's errors."""

    names: Mapping[str, str]
    validate_hint: str

    def __call__(self, keyword: str) -> str:
        return self.names.get(keyword, keyword)


PYTHON = Spelling({"validate": "validate=False"}, validate_hint=VALIDATE_HINT)


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
    deadline: float | None  # instead of time_limit: the `time.monotonic()` instant the analysis stops
    validate: bool  # validate the policies first (default True); False states it among the assumptions
    # @assume policies, facts about the user's world (analyzer.stated): a policy set, or .cedar files
    assume: PolicySet | Sequence[PathLike] | None
    spelling: Spelling  # how messages name the options (default PYTHON)


class ExampleOptions(AnalysisOptions, total=False):
    """The options of the analyses that show counterexamples."""

    save_examples: PathLike | None  # write each example as Cedar JSON under this folder
    confirm: bool  # replay each example with cedarpy, the official engine (stats say how many agreed)


class TriageOptions(ExampleOptions, total=False):
    """The options of the analyses whose findings are problems to fix
    (audit, check): findings a policy accepts with @suppress are always set
    aside; these set aside more (analyzer.triage)."""

    ignore: Collection[str]  # finding kinds not reported
    severities: Mapping[str, str] | None  # a severity per finding kind ("error" fails)
    baseline: PathLike | None  # report only findings not recorded in this baseline file


EXISTENCE = {"request": "request-entities-exist", "all": "entities-exist"}


def options(schema: Schema, **given: Unpack[AnalysisOptions]) -> Options:
    """The query options; a narrowing that selects no request environment
    of the schema is an error (a typo must not be "proved" vacuously)."""
    return _options(schema, given)


def _options(schema: Schema, given: AnalysisOptions) -> Options:
    from cedarscope.analyzer.solving import Options, environments

    principal_type, action, resource_type = (given.get("principal_type"), given.get("action"),
                                             given.get("resource_type"))
    existence = given.get("entities_exist")
    if existence is not None and existence not in EXISTENCE:
        raise OptionError(f"entities_exist must be one of {', '.join(EXISTENCE)}, not {existence!r}",
                          "entities_exist")
    jobs = given.get("jobs")
    if jobs is not None and jobs < 1:
        raise OptionError(f"jobs must be at least 1, not {jobs!r}", "jobs")
    chosen = Options(timeout_seconds=given.get("timeout", DEFAULT_TIMEOUT_SECONDS), deadline=_deadline(given),
                     principal_type=principal_type, action=action, resource_type=resource_type,
                     max_examples=given.get("max_examples", 1),
                     assumptions=frozenset([EXISTENCE[existence]]) if existence else frozenset(),
                     jobs=jobs, scheduler=given.get("scheduler"))
    if (principal_type or action or resource_type) and not environments(schema, chosen):
        raise _no_environment(schema, chosen, _spelling(given))
    assume = given.get("assume")
    if assume is not None:  # proved not to make every answer vacuous, or CedarError
        from cedarscope.analyzer.stated import apply

        stated, sources = _stated_policies(assume)
        apply(schema, stated, chosen, sources)
    return chosen


def _deadline(given: AnalysisOptions) -> float | None:
    """When the analysis stops: `deadline`, or `time_limit` seconds from now."""
    timeout, time_limit, deadline = (given.get("timeout", DEFAULT_TIMEOUT_SECONDS), given.get("time_limit"),
                                     given.get("deadline"))
    for name, seconds in (("timeout", timeout), ("time_limit", time_limit)):
        if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
            raise OptionError(f"{name} must be a finite positive number of seconds, not {seconds!r}", name)
    if time_limit is not None and deadline is not None:
        raise OptionError("give time_limit or deadline, not both")
    return time.monotonic() + time_limit if time_limit is not None else deadline


def _spelling(given: AnalysisOptions) -> Spelling:
    return given.get("spelling", PYTHON)


def _no_environment(schema: Schema, chosen: Options, spelled: Spelling) -> OptionError:
    """A narrowing that selects nothing: what was asked and what there is."""
    asked = (("principal_type", chosen.principal_type), ("action", chosen.action),
             ("resource_type", chosen.resource_type))
    named = ", ".join(f"{spelled(keyword)} {value[:60]}" for keyword, value in asked if value)
    envs = [f"{env.principal_type}, {env.action}, {env.resource_type}" for env in schema.environments()]
    known = "; ".join(envs[:8]) + (f"; and {len(envs) - 8} more" if len(envs) > 8 else "")
    return OptionError(f"{named} selects no request environment of the schema (it has: {known or 'none'})")


def _stated_policies(assume: PolicySet | Sequence[PathLike]) -> tuple[PolicySet, dict[str, str]]:
    """The @assume policies, and the text of the files they come from."""
    if isinstance(assume, PolicySet):
        return assume, {}
    from cedarscope.lang.files import read_text
    from cedarscope.lang.parser import parse_policies

    paths = [Path(assume)] if isinstance(assume, str | Path) else [Path(p) for p in assume]
    texts = {str(path): read_text(path) for path in paths}
    parsed = [parse_policies(text, name) for name, text in texts.items()]
    return PolicySet(tuple(x for p in parsed for x in p.policies),
                     tuple(link for p in parsed for link in p.links)), texts


def valid_first(schema: Schema, sides: dict[str, PolicySet], given: AnalysisOptions) -> tuple[str, ...]:
    """Validate first, as every analysis does: policies that fail strict
    validation raise CedarError with the validator's diagnostics.  With
    ``validate=False`` they are analysed anyway, and the assumption
    returned says so (none when they validate)."""
    from cedarscope.analyzer.inputs import require_valid, unvalidated_assumption

    spelled = _spelling(given)
    if given.get("validate", True):
        require_valid(schema, sides, hint=spelled.validate_hint)
        return ()
    assumption = unvalidated_assumption(schema, sides, option=spelled("validate"))
    return (assumption,) if assumption else ()


def _valid_query(ps: PolicySet, schema: Schema, what: str, sources: Mapping[str, str] | None = None) -> None:
    """A question or @must property must validate, whatever `validate` says:
    a misspelt attribute would otherwise be a vacuous "never"."""
    from cedarscope.analyzer.inputs import require_valid_query

    require_valid_query(ps, schema, what, sources)


def answered(report: Report, opts: Options, unvalidated: tuple[str, ...] = ()) -> Report:
    """The report, naming the assumptions its answers hold under: the
    stores covered, what the analysis says it did (templates), the facts
    the user stated, and policies analysed without validation."""
    from dataclasses import replace

    from cedarscope.encoder.assumptions import describe

    named = (*describe(opts.assumptions), *report.assumptions, *opts.stated_notes)
    return replace(report, assumptions=(*dict.fromkeys(named), *unvalidated))


def _shown(report: Report, schema: Schema, sides: Mapping[str, PolicySet], given: ExampleOptions) -> Report:
    """The report once its examples are saved and confirmed, as asked."""
    folder = given.get("save_examples")
    if folder is not None:
        from cedarscope.analyzer.confirm import save_examples

        save_examples(report, Path(folder))
    if given.get("confirm", False):
        from cedarscope.analyzer.confirm import confirm_report

        report = confirm_report(report, schema, sides)
    return report


def _triaged(report: Report, policies: PolicySet, given: TriageOptions) -> Report:
    """The report with accepted findings set aside: @suppress, ignored
    kinds, a baseline's findings (analyzer.triage)."""
    from cedarscope.analyzer.triage import triage

    baseline = given.get("baseline")
    return triage(report, [policies], ignore=given.get("ignore", ()), severities=given.get("severities"),
                  baseline=Path(baseline) if baseline is not None else None)


def check(policies: PolicySet, schema: Schema, properties: Sequence[str] = ("never-errors",), *,
          policy: str | None = None, must: PolicySet | None = None, **given: Unpack[TriageOptions]) -> Report:
    """Prove properties of the set (always-allows, always-denies,
    never-errors), or of one policy or link with `policy` (never-errors,
    never-matches, always-matches); `must` holds @must("never"/"always")
    properties written in Cedar."""
    from cedarscope.analyzer.checks import check_policy, check_set
    from cedarscope.analyzer.properties import check_properties

    if must is not None:
        _valid_query(must, schema, "property")
    unvalidated = valid_first(schema, {"policies": policies}, given)
    opts = _options(schema, given)
    _check_properties(properties, policy, _spelling(given))
    if policy is not None:
        _require_evaluable(policies, policy)
    reports = []
    if properties:
        reports.append(check_policy(schema, policies, policy, properties, opts) if policy is not None
                       else check_set(schema, policies, properties, opts))
    if must is not None:
        reports.append(check_properties(schema, policies, must, opts))
    report = _shown(answered(merge("check", reports), opts, unvalidated), schema, {"policies": policies}, given)
    return _triaged(report, policies, given)


def _check_properties(properties: Sequence[str], policy: str | None, spelled: Spelling) -> None:
    """Set properties are for the whole set, policy properties for `policy`."""
    allowed, other = (POLICY_PROPERTIES, SET_PROPERTIES) if policy is not None else (SET_PROPERTIES,
                                                                                    POLICY_PROPERTIES)
    wrong = [p for p in properties if p not in allowed]
    if not wrong:
        return
    if wrong[0] not in other:
        raise OptionError(f"property {wrong[0]!r} is not one of {', '.join(dict.fromkeys(allowed + other))}")
    if policy is not None:
        raise OptionError(f"{spelled('property')} {wrong[0]} is a set property; drop {spelled('policy')}")
    raise OptionError(f"{spelled('property')} {wrong[0]} needs {spelled('policy')} ID")


def _require_evaluable(policies: PolicySet, policy_id: str) -> None:
    """`policy` names a static policy or a template link; a template is
    never evaluated on its own (Cedar evaluates its links)."""
    policy = policies.get(policy_id)
    if policy is not None and policy.is_template:
        links = sorted(link.link_id for link in policies.links if link.template_id == policy_id)
        hint = f"; check one of its links: {', '.join(links)}" if links else " and has no links"
        raise OptionError(f"policy {policy_id!r} is a template{hint}")
    _require_known(policies, policy_id, "policy")


def _require_known(policies: PolicySet, policy_id: str, option: str) -> None:
    """`policy_id` names a policy, template or link of the set; if not, the
    error names the nearest ids (or the set's first ids) to pick from."""
    import difflib

    ids = [*policies.ids, *(link.link_id for link in policies.links)]
    if policy_id in ids:
        return
    near = difflib.get_close_matches(policy_id, ids, n=3)
    if near:
        hint = f"; did you mean {', '.join(repr(i) for i in near)}?"
    else:
        hint = f"; the ids are {', '.join(ids[:8])}{f' and {len(ids) - 8} more' if len(ids) > 8 else ''}"
    raise OptionError(f"no policy with id {policy_id!r}{hint if ids else ' (the set is empty)'}", option)


def merge(command: str, reports: Sequence[Report]) -> Report:
    """One report from several (findings concatenated, worst verdict)."""
    from cedarscope.analyzer.solving import merged_stats, overall

    findings = tuple(f for r in reports for f in r.findings)
    assumptions = tuple(dict.fromkeys(a for r in reports for a in r.assumptions))
    return Report(command, overall(r.result for r in reports), findings, merged_stats([r.stats for r in reports]),
                  assumptions=assumptions)


def _relation(command: str, first: PolicySet, second: PolicySet, schema: Schema,
              given: ExampleOptions) -> Report:
    from cedarscope.analyzer.checks import relation

    sides = {"first": first, "second": second}
    unvalidated = valid_first(schema, sides, given)
    opts = _options(schema, given)
    return _shown(answered(relation(command, schema, first, second, opts), opts, unvalidated), schema, sides, given)


def equivalent(first: PolicySet, second: PolicySet, schema: Schema, **given: Unpack[ExampleOptions]) -> Report:
    """Do the two sets decide every request alike?"""
    return _relation("equivalent", first, second, schema, given)


def implies(first: PolicySet, second: PolicySet, schema: Schema, **given: Unpack[ExampleOptions]) -> Report:
    """Does every request the first set allows, the second allow too?"""
    return _relation("implies", first, second, schema, given)


def disjoint(first: PolicySet, second: PolicySet, schema: Schema, **given: Unpack[ExampleOptions]) -> Report:
    """Is no request allowed by both sets?"""
    return _relation("disjoint", first, second, schema, given)


def _plan(schema: Schema, given: AnalysisOptions, describe_budget: float, matrix: bool) -> Options:
    from dataclasses import replace

    return replace(_options(schema, given), describe_seconds=_describe_seconds(describe_budget), matrix=matrix)


def _describe_seconds(budget: float) -> float:
    """A description's budget: a finite number of seconds of solver work
    (it becomes a whole count of Z3 resource units), 0 for none."""
    if not (isinstance(budget, (int, float)) and math.isfinite(budget) and 0 <= budget <= MAX_DESCRIBE_SECONDS):
        raise OptionError(f"{budget!r} is not a number of seconds from 0 to {MAX_DESCRIBE_SECONDS:g}",
                          "describe_budget")
    return float(budget)


def diff(old: PolicySet, new: PolicySet, schema: Schema, *, fail_on: Collection[str] | None = None,
         describe_budget: float = DEFAULT_DESCRIBE_SECONDS, matrix: bool = False,
         **given: Unpack[ExampleOptions]) -> Report:
    """The change plan: one finding per change (gained or lost, per request
    environment) with the policies whose edit caused it, its exact
    description in Cedar and examples.  `fail_on` narrows the finding kinds
    that make `exit_code` 1; `describe_budget` is each description's search,
    in seconds of solver work (Z3 resource units: the same result under any
    load; see analyzer.describe); `matrix` adds the before/after access
    matrix (the command line computes it for --format html)."""
    from cedarscope.analyzer.checks import diff_report

    sides = {"old": old, "new": new}
    unvalidated = valid_first(schema, sides, given)
    opts = _plan(schema, given, describe_budget, matrix)
    return _shown(answered(diff_report(schema, old, new, opts, fail_on=fail_on), opts, unvalidated),
                  schema, sides, given)


def whatif(policies: PolicySet, schema: Schema, *, add: PolicySet | None = None, remove: Sequence[str] = (),
           fail_on: Collection[str] | None = None, describe_budget: float = DEFAULT_DESCRIBE_SECONDS,
           matrix: bool = False, **given: Unpack[ExampleOptions]) -> Report:
    """The change plan that adding `add`'s policies and removing the ids in
    `remove` would cause (as `diff`)."""
    from cedarscope.analyzer.whatif import changed
    from cedarscope.analyzer.whatif import whatif as run

    if add is None and not remove:
        raise OptionError("whatif needs policies to add and/or ids to remove")
    for policy_id in remove:
        _require_known(policies, policy_id, "remove")
    added = add or PolicySet(())
    sides = {"old": policies, "new": changed(policies, added, remove)}
    unvalidated = valid_first(schema, sides, given)
    opts = _plan(schema, given, describe_budget, matrix)
    return _shown(answered(run(schema, policies, added, remove, opts, fail_on=fail_on), opts, unvalidated),
                  schema, sides, given)


def audit(policies: PolicySet, schema: Schema, *, must: PolicySet | None = None, strict: bool = False,
          progress: Callable[[int, int], None] | None = None, **given: Unpack[TriageOptions]) -> Report:
    """Dead, redundant, shadowed and overridden policies, forbids that may
    error (and so fail open), over-permissive permits; with `must`, the
    @must properties too; with `strict`, permits granting every resource of
    a type are over-permissive too.  `progress(done, total)` is called as
    environments finish."""
    from cedarscope.analyzer.audit import audit as run

    if must is not None:
        _valid_query(must, schema, "property")
    unvalidated = valid_first(schema, {"policies": policies}, given)
    opts = _options(schema, given)
    report = run(schema, policies, opts, must, progress=progress, strict=strict)
    report = _shown(answered(report, opts, unvalidated), schema, {"policies": policies}, given)
    return _triaged(report, policies, given)


def ask(policies: PolicySet, schema: Schema, question: str | Policy, *, enumerate: int | None = None,
        by: str = "principal", **given: Unpack[ExampleOptions]) -> Report:
    """Can any request the question (a Cedar policy: scope and conditions)
    describes be allowed?  "violated" means yes, with examples; with
    `enumerate`, up to that many distinct principals (or resources, `by`)."""
    from cedarscope.analyzer.properties import ask as run

    if by not in ("principal", "resource"):
        raise OptionError("by must be 'principal' or 'resource'", "by")
    sources: dict[str, str] = {}
    if isinstance(question, str):
        from cedarscope.lang.parser import parse_policy

        sources = {"<question>": question}
        question = parse_policy(question, "<question>")
    _a_permit_question(question, sources)
    _valid_query(PolicySet((("question", question),)), schema, "question", sources)
    given["max_examples"] = enumerate or 1
    unvalidated = valid_first(schema, {"policies": policies}, given)
    opts = _options(schema, given)
    report = run(schema, policies, question, opts, by if enumerate else None)
    return _shown(answered(report, opts, unvalidated), schema, {"policies": policies}, given)


def _a_permit_question(question: Policy, sources: Mapping[str, str]) -> None:
    """A question describes the requests it asks about as a `permit`: its
    effect is not read, so a `forbid` (meaning, perhaps, "is any of these
    denied?") would be answered as if it were a permit."""
    if question.effect == "permit":
        return
    span = question.span
    file = span.file if span and span.file else "<question>"
    line, column = (span.line, span.column) if span else (None, None)
    lines = sources.get(file, "").splitlines()
    raise CedarError(Diagnostic(
        "a question must be written `permit (...)`, not `forbid`: it describes the requests asked about, "
        "and the answer says whether the policies allow any of them", file=file, line=line, column=column,
        source_line=lines[line - 1] if line and line <= len(lines) else None))


# --------------------------------------------------------------------------
# Who can do what


def access(policies: PolicySet, schema: Schema, *, describe_budget: float = DEFAULT_DESCRIBE_SECONDS,
           principal: EntityUID | str | None = None, resource: EntityUID | str | None = None,
           entities: Entities | PathLike | None = None, **given: Unpack[AnalysisOptions]) -> AccessReport:
    """Who can do what: per request environment, whether the policies allow
    every request ("always"), some ("sometimes") or none ("never"), and for
    "sometimes" exactly which, as one Cedar policy (``row.description``);
    ``report.exit_code`` is 3 when some environment is unknown.  With
    `principal` (or `resource`) and the entity store `entities`, that one
    entity's effective access over the store."""
    from dataclasses import replace

    from cedarscope.analyzer.access import access as run
    from cedarscope.analyzer.access import access_report
    from cedarscope.analyzer.solving import environments
    from cedarscope.encoder.assumptions import describe

    unvalidated = valid_first(schema, {"policies": policies}, given)
    focus = _focus(schema, principal, resource, entities, _spelling(given))
    opts = replace(_options(schema, given), describe_seconds=_describe_seconds(describe_budget))
    if focus is not None and not any(focus.applies(env) for env in environments(schema, opts)):
        raise OptionError(f"no request environment of the schema (as narrowed) has a {focus.var} of type "
                          f"{focus.uid.type}")
    # over a fixed store, the assumptions about which stores are covered say nothing
    covered = describe(opts.assumptions) if focus is None else ()
    return access_report(policies, run(schema, policies, opts, focus),
                         (*covered, *opts.stated_notes, *unvalidated), focus)


def _focus(schema: Schema, principal: EntityUID | str | None, resource: EntityUID | str | None,
           entities: Entities | PathLike | None, spelled: Spelling) -> Focus | None:
    """The entity whose access is asked about, over the `entities` store
    (None without `principal` or `resource`)."""
    from cedarscope.analyzer.access import Focus

    if principal is not None and resource is not None:
        raise OptionError(f"give one of {spelled('principal')} and {spelled('resource')}")
    if principal is None and resource is None:
        if entities is not None:
            raise OptionError(f"{spelled('entities')} is the store for {spelled('principal')} or "
                              f"{spelled('resource')}; give one of them")
        return None
    var, given = ("principal", principal) if principal is not None else ("resource", resource)
    if entities is None:
        raise OptionError(f"{spelled(var)} needs {spelled('entities')}: the store it reads the {var}'s data from")
    uid = given if isinstance(given, EntityUID) else _entity_uid(str(given), var, spelled)
    store, name = (entities, "the entity store") if isinstance(entities, Entities) else (
        load_entities(entities, schema), str(entities))
    if not any(e.uid == uid for e in store):
        raise OptionError(f"{spelled(var)} {uid} is not in {name}")
    return Focus(var, uid, store, name)


def _entity_uid(text: str, option: str, spelled: Spelling) -> EntityUID:
    from cedarscope.lang.parser import parse_entity_uid

    try:
        return parse_entity_uid(text, spelled(option))
    except CedarError as err:
        raise OptionError(err.diagnostics[0].message if err.diagnostics else "not an entity", option) from None


def count(policies: PolicySet, schema: Schema, *, entities: Entities | PathLike | None = None,
          per_type: int | None = None, old: PolicySet | None = None, cap: int = 1000,
          **given: Unpack[AnalysisOptions]) -> CountReport:
    """How many requests of a bounded universe the policies allow (and,
    with `old`, how many the change from `old` gains and loses), per
    environment: exact, or a lower bound once `cap` (per environment and
    kind) or the time budget is reached.  The universe is the entity store
    `entities`, or `per_type` entities of each type in any store."""
    from dataclasses import replace

    from cedarscope.analyzer.counting import Universe
    from cedarscope.analyzer.counting import count as run
    from cedarscope.encoder.assumptions import describe

    if (entities is None) == (per_type is None):
        raise OptionError("give the universe as exactly one of entities and per_type")
    sides = {"policies": policies, **({"old": old} if old is not None else {})}
    unvalidated = valid_first(schema, sides, given)
    opts = _options(schema, given)
    if isinstance(entities, Entities):
        universe = Universe.of_store(entities)
    elif entities is not None:
        universe = Universe.of_store(load_entities(entities, schema), str(entities))
    else:
        universe = Universe.generic(per_type or 0)
    report = run(schema, policies, universe, opts, old, cap)
    return replace(report, assumptions=(*describe(opts.assumptions), *opts.stated_notes, *unvalidated))
