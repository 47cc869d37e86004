"""The `cedarscope` command line.

This module only wires the other packages together: it reads the inputs
with `lang`, asks the Python API (`analyzer.api`, the same functions
Python callers use) for an answer, and hands the answer to a `reports`
renderer.

Layout:
  1. the group, its error handling and exit codes;
  2. shared options and input loading, for every command;
  3. front-end and concrete-semantics commands (parse, format, validate,
     authorize, test);
  4. analysis commands (check, equivalent, implies, disjoint, diff, audit,
     ask, whatif; access, count): they live in `analyzer.commands` and
     `analyzer.access_commands`, one function each, registered on `cli`
     with `@cli.command()`, built from the shared options of section 2 and
     ending in `emit_report(report, fmt)`.

Exit codes (README): 0 ok / holds, 1 findings / violated / failing,
2 bad input or usage, 3 unknown (the solver gave up), 4 internal error,
130 interrupted (Ctrl-C: nothing was proved).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click

from cedarscope.analyzer import interrupts
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.reports.findings import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_INTERNAL_ERROR,
    EXIT_OK,
    FINDING_KINDS,
    VERSION,
    Report,
)

if TYPE_CHECKING:
    from cedarscope.analyzer.conformance import TestFileResult
    from cedarscope.lang.ast import PolicySet
    from cedarscope.lang.schema import Schema

    ParamType = click.ParamType[float, Any]  # generic in click's stubs since 8.2
else:
    ParamType = click.ParamType

F = TypeVar("F", bound=Callable[..., Any])


class Decorator(Protocol):
    """An option's (or argument's) decorator, typed as click's own are."""

    def __call__(self, f: F, /) -> F: ...

# ==========================================================================
# 1. The group and its error handling


# The module that registers the analysis commands on `cli`.  It is imported
# only when one of them (or the command list) is asked for, so the front-end
# commands start without loading the solver.
ANALYSIS_COMMANDS_MODULE = "cedarscope.analyzer.commands"


class CedarscopeGroup(click.Group):
    """Turns bad input into its diagnostics and exit code 2, never a
    traceback; anything else unexpected is a bug, reported as such."""

    _analysis_loaded = False

    def _load_analysis_commands(self) -> None:
        if not self._analysis_loaded:
            self._analysis_loaded = True
            importlib.import_module(ANALYSIS_COMMANDS_MODULE)
            interrupts.solver_imported()

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None:
            self._load_analysis_commands()
            command = super().get_command(ctx, name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            self._load_analysis_commands()
        except ImportError as err:  # --help still lists the front-end commands
            click.echo(f"cedarscope: warning: analysis commands unavailable: {err}", err=True)
        return super().list_commands(ctx)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        global _run_started
        _run_started = time.monotonic()
        with interrupts.ctrl_c_stops_everything():
            try:
                return super().main(*args, **kwargs)
            except SystemExit as stop:
                # click's own answer to a Ctrl-C outside a command ("Aborted!", exit 1)
                if interrupts.interrupted() and stop.code == EXIT_FINDINGS:
                    raise SystemExit(interrupts.EXIT_INTERRUPTED) from None
                raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except click.exceptions.Exit:
            if interrupts.interrupted():
                self._stop_interrupted(ctx)
            raise
        except click.Abort:
            raise
        except click.ClickException as err:
            from cedarscope.lang.diagnostics import elide

            # it may quote a huge option value (click's stubs call `message` final; it is a plain attribute)
            object.__setattr__(err, "message", elide(err.message, MAX_MESSAGE_CHARS))
            raise
        except KeyboardInterrupt:
            self._stop_interrupted(ctx)
        except BaseException as err:
            if interrupts.interrupted():  # an error on the way out of Ctrl-C (a canceled solver call)
                self._stop_interrupted(ctx)
            self._fail(ctx, err)
        if interrupts.interrupted():
            self._stop_interrupted(ctx)
        return result

    def _stop_interrupted(self, ctx: click.Context) -> None:
        """Exit 130: nothing proved; output already begun is marked incomplete."""
        interrupts.acknowledge()
        if interrupts.output_started():
            _echo_quietly("\n[interrupted: the output above is incomplete]")
        _echo_quietly("cedarscope: interrupted; nothing was proved", err=True)
        if interrupts.exit_process_on_interrupt:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(interrupts.EXIT_INTERRUPTED)
        ctx.exit(interrupts.EXIT_INTERRUPTED)

    def _fail(self, ctx: click.Context, err: BaseException) -> None:
        """Bad input is its diagnostics and exit 2; anything else is a bug."""
        if isinstance(err, CedarError):
            click.echo(bounded_errors(err), err=True)
            ctx.exit(EXIT_BAD_INPUT)
        if isinstance(err, BrokenPipeError):
            # The reader went away (`| head`): stop quietly, as Python's
            # documentation recommends, with stdout pointed at devnull so
            # the interpreter's final flush does not complain.
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):  # stdout is not a file (e.g. under a test runner)
                pass
            ctx.exit(EXIT_FINDINGS)
        if isinstance(err, OSError):
            from cedarscope.lang.diagnostics import elide

            where = elide(str(err.filename), MAX_SOURCE_CHARS) if err.filename is not None else "cedarscope"
            click.echo(f"{where}: error: {elide(str(err.strerror or err), MAX_MESSAGE_CHARS)}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        if isinstance(err, RecursionError):
            click.echo("cedarscope: error: input nested too deeply (no file named it; please report "
                       "which input did)", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        if not isinstance(err, Exception):  # SystemExit, GeneratorExit: not ours to judge
            raise err
        import traceback

        click.echo("cedarscope: internal error (please report this with the input):", err=True)
        click.echo("".join(traceback.format_exception(err)).rstrip(), err=True)
        ctx.exit(EXIT_INTERNAL_ERROR)


@click.group("cedarscope", cls=CedarscopeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, "--version", prog_name="cedarscope", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Answer questions about Cedar authorization policies.

    POLICIES are .cedar files or folders of them (searched recursively), or
    .json files in Cedar's JSON policy format.  Settings come from
    [tool.cedarscope] in pyproject.toml or a cedarscope.toml found upward
    (`cedarscope config` shows them); options given here win.
    Exit codes: 0 ok/holds, 1 findings/violated, 2 bad input, 3 unknown,
    4 internal error.
    """
    from cedarscope.analyzer.config import find_config

    config = find_config()
    ctx.obj = config
    ctx.default_map = config.default_map()


_run_started: float | None = None


def run_started() -> float:
    """When this run of the command line started (`time.monotonic()`): the
    whole-run time limit counts from here."""
    return _run_started if _run_started is not None else time.monotonic()


def _echo_quietly(message: str, err: bool = False) -> None:
    """Echo, ignoring a reader that went away (we are stopping anyway)."""
    try:
        click.echo(message, err=err)
    except (OSError, ValueError):
        pass


# How much of one error a user sees: a message or source line longer than
# this (a 700 KB JSON value echoed back) is cut, keeping the part that the
# column points at.
MAX_MESSAGE_CHARS = 400
MAX_SOURCE_CHARS = 160


def bounded_errors(err: CedarError) -> str:
    """The diagnostics as printed: with their source line and caret where a
    line and column are known, every part bounded in length."""
    texts: dict[str, str | None] = {}
    return "\n".join(bounded(with_source_line(d, texts)).format() for d in err.diagnostics)


def bounded(d: Diagnostic) -> Diagnostic:
    """The diagnostic as printed: one line of bounded length, and a window
    of its source line around the column."""
    from dataclasses import replace

    from cedarscope.lang.diagnostics import elide

    source, column = d.source_line, d.column
    if source is not None and len(source) > MAX_SOURCE_CHARS:
        col = column or 1
        start = max(0, min(col - 1 - MAX_SOURCE_CHARS // 2, len(source) - MAX_SOURCE_CHARS))
        prefix = "…" if start else ""
        suffix = "…" if start + MAX_SOURCE_CHARS < len(source) else ""
        source = prefix + source[start:start + MAX_SOURCE_CHARS] + suffix
        column = col - start + len(prefix) if column is not None else None
    return replace(d, message=elide(d.message, MAX_MESSAGE_CHARS), source_line=source, column=column,
                   file=elide(d.file, MAX_SOURCE_CHARS), path=d.path and elide(d.path, MAX_SOURCE_CHARS))


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point (`cedarscope`, `python -m cedarscope`)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="cedarscope")


# ==========================================================================
# 2. Shared options and input loading

class InputPath(click.Path):
    """An input file or folder that must exist.  A missing one is bad
    input, reported as one line naming it (exit 2), not a usage screen."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            raise empty_path(param)
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as err:
            path = Path(value)
            why = ("no such file or folder" if not path.exists() else
                   "is a folder, where a file belongs" if path.is_dir() else err.message)
            raise InputError(f"{elide_path(value)}: error: {why}") from None


class InputError(click.UsageError):
    """A usage error shown as its one line (click's usage screen left out)."""

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


def elide_path(value: Any) -> str:
    from cedarscope.lang.diagnostics import elide

    return elide(str(value), MAX_SOURCE_CHARS)


existing_path = InputPath(exists=True, path_type=Path)
existing_file = InputPath(exists=True, dir_okay=False, path_type=Path)


def policies_argument(name: str = "policies") -> Decorator:
    return click.argument(name, nargs=-1, required=True, type=existing_path)


def policy_sources_argument(name: str = "policies") -> Decorator:
    """Like `policies_argument`, but also accepts one ``git:REV:path`` source
    (see `analyzer.sources`); load them with `load_policy_sources`."""
    return click.argument(name, nargs=-1, required=True, type=str, callback=_no_empty_source)


def _no_empty_source(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    if any(not v.strip() for v in values):
        raise empty_path(param)
    return values


def empty_path(param: click.Parameter | None) -> InputError:
    """"" would read as the current folder: a slip (an empty variable in a
    script), never a choice."""
    where = (param.opts[0] if isinstance(param, click.Option) else param.human_readable_name) if param else "path"
    return InputError(f"{where}: error: an empty path names no file or folder")


def load_policy_sources(specs: Sequence[str]) -> PolicySet:
    from cedarscope.analyzer.sources import load_policy_source
    return load_policy_source(list(specs))


def schema_option(required: bool = True) -> Decorator:
    return click.option("--schema", "-s", "schema_path", type=existing_file, required=required,
                        help="Cedar schema (.cedarschema, or JSON schema).")


def format_option(*formats: str) -> Decorator:
    formats = formats or ("text", "json", "sarif", "markdown", "html")
    return click.option("--format", "-f", "fmt", type=click.Choice(formats), default="text",
                        show_default=True, help="Output format.")


# The largest budgets accepted, in seconds: z3 keeps a timeout as a 32-bit
# count of milliseconds (about 49 days), and a run longer than a week is
# surely a typo.
MAX_TIMEOUT_SECONDS = 86_400.0
MAX_TIME_LIMIT_SECONDS = 604_800.0


class Seconds(ParamType):
    """A finite, positive number of seconds up to `maximum`; `inf`, `nan`,
    `1e308`, zero and negatives are usage errors."""

    name = "seconds"

    def __init__(self, maximum: float):
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        import math

        if isinstance(value, float):
            seconds = value
        else:
            try:
                seconds = float(str(value).strip())
            except ValueError:
                self.fail(f"{str(value)[:40]!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or not 0 < seconds <= self.maximum:
            self.fail(f"{str(value)[:40]!r} is not a number of seconds greater than 0 and at most "
                      f"{self.maximum:g}", param, ctx)
        return seconds


def timeout_option() -> Decorator:
    """--timeout (per solver query), --time-limit (the whole run), --jobs
    and --scheduler."""
    def decorate(f: F) -> F:
        f = click.option("--time-limit", "time_limit", type=Seconds(MAX_TIME_LIMIT_SECONDS), default=None,
                         help=f"Budget for the whole run, in seconds (at most {MAX_TIME_LIMIT_SECONDS:g}); "
                              "what is not settled when it runs out is reported unknown.")(f)
        f = click.option("--timeout", type=Seconds(MAX_TIMEOUT_SECONDS), default=30.0, show_default=True,
                         help=f"Solver time budget per query, in seconds (at most "
                              f"{MAX_TIMEOUT_SECONDS:g}).")(f)
        return parallel_options()(f)
    return decorate


def parallel_options() -> Decorator:
    """--jobs and --scheduler, kept in the click context's `meta` (read by
    commands.analysis_options), so the commands' signatures do not change."""
    def keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        ctx.meta[f"cedarscope.{param.name}"] = value
        return value

    jobs = click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, expose_value=False,
                        callback=keep, help="Worker processes for the request environments "
                        "[default: this machine's cores]; the report is the same for any number.")
    scheduler = click.option("--scheduler", metavar="ADDRESS", default=None, expose_value=False,
                             callback=keep, help="Run the environments on this Dask distributed "
                             "scheduler (pip install 'cedarscope[distributed]').")
    def decorate(f: F) -> F:
        return jobs(scheduler(f))
    return decorate


def read_text(path: Path) -> str:
    """A file's text: a regular file, size-capped, UTF-8 (see lang.files)."""
    from cedarscope.lang.files import read_text as read_input

    return read_input(path)


def read_json(path: Path) -> Any:
    """A JSON file, with syntax errors located by line and column."""
    from cedarscope.lang.files import load_json

    return load_json(read_text(path), str(path))


def cedar_files(paths: Sequence[Path]) -> list[Path]:
    """Files as given, and folders' *.cedar files recursively in sorted order
    (the order `lang.parser.load_policies` reads them in)."""
    out: list[Path] = []
    for p in paths:
        out += sorted(p.rglob("*.cedar")) if p.is_dir() else [p]
    return out


def load_policy_set(paths: Sequence[Path], links_path: Path | None = None) -> PolicySet:
    from cedarscope.lang.links import with_links
    from cedarscope.lang.policy_files import load_policy_files
    policyset = load_policy_files(list(paths))
    if links_path is not None:
        policyset = with_links(policyset, read_json(links_path), str(links_path))
    return policyset


def load_schema_file(path: Path) -> Schema:
    from cedarscope.lang.schema import load_schema
    return load_schema(path)


def use_color() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def emit_report(report: Report, fmt: str) -> None:
    """Print an analysis report and exit with its verdict's code.  The report
    is rendered whole before a byte is written, and a Ctrl-C during the
    write lets a finished answer finish (see `interrupts`)."""
    from cedarscope.reports import render
    text = render(report, fmt, color=use_color() if fmt == "text" else False)
    interrupts.raise_if_interrupted()
    with interrupts.committing_output():
        click.echo(text, nl=False)
    click.get_current_context().exit(report.exit_code)


# ==========================================================================
# 3. Front end and concrete semantics


@cli.command()
@policies_argument("paths")
def parse(paths: tuple[Path, ...]) -> None:
    """Parse policy files; print counts, or every error with its location."""
    files = cedar_files(paths)
    policyset = load_policy_set(paths)
    templates = sum(1 for _, p in policyset.policies if p.is_template)
    static = len(policyset.policies) - templates
    click.echo(f"ok: {len(files)} file{'s' if len(files) != 1 else ''}, "
               f"{static} polic{'ies' if static != 1 else 'y'}, "
               f"{templates} template{'s' if templates != 1 else ''}")


@cli.command()
@click.argument("kind", required=False, metavar="[KIND]", type=click.Choice(list(FINDING_KINDS)))
def docs(kind: str | None) -> None:
    """What a finding kind means: an example, how to fix it, how to accept
    it (the page each finding's `see` line names).  Without KIND, the kinds."""
    if kind is None:
        width = max(map(len, FINDING_KINDS))
        for name, title in FINDING_KINDS.items():
            click.echo(f"{name:<{width}}  {title}")
        return
    from cedarscope.reports.docs import finding_page

    click.echo(finding_page(kind), nl=False)


@cli.command("format")
@policies_argument("paths")
@click.option("--check", is_flag=True, help="Exit 1 if any file is not formatted; change nothing.")
@click.option("--write", is_flag=True, help="Rewrite files in place.")
def format_command(paths: tuple[Path, ...], check: bool, write: bool) -> None:
    """Lay policies out like Cedar's formatter (to stdout by default)."""
    if check and write:
        raise click.UsageError("--check and --write cannot be combined")
    files = cedar_files(paths)
    formatted = {f: (text, _formatted(text, f)) for f in files for text in [read_text(f)]}
    changed = [f for f, (old, new) in formatted.items() if old != new]
    if check:
        for f in changed:
            click.echo(f"would reformat {f}")
        click.echo(f"{len(changed)} of {len(files)} file{'s' if len(files) != 1 else ''} "
                   f"would be reformatted")
        click.get_current_context().exit(EXIT_FINDINGS if changed else EXIT_OK)
    if write:
        for f in changed:
            f.write_text(formatted[f][1], encoding="utf-8")
            click.echo(f"reformatted {f}")
        return
    for f in files:
        click.echo(formatted[f][1], nl=False)


def _formatted(text: str, path: Path) -> str:
    from cedarscope.lang.printer import format_source
    try:
        return format_source(text, str(path))
    except RecursionError:
        raise CedarError(Diagnostic("nested too deeply to lay out", file=str(path))) from None


@cli.command()
@policies_argument()
@schema_option()
@format_option("text", "json")
def validate(policies: tuple[Path, ...], schema_path: Path, fmt: str) -> None:
    """Type-check policies against a schema (Cedar's strict validation)."""
    from cedarscope.analyzer import api

    schema = api.load_schema(schema_path)
    result = api.validate(load_policy_set(policies), schema)
    if fmt == "json":
        from cedarscope.reports.render_json import dumps
        click.echo(dumps(result.to_json()), nl=False)
    else:
        texts: dict[str, str | None] = {}
        for d in result.diagnostics:
            click.echo(bounded(with_source_line(d, texts)).format())
        n, errors = result.policies, len(result.diagnostics)
        if errors:
            click.echo(f"{errors} validation error{'s' if errors != 1 else ''}")
        else:
            click.echo(f"ok: {n} polic{'ies' if n != 1 else 'y'} valid against {schema_path}")
    click.get_current_context().exit(EXIT_OK if result.valid else EXIT_FINDINGS)


def with_source_line(d: Diagnostic, texts: dict[str, str | None] | None = None) -> Diagnostic:
    """The diagnostic with its source line, for the caret display, when the
    producer located it by line and column only.  `texts` caches the files
    read, for many diagnostics in one file."""
    from dataclasses import replace

    from cedarscope.lang.diagnostics import source_line
    if d.source_line is not None or d.line is None or d.column is None:
        return d
    texts = {} if texts is None else texts
    if d.file not in texts:
        try:
            texts[d.file] = read_text(Path(d.file))
        except (OSError, CedarError):
            texts[d.file] = None
    text = texts[d.file]
    return d if text is None else replace(d, source_line=source_line(text, d.line))


@cli.command()
@click.option("--policies", "-p", "policies", multiple=True, required=True, type=existing_path,
              help="Policy file or folder (repeatable).")
@click.option("--entities", "-e", "entities_path", required=True, type=existing_file,
              help="Entities in Cedar's JSON format.")
@schema_option(required=False)
@click.option("--request", "-r", "request_path", required=True, type=existing_file,
              help='Request JSON: {"principal": "User::\\"alice\\"", "action": .., "resource": .., "context": {..}}.')
@click.option("--links", "links_path", type=existing_file,
              help="Template links JSON: [{template_id, link_id, args}].")
@click.option("--explain", is_flag=True, help="Also say, for every policy, why it did or did not apply.")
@format_option("text", "json")
def authorize(policies: tuple[Path, ...], entities_path: Path, schema_path: Path | None,
              request_path: Path, links_path: Path | None, explain: bool, fmt: str) -> None:
    """Decide one concrete request, naming the determining policies.

    Exits 0 for either decision; the decision is in the output."""
    from cedarscope.analyzer import api

    schema = api.load_schema(schema_path) if schema_path is not None else None
    policyset = load_policy_set(policies, links_path)
    entities = api.load_entities(entities_path, schema)
    result = api.authorize(policyset, entities, api.load_request(request_path, schema), explain=explain)
    if fmt == "json":
        from cedarscope.reports.render_json import render_authorization_json
        click.echo(render_authorization_json(result), nl=False)
    else:
        from cedarscope.reports.render_text import render_authorization_text
        click.echo(render_authorization_text(result, color=use_color()), nl=False)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=existing_path)
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder the test files' paths are relative to "
                   "(default: found by walking up from each test file).")
def test(files: tuple[Path, ...], root: Path | None) -> None:
    """Run Cedar integration tests: JSON test files, folders of them, or a
    tar archive of them (such as corpus-tests.tar.gz).

    Prints one line per failure and closes with `N passed, M failed`
    (requests; a wrong validation verdict or an unreadable test counts as
    one more failure)."""
    passed = failed = 0
    others: list[Path] = []  # the folders' JSON files that are no tests
    for result in test_results(files, root, others):
        for line in result.failures():
            click.echo(f"FAIL {line}")
        p, f = outcome_counts(result)
        passed, failed = passed + p, failed + f
    skipped = f"; {len(others)} other JSON file{'' if len(others) == 1 else 's'} (no `requests`) skipped" \
        if others else ""
    click.echo(f"{passed} passed, {failed} failed{skipped}")
    click.get_current_context().exit(EXIT_FINDINGS if failed else EXIT_OK)


def test_results(paths: Sequence[Path], root: Path | None, others: list[Path]) -> Iterator[TestFileResult]:
    """Each test's result; in folders, a JSON file that does not parse is a
    failing test (it may be a truncated one), and the others are put in
    `others` (entities and schemas, or a test whose `requests` is misspelt)."""
    from cedarscope.analyzer.conformance import TestFileResult, find_test_files, run_tarball, run_test_file
    for path in paths:
        if path.is_dir():
            found: list[tuple[Path, str | None]] = []
            tests = find_test_files(path, found)
            for other, unreadable in found:
                if unreadable is not None:
                    yield TestFileResult(str(other), problem=f"not JSON, so not a test that can run: {unreadable}")
                else:
                    others.append(other)
            for test_file in tests:
                yield run_test_file(test_file, root or find_test_root(test_file))
        elif path.name.endswith((".tar.gz", ".tgz", ".tar")):
            yield from run_tarball(path)
        else:
            yield run_test_file(path, root or find_test_root(path))


def find_test_root(test_file: Path) -> Path:
    """The nearest folder above `test_file` holding the file its `policies`
    entry names (integration tests' paths are relative to the
    integration-tests folder); the file's own folder when none does."""
    data = read_json(test_file)
    policies = data.get("policies") if isinstance(data, dict) else None
    if isinstance(policies, str):
        for folder in test_file.resolve().parents:
            if (folder / policies).is_file():
                return folder
    return test_file.resolve().parent


def outcome_counts(result: TestFileResult) -> tuple[int, int]:
    """(passed, failed) for one test file's result."""
    failed = sum(1 for r in result.requests if not r.passed)
    passed = len(result.requests) - failed
    if result.problem is not None:  # its inputs could not be read: nothing else ran
        failed += 1
    elif not result.validation_passed:
        failed += 1
    return passed, failed


# ==========================================================================
# 4. Analysis commands
#
# They live in `analyzer.commands` (ANALYSIS_COMMANDS_MODULE), registered on
# `cli` when first needed.  Each command: `@cli.command()`, `policies_argument()` (or
# `policy_sources_argument()` where a git revision makes sense, as for
# `diff`), `schema_option()`, `format_option()`, `timeout_option()`; it loads
# its inputs with `load_policy_set` (or `load_policy_sources`) and
# `load_schema_file`, calls the function of the same name in `analyzer.api`
# (which validates first, builds the options and runs the analysis), and
# ends with `emit_report(report, fmt)`, which prints it and exits with its
# verdict's code (0 holds, 1 violated, 3 unknown).
