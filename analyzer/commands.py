"""The analysis commands of the `cedarscope` command line: check,
equivalent, implies, disjoint, diff, audit, ask, whatif.

Each is a thin layer over the Python API (`analyzer.api`): it reads its
arguments and files, calls the API function of the same name, which
validates first, builds the options and runs the analysis, and hands the
Report to `emit_report`, which renders it and exits with the verdict's code
(0 holds / no findings, 1 violated / findings, 3 unknown).  The API is
imported when a command runs, not for --help: it loads the solver.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

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
    baseline_options,
    finish,
    save_schema_option,
    schema_for,
    stating_inferred,
    triage_settings,
)
from cedarscope.lang.ast import Policy, PolicySet
from cedarscope.lang.links import with_links

if TYPE_CHECKING:  # the solver is imported by the command that runs, not by --help
    from cedarscope.analyzer.api import AnalysisOptions, ExampleOptions, Spelling
    from cedarscope.reports.findings import Report

F = TypeVar("F", bound=Callable[..., Any])
V = TypeVar("V")

SET_PROPERTY_NAMES = ("always-allows", "always-denies", "never-errors")
POLICY_PROPERTY_NAMES = ("never-errors", "never-matches", "always-matches")

# The API's keyword arguments as the command line writes them, for the
# messages and assumptions that name them.
FLAGS = {"principal_type": "--principal-type", "action": "--action", "resource_type": "--resource-type",
         "validate": "--no-validate", "property": "--property", "policy": "--policy",
         "principal": "--principal", "resource": "--resource", "entities": "--entities", "remove": "--remove",
         "describe_budget": "--describe-budget"}


def spelling() -> Spelling:
    """How messages name the options: by their flags."""
    from cedarscope.analyzer.api import Spelling
    from cedarscope.analyzer.inputs import VALIDATE_HINT

    return Spelling(FLAGS, validate_hint=f"{VALIDATE_HINT} (`cedarscope validate` lists them), or pass "
                                         "--no-validate to analyse them anyway (the report will say so)")


@contextmanager
def usage_errors() -> Iterator[None]:
    """The API's option errors as the command line's usage errors (exit 2)."""
    from cedarscope.analyzer.api import OptionError

    try:
        yield
    except OptionError as err:
        if err.option is not None:
            raise click.BadParameter(err.message, param_hint=FLAGS.get(err.option, err.option)) from None
        raise click.UsageError(err.message) from None


def nonempty(ctx: click.Context, param: click.Parameter, value: V) -> V:
    """An option given as "" (or spaces) is a usage error, never "no filter"."""
    values: tuple[object, ...] = value if isinstance(value, tuple) else (value,)
    if any(isinstance(v, str) and not v.strip() for v in values):
        raise click.BadParameter("must not be empty", ctx=ctx, param=param)
    return value


def environment_options(f: F) -> F:
    """--principal-type / --action / --resource-type: ask in one environment."""
    f = click.option("--resource-type", callback=nonempty, help="Only the environments with this resource type.")(f)
    f = click.option("--action", callback=nonempty,
                     help='Only the environments of this action (`view` or `Action::"view"`).')(f)
    f = click.option("--principal-type", callback=nonempty,
                     help="Only the environments with this principal type.")(f)
    return f


def example_options(f: F) -> F:
    """--save-examples DIR / --confirm: every command that shows counterexamples."""
    f = click.option("--confirm", is_flag=True,
                     help="Also replay every example with cedarpy (the official engine).")(f)
    f = click.option("--save-examples", type=click.Path(file_okay=False, path_type=Path),
                     help="Write each example as Cedar JSON request.json + entities.json under DIR.")(f)
    return f


def _keep(key: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A callback keeping an option's value in the click context's `meta`,
    where `analysis_options` reads it."""
    def keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        ctx.meta[key] = value
        return value

    return keep


_EXISTENCE = "cedarscope.entities-exist"
_STATED_FILES = "cedarscope.stated-files"


def assumption_option(f: F) -> F:
    """--entities-exist request|all: an assumption stronger than Cedar's own
    (encoder.assumptions), kept in the click context."""
    return click.option(
        "--entities-exist", type=click.Choice(["request", "all"]), expose_value=False, callback=_keep(_EXISTENCE),
        help="Assume these entities are in every entity store: 'request' (the principal and the "
             "resource), 'all' (every entity the policies read, as Cedar's symbolic compiler "
             "assumes). Default: only what Cedar enforces (any entity may be missing).")(f)


def stated_assumption_option(f: F) -> F:
    """--assume FILE (repeatable): facts about the user's world, written as
    @assume policies (analyzer.stated), kept in the click context."""
    return click.option(
        "--assume", type=existing_file, multiple=True, expose_value=False, callback=_keep(_STATED_FILES),
        help="A file of @assume policies (repeatable): `@assume permit (SCOPE) when { C };` states that "
             "every request in SCOPE satisfies C; `@assume forbid (SCOPE) when { C };` that none does. "
             "Every answer then holds for the requests and stores of that world.")(f)


def analysis_options(timeout: float, time_limit: float | None, principal_type: str | None, action: str | None,
                     resource_type: str | None, no_validate: bool) -> AnalysisOptions:
    """The API's keyword options from the flags every analysis command has.
    The time limit counts from the start of the run; --jobs, --scheduler,
    --entities-exist and --assume are read from the click context."""
    meta = click.get_current_context().meta
    given: AnalysisOptions = {
        "timeout": timeout, "principal_type": principal_type, "action": action, "resource_type": resource_type,
        "deadline": run_started() + time_limit if time_limit is not None else None,
        "entities_exist": meta.get(_EXISTENCE), "jobs": meta.get("cedarscope.jobs"),
        "scheduler": meta.get("cedarscope.scheduler"), "validate": not no_validate, "spelling": spelling()}
    if meta.get(_STATED_FILES):
        given["assume"] = meta[_STATED_FILES]
    return given


def with_examples(given: AnalysisOptions, save_examples: Path | None, confirm: bool,
                  max_examples: int = 1) -> ExampleOptions:
    """The options of a command that shows counterexamples."""
    return {**given, "max_examples": max_examples, "save_examples": save_examples, "confirm": confirm}


def links_option(f: F) -> F:
    """--links FILE: template links in Cedar's link format."""
    return click.option("--links", "links_path", type=existing_file,
                        help='Template links: [{"template_id": .., "link_id": .., "args": '
                             '{"?principal": "User::\\"a\\""}}].')(f)


def load_sources(specs: Sequence[str], links_path: Path | None = None) -> PolicySet:
    """The policies of `specs`, with the template links of `links_path`."""
    ps = load_policy_sources(specs)
    if links_path is not None:
        ps = with_links(ps, read_json(links_path), str(links_path))
    return ps


def _parse_policy_file(path: Path) -> PolicySet:
    from cedarscope.lang.parser import parse_policies

    return parse_policies(read_text(path), str(path))


def validation_option(f: F) -> F:
    """--no-validate: analyse policies that fail strict validation."""
    return click.option("--no-validate", "no_validate", is_flag=True,
                        help="Analyse the policies even if they fail strict validation against the schema "
                             "(the report lists this among its assumptions). By default such policies are "
                             "an error (exit 2) and nothing is answered.")(f)


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
def check(policies: tuple[str, ...], schema_path: Path | None, save_schema_path: Path | None,
          baseline_path: Path | None, write_baseline_path: Path | None, props: tuple[str, ...],
          policy_id: str | None, links_path: Path | None, properties_path: Path | None, principal_type: str | None,
          action: str | None, resource_type: str | None, save_examples: Path | None, confirm: bool,
          no_validate: bool, fmt: str, timeout: float, time_limit: float | None) -> None:
    """Prove a property of a policy set (or of one policy), or show a counterexample.

    \b
    Set properties:    always-allows, always-denies, never-errors
    Policy properties: never-errors, never-matches, always-matches (with --policy)
    With --properties FILE, every @must property in FILE is checked too.
    """
    from cedarscope.analyzer import api

    ps = load_sources(policies, links_path)
    schema, inferred = schema_for(schema_path, [ps], save_schema_path)
    must = _parse_policy_file(properties_path) if properties_path else None
    given = with_examples(analysis_options(timeout, time_limit, principal_type, action, resource_type, no_validate),
                          save_examples, confirm)
    with usage_errors():
        report = api.check(ps, schema, props or (() if properties_path else ("never-errors",)), policy=policy_id,
                           must=must, **triage_settings(given, baseline_path, write_baseline_path))
    finish(report, [ps], fmt, inferred=inferred, write_baseline_path=write_baseline_path)


# --------------------------------------------------------------------------
# equivalent, implies, disjoint


def _relation_command(name: str, summary: str) -> click.Command:
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
    def command(first: str, second: str, schema_path: Path | None, save_schema_path: Path | None,
                links_path: Path | None, principal_type: str | None, action: str | None, resource_type: str | None,
                max_examples: int, save_examples: Path | None, confirm: bool, no_validate: bool, fmt: str,
                timeout: float, time_limit: float | None) -> None:
        from cedarscope.analyzer import api

        a, b = load_sources([first], links_path), load_sources([second], links_path)
        schema, inferred = schema_for(schema_path, [a, b], save_schema_path)
        given = analysis_options(timeout, time_limit, principal_type, action, resource_type, no_validate)
        relation: Callable[..., Report] = getattr(api, name)  # api.equivalent, api.implies, api.disjoint
        with usage_errors():
            report = relation(a, b, schema, **with_examples(given, save_examples, confirm, max_examples))
        emit_report(stating_inferred(report, inferred), fmt)

    return command


_relation_command("equivalent", "Prove that FIRST and SECOND decide every request alike, or show one they "
                  "decide differently. FIRST and SECOND are .cedar files, folders, or git:REV:path.")
_relation_command("implies", "Prove that every request FIRST allows, SECOND allows too, or show one it "
                  "does not.")
_relation_command("disjoint", "Prove that no request is allowed by both FIRST and SECOND, or show one.")


# --------------------------------------------------------------------------
# diff, whatif


def fail_on_option(f: F) -> F:
    """--fail-on KINDS: which finding kinds make the exit code 1."""
    from cedarscope.reports.findings import FINDING_KINDS

    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> frozenset[str] | None:
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


def plan_options(f: F) -> F:
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
def diff(old: str, new: str, schema_path: Path | None, save_schema_path: Path | None, links_path: Path | None,
         principal_type: str | None, action: str | None, resource_type: str | None, max_examples: int,
         fail_on: frozenset[str] | None, describe_budget: float, matrix: bool, save_examples: Path | None,
         confirm: bool, no_validate: bool, fmt: str, timeout: float, time_limit: float | None) -> None:
    """The change plan: each request environment where NEW allows requests
    OLD denied (gained) or the reverse (lost), with the policies whose edit
    caused it, the exact set of requests as one Cedar policy, and an example.

    OLD and NEW are .cedar files, folders of them, or git:REV:path (a file or
    folder as it was at a git revision), e.g.  cedarscope diff git:HEAD:policies policies
    """
    from cedarscope.analyzer import api

    old_ps, new_ps = load_sources([old], links_path), load_sources([new], links_path)
    schema, inferred = schema_for(schema_path, [new_ps, old_ps], save_schema_path)
    given = analysis_options(timeout, time_limit, principal_type, action, resource_type, no_validate)
    with usage_errors():
        report = api.diff(old_ps, new_ps, schema, fail_on=fail_on, describe_budget=describe_budget,
                          matrix=matrix or fmt == "html", **with_examples(given, save_examples, confirm, max_examples))
    emit_report(stating_inferred(report, inferred), fmt)


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
def whatif(policies: tuple[str, ...], schema_path: Path | None, save_schema_path: Path | None,
           add_paths: tuple[Path, ...], remove_ids: tuple[str, ...], links_path: Path | None,
           principal_type: str | None, action: str | None, resource_type: str | None, max_examples: int,
           fail_on: frozenset[str] | None, describe_budget: float, matrix: bool, save_examples: Path | None,
           confirm: bool, no_validate: bool, fmt: str, timeout: float, time_limit: float | None) -> None:
    """The change plan a change would cause: add the policies of --add files, remove --remove ids."""
    from cedarscope.analyzer import api

    if not add_paths and not remove_ids:
        raise click.UsageError("give --add FILE and/or --remove ID")
    current = load_sources(policies, links_path)
    added = [_parse_policy_file(p) for p in add_paths]
    add = PolicySet(tuple(x for ps in added for x in ps.policies), tuple(link for ps in added for link in ps.links))
    schema, inferred = schema_for(schema_path, [current, add], save_schema_path)
    given = analysis_options(timeout, time_limit, principal_type, action, resource_type, no_validate)
    with usage_errors():
        report = api.whatif(current, schema, add=add, remove=remove_ids, fail_on=fail_on,
                            describe_budget=describe_budget, matrix=matrix or fmt == "html",
                            **with_examples(given, save_examples, confirm, max_examples))
    emit_report(stating_inferred(report, inferred), fmt)


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
def audit(policies: tuple[str, ...], schema_path: Path | None, save_schema_path: Path | None,
          baseline_path: Path | None, write_baseline_path: Path | None, properties_path: Path | None, strict: bool,
          links_path: Path | None, principal_type: str | None, action: str | None, resource_type: str | None,
          save_examples: Path | None, confirm: bool, no_validate: bool, fmt: str, timeout: float,
          time_limit: float | None) -> None:
    """Find dead, redundant, shadowed and overridden rules, forbids that may
    error (and so fail open), and over-permissive permits.  Findings a policy
    accepts with @suppress("kind: reason"), kinds the settings ignore, and
    findings recorded in a --baseline are set aside and counted."""
    from cedarscope.analyzer import api

    ps = load_sources(policies, links_path)
    schema, inferred = schema_for(schema_path, [ps], save_schema_path)
    must = _parse_policy_file(properties_path) if properties_path else None
    given = with_examples(analysis_options(timeout, time_limit, principal_type, action, resource_type, no_validate),
                          save_examples, confirm)
    with usage_errors(), _progress("auditing environments") as tick:
        report = api.audit(ps, schema, must=must, strict=strict, progress=tick,
                           **triage_settings(given, baseline_path, write_baseline_path))
    finish(report, [ps], fmt, inferred=inferred, write_baseline_path=write_baseline_path)


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
def ask(policies: tuple[str, ...], schema_path: Path | None, save_schema_path: Path | None, question: str,
        enumerate_n: int | None, by: str, links_path: Path | None, principal_type: str | None, action: str | None,
        resource_type: str | None, save_examples: Path | None, confirm: bool, no_validate: bool, fmt: str,
        timeout: float, time_limit: float | None) -> None:
    """Can anyone ever reach the requests QUESTION describes?  "yes" with
    examples (exit 1), "no, never" proved (exit 0), or unknown (exit 3)."""
    from cedarscope.analyzer import api

    ps = load_sources(policies, links_path)
    schema, inferred = schema_for(schema_path, [ps, _question_set(question)], save_schema_path)
    given = analysis_options(timeout, time_limit, principal_type, action, resource_type, no_validate)
    with usage_errors():
        report = api.ask(ps, schema, question, enumerate=enumerate_n, by=by,
                         **with_examples(given, save_examples, confirm))
    emit_report(stating_inferred(report, inferred), fmt)


def _question_set(question: str) -> PolicySet:
    """The question as a policy set: what it reads needs a type in an inferred schema too."""
    from cedarscope.lang.parser import parse_policy

    asked: Policy = parse_policy(question, "<question>")
    return PolicySet((("question", asked),))


class _progress:
    """A progress bar on a terminal for work that takes over a second;
    nothing on a pipe."""

    def __init__(self, label: str):
        self.label = label
        self._progress: Any = None  # a rich Progress, made when first needed
        self._task: Any = None
        self._started = 0.0

    def __enter__(self) -> Callable[[int, int], None]:
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

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


# The "who can do what" commands (count) live in their own module.
from cedarscope.analyzer import access_commands  # noqa: E402, F401  (registers them on `cli`)
