"""Project settings: ``[tool.cedarscope]`` in ``pyproject.toml``, or a
``cedarscope.toml``, found by walking up from the working folder.

    [tool.cedarscope]                 # in cedarscope.toml: the same keys at the top level
    schema = "policies/schema.cedarschema"
    policies = ["policies"]
    links = "policies/links.json"
    baseline = ".cedarscope-baseline.json"
    timeout = 10                      # seconds per solver query
    jobs = 2
    ignore = ["redundant"]            # finding kinds never reported
    [tool.cedarscope.severity]        # per finding kind: error, warning or note
    shadowed = "note"

The nearest folder holding either file wins; in one folder ``cedarscope.toml``
comes first.  Paths are relative to the file that names them.  Options given
on the command line win over the file, and the file over the defaults:
`default_map` turns the file into click's defaults, so the command line
overrides it without any command knowing where a value came from, and
`cedarscope config` shows each effective value with its source.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.reports.findings import FINDING_KINDS

CONFIG_FILES = ("cedarscope.toml", "pyproject.toml")
SEVERITIES = ("error", "warning", "note")

# key -> (kind, the click parameter it sets, the commands that take it)
ANALYSES = ("check", "equivalent", "implies", "disjoint", "diff", "audit", "ask", "whatif", "access", "count")
WITH_POLICIES = ("parse", "format", "validate", "check", "audit", "ask", "whatif", "access", "count")
KEYS: Mapping[str, tuple[str, str, tuple[str, ...]]] = {
    "schema": ("path", "schema_path", ("validate", "authorize", *ANALYSES)),
    "policies": ("paths", "policies", WITH_POLICIES),
    "links": ("path", "links_path", ("authorize", *ANALYSES)),
    "baseline": ("path", "", ()),  # read by audit and check when the file exists (analyzer.workflow.finish)
    "timeout": ("seconds", "timeout", ANALYSES),
    "jobs": ("count", "jobs", ANALYSES),
    "ignore": ("kinds", "", ()),
    "severity": ("severities", "", ()),
}
# Commands whose policies argument has another name.
ARGUMENT_NAMES = {"parse": "paths", "format": "paths"}


@dataclass
class Config:
    """The settings of one file (none: every value is a default)."""

    file: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def ignore(self) -> tuple[str, ...]:
        return tuple(self.values.get("ignore", ()))

    @property
    def severity(self) -> dict[str, str]:
        return dict(self.values.get("severity", {}))

    def default_map(self) -> dict[str, dict[str, Any]]:
        """click's defaults per command, from the file's values."""
        out: dict[str, dict[str, Any]] = {}
        for key, value in self.values.items():
            _, param, commands = KEYS[key]
            for command in commands:
                name = ARGUMENT_NAMES.get(command, param) if key == "policies" else param
                out.setdefault(command, {})[name] = value
        return out


def find_config(start: Path | None = None) -> Config:
    """The settings found walking up from `start` (the working folder)."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        for name in CONFIG_FILES:
            path = candidate / name
            if path.is_file():
                config = read_config(path)
                if config is not None:
                    return config
    return Config()


def read_config(path: Path) -> Config | None:
    """The settings of one file; None for a pyproject.toml without
    ``[tool.cedarscope]``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        message, line, column = _toml_error(err)
        raise CedarError(Diagnostic(f"invalid TOML: {message}", file=str(path), line=line, column=column)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise CedarError(Diagnostic(f"cannot read settings: {err}", file=str(path))) from None
    prefix = ""
    if path.name == "pyproject.toml":
        tool = data.get("tool")
        section = tool.get("cedarscope") if isinstance(tool, dict) else None  # `tool = 1`: no table of ours
        if section is None:
            return None
        if not isinstance(section, dict):
            raise CedarError(Diagnostic("expected a table of settings", file=str(path), path="tool.cedarscope"))
        data, prefix = section, "tool.cedarscope."
    return Config(path, _checked(data, path, prefix))


# How tomllib (Python 3.11 to 3.13) says where: "... (at line 2, column 9)".
_TOML_AT = re.compile(r"(.*) \(at line (\d+), column (\d+)\)\Z", re.DOTALL)


def _toml_error(err: tomllib.TOMLDecodeError) -> tuple[str, int | None, int | None]:
    """tomllib's message and the line and column it names, so the error is
    located as every other (file:line:col, with a caret)."""
    at = _TOML_AT.match(str(err))
    return (at[1], int(at[2]), int(at[3])) if at else (str(err), None, None)


def _checked(data: dict[str, Any], path: Path, prefix: str) -> dict[str, Any]:
    """The values, with paths made relative to the working folder and each
    checked for its kind; a bad one is a located error."""
    def error(key: str, message: str) -> CedarError:
        return CedarError(Diagnostic(message, file=str(path), path=f"{prefix}{key}"))

    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "tool" and not prefix:  # the pyproject.toml form, pasted into cedarscope.toml
            raise error(key, f"a {path.name} holds the settings at its top level, without "
                             "[tool.cedarscope] (that table is for pyproject.toml)")
        if key not in KEYS:
            raise error(key, f"unknown setting {key!r} (known: {', '.join(KEYS)})")
        kind = KEYS[key][0]
        values[key] = _value(kind, value, path.parent, lambda m, key=key: error(key, m))
    return values


def _value(kind: str, value: Any, base: Path, error: Callable[..., CedarError]) -> Any:
    if kind == "path":
        if not isinstance(value, str) or not value:
            raise error("expected a path (a string)")
        return _relative(base / _no_nul(value, error))
    if kind == "paths":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
            raise error("expected a path or a list of paths")
        paths = [_no_nul(v, error) for v in items]
        return tuple(v if v.startswith("git:") else _relative(base / v) for v in paths)
    if kind == "seconds":
        from cedarscope.analyzer.cli import MAX_TIMEOUT_SECONDS

        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_TIMEOUT_SECONDS:
            raise error(f"expected a positive number of seconds, at most {MAX_TIMEOUT_SECONDS:g}")  # not nan, inf
        return float(value)
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise error("expected a positive whole number")
        return value
    if kind == "kinds":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise error("expected a list of finding kinds")
        _known_kinds(value, error)
        return tuple(value)
    if kind == "severities":
        if not isinstance(value, dict):
            raise error("expected a table from finding kind to error, warning or note")
        _known_kinds(list(value), error)
        bad = [v for v in value.values() if v not in SEVERITIES]
        if bad:
            raise error(f"severity {bad[0]!r} is not one of {', '.join(SEVERITIES)}")
        return dict(value)
    raise AssertionError(kind)


def _no_nul(path: str, error: Callable[[str], CedarError]) -> str:
    """TOML strings may hold a NUL (``"\\u0000"``); no file name can."""
    if "\0" in path:
        raise error("a path cannot hold a NUL character")
    return path


def _known_kinds(kinds: list[str], error: Callable[[str], CedarError]) -> None:
    unknown = [k for k in kinds if k not in FINDING_KINDS]
    if unknown:
        raise error(f"unknown finding kind {unknown[0]!r} (known: {', '.join(FINDING_KINDS)})")


def _relative(path: Path) -> str:
    """`path` as the working folder sees it (relative when it can be)."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)


# --------------------------------------------------------------------------
# The effective settings, for `cedarscope config`


DEFAULTS: Mapping[str, Any] = {"schema": None, "policies": None, "links": None, "baseline": None,
                               "timeout": 30.0, "jobs": None, "ignore": (), "severity": {}}


def default(key: str) -> Any:
    """A setting's default; `jobs`: the cores this process may run on, as
    `--jobs` defaults to (not 1, which `config` used to show)."""
    if key == "jobs":
        from cedarscope.analyzer.spread import default_jobs

        return default_jobs()
    return DEFAULTS[key]


def effective(config: Config, given: Mapping[str, Any] | None = None) -> list[tuple[str, Any, str]]:
    """(key, value, source) for every setting: the command line (`given`),
    else the file, else the default."""
    given = given or {}
    rows = []
    for key in KEYS:
        if given.get(key) is not None:
            rows.append((key, given[key], "command line"))
        elif key in config.values:
            rows.append((key, config.values[key], str(config.file)))
        else:
            rows.append((key, default(key), "default"))
    return rows
