"""The entry points: policies, one policy, an expression, an entity uid,
from text or from files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cedarscope.lang.ast import (
    Expr,
    Policy,
    PolicySet,
)
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.parser.builder import Source
from cedarscope.lang.parser.chunks import parse_chunk, parse_file, positional_ids
from cedarscope.lang.parser.table import PARSER_LOCK
from cedarscope.lang.values import EntityUID

# Public API


def parse_policies(text: str, filename: str = "<input>") -> PolicySet:
    """All policies and templates in `text`, in order.

    Ids are ``@id("...")`` or positional ``policy0, policy1, ...`` (templates
    count).  Raises CedarError listing every error in the text.
    """
    src, policies, errors = parse_file(text, filename)
    entries = positional_ids(src, policies, 0, set(), errors)
    if errors:
        raise CedarError(errors)
    return PolicySet(tuple(entries))


def parse_policy(text: str, filename: str = "<input>") -> Policy:
    """Exactly one policy (or template)."""
    ps = parse_policies(text, filename)
    if len(ps.policies) != 1:
        raise CedarError(Diagnostic(
            message=f"expected exactly one policy, found {len(ps.policies)}",
            file=filename, line=1, column=1, source_line=Source(text, filename).source_line(1),
        ))
    return ps.policies[0][1]


def parse_expr(text: str, filename: str = "<expr>") -> Expr:
    """One Cedar expression (as in a ``when`` clause; no template slots)."""
    return _parse_whole(text, filename, "expr")


def parse_entity_uid(text: str, filename: str = "<entity uid>") -> EntityUID:
    """An entity reference such as ``NS::User::"alice"``."""
    return _parse_whole(text, filename, "entity").uid


def _parse_whole(text: str, filename: str, rule: str):
    src = Source(text, filename)
    with PARSER_LOCK:
        result, errors = parse_chunk(src, 0, len(text), 1, 1, rule)
    if errors:
        raise CedarError(errors)
    return result


def load_policies(paths: Sequence[str | Path]) -> PolicySet:
    """The policies of several files, or of folders searched recursively for
    ``*.cedar`` (sorted).  Positional ids continue across files; a duplicate
    id is an error; each node's Span.file is the path of its file."""
    if isinstance(paths, (str, Path)):  # one path, not a sequence of characters
        paths = [paths]
    files: list[Path] = []
    errors: list[Diagnostic] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*.cedar") if f.is_file())
            if not found:  # a mistyped folder must not pass as a store with no policies
                errors.append(Diagnostic(message="no .cedar files in this folder (for no policies at all, "
                                                 "name an empty .cedar file)", file=str(p)))
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            errors.append(Diagnostic(message="no such file or directory", file=str(p)))
    entries: list[tuple[str, Policy]] = []
    known: set[str] = set()
    index = 0
    for f in files:
        text = _read_text(f, errors)
        if text is not None:
            src, policies, errs = parse_file(text, str(f))
            errors.extend(errs)
            entries.extend(positional_ids(src, policies, index, known, errors))
            index += len(policies)
    if errors:
        raise CedarError(errors)
    return PolicySet(tuple(entries))


def _read_text(path: Path, errors: list[Diagnostic]) -> str | None:
    """The file's text (a regular file, size-capped, UTF-8: see lang.files);
    a problem is added to `errors`."""
    from cedarscope.lang.files import read_text

    try:
        return read_text(path, "policy file")
    except CedarError as e:
        errors.extend(e.diagnostics)
        return None
