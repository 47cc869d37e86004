"""The fuzzer (tests/fuzz.py) in the test suite: a short run by default, a
long one under `pytest -m slow`.  Either fails on any exit 4, traceback,
unbounded error line, hang or memory blow-up, naming the reproducers it
wrote.  `python -m tests.fuzz --inputs 10000 --seed S` is the full run.
"""

from __future__ import annotations

import random

import pytest

from tests import fuzz


def _run(inputs: int, seed: int, tmp_path) -> None:
    summary = fuzz.fuzz(inputs, seed, tmp_path / "failures", log=lambda line: None, subprocess_every=10)
    assert summary.inputs == inputs
    assert not summary.failures and not summary.hangs, "\n".join(summary.failures)
    assert summary.peak_mib < fuzz.MEMORY_LIMIT_MIB
    # the inputs reached every command, and both answers and refusals
    assert set(summary.by_command) == set(fuzz.COMMANDS) or inputs < 100
    assert summary.exits.get(2, 0) and (summary.exits.get(0, 0) + summary.exits.get(1, 0))


def test_short_fuzz(tmp_path):
    _run(60, 20261130, tmp_path)


@pytest.mark.slow
def test_long_fuzz(tmp_path):
    _run(2000, 7, tmp_path)


def test_the_seed_worlds_are_valid():
    """Mutants start from valid stores, so unmutated inputs reach the solver."""
    from cedarscope.lang.entities import parse_entities
    from cedarscope.lang.links import with_links
    from cedarscope.lang.parser import parse_policies
    from cedarscope.lang.schema import parse_schema
    from cedarscope.lang.validator import validate

    for world in fuzz.worlds():
        files = fuzz._text_files(world)
        for schema_file in ("schema.cedarschema", "schema.json"):
            schema = parse_schema(files[schema_file], schema_file)
            for name in ("policies.cedar", "policies_v2.cedar", "add.cedar", "properties.cedar"):
                ps = parse_policies(files[name], name)
                if name.startswith("policies"):
                    ps = with_links(ps, world.links, "links.json")
                assert validate(ps, schema) == [], (schema_file, name)
            parse_entities(files["entities.json"], "entities.json", schema)


def test_well_formed_settings_are_read_as_written(tmp_path):
    """Unmutated settings files are valid, so their cases reach the commands;
    each shape of pyproject.toml is read as the shape says."""
    from cedarscope.analyzer.config import read_config
    from cedarscope.lang.diagnostics import CedarError

    world, shapes = fuzz.worlds()[1], set()
    for i in range(60):
        rng = random.Random(i)
        values = fuzz.settings_values(rng, world, "schema.cedarschema")
        name = fuzz.SETTINGS_FILES[i % 2]
        text, shape = fuzz.settings_text(name, values, rng)
        shapes.add(shape)
        path = tmp_path / name
        path.write_text(text)
        if shape == "cedarscope-not-a-table":
            with pytest.raises(CedarError):
                read_config(path)
        elif shape in ("no-table", "tool-not-a-table"):
            assert read_config(path) is None
        else:
            assert set(read_config(path).values) == set(values), text
    assert shapes == {"top-level", "table", "dotted", "no-table", "tool-not-a-table", "cedarscope-not-a-table"}


def test_cases_reach_every_command_and_settings_files():
    worlds = fuzz.worlds()
    files = [fuzz._text_files(w) for w in worlds]
    cases = [fuzz.make_case(random.Random(f"9:{i}"), worlds, files) for i in range(300)]
    assert {c.args[0] for c in cases} == set(fuzz.COMMANDS)
    with_settings = [c for c in cases if any(n in fuzz.SETTINGS_FILES for n in c.files)]
    assert {c.args[0] for c in with_settings} > {"config", "access", "count"}
    assert any("left to the settings" in m for c in with_settings for m in c.mutations)


def test_cases_are_reproducible():
    worlds = fuzz.worlds()
    files = [fuzz._text_files(w) for w in worlds]
    a = fuzz.make_case(random.Random("3:14"), worlds, files)
    b = fuzz.make_case(random.Random("3:14"), worlds, files)
    assert (a.args, a.files, a.mutations) == (b.args, b.files, b.mutations)


def test_the_judge_catches_what_it_must(tmp_path):
    """The failure criteria are not vacuous."""
    assert fuzz._judge(4, "", 1.0, 50.0, None)
    assert fuzz._judge(2, "Traceback (most recent call last):", 1.0, 50.0, None)
    assert fuzz._judge(2, "x" * (fuzz.MAX_ERROR_LINE + 1), 1.0, 50.0, None)
    assert fuzz._judge(0, "", 1.0, fuzz.MEMORY_LIMIT_MIB + 1, None)
    assert fuzz._judge(130, "", 1.0, 50.0, None)
    assert fuzz._judge(0, "", 1.0, 50.0, "ValueError") and not fuzz._judge(1, "ok", 1.0, 50.0, None)


def test_answers_that_break_their_contract_are_caught():
    """The answer checks are not vacuous, and pass what they must."""
    assert fuzz._broken_answer(["config", "--format", "json"], 0, '{"timeout": NaN}')
    assert fuzz._broken_answer(["audit", "p.cedar", "-f", "json"], 1, '{"result": ')
    assert not fuzz._broken_answer(["audit", "p.cedar", "-f", "json"], 1, '{"result": "violated"}')
    assert not fuzz._broken_answer(["audit", "p.cedar", "-f", "json"], 2, "")  # bad input: no answer
    assert not fuzz._broken_answer(["audit", "p.cedar", "-f", "json", "--help"], 0, "Usage: ...")
    assert fuzz._broken_answer(["schema", "infer", "p.cedar"], 0, "entity 2024;\n")
    assert not fuzz._broken_answer(["schema", "infer", "p.cedar"], 0, "entity User;\n")
    assert not fuzz._broken_answer(["schema", "infer", "p.cedar", "-f", "json"], 0, '{"": {"entityTypes": {}, '
                                                                                  '"actions": {}}}')


def test_a_hang_is_caught_and_the_worker_replaced(tmp_path, monkeypatch):
    """A run past the per-input limit is a hang: the worker is killed."""
    monkeypatch.setattr(fuzz, "TIME_LIMIT_SECONDS", 2.0)
    hard = fuzz.REPO / "tests" / "fixtures" / "cli"
    case = fuzz.Case(["check", str(hard / "hard.cedar"), "-s", str(hard / "schema.cedarschema"),
                      "-P", "always-denies", "--timeout", "60"], {})
    worker = fuzz.Worker()
    try:
        assert worker.run(tmp_path, case) is None
    finally:
        worker.kill()
    assert worker.proc.poll() is not None
