"""The analysis commands of `cedarscope`, end to end through click's
CliRunner: exit codes, the JSON contract of DESIGN.md, the other renderers,
examples on disk and confirmed by cedarpy, git sources, narrowing to one
environment, whatif, ask, properties, and no traceback on bad input.

The store is tests/fixtures/cli: users in teams, documents with an owner and
a secret bit, actions view and edit.  policies_v2.cedar also lets the eng
team edit, so diff(v1, v2) gains exactly edit by eng members.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run
from tests.support.cli import run_json as support_run_json

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cli"
SCHEMA = FIXTURES / "schema.cedarschema"
V1 = FIXTURES / "policies.cedar"
V2 = FIXTURES / "policies_v2.cedar"
AUDIT = Path(__file__).resolve().parent / "fixtures" / "audit"

ASSUME_REQUEST_ENTITIES = ("--entities-exist", "request")

KINDS = {"gained", "lost", "always-allows", "always-denies", "may-error", "dead", "always-matches",
         "redundant", "shadowed", "overridden", "forbid-may-error", "over-permissive",
         "property-violated", "reachable"}


def run_json(*args) -> tuple[int, dict]:
    """The JSON report of an analysis command, checked against the contract."""
    code, report = support_run_json(*args)
    check_contract(report, code)
    return code, report


# --------------------------------------------------------------------------
# The JSON contract (DESIGN.md)


def check_uid(uid) -> None:
    assert isinstance(uid, dict) and set(uid) == {"type", "id"}, uid
    assert isinstance(uid["type"], str) and isinstance(uid["id"], str)


def check_counterexample(cx: dict) -> None:
    # `links`: the template links an example of a template analysed for every link needs
    assert set(cx) - {"links"} == {"request", "entities", "decisions"}
    for link in cx.get("links", []):
        assert set(link) == {"template_id", "link_id", "args"}
    req = cx["request"]
    assert set(req) == {"principal", "action", "resource", "context"}
    for part in ("principal", "action", "resource"):
        check_uid(req[part])
    assert isinstance(req["context"], dict)
    assert isinstance(cx["entities"], list)
    for e in cx["entities"]:
        assert {"uid", "attrs", "parents"} <= set(e) <= {"uid", "attrs", "parents", "tags"}, e
        check_uid(e["uid"])
        assert isinstance(e["attrs"], dict)
        for p in e["parents"]:
            check_uid(p)
    assert cx["decisions"] and all(d in ("allow", "deny") for d in cx["decisions"].values())


def check_contract(report: dict, exit_code: int) -> None:
    assert list(report) == ["tool", "version", "schema_version", "command", "result", "findings", "assumptions",
                            "stats"]
    assert report["assumptions"] and all(isinstance(a, str) and a for a in report["assumptions"])
    assert report["tool"] == "cedarscope" and isinstance(report["version"], str)
    assert report["result"] in ("holds", "violated", "unknown")
    assert exit_code == {"holds": 0, "violated": 1, "unknown": 3}[report["result"]]
    for f in report["findings"]:
        assert list(f) == ["kind", "policies", "related", "locations", "environment", "message", "edits",
                           "description", "description_form", "examples", "severity",
                           "counterexample"]
        assert f["severity"] in ("error", "warning", "note")
        assert f["counterexample"] == (f["examples"][0] if f["examples"] else None)
        if report["command"] in ("diff", "whatif"):  # each finding a change: blamed, described, exemplified
            assert f["policies"] and set(f["edits"]) == set(f["policies"])
            assert f["examples"] and (f["description"] is None) == (f["description_form"] is None)
        assert f["kind"] in KINDS
        assert all(isinstance(p, str) for p in f["policies"] + f["related"])
        for loc in f["locations"]:
            assert set(loc) == {"file", "line", "column"}
            assert isinstance(loc["file"], str) and loc["line"] >= 1 and loc["column"] >= 1
        if f["environment"] is not None:
            assert set(f["environment"]) == {"principal_type", "action", "resource_type"}
        assert isinstance(f["message"], str) and f["message"]
        if f["counterexample"] is not None:
            check_counterexample(f["counterexample"])
    stats = report["stats"]
    assert isinstance(stats["environments"], int) and isinstance(stats["queries"], int)
    assert isinstance(stats["solver_seconds"], (int, float))


# --------------------------------------------------------------------------
# check


def test_check_holds_exits_0():
    # the policies read the resource's attributes: they error where it is missing from the store
    code, report = run_json("check", V1, "--schema", SCHEMA, *ASSUME_REQUEST_ENTITIES)
    assert (code, report["result"], report["findings"]) == (0, "holds", [])
    assert report["command"] == "check" and report["stats"]["environments"] == 2
    code, report = run_json("check", V1, "--schema", SCHEMA)
    assert code == 1 and {f["kind"] for f in report["findings"]} == {"may-error"}


def test_check_violated_exits_1_with_a_counterexample_per_environment():
    code, report = run_json("check", V1, "--schema", SCHEMA, "--property", "always-denies")
    assert code == 1
    assert {f["environment"]["action"] for f in report["findings"]} == {'Action::"view"', 'Action::"edit"'}
    assert all(f["counterexample"]["decisions"] == {"policies": "allow"} for f in report["findings"])


def test_check_one_policy():
    code, report = run_json("check", V1, "-s", SCHEMA, "--policy", "owner", "-P", "never-matches")
    assert code == 1 and {f["policies"][0] for f in report["findings"]} == {"owner"}
    assert report["findings"][0]["locations"][0]["line"] == 1  # the policy starts at its @id
    code, _ = run_json("check", V1, "-s", SCHEMA, "--policy", "no-secret-edit", "-P", "never-errors",
                       *ASSUME_REQUEST_ENTITIES)
    assert code == 0
    code, report = run_json("check", V1, "-s", SCHEMA, "--policy", "team-view", "-P", "always-matches")
    assert code == 1  # not every user is in Team::"eng"


def test_check_properties_file():
    code, report = run_json("check", V1, "-s", SCHEMA, "--properties", FIXTURES / "properties.cedar")
    assert code == 1
    violated = [f for f in report["findings"] if f["kind"] == "property-violated"]
    assert len(violated) == 1 and "eng-edits" in violated[0]["message"]
    assert violated[0]["counterexample"]["decisions"] == {"policies": "deny"}


def test_unknown_on_timeout_never_holds():
    code, report = run_json("check", FIXTURES / "hard.cedar", "-s", SCHEMA, "-P", "always-denies",
                            "--timeout", "0.001")
    assert (code, report["result"]) == (3, "unknown")
    assert report["stats"]["unknown"]


HARD = FIXTURES / "hard.cedar"


@pytest.mark.parametrize("args", [
    ("audit", HARD),
    ("diff", V1, HARD),
    ("whatif", HARD, "--remove", "cubes"),
    ("ask", HARD, "-q", "permit(principal, action, resource);"),
    ("check", HARD, "--policy", "cubes", "-P", "never-matches"),
    ("check", HARD, "--properties", FIXTURES / "properties.cedar"),
], ids=lambda a: " ".join(str(x) for x in a[:1] + a[2:]).replace(str(FIXTURES) + "/", ""))
def test_every_command_says_unknown_when_the_solver_gives_up(args):
    code, report = run_json(*args, "-s", SCHEMA, "--timeout", "0.001")
    assert (code, report["result"]) == (3, "unknown"), report
    assert report["stats"]["unknown"]


# --------------------------------------------------------------------------
# Output formats


def test_other_formats_render():
    args = ("diff", V1, V2, "-s", SCHEMA)
    sarif = run(*args, "--format", "sarif")
    assert sarif.exit_code == 1
    doc = json.loads(sarif.stdout)
    assert doc["version"] == "2.1.0" and doc["runs"][0]["results"]
    markdown = run(*args, "--format", "markdown")
    assert markdown.exit_code == 1 and markdown.stdout.startswith("## cedarscope diff")
    html = run(*args, "--format", "html")
    assert html.exit_code == 1 and "<!DOCTYPE html>" in html.stdout and "gained" in html.stdout
    text = run(*args)
    assert text.exit_code == 1 and 'principal == User::"' in text.stdout


# --------------------------------------------------------------------------
# Relations and diff


def test_relations():
    assert run_json("equivalent", V1, V1, "-s", SCHEMA)[0] == 0
    code, report = run_json("equivalent", V1, V2, "-s", SCHEMA)
    assert code == 1 and {f["environment"]["action"] for f in report["findings"]} == {'Action::"edit"'}
    assert run_json("implies", V1, V2, "-s", SCHEMA)[0] == 0
    assert run_json("implies", V2, V1, "-s", SCHEMA)[0] == 1
    assert run_json("disjoint", V1, V2, "-s", SCHEMA)[0] == 1


def relation_kinds(command: str, first: Path, second: Path) -> set[tuple[str, str]]:
    """(kind, each side's decision) of every finding of a relation."""
    _, report = run_json(command, first, second, "-s", SCHEMA)
    return {(f["kind"], f"{f['counterexample']['decisions']['first']}/{f['counterexample']['decisions']['second']}")
            for f in report["findings"]}


def test_relations_label_their_counterexamples_by_the_sets_that_allow_them():
    """The text says which set allows the request (a relation compares two
    sets, not two versions); JSON keeps the contract's kinds."""
    assert relation_kinds("implies", V2, V1) == {("lost", "allow/deny")}
    assert relation_kinds("equivalent", V2, V1) == {("lost", "allow/deny")}
    assert relation_kinds("equivalent", V1, V2) == {("gained", "deny/allow")}
    assert relation_kinds("disjoint", V1, V2) == {("reachable", "allow/allow")}
    _, report = run_json("disjoint", V1, V1, "-s", SCHEMA)
    for f in report["findings"]:  # a policy both sets hold is one subject
        assert len(f["policies"]) == len(set(f["policies"])), f
    text = run("implies", V2, V1, "-s", SCHEMA).stdout
    assert text.startswith("cedarscope implies: no, the first set allows requests the second denies")
    assert "[only the first allows]" in text and "[lost]" not in text


def test_diff_finds_the_gained_edit_with_distinct_examples():
    code, report = run_json("diff", V1, V2, "-s", SCHEMA, "--max-examples", "2")
    assert code == 1
    kinds = {(f["kind"], f["environment"]["action"]) for f in report["findings"]}
    assert kinds == {("gained", 'Action::"edit"')}
    [change] = report["findings"]  # one change: its examples, which read differently
    examples = change["examples"]
    assert len(examples) == 2 and change["counterexample"] == examples[0]
    assert all(cx["decisions"] == {"old": "deny", "new": "allow"} for cx in examples)
    assert len({json.dumps(cx, sort_keys=True) for cx in examples}) == len(examples)
    code, report = run_json("diff", V1, V2, "-s", SCHEMA, "--max-examples", "1")
    assert [len(f["examples"]) for f in report["findings"]] == [1]


def _cedarpy_decision(policies: Path, example: Path) -> str:
    cedarpy = pytest.importorskip("cedarpy", reason="cedarpy (the official engine) is not installed")
    from cedarscope.analyzer.confirm import linked_text
    from cedarscope.lang.parser import parse_policies

    request = json.loads((example / "request.json").read_text())
    entities = (example / "entities.json").read_text()
    ps = parse_policies(policies.read_text(), str(policies))
    result = cedarpy.is_authorized(request, linked_text(ps), entities, schema=SCHEMA.read_text())
    assert not result.diagnostics.errors, result.diagnostics.errors
    return "allow" if result.decision == cedarpy.Decision.Allow else "deny"


def test_save_examples_are_cedar_json_that_cedarpy_replays(tmp_path):
    out = tmp_path / "examples"
    result = run("diff", V1, V2, "-s", SCHEMA, "--max-examples", "2", "--save-examples", out)
    assert result.exit_code == 1
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert folders and all(f.name.endswith("-gained") for f in folders)
    for folder in folders:
        assert _cedarpy_decision(V1, folder) == "deny"
        assert _cedarpy_decision(V2, folder) == "allow"
    # A second run replaces the first run's examples and leaves other files alone.
    (out / "notes.txt").write_text("mine")
    (out / "001-mine").mkdir(exist_ok=True)
    (out / "001-mine" / "notes.txt").write_text("mine")
    assert run("diff", V1, V2, "-s", SCHEMA, "--max-examples", "1", "--save-examples", out).exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == ["000-gained", "001-mine", "notes.txt"]


def test_confirm_says_cedarpy_agreed():
    pytest.importorskip("cedarpy", reason="cedarpy (the official engine) is not installed")
    code, report = run_json("diff", V1, V2, "-s", SCHEMA, "--max-examples", "2", "--confirm")
    assert code == 1
    confirmed = report["stats"]["confirmed"]
    assert "confirmed by cedarpy" in confirmed
    examples = sum(len(f["examples"]) for f in report["findings"])
    # each example's two decisions, and that the change's description allows it
    assert int(confirmed.split()[0]) == 3 * examples > 0
    assert "confirm_disagreements" not in report["stats"]


# --------------------------------------------------------------------------
# git:REV:path sources


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo,
                   check=True, capture_output=True)


@pytest.fixture
def git_repo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "policies").mkdir(parents=True)
    shutil.copy(SCHEMA, repo / "schema.cedarschema")
    _git(repo, "init", "-q")
    shutil.copy(V1, repo / "policies" / "main.cedar")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "v1")
    shutil.copy(V2, repo / "policies" / "main.cedar")
    _git(repo, "commit", "-q", "-am", "v2")
    return repo


def test_diff_of_git_revisions(git_repo, monkeypatch):
    monkeypatch.chdir(git_repo)
    code, report = run_json("diff", "git:HEAD~1:policies", "policies", "-s", "schema.cedarschema")
    assert code == 1
    assert {(f["kind"], f["environment"]["action"]) for f in report["findings"]} == {("gained", 'Action::"edit"')}
    assert any(loc["file"].startswith("policies") for f in report["findings"] for loc in f["locations"])
    # HEAD is the working tree's version: nothing changed.
    assert run_json("diff", "git:HEAD:policies", "policies", "-s", "schema.cedarschema")[0] == 0


def test_git_paths_are_relative_to_the_current_folder(git_repo, monkeypatch):
    """From a subfolder, as `git show REV:./path` reads them; positional ids
    come out as for the same files in the working tree."""
    (git_repo / "policies" / "nested").mkdir()
    (git_repo / "policies" / "nested" / "a.cedar").write_text(
        'permit(principal, action == Action::"view", resource) when { principal.level > 3 };\n')
    (git_repo / "policies" / "nested-b.cedar").write_text(
        'permit(principal, action == Action::"view", resource) when { principal.level > 9 };\n')
    _git(git_repo, "add", ".")
    _git(git_repo, "commit", "-q", "-m", "v3")
    monkeypatch.chdir(git_repo / "policies")
    for spec in ("git:HEAD~2:.", "git:HEAD~2:main.cedar", "git:HEAD~2:../policies"):
        code, report = run_json("diff", spec, "main.cedar", "-s", "../schema.cedarschema")
        found = {(f["kind"], f["environment"]["action"]) for f in report["findings"]}
        assert found == {("gained", 'Action::"edit"')}, spec
    # --strict: the view grants over every resource are findings, so policy3 shows its id
    _, from_git = run_json("audit", "git:HEAD:.", "-s", "../schema.cedarschema", "--strict")
    _, from_tree = run_json("audit", ".", "-s", "../schema.cedarschema", "--strict")
    assert [f["policies"] for f in from_git["findings"]] == [f["policies"] for f in from_tree["findings"]]
    assert any("policy3" in f["policies"] for f in from_tree["findings"])


def test_bad_git_specs_are_input_errors(git_repo, monkeypatch):
    monkeypatch.chdir(git_repo)
    for spec in ("git:HEAD", "git:no-such-rev:policies", "git:HEAD:missing", "git::policies",
                 "git:HEAD:../..", "git:HEAD:/etc"):
        result = run("diff", spec, "policies", "-s", "schema.cedarschema")
        assert result.exit_code == 2, (spec, result.output)
        assert "error" in result.output


# --------------------------------------------------------------------------
# Narrowing to environments


def test_narrowing_to_one_environment():
    code, report = run_json("check", V1, "-s", SCHEMA, "-P", "always-denies", "--action", "view")
    assert code == 1 and report["stats"]["environments"] == 1
    assert {f["environment"]["action"] for f in report["findings"]} == {'Action::"view"'}
    code, report = run_json("diff", V1, V2, "-s", SCHEMA, "--action", 'Action::"view"')
    assert (code, report["stats"]["environments"]) == (0, 1)
    code, report = run_json("check", V1, "-s", SCHEMA, "--principal-type", "User", "--resource-type", "Doc",
                            *ASSUME_REQUEST_ENTITIES)
    assert (code, report["stats"]["environments"]) == (0, 2)


def test_narrowing_to_nothing_is_a_usage_error():
    for option in (("--principal-type", "Usr"), ("--action", "delete"), ("--resource-type", "User")):
        result = run("check", V1, "-s", SCHEMA, *option)
        assert result.exit_code == 2 and "selects no request environment" in result.output, option


# --------------------------------------------------------------------------
# whatif


def test_whatif_add_and_remove():
    code, report = run_json("whatif", V1, "-s", SCHEMA, "--add", FIXTURES / "add.cedar")
    assert code == 1 and report["command"] == "whatif"
    assert {(f["kind"], f["environment"]["action"]) for f in report["findings"]} == {("gained", 'Action::"edit"')}
    assert all("level-edit" in f["policies"] for f in report["findings"])
    code, report = run_json("whatif", V1, "-s", SCHEMA, "--remove", "team-view")
    assert {(f["kind"], f["environment"]["action"]) for f in report["findings"]} == {("lost", 'Action::"view"')}
    code, report = run_json("whatif", V1, "-s", SCHEMA, "--remove", "no-secret-edit")
    assert {(f["kind"], f["environment"]["action"]) for f in report["findings"]} == {("gained", 'Action::"edit"')}
    assert run("whatif", V1, "-s", SCHEMA, "--remove", "nope").exit_code == 2
    # a typo is a usage error of the flag that names the ids to pick from, never "<whatif>: error"
    result = run("whatif", V1, "-s", SCHEMA, "--remove", "team-veiw")
    assert result.exit_code == 2 and "Invalid value for --remove" in result.output, result.output
    assert "did you mean 'team-view'?" in result.output and "<whatif>" not in result.output
    result = run("check", V1, "-s", SCHEMA, "--policy", "zzz", "-P", "never-matches")
    assert result.exit_code == 2 and "the ids are owner, team-view, no-secret-edit" in result.output, result.output
    assert run("whatif", V1, "-s", SCHEMA, "--add", V1).exit_code == 2  # ids already in use


# --------------------------------------------------------------------------
# ask


def test_ask_yes_and_no():
    code, report = run_json("ask", V1, "-s", SCHEMA, "--question",
                            'permit(principal, action == Action::"edit", resource);')
    assert code == 1 and report["findings"][0]["kind"] == "reachable"
    assert report["findings"][0]["counterexample"]["decisions"] == {"policies": "allow"}
    code, report = run_json("ask", V1, "-s", SCHEMA, "--question",
                            'permit(principal, action == Action::"edit", resource) '
                            'when { resource.secret && !context.mfa };')
    assert (code, report["findings"]) == (0, [])


def test_ask_enumerates_distinct_principals():
    """Regression: each enumerated example was once decoded on its own, so
    the principals the solver told apart were all renamed User::"alice"."""
    code, report = run_json("ask", V1, "-s", SCHEMA, "--action", "view", "--enumerate", "3", "--question",
                            'permit(principal, action == Action::"view", resource);')
    assert code == 1 and len(report["findings"]) == 3
    principals = [json.dumps(f["counterexample"]["request"]["principal"], sort_keys=True)
                  for f in report["findings"]]
    assert len(set(principals)) == len(principals), principals


# --------------------------------------------------------------------------
# audit


def test_audit_clean_store_and_properties():
    code, report = run_json("audit", AUDIT / "clean.cedar", "-s", AUDIT / "schema.cedarschema",
                            *ASSUME_REQUEST_ENTITIES)
    assert (code, report["findings"]) == (0, [])
    code, report = run_json("audit", V1, "-s", SCHEMA, "--properties", FIXTURES / "properties.cedar")
    assert code == 1
    violated = [f for f in report["findings"] if f["kind"] == "property-violated"]
    assert len(violated) == 1 and "eng-edits" in violated[0]["message"]


# --------------------------------------------------------------------------
# Bad input: exit 2 with a message, never a traceback


@pytest.mark.parametrize("args", [
    ("check", FIXTURES / "nope.cedar", "-s", SCHEMA),
    ("check", V1, "-s", FIXTURES / "nope.cedarschema"),
    ("check", V1, "-s", SCHEMA, "--save-schema", "kept.cedarschema"),  # only an inferred schema is saved
    ("check", V1, "-s", SCHEMA, "--policy", "nope", "-P", "never-matches"),
    ("check", V1, "-s", SCHEMA, "--policy", "owner", "-P", "always-denies"),
    ("check", V1, "-s", SCHEMA, "-P", "never-matches"),
    ("check", V1, "-s", SCHEMA, "--timeout", "0"),
    ("check", V1, "-s", V1),
    ("diff", V1, "-s", SCHEMA),
    ("diff", V1, V2, "-s", SCHEMA, "--max-examples", "0"),
    ("whatif", V1, "-s", SCHEMA),
    ("ask", V1, "-s", SCHEMA, "--question", "permit(principal,"),
    ("ask", V1, "-s", SCHEMA, "--question", "permit(principal, action, resource);", "--enumerate", "0"),
    ("audit", V1, "-s", SCHEMA, "--properties", FIXTURES / "nope.cedar"),
    ("equivalent", V1, "git:HEAD", "-s", SCHEMA),
], ids=lambda a: " ".join(str(x).replace(str(FIXTURES) + "/", "") for x in a))
def test_bad_input_exits_2(args):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.output.strip()


def test_malformed_policies_and_schema(tmp_path):
    bad = tmp_path / "bad.cedar"
    bad.write_text('permit(principal, action, resource) when { principal.level > };\n')
    for command in (("check", bad), ("audit", bad), ("diff", V1, bad), ("whatif", bad, "--remove", "x"),
                    ("ask", bad, "-q", "permit(principal, action, resource);")):
        result = run(*command, "-s", SCHEMA)
        assert result.exit_code == 2, (command, result.output)
        assert f"{bad}:1:" in result.output, result.output
    bad_schema = tmp_path / "bad.cedarschema"
    bad_schema.write_text("entity User in [ ;\n")
    result = run("check", V1, "-s", bad_schema)
    assert result.exit_code == 2 and str(bad_schema) in result.output
    not_utf8 = tmp_path / "latin1.cedar"
    not_utf8.write_bytes(b'permit(principal, action, resource) when { "\xe9" == "" };\n')
    assert run("check", not_utf8, "-s", SCHEMA).exit_code == 2


def test_template_policy_id_is_a_usage_error(tmp_path):
    template = tmp_path / "t.cedar"
    template.write_text('@id("t")\npermit(principal == ?principal, action, resource);\n')
    result = run("check", template, "-s", SCHEMA, "--policy", "t", "-P", "never-errors")
    assert result.exit_code == 2 and "is a template" in result.output


@pytest.mark.parametrize("question,expected", [
    ('permit(principal == ?principal, action, resource);', "cannot be a template"),
    ('permit(principal, action, resource) when { principal.nope };', "attribute `nope`"),
    ('permit(principal, action == Action::"nope", resource);', 'unrecognized action `Action::"nope"`'),
    # a question's effect is not read: a forbid would be answered as a permit
    ('forbid(principal, action, resource);', "must be written `permit (...)`, not `forbid`"),
])
def test_ask_question_must_validate(question, expected):
    """A question with a typo would otherwise be answered "no, never"."""
    result = run("ask", V1, "-s", SCHEMA, "--question", question)
    assert result.exit_code == 2 and expected in result.output, result.output
    assert "<question>:1:" in result.output


def test_a_question_with_a_typo_is_not_told_to_narrow_its_scope():
    """The note on narrowing the scope is for an attribute some types lack,
    not for a misspelt one (which comes with a "did you mean")."""
    asking = ("ask", V1, "-s", SCHEMA, "--question")
    typo = run(*asking, "permit(principal, action, resource) when { principal.levl > 3 };")
    assert typo.exit_code == 2 and "did you mean" in typo.output and "narrow its scope" not in typo.output
    lacking = run(*asking, "permit(principal, action, resource) when { principal.secret };")
    assert lacking.exit_code == 2 and "narrow its scope" in lacking.output


def test_properties_must_validate(tmp_path):
    typo = tmp_path / "typo.cedar"
    typo.write_text('@must("never")\npermit(principal, action, resource) when { principal.levl > 3 };\n')
    for command in ("check", "audit"):
        result = run(command, V1, "-s", SCHEMA, "--properties", typo)
        assert result.exit_code == 2 and f"{typo}:2:" in result.output and "levl" in result.output


@pytest.mark.parametrize("args,sides", [
    (("check", V1, "-s", SCHEMA, "-P", "always-denies"), 1),
    (("equivalent", V1, V2, "-s", SCHEMA), 2),
    (("whatif", V1, "-s", SCHEMA, "--remove", "owner"), 2),
    (("ask", V1, "-s", SCHEMA, "-q", 'permit(principal, action == Action::"edit", resource);'), 1),
    (("audit", AUDIT / "planted.cedar", "-s", AUDIT / "schema.cedarschema", "--no-validate"), 1),
], ids=lambda a: a[0] if isinstance(a, tuple) else str(a))
def test_every_command_saves_and_confirms_examples(args, sides, tmp_path):
    pytest.importorskip("cedarpy", reason="cedarpy (the official engine) is not installed")
    code, report = run_json(*args, "--confirm", "--save-examples", tmp_path / "out")
    assert code == 1
    examples = [(f, x) for f in report["findings"] for x in f["examples"]]
    assert examples
    checked = sum(sides + (f["description"] is not None) for f, _ in examples)  # a description allows its examples
    assert report["stats"]["confirmed"].startswith(f"{checked} decision{'' if checked == 1 else 's'} confirmed")
    assert "confirm_disagreements" not in report["stats"]
    saved = sorted((tmp_path / "out").iterdir())
    assert len(saved) == len(examples)
    for folder, (_, example) in zip(saved, examples, strict=True):
        assert json.loads((folder / "request.json").read_text()) == example["request"]
        assert json.loads((folder / "entities.json").read_text()) == example["entities"]


def test_confirm_of_a_proof_says_there_is_nothing_to_confirm():
    """A "no, never" has no example: not "0 decisions confirmed"."""
    pytest.importorskip("cedarpy", reason="cedarpy (the official engine) is not installed")
    from cedarscope.analyzer.confirm import confirm_report
    from cedarscope.reports.findings import Report, Verdict

    stats = confirm_report(Report("ask", Verdict.HOLDS), None, {}).stats
    assert stats["confirmed"] == "nothing to confirm: no example"


def test_confirm_reports_a_disagreement():
    """A claimed decision the official engine does not give is listed."""
    pytest.importorskip("cedarpy", reason="cedarpy (the official engine) is not installed")
    import dataclasses

    from cedarscope.analyzer.checks import check_set
    from cedarscope.analyzer.confirm import confirm_report
    from cedarscope.analyzer.solving import Options
    from cedarscope.lang.parser import load_policies
    from cedarscope.lang.schema import load_schema

    schema, ps = load_schema(SCHEMA), load_policies([V1])
    report = check_set(schema, ps, ["always-denies"], Options(max_examples=1))
    finding = report.findings[0]
    wrong = dataclasses.replace(finding.counterexample, decisions={"policies": "deny"})
    doctored = dataclasses.replace(report, findings=(dataclasses.replace(finding, counterexample=wrong),))
    stats = confirm_report(doctored, schema, {"policies": ps}).stats
    assert stats["confirmed"].startswith("0 decisions confirmed")
    assert stats["confirm_disagreements"] == ["finding 0 (policies): cedarscope deny, cedarpy allow"]


def test_template_links():
    """--links instantiates templates; a link is a policy of its own."""
    template, links = FIXTURES / "template.cedar", FIXTURES / "links.json"
    code, report = run_json("check", template, "-s", SCHEMA, "--links", links, "--policy",
                            "share-plan-with-bob", "-P", "never-matches", "--confirm")
    assert code == 1
    request = report["findings"][0]["counterexample"]["request"]
    assert (request["principal"], request["resource"]) == ({"type": "User", "id": "bob"},
                                                           {"type": "Doc", "id": "plan"})
    assert report["stats"]["confirmed"].startswith("1 decision confirmed")
    # Without links, the template is analysed for every link: some link grants access.
    code, report = run_json("check", template, "-s", SCHEMA, "-P", "always-denies")
    assert code == 1 and report["findings"][0]["counterexample"]["links"][0]["template_id"] == "share"
    code, report = run_json("whatif", template, "-s", SCHEMA, "--links", links, "--remove",
                            "share-plan-with-bob")
    assert code == 1 and {f["kind"] for f in report["findings"]} == {"lost"}
    code, report = run_json("diff", template, template, "-s", SCHEMA, "--links", links)
    assert code == 0
    bad = run("check", V1, "-s", SCHEMA, "--links", links)
    assert bad.exit_code == 2 and "no template with id 'share'" in bad.output


def test_max_examples_bounds_each_environment_and_direction():
    """The bundled example: v2 both gains (eng may edit) and loses (clearance
    now needs to be strictly above) access, in several environments."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    args = ("diff", examples / "policies.cedar", examples / "policies_v2.cedar", "-s",
            examples / "schema.cedarschema")

    def per_cell(report):
        cells: dict = {}
        for f in report["findings"]:
            key = (f["environment"]["action"], f["kind"])
            assert key not in cells, "one change per environment and direction"
            cells[key] = [json.dumps(x, sort_keys=True) for x in f["examples"]]
        return cells

    _, one = run_json(*args, "--max-examples", "1")
    _, three = run_json(*args, "--max-examples", "3")
    assert {k for k, _ in per_cell(one)} == {'Action::"view"', 'Action::"edit"', 'Action::"delete"'}
    assert set(per_cell(one)) == set(per_cell(three))
    assert all(len(v) == 1 for v in per_cell(one).values())
    assert all(1 <= len(v) <= 3 and len(set(v)) == len(v) for v in per_cell(three).values())
    assert any(len(v) > 1 for v in per_cell(three).values())
