"""The commands that answer "who can do what": `access` (for every request
environment, always, sometimes or never, and exactly which requests) and
`count` (how many requests of a bounded universe are allowed, gained or
lost).

Registered on `cli` when `analyzer.commands` is imported, like the other
analysis commands, and built from the same shared options.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cedarscope.analyzer.cli import (
    cli,
    existing_file,
    format_option,
    policy_sources_argument,
    read_json,
    schema_option,
    timeout_option,
)
from cedarscope.analyzer.commands import (
    analysis_options,
    assumption_option,
    environment_options,
    links_option,
    load_sources,
    stated_assumption_option,
    usage_errors,
    validation_option,
)
from cedarscope.analyzer.workflow import INFERRED, save_schema_option, schema_for
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.schema import Schema

if TYPE_CHECKING:
    from cedarscope.reports.access import AccessReport
    from cedarscope.reports.counts import CountReport

    R = TypeVar("R", AccessReport, CountReport)


def _schema(schema_path: Path | None, policy_sets: list[PolicySet], entities_path: Path | None,
            save_schema_path: Path | None) -> tuple[Schema, bool]:
    """The given schema, or one inferred (True) from the policies and the
    entity store, when one is given: the store must conform to it too."""
    entities: Any = read_json(entities_path) if schema_path is None and entities_path is not None else None
    return schema_for(schema_path, policy_sets, save_schema_path, entities)


def _stating_inferred(report: R, inferred: bool) -> R:
    """The access or count report stating that its schema was inferred."""
    if not inferred:
        return report
    return dataclasses.replace(report, assumptions=(*report.assumptions, INFERRED))


@cli.command()
@policy_sources_argument()
@schema_option(required=False)
@save_schema_option
@click.option("--entities", "-e", "entities_path", type=existing_file,
              help="The universe: requests name the entities of this store, whose data the policies read.")
@click.option("--per-type", type=click.IntRange(min=1),
              help="The universe: N entities of each type, in any store (a request counts when some store "
                   "allows it).")
@click.option("--old", "old_source",
              help="Count what the change from OLD (a file, folder or git:REV:path) to POLICIES gains and "
                   "loses, too.")
@click.option("--cap", default=1000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Requests counted at most per environment and kind; beyond it the count is a bound.")
@links_option
@environment_options
@assumption_option
@stated_assumption_option
@validation_option
@format_option("text", "json", "markdown")
@timeout_option()
def count(policies: tuple[str, ...], schema_path: Path | None, save_schema_path: Path | None,
          entities_path: Path | None, per_type: int | None,
          old_source: str | None, cap: int, links_path: Path | None, principal_type: str | None, action: str | None,
          resource_type: str | None, no_validate: bool, fmt: str, timeout: float, time_limit: float | None) -> None:
    """How many requests of a bounded universe POLICIES allow (and, with
    --old, gain and lose), per environment: exact, or "at least" when the
    cap or the time budget is reached.  Give the universe as --entities
    FILE or --per-type N."""
    from cedarscope.analyzer import api
    from cedarscope.reports.counts import COUNT_FORMATS

    if (entities_path is None) == (per_type is None):
        raise click.UsageError("give the universe as exactly one of --entities FILE or --per-type N")
    ps = load_sources(policies, links_path)
    old = load_sources([old_source], links_path) if old_source else None
    schema, inferred = _schema(schema_path, [ps] if old is None else [old, ps], entities_path, save_schema_path)
    with usage_errors():
        report = api.count(ps, schema, entities=entities_path, per_type=per_type, old=old, cap=cap,
                           **analysis_options(timeout, time_limit, principal_type, action, resource_type, no_validate))
    click.echo(COUNT_FORMATS[fmt](_stating_inferred(report, inferred)), nl=False)
    click.get_current_context().exit(report.exit_code)


@cli.command("access")
@policy_sources_argument()
@schema_option(required=False)
@save_schema_option
@links_option
@environment_options
@assumption_option
@stated_assumption_option
@click.option("--describe-budget", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Budget for each environment's readable description, in seconds of solver work "
                   "(counted in Z3 resource units, so the same on any machine load; 0: structural form only).")
@click.option("--principal", "principal_uid",
              help='One principal\'s effective access, as `User::"alice"` (needs --entities): which of the '
                   "store's resources it may reach.")
@click.option("--resource", "resource_uid",
              help='Who can reach one resource, as `Document::"plan"` (needs --entities): which of the '
                   "store's principals may.")
@click.option("--entities", "-e", "entities_path", type=existing_file,
              help="The entity store for --principal or --resource: fixed as it is.")
@validation_option
@format_option("text", "json", "markdown", "html")
@timeout_option()
def access_command(policies: tuple[str, ...], schema_path: Path | None, save_schema_path: Path | None,
                   links_path: Path | None, principal_type: str | None,
                   action: str | None, resource_type: str | None, describe_budget: float, principal_uid: str | None,
                   resource_uid: str | None, entities_path: Path | None, no_validate: bool, fmt: str, timeout: float,
                   time_limit: float | None) -> None:
    """Who can do what: for every request environment (principal type,
    action, resource type), whether POLICIES allow every request (always),
    some (sometimes) or none (never), each proved by the solver; for
    "sometimes", exactly which requests, as one Cedar policy proved equal
    to them.  Exits 0 when every environment was answered, 3 when one is
    unknown."""
    from cedarscope.analyzer import api
    from cedarscope.reports.access import ACCESS_FORMATS

    ps = load_sources(policies, links_path)
    schema, inferred = _schema(schema_path, [ps], entities_path, save_schema_path)
    with usage_errors():
        report = api.access(ps, schema, describe_budget=describe_budget, principal=principal_uid,
                            resource=resource_uid, entities=entities_path,
                            **analysis_options(timeout, time_limit, principal_type, action, resource_type, no_validate))
    click.echo(ACCESS_FORMATS[fmt](_stating_inferred(report, inferred)), nl=False)
    click.get_current_context().exit(report.exit_code)
