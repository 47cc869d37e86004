"""Located error messages for bad input.

Every error the user can cause by feeding us a bad file (policy syntax,
schema, entities or request JSON) is a `CedarError` carrying one or more
`Diagnostic`s.  The CLI prints them and exits with code 2; nothing else
about bad input ever reaches the user as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnostic:
    """One problem at one place.

    `file`, `line` and `column` (1-based) locate it; `path` is an alternative
    locator for JSON input (e.g. ``[3].attrs.age``) when no line is known.
    `source_line` is the text of the offending line, for the caret display.
    """

    message: str
    file: str = "<input>"
    line: int | None = None
    column: int | None = None
    path: str | None = None
    source_line: str | None = None
    severity: str = "error"

    @property
    def location(self) -> str:
        loc = self.file
        if self.line is not None:
            loc += f":{self.line}"
            if self.column is not None:
                loc += f":{self.column}"
        if self.path:
            loc += f": {self.path}"
        return loc

    def one_line(self) -> str:
        """``file:line:col: error: message`` (or ``file: path: message``)."""
        return f"{self.location}: {self.severity}: {self.message}"

    def format(self) -> str:
        """The one-line form, then the source line and a caret under the column."""
        text = self.one_line()
        if self.source_line is not None and self.column is not None:
            line = self.source_line.rstrip("\n")
            text += f"\n  {line}\n  {' ' * (self.column - 1)}^"
        return text


class CedarError(Exception):
    """Bad input: one or more diagnostics.  The CLI's exit code for it is 2."""

    def __init__(self, diagnostics: Iterable[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__("\n".join(d.one_line() for d in self.diagnostics))

    def format(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)


# Characters that break a line (as str.splitlines sees them), written as
# escapes inside a message so that every message stays one line.
_LINE_BREAKS = {c: f"\\u{{{c:x}}}" for c in (0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029)}
MAX_MESSAGE_CHARS = 300


def elide(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` as one line of at most about `limit` characters: a message that
    quotes an input value (a 700 KB string, a key with a newline) keeps its
    beginning and end, with the middle left out."""
    text = text.translate(_LINE_BREAKS)
    if len(text) <= limit:
        return text
    keep = limit // 2 - 10
    return f"{text[:keep]}…({len(text) - 2 * keep} characters)…{text[-keep:]}"


def source_line(text: str, line: int) -> str | None:
    """The 1-based `line` of `text`, or None when out of range."""
    lines = text.splitlines()
    if 1 <= line <= len(lines):
        return lines[line - 1]
    return None


def decode_utf8(data: bytes, filename: str) -> str:
    """`data` as UTF-8 text; invalid bytes are an error located at their
    line and column, with the line shown."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        line_end = data.find(b"\n", e.start)
        before = data[line_start:e.start].decode("utf-8", "replace")
        raise CedarError(Diagnostic(
            f"invalid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start})", file=filename,
            line=data.count(b"\n", 0, e.start) + 1, column=len(before) + 1,
            source_line=data[line_start:None if line_end < 0 else line_end].decode("utf-8", "replace"),
        )) from None
