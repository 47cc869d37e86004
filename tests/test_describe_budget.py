"""The search for a readable description is cut by solver work, not time.

Its budget (`--describe-budget`, Options.describe_seconds) is counted in
Z3's resource units, so a search the budget cuts stops at the same point,
and prints the same description, however fast the clock runs (on a loaded
machine).  The wall clock stays a safety net; a description it cuts is
counted apart (stats.descriptions_cut_by_time)."""

from __future__ import annotations

import time
import types
from pathlib import Path

import pytest

from cedarscope.analyzer import describe, solving
from cedarscope.analyzer.checks import diff_report
from cedarscope.analyzer.solving import Options
from cedarscope.lang.parser import load_policies
from cedarscope.lang.schema import load_schema

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SMALL_BUDGET = 0.03  # cuts some of the bundled example's searches midway (each needs 0.2 to 0.5 million units)


def bundled_diff(**given):
    schema = load_schema(EXAMPLES / "schema.cedarschema")
    old, new = load_policies([EXAMPLES / "policies.cedar"]), load_policies([EXAMPLES / "policies_v2.cedar"])
    return diff_report(schema, old, new, Options(**given))


def descriptions(report) -> list[tuple[str | None, str | None]]:
    return [(f.description_form, f.description) for f in report.changes]


def clock_running(times: float) -> types.SimpleNamespace:
    """`time` as seen on a machine `times` slower: more time passes per step."""
    started = time.monotonic()
    return types.SimpleNamespace(monotonic=lambda: started + (time.monotonic() - started) * times,
                                 perf_counter=time.perf_counter)


def test_a_search_cut_by_its_budget_prints_the_same_text_on_a_slower_machine(monkeypatch):
    monkeypatch.setattr(describe, "DESCRIBE_SAFETY", 1e4)  # the safety net out of the way
    first = bundled_diff(describe_seconds=SMALL_BUDGET)
    assert first.stats.get("descriptions_cut_by_budget", 0) >= 1
    assert any(form == "readable" for form, _ in descriptions(first))  # cut midway, not at the start
    monkeypatch.setattr(solving, "time", clock_running(50.0))
    slower = bundled_diff(describe_seconds=SMALL_BUDGET)
    assert descriptions(slower) == descriptions(first)
    assert slower.stats["description_checks"] == first.stats["description_checks"]
    assert "descriptions_cut_by_time" not in slower.stats


def test_a_larger_budget_finds_descriptions_at_most_as_long():
    small = bundled_diff(describe_seconds=SMALL_BUDGET)
    default = bundled_diff()
    assert "descriptions_cut_by_budget" not in default.stats
    assert all(len(d) <= len(s) for (_, d), (_, s) in zip(descriptions(default), descriptions(small), strict=True))
    assert sum(len(d) for _, d in descriptions(default)) < sum(len(s) for _, s in descriptions(small))


def test_no_budget_is_the_structural_form_cut_by_the_budget_not_the_clock():
    report = bundled_diff(describe_seconds=0.0)
    assert all(form == "structural" for form, _ in descriptions(report))
    assert report.stats["descriptions_cut_by_budget"] == len(report.changes)
    assert "descriptions_cut_by_time" not in report.stats


def test_the_wall_clock_safety_net_is_reported_as_such(monkeypatch):
    """Stopped by the clock, the search still prints an exact description
    (the structural form at worst), and the report says which were cut so."""
    monkeypatch.setattr(describe, "DESCRIBE_SAFETY", 0.0)
    report = bundled_diff()
    assert report.stats["descriptions_cut_by_time"] == len(report.changes)
    assert "descriptions_cut_by_budget" not in report.stats
    assert all(form == "structural" for form, _ in descriptions(report))
    pytest.importorskip("cedarpy")
    from tests.exactness import check_report

    schema_path = EXAMPLES / "schema.cedarschema"
    tally = check_report(report, load_schema(schema_path), schema_path.read_text(),
                         load_policies([EXAMPLES / "policies.cedar"]), load_policies([EXAMPLES / "policies_v2.cedar"]))
    assert tally.requests and not tally.mismatches
    assert tally.timed_out == len(report.changes)
