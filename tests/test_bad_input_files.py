"""Every bad input the issue lists gets exit 2 and one bounded line naming
the file and the JSON path or line:column: never a traceback (exit 4), a
hang, or memory filled.

Integration-test JSON with fields of the wrong type, a `*.tar.gz` that is no
archive, a template-link argument that is a string under `__entity`, FIFOs
and devices given as inputs, files over the size cap, JSON nested too
deeply, type errors quoting huge values, a `git:` revision that looks like
an option, and empty filters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cedarscope.analyzer.cli import cli
from cedarscope.lang.files import MAX_INPUT_ENV, MAX_JSON_DEPTH

REPO = Path(__file__).resolve().parents[1]
SCHEMA_TEXT = "entity User { name: String };\naction view appliesTo { principal: User, resource: User };\n"
POLICY = '@id("p")\npermit (principal, action, resource);\n'
TEMPLATE = '@id("t")\npermit (principal == ?principal, action, resource);\n'
REQUEST = {"principal": 'User::"alice"', "action": 'Action::"view"', "resource": 'User::"alice"', "context": {}}
MAX_LINE = 600  # an error line this long at most, whatever the input


def run(*args, env=None):
    result = CliRunner(env=env).invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def assert_one_located_line(result, *located: str) -> None:
    """Exit 2; stderr's first line names the file and the place."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert lines, result.output
    assert all(len(line) <= MAX_LINE for line in lines), max(len(x) for x in lines)
    for where in located:
        assert where in lines[0], (where, lines[0])


@pytest.fixture
def inputs(tmp_path) -> Path:
    (tmp_path / "s.cedarschema").write_text(SCHEMA_TEXT)
    (tmp_path / "p.cedar").write_text(POLICY)
    (tmp_path / "t.cedar").write_text(TEMPLATE)
    (tmp_path / "e.json").write_text("[]")
    (tmp_path / "r.json").write_text(json.dumps(REQUEST))
    return tmp_path


# --------------------------------------------------------------------------
# `test`: integration-test JSON with fields of the wrong type

TEST = {"policies": "p.cedar", "entities": "e.json", "schema": "s.cedarschema", "shouldValidate": True,
        "requests": [{"description": "alice views", "principal": {"type": "User", "id": "alice"},
                      "action": {"type": "Action", "id": "view"}, "resource": {"type": "User", "id": "alice"},
                      "context": {}, "decision": "allow", "reason": ["p"], "errors": []}]}


def _with_request(**fields) -> dict:
    test = json.loads(json.dumps(TEST))
    test["requests"][0].update(fields)
    return test


@pytest.mark.parametrize("test, path", [
    ({**TEST, "policies": ["p.cedar"]}, "policies"),
    ({**TEST, "requests": [[]]}, "requests[0]"),
    ({**TEST, "requests": {}}, "requests"),
    (_with_request(reason=[{}]), "requests[0].reason[0]"),
    (_with_request(reason=[1]), "requests[0].reason[0]"),
    (_with_request(errors=None), "requests[0].errors"),
    (_with_request(description={"text": "x" * 100_000}), "requests[0].description"),
    (_with_request(decision=True), "requests[0].decision"),
    (["not", "a", "test"], "(top level)"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_integration_test_with_wrong_field_types(inputs, test, path):
    (inputs / "bad.json").write_text(json.dumps(test))
    result = run("test", inputs / "bad.json", "--root", inputs)
    assert_one_located_line(result, f"{inputs / 'bad.json'}: {path}: error:")


def test_a_well_formed_integration_test_still_passes(inputs):
    (inputs / "ok.json").write_text(json.dumps(TEST))
    result = run("test", inputs / "ok.json", "--root", inputs)
    assert (result.exit_code, result.output) == (0, "1 passed, 0 failed\n")


def test_a_folder_of_tests_fails_a_truncated_test_and_counts_what_it_skipped(inputs):
    """In a folder, JSON that does not parse may be a truncated test: it
    fails.  JSON without `requests` (entities, schemas, a misspelt test) is
    skipped, and the summary says how many."""
    (inputs / "ok.json").write_text(json.dumps(TEST))
    (inputs / "cut.json").write_text('{"policies": ')
    (inputs / "typo.json").write_text(json.dumps({**TEST, "requets": []}).replace('"requests"', '"x"'))
    result = run("test", inputs, "--root", inputs)
    assert result.exit_code == 1, result.output
    assert f"FAIL {inputs / 'cut.json'}: not JSON" in result.output
    # e.json, r.json and typo.json: no `requests`
    assert result.output.splitlines()[-1] == "1 passed, 1 failed; 3 other JSON files (no `requests`) skipped"


@pytest.mark.parametrize("name, content", [
    ("fake.tar.gz", b"this is no archive"),
    ("empty.tar.gz", b""),
    ("cut.tar.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"),  # a gzip header, then nothing
    ("fake.tar", b"\0" * 700),
])
def test_a_tar_name_that_is_no_archive(inputs, name, content):
    (inputs / name).write_bytes(content)
    result = run("test", inputs / name)
    assert result.exit_code in (0, 2), result.output  # an empty tar holds no tests (exit 0)
    if result.exit_code == 2:
        assert_one_located_line(result, f"{inputs / name}: error:")


def test_an_archive_member_that_is_not_utf8(inputs):
    import io
    import tarfile

    with tarfile.open(inputs / "bad.tar.gz", "w:gz") as tar:
        data = b'{"requests": [], "policies": "\xff"}'
        info = tarfile.TarInfo("t.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    result = run("test", inputs / "bad.tar.gz")
    assert_one_located_line(result, f"{inputs / 'bad.tar.gz'}:t.json:1:", "UTF-8")


# --------------------------------------------------------------------------
# Template links


@pytest.mark.parametrize("arg, path", [
    ({"__entity": 'User::"alice"'}, "[0].args.?principal.__entity"),
    ({"__entity": None}, "[0].args.?principal.__entity"),
    ({"type": "User"}, "[0].args.?principal"),
    (5, "[0].args.?principal"),
    ("User::alice", "[0].args.?principal"),
])
def test_a_bad_template_link_argument(inputs, arg, path):
    (inputs / "links.json").write_text(json.dumps([{"template_id": "t", "link_id": "l", "args": {"?principal": arg}}]))
    result = run("authorize", "-p", inputs / "t.cedar", "-e", inputs / "e.json", "-r", inputs / "r.json",
                 "--links", inputs / "links.json")
    assert_one_located_line(result, f"{inputs / 'links.json'}: {path}: error:")
    result = run("check", inputs / "t.cedar", "-s", inputs / "s.cedarschema", "--links", inputs / "links.json")
    assert_one_located_line(result, f"{inputs / 'links.json'}: {path}: error:")


def test_a_good_template_link_under_entity(inputs):
    (inputs / "links.json").write_text(json.dumps(
        [{"template_id": "t", "link_id": "l", "args": {"?principal": {"__entity": {"type": "User", "id": "alice"}}}}]))
    result = run("authorize", "-p", inputs / "t.cedar", "-e", inputs / "e.json", "-r", inputs / "r.json",
                 "--links", inputs / "links.json")
    assert result.exit_code == 0 and "allow" in result.output


# --------------------------------------------------------------------------
# Special files and size


@pytest.fixture
def fifo(tmp_path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "pipe.cedar"
    os.mkfifo(path)
    return path


def _cli(*args, env=None, timeout=30):
    """The real command in a process: a blocked read would hang here."""
    return subprocess.run([sys.executable, "-m", "cedarscope", *(str(a) for a in args)], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("role", ["policies", "schema", "entities", "request", "links", "test"])
def test_a_fifo_is_refused_never_read(inputs, fifo, role):
    args = {
        "policies": ("validate", fifo, "-s", inputs / "s.cedarschema"),
        "schema": ("validate", inputs / "p.cedar", "-s", fifo),
        "entities": ("authorize", "-p", inputs / "p.cedar", "-e", fifo, "-r", inputs / "r.json"),
        "request": ("authorize", "-p", inputs / "p.cedar", "-e", inputs / "e.json", "-r", fifo),
        "links": ("authorize", "-p", inputs / "t.cedar", "-e", inputs / "e.json", "-r", inputs / "r.json",
                  "--links", fifo),
        "test": ("test", fifo),
    }[role]
    proc = _cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"{fifo}: error: cannot read") and "FIFO" in proc.stderr, proc.stderr


def test_a_fifo_named_as_json_policies_is_refused(inputs, tmp_path):
    """A `.json` policy source is read as Cedar's JSON policy format, by a
    reader of its own: it refuses a FIFO too (the fuzzer found it blocked)."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    proc = _cli("validate", pipe, "-s", inputs / "s.cedarschema")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"{pipe}: error: cannot read") and "FIFO" in proc.stderr, proc.stderr


@pytest.mark.parametrize("role", ["schema infer -o", "--save-schema", "--write-baseline"])
def test_an_output_fifo_no_one_reads_is_refused_not_waited_on(inputs, tmp_path, role):
    """Opening it to write would wait forever for a reader (the fuzzer found
    `schema infer -o FIFO` hanging)."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    pipe = tmp_path / "out"
    os.mkfifo(pipe)
    args = {"schema infer -o": ("schema", "infer", inputs / "p.cedar", "-o", pipe),
            "--save-schema": ("audit", inputs / "p.cedar", "--save-schema", pipe),
            "--write-baseline": ("audit", inputs / "p.cedar", "-s", inputs / "s.cedarschema", "--write-baseline", pipe),
            }[role]
    proc = _cli(*args, timeout=20)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"{pipe}: error: cannot write") and "no one reads" in proc.stderr, proc.stderr


def test_an_output_fifo_that_is_read_is_written(inputs, tmp_path, monkeypatch):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    pipe = tmp_path / "out"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    try:
        result = run("schema", "infer", inputs / "p.cedar", "-o", pipe)
        assert result.exit_code == 0, result.output
        assert b"entity" in os.read(reader, 1 << 16)
    finally:
        os.close(reader)


def test_a_baseline_that_is_a_fifo_or_not_utf8_is_refused(inputs, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"baseline_version": 1, "findings": ["\xff"]}')
    result = run("audit", inputs / "p.cedar", "-s", inputs / "s.cedarschema", "--baseline", bad)
    assert_one_located_line(result, str(bad), "UTF-8")
    if hasattr(os, "mkfifo"):
        pipe = tmp_path / "pipe.json"
        os.mkfifo(pipe)
        proc = _cli("audit", inputs / "p.cedar", "-s", inputs / "s.cedarschema", "--baseline", pipe, timeout=20)
        assert proc.returncode == 2 and "FIFO" in proc.stderr, proc.stderr


@pytest.mark.parametrize("command", [("parse",), ("format",), ("format", "--check"), ("audit", "-s", "SCHEMA")])
def test_a_device_is_refused(inputs, command):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    name, *rest = command
    rest = [str(inputs / "s.cedarschema") if r == "SCHEMA" else r for r in rest]
    proc = _cli(name, "/dev/zero", *rest)
    assert proc.returncode == 2 and proc.stderr.startswith("/dev/zero: error:") and "device" in proc.stderr


def test_files_over_the_size_cap(inputs):
    big = inputs / "big.cedar"
    big.write_text("permit (principal, action, resource);\n" * 2000)  # about 76 KB
    env = {MAX_INPUT_ENV: "0.05"}  # 50 KiB
    for args in (("parse", big), ("format", big), ("validate", big, "-s", inputs / "s.cedarschema")):
        result = run(*args, env=env)
        assert_one_located_line(result, f"{big}: error:", "input limit", MAX_INPUT_ENV)
    assert run("parse", big).exit_code == 0


# --------------------------------------------------------------------------
# JSON nesting and echoed values


def _nested(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5000, 200_000])
def test_json_nested_too_deeply_names_the_file(inputs, depth):
    deep = "[" * depth + "1" + "]" * depth
    (inputs / "deep.json").write_text(f'[{{"uid": {{"type": "User", "id": "a"}}, "attrs": {{"x": {deep}}}, '
                                      '"parents": []}]')
    result = run("authorize", "-p", inputs / "p.cedar", "-e", inputs / "deep.json", "-r", inputs / "r.json")
    assert_one_located_line(result, f"{inputs / 'deep.json'}", "nested")
    (inputs / "deep_request.json").write_text(json.dumps({**REQUEST, "context": {"x": 0}})[:-2] + deep + "}}")
    result = run("authorize", "-p", inputs / "p.cedar", "-e", inputs / "e.json", "-r", inputs / "deep_request.json")
    assert_one_located_line(result, f"{inputs / 'deep_request.json'}", "nested")
    (inputs / "deep.schema.json").write_text('{"": {"entityTypes": {}, "actions": {}, "x": ' + deep + "}}")
    result = run("validate", inputs / "p.cedar", "-s", inputs / "deep.schema.json")
    assert_one_located_line(result, f"{inputs / 'deep.schema.json'}", "nested")


def test_json_as_deep_as_cedar_accepts_is_read(inputs):
    value = _nested(MAX_JSON_DEPTH - 4)  # the list, the entity, attrs and x make 4 more levels
    (inputs / "deep.json").write_text(json.dumps(
        [{"uid": {"type": "U", "id": "a"}, "attrs": {"x": value}, "parents": []}]))
    (inputs / "r.json").write_text(json.dumps({**REQUEST, "principal": 'U::"a"'}))
    result = run("authorize", "-p", inputs / "p.cedar", "-e", inputs / "deep.json", "-r", inputs / "r.json")
    assert result.exit_code == 0, result.output


HUGE = "x" * 700_000


@pytest.mark.parametrize("entities, path", [
    ([{"uid": {"type": "User", "id": "a"}, "attrs": {"name": [HUGE]}, "parents": []}], "[0].attrs.name"),
    ([{"uid": {"type": HUGE, "id": "a"}, "attrs": {}, "parents": []}], "[0].uid"),
    ([{"uid": {"type": "User", "id": "a"}, "attrs": {"name": "a", HUGE: 1}, "parents": []}], "[0].attrs."),
    ([{"uid": {"type": "User", "id": "a"}, HUGE: 1, "attrs": {}, "parents": []}], "[0]."),
    ([{"uid": {"type": "User", "id": "a"}, "attrs": {"name": {"__extn": {"fn": HUGE, "arg": "1"}}},
       "parents": []}], "[0].attrs.name"),
    ([{"uid": {"type": "User", "id": "a"}, "attrs": {"name": {"__extn": {"fn": "decimal", "arg": HUGE}}},
       "parents": []}], "[0].attrs.name"),
    ([{"uid": {"type": "User", "id": HUGE}, "attrs": {"name": "a"}, "parents": []},
      {"uid": {"type": "User", "id": HUGE}, "attrs": {"name": "b"}, "parents": []}], "[1]"),
])
def test_type_errors_never_echo_the_whole_value(inputs, entities, path):
    (inputs / "e.json").write_text(json.dumps(entities))
    result = run("authorize", "-p", inputs / "p.cedar", "-e", inputs / "e.json", "-s", inputs / "s.cedarschema",
                 "-r", inputs / "r.json")
    assert_one_located_line(result, f"{inputs / 'e.json'}: {path}")
    assert len(result.stderr) < 2 * MAX_LINE


def test_a_huge_request_value_is_not_echoed(inputs):
    (inputs / "r.json").write_text(json.dumps({**REQUEST, "principal": HUGE}))
    result = run("authorize", "-p", inputs / "p.cedar", "-e", inputs / "e.json", "-r", inputs / "r.json")
    assert_one_located_line(result, f"{inputs / 'r.json'}: principal")
    assert len(result.stderr) < 2 * MAX_LINE


def test_a_huge_schema_name_is_not_echoed(inputs):
    (inputs / "s.json").write_text(json.dumps({"": {"entityTypes": {HUGE + "!": {}}, "actions": {}}}))
    result = run("validate", inputs / "p.cedar", "-s", inputs / "s.json")
    assert_one_located_line(result, f"{inputs / 's.json'}: ")
    assert len(result.stderr) < 2 * MAX_LINE


def test_a_huge_policy_line_is_shown_as_a_window(inputs):
    (inputs / "long.cedar").write_text("permit (principal, action, resource) when { " + "1 + " * 100_000 + "};")
    result = run("parse", inputs / "long.cedar")
    assert result.exit_code == 2
    assert all(len(line) <= MAX_LINE for line in result.stderr.splitlines())


# --------------------------------------------------------------------------
# git revisions and empty filters


@pytest.mark.parametrize("rev", ["--output=/tmp/x", "-p", "-"])
def test_a_git_revision_that_looks_like_an_option_is_refused(inputs, rev):
    result = run("diff", f"git:{rev}:p.cedar", inputs / "p.cedar", "-s", inputs / "s.cedarschema")
    assert_one_located_line(result, "git: error:", "cannot start with '-'")


@pytest.mark.parametrize("option", ["--principal-type", "--action", "--resource-type"])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_filter_is_a_usage_error(inputs, option, value):
    for command in (("check",), ("audit",), ("diff", inputs / "p.cedar")):
        name, *rest = command
        result = run(name, inputs / "p.cedar", *rest, "-s", inputs / "s.cedarschema", option, value)
        assert result.exit_code == 2 and "must not be empty" in result.output, result.output


def test_other_empty_options_are_usage_errors(inputs):
    for args in (("check", inputs / "p.cedar", "--policy", ""), ("whatif", inputs / "p.cedar", "--remove", ""),
                 ("ask", inputs / "p.cedar", "-q", "")):
        result = run(*args, "-s", inputs / "s.cedarschema")
        assert result.exit_code == 2 and "must not be empty" in result.output, result.output


@pytest.mark.parametrize("budget", ["nan", "inf", "1e308", "86401"])
@pytest.mark.parametrize("command", ["access", "diff", "whatif"])
def test_a_describe_budget_no_solver_can_spend_is_a_usage_error(inputs, command, budget):
    """It became Z3 resource units by int(), an internal error for nan and
    inf (found by the fuzzer, seed 202 on access)."""
    rest = {"access": [], "diff": [inputs / "p.cedar"], "whatif": ["--add", inputs / "t.cedar"]}[command]
    result = run(command, inputs / "p.cedar", *rest, "-s", inputs / "s.cedarschema", "--describe-budget", budget)
    assert result.exit_code == 2 and "--describe-budget" in result.output, result.output


@pytest.mark.parametrize("schema", [
    "entity U = " + "{a: " * 5000 + "Long" + "}" * 5000 + ";\naction v appliesTo {principal: U, resource: U};",
    "entity U = {a: " + "Set<" * 5000 + "Long" + ">" * 5000 + "};\naction v appliesTo {principal: U, resource: U};",
], ids=["records", "sets"])
def test_a_schema_nested_too_deeply_names_the_file(inputs, schema):
    (inputs / "deep.cedarschema").write_text(schema)
    result = run("validate", inputs / "p.cedar", "-s", inputs / "deep.cedarschema")
    assert_one_located_line(result, f"{inputs / 'deep.cedarschema'}: error:", "nested too deeply")


def test_formatting_a_policy_nested_too_deeply_names_the_file(inputs):
    (inputs / "deep.cedar").write_text("permit (principal, action, resource) when { " + "[" * 195 + "1"
                                       + "]" * 195 + " == [1] };")
    result = run("format", inputs / "deep.cedar")
    assert_one_located_line(result, f"{inputs / 'deep.cedar'}: error:", "nested too deeply")


def test_a_file_name_too_long_is_one_bounded_line(inputs):
    result = run("check", "x" * 5000, "-s", inputs / "s.cedarschema")
    assert_one_located_line(result, "error:")
    result = run("authorize", "-p", inputs / "p.cedar", "-e", "y" * 5000, "-r", inputs / "r.json")
    assert_one_located_line(result)  # click's usage error, bounded


@pytest.mark.parametrize("args, line", [
    (["audit", "POLICIES", "-s", "nope.cedarschema"], "nope.cedarschema: error: no such file or folder"),
    (["audit", "POLICIES", "-s", "FOLDER"], "FOLDER: error: is a folder, where a file belongs"),
    (["authorize", "-p", "POLICIES", "--entities", "missing.json", "--request", "missing.json"],
     "missing.json: error: no such file or folder"),
])
def test_a_missing_input_file_is_one_line_naming_it(tmp_path, monkeypatch, args, line):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.cedar").write_text(POLICY)
    (tmp_path / "dir").mkdir()
    args = [{"POLICIES": "p.cedar", "FOLDER": "dir"}.get(a, a) for a in args]
    line = line.replace("FOLDER", "dir")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr.strip() == line


@pytest.mark.parametrize("command", [("validate",), ("audit",), ("ask", "-q", "permit(principal, action, resource);")])
def test_an_empty_policy_path_is_a_usage_error(inputs, command):
    """"" would name the current folder: an empty variable in a script, never
    a choice, so it is refused rather than read."""
    name, *rest = command
    proc = _cli(name, inputs / "p.cedar", "", "-s", inputs / "s.cedarschema", *rest)
    assert proc.returncode == 2, proc.stderr
    assert "an empty path names no file or folder" in proc.stderr
