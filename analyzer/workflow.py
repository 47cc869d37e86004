"""The command line's project workflow: settings, accepted findings,
baselines and inferred schemas.

- `cedarscope config` prints the effective settings and where each came
  from (`analyzer.config`).
- `cedarscope schema infer POLICIES` prints (or writes) a schema the
  policies validate under (`lang.infer`); an analysis command given no
  schema infers one the same way, states it among the report's
  assumptions, and keeps it with ``--save-schema FILE``.
- `audit` and `check` set aside suppressed and ignored findings and, with
  ``--baseline FILE``, the findings recorded there (the API does, with
  `triage_settings`' options: `analyzer.triage`); ``--write-baseline FILE``
  records the current ones.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cedarscope.analyzer.cli import MAX_TIMEOUT_SECONDS, Seconds, cli, emit_report, existing_file, read_json
from cedarscope.analyzer.config import Config, effective
from cedarscope.lang.ast import PolicySet
from cedarscope.lang.files import write_text
from cedarscope.lang.schema import Schema
from cedarscope.reports.findings import Report, Verdict

if TYPE_CHECKING:
    from cedarscope.analyzer.api import ExampleOptions, TriageOptions
    from cedarscope.lang.infer import Inferred

F = TypeVar("F", bound=Callable[..., Any])

INFERRED = "schema inferred from the policies (no --schema given); see `cedarscope schema infer`"


def settings() -> Config:
    """The settings the group read for this run (none outside a run)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj if isinstance(obj, Config) else Config()


# --------------------------------------------------------------------------
# Options


def baseline_options(f: F) -> F:
    f = click.option("--write-baseline", "write_baseline_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Record the current findings (after @suppress) in FILE, and exit 0.")(f)
    f = click.option("--baseline", "baseline_path", type=existing_file,
                     help="Report only findings not recorded in FILE (see --write-baseline).")(f)
    return f


def save_schema_option(f: F) -> F:
    return click.option("--save-schema", "save_schema_path", type=click.Path(dir_okay=False, path_type=Path),
                        help="When no --schema is given, write the inferred schema to FILE.")(f)


# --------------------------------------------------------------------------
# A schema, given or inferred


def schema_for(schema_path: Path | None, policy_sets: Sequence[PolicySet],
               save_schema_path: Path | None = None, entities: Any = None) -> tuple[Schema, bool]:
    """The schema of `schema_path`, or one inferred from the policies (and
    the `entities` JSON, when given) (True when inferred); the inferred one
    is written to `save_schema_path`."""
    from cedarscope.analyzer.cli import load_schema_file

    if schema_path is not None:
        if save_schema_path is not None:
            raise click.UsageError("--save-schema keeps an inferred schema; it needs no --schema")
        return load_schema_file(schema_path), False
    inferred = infer(policy_sets, entities)
    if save_schema_path is not None:
        write_text(save_schema_path, inferred.text, "schema file")
        click.echo(f"cedarscope: inferred schema written to {save_schema_path}", err=True)
    return inferred.schema, True


def infer(policy_sets: Sequence[PolicySet], entities: Any = None, requests: Sequence[Any] = ()) -> Inferred:
    from cedarscope.lang.infer import infer_schema

    merged = PolicySet(tuple((f"{i}:{pid}", p) for i, ps in enumerate(policy_sets) for pid, p in ps.policies),
                       tuple(dataclasses.replace(link, template_id=f"{i}:{link.template_id}",
                                                 link_id=f"{i}:{link.link_id}")
                             for i, ps in enumerate(policy_sets) for link in ps.links))
    return infer_schema(merged, entities, requests)


def assuming(report: Report, assumption: str) -> Report:
    """The report stating one more assumption."""
    return dataclasses.replace(report, assumptions=(*report.assumptions, assumption))


# --------------------------------------------------------------------------
# Accepted findings (audit, check)


def triage_settings(given: ExampleOptions, baseline_path: Path | None,
                    write_baseline_path: Path | None) -> TriageOptions:
    """The API's options with what the project sets aside: the settings'
    ignored kinds and severities, and the --baseline (or the settings'
    baseline file, unless a baseline is given or being written)."""
    config = settings()
    if baseline_path is None and write_baseline_path is None and "baseline" in config.values:
        candidate = Path(config.values["baseline"])
        baseline_path = candidate if candidate.is_file() else None
    return {**given, "ignore": config.ignore, "severities": config.severity, "baseline": baseline_path}


def stating_inferred(report: Report, inferred: bool) -> Report:
    """The report stating that its schema was inferred, when it was."""
    return assuming(report, INFERRED) if inferred else report


def finish(report: Report, policy_sets: Sequence[PolicySet], fmt: str, *, inferred: bool = False,
           write_baseline_path: Path | None = None) -> None:
    """End an audit or check: record the findings as a baseline if asked, print, exit."""
    from cedarscope.analyzer.triage import record_baseline

    report = stating_inferred(report, inferred)
    if write_baseline_path is not None:
        n = record_baseline(report, policy_sets, write_baseline_path)
        click.echo(f"cedarscope: {n} finding{'s' if n != 1 else ''} recorded in {write_baseline_path}", err=True)
        if report.result is Verdict.VIOLATED:  # recording findings is not failing on them
            report = dataclasses.replace(report, result=Verdict.HOLDS)
    emit_report(report, fmt)


# --------------------------------------------------------------------------
# cedarscope config


@cli.command("config")
@click.option("--schema", "schema", help="As an analysis command would be given it.")
@click.option("--links", "links", help="As an analysis command would be given it.")
@click.option("--baseline", "baseline", help="As audit or check would be given it.")
@click.option("--timeout", "timeout", type=Seconds(MAX_TIMEOUT_SECONDS),
              help="As an analysis command would be given it (and checked as it would be).")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def config_command(schema: str | None, links: str | None, baseline: str | None, timeout: float | None,
                   fmt: str) -> None:
    """Print the effective settings and where each came from: the command
    line (the options given here), [tool.cedarscope] in pyproject.toml or
    cedarscope.toml (found upward from here), or the default."""
    config = settings()
    rows = effective(config, {"schema": schema, "links": links, "baseline": baseline, "timeout": timeout})
    if fmt == "json":
        click.echo(json.dumps({"file": str(config.file) if config.file else None,
                               "settings": {k: {"value": _plain(v), "source": s} for k, v, s in rows}},
                              indent=2))
        return
    click.echo(f"settings file: {config.file or 'none (defaults)'}")
    width = max(len(k) for k, _, _ in rows)
    for key, value, source in rows:
        click.echo(f"{key:<{width}} = {json.dumps(_plain(value))}  ({source})")


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# --------------------------------------------------------------------------
# cedarscope schema infer


@cli.group("schema")
def schema_group() -> None:
    """Schemas: infer one for policies that ship without."""


@schema_group.command("infer")
@click.argument("policies", nargs=-1, required=True, type=str)
@click.option("--entities", "entities_path", type=existing_file,
              help="Entity data (Cedar's entities JSON): types, attributes and parents it shows.")
@click.option("--requests", "request_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Request JSON files, or folders of them (repeatable): their types and contexts.")
@click.option("--links", "links_path", type=existing_file, help="Template links (Cedar's link format).")
@click.option("--format", "-f", "fmt", type=click.Choice(["cedar", "json"]), default="cedar", show_default=True,
              help="Cedar's schema syntax or its JSON schema format.")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the schema to FILE instead of printing it.")
def schema_infer(policies: tuple[str, ...], entities_path: Path | None, request_paths: tuple[Path, ...],
                 links_path: Path | None, fmt: str, output: Path | None) -> None:
    """Infer a schema under which POLICIES validate, from the policies (and
    entity data and requests, when given)."""
    from cedarscope.analyzer.cli import load_policy_sources
    from cedarscope.lang.infer import inferred_json
    from cedarscope.lang.links import with_links

    ps = load_policy_sources(policies)
    if links_path is not None:
        ps = with_links(ps, read_json(links_path), str(links_path))
    entities = read_json(entities_path) if entities_path is not None else None
    requests = [read_json(p) for p in _request_files(request_paths)]
    result = infer([ps], entities, requests)
    text = result.text if fmt == "cedar" else inferred_json(result.schema)
    for note in result.notes:
        click.echo(f"cedarscope: note: {note}", err=True)
    if output is not None:
        write_text(output, text, "schema file")
        click.echo(f"cedarscope: schema written to {output}", err=True)
    else:
        click.echo(text, nl=False)


def _request_files(paths: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out += sorted(p.rglob("*.json")) if p.is_dir() else [p]
    return out
