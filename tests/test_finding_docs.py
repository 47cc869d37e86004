"""docs/findings/: one page per finding kind, each saying what it means,
showing an example, how to fix and how to suppress; every example is run
here and must produce its page's kind."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from cedarscope.analyzer.cli import cli
from cedarscope.reports.findings import FINDING_KINDS

DOCS = Path(__file__).resolve().parents[1] / "docs" / "findings"
SECTIONS = ("**What it means.**", "**Example.**", "**How to fix.**", "**How to suppress.**")
FENCE = re.compile(r"^```(\w+)(?: (\S+))?\n(.*?)^```", re.S | re.M)


def blocks(page: str) -> list[tuple[str, str | None, str]]:
    """(language, file name or None, text) of each fenced block."""
    return [(m.group(1), m.group(2), m.group(3)) for m in FENCE.finditer(page)]


def run_example(page: str, folder: Path, monkeypatch) -> dict:
    """Write the page's named blocks as files, run its command, and return
    the JSON report."""
    commands = [text.strip() for lang, _, text in blocks(page) if lang == "sh"]
    assert len(commands) == 1, "one command per page"
    for _, name, text in blocks(page):
        if name is not None:
            (folder / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(folder)
    args = shlex.split(commands[0])
    assert args[0] == "cedarscope"
    result = CliRunner().invoke(cli, [*args[1:], "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("kind", list(FINDING_KINDS))
def test_every_kind_has_a_page_with_each_section(kind):
    page = (DOCS / f"{kind}.md").read_text(encoding="utf-8")
    assert page.startswith(f"# {kind}\n")
    assert [s for s in SECTIONS if s not in page] == []
    assert f"[{kind}]({kind}.md)" in (DOCS / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", list(FINDING_KINDS))
def test_every_example_produces_its_kind(kind, tmp_path, monkeypatch):
    report = run_example((DOCS / f"{kind}.md").read_text(encoding="utf-8"), tmp_path, monkeypatch)
    assert kind in {f["kind"] for f in report["findings"]}, report["findings"]


def test_text_and_sarif_output_link_to_the_pages(tmp_path, monkeypatch):
    page = (DOCS / "dead.md").read_text(encoding="utf-8")
    run_example(page, tmp_path, monkeypatch)  # writes the example's files
    monkeypatch.delenv("CEDARSCOPE_DOCS_URL", raising=False)
    text = CliRunner().invoke(cli, ["audit", "policies.cedar", "--schema", "schema.cedarschema"]).stdout
    assert "see cedarscope docs dead" in text  # a command: the pages are installed with the package
    monkeypatch.setenv("CEDARSCOPE_DOCS_URL", "https://example.org/docs/findings")
    sarif = json.loads(CliRunner().invoke(cli, ["audit", "policies.cedar", "--schema", "schema.cedarschema",
                                                "--format", "sarif"]).stdout)
    (rule,) = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rule["helpUri"] == "https://example.org/docs/findings/dead.md"
    assert rule["properties"]["documentation"] == "docs/findings/dead.md"
    assert "docs/findings/dead.md" in rule["help"]["markdown"]


def test_links_point_at_the_pages(monkeypatch):
    from cedarscope.reports.docs import finding_doc, finding_doc_link, finding_doc_url

    monkeypatch.delenv("CEDARSCOPE_DOCS_URL", raising=False)
    for kind in FINDING_KINDS:
        assert (DOCS.parents[1] / finding_doc(kind)).is_file()
        assert finding_doc_link(kind) == finding_doc(kind)
    assert finding_doc_url("dead") is None
    monkeypatch.setenv("CEDARSCOPE_DOCS_URL", "https://example.org/cedarscope/docs/findings/")
    assert finding_doc_link("dead") == "https://example.org/cedarscope/docs/findings/dead.md"
    with pytest.raises(ValueError):
        finding_doc("deadd")


def test_the_docs_command_prints_each_page_and_lists_the_kinds():
    from cedarscope.reports.findings import FINDING_KINDS
    for kind in FINDING_KINDS:
        result = CliRunner().invoke(cli, ["docs", kind])
        assert result.exit_code == 0 and result.stdout == (DOCS / f"{kind}.md").read_text(encoding="utf-8")
    listing = CliRunner().invoke(cli, ["docs"]).stdout.splitlines()
    assert [line.split()[0] for line in listing] == list(FINDING_KINDS)
    assert CliRunner().invoke(cli, ["docs", "deadd"]).exit_code == 2
