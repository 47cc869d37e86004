"""Reading input files: regular files only, of bounded size, as UTF-8 text
or as JSON nested no deeper than Cedar accepts; and writing output files
without waiting on a FIFO no one reads.

A FIFO would block the reader forever and a device (``/dev/zero``) would
fill memory, so only regular files are read, and only up to
`max_input_bytes` (64 MiB unless the environment variable
``CEDARSCOPE_MAX_INPUT_MB`` says otherwise).  Every problem is a
`CedarError` naming the file: a located message, never a traceback or a
hang.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cedarscope.lang.diagnostics import CedarError, Diagnostic, decode_utf8, elide, source_line

DEFAULT_MAX_INPUT_MB = 64
MAX_INPUT_ENV = "CEDARSCOPE_MAX_INPUT_MB"

# Cedar reads JSON with serde_json, whose recursion limit refuses documents
# nested 128 arrays/objects deep; so do we, before any reader recurses.
MAX_JSON_DEPTH = 127


def max_input_bytes() -> int:
    """The size cap on one input file, in bytes."""
    raw = os.environ.get(MAX_INPUT_ENV)
    try:
        mb = float(raw) if raw else DEFAULT_MAX_INPUT_MB
    except ValueError:
        mb = DEFAULT_MAX_INPUT_MB
    if not mb > 0 or mb != mb or mb == float("inf"):
        mb = DEFAULT_MAX_INPUT_MB
    return int(mb * 1024 * 1024)


def _kind(mode: int) -> str | None:
    """What a non-regular file is, for the message (None: a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_bytes(path: str | Path, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `max_input_bytes()`.  The file
    is opened without blocking, and checked again once open, so a FIFO that
    appears between the checks cannot block either."""
    name = str(path)
    cap = max_input_bytes()
    try:
        kind = _kind(os.stat(name).st_mode)
        if kind is not None:
            raise CedarError(Diagnostic(f"cannot read {what}: it is {kind}, not a regular file", file=name))
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise CedarError(Diagnostic(f"cannot read {what}: {e.strerror or e}", file=name)) from None
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise CedarError(Diagnostic(f"cannot read {what}: it is {kind}, not a regular file", file=name))
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fd, min(1 << 20, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise CedarError(Diagnostic(f"cannot read {what}: {e.strerror or e}", file=name)) from None
    finally:
        os.close(fd)
    if size > cap:
        raise CedarError(Diagnostic(
            f"{what} is larger than the input limit of {cap // (1024 * 1024)} MiB "
            f"(set {MAX_INPUT_ENV} to read larger files)", file=name))
    return b"".join(chunks)


def read_text(path: str | Path, what: str = "file") -> str:
    """A regular file's text (UTF-8, size-capped)."""
    return decode_utf8(read_bytes(path, what), str(path))


def write_text(path: str | Path, text: str, what: str = "file") -> None:
    """Write `text` (UTF-8) to `path`, made or truncated.  It is opened
    without blocking, so a FIFO that no one reads is an error where an
    ordinary open would wait forever; one that is read is written to."""
    name = str(path)
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NONBLOCK", 0), 0o666)
    except OSError as e:
        why = "it is a FIFO (named pipe) that no one reads" if e.errno == errno.ENXIO else e.strerror or e
        raise CedarError(Diagnostic(f"cannot write {what}: {why}", file=name)) from None
    os.set_blocking(fd, True)  # open: the reader, if any, takes it at its pace
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def load_json(text: str | bytes, filename: str) -> Any:
    """Parsed JSON; syntax errors located by line and column, and documents
    nested deeper than Cedar accepts refused with the file named."""
    if isinstance(text, bytes):
        text = decode_utf8(text, filename)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CedarError(Diagnostic(f"invalid JSON: {e.msg}", filename, e.lineno, e.colno,
                                    source_line=source_line(text, e.lineno))) from None
    except RecursionError:
        raise _too_deep(filename) from None
    check_json_depth(data, filename)
    return data


def json_kind(value: Any) -> str:
    """What a JSON value is, for an error message ("a string", "an array")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def check_json_depth(data: Any, filename: str) -> None:
    """Refuse (naming the file and where) JSON nested more than
    MAX_JSON_DEPTH arrays and objects deep.  Level by level, iteratively, so
    it cannot itself run out of stack."""
    level = [data] if type(data) is list or type(data) is dict else []
    depth = 1
    while level:
        if depth > MAX_JSON_DEPTH:
            raise _too_deep(filename, _path_to(data, depth))
        level = [child for value in level for child in (value.values() if type(value) is dict else value)
                 if type(child) is list or type(child) is dict]
        depth += 1


def _path_to(data: Any, depth: int) -> str:
    """The JSON path of a container `depth` levels deep (only looked for
    once the document is known to be too deep)."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, level, where = stack.pop()
        if level == depth:
            return where
        items = enumerate(value) if type(value) is list else value.items()
        stack.extend((child, level + 1, _json_path(where, key)) for key, child in reversed(list(items))
                     if type(child) is list or type(child) is dict)
    return ""


def _json_path(where: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    name = key if len(key) <= 40 else key[:39] + "…"
    return f"{where}.{name}" if where else name


def _too_deep(filename: str, path: str | None = None) -> CedarError:
    return CedarError(Diagnostic(f"JSON nested more than {MAX_JSON_DEPTH} arrays and objects deep "
                                 "(Cedar refuses it too)", file=filename, path=elide(path, 160) if path else None))


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a large input is turned into
    values: they hold no cycles, and the collector's repeated passes over
    hundreds of thousands of new objects would take more time than reading."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
