"""Cedar's own test data: `../shared/corpus` beside the repository, or the
folder `CEDARSCOPE_CORPUS` names (a worktree elsewhere can point at it).
Tests that read it skip, saying where they looked, when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("CEDARSCOPE_CORPUS") or REPO.parent / "shared" / "corpus")


def missing_reason(path: Path = CORPUS) -> str:
    return f"../shared/corpus not present: {path} is missing (set CEDARSCOPE_CORPUS to use another copy)"


def corpus_path(*parts: str) -> Path:
    """`CORPUS / parts`, or skip the calling test when it does not exist."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(missing_reason(path))
    return path


def requires_corpus(*parts: str) -> pytest.MarkDecorator:
    """Mark a test (or `pytestmark` a module) to skip when `CORPUS / parts` is absent."""
    path = CORPUS.joinpath(*parts)
    return pytest.mark.skipif(not path.exists(), reason=missing_reason(path))
