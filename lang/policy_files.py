"""The policies named on a command line: ``.cedar`` files, folders, and
files in Cedar's JSON policy format.

A ``.json`` file named directly is read as Cedar's JSON policy set (see
`lang.json_policies`); a folder contributes only its ``.cedar`` files,
because folders of policies often hold entities and schemas in JSON too.
Positional ids (``policyN``) count the policies of the Cedar text files only,
exactly as if the JSON files were not named: a JSON policy set names its
policies itself.  Policies keep the order of the paths given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cedarscope.lang.ast import Policy, PolicySet, TemplateLink
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.files import read_bytes

JSON_SUFFIX = ".json"


def is_json_policy_file(path: str | Path) -> bool:
    """Is `path` named as a file in Cedar's JSON policy format?"""
    return Path(path).suffix.lower() == JSON_SUFFIX


def load_policy_files(paths: Sequence[str | Path] | str | Path) -> PolicySet:
    """The policies of `paths`, in order (see the module docstring)."""
    from cedarscope.lang.parser import load_policies

    given = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    json_paths = [p for p in given if is_json_policy_file(p) and not p.is_dir()]
    text_paths = [p for p in given if p not in json_paths]
    if not json_paths:
        return load_policies(text_paths)
    errors: list[Diagnostic] = []
    text_set = _collect(lambda: load_policies(text_paths) if text_paths else PolicySet(()), errors)
    json_sets = {p: _collect(lambda p=p: read_json_policy_file(p), errors) for p in json_paths}
    if errors:
        raise CedarError(errors)
    by_file = _by_file(text_set)
    entries: list[tuple[str, Policy]] = []
    links: list[TemplateLink] = list(text_set.links)
    for p in given:
        if p in json_sets:
            entries += json_sets[p].policies
            links += json_sets[p].links
        else:
            for f in _text_files(p):
                entries += by_file.pop(str(f), [])
    _check_unique(entries, links)
    return PolicySet(tuple(entries), tuple(links))


def read_json_policy_file(path: str | Path) -> PolicySet:
    """One file in Cedar's JSON policy format."""
    from cedarscope.lang.json_policies import parse_policy_json

    path = Path(path)
    data = read_bytes(path)  # a regular file within the input limit: a FIFO would block
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise CedarError(Diagnostic(f"not valid UTF-8 (byte 0x{data[err.start]:02x})", file=str(path),
                                    line=line)) from None
    return parse_policy_json(text, str(path))


def _collect(load, errors: list[Diagnostic]) -> PolicySet:
    """`load()`, or an empty set with its diagnostics added to `errors`."""
    try:
        return load()
    except CedarError as err:
        errors.extend(err.diagnostics)
        return PolicySet(())


def _text_files(path: Path) -> list[Path]:
    """The files `parser.load_policies` reads for one path, in its order."""
    if path.is_dir():
        return sorted(f for f in path.rglob("*.cedar") if f.is_file())
    return [path]


def _by_file(ps: PolicySet) -> dict[str, list[tuple[str, Policy]]]:
    out: dict[str, list[tuple[str, Policy]]] = {}
    for pid, policy in ps.policies:
        out.setdefault(policy.span.file if policy.span else "", []).append((pid, policy))
    return out


def _check_unique(entries: list[tuple[str, Policy]], links: list[TemplateLink]) -> None:
    seen: set[str] = set()
    for pid in [pid for pid, _ in entries] + [link.link_id for link in links]:
        if pid in seen:
            raise CedarError(Diagnostic(f"duplicate policy id `{pid}` (named by two policy files)",
                                        file=_file_of(entries, pid)))
        seen.add(pid)


def _file_of(entries: list[tuple[str, Policy]], pid: str) -> str:
    spans = [p.span for q, p in entries if q == pid and p.span is not None]
    return spans[-1].file if spans else "<policies>"
