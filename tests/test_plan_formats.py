"""The change plan in SARIF (validated against the SARIF 2.1.0 schema) and in
HTML (rendered by a real browser)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import cedarscope
from cedarscope.reports import render

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
# The official schema (OASIS sarif-spec, sarif-2.1/schema/sarif-schema-2.1.0.json) is not
# shipped here; point CEDARSCOPE_SARIF_SCHEMA at a copy to validate against it.
SARIF_SCHEMA = os.environ.get("CEDARSCOPE_SARIF_SCHEMA", str(REPO.parent / "sarif" / "sarif-schema-2.1.0.json"))


@pytest.fixture(scope="module")
def plan():
    schema = cedarscope.load_schema(EXAMPLES / "schema.cedarschema")
    old = cedarscope.load_policies(EXAMPLES / "policies.cedar")
    new = cedarscope.load_policies(EXAMPLES / "policies_v2.cedar")
    return cedarscope.diff(old, new, schema, matrix=True, max_examples=2)


# --------------------------------------------------------------------------
# SARIF


def test_sarif_has_one_result_per_change_with_distinct_fingerprints(plan):
    log = json.loads(render(plan, "sarif"))
    run = log["runs"][0]
    results = run["results"]
    assert len(results) == len(plan.changes) == 4
    prints = [r["partialFingerprints"]["cedarscopeFinding/v2"] for r in results]
    assert len(set(prints)) == len(prints)
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == {"gained", "lost"}
    for r in rules:
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"] and r["help"]["text"]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["level"] == {"gained": "warning", "lost": "note"}[r["ruleId"]]
        assert r["properties"]["description"].startswith("permit (")
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "examples/policies_v2.cedar" \
            or r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("policies_v2.cedar")


def test_sarif_levels_follow_fail_on():
    schema = cedarscope.load_schema(EXAMPLES / "schema.cedarschema")
    old = cedarscope.load_policies(EXAMPLES / "policies.cedar")
    new = cedarscope.load_policies(EXAMPLES / "policies_v2.cedar")
    log = json.loads(render(cedarscope.diff(old, new, schema, fail_on=["gained"]), "sarif"))
    levels = {r["ruleId"]: r["level"] for r in log["runs"][0]["results"]}
    assert levels == {"gained": "error", "lost": "note"}


def test_sarif_validates_against_the_sarif_2_1_0_schema(plan):
    jsonschema = pytest.importorskip("jsonschema")
    if not Path(SARIF_SCHEMA).is_file():
        pytest.skip(f"the SARIF 2.1.0 JSON schema is not at {SARIF_SCHEMA} (set CEDARSCOPE_SARIF_SCHEMA)")
    schema = json.loads(Path(SARIF_SCHEMA).read_text())
    assert "2.1.0" in schema.get("title", "")
    validator = jsonschema.validators.validator_for(schema)(schema)
    for report in (plan, _audit_report()):
        errors = sorted(validator.iter_errors(json.loads(render(report, "sarif"))), key=str)
        assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:3]]


def _audit_report():
    schema = cedarscope.load_schema(EXAMPLES / "schema.cedarschema")
    return cedarscope.audit(cedarscope.load_policies(EXAMPLES / "policies_v2.cedar"), schema)


# --------------------------------------------------------------------------
# HTML in a browser


def browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Tables(HTMLParser):
    """Each table by id: its rows as lists of (cell text, cell class)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str]]]] = {}
        self.ids: set[str] = set()
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._class = ""
        self._section: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "section" and a.get("id"):
            self._section = a["id"]
        if tag == "table":
            self._table = a.get("id") or self._section or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell, self._class = [], a.get("class") or ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append(("".join(self._cell).strip(), self._class))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_html_renders_in_a_headless_browser_with_summary_and_matrix(plan, tmp_path):
    exe = browser()
    if exe is None:
        pytest.skip("no headless browser installed (Debian: apt-get install chromium)")
    page = tmp_path / "plan.html"
    page.write_text(render(plan, "html"), encoding="utf-8")
    proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert re.search(r"<h1>cedarscope diff: <span[^>]*>4 changes</span></h1>", dom)
    tables = Tables()
    tables.feed(dom)
    summary = tables.tables["summary"]
    assert [c for c, _ in summary[0]] == ["#", "change", "environment", "caused by", "exactly these requests"]
    assert len(summary) == 1 + 4
    assert all(row[4][0].startswith("permit (") for row in summary[1:])
    matrix = tables.tables["access-matrix"]
    assert [c for c, _ in matrix[0]] == ["principal", "resource", 'Action::"delete"', 'Action::"edit"',
                                         'Action::"view"']
    (user_doc,) = matrix[1:]
    assert [c for c, _ in user_doc[:2]] == ["User", "Document"]
    assert all(cls == "changed" for _, cls in user_doc[2:])  # every action's access changed
    assert {f"change-{i}" for i in range(1, 5)} <= tables.ids
