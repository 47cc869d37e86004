"""The change plan: one change per (direction, environment), blamed on the
edit, described exactly in Cedar, with examples that teach."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import cedarscope
from cedarscope.analyzer.checks import diff_report
from cedarscope.analyzer.solving import Options
from cedarscope.lang.links import with_links
from cedarscope.lang.parser import parse_policies, parse_policy
from cedarscope.lang.schema import parse_schema
from cedarscope.reports import render
from tests.support.corpus import missing_reason

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"

SCHEMA = """
entity Team;
entity User in [Team] { level: Long, nickname?: String };
entity Folder;
entity Doc in [Folder] { owner: User, secret: Bool };
action view, edit appliesTo { principal: User, resource: Doc, context: { mfa: Bool } };
"""


@pytest.fixture(scope="module")
def schema():
    return parse_schema(SCHEMA, "plan.cedarschema")


def diff(schema, old: str, new: str, **kw):
    return diff_report(schema, parse_policies(old, "old.cedar"), parse_policies(new, "new.cedar"), Options(**kw))


def exactly_checked(report, schema_text: str, old: str, new: str):
    """Every description against cedarpy on its examples and 50 perturbations each."""
    pytest.importorskip("cedarpy")
    from tests.exactness import check_report

    tally = check_report(report, parse_schema(schema_text, "s"), schema_text, parse_policies(old, "old.cedar"),
                         parse_policies(new, "new.cedar"))
    assert not tally.mismatches, tally.mismatches[:2]
    assert tally.requests >= 51 * len(report.changes)
    return tally


# --------------------------------------------------------------------------
# The bundled example


def bundled():
    schema = cedarscope.load_schema(EXAMPLES / "schema.cedarschema")
    old = cedarscope.load_policies(EXAMPLES / "policies.cedar")
    new = cedarscope.load_policies(EXAMPLES / "policies_v2.cedar")
    return schema, old, new


def test_bundled_example_is_one_change_per_direction_and_environment():
    schema, old, new = bundled()
    report = cedarscope.diff(old, new, schema)
    cells = [(f.kind, str(f.environment.action)) for f in report.changes]
    assert sorted(cells) == sorted([("gained", 'Action::"edit"'), ("lost", 'Action::"edit"'),
                                    ("lost", 'Action::"view"'), ("lost", 'Action::"delete"')])
    for f in report.changes:
        assert f.description_form == "readable"
        assert len(f.examples) == 1
    gained = next(f for f in report.changes if f.kind == "gained")
    assert gained.policies == ("team-can-view",) and gained.edits == {"team-can-view": "edited"}
    assert parse_policy(gained.description) == parse_policy(
        'permit (principal in Team::"engineering", action == Action::"edit", resource in Folder::"eng-docs") '
        "when { resource.classification < principal.clearance && resource.owner != principal };")
    for f in report.changes:
        if f.kind == "lost":
            assert f.policies == ("clearance-required",)  # the edited forbid, not the permit it overrides
            # the permit that allowed the example before (which one depends on the example)
            assert f.related and set(f.related) <= {"owner-full-access", "team-can-view", "public-view"}


def test_bundled_example_descriptions_show_how_their_chains_nest():
    """A description no one wrote is printed with its nesting shown
    (lang.printer.NESTING_SHOWN): the inner `&&` in parentheses of its own."""
    schema, old, new = bundled()
    view = next(f for f in cedarscope.diff(old, new, schema).changes if f.environment.action.id == "view")
    assert view.description is not None
    assert '   (principal in Team::"engineering" && resource in Folder::"eng-docs") ||' in view.description
    assert parse_policy(view.description) == parse_policy(view.description.replace("(principal", "principal")
                                                          .replace('"eng-docs")', '"eng-docs"'))


def test_bundled_example_plan_fits_one_screen_before_details():
    proc = subprocess.run([sys.executable, "-m", "cedarscope", "diff", "examples/policies.cedar",
                           "examples/policies_v2.cedar", "--schema", "examples/schema.cedarschema"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    head = proc.stdout.split("\nDetails\n")[0].splitlines()
    assert head[0] == "cedarscope diff: 4 changes"
    assert len(head) <= 24 and all(len(line) <= 240 for line in head)
    assert sum(line.startswith(("+ gained", "- lost")) for line in head) == 4
    assert '+ gained  User, Action::"edit", Document  team-can-view (examples/policies_v2.cedar:7)' in head


def test_bundled_example_descriptions_are_exact_under_cedarpy():
    pytest.importorskip("cedarpy")
    from tests.exactness import bundled_example

    tally = bundled_example()
    assert tally.changes == 4 and tally.described == 4 and tally.structural == 0
    assert not tally.mismatches, tally.mismatches[:2]
    assert tally.requests >= 4 * 51


# --------------------------------------------------------------------------
# Blame


def test_editing_a_forbid_blames_the_forbid(schema):
    permit = 'permit (principal, action, resource);\n'
    old = permit + '@id("no-secrets")\nforbid (principal, action, resource) when { resource.secret };'
    new = permit + '@id("no-secrets")\nforbid (principal, action, resource) when { resource.secret && context.mfa };'
    report = diff(schema, old, new)
    assert {f.kind for f in report.findings} == {"gained"}
    for f in report.changes:
        assert f.policies == ("no-secrets",) and f.edits == {"no-secrets": "edited"}
        assert f.locations[0].file == "new.cedar"  # annotated where the edit was made
        assert "policy0" in f.related  # the permit that now decides, not the subject
        assert f.description is not None
    exactly_checked(report, SCHEMA, old, new)


def test_editing_a_template_blames_the_template_and_its_links(schema):
    def linked(text: str):
        ps = parse_policies(text, "t.cedar")
        return with_links(ps, [{"template_id": "t", "link_id": "alice-docs",
                                "args": {"?principal": 'User::"alice"', "?resource": 'Folder::"a"'}},
                               {"template_id": "t", "link_id": "bob-docs",
                                "args": {"?principal": 'User::"bob"', "?resource": 'Folder::"b"'}}], "links.json")

    old = linked('@id("t")\npermit (principal == ?principal, action == Action::"view", resource in ?resource);')
    new = linked('@id("t")\npermit (principal == ?principal, action in [Action::"view", Action::"edit"], '
                 'resource in ?resource);')
    report = diff_report(schema, old, new, Options())
    (f,) = report.changes
    assert f.kind == "gained" and str(f.environment.action) == 'Action::"edit"'
    assert f.policies == ("t", "alice-docs", "bob-docs")
    assert f.edits == {"t": "edited", "alice-docs": "edited", "bob-docs": "edited"}
    assert {loc.file for loc in f.locations} == {"t.cedar"}


def test_inserting_a_policy_shifts_ids_without_blaming_the_unchanged(schema):
    a = 'permit (principal, action == Action::"view", resource) when { resource.owner == principal };\n'
    b = 'permit (principal in Team::"x", action == Action::"edit", resource);\n'
    inserted = 'permit (principal, action == Action::"edit", resource) when { context.mfa };\n'
    report = diff(schema, a + b, a + inserted + b)  # b's positional id moves from policy1 to policy2
    (f,) = report.changes
    assert f.policies == ("policy1",) and f.edits == {"policy1": "added"}
    assert parse_policy(f.description) == parse_policy(
        'permit (principal, action == Action::"edit", resource) when { context.mfa } '
        'unless { principal in Team::"x" };') or "Team" in f.description


def test_a_removed_permit_is_blamed_for_the_loss(schema):
    keep = 'permit (principal, action == Action::"view", resource) when { resource.owner == principal };\n'
    gone = '@id("team-edit")\npermit (principal in Team::"x", action == Action::"edit", resource);\n'
    report = diff(schema, keep + gone, keep)
    (f,) = report.changes
    assert (f.kind, f.policies, f.edits) == ("lost", ("team-edit",), {"team-edit": "removed"})
    assert f.locations[0].file == "old.cedar"
    assert parse_policy(f.description) == parse_policy(
        'permit (principal in Team::"x", action == Action::"edit", resource);')


def test_a_removed_policy_is_shown_where_it_was_though_its_id_now_names_another(schema):
    """Removing the first of two policies: its positional id policy0 now
    names the second, unchanged one in the new version."""
    gone = 'permit (principal in Team::"x", action == Action::"edit", resource);\n'
    keep = 'permit (principal, action == Action::"view", resource) when { resource.owner == principal };\n'
    report = diff(schema, "\n" + gone + keep, keep)
    (f,) = report.changes
    assert f.edits == {"policy0": "removed"}
    assert (f.locations[0].file, f.locations[0].line) == ("old.cedar", 2)
    assert set(f.texts) == {"policy0 (old)"}  # not the new policy0, which is the kept one


# --------------------------------------------------------------------------
# Descriptions that need guards, and the structural form


def test_an_overflow_guard_stays_where_an_error_would_change_the_answer(schema):
    """`principal.level + 1` errors at the largest Long: the new forbid then
    does not deny, so those requests are gained too.  The description must
    say so (a bare `unless { principal.level + 1 > 5 }` would miss them)."""
    old = ""
    new = ('permit (principal, action == Action::"view", resource);\n'
           'forbid (principal, action, resource) when { principal.level + 1 > 5 };')
    report = diff(schema, old, new)
    (f,) = report.changes
    assert "9223372036854775806" in f.description  # the bound that keeps `+ 1` from overflowing
    exactly_checked(report, SCHEMA, old, new)


def test_an_optional_attribute_keeps_its_has_guard(schema):
    old = 'permit (principal, action == Action::"view", resource);'
    new = old + '\nforbid (principal, action, resource) when { principal has nickname && principal.nickname == "x" };'
    report = diff(schema, old, new)
    (f,) = report.changes
    assert f.kind == "lost" and "principal has nickname" in f.description
    exactly_checked(report, SCHEMA, old, new)


def test_without_a_search_budget_the_structural_form_is_exact(schema):
    old = ('permit (principal, action, resource) when { resource.owner == principal };\n'
           'forbid (principal, action, resource) when { resource.secret && !context.mfa };')
    new = ('permit (principal, action, resource) when { resource.owner == principal || principal in Team::"x" };\n'
           'forbid (principal, action, resource) when { resource.secret };')
    report = diff(schema, old, new, describe_seconds=0.0)
    assert report.changes and all(f.description_form == "structural" for f in report.changes)
    exactly_checked(report, SCHEMA, old, new)
    readable = diff(schema, old, new)
    assert all(f.description_form == "readable" for f in readable.changes)
    assert sum(len(f.description) for f in readable.changes) < sum(len(f.description) for f in report.changes)
    exactly_checked(readable, SCHEMA, old, new)


def test_the_exactness_check_can_fail(schema):
    """A description that is not exact (one condition dropped) is caught."""
    pytest.importorskip("cedarpy")
    import dataclasses

    from tests.exactness import check_report

    old = 'permit (principal, action == Action::"view", resource) when { resource.owner == principal };'
    new = old + '\npermit (principal in Team::"x", action == Action::"view", resource) when { context.mfa };'
    report = diff(schema, old, new)
    (f,) = report.changes
    wrong = dataclasses.replace(f, description='permit (principal in Team::"x", action == Action::"view", resource);')
    broken = dataclasses.replace(report, findings=(wrong,))
    tally = check_report(broken, parse_schema(SCHEMA, "s"), SCHEMA, parse_policies(old, "o"), parse_policies(new, "n"))
    assert tally.mismatches


# --------------------------------------------------------------------------
# Examples


def test_more_examples_differ_in_what_the_policies_read(schema):
    old = ""
    new = ('permit (principal in Team::"x", action == Action::"view", resource);\n'
           'permit (principal, action == Action::"view", resource) when { resource.owner == principal };')
    report = diff(schema, old, new, max_examples=3)
    (f,) = report.changes
    assert len(f.examples) >= 2
    from cedarscope.lang.evaluator import evaluate
    from cedarscope.lang.parser import parse_expr

    tests = [parse_expr('principal in Team::"x"'), parse_expr("resource.owner == principal")]
    outcomes = {tuple(evaluate(t, cx.request, cx.entities) for t in tests) for cx in f.examples}
    assert len(outcomes) == len(f.examples)  # each example reads differently


def test_examples_omit_action_entities_unless_the_hierarchy_is_read(schema):
    report = diff(schema, "", 'permit (principal, action == Action::"view", resource);')
    (f,) = report.changes
    assert not [e for e in f.counterexample.entities if e.uid.type == "Action"]


# --------------------------------------------------------------------------
# Exit codes and the API


def test_fail_on_narrows_what_makes_exit_1(schema):
    report = diff_report(*bundled(), Options(), fail_on=["gained"])
    assert report.exit_code == 1
    report = diff_report(*bundled(), Options(), fail_on=["dead"])
    assert report.exit_code == 0 and report.verdict == "violated"
    proc = subprocess.run([sys.executable, "-m", "cedarscope", "diff", "examples/policies.cedar",
                           "examples/policies_v2.cedar", "--schema", "examples/schema.cedarschema",
                           "--fail-on", "always-denies"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0
    proc = subprocess.run([sys.executable, "-m", "cedarscope", "diff", "examples/policies.cedar",
                           "examples/policies_v2.cedar", "--schema", "examples/schema.cedarschema",
                           "--fail-on", "gainedd"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "gainedd" in proc.stderr


def test_whatif_through_the_api_and_the_cli_agree(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the same file names on both sides
    schema = cedarscope.load_schema("examples/schema.cedarschema")
    current = cedarscope.load_policies("examples/policies.cedar")
    add = tmp_path / "add.cedar"
    add.write_text('@id("interns-view")\npermit (principal in Team::"interns", action == Action::"view", resource);\n')
    report = cedarscope.whatif(current, schema, add=parse_policies(add.read_text(), str(add)),
                               remove=["public-view"])
    proc = subprocess.run([sys.executable, "-m", "cedarscope", "whatif", "examples/policies.cedar", "--schema",
                           "examples/schema.cedarschema", "--add", str(add), "--remove", "public-view",
                           "--format", "json"], cwd=REPO, capture_output=True, text=True, timeout=300)
    cli = json.loads(proc.stdout)
    api = report.to_json()
    for side in (cli, api):
        side.pop("stats")
    assert cli == api and proc.returncode == report.exit_code == 1
    assert {tuple(f["policies"]) for f in api["findings"]} == {("interns-view",), ("public-view",)}


# --------------------------------------------------------------------------
# Renderers


def test_markdown_puts_the_summary_first_and_folds_details():
    schema, old, new = bundled()
    out = render(cedarscope.diff(old, new, schema), "markdown")
    assert out.startswith("## cedarscope diff: 4 changes\n")
    table = out.index("| | change | environment | caused by | exactly these requests |")
    assert table < out.index("<details>")
    assert out.count("<details>") == out.count("</details>") == 5  # 4 changes and the stats
    # a change's body shows its description as a code block, not once more inside a one-line sentence
    report = cedarscope.diff(old, new, schema)
    for change in report.changes:
        assert change.description is not None and change.description in out
        assert change.message not in out
    assert "exactly the requests of:" not in out


def test_ask_enumerate_counts_principals_that_read_differently(schema):
    """Principals that differ only in their id are one answer."""
    question = 'permit (principal, action == Action::"view", resource);'
    same = parse_policies('permit (principal, action == Action::"view", resource);', "p.cedar")
    report = cedarscope.ask(same, schema, question, enumerate=3)
    assert len(report.findings) == 1
    assert report.stats["enumerated"] == "1 distinct principal: all there are"  # the search ended: no other
    two_kinds = parse_policies('permit (principal in Team::"x", action == Action::"view", resource);\n'
                               'permit (principal, action == Action::"view", resource) when { principal.level > 3 };',
                               "p.cedar")
    report = cedarscope.ask(two_kinds, schema, question, enumerate=5)
    principals = [f.counterexample.request.principal for f in report.findings]
    assert 2 <= len(principals) <= 3 and len(set(principals)) == len(principals)
    assert render(report, "text").splitlines()[0].startswith("cedarscope ask: yes, reachable")
    assert "--enumerate: " in render(report, "text")
    report = cedarscope.ask(two_kinds, schema, question, enumerate=1)
    assert report.stats["enumerated"] == "1 distinct principal, as many as asked for (there may be more)"


# --------------------------------------------------------------------------
# Exactness on other stores (the full run: python -m tests.exactness)


def test_generated_store_descriptions_are_exact_under_cedarpy():
    pytest.importorskip("cedarpy")
    from tests.exactness import generated_stores

    tally = generated_stores(sizes=(12,), seeds=(1, 2))
    assert tally.changes and tally.described == tally.changes
    assert not tally.mismatches, tally.mismatches[:2]
    assert tally.requests >= 51 * tally.changes


@pytest.mark.parametrize("app", ["tinytodo", "document_cloud"])
def test_mutant_descriptions_are_exact_under_cedarpy(app):
    pytest.importorskip("cedarpy")
    from tests.exactness import CORPUS, mutants_of_apps

    if not CORPUS.exists():
        pytest.skip(missing_reason())
    (tally,) = mutants_of_apps(limit=4, apps=[app]).values()
    assert tally.changes and tally.described == tally.changes
    assert not tally.mismatches, tally.mismatches[:2]


@pytest.mark.slow
def test_every_apps_mutant_descriptions_are_exact_under_cedarpy():
    pytest.importorskip("cedarpy")
    from tests.exactness import CORPUS, mutants_of_apps

    if not CORPUS.exists():
        pytest.skip(missing_reason())
    for name, tally in mutants_of_apps().items():
        assert tally.described == tally.changes, name
        assert not tally.mismatches, (name, tally.mismatches[:2])


def test_the_command_line_default_budget_is_the_solvers():
    from click.testing import CliRunner

    from cedarscope.analyzer.cli import cli
    from cedarscope.analyzer.solving import DEFAULT_DESCRIBE_SECONDS

    out = CliRunner().invoke(cli, ["diff", "--help"]).output
    assert f"[default: {DEFAULT_DESCRIBE_SECONDS};" in " ".join(out.split())
