"""A fuzzer for the whole command line: `python -m tests.fuzz --inputs N --seed S`.

Every input is one run of `cedarscope` on mutated files and options:
policies, schemas in both formats, entities, requests, template links,
integration-test files (and tar archives of them), questions, properties,
baselines, settings files (cedarscope.toml and pyproject.toml: malformed
TOML, unknown keys, values of the wrong type, bad paths), output files that
are FIFOs no one reads, and option values,
through every command (parse, format, validate, authorize, test, check,
equivalent, implies, disjoint, diff, audit, ask, whatif, access, count,
schema infer, config).  Inputs start from small, valid "worlds" (the
bundled example, the CLI test store, and a store that uses every kind of
value) and get one to three mutations each, so some stay valid and reach
the solver and some are broken in every way a file can be.  Analysis
commands are sometimes given no schema (so they infer one), and a command
sometimes leaves its policies or schema to the settings file.

An input FAILS when the command
* exits 4 (an internal error) or with a code other than 0, 1, 2, 3,
* prints a traceback, or an error line longer than MAX_ERROR_LINE,
* answers (exit 0, 1 or 3) in a form that breaks its contract: with
  `--format json`, anything but strict JSON; `schema infer`, a schema that
  does not parse back,
* runs longer than the per-input time limit (a hang), or
* takes more than the memory limit (its own peak, VmHWM, reset per input).

Inputs run in a worker process through click's CliRunner (fast: the worker
imports cedarscope once), and every SUBPROCESS_EVERY-th input as a real
`python -m cedarscope` subprocess.  A worker that overruns the time limit
is killed and replaced; every worker and subprocess runs under an address
space limit, so a blow-up fails fast instead of taking the machine.  Each
failure is written to `--out DIR` (default fuzz-failures/) as a folder
holding the input files, `command.json` (the arguments, relative to that
folder) and `outcome.txt`; rerun it with
`python -m tests.fuzz --replay DIR/<folder>`.  Everything is drawn from
`random.Random`, so `--seed S` with the same N gives the same inputs.

The normal test suite runs a short fuzz (tests/test_fuzz.py); the long one
is under `pytest -m slow`.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import random
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TIME_LIMIT_SECONDS = 60.0  # per input; analysis commands also get --time-limit RUN_TIME_LIMIT
RUN_TIME_LIMIT = "15"
MEMORY_LIMIT_MIB = 500.0  # an input's peak resident memory must stay under this
ADDRESS_SPACE_LIMIT = 3 << 30  # bytes of address space per worker and subprocess (fail fast)
MAX_ERROR_LINE = 1200  # characters: an error line longer than this is unbounded
MAX_CHECKED_ANSWER = 2_000_000  # characters: a longer answer is not parsed back
SUBPROCESS_EVERY = 25
ALLOWED_EXITS = {0, 1, 2, 3}
RESULT_PREFIX = "@@fuzz-result "

# --------------------------------------------------------------------------
# Seed worlds: small valid stores, each a schema, two versions of policies,
# entities, a request, a template with links, properties and a question.


@dataclass
class World:
    schema: str
    policies: str
    policies_v2: str
    entities: list
    request: dict
    template: str = ""
    links: list = field(default_factory=list)
    properties: str = ""
    question: str = "permit (principal, action, resource);"
    add: str = ""
    remove: tuple[str, ...] = ()


RICH_SCHEMA = """\
entity Org;
entity Group in [Org] = { name: String, level: Long };
entity Color enum ["red", "blue"];
entity User in [Group] = {
  name: String,
  level: Long,
  labels: Set<String>,
  ip: ipaddr,
  budget: decimal,
  joined: datetime,
  ttl: duration,
  manager?: User,
  profile: { email: String, active: Bool },
} tags String;
entity Doc = { owner: User, color: Color, readers: Set<User>, secret?: Bool };
action read, write appliesTo {
  principal: [User], resource: [Doc], context: { mfa: Bool, ip: ipaddr, now: datetime }
};
action admin in [write] appliesTo {
  principal: User, resource: Doc, context: { mfa: Bool, ip: ipaddr, now: datetime }
};
"""

RICH_POLICIES = """\
@id("owner")
permit (principal, action, resource) when { resource.owner == principal };

@id("readers")
permit (principal, action == Action::"read", resource)
when { resource.readers.contains(principal) && principal.profile.active };

@id("network")
forbid (principal, action in Action::"write", resource)
unless { context.ip.isInRange(ip("10.0.0.0/8")) && principal.budget.lessThan(decimal("100.5")) };

@id("tags")
permit (principal in Group::"staff", action, resource is Doc)
when { principal.hasTag("team") && principal.getTag("team") like "eng*" };

@id("time")
forbid (principal, action, resource)
when { context.now > principal.joined.offset(principal.ttl) || principal.level * 2 > 100 };

@id("manager")
permit (principal, action == Action::"admin", resource)
when { principal has manager && principal.manager.level > 5 && resource.color == Color::"red" };

@id("sets")
permit (principal, action, resource)
when { principal.labels.containsAny(["a", "b"]) && !(resource has secret && resource.secret) };
"""

RICH_ENTITIES = [
    {"uid": {"type": "Org", "id": "acme"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Group", "id": "staff"}, "attrs": {"name": "staff", "level": 3},
     "parents": [{"type": "Org", "id": "acme"}]},
    {"uid": {"type": "User", "id": "alice"},
     "attrs": {"name": "alice", "level": 7, "labels": ["a", "c"], "ip": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}},
               "budget": {"__extn": {"fn": "decimal", "arg": "12.25"}},
               "joined": {"__extn": {"fn": "datetime", "arg": "2024-01-01T00:00:00Z"}},
               "ttl": {"__extn": {"fn": "duration", "arg": "30d"}},
               "manager": {"__entity": {"type": "User", "id": "bob"}},
               "profile": {"email": "a@example.com", "active": True}},
     "parents": [{"type": "Group", "id": "staff"}], "tags": {"team": "engineering"}},
    {"uid": {"type": "User", "id": "bob"},
     "attrs": {"name": "bob", "level": 9, "labels": [], "ip": "192.168.0.1", "budget": "1.0",
               "joined": "2020-05-05", "ttl": "1h", "profile": {"email": "b@example.com", "active": False}},
     "parents": [], "tags": {}},
    {"uid": {"type": "Doc", "id": "plan"},
     "attrs": {"owner": {"type": "User", "id": "bob"}, "color": {"type": "Color", "id": "red"},
               "readers": [{"type": "User", "id": "alice"}], "secret": False},
     "parents": []},
]

RICH_REQUEST = {"principal": {"type": "User", "id": "alice"}, "action": {"type": "Action", "id": "read"},
                "resource": {"type": "Doc", "id": "plan"},
                "context": {"mfa": True, "ip": {"__extn": {"fn": "ip", "arg": "10.0.0.1"}},
                            "now": {"__extn": {"fn": "datetime", "arg": "2024-06-01"}}}}


def _read(path: str) -> str:
    return (REPO / path).read_text(encoding="utf-8")


def worlds() -> list[World]:
    """The seed worlds (from the repository's own examples and fixtures, and
    the rich store above)."""
    cli = "tests/fixtures/cli/"
    return [
        World(_read("examples/schema.cedarschema"), _read("examples/policies.cedar"),
              _read("examples/policies_v2.cedar"), json.loads(_read("examples/entities.json")),
              json.loads(_read("examples/request.json")),
              question='permit (principal, action == Action::"delete", resource) when { resource.public };',
              remove=("public-view",)),
        World(_read(cli + "schema.cedarschema"), _read(cli + "policies.cedar"), _read(cli + "policies_v2.cedar"),
              [{"uid": {"type": "Team", "id": "eng"}, "attrs": {}, "parents": []},
               {"uid": {"type": "User", "id": "ann"}, "attrs": {"level": 3, "a": 1, "b": 2, "c": 3},
                "parents": [{"type": "Team", "id": "eng"}]},
               {"uid": {"type": "Doc", "id": "plan"},
                "attrs": {"owner": {"__entity": {"type": "User", "id": "ann"}}, "secret": True}, "parents": []}],
              {"principal": 'User::"ann"', "action": 'Action::"edit"', "resource": 'Doc::"plan"',
               "context": {"mfa": False}},
              template=_read(cli + "template.cedar"), links=json.loads(_read(cli + "links.json")),
              properties=_read(cli + "properties.cedar"), add=_read(cli + "add.cedar"),
              question='permit (principal, action == Action::"edit", resource) when { resource.secret };',
              remove=("owner",)),
        World(RICH_SCHEMA, RICH_POLICIES, RICH_POLICIES.replace("level > 5", "level > 4").replace('"eng*"', '"*"'),
              RICH_ENTITIES, RICH_REQUEST,
              template='@id("t")\npermit (principal in ?principal, action, resource == ?resource);\n',
              links=[{"template_id": "t", "link_id": "t1",
                      "args": {"?principal": 'Group::"staff"', "?resource": {"type": "Doc", "id": "plan"}}}],
              properties='@must("never")\npermit (principal, action == Action::"admin", resource)\n'
                         'unless { principal has manager };\n',
              question='permit (principal, action, resource) when { principal.level < 0 };',
              add='permit (principal is User, action == Action::"read", resource) when { principal.level > 1 };\n',
              remove=("sets", "time")),
    ]


# --------------------------------------------------------------------------
# Mutations


TOKENS = ["(", ")", "{", "}", "[", "]", ";", ",", '"', "\\", "::", "==", "!=", "<", ">=", "&&", "||", "!",
          "-", "+", "*", ".", ":", "@", "in", "has", "like", "is", "if", "then", "else", "when", "unless",
          "permit", "forbid", "principal", "action", "resource", "context", "?principal", "?resource",
          "true", "false", "-9223372036854775808", "9223372036854775807", "9223372036854775808", "0",
          '"\\u{10FFFF}"', '"\\u{D800}"', '"\\x7f"', '"\\*"', '@id("x")', '@id("owner")', 'User::"a"',
          'Action::"view"', "decimal(\"1.5\")", 'ip("::1/129")', 'datetime("2024-02-30")', 'duration("1d1d")',
          ".contains(1)", ".getTag(\"k\")", ".hasTag(1)", "[1, true]", "{a: 1}", "// c\n", "\n", "entity",
          "action", "appliesTo", "namespace", "type", "tags", "enum", "Set<", "Long", "String", "?", "=",
          "é", "\u2028", "\0", "\ufeff", "__cedar", "Action", "memberOf"]

JUNK = [None, True, False, 0, -1, 1.5, 2**63, -(2**63) - 1, 10**30, "", " ", "x", "User::\"alice\"",
        "Action::\"view\"", "::", "1.0", "10.0.0.1/8", "2024-01-01", "1h", [], [None], [[]], {}, {"": 1},
        {"__entity": 'User::"alice"'}, {"__entity": {"type": "User", "id": "alice"}}, {"__entity": None},
        {"__extn": {"fn": "decimal", "arg": "1.0"}}, {"__extn": {"fn": "ip", "arg": "nope"}}, {"__extn": None},
        {"__extn": {"fn": "offset", "args": []}}, {"__expr": "1"}, {"type": "User"}, {"type": "User", "id": 1},
        {"type": "", "id": ""}, {"fn": "ip", "arg": "::1"}, ["a", "a"], [1, "a"]]


def _deep(depth: int, kind: str = "list") -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def junk(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.08:
        return _deep(rng.choice([5, 123, 124, 125, 126, 200, 600]), rng.choice(["list", "dict"]))
    if roll < 0.14:
        return "x" * rng.choice([100, 10_000, 200_000])
    if roll < 0.18:
        return "".join(rng.choice(["\n", "\0", "é", "\ud7ff", "\U0010ffff", '"', "\\", "a"])
                       for _ in range(rng.randint(1, 8)))
    return copy.deepcopy(rng.choice(JUNK))


def mutate_text(text: str, rng: random.Random, others: list[str]) -> str:
    """One mutation of Cedar text (policies, a schema, a question)."""
    n = len(text)
    at = rng.randint(0, n)
    kind = rng.choice(["delete", "duplicate", "insert", "insert", "swap-lines", "number", "nest", "huge",
                       "truncate", "splice", "replace"])
    if kind == "delete" and n:
        return text[:at] + text[at + rng.randint(1, 12):]
    if kind == "duplicate" and n:
        end = min(n, at + rng.randint(1, 40))
        return text[:end] + text[at:end] + text[end:]
    if kind == "insert":
        return text[:at] + " " + rng.choice(TOKENS) + " " + text[at:]
    if kind == "swap-lines":
        lines = text.split("\n")
        if len(lines) > 1:
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)
    if kind == "number":
        import re

        numbers = list(re.finditer(r"\d+", text))
        if numbers:
            m = rng.choice(numbers)
            new = rng.choice(["9223372036854775807", "9223372036854775808", "0", "99999999999999999999", "-1"])
            return text[:m.start()] + new + text[m.end():]
        return text
    if kind == "nest":
        depth = rng.choice([10, 100, 200, 1000, 5000])
        opener, closer = rng.choice([("(", ")"), ("[", "]"), ("!", ""), ("-", ""), ("{a: ", "}")])
        return text[:at] + opener * depth + "1" + closer * depth + text[at:]
    if kind == "huge":
        size = rng.choice([1000, 20_000])
        return text[:at] + '"' + "ab" * (size // 2) + '"' + text[at:]
    if kind == "truncate":
        return text[:at]
    if kind == "splice" and others:
        other = rng.choice(others).split("\n")
        lines = text.split("\n")
        lines.insert(rng.randint(0, len(lines)), rng.choice(other))
        return "\n".join(lines)
    if kind == "replace" and n:
        return text[:at] + rng.choice(TOKENS) + text[at + rng.randint(1, 5):]
    return text


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def _get(value: Any, path: tuple) -> Any:
    for key in path:
        value = value[key]
    return value


def mutate_json(value: Any, rng: random.Random) -> Any:
    """One structural mutation of parsed JSON (a copy)."""
    value = copy.deepcopy(value)
    paths = _paths(value)
    path = rng.choice(paths)
    kind = rng.choice(["replace", "replace", "replace", "delete", "add", "duplicate"])
    if not path:
        return junk(rng) if kind == "replace" else value
    parent, key = _get(value, path[:-1]), path[-1]
    if kind == "replace":
        parent[key] = junk(rng)
    elif kind == "delete":
        del parent[key]
    elif kind == "add" and isinstance(parent, dict):
        parent[rng.choice(["x", "uid", "attrs", "tags", "context", "__entity", "__extn", "fn", "args", "reason",
                           "shape", "memberOfTypes", "appliesTo", "type", ""])] = junk(rng)
    elif kind == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))
    return value


def mutate_json_text(text: str, rng: random.Random) -> str:
    """A corruption of serialized JSON (truncated, a byte inserted or lost)."""
    at = rng.randint(0, len(text))
    kind = rng.choice(["truncate", "insert", "delete"])
    if kind == "truncate":
        return text[:at]
    if kind == "insert":
        return text[:at] + rng.choice(['"', ",", "]", "}", "{", "[", "\\", "NaN", "1e999", "\0"]) + text[at:]
    return text[:at] + text[at + 1:]


# --------------------------------------------------------------------------
# Settings files: cedarscope.toml, or [tool.cedarscope] in pyproject.toml


SETTINGS_FILES = ("cedarscope.toml", "pyproject.toml")
SETTING_KEYS = ("schema", "policies", "links", "baseline", "timeout", "jobs", "ignore", "severity")
PATH_SETTINGS = ("schema", "links", "baseline")
UNKNOWN_SETTINGS = ("timeuot", "Schema", "", "tool", "severity.dead", "policies ", "format")
BAD_SETTING_PATHS = ("", " ", "missing.cedarschema", ".", "..", "/", "/dev/null", "entities.json", "policies.cedar",
                     "a\0b", "x" * 5000, "git:HEAD:policies.cedar", "git:", "~/x", "schema.cedarschema/",
                     "\u2028", "fifo")


@dataclass(frozen=True)
class TomlRaw:
    """A TOML value written as it is: a date or a time, which JSON lacks."""

    text: str


TOML_JUNK = [True, 0, -1, 1.5, -0.0, float("inf"), float("nan"), 2**63 - 1, 10**30, "", " ", "fast", "5", [], [1],
             [""], [[]], ["dead", "dead"], ["deadd"], {}, {"dead": "fatal"}, {"dead": 1}, {"": "note"},
             TomlRaw("1979-05-27T07:32:00Z"), TomlRaw("07:32:00"), TomlRaw("1979-05-27")]


def toml_value(value: Any) -> str:
    """`value` in TOML's syntax (strings with JSON's escapes, which TOML shares)."""
    if isinstance(value, TomlRaw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def settings_values(rng: random.Random, world: World, schema: str) -> dict[str, Any]:
    """Well-formed settings for this world: some of the keys, each valid."""
    from cedarscope.reports.findings import FINDING_KINDS

    kinds = sorted(FINDING_KINDS)
    good = {"schema": schema, "policies": rng.choice([["policies.cedar"], "policies.cedar", ["."]]),
            "links": "links.json", "baseline": "baseline.json", "timeout": rng.choice([0.5, 5, 10]),
            "jobs": rng.choice([1, 2]), "ignore": rng.sample(kinds, rng.randint(0, 2)),
            "severity": {rng.choice(kinds): rng.choice(["error", "warning", "note"])}}
    keys = [k for k in SETTING_KEYS if k != "links" or world.links]
    return {k: good[k] for k in rng.sample(keys, rng.randint(1, len(keys)))}


def mutate_settings(values: dict[str, Any], rng: random.Random) -> tuple[dict[str, Any], str]:
    """One mutation of the settings: a value of the wrong type, a bad path,
    an unknown key or finding kind."""
    values = copy.deepcopy(values)
    kind = rng.choice(["wrong-type", "bad-path", "bad-path", "unknown-key", "unknown-kind"])
    if kind == "wrong-type":
        key = rng.choice(SETTING_KEYS)
        values[key] = copy.deepcopy(rng.choice(TOML_JUNK))
        return values, f"settings: {key} = {toml_value(values[key])[:30]}"
    if kind == "bad-path":
        key = rng.choice(PATH_SETTINGS + ("policies",))
        path = rng.choice([p for p in BAD_SETTING_PATHS if p != "/" or key != "policies"])  # not: search all of /
        values[key] = [path] if key == "policies" and rng.random() < 0.5 else path
        return values, f"settings: {key} = {path[:30]!r}"
    if kind == "unknown-key":
        key = rng.choice(UNKNOWN_SETTINGS)
        values[key] = rng.choice([1, "schema.cedarschema", ["dead"]])
        return values, f"settings: unknown key {key!r}"
    values[rng.choice(["ignore", "severity"])] = rng.choice([["deadd"], ["Dead"], {"deadd": "note"}, {"dead": "fatal"}])
    return values, "settings: unknown finding kind or severity"


def settings_text(name: str, values: dict[str, Any], rng: random.Random) -> tuple[str, str]:
    """The settings file's text, and the shape it took: cedarscope.toml
    holds the keys at the top level, pyproject.toml under [tool.cedarscope]
    (or lacks that table, or has `tool` or `tool.cedarscope` of another type)."""
    tables = {k: v for k, v in values.items() if isinstance(v, dict) and v and rng.random() < 0.5}
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in values.items() if k not in tables]
    if name == "pyproject.toml":
        shape = rng.choice(["table", "table", "table", "dotted", "no-table", "tool-not-a-table",
                            "cedarscope-not-a-table"])
        head = '[project]\nname = "x"\n\n'
        if shape == "dotted":  # before any [table], or the keys would belong to it
            return "".join(f"tool.cedarscope.{json.dumps(k)} = {toml_value(v)}\n"
                           for k, v in values.items()) + "\n" + head, shape
        if shape == "no-table":
            return head, shape
        if shape == "tool-not-a-table":
            return f"tool = {toml_value(rng.choice(TOML_JUNK[:8]))}\n", shape
        if shape == "cedarscope-not-a-table":
            return f"[tool]\ncedarscope = {toml_value(rng.choice(TOML_JUNK[:8]))}\n", shape
        prefix = "tool.cedarscope."
        lines = ["[tool.cedarscope]", *lines]
    else:
        shape, prefix = "top-level", ""
    for key, table in tables.items():
        lines += ["", f"[{prefix}{json.dumps(key)}]", *(f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n", shape


def settings_files(rng: random.Random, world: World, schema: str,
                   mutations: list[str]) -> tuple[dict[str, bytes | None], frozenset[str]]:
    """A settings file (sometimes broken, sometimes not a file at all), and
    the FIFO a bad path may name; and the keys it sets."""
    name = rng.choice(SETTINGS_FILES)
    values = settings_values(rng, world, schema)
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        values, what = mutate_settings(values, rng)
        mutations.append(what)
    text, shape = settings_text(name, values, rng)
    mutations.append(f"{name}: {shape}")
    files: dict[str, bytes | None] = {name: text.encode("utf-8", "surrogatepass"), "fifo": None}
    roll = rng.random()
    if roll < 0.03:
        files = {f"{name}/keep": b"", "fifo": None}  # a folder where the file belongs: not settings
        mutations.append(f"{name}: a folder")
    elif roll < 0.06:
        files[name] = None
        mutations.append(f"{name}: fifo")
    return files, frozenset(values)


# --------------------------------------------------------------------------
# Cases: the files of one input and the command line


@dataclass
class Case:
    """One input: files (name -> bytes, or None for a FIFO) and arguments
    (file names are relative to the folder the files are written to)."""

    args: list[str]
    files: dict[str, bytes | None]
    env: dict[str, str] = field(default_factory=dict)
    mutations: list[str] = field(default_factory=list)

    def write(self, folder: Path) -> None:
        for name, data in self.files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if data is None:
                os.mkfifo(path)
            else:
                path.write_bytes(data)
        (folder / "command.json").write_text(json.dumps({"args": self.args, "env": self.env,
                                                         "mutations": self.mutations}, indent=1))


ANALYSIS = ["check", "equivalent", "implies", "disjoint", "diff", "audit", "ask", "whatif", "access", "count"]
COMMANDS = ["parse", "format", "validate", "authorize", "test", "schema", "config"] + ANALYSIS
FORMATS = ["text", "json", "sarif", "markdown", "html"]
FORMATS_OF = {"access": ["text", "json", "markdown", "html"], "count": ["text", "json", "markdown"]}
WITH_EXAMPLES = ("check", "equivalent", "implies", "disjoint", "diff", "audit", "ask", "whatif")
# The commands whose policies the settings' `policies` may give (analyzer.config).
POLICIES_FROM_SETTINGS = ("parse", "format", "validate", "check", "audit", "ask", "whatif", "access", "count")
SETTINGS_EVERY = 0.15  # the share of inputs (besides `config`'s) with a settings file
BAD_VALUES = ["", " ", "-1", "0", "inf", "nan", "1e308", "abc", "--", "-", "x" * 5000, "\u2028", "1e-9"]


def _text_files(world: World) -> dict[str, str]:
    from cedarscope.lang.schema import parse_schema, schema_to_json

    return {
        "schema.cedarschema": world.schema,
        "schema.json": json.dumps(schema_to_json(parse_schema(world.schema, "schema.cedarschema")), indent=1),
        "policies.cedar": world.policies + "\n" + world.template,
        "policies_v2.cedar": world.policies_v2 + "\n" + world.template,
        "entities.json": json.dumps(world.entities, indent=1),
        "request.json": json.dumps(world.request, indent=1),
        "links.json": json.dumps(world.links, indent=1),
        "baseline.json": json.dumps({"tool": "cedarscope", "baseline_version": 1,
                                     "findings": [{"fingerprint": "0123456789abcdef", "kind": "dead"}]}, indent=1),
        "properties.cedar": world.properties or '@must("never")\npermit (principal, action, resource);\n',
        "add.cedar": world.add or "permit (principal, action, resource);\n",
        "test.json": json.dumps({"policies": "policies.cedar", "entities": "entities.json",
                                 "schema": "schema.cedarschema", "shouldValidate": True,
                                 "requests": [{**_as_test_request(world.request), "description": "seed",
                                               "decision": "allow", "reason": [], "errors": []}]}, indent=1),
    }


def _as_test_request(request: dict) -> dict:
    def uid(v):
        if isinstance(v, str) and "::" in v:
            t, _, i = v.rpartition("::")
            return {"type": t, "id": json.loads(i)}
        return v
    return {k: uid(v) if k != "context" else v for k, v in request.items()}


def _mutate_file(name: str, text: str, rng: random.Random, pool: dict[str, list[str]]) -> tuple[str | bytes, str]:
    """One mutation of one file; returns the new content and what was done."""
    if name.endswith(".json") and rng.random() < 0.8:
        try:
            data = json.loads(text)
        except ValueError:
            return mutate_json_text(text, rng), f"{name}: json-text"
        if rng.random() < 0.85:
            return json.dumps(mutate_json(data, rng), indent=1), f"{name}: json"
        return mutate_json_text(text, rng), f"{name}: json-text"
    if rng.random() < 0.04:
        data = text.encode("utf-8")
        at = rng.randint(0, len(data))
        return data[:at] + rng.choice([b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\x00"]) + data[at:], f"{name}: bytes"
    return mutate_text(text, rng, pool.get(Path(name).suffix, [])), f"{name}: text"


# The files each command reads (mutations go mostly to these).
READS = {
    "parse": ("policies.cedar", "policies_v2.cedar", "add.cedar"),
    "format": ("policies.cedar", "policies_v2.cedar", "add.cedar"),
    "validate": ("policies.cedar", "schema.cedarschema", "schema.json"),
    "authorize": ("policies.cedar", "entities.json", "request.json", "schema.cedarschema", "schema.json",
                  "links.json"),
    "test": ("test.json", "policies.cedar", "entities.json", "schema.cedarschema"),
    "schema": ("policies.cedar", "entities.json", "request.json", "links.json"),
}
ANALYSIS_READS = ("policies.cedar", "policies_v2.cedar", "add.cedar", "schema.cedarschema", "schema.json",
                  "links.json", "properties.cedar")
READS.update({"access": ANALYSIS_READS + ("entities.json",), "count": ANALYSIS_READS + ("entities.json",)})


def make_case(rng: random.Random, seed_worlds: list[World], files_of: list[dict[str, str]]) -> Case:
    """One input: a world's files, zero to three mutations (mostly of the
    files the command reads), a command and its options."""
    w = rng.randrange(len(seed_worlds))
    world, texts = seed_worlds[w], dict(files_of[w])
    pool = {".cedar": [f[n] for f in files_of for n in f if n.endswith(".cedar")],
            ".cedarschema": [f["schema.cedarschema"] for f in files_of]}
    command = rng.choice(COMMANDS)
    reads = READS.get(command, ANALYSIS_READS)
    mutations: list[str] = []
    schema = rng.choice(["schema.cedarschema", "schema.json"])
    settings: dict[str, bytes | None] = {}
    keys: frozenset[str] = frozenset()
    if command == "config" or rng.random() < SETTINGS_EVERY:
        settings, keys = settings_files(rng, world, schema, mutations)
        texts.update({n: c.decode("utf-8", "surrogatepass") for n, c in settings.items() if c is not None})
        named = tuple(n for n in settings if n in SETTINGS_FILES and settings[n] is not None)
        if command == "config" and named:
            reads = named
        elif rng.random() < 0.3:
            reads += named
    for _ in range(rng.choice([0, 0, 1, 1, 1, 2, 3])):
        name = rng.choice(reads) if rng.random() < 0.85 else rng.choice(list(texts))
        try:
            new, what = _mutate_file(name, texts[name] if isinstance(texts[name], str) else "", rng, pool)
        except RecursionError:  # a second structural mutation of JSON made deep by the first
            new, what = mutate_json_text(texts[name], rng), f"{name}: json-text"
        texts[name] = new
        mutations.append(what)
    files: dict[str, bytes | None] = {
        name: content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
        for name, content in texts.items()}
    files.update({n: None for n, c in settings.items() if c is None})
    args = _command_args(command, world, rng, schema, files, mutations, keys)
    return Case(args, files, mutations=mutations)


def _command_args(command: str, world: World, rng: random.Random, schema: str, files: dict, mutations: list,
                  settings: frozenset[str] = frozenset()) -> list:
    pick = rng.random
    if command == "parse":
        args = ["parse", rng.choice(["policies.cedar", "policies_v2.cedar", "add.cedar", "."])]
    elif command == "format":
        args = ["format", rng.choice(["policies.cedar", "policies_v2.cedar", "."])]
        args += rng.choice([[], ["--check"], ["--write"], ["--check", "--write"]])
    elif command == "validate":
        args = ["validate", "policies.cedar", "-s", schema] + (["--format", "json"] if pick() < 0.3 else [])
    elif command == "authorize":
        args = ["authorize", "-p", "policies.cedar", "-e", "entities.json", "-r", "request.json"]
        args += (["-s", schema] if pick() < 0.6 else []) + (["--links", "links.json"] if pick() < 0.5 else [])
        args += ["--format", "json"] if pick() < 0.3 else []
    elif command == "test":
        target = rng.choice(["test.json", "test.json", "tests.tar.gz", "."])
        if target == "tests.tar.gz":
            files["tests.tar.gz"] = _tarball(files, rng, mutations)
        args = ["test", target]
    elif command == "schema":
        args = _infer_args(world, rng)
    elif command == "config":
        args = _config_args(rng, schema)
    else:
        args = _analysis_args(command, world, rng, schema)
    _lean_on_settings(args, settings, rng, mutations)
    if "fifo" in args:  # an output named so is a FIFO no one reads
        files["fifo"] = None
    if pick() < 0.04:  # a FIFO where a file belongs: refused, never read
        name = rng.choice([a for a in args if a in files] or ["policies.cedar"])
        files[name] = None
        mutations.append(f"{name}: fifo")
    return _mutate_options(args, rng, mutations)


def _lean_on_settings(args: list[str], settings: frozenset[str], rng: random.Random, mutations: list) -> None:
    """Sometimes leave the policies or the schema to the settings that name them."""
    if "policies" in settings and args[0] in POLICIES_FROM_SETTINGS and args[1:2] in (["policies.cedar"], ["."]) \
            and rng.random() < 0.4:
        del args[1]
        mutations.append("policies left to the settings")
    if "schema" in settings and "-s" in args and rng.random() < 0.4:
        at = args.index("-s")
        del args[at:at + 2]
        mutations.append("schema left to the settings")


def _infer_args(world: World, rng: random.Random) -> list:
    """`schema infer`, from the policies and sometimes entities, requests and links."""
    pick = rng.random
    args = ["schema", "infer", rng.choice(["policies.cedar", "policies.cedar", "policies_v2.cedar", "add.cedar"])]
    if pick() < 0.5:
        args += ["--entities", "entities.json"]
    if pick() < 0.4:
        args += ["--requests", rng.choice(["request.json", "request.json", "."])]
    if pick() < 0.3 and world.links:
        args += ["--links", "links.json"]
    if pick() < 0.4:
        args += ["--format", rng.choice(["cedar", "json"])]
    if pick() < 0.15:
        args += ["-o", rng.choice(["inferred.cedarschema", "missing/inferred.cedarschema", ".", "fifo"])]
    return args


def _config_args(rng: random.Random, schema: str) -> list:
    """`config`: the effective settings, some given on its command line."""
    pick = rng.random
    args = ["config"]
    if pick() < 0.3:
        args += ["--schema", rng.choice([schema, "missing.cedarschema", ""])]
    if pick() < 0.1:
        args += ["--links", "links.json"]
    if pick() < 0.1:
        args += ["--baseline", "baseline.json"]
    if pick() < 0.2:
        args += ["--timeout", rng.choice(["5", "0.5", "0", "-1", "abc", "nan", "inf", "1e308"])]
    if pick() < 0.4:
        args += ["--format", rng.choice(["text", "json"])]
    return args


def _entity(world: World, role: str, rng: random.Random) -> str:
    """The request's principal or resource as `Type::"id"`, or now and then a wrong one."""
    if rng.random() < 0.15:
        return rng.choice(["User", "", 'User::"nobody"', 'Action::"read"', 'Doc::"plan"', 'User::"a" x',
                           'A::B::"x"', '"alice"', "User::alice", 'Nope::"x"'])
    uid = world.request[role]
    return uid if isinstance(uid, str) else f"{uid['type']}::{json.dumps(uid['id'])}"


def _access_args(world: World, rng: random.Random) -> list:
    """`access`: the matrix, or one principal's or one resource's access over the store."""
    pick = rng.random
    args = ["access", "policies.cedar"]
    roll = pick()
    if roll < 0.3:
        args += ["--principal", _entity(world, "principal", rng), "-e", "entities.json"]
    elif roll < 0.5:
        args += ["--resource", _entity(world, "resource", rng), "-e", "entities.json"]
    elif roll < 0.55:
        args += rng.choice([["-e", "entities.json"], ["--principal", _entity(world, "principal", rng)],
                            ["--principal", _entity(world, "principal", rng), "--resource",
                             _entity(world, "resource", rng), "-e", "entities.json"]])
    if pick() < 0.5:
        args += ["--describe-budget", rng.choice(["0", "0.2", "1"])]
    return args


def _count_args(rng: random.Random) -> list:
    """`count`: over the store or N entities per type, sometimes against --old."""
    pick = rng.random
    args = ["count", "policies.cedar"]
    universe = rng.choice(["entities", "entities", "per-type", "per-type", "both", "neither"])
    if universe in ("entities", "both"):
        args += ["-e", "entities.json"]
    if universe in ("per-type", "both"):
        args += ["--per-type", rng.choice(["1", "2", "3"])]
    if pick() < 0.4:
        args += ["--old", rng.choice(["policies_v2.cedar", "policies.cedar", "add.cedar"])]
    if pick() < 0.3:
        args += ["--cap", rng.choice(["1", "3", "50"])]
    return args


def _analysis_args(command: str, world: World, rng: random.Random, schema: str) -> list:
    pick = rng.random
    if command == "access":
        args = _access_args(world, rng)
    elif command == "count":
        args = _count_args(rng)
    elif command in ("equivalent", "implies", "disjoint", "diff"):
        args = [command, "policies.cedar", rng.choice(["policies_v2.cedar", "policies.cedar", "add.cedar"])]
        if command == "diff" and pick() < 0.3:
            args += ["--max-examples", str(rng.choice([1, 2, 5]))]
    elif command == "check":
        args = ["check", "policies.cedar"]
        for _ in range(rng.randint(0, 2)):
            args += ["-P", rng.choice(["always-allows", "always-denies", "never-errors", "never-matches",
                                       "always-matches"])]
        if pick() < 0.3:
            args += ["--policy", rng.choice(["owner", "readers", "t1", "share-plan-with-bob", "policy0", "t"])]
        if pick() < 0.2:
            args += ["--properties", "properties.cedar"]
    elif command == "audit":
        args = ["audit", "policies.cedar"] + (["--properties", "properties.cedar"] if pick() < 0.2 else [])
    elif command == "ask":
        args = ["ask", "policies.cedar", "-q", world.question]
        if pick() < 0.3:
            args += ["--enumerate", str(rng.choice([1, 3])), "--by", rng.choice(["principal", "resource"])]
    else:  # whatif
        args = ["whatif", "policies.cedar"]
        if pick() < 0.7:
            args += ["--add", "add.cedar"]
        for pid in world.remove[:rng.randint(0, len(world.remove))] or (() if "--add" in args else ("x",)):
            args += ["--remove", pid]
    return args + _analysis_options(command, world, rng, schema)


def _analysis_options(command: str, world: World, rng: random.Random, schema: str) -> list:
    """The options the analysis commands share: a schema (or none, so one is
    inferred), links, an environment, a format, a budget."""
    pick = rng.random
    args = ["-s", schema] if pick() < 0.85 else \
        (["--save-schema", rng.choice(["inferred.cedarschema", "fifo"])] if pick() < 0.3 else [])
    if pick() < 0.4 and world.links:
        args += ["--links", "links.json"]
    if pick() < 0.2:
        args += [rng.choice(["--principal-type", "--resource-type", "--action"]),
                 rng.choice(["User", "Doc", "Document", "view", 'Action::"read"', "Nope"])]
    if pick() < 0.3:
        args += ["--format", rng.choice(FORMATS_OF.get(command, FORMATS))]
    if pick() < 0.3:
        args += ["--timeout", rng.choice(["0.001", "0.5", "5"])]
    if pick() < 0.1:
        args += ["--no-validate"]
    if command in WITH_EXAMPLES and pick() < 0.05:
        args += ["--save-examples", "saved"]
    if command in WITH_EXAMPLES and pick() < 0.02:
        args += ["--confirm"]
    if command in ("audit", "check") and pick() < 0.1:
        args += ["--baseline", "baseline.json"]
    if command in ("audit", "check") and pick() < 0.05:
        args += ["--write-baseline", rng.choice(["new-baseline.json", "baseline.json", "fifo"])]
    return args


def _mutate_options(args: list[str], rng: random.Random, mutations: list[str]) -> list[str]:
    """Now and then, an option's value replaced, an option dropped, or an
    unknown one added.  Analysis commands always end with a whole-run time
    limit, so a slow but bounded run is never taken for a hang."""
    args = list(args)
    if rng.random() < 0.15 and len(args) > 2:
        i = rng.randrange(1, len(args))
        old, args[i] = args[i], rng.choice(BAD_VALUES)
        mutations.append(f"option value {old[:20]!r} -> {args[i][:20]!r}")
    elif rng.random() < 0.05 and len(args) > 2:
        i = rng.randrange(1, len(args))
        mutations.append(f"option dropped {args[i][:20]!r}")
        del args[i]
    elif rng.random() < 0.05:
        extra = rng.choice([["--timeout", rng.choice(BAD_VALUES)], ["--time-limit", rng.choice(BAD_VALUES)],
                            ["--principal-type", ""], ["--bogus"], ["--format", "yaml"], ["--max-examples", "0"],
                            ["-h"], ["--help"], ["--version"], ["--enumerate", "-3"]])
        mutations.append(f"option added {extra}")
        args += extra
    if args[0] in ANALYSIS:
        args += ["--time-limit", RUN_TIME_LIMIT]
    return args


def _tarball(files: dict, rng: random.Random, mutations: list) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ("test.json", "policies.cedar", "entities.json", "schema.cedarschema"):
            data = files.get(name) or b""
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    if rng.random() < 0.3:
        at = rng.randint(0, len(data))
        data = data[:at] + bytes([rng.randrange(256)]) + data[at + 1:] if rng.random() < 0.5 else data[:at]
        mutations.append("tests.tar.gz: corrupted")
    return data


# --------------------------------------------------------------------------
# Running one case: in a worker (CliRunner) or as a subprocess


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
    os.setsid()


def _peak_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current resident size (Linux 4.0+)
    except OSError:
        pass


def _judge(code: int, output: str, seconds: float, peak: float, exception: str | None) -> list[str]:
    """Why this outcome fails (nothing: it passes)."""
    problems = []
    if code == 4:
        problems.append("exit 4 (internal error)")
    elif code not in ALLOWED_EXITS:
        problems.append(f"exit {code}")
    if "Traceback" in output or exception:
        problems.append(f"traceback: {exception or ''}"[:300])
    long_lines = [line for line in output.splitlines() if len(line) > MAX_ERROR_LINE and code == 2]
    if long_lines:
        problems.append(f"an error line of {len(long_lines[0])} characters")
    if peak > MEMORY_LIMIT_MIB:
        problems.append(f"peak memory {peak:.0f} MiB")
    if seconds > TIME_LIMIT_SECONDS:
        problems.append(f"took {seconds:.1f} s")
    return problems


def _format_of(args: list[str]) -> str | None:
    """The --format a command line asks for (the last one given)."""
    fmt = None
    for i, arg in enumerate(args[:-1]):
        if arg in ("--format", "-f"):
            fmt = args[i + 1]
    return fmt


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _broken_answer(args: list[str], code: int, stdout: str | None) -> list[str]:
    """Why an answer breaks its form's contract: a --format json answer that
    is not strict JSON (no NaN), a printed inferred schema that does not parse."""
    if stdout is None or code not in (0, 1, 3) or {"-h", "--help", "--version"} & set(args):
        return []
    infer = args[:2] == ["schema", "infer"]
    if infer and code == 0 and not {"-o", "--output"} & set(args):
        from cedarscope.lang.diagnostics import CedarError
        from cedarscope.lang.schema import parse_schema

        try:
            parse_schema(stdout, "inferred.json" if _format_of(args) == "json" else "inferred.cedarschema")
        except CedarError as err:
            return [f"schema infer printed a schema that does not parse: {err.diagnostics[0].format()}"[:300]]
        except RecursionError:
            pass
    elif _format_of(args) == "json" and not infer:
        try:
            json.loads(stdout, parse_constant=_no_constant)
        except (ValueError, RecursionError) as err:
            return [f"--format json printed no strict JSON: {err}"[:300]]
    return []


def worker() -> None:
    """Read cases (JSON lines: folder, args, env) and run each in-process."""
    from click.testing import CliRunner

    from cedarscope.analyzer.cli import cli

    cli._load_analysis_commands()
    for line in sys.stdin:
        request = json.loads(line)
        os.chdir(request["folder"])
        _reset_peak()
        started = time.monotonic()
        result = CliRunner().invoke(cli, request["args"], env=request.get("env") or None, catch_exceptions=True)
        seconds = time.monotonic() - started
        exception = None
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback

            exception = "".join(traceback.format_exception(result.exception))[-3000:]
        output = result.stdout + result.stderr
        report = {"code": result.exit_code, "seconds": seconds, "peak": _peak_mib(), "exception": exception,
                  "output": output[-20000:], "bad_lines": sum(len(x) > MAX_ERROR_LINE for x in output.splitlines()),
                  "stdout": result.stdout if len(result.stdout) <= MAX_CHECKED_ANSWER else None}
        sys.stdout.write(RESULT_PREFIX + json.dumps(report) + "\n")
        sys.stdout.flush()


class Worker:
    """The parent's handle on a worker process."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz", "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=REPO,
                                     preexec_fn=_limit_address_space, text=True)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)

    def run(self, folder: Path, case: Case) -> dict | None:
        """The worker's report, or None when it overran the time limit or died."""
        try:
            self.proc.stdin.write(json.dumps({"folder": str(folder), "args": case.args, "env": case.env}) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return None
        deadline = time.monotonic() + TIME_LIMIT_SECONDS
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(timeout=left):
                return None
            line = self.proc.stdout.readline()
            if not line:
                return None  # the worker died (a crash, or out of address space)
            if line.startswith(RESULT_PREFIX):
                return json.loads(line[len(RESULT_PREFIX):])

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()


def run_subprocess(folder: Path, case: Case) -> dict | None:
    """The real command line in its own process; None when it overran."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **case.env}
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env["CEDARSCOPE_FUZZ_PEAK"] = out.name
        started = time.monotonic()
        try:
            proc = subprocess.run([sys.executable, "-m", "tests.fuzz", "--one", *case.args], cwd=folder, env=env,
                                  capture_output=True, text=True, timeout=TIME_LIMIT_SECONDS,
                                  preexec_fn=_limit_address_space)
        except subprocess.TimeoutExpired:
            return None
        peak = json.loads(Path(out.name).read_text() or "0") if Path(out.name).stat().st_size else 0.0
        output = proc.stdout + proc.stderr
        return {"code": proc.returncode, "seconds": time.monotonic() - started, "peak": peak, "exception": None,
                "output": output[-20000:], "bad_lines": sum(len(x) > MAX_ERROR_LINE for x in output.splitlines()),
                "stdout": proc.stdout if len(proc.stdout) <= MAX_CHECKED_ANSWER else None}


def one() -> None:
    """`--one ARGS`: the command line, then its peak memory where
    CEDARSCOPE_FUZZ_PEAK says (for subprocess runs)."""
    from cedarscope.analyzer.cli import main

    code = 0
    try:
        main(sys.argv[2:])
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        target = os.environ.get("CEDARSCOPE_FUZZ_PEAK")
        if target:
            Path(target).write_text(json.dumps(_peak_mib()))
    sys.stdout.flush()
    os._exit(code)


# --------------------------------------------------------------------------
# The fuzzing loop


@dataclass
class Summary:
    inputs: int = 0
    exits: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    hangs: int = 0
    peak_mib: float = 0.0
    seconds: float = 0.0
    by_command: dict[str, int] = field(default_factory=dict)
    # exit code -> count, per command and for the inputs with a settings file
    exits_by: dict[str, dict[int, int]] = field(default_factory=dict)

    def count_exit(self, case: Case, code: int) -> None:
        self.exits[code] = self.exits.get(code, 0) + 1
        kinds = [case.args[0]] + ["(settings file)"] * any(n in SETTINGS_FILES for n in case.files)
        for kind in kinds:
            by = self.exits_by.setdefault(kind, {})
            by[code] = by.get(code, 0) + 1

    def exits_lines(self) -> list[str]:
        return [f"  {kind}: " + ", ".join(f"exit {k}: {v}" for k, v in sorted(by.items()))
                for kind, by in sorted(self.exits_by.items())]

    def line(self) -> str:
        exits = ", ".join(f"exit {k}: {v}" for k, v in sorted(self.exits.items()))
        return (f"{self.inputs} inputs in {self.seconds:.0f} s; {exits}; hangs: {self.hangs}; "
                f"failures: {len(self.failures)}; peak memory of any input: {self.peak_mib:.0f} MiB")


def fuzz(inputs: int, seed: int, out: Path, log=print, subprocess_every: int = SUBPROCESS_EVERY) -> Summary:
    """Run `inputs` cases from `seed`; write each failure under `out`."""
    seed_worlds = worlds()
    files_of = [_text_files(w) for w in seed_worlds]
    summary = Summary()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="cedarscope-fuzz-"))
    runner = Worker()
    try:
        for index in range(inputs):
            rng = random.Random(f"{seed}:{index}")
            case = make_case(rng, seed_worlds, files_of)
            folder = work / "case"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            case.write(folder)
            as_subprocess = subprocess_every and index % subprocess_every == subprocess_every - 1
            report = run_subprocess(folder, case) if as_subprocess else runner.run(folder, case)
            summary.inputs += 1
            summary.by_command[case.args[0]] = summary.by_command.get(case.args[0], 0) + 1
            if report is None:
                summary.hangs += 1
                problems = [f"no answer within {TIME_LIMIT_SECONDS:g} s, or the process died"]
                if not as_subprocess:
                    runner.kill()
                    runner = Worker()
            else:
                summary.count_exit(case, report["code"])
                summary.peak_mib = max(summary.peak_mib, report["peak"])
                problems = _judge(report["code"], report["output"], report["seconds"], report["peak"],
                                  report["exception"])
                if report["bad_lines"] and report["code"] == 2 and not any("line of" in p for p in problems):
                    problems.append("an unbounded error line")
                problems += _broken_answer(case.args, report["code"], report.get("stdout"))
            if problems:
                name = f"seed{seed}-input{index}"
                summary.failures.append(f"{name}: {'; '.join(problems)}")
                _save(out / name, folder, case, problems, report)
                log(f"FAIL {name} ({' '.join(case.args)[:200]}): {'; '.join(problems)}")
            if (index + 1) % 100 == 0:
                summary.seconds = time.monotonic() - started
                log(f"[{index + 1}/{inputs}] {summary.line()}")
    finally:
        runner.kill()
        shutil.rmtree(work, ignore_errors=True)
    summary.seconds = time.monotonic() - started
    return summary


def _save(target: Path, folder: Path, case: Case, problems: list[str], report: dict | None) -> None:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    case.write(target)
    for extra in folder.iterdir():  # files the command wrote (saved examples, ...)
        if extra.name not in case.files and extra.name != "command.json" and extra.is_file():
            shutil.copy(extra, target / extra.name)
    outcome = "\n".join(problems) + "\n\n" + (report or {}).get("output", "")[-10000:]
    if report and report.get("exception"):
        outcome += "\n" + report["exception"]
    (target / "outcome.txt").write_text(outcome)


def replay(folder: Path) -> int:
    """Rerun a saved reproducer as a subprocess and print what happens."""
    command = json.loads((folder / "command.json").read_text())
    proc = subprocess.run([sys.executable, "-m", "cedarscope", *command["args"]], cwd=folder,
                          env={**os.environ, "PYTHONPATH": str(REPO), **command.get("env", {})})
    return proc.returncode


def main(argv: list[str]) -> int:
    if argv[:1] == ["--worker"]:
        worker()
        return 0
    if argv[:1] == ["--one"]:
        one()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))  # the mutators copy JSON hundreds deep
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=200, help="how many inputs to run (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "fuzz-failures",
                        help="where reproducers are written (default fuzz-failures/)")
    parser.add_argument("--replay", type=Path, help="rerun one saved reproducer folder")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    summary = fuzz(args.inputs, args.seed, args.out)
    print(summary.line())
    print("inputs per command: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.by_command.items())))
    print("exit codes per command:", *summary.exits_lines(), sep="\n")
    for failure in summary.failures:
        print(f"FAIL {failure}")
    return 1 if summary.failures or summary.hangs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
