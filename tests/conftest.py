"""Shared test configuration.  Helpers live in `tests/support/`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.corpus import CORPUS, REPO


def pytest_report_header() -> str:
    found = "present" if CORPUS.is_dir() else "absent: the corpus tests skip"
    return f"cedar corpus: {CORPUS} ({found})"


@pytest.fixture
def examples() -> Path:
    """The bundled example (examples/: schema, policies v1 and v2, entities)."""
    return REPO / "examples"
