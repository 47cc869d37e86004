"""The `cedarscope` command line, end to end: click's CliRunner for every
command and its exit codes, plus one real `python -m cedarscope` process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cedarscope.analyzer.cli import cli
from tests.support.cli import run
from tests.support.corpus import CORPUS

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SCHEMA = EXAMPLES / "schema.cedarschema"
POLICIES = EXAMPLES / "policies.cedar"
POLICIES_V2 = EXAMPLES / "policies_v2.cedar"
ENTITIES = EXAMPLES / "entities.json"
REQUEST = EXAMPLES / "request.json"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def authorize(request: dict | Path, *extra: object, policies: Path = POLICIES, tmp_path=None):
    if isinstance(request, dict):
        request = write(tmp_path, "request.json", json.dumps(request))
    return run("authorize", "--policies", policies, "--entities", ENTITIES, "--schema", SCHEMA,
               "--request", request, *extra)


# --------------------------------------------------------------------------
# The group


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == "cedarscope 0.1.0"


@pytest.mark.parametrize("command", [[], ["parse"], ["format"], ["validate"], ["authorize"],
                                     ["test"]])
def test_help_on_every_command(command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert result.output.startswith("Usage: ")


ANALYSIS_COMMANDS = ["check", "equivalent", "implies", "disjoint", "diff", "audit", "ask", "whatif"]


def test_analysis_commands_are_registered_on_the_group():
    listed = run("--help").output
    for command in ANALYSIS_COMMANDS:
        assert f"  {command} " in listed
        result = run(command, "--help")
        assert result.exit_code == 0 and result.output.startswith(f"Usage: cedarscope {command} ")


def test_front_end_commands_do_not_load_the_solver():
    code = ("import sys; from click.testing import CliRunner; from analyzer.cli import cli; "
            "r = CliRunner().invoke(cli, ['parse', 'examples/policies.cedar']); "
            "print(r.exit_code, 'z3' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.split() == ["0", "False"], proc.stderr


def test_usage_errors_exit_2():
    assert run("no-such-command").exit_code == 2
    assert run("parse").exit_code == 2  # missing argument
    assert run("parse", "does/not/exist.cedar").exit_code == 2
    assert run("validate", POLICIES).exit_code == 2  # --schema is required


def test_internal_errors_are_reported_as_bugs_with_exit_4(monkeypatch):
    import cedarscope.lang.authorizer

    def broken(*args):
        raise RuntimeError("boom")
    monkeypatch.setattr(cedarscope.lang.authorizer, "is_authorized", broken)
    result = CliRunner().invoke(cli, ["authorize", "-p", str(POLICIES), "-e", str(ENTITIES),
                                      "-s", str(SCHEMA), "-r", str(REQUEST)])
    assert result.exit_code == 4
    assert "internal error" in result.stderr and "RuntimeError: boom" in result.stderr


# --------------------------------------------------------------------------
# parse


def test_parse_counts():
    result = run("parse", POLICIES)
    assert result.exit_code == 0
    assert result.output == "ok: 1 file, 5 policies, 0 templates\n"


def test_parse_folder_counts_templates(tmp_path):
    write(tmp_path, "a.cedar", 'permit (principal == ?principal, action, resource);\n')
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "b.cedar", "forbid (principal, action, resource);\n"
                                       "permit (principal, action, resource);\n")
    result = run("parse", tmp_path)
    assert result.exit_code == 0
    assert result.output == "ok: 2 files, 2 policies, 1 template\n"


def test_parse_syntax_error_is_located_with_a_caret(tmp_path):
    bad = write(tmp_path, "bad.cedar", 'permit (principal, action, resource)\nwhen { principal.age > };\n')
    result = run("parse", bad)
    assert result.exit_code == 2
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{bad}:2:")
    assert "^" in result.stderr


def test_parse_reports_every_error_in_every_file(tmp_path):
    a = write(tmp_path, "a.cedar", "permit (principal, action, resource) when { 1 + };\n"
                                   "forbid (principal);\n")
    b = write(tmp_path, "b.cedar", "permit (principal, action resource);\n")
    result = run("parse", tmp_path)
    assert result.exit_code == 2
    located = [line.split(": error:")[0] for line in result.stderr.splitlines() if ": error:" in line]
    assert [loc.rsplit(":", 2)[0] for loc in located] == [str(a), str(a), str(b)]
    assert result.stderr.count("^") == 3


def test_parse_reports_duplicate_ids_across_files():
    # v1 and v2 of the example both use the same @id names
    result = run("parse", POLICIES, POLICIES_V2)
    assert result.exit_code == 2
    assert "owner-full-access" in result.stderr


def test_non_utf8_and_unreadable_inputs_exit_2(tmp_path):
    latin1 = write(tmp_path, "latin1.cedar", b'permit (principal, action, resource)\nwhen { "caf\xe9" };')
    result = run("parse", latin1)
    assert result.exit_code == 2 and "UTF-8" in result.stderr
    result = run("authorize", "-p", POLICIES, "-e", ENTITIES, "-s", SCHEMA, "-r", tmp_path)
    assert result.exit_code == 2  # a folder where a file is expected


# --------------------------------------------------------------------------
# format


def test_format_prints_check_and_write(tmp_path):
    messy = write(tmp_path, "messy.cedar",
                  'permit(principal==User::"alice",action,resource)when{resource.public};\n')
    printed = run("format", messy)
    assert printed.exit_code == 0
    assert printed.output != messy.read_text()
    assert printed.output.startswith("permit (")
    check = run("format", "--check", messy)
    assert check.exit_code == 1 and f"would reformat {messy}" in check.output
    wrote = run("format", "--write", messy)
    assert wrote.exit_code == 0 and messy.read_text() == printed.output
    assert run("format", "--check", messy).exit_code == 0
    assert run("format", "--check", "--write", messy).exit_code == 2


def test_bundled_examples_are_formatted():
    result = run("format", "--check", POLICIES, POLICIES_V2)
    assert result.exit_code == 0, result.output


def test_format_check_on_bad_syntax_exits_2(tmp_path):
    bad = write(tmp_path, "bad.cedar", "permit (principal, action);")
    assert run("format", "--check", bad).exit_code == 2


# --------------------------------------------------------------------------
# validate


def test_validate_example_is_valid():
    for policies in (POLICIES, POLICIES_V2):
        result = run("validate", policies, "--schema", SCHEMA)
        assert result.exit_code == 0, result.output
        assert result.output.startswith("ok: 5 policies valid")


def test_validate_reports_type_errors_with_exit_1(tmp_path):
    bad = write(tmp_path, "bad.cedar", "permit (principal, action, resource)\n"
                                        "when { principal.clearance == \"high\" };\n")
    result = run("validate", bad, "--schema", SCHEMA)
    assert result.exit_code == 1
    assert str(bad) in result.output
    as_json = json.loads(run("validate", bad, "--schema", SCHEMA, "--format", "json").output)
    assert as_json["valid"] is False and as_json["diagnostics"][0]["file"] == str(bad)


def test_validate_bad_schema_exits_2(tmp_path):
    schema = write(tmp_path, "bad.cedarschema", "entity User {")
    assert run("validate", POLICIES, "--schema", schema).exit_code == 2


# --------------------------------------------------------------------------
# authorize


def test_authorize_example_names_the_determining_policy():
    result = authorize(REQUEST)
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "decision: allow"
    assert f"permit team-can-view at {POLICIES}:6" in result.output


def test_authorize_without_a_schema():
    result = run("authorize", "-p", POLICIES, "-e", ENTITIES, "-r", REQUEST)
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "decision: allow"


def test_authorize_reports_erroring_policies(tmp_path):
    policies = write(tmp_path, "p.cedar", 'permit (principal, action, resource);\n'
                                          '@id("needs-level")\n'
                                          'forbid (principal, action, resource)\n'
                                          'when { principal.level > 3 };\n')
    result = run("authorize", "-p", policies, "-e", ENTITIES, "-r", REQUEST, "-f", "json")
    out = json.loads(result.output)
    assert out["decision"] == "allow"
    assert [(e["policy"], e["line"]) for e in out["errors"]] == [("needs-level", 2)]
    assert out["errors"][0]["message"]


def test_authorize_json(tmp_path):
    req = {"principal": 'User::"alice"', "action": 'Action::"delete"',
           "resource": {"type": "Document", "id": "roadmap"}, "context": {"mfa": False}}
    out = json.loads(authorize(req, "--format", "json", tmp_path=tmp_path).output)
    assert out["decision"] == "deny"
    assert [r["policy"] for r in out["reasons"]] == ["delete-needs-mfa"]
    assert out["reasons"][0]["line"] == 25 and out["errors"] == []


@pytest.mark.parametrize("principal", ["alice", "bob"])
@pytest.mark.parametrize("action", ["view", "edit", "delete"])
@pytest.mark.parametrize("policies", [POLICIES, POLICIES_V2])
def test_authorize_agrees_with_the_official_engine(tmp_path, principal, action, policies):
    cedarpy = pytest.importorskip("cedarpy", reason="cedarpy (the official engine) not installed")
    req = {"principal": f'User::"{principal}"', "action": f'Action::"{action}"',
           "resource": 'Document::"roadmap"', "context": {"mfa": action == "delete"}}
    ours = json.loads(authorize(req, "-f", "json", policies=policies, tmp_path=tmp_path).output)
    theirs = cedarpy.is_authorized(req, policies.read_text(), ENTITIES.read_text(),
                                   SCHEMA.read_text())
    assert ours["decision"] == ("allow" if theirs.allowed else "deny")
    # cedarpy ids policies by position; ours honours @id.  Compare positions.
    ids = [line.split('"')[1] for line in policies.read_text().splitlines()
           if line.startswith("@id(")]
    assert sorted(ids.index(r["policy"]) for r in ours["reasons"]) == \
        sorted(int(p[len("policy"):]) for p in theirs.diagnostics.reasons)


def test_authorize_with_template_links(tmp_path):
    policies = write(tmp_path, "t.cedar",
                     '@id("viewer")\npermit (principal == ?principal, action == Action::"view", '
                     "resource in ?resource);\n")
    links = write(tmp_path, "links.json", json.dumps([
        {"template_id": "viewer", "link_id": "bob-views-eng",
         "args": {"?principal": 'User::"bob"', "?resource": {"type": "Folder", "id": "eng-docs"}}}]))
    req = {"principal": 'User::"bob"', "action": 'Action::"view"',
           "resource": 'Document::"roadmap"', "context": {"mfa": False}}
    result = authorize(req, "--links", links, policies=policies, tmp_path=tmp_path)
    assert result.exit_code == 0
    assert "decision: allow" in result.output
    assert f"permit bob-views-eng at {policies}:1" in result.output
    bad_links = write(tmp_path, "bad-links.json", json.dumps([
        {"template_id": "nope", "link_id": "x", "args": {}}]))
    bad = authorize(req, "--links", bad_links, policies=policies, tmp_path=tmp_path)
    assert bad.exit_code == 2 and "no template with id 'nope'" in bad.stderr


def test_a_link_to_a_static_policy_says_it_is_not_a_template():
    from cedarscope.lang.diagnostics import CedarError
    from cedarscope.lang.links import with_links
    from cedarscope.lang.parser import parse_policies

    ps = parse_policies('@id("broad")\npermit(principal, action, resource);')
    with pytest.raises(CedarError, match="'broad' is a static policy .*, not a template"):
        with_links(ps, [{"template_id": "broad", "link_id": "x", "args": {}}], "links.json")


@pytest.mark.parametrize("content, message", [
    ('{"principal": "User::\\"alice\\"",\n "action": }', "invalid JSON"),
    ("[1, 2]", "expected a JSON object"),
])
def test_authorize_bad_request_file_exits_2(tmp_path, content, message):
    request = write(tmp_path, "r.json", content)
    result = authorize(request)
    assert result.exit_code == 2
    assert result.stderr.startswith(str(request)) and message in result.stderr


def test_authorize_request_outside_the_schema_exits_2(tmp_path):
    req = {"principal": 'Document::"roadmap"', "action": 'Action::"view"',
           "resource": 'Document::"roadmap"', "context": {"mfa": False}}
    result = authorize(req, tmp_path=tmp_path)
    assert result.exit_code == 2 and result.stdout == ""


def test_authorize_bad_entities_exit_2(tmp_path):
    entities = write(tmp_path, "e.json", json.dumps([
        {"uid": {"type": "User", "id": "alice"}, "attrs": {"department": "x", "clearance": "high"},
         "parents": []}]))
    result = run("authorize", "-p", POLICIES, "-e", entities, "-s", SCHEMA, "-r", REQUEST)
    assert result.exit_code == 2 and str(entities) in result.stderr


# --------------------------------------------------------------------------
# The main job on the bundled example: diff v1 against v2


def test_diff_of_the_example_replays_in_the_official_engine():
    cedarpy = pytest.importorskip("cedarpy", reason="cedarpy (the official engine) not installed")
    result = run("diff", POLICIES, POLICIES_V2, "--schema", SCHEMA, "--format", "json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.output)
    assert (report["tool"], report["command"], report["result"]) == ("cedarscope", "diff", "violated")
    kinds = {f["kind"] for f in report["findings"]}
    assert kinds == {"gained", "lost"}  # v2 lets engineering edit, and tightens clearance
    assert any(f["kind"] == "gained" and f["environment"]["action"] == 'Action::"edit"'
               for f in report["findings"])
    for f in report["findings"]:
        cx = f["counterexample"]
        for side, policies in (("old", POLICIES), ("new", POLICIES_V2)):
            answer = cedarpy.is_authorized(cx["request"], policies.read_text(), cx["entities"],
                                           SCHEMA.read_text())
            assert ("allow" if answer.allowed else "deny") == cx["decisions"][side], (side, f)


# --------------------------------------------------------------------------
# test (Cedar integration-test files)


def _corpus_tests() -> Path:
    tests = CORPUS / "integration-tests" / "tests"
    if not tests.exists():
        pytest.skip(f"../shared/corpus not present: {tests}")
    return tests


def test_test_command_runs_the_hand_written_integration_tests():
    tests = _corpus_tests()
    result = run("test", tests / "decimal", tests / "ip")
    last = result.output.splitlines()[-1]
    passed, failed = int(last.split()[0]), int(last.split()[2])
    assert last == f"{passed} passed, {failed} failed"
    assert passed > 0
    assert result.exit_code == (1 if failed else 0)


def test_test_command_reports_a_failing_request(tmp_path):
    tests = _corpus_tests()
    data = json.loads((tests / "decimal" / "1.json").read_text())
    data["requests"][0]["decision"] = "deny" if data["requests"][0]["decision"] == "allow" else "allow"
    broken = write(tmp_path, "broken.json", json.dumps(data))
    result = run("test", broken, "--root", CORPUS / "integration-tests")
    assert result.exit_code == 1
    assert any(line.startswith(f"FAIL {broken}") for line in result.output.splitlines())
    assert result.output.splitlines()[-1].endswith(" failed")
    assert not result.output.splitlines()[-1].endswith(" 0 failed")


def test_test_command_reads_a_tar_archive_of_tests(tmp_path):
    import tarfile
    archive = CORPUS / "integration-tests" / "corpus-tests.tar.gz"
    if not archive.exists():
        pytest.skip(f"../shared/corpus not present: {archive}")
    small = tmp_path / "two.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(small, "w:gz") as dst:
        for i, member in enumerate(src):
            if i >= 8:  # the first two tests: 4 files each
                break
            dst.addfile(member, src.extractfile(member))
    result = run("test", small)
    assert result.output == "16 passed, 0 failed\n"
    assert result.exit_code == 0


def test_test_command_counts_an_unreadable_test_as_a_failure(tmp_path):
    write(tmp_path, "policies.cedar", "permit (principal, action, resource);")
    broken = write(tmp_path, "t.json", json.dumps({
        "policies": "policies.cedar", "entities": "missing.json", "shouldValidate": False,
        "requests": []}))
    result = run("test", broken)
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "0 passed, 1 failed"
    assert "missing.json" in result.output


# --------------------------------------------------------------------------
# The helpers analysis commands are built from


@pytest.mark.parametrize("verdict, code", [("holds", 0), ("violated", 1), ("unknown", 3)])
@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "markdown", "html"])
def test_emit_report_prints_and_exits_with_the_verdict(verdict, code, fmt):
    import click

    from cedarscope.analyzer.cli import emit_report, format_option
    from cedarscope.reports.findings import Finding, Report

    @click.command()
    @format_option()
    def probe(fmt):
        finding = Finding("dead", "policy3 never matches", ("policy3",))
        emit_report(Report("audit", verdict, (finding,) if verdict == "violated" else ()), fmt)

    result = CliRunner().invoke(probe, ["--format", fmt])
    assert result.exit_code == code, result.output
    assert verdict in result.output
    if fmt == "json":
        assert json.loads(result.output)["result"] == verdict


# --------------------------------------------------------------------------
# Bad input never crashes: mutate each example input and run `authorize`


def _mutated_inputs_never_crash(target: str, position: int, cut: int, junk: str) -> None:
    import tempfile

    from hypothesis import note
    files = {"policies": POLICIES, "entities": ENTITIES, "schema": SCHEMA, "request": REQUEST}
    with tempfile.TemporaryDirectory() as tmp:
        paths = dict(files)
        text = files[target].read_text()
        at = position % (len(text) + 1)
        mutated = text[:at] + junk + text[at + cut:]
        note(f"{target} at {at}: cut {cut}, insert {junk!r}")
        paths[target] = write(Path(tmp), files[target].name, mutated)
        result = CliRunner().invoke(cli, ["authorize", "-p", str(paths["policies"]),
                                          "-e", str(paths["entities"]), "-s", str(paths["schema"]),
                                          "-r", str(paths["request"])])
        assert result.exit_code in (0, 2), result.output + result.stderr
        assert "Traceback" not in result.output + result.stderr
        if result.exit_code == 2:
            assert result.stdout == "" and result.stderr.strip()


MUTATION = dict(
    target=st.sampled_from(["policies", "entities", "schema", "request"]),
    position=st.integers(min_value=0, max_value=4000),
    cut=st.integers(min_value=0, max_value=8),
    junk=st.text(alphabet=st.sampled_from('{}[]()";:,.=!&|<>@?*\\-0123456789 \nabxyzé\x00'),
                 max_size=4),
)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(**MUTATION)
def test_mutated_inputs_never_crash(target, position, cut, junk):
    _mutated_inputs_never_crash(target, position, cut, junk)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None)
@given(**MUTATION)
def test_mutated_inputs_never_crash_long(target, position, cut, junk):
    _mutated_inputs_never_crash(target, position, cut, junk)


# --------------------------------------------------------------------------
# A real process


def test_python_m_cedarscope_subprocess():
    proc = subprocess.run(
        [sys.executable, "-m", "cedarscope", "authorize", "--policies", str(POLICIES),
         "--entities", str(ENTITIES), "--schema", str(SCHEMA), "--request", str(REQUEST)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("decision: allow\n")
    assert "\x1b[" not in proc.stdout  # plain text on a pipe
    bad = subprocess.run([sys.executable, "-m", "cedarscope", "parse", "/nonexistent.cedar"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


# --------------------------------------------------------------------------
# The benchmark harness (without writing bench/results.json)


def test_bench_authorize_engines_agree_on_the_example():
    pytest.importorskip("cedarpy", reason="cedarpy (the official engine) not installed")
    from bench.bench_authorize import Case, Side, prepare_cedarpy, prepare_ours
    requests = [json.loads(REQUEST.read_text()),
                {**json.loads(REQUEST.read_text()), "action": 'Action::"delete"'}]
    case = Case("examples", POLICIES.read_text(), ENTITIES.read_text(), SCHEMA.read_text(),
                requests, ["allow", "deny"])
    broken = Case("broken", "permit (", "[]", None, requests, ["allow", "deny"])
    for prepare in (prepare_ours, prepare_cedarpy):
        side = Side()
        side.add(prepare, case)
        side.add(prepare, broken)
        assert (side.correct, side.requests, side.total, side.failed_cases) == (2, 2, 4, 1)
        assert side.rate(min_seconds=0.01) > 0


def test_bench_table_and_machine_info():
    from bench.__main__ import benchmark_names, machine, table
    assert "authorize" in benchmark_names()
    info = machine()
    assert info["nproc"] >= 1 and info["python"] and info["cedarpy"]
    rendered = table({"authorize": {"rows": [{"name": "x: requests/s", "ours": 10.0,
                                              "baseline": 5.0, "unit": "req/s"}]},
                      "broken": {"rows": [], "error": "ValueError: nope"}})
    assert rendered.row_count == 2
