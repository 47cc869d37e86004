"""The analysis commands of the `cedarscope` command line: check,
equivalent, implies, disjoint, diff, audit, ask, whatif.

Each reads its inputs, asks `analyzer`, and hands the Report to
`emit_report`, which renders it and exits with the verdict's code
(0 holds / no findings, 1 violated / findings, 3 unknown).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cedarscope.analyzer.cli import (
    cli,
    emit_report,
    existing_file,
    format_option,
    load_policy_sources,
    policy_sources_argument,
    read_json,
    read_text,
    run_started,
    schema_option,
    timeout_option,
)
from cedarscope.analyzer.workflow import (
    INFERRED,
    baseline_options,
    finish,
    save_schema_option,
    schema_for,
)
from cedarscope.encoder import assumptions
from cedarscope.lang.links import with_links

if TYPE_CHECKING:  # the solver is imported by the command that runs, not by --help
    from cedarscope.analyzer.solving import Options

SET_PROPERTY_NAMES = ("always-allows", "always-denies", "never-errors")
POLICY_PROPERTY_NAMES = ("never-errors", "never-matches", "always-matches")


def nonempty(ctx, param, value):
    """An option given as "" (or spaces) is a usage error, never "no filter"."""
    values = value if isinstance(value, tuple) else (value,)
    if any(v is not None and not v.strip() for v in values):
        raise click.BadParameter("must not be empty", ctx=ctx, param=param)
    return value


def environment_options(f):
    """--principal-type / --action / --resource-type: ask in one environment."""
    f = click.option("--resource-type", callback=nonempty, help="Only the environments with this resource type.")(f)
    f = click.option("--action", callback=nonempty,
                     help='Only the environments of this action (`view` or `Action::"view"`).')(f)
    f = click.option("--principal-type", callback=nonempty,
                     help="Only the environments with this principal type.")(f)
    return f


def example_options(f):
    """--save-examples DIR / --confirm: every command that shows counterexamples."""
    f = click.option("--confirm", is_flag=True,
                     help="Also replay every example with cedarpy (the official engine).")(f)
    f = click.option("--save-examples", type=click.Path(file_okay=False, path_type=Path),
                     help="Write each example as Cedar JSON request.json + entities.json under DIR.")(f)
    return f


def assumption_option(f):
    """--entities-exist request|all: an assumption stronger than Cedar's own
    (encoder.assumptions).  It is kept in the click context, where `_options`
    and `_after_examples` read it, so the answers and the report's list of
    assumptions cannot disagree."""
    return click.option(
        "--entities-exist", type=click.Choice(list(_EXISTENCE)), expose_value=False,
        callback=lambda ctx, _param, which: ctx.meta.__setitem__(
            _ASSUMED, frozenset([_EXISTENCE[which]]) if which else frozenset()),
        help="Assume these entities are in every entity store: 'request' (the principal and the "
             "resource), 'all' (every entity the policies read, as Cedar's symbolic compiler "
             "assumes). Default: only what Cedar enforces (any entity may be missing).")(f)


_EXISTENCE = {"request": assumptions.REQUEST_ENTITIES_EXIST, "all": assumptions.ENTITIES_EXIST}
_ASSUMED = "cedarscope.assumptions"


def _assumed() -> frozenset[str]:
    return click.get_current_context().meta.get(_ASSUMED, frozenset())


def stated_assumption_option(f):
    """--assume FILE (repeatable): facts about the user's world, written as
    @assume policies (analyzer.stated).  The files are kept in the click
    context, where `_options` reads them and `_after_examples` names them in
    the report, so the answers and the report's assumptions cannot disagree."""
    return click.option(
        "--assume", type=existing_file, multiple=True, expose_value=False,
        callback=lambda ctx, _param, paths: ctx.meta.__setitem__(_STATED_FILES, tuple(paths)),
        help="A file of @assume policies (repeatable): `@assume permit (SCOPE) when { C };` states that "
             "every request in SCOPE satisfies C; `@assume forbid (SCOPE) when { C };` that none does. "
             "Every answer then holds for the requests and stores of that world.")(f)


_STATED_FILES = "cedarscope.stated-files"
_STATED_NOTES = "cedarscope.stated-notes"


def _with_stated(schema, options: Options) -> Options:
    """The options with the --assume files' assumptions, once they are
    proved not to make every answer vacuous (else bad input, exit 2)."""
    from cedarscope.analyzer import stated
    from cedarscope.lang.ast import PolicySet

    ctx = click.get_current_context()
    files = ctx.meta.get(_STATED_FILES, ())
    if not files:
        return options
    parsed = [_parse_policy_file(path) for path in files]
    ps = PolicySet(tuple(x for p in parsed for x in p.policies), tuple(link for p in parsed for link in p.links))
    stated.apply(schema, ps, options, {str(path): read_text(path) for path in files})
    ctx.meta[_STATED_NOTES] = options.stated_notes
    return options


def _options(schema, timeout: float, principal_type=None, action=None, resource_type=None,
             max_examples: int = 1, time_limit: float | None = None) -> Options:
    """The query options; a narrowing that selects no environment of the
    schema is a usage error (a typo must not be "proved" vacuously).  The
    time limit counts from the start of the run."""
    from cedarscope.analyzer.solving import Options, environments

    meta = click.get_current_context().meta  # --jobs, --scheduler (cli.parallel_options)
    deadline = run_started() + time_limit if time_limit is not None else None
    options = Options(timeout_seconds=timeout, principal_type=principal_type, action=action,
                      resource_type=resource_type, max_examples=max_examples, deadline=deadline,
                      assumptions=_assumed(), jobs=meta.get("cedarscope.jobs"),
                      scheduler=meta.get("cedarscope.scheduler"))
    if (principal_type or action or resource_type) and not environments(schema, options):
        given = ", ".join(f"{flag} {value[:60]}" for flag, value in (
            ("--principal-type", principal_type), ("--action", action),
            ("--resource-type", resource_type)) if value)
        envs = [f"{env.principal_type}, {env.action}, {env.resource_type}" for env in schema.environments()]
        known = "; ".join(envs[:8]) + (f"; and {len(envs) - 8} more" if len(envs) > 8 else "")
        raise click.UsageError(f"{given} selects no request environment of the schema "
                               f"(it has: {known or 'none'})")
    return _with_stated(schema, options)


def links_option(f):
    """--links FILE: template links in Cedar's link format."""
    return click.option("--links", "links_path", type=existing_file,
                        help='Template links: [{"template_id": .., "link_id": .., "args": '
                             '{"?principal": "User::\\"a\\""}}].')(f)


def _load_sources(specs, links_path: Path | None = None):
    """The policies of `specs`, with the template links of `links_path`."""
    ps = load_policy_sources(specs)
    if links_path is not None:
        ps = with_links(ps, read_json(links_path), str(links_path))
    return ps


def _parse_policy_file(path: Path):
    from cedarscope.lang.parser import parse_policies
    return parse_policies(read_text(path), str(path))


def validation_option(f):
    """--no-validate: analyse policies that fail strict validation."""
    return click.option("--no-validate", "no_validate", is_flag=True,
                        help="Analyse the policies even if they fail strict validation against the schema "
                             "(the report lists this among its assumptions). By default such policies are "
                             "an error (exit 2) and nothing is answered.")(f)


def _require_valid(schema, sides: dict, no_validate: bool) -> tuple[str, ...]:
    """Validate first: every side's policies pass strict validation, or the
    validator's errors are the answer (exit 2).  With --no-validate, the
    assumptions the report must then state."""
    from cedarscope.analyzer.inputs import VALIDATE_HINT, require_valid, unvalidated_assumption

    if no_validate:
        assumption = unvalidated_assumption(schema, sides)
        return (assumption,) if assumption else ()
    require_valid(schema, sides, hint=f"{VALIDATE_HINT} (`cedarscope validate` lists them), or pass "
                                      "--no-validate to analyse them anyway (the report will say so)")
    return ()


def _assuming(report, more: tuple[str, ...]):
    """The report with the assumptions `more` stated too."""
    from dataclasses import replace

    return replace(report, assumptions=(*report.assumptions, *more)) if more else report


def _stated(unvalidated: tuple[str, ...], inferred: bool) -> tuple[str, ...]:
    """What a report must state beyond the defaults: policies analysed
    without validation, a schema inferred rather than given."""
    return (*unvalidated, INFERRED) if inferred else unvalidated


def _parse_properties(path: Path, schema):
    """A properties file, validated against the schema."""
    from cedarscope.analyzer.inputs import require_valid_query

    ps = _parse_policy_file(path)
    require_valid_query(ps, schema, "property", {str(path): read_text(path)})
    return ps


def _parse_question(text: str, schema):
    """`ask`'s question: one policy, validated against the schema."""
    from cedarscope.analyzer.inputs import require_valid_query
    from cedarscope.lang.ast import PolicySet
    from cedarscope.lang.parser import parse_policy

    question = parse_policy(text, "<question>")
    require_valid_query(PolicySet((("question", question),)), schema, "question", {"<question>": text})
    return question


# --------------------------------------------------------------------------
# check


@cli.command()
@policy_sources_argument()
@schema_option(required=False)
@save_schema_option
@baseline_options
@click.option("--property", "-P", "props", multiple=True,
              type=click.Choice(sorted(set(SET_PROPERTY_NAMES) | set(POLICY_PROPERTY_NAMES))),
              help="A property to check (repeatable). Default: never-errors.")
@click.option("--policy", "policy_id", callback=nonempty,
              help="Check one policy or template link (by id) instead of the whole set.")
@links_option
@click.option("--properties", "properties_path", type=existing_file,
              help='A file of @must("never") / @must("always") properties written in Cedar.')
@environment_options
@assumption_option
@stated_assumption_option
@example_options
@validation_option
@format_option()
@timeout_option()
def check(policies, schema_path, save_schema_path, baseline_path, write_baseline_path, props, policy_id, links_path,
          properties_path, principal_type, action, resource_type, save_examples, confirm, no_validate, fmt, timeout,
          time_limit):
    """Prove a property of a policy set (or of one policy), or show a counterexample.

    \b
    Set properties:    always-allows, always-denies, never-errors
    Policy properties: never-errors, never-matches, always-matches (with --policy)
    With --properties FILE, every @must property in FILE is checked too.
    """
    from cedarscope.analyzer.checks import check_policy, check_set
    from cedarscope.analyzer.properties import check_properties

    ps = _load_sources(policies, links_path)
    schema, inferred = schema_for(schema_path, [ps], save_schema_path)
    properties = _parse_properties(properties_path, schema) if properties_path else None
    unvalidated = _require_valid(schema, {"policies": ps}, no_validate)
    options = _options(schema, timeout, principal_type, action, resource_type, time_limit=time_limit)
    props = props or (() if properties_path else ("never-errors",))
    reports = []
    if policy_id:
        bad = [p for p in props if p not in POLICY_PROPERTY_NAMES]
        if bad:
            raise click.UsageError(f"--property {bad[0]} is a set property; drop --policy")
        _require_evaluable(ps, policy_id)
        if props:
            reports.append(check_policy(schema, ps, policy_id, props, options))
    elif props:
        bad = [p for p in props if p not in SET_PROPERTY_NAMES]
        if bad:
            raise click.UsageError(f"--property {bad[0]} needs --policy ID")
        reports.append(check_set(schema, ps, props, options))
    if properties is not None:
        reports.append(check_properties(schema, ps, properties, options))
    report = _after_examples(_merge("check", reports), schema, {"policies": ps}, save_examples, confirm)
    finish(_assuming(report, unvalidated), [ps], fmt, inferred=inferred, baseline_path=baseline_path,
           write_baseline_path=write_baseline_path)


def _require_evaluable(ps, policy_id: str) -> None:
    """`--policy` names a static policy or a template link; a template is
    never evaluated on its own (Cedar evaluates its links)."""
    policy = ps.get(policy_id)
    if policy is not None and policy.is_template:
        links = sorted(link.link_id for link in ps.links if link.template_id == policy_id)
        hint = f"; check one of its links: {', '.join(links)}" if links else " and has no links"
        raise click.UsageError(f"policy {policy_id!r} is a template{hint}")
    if policy is None and all(link.link_id != policy_id for link in ps.links):
        raise click.UsageError(f"no policy with id {policy_id!r}")


def _merge(command: str, reports):
    """One report from several (findings concatenated, worst verdict)."""
    from cedarscope.analyzer.solving import merged_stats, overall
    from cedarscope.reports.findings import Report

    findings = tuple(f for r in reports for f in r.findings)
    assumptions = tuple(dict.fromkeys(a for r in reports for a in r.assumptions))
    return Report(command, overall(r.result for r in reports), findings, merged_stats([r.stats for r in reports]),
                  assumptions=assumptions)


# --------------------------------------------------------------------------
# equivalent, implies, disjoint


def _relation_command(name: str, summary: str):
    @cli.command(name, help=summary)
    @click.argument("first", type=str)
    @click.argument("second", type=str)
    @schema_option(required=False)
    @save_schema_option
    @click.option("--links", "links_path", type=existing_file,
                  help="Template links (Cedar's link format), applied to both sets.")
    @environment_options
    @assumption_option
    @stated_assumption_option
    @click.option("--max-examples", default=1, show_default=True, type=click.IntRange(1, 1000),
                  help="Counterexamples per environment.")
    @example_options
    @validation_option
    @format_option()
    @timeout_option()
    def command(first, second, schema_path, save_schema_path, links_path, principal_type, action, resource_type,
                max_examples, save_examples, confirm, no_validate, fmt, timeout, time_limit):
        from cedarscope.analyzer.checks import relation

        a, b = _load_sources([first], links_path), _load_sources([second], links_path)
        schema, inferred = schema_for(schema_path, [a, b], save_schema_path)
        unvalidated = _require_valid(schema, {"first": a, "second": b}, no_validate)
        options = _options(schema, timeout, principal_type, action, resource_type, max_examples,
                           time_limit=time_limit)
        report = relation(name, schema, a, b, options)
        report = _after_examples(report, schema, {"first": a, "second": b}, save_examples, confirm)
        emit_report(_assuming(report, _stated(unvalidated, inferred)), fmt)

    return command


_relation_command("equivalent", "Prove that FIRST and SECOND decide every request alike, or show one they "
                  "decide differently. FIRST and SECOND are .cedar files, folders, or git:REV:path.")
_relation_command("implies", "Prove that every request FIRST allows, SECOND allows too, or show one it "
                  "does not.")
_relation_command("disjoint", "Prove that no request is allowed by both FIRST and SECOND, or show one.")


# --------------------------------------------------------------------------
# diff, whatif


def fail_on_option(f):
    """--fail-on KINDS: which finding kinds make the exit code 1."""
    from cedarscope.reports.findings import FINDING_KINDS

    def parse(ctx, param, value):
        if value is None:
            return None
        kinds = [k.strip() for k in value.split(",") if k.strip()]
        bad = [k for k in kinds if k not in FINDING_KINDS]
        if bad:
            raise click.BadParameter(f"unknown finding kind {bad[0]!r}; expected some of "
                                     f"{', '.join(FINDING_KINDS)}")
        return frozenset(kinds)

    return click.option("--fail-on", "fail_on", callback=parse, metavar="KINDS",
                        help="Comma-separated finding kinds that make the exit code 1, e.g. gained,lost "
                             "(default: any finding); the others are still reported.")(f)


def plan_options(f):
    """The change plan's options: examples per change, --fail-on, the
    description budget and the access matrix."""
    f = click.option("--matrix", is_flag=True,
                     help="Also compute the before/after access matrix (always on for --format html).")(f)
    # The default is solving.DEFAULT_DESCRIBE_SECONDS, written out: importing
    # the solver here would load Z3 for --help (tests/test_plan.py checks it).
    f = click.option("--describe-budget", type=click.FloatRange(min=0), default=5.0, show_default=True,
                     help="Budget for each change's readable description, in seconds of solver work "
                          "(counted in Z3 resource units, so the same on any machine load; "
                          "0: structural form only).")(f)
    f = fail_on_option(f)
    f = click.option("--max-examples", default=1, show_default=True, type=click.IntRange(1, 1000),
                     help="Examples per change; more differ in what the policies read.")(f)
    return f


def _plan_options(schema, timeout, principal_type, action, resource_type, max_examples, describe_budget,
                  matrix, fmt, time_limit) -> Options:
    from dataclasses import replace

    options = _options(schema, timeout, principal_type, action, resource_type, max_examples, time_limit=time_limit)
    return replace(options, describe_seconds=describe_budget, matrix=matrix or fmt == "html")


@cli.command()
@click.argument("old", type=str)
@click.argument("new", type=str)
@schema_option(required=False)
@save_schema_option
@click.option("--links", "links_path", type=existing_file,
              help="Template links (Cedar's link format), applied to both versions.")
@environment_options
@assumption_option
@stated_assumption_option
@plan_options
@example_options
@validation_option
@format_option()
@timeout_option()
def diff(old, new, schema_path, save_schema_path, links_path, principal_type, action, resource_type, max_examples,
         fail_on, describe_budget, matrix, save_examples, confirm, no_validate, fmt, timeout, time_limit):
    """The change plan: each request environment where NEW allows requests
    OLD denied (gained) or the reverse (lost), with the policies whose edit
    caused it, the exact set of requests as one Cedar policy, and an example.

    OLD and NEW are .cedar files, folders of them, or git:REV:path (a file or
    folder as it was at a git revision), e.g.  cedarscope diff git:HEAD:policies policies
    """
    from cedarscope.analyzer.checks import diff_report

    old_ps, new_ps = _load_sources([old], links_path), _load_sources([new], links_path)
    schema, inferred = schema_for(schema_path, [new_ps, old_ps], save_schema_path)
    unvalidated = _require_valid(schema, {"old": old_ps, "new": new_ps}, no_validate)
    options = _plan_options(schema, timeout, principal_type, action, resource_type, max_examples, describe_budget,
                            matrix, fmt, time_limit)
    report = diff_report(schema, old_ps, new_ps, options, fail_on=fail_on)
    report = _after_examples(report, schema, {"old": old_ps, "new": new_ps}, save_examples, confirm)
    emit_report(_assuming(report, _stated(unvalidated, inferred)), fmt)


@cli.command()
@policy_sources_argument()
@schema_option(required=False)
@save_schema_option
@click.option("--add", "add_paths", multiple=True, type=existing_file, help="A .cedar file of policies to add.")
@click.option("--remove", "remove_ids", multiple=True, callback=nonempty,
              help="The id of a policy or template link to remove (repeatable).")
@links_option
@environment_options
@assumption_option
@stated_assumption_option
@plan_options
@example_options
@validation_option
@format_option()
@timeout_option()
def whatif(policies, schema_path, save_schema_path, add_paths, remove_ids, links_path, principal_type, action,
           resource_type, max_examples, fail_on, describe_budget, matrix, save_examples, confirm, no_validate, fmt,
           timeout, time_limit):
    """The change plan a change would cause: add the policies of --add files, remove --remove ids."""
    from cedarscope.analyzer.whatif import changed
    from cedarscope.analyzer.whatif import whatif as run_whatif
    from cedarscope.lang.ast import PolicySet

    if not add_paths and not remove_ids:
        raise click.UsageError("give --add FILE and/or --remove ID")
    current = _load_sources(policies, links_path)
    added = [_parse_policy_file(p) for p in add_paths]
    add = PolicySet(tuple(x for ps in added for x in ps.policies), tuple(link for ps in added for link in ps.links))
    schema, inferred = schema_for(schema_path, [current, add], save_schema_path)
    sides = {"old": current, "new": changed(current, add, remove_ids)}
    unvalidated = _require_valid(schema, sides, no_validate)
    options = _plan_options(schema, timeout, principal_type, action, resource_type, max_examples, describe_budget,
                            matrix, fmt, time_limit)
    report = run_whatif(schema, current, add, remove_ids, options, fail_on=fail_on)
    report = _after_examples(report, schema, sides, save_examples, confirm)
    emit_report(_assuming(report, _stated(unvalidated, inferred)), fmt)


def _after_examples(report, schema, sides, save_dir: Path | None, confirm: bool):
    """Name the assumptions in force; write examples to disk, and confirm
    them with cedarpy, as asked."""
    from dataclasses import replace

    from cedarscope.analyzer.confirm import confirm_report, save_examples

    stated = click.get_current_context().meta.get(_STATED_NOTES, ())
    named = (*assumptions.describe(_assumed()), *report.assumptions, *stated)
    report = replace(report, assumptions=tuple(dict.fromkeys(named)))
    if save_dir is not None:
        save_examples(report, save_dir)
    if confirm:
        report = confirm_report(report, schema, sides)
    return report


# --------------------------------------------------------------------------
# audit, ask


@cli.command()
@policy_sources_argument()
@schema_option(required=False)
@save_schema_option
@baseline_options
@click.option("--properties", "properties_path", type=existing_file,
              help='Also check the @must("never") / @must("always") properties in FILE.')
@click.option("--strict", is_flag=True,
              help="Also call over-permissive a permit granting every resource of a type (to a named principal "
                   "or group).")
@links_option
@environment_options
@assumption_option
@stated_assumption_option
@example_options
@validation_option
@format_option()
@timeout_option()
def audit(policies, schema_path, save_schema_path, baseline_path, write_baseline_path, properties_path, strict,
          links_path, principal_type, action, resource_type, save_examples, confirm, no_validate, fmt, timeout,
          time_limit):
    """Find dead, redundant, shadowed and overridden rules, forbids that may
    error (and so fail open), and over-permissive permits.  Findings a policy
    accepts with @suppress("kind: reason"), kinds the settings ignore, and
    findings recorded in a --baseline are set aside and counted."""
    from cedarscope.analyzer.audit import audit as run_audit

    ps = _load_sources(policies, links_path)
    schema, inferred = schema_for(schema_path, [ps], save_schema_path)
    properties = _parse_properties(properties_path, schema) if properties_path else None
    unvalidated = _require_valid(schema, {"policies": ps}, no_validate)
    options = _options(schema, timeout, principal_type, action, resource_type, time_limit=time_limit)
    with _progress("auditing environments") as tick:
        report = run_audit(schema, ps, options, properties, progress=tick, strict=strict)
    report = _after_examples(report, schema, {"policies": ps}, save_examples, confirm)
    finish(_assuming(report, unvalidated), [ps], fmt, inferred=inferred, baseline_path=baseline_path,
           write_baseline_path=write_baseline_path)


@cli.command()
@policy_sources_argument()
@schema_option(required=False)
@save_schema_option
@click.option("--question", "-q", required=True, callback=nonempty,
              help='The requests of interest, as a Cedar policy head and conditions, e.g. '
                   '\'permit(principal in Team::"interns", action == Action::"delete", resource);\'')
@click.option("--enumerate", "enumerate_n", type=click.IntRange(1, 1000),
              help="List up to N distinct principals (or resources, with --by resource) that can reach it, "
                   "N in all, taken in turn from each environment; distinct: they differ in what the "
                   "question and that environment's policies read of them, not only in their id.")
@click.option("--by", "by", type=click.Choice(["principal", "resource"]), default="principal",
              show_default=True)
@links_option
@environment_options
@assumption_option
@stated_assumption_option
@example_options
@validation_option
@format_option()
@timeout_option()
def ask(policies, schema_path, save_schema_path, question, enumerate_n, by, links_path, principal_type, action,
        resource_type, save_examples, confirm, no_validate, fmt, timeout, time_limit):
    """Can anyone ever reach the requests QUESTION describes?  "yes" with
    examples (exit 1), "no, never" proved (exit 0), or unknown (exit 3)."""
    from cedarscope.analyzer.properties import ask as run_ask
    from cedarscope.lang.ast import PolicySet
    from cedarscope.lang.parser import parse_policy

    ps = _load_sources(policies, links_path)
    asked = PolicySet((("question", parse_policy(question, "<question>")),))  # what it reads needs a type too
    schema, inferred = schema_for(schema_path, [ps, asked], save_schema_path)
    q = _parse_question(question, schema)
    unvalidated = _require_valid(schema, {"policies": ps}, no_validate)
    options = _options(schema, timeout, principal_type, action, resource_type, enumerate_n or 1, time_limit=time_limit)
    report = run_ask(schema, ps, q, options, by if enumerate_n else None)
    report = _after_examples(report, schema, {"policies": ps}, save_examples, confirm)
    emit_report(_assuming(report, _stated(unvalidated, inferred)), fmt)


class _progress:
    """A progress bar on a terminal for work that takes over a second;
    nothing on a pipe."""

    def __init__(self, label: str):
        self.label = label
        self._progress: Any = None  # a rich Progress, made when first needed
        self._task: Any = None
        self._started = 0.0

    def __enter__(self):
        import time

        self._started = time.monotonic()
        return self.tick

    def tick(self, done: int, total: int) -> None:
        import time

        if not sys.stderr.isatty():
            return
        if self._progress is None:
            if time.monotonic() - self._started < 1.0:
                return
            from rich.console import Console
            from rich.progress import Progress

            self._progress = Progress(console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=total)
        self._progress.update(self._task, completed=done)

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()
        return False


# The "who can do what" commands (count) live in their own module.
from cedarscope.analyzer import access_commands  # noqa: E402, F401  (registers them on `cli`)
