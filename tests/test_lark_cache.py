"""The on-disk cache of Lark's tables: a shortcut that never changes a parse
and never breaks one, whatever state its folder is in."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import lark
import pytest

from cedarscope.lang import lark_cache
from cedarscope.lang.lark_cache import CACHE_DIR_VARIABLE, lalr_parser

GRAMMAR = r"""
start: sum
sum: product ("+" product)*
product: NUMBER ("*" NUMBER)*
%import common.NUMBER
%ignore " "
"""


def cached_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def cache_in(monkeypatch, tmp_path):
    def use(folder: Path | str) -> None:
        monkeypatch.setenv(CACHE_DIR_VARIABLE, str(folder))
    return use


def test_a_cached_table_parses_as_a_fresh_one(cache_in, tmp_path):
    folder = tmp_path / "cache"
    cache_in(folder)
    fresh = lark.Lark(GRAMMAR, parser="lalr")
    written = lalr_parser("toy", GRAMMAR)
    [name] = cached_files(folder)
    assert name.startswith("lark-toy-") and name.endswith(".pickle")
    read = lalr_parser("toy", GRAMMAR)
    for text in ("1", "1 + 2 * 3", "4 * 5 + 6 * 7"):
        assert written.parse(text) == read.parse(text) == fresh.parse(text)
    with pytest.raises(lark.exceptions.UnexpectedInput):
        read.parse("1 + + 2")


def test_another_grammar_or_option_gets_its_own_file(cache_in, tmp_path):
    cache_in(tmp_path)
    lalr_parser("toy", GRAMMAR)
    lalr_parser("toy", GRAMMAR + "\n// edited\n")
    lalr_parser("toy", GRAMMAR, propagate_positions=True)
    assert len(cached_files(tmp_path)) == 3


def test_a_damaged_file_is_rebuilt(cache_in, tmp_path):
    cache_in(tmp_path)
    lalr_parser("toy", GRAMMAR)
    [name] = cached_files(tmp_path)
    (tmp_path / name).write_bytes(b"not a pickle")
    assert lalr_parser("toy", GRAMMAR).parse("2 * 3") == lark.Lark(GRAMMAR, parser="lalr").parse("2 * 3")


@pytest.mark.parametrize("where", ["under a file", "empty: off"])
def test_no_usable_folder_means_no_cache(cache_in, tmp_path, where):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cache_in(blocker / "cache" if where == "under a file" else "")
    assert lark_cache.cache_dir() is None
    assert lalr_parser("toy", GRAMMAR).parse("1 + 2")
    assert cached_files(tmp_path) == ["a-file"]


def test_a_folder_others_may_write_is_not_used(cache_in, tmp_path):
    # Lark's cache is a pickle: a file someone else put there would run as us.
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    cache_in(folder)
    assert lark_cache.cache_dir() is None
    assert lalr_parser("toy", GRAMMAR).parse("1 + 2")
    assert cached_files(folder) == []


def test_a_folder_that_cannot_be_written_changes_nothing(cache_in, tmp_path, monkeypatch):
    cache_in(tmp_path)

    def refuse(name, mode="r", **kwargs):
        if "w" in mode:
            raise PermissionError(13, "Read-only file system", name)
        return open(name, mode, **kwargs)

    monkeypatch.setattr(lark.utils.FS, "open", staticmethod(refuse))
    assert lalr_parser("toy", GRAMMAR).parse("1 + 2") == lark.Lark(GRAMMAR, parser="lalr").parse("1 + 2")
    assert cached_files(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root writes to read-only folders; the monkeypatched test above covers it")
def test_a_read_only_folder_changes_nothing(cache_in, tmp_path):
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        cache_in(tmp_path)
        assert lalr_parser("toy", GRAMMAR).parse("1 + 2")
        assert cached_files(tmp_path) == []
    finally:
        tmp_path.chmod(stat.S_IRWXU)


def _cli(cache: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, CACHE_DIR_VARIABLE: cache}
    return subprocess.run([sys.executable, "-m", "cedarscope", *args], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[1])


def test_the_command_line_answers_alike_cold_warm_and_without_cache(tmp_path):
    # Our two grammars, with a parse error in each (the expected tokens come
    # from the table), from an empty cache, a filled one, and none.
    bad_policy = tmp_path / "bad.cedar"
    bad_policy.write_text('permit (principal, action, resource) when { principal.x + };\n')
    bad_schema = tmp_path / "bad.cedarschema"
    bad_schema.write_text("entity User in { ;\n")
    runs = [
        ("validate", "examples/policies.cedar", "--schema", "examples/schema.cedarschema"),
        ("parse", str(bad_policy)),
        ("validate", "examples/policies.cedar", "--schema", str(bad_schema)),
    ]
    folder = tmp_path / "cache"
    answers = {}
    for label, cache in (("cold", str(folder)), ("warm", str(folder)), ("none", "")):
        answers[label] = [(r.returncode, r.stdout, r.stderr) for r in (_cli(cache, *args) for args in runs)]
    assert answers["cold"] == answers["warm"] == answers["none"]
    assert [code for code, _, _ in answers["none"]] == [0, 2, 2]
    assert len(cached_files(folder)) == 2
