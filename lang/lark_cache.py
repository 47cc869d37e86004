"""Lark's LALR(1) parsers, their tables kept on disk between runs.

Lark takes 40-70 ms to compute the table of each of our grammars (Cedar's
policies, and its schema syntax), on every start of the command line; read
back from Lark's cache it takes a few.  The cache is only ever a shortcut:
when it cannot be read or written for any reason, the parser is built as
without it, and the table is the same.

Where: `$CEDARSCOPE_CACHE_DIR` when set (empty turns the cache off), else
`$XDG_CACHE_HOME/cedarscope`, else `~/.cache/cedarscope`.  Lark's cache is
a pickle, and unpickling runs code, so the folder is used only when it is
the user's own and no one else may write to it (never a shared temporary
folder, which Lark would use by default).  Each file is named by a digest
of the grammar, the options and the Lark and Python versions, so
differing versions of cedarscope never read each other's tables, and it is
written under a temporary name and then renamed, so a run never reads
another's half-written file.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import lark

CACHE_DIR_VARIABLE = "CEDARSCOPE_CACHE_DIR"


def lalr_parser(name: str, grammar: str, **options: Any) -> lark.Lark:
    """Lark's LALR(1) parser for `grammar` (`name` names its cache file)."""
    path = _cache_file(name, grammar, options)
    if path is None:
        return lark.Lark(grammar, parser="lalr", **options)
    if path.exists():
        # Lark checks the file's digest, and builds the table anew (and
        # rewrites the file) when it cannot read it.
        return lark.Lark(grammar, parser="lalr", cache=str(path), **options)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    parser = lark.Lark(grammar, parser="lalr", cache=str(partial), **options)
    try:
        os.replace(partial, path)
    except OSError:  # Lark could not write it (it says nothing then), or the rename failed
        partial.unlink(missing_ok=True)
    return parser


def cache_dir() -> Path | None:
    """The folder for cached tables, or None when there is none we may use."""
    configured = os.environ.get(CACHE_DIR_VARIABLE)
    try:
        if configured is not None:
            if not configured:
                return None
            folder = Path(configured)
        elif os.environ.get("XDG_CACHE_HOME", "").startswith("/"):
            folder = Path(os.environ["XDG_CACHE_HOME"]) / "cedarscope"
        else:
            folder = Path.home() / ".cache" / "cedarscope"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = folder.stat()
    except (OSError, RuntimeError):  # RuntimeError: no home directory
        return None
    getuid = getattr(os, "getuid", None)
    if getuid is not None and (status.st_uid != getuid() or status.st_mode & 0o022):
        return None
    return folder


def _cache_file(name: str, grammar: str, options: dict[str, Any]) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    # The transformer supplies callbacks at load time; everything else shapes the table.
    shaping = sorted((k, repr(v)) for k, v in options.items() if k != "transformer")
    key = repr((grammar, shaping, lark.__version__, sys.version_info[:2]))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return folder / f"lark-{name}-{digest}.pickle"
