"""The commands that answer "who can do what": `access` (for every request
environment, always, sometimes or never, and exactly which requests) and
`count` (how many requests of a bounded universe are allowed, gained or
lost).

Registered on `cli` when `analyzer.commands` is imported, like the other
analysis commands, and built from the same shared options.
"""

from __future__ import annotations

from pathlib import Path

import click

from cedarscope.analyzer.cli import cli, existing_file, format_option, load_schema_file, timeout_option
from cedarscope.analyzer.commands import (
    _assumed,
    _load_sources,
    _options,
    _require_valid,
    assumption_option,
    environment_options,
    links_option,
    policy_sources_argument,
    schema_option,
    stated_assumption_option,
    validation_option,
)


@cli.command()
@policy_sources_argument()
@schema_option()
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
def count(policies, schema_path, entities_path: Path | None, per_type: int | None, old_source, cap, links_path,
          principal_type, action, resource_type, no_validate, fmt, timeout, time_limit):
    """How many requests of a bounded universe POLICIES allow (and, with
    --old, gain and lose), per environment: exact, or "at least" when the
    cap or the time budget is reached.  Give the universe as --entities
    FILE or --per-type N."""
    from dataclasses import replace

    from cedarscope.analyzer.counting import Universe
    from cedarscope.analyzer.counting import count as run_count
    from cedarscope.lang.entities import load_entities
    from cedarscope.reports.counts import COUNT_FORMATS

    if (entities_path is None) == (per_type is None):
        raise click.UsageError("give the universe as exactly one of --entities FILE or --per-type N")
    schema = load_schema_file(schema_path)
    ps = _load_sources(policies, links_path)
    old = _load_sources([old_source], links_path) if old_source else None
    sides = {"policies": ps, **({"old": old} if old is not None else {})}
    unvalidated = _require_valid(schema, sides, no_validate)
    options = _options(schema, timeout, principal_type, action, resource_type, time_limit=time_limit)
    universe = (Universe.of_store(load_entities(entities_path, schema), str(entities_path))
                if entities_path is not None else Universe.generic(per_type or 0))
    report = run_count(schema, ps, universe, options, old, cap)
    from cedarscope.encoder.assumptions import describe

    report = replace(report, assumptions=(*describe(_assumed()), *options.stated_notes, *unvalidated))
    click.echo(COUNT_FORMATS[fmt](report), nl=False)
    click.get_current_context().exit(report.exit_code)


@cli.command("access")
@policy_sources_argument()
@schema_option()
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
def access_command(policies, schema_path, links_path, principal_type, action, resource_type, describe_budget,
                   principal_uid, resource_uid, entities_path, no_validate, fmt, timeout, time_limit):
    """Who can do what: for every request environment (principal type,
    action, resource type), whether POLICIES allow every request (always),
    some (sometimes) or none (never), each proved by the solver; for
    "sometimes", exactly which requests, as one Cedar policy proved equal
    to them.  Exits 0 when every environment was answered, 3 when one is
    unknown."""
    from dataclasses import replace

    from cedarscope.analyzer.access import access, access_report
    from cedarscope.analyzer.solving import environments
    from cedarscope.encoder.assumptions import describe
    from cedarscope.reports.access import ACCESS_FORMATS

    schema = load_schema_file(schema_path)
    ps = _load_sources(policies, links_path)
    unvalidated = _require_valid(schema, {"policies": ps}, no_validate)
    focus = _focus(schema, principal_uid, resource_uid, entities_path)
    options = replace(_options(schema, timeout, principal_type, action, resource_type, time_limit=time_limit),
                      describe_seconds=describe_budget)
    if focus is not None and not any(focus.applies(env) for env in environments(schema, options)):
        raise click.UsageError(f"no request environment of the schema (as narrowed) has a {focus.var} of type "
                               f"{focus.uid.type}")
    # over a fixed store, the assumptions about which stores are covered say nothing
    covered = describe(_assumed()) if focus is None else ()
    report = access_report(ps, access(schema, ps, options, focus),
                           (*covered, *options.stated_notes, *unvalidated), focus)
    click.echo(ACCESS_FORMATS[fmt](report), nl=False)
    click.get_current_context().exit(report.exit_code)


def _focus(schema, principal_uid: str | None, resource_uid: str | None, entities_path: Path | None):
    """The entity whose access is asked about, over the --entities store
    (None without --principal or --resource)."""
    from cedarscope.analyzer.access import Focus
    from cedarscope.lang.diagnostics import CedarError
    from cedarscope.lang.entities import load_entities
    from cedarscope.lang.parser import parse_entity_uid

    if principal_uid is not None and resource_uid is not None:
        raise click.UsageError("give one of --principal and --resource")
    given = ("principal", principal_uid) if principal_uid is not None else (
        ("resource", resource_uid) if resource_uid is not None else None)
    if given is None:
        if entities_path is not None:
            raise click.UsageError("--entities is the store for --principal or --resource; give one of them")
        return None
    var, text = given
    if entities_path is None:
        raise click.UsageError(f"--{var} needs --entities: the store it reads the {var}'s data from")
    try:
        uid = parse_entity_uid(text, f"--{var}")
    except CedarError as err:
        raise click.BadParameter(err.diagnostics[0].message if err.diagnostics else "not an entity",
                                 param_hint=f"--{var}") from None
    store = load_entities(entities_path, schema)
    if not any(e.uid == uid for e in store):
        raise click.UsageError(f"--{var} {uid} is not in {entities_path}")
    return Focus(var, uid, store, str(entities_path))
