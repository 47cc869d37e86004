"""Where policies come from: files, folders, or a folder at a git revision.

Files and folders are read by `lang.policy_files` (``.cedar`` text, or a
``.json`` file in Cedar's JSON policy format named directly).
``git:REV:path`` reads `path` (a file or a folder of ``.cedar`` files) as it
was at revision REV of the git repository that contains the current
directory, because the common use of `diff` is reviewing a change.
"""

from __future__ import annotations

import posixpath
import subprocess
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from cedarscope.lang.ast import Policy, PolicySet, TemplateLink
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.parser import parse_policies
from cedarscope.lang.policy_files import is_json_policy_file, load_policy_files

GIT_PREFIX = "git:"


def load_policy_source(specs: Sequence[str]) -> PolicySet:
    """Policies from files/folders, or from one ``git:REV:path`` spec."""
    git_specs = [s for s in specs if s.startswith(GIT_PREFIX)]
    if not git_specs:
        missing = [s for s in specs if not Path(s).exists()]
        if missing:
            raise CedarError(Diagnostic(f"no such file or folder: {missing[0]}", file=missing[0]))
        return load_policy_files(list(specs))
    if len(specs) != 1:
        raise CedarError(Diagnostic("a git:REV:path source must be given alone", file=git_specs[0]))
    return _load_git(git_specs[0])


def _git(*args: str, cwd: str | None = None) -> str:
    proc = subprocess.run(["git", *args], capture_output=True, cwd=cwd)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise CedarError(Diagnostic(f"git {' '.join(args)}: {message[-1] if message else 'failed'}",
                                    file="git"))
    return proc.stdout.decode("utf-8", "replace")


def _repository_path(spec: str, path: str) -> tuple[str, str]:
    """The repository's top folder, and `path` (relative to the current
    directory, as the user wrote it) as a path from that top folder."""
    top = _git("rev-parse", "--show-toplevel").strip()
    prefix = _git("rev-parse", "--show-prefix").strip()
    joined = posixpath.normpath(posixpath.join(prefix, path or "."))
    if Path(path).is_absolute() or joined == ".." or joined.startswith("../"):
        raise CedarError(Diagnostic(f"{path!r} is outside the git repository", file=spec))
    return top, "" if joined == "." else joined


def _load_git(spec: str) -> PolicySet:
    try:
        _, rev, path = spec.split(":", 2)
    except ValueError:
        raise CedarError(Diagnostic("expected git:REV:path", file=spec)) from None
    if not rev:
        raise CedarError(Diagnostic("expected git:REV:path (REV is empty)", file=spec))
    if rev.startswith("-"):
        # git would read it as an option (`--output=...`), not a revision
        raise CedarError(Diagnostic(f"a git revision cannot start with '-': {rev[:40]!r}", file="git"))
    top, target = _repository_path(spec, path)
    # Run from the top folder, so ls-tree lists and `show REV:name` reads
    # paths from the repository's root whatever the current directory.
    listing = _git("ls-tree", "-r", "--name-only", rev, "--", target or ".", cwd=top).splitlines()
    inside = [f for f in listing if f == target or not target or f.startswith(target + "/")]
    files = [f for f in inside if f.endswith(".cedar") or f == target]
    # The order load_policies gives a folder: sorted path by path component.
    files.sort(key=lambda f: PurePosixPath(f).parts)
    if not files:
        raise CedarError(Diagnostic(f"no .cedar files at {path!r} in revision {rev}", file=spec))
    policies: list[tuple[str, Policy]] = []
    seen: set[str] = set()
    errors: list[Diagnostic] = []
    links: list[TemplateLink] = []
    positional = 0
    for name in files:
        source = f"git:{rev}:{name}"
        try:
            parsed = _parse_revision_file(_git("show", f"{rev}:{name}", cwd=top), source)
        except CedarError as err:
            errors.extend(err.diagnostics)
            continue
        text_file = not is_json_policy_file(name)  # a JSON policy set names its policies
        for pid, policy in parsed.policies:
            if text_file:  # positional ids continue across text files
                if policy.annotation("id") is None:
                    pid = f"policy{positional}"
                positional += 1
            if pid in seen:
                errors.append(Diagnostic(f"duplicate policy id {pid!r}", file=source))
            seen.add(pid)
            policies.append((pid, policy))
        links += parsed.links
    if errors:
        raise CedarError(errors)
    return PolicySet(tuple(policies), tuple(links))


def _parse_revision_file(text: str, source: str) -> PolicySet:
    """A file's text at a revision: Cedar's JSON policy format for a
    ``.json`` file, else Cedar text."""
    if is_json_policy_file(source):
        from cedarscope.lang.json_policies import parse_policy_json

        return parse_policy_json(text, source)
    return parse_policies(text, source)
