"""The `cedarscope` command line.

This module only wires the other packages together: it reads the inputs
with `lang`, asks `lang` (concrete commands) or `analyzer` (analysis
commands) for an answer, and hands the answer to a `reports` renderer.

Layout:
  1. the group, its error handling and exit codes;
  2. shared options and input loading, for every command;
  3. front-end and concrete-semantics commands (parse, format, validate,
     authorize, test);
  4. analysis commands (check, equivalent, implies, disjoint, diff, audit,
     ask, whatif): they live in `analyzer.commands`, one function each,
     registered on `cli` with `@cli.command()`, built from the shared
     options of section 2 and ending in `emit_report(report, fmt)`.

Exit codes (README): 0 ok / holds, 1 findings / violated / failing,
2 bad input or usage, 3 unknown (the solver gave up), 4 internal error.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.reports.findings import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_INTERNAL_ERROR,
    EXIT_OK,
    VERSION,
    AuthorizationResult,
    PolicyRef,
    Report,
)

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

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except CedarError as err:
            click.echo(err.format(), err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, as Python's
            # documentation recommends, with stdout pointed at devnull so
            # the interpreter's final flush does not complain.
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):  # stdout is not a file (e.g. under a test runner)
                pass
            ctx.exit(EXIT_FINDINGS)
        except OSError as err:
            where = err.filename if err.filename is not None else "cedarscope"
            click.echo(f"{where}: error: {err.strerror or err}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except RecursionError:
            click.echo("cedarscope: error: input nested too deeply", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except Exception:  # a bug in cedarscope, not in the input
            import traceback

            click.echo("cedarscope: internal error (please report this with the input):", err=True)
            click.echo(traceback.format_exc().rstrip(), err=True)
            ctx.exit(EXIT_INTERNAL_ERROR)


@click.group("cedarscope", cls=CedarscopeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, "--version", prog_name="cedarscope", message="%(prog)s %(version)s")
def cli() -> None:
    """Answer questions about Cedar authorization policies.

    POLICIES are .cedar files or folders of them (searched recursively).
    Exit codes: 0 ok/holds, 1 findings/violated, 2 bad input, 3 unknown,
    4 internal error.
    """


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point (`cedarscope`, `python -m cedarscope`)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="cedarscope")


# ==========================================================================
# 2. Shared options and input loading

existing_path = click.Path(exists=True, path_type=Path)
existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


def policies_argument(name: str = "policies") -> Callable:
    return click.argument(name, nargs=-1, required=True, type=existing_path)


def policy_sources_argument(name: str = "policies") -> Callable:
    """Like `policies_argument`, but also accepts one ``git:REV:path`` source
    (see `analyzer.sources`); load them with `load_policy_sources`."""
    return click.argument(name, nargs=-1, required=True, type=str)


def load_policy_sources(specs: Sequence[str]):
    from cedarscope.analyzer.sources import load_policy_source
    return load_policy_source(list(specs))


def schema_option(required: bool = True) -> Callable:
    return click.option("--schema", "-s", "schema_path", type=existing_file, required=required,
                        help="Cedar schema (.cedarschema, or JSON schema).")


def format_option(*formats: str) -> Callable:
    formats = formats or ("text", "json", "sarif", "markdown", "html")
    return click.option("--format", "-f", "fmt", type=click.Choice(formats), default="text",
                        show_default=True, help="Output format.")


def timeout_option() -> Callable:
    return click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
                        show_default=True, help="Solver time budget per query, in seconds.")


def read_text(path: Path) -> str:
    """A file's text; bytes that are not UTF-8 are a located input error."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line_start = data.rfind(b"\n", 0, err.start) + 1
        line_end = data.find(b"\n", err.start)
        before = data[line_start:err.start].decode("utf-8", "replace")
        raise CedarError(Diagnostic(
            f"not valid UTF-8 (byte 0x{data[err.start]:02x})", file=str(path),
            line=data[:err.start].count(b"\n") + 1, column=len(before) + 1,
            source_line=data[line_start:None if line_end < 0 else line_end].decode("utf-8", "replace"),
        )) from None


def read_json(path: Path) -> Any:
    """A JSON file, with syntax errors located by line and column."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        from cedarscope.lang.diagnostics import source_line
        raise CedarError(Diagnostic(f"invalid JSON: {err.msg}", file=str(path), line=err.lineno,
                                    column=err.colno, source_line=source_line(text, err.lineno))
                         ) from None


def cedar_files(paths: Sequence[Path]) -> list[Path]:
    """Files as given, and folders' *.cedar files recursively in sorted order
    (the order `lang.parser.load_policies` reads them in)."""
    out: list[Path] = []
    for p in paths:
        out += sorted(p.rglob("*.cedar")) if p.is_dir() else [p]
    return out


def load_policy_set(paths: Sequence[Path], links_path: Path | None = None):
    from cedarscope.lang.links import with_links
    from cedarscope.lang.parser import load_policies
    policyset = load_policies(list(paths))
    if links_path is not None:
        policyset = with_links(policyset, read_json(links_path), str(links_path))
    return policyset


def load_schema_file(path: Path | None):
    if path is None:
        return None
    from cedarscope.lang.schema import load_schema
    return load_schema(path)


def use_color() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def emit_report(report: Report, fmt: str) -> None:
    """Print an analysis report and exit with its verdict's code."""
    from cedarscope.reports import render
    click.echo(render(report, fmt, color=use_color() if fmt == "text" else False), nl=False)
    click.get_current_context().exit(report.exit_code)


def policy_refs(policyset, ids: Sequence[str]) -> tuple[PolicyRef, ...]:
    """PolicyRefs for policy ids (a link points at its template's text)."""
    templates = {link.link_id: link.template_id for link in policyset.links}
    return tuple(PolicyRef.of(pid, policyset.get(templates.get(pid, pid))) for pid in ids)


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


@cli.command("format")
@policies_argument("paths")
@click.option("--check", is_flag=True, help="Exit 1 if any file is not formatted; change nothing.")
@click.option("--write", is_flag=True, help="Rewrite files in place.")
def format_command(paths: tuple[Path, ...], check: bool, write: bool) -> None:
    """Lay policies out like Cedar's formatter (to stdout by default)."""
    from cedarscope.lang.printer import format_source
    if check and write:
        raise click.UsageError("--check and --write cannot be combined")
    files = cedar_files(paths)
    formatted = {f: (text, format_source(text, str(f))) for f in files for text in [read_text(f)]}
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


@cli.command()
@policies_argument()
@schema_option()
@format_option("text", "json")
def validate(policies: tuple[Path, ...], schema_path: Path, fmt: str) -> None:
    """Type-check policies against a schema (Cedar's strict validation)."""
    from cedarscope.lang.validator import validate as validate_policies
    schema = load_schema_file(schema_path)
    policyset = load_policy_set(policies)
    diagnostics = validate_policies(policyset, schema)
    n = len(policyset.policies)
    if fmt == "json":
        from cedarscope.reports.render_json import dumps
        click.echo(dumps({"valid": not diagnostics, "policies": n,
                          "diagnostics": [diagnostic_json(d) for d in diagnostics]}), nl=False)
    else:
        for d in diagnostics:
            click.echo(with_source_line(d).format())
        if diagnostics:
            click.echo(f"{len(diagnostics)} validation error{'s' if len(diagnostics) != 1 else ''}")
        else:
            click.echo(f"ok: {n} polic{'ies' if n != 1 else 'y'} valid against {schema_path}")
    click.get_current_context().exit(EXIT_FINDINGS if diagnostics else EXIT_OK)


def with_source_line(d: Diagnostic) -> Diagnostic:
    """The diagnostic with its source line, for the caret display, when the
    producer located it by line and column only."""
    from dataclasses import replace

    from cedarscope.lang.diagnostics import source_line
    if d.source_line is not None or d.line is None or d.column is None:
        return d
    try:
        return replace(d, source_line=source_line(read_text(Path(d.file)), d.line))
    except (OSError, CedarError):
        return d


def diagnostic_json(d: Diagnostic) -> dict:
    return {"severity": d.severity, "file": d.file, "line": d.line, "column": d.column,
            "path": d.path, "message": d.message}


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
    from cedarscope.lang.authorizer import is_authorized
    from cedarscope.lang.entities import load_entities
    from cedarscope.lang.explain import explain as explain_request
    from cedarscope.lang.request import parse_request, validate_request
    schema = load_schema_file(schema_path)
    policyset = load_policy_set(policies, links_path)
    entities = load_entities(entities_path, schema)
    data = read_json(request_path)
    if not isinstance(data, dict):
        raise CedarError(Diagnostic("expected a JSON object with principal, action, resource "
                                    "and context", file=str(request_path)))
    request = parse_request(data, str(request_path), schema)
    if schema is not None:
        problems = validate_request(request, schema, str(request_path))
        if problems:
            raise CedarError(problems)
    response = is_authorized(request, entities, policyset)
    result = AuthorizationResult(
        request=request,
        decision=response.decision,
        reasons=policy_refs(policyset, response.reasons),
        errors=tuple(zip(policy_refs(policyset, [pid for pid, _ in response.errors]),
                         (message for _, message in response.errors), strict=False)),
        explanation=explain_request(request, entities, policyset) if explain else None,
    )
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
    for result in test_results(files, root):
        for line in result.failures():
            click.echo(f"FAIL {line}")
        p, f = outcome_counts(result)
        passed, failed = passed + p, failed + f
    click.echo(f"{passed} passed, {failed} failed")
    click.get_current_context().exit(EXIT_FINDINGS if failed else EXIT_OK)


def test_results(paths: Sequence[Path], root: Path | None):
    from cedarscope.lang.testsuite import find_test_files, run_tarball, run_test_file
    for path in paths:
        if path.is_dir():
            for test_file in find_test_files(path):
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


def outcome_counts(result) -> tuple[int, int]:
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
# `load_schema_file`, builds a `reports.Report` with the analyzer, and ends
# with `emit_report(report, fmt)`, which prints it and exits with its
# verdict's code (0 holds, 1 violated, 3 unknown).
