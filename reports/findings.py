"""The vocabulary of results: what an analysis or a concrete authorization
found, as plain immutable data.

`analyzer` builds these; the renderers in this package turn them into text,
JSON, SARIF, Markdown and HTML.  Nothing here calls the solver or prints.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cedarscope.lang.authorizer import Decision
from cedarscope.version import VERSION

if TYPE_CHECKING:  # annotations only, so that the command line starts without them
    from cedarscope.lang.ast import TemplateLink
    from cedarscope.lang.entities import Entities
    from cedarscope.lang.explain import Explanation
    from cedarscope.lang.request import Request
    from cedarscope.lang.schema import RequestEnv

TOOL = "cedarscope"
__all__ = ["TOOL", "VERSION", "Verdict", "Location", "PolicyRef", "Counterexample", "Finding", "Report",
           "AuthorizationResult", "AccessCell", "FINDING_KINDS", "CHANGE_KINDS", "ACCESS_LEVELS"]

# The finding kinds that are changes (diff, whatif): each one is a
# (direction, environment) with an exact description and examples.
CHANGE_KINDS = ("gained", "lost")
# How much of an environment a policy set allows.
ACCESS_LEVELS = ("always", "sometimes", "never", "unknown")


class Verdict(enum.StrEnum):
    """The answer to an analysis question, with the exit code it maps to."""

    HOLDS = "holds"
    VIOLATED = "violated"
    UNKNOWN = "unknown"

    @property
    def exit_code(self) -> int:
        return {"holds": 0, "violated": 1, "unknown": 3}[self.value]


class Answered:
    """What every report gives: its verdict, and the exit code that verdict
    maps to (a report may narrow which findings fail it: `Report`)."""

    result: Verdict

    @property
    def verdict(self) -> Verdict:
        """The answer: holds, violated or unknown (`result` in the JSON)."""
        return self.result

    @property
    def exit_code(self) -> int:
        return self.result.exit_code


# Exit codes of every command (README documents them).
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_UNKNOWN = 3
EXIT_INTERNAL_ERROR = 4

# How much a finding matters: only errors fail a run (exit code 1).
SEVERITIES = ("error", "warning", "note")

# Every finding kind of the JSON contract, with the title a reader sees in
# SARIF rules and report headings.
FINDING_KINDS: Mapping[str, str] = MappingProxyType({
    "gained": "Access gained",
    "lost": "Access lost",
    "always-allows": "Always allows",
    "always-denies": "Always denies",
    "may-error": "May error",
    "dead": "Dead policy (never matches)",
    "always-matches": "Policy always matches",
    "redundant": "Redundant policy",
    "shadowed": "Shadowed policy",
    "overridden": "Overridden policy",
    "forbid-may-error": "Forbid policy may error (and then does not deny)",
    "over-permissive": "Over-permissive policy",
    "property-violated": "Property violated",
    "reachable": "Reachable",
})


def _frozen(d: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(d or {}))


@dataclass(frozen=True)
class Location:
    """A place in a source file (1-based line and column)."""

    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    @classmethod
    def of(cls, node: Any) -> Location | None:
        """The start of an AST node's span, or None if it has no span."""
        span = getattr(node, "span", None)
        if span is None:
            return None
        return cls(span.file, span.line, span.column)


@dataclass(frozen=True)
class PolicyRef:
    """A policy by id, with where it is written (for "determined by")."""

    id: str
    location: Location | None = None
    effect: str | None = None  # "permit" | "forbid" when known

    def __str__(self) -> str:
        where = f" ({self.location.file}:{self.location.line})" if self.location else ""
        return f"{self.id}{where}"

    @classmethod
    def of(cls, policy_id: str, policy: Any) -> PolicyRef:
        """A reference to `policy` (an AST Policy, or None when unknown)."""
        return cls(policy_id, Location.of(policy), getattr(policy, "effect", None))


@dataclass(frozen=True)
class Counterexample:
    """A concrete request and entity store, with the decision each side
    (e.g. ``old``/``new``, or ``policies`` for a single set) gives it, and the
    policies that determined each decision."""

    request: Request
    entities: Entities
    decisions: Mapping[str, str] = field(default_factory=dict)
    determining: Mapping[str, tuple[PolicyRef, ...]] = field(default_factory=dict)
    # Values no policy reads, given a plain default so the store conforms
    # to the schema: `User::"alice".department`, `context.mfa`.
    unread: frozenset[str] = frozenset()
    links: tuple[TemplateLink, ...] = ()  # the template links it needs (templates analysed for every link)

    def __post_init__(self) -> None:
        object.__setattr__(self, "unread", frozenset(self.unread))
        object.__setattr__(self, "links", tuple(self.links))
        object.__setattr__(self, "decisions", _frozen(self.decisions))
        object.__setattr__(
            self, "determining",
            _frozen({k: tuple(v) for k, v in dict(self.determining).items()}))


@dataclass(frozen=True)
class Finding:
    """One thing an analysis found.  `policies` are its subjects, `related`
    the policies that explain it (the shadowing permit, the overriding
    forbid), `locations` where the subjects are written.

    A change (kind gained or lost) names as `policies` the added, removed or
    edited policies, templates and links that caused it (`edits` says which
    of the three each is), carries its exact `description` (one Cedar
    policy, of `description_form` "readable" or "structural"; None when no
    exact one was found) and its `examples`; `counterexample` is the
    first example."""

    kind: str
    message: str
    policies: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    locations: tuple[Location, ...] = ()
    environment: RequestEnv | None = None
    counterexample: Counterexample | None = None
    description: str | None = None
    description_form: str | None = None
    examples: tuple[Counterexample, ...] = ()
    edits: Mapping[str, str] = field(default_factory=dict)
    # The Cedar text of the subjects, by label ("p (old)", "p (new)"), for
    # renderers that show the edit (HTML); not part of the JSON contract.
    texts: Mapping[str, str] = field(default_factory=dict, compare=False)
    # "error" (the default: it fails the run), "warning" or "note" (reported,
    # not failing): set by the settings' per-kind severities, or "note" for
    # what only a strict audit reports.
    severity: str = "error"

    def __post_init__(self) -> None:
        if self.kind not in FINDING_KINDS:
            raise ValueError(f"unknown finding kind {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        object.__setattr__(self, "policies", tuple(self.policies))
        object.__setattr__(self, "related", tuple(self.related))
        object.__setattr__(self, "locations", tuple(self.locations))
        object.__setattr__(self, "edits", _frozen(self.edits))
        object.__setattr__(self, "texts", _frozen(self.texts))
        examples = tuple(self.examples)
        if self.counterexample is not None and (not examples or examples[0] != self.counterexample):
            examples = (self.counterexample,) + examples[1:]  # `counterexample` given is the first example
        object.__setattr__(self, "examples", examples)
        if self.counterexample is None and examples:
            object.__setattr__(self, "counterexample", examples[0])

    @property
    def is_change(self) -> bool:
        return self.kind in CHANGE_KINDS


@dataclass(frozen=True)
class AccessCell:
    """How much of one environment each version allows (`ACCESS_LEVELS`),
    for the before/after access matrix."""

    environment: RequestEnv
    old: str
    new: str
    changes: int = 0  # the changes (gained, lost) found in the environment

    @property
    def changed(self) -> bool:
        return self.old != self.new or self.changes > 0


@dataclass(frozen=True)
class Report(Answered):
    """The result of one analysis command.  `assumptions` says, one sentence
    each, which requests and entity stores its answers cover: every
    "holds" is proved for those and no others."""

    command: str
    result: Verdict
    findings: tuple[Finding, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)
    tool: str = TOOL
    version: str = VERSION
    assumptions: tuple[str, ...] = ()
    # The finding kinds that make the exit code 1 (None: any finding).
    fail_on: frozenset[str] | None = None
    # The before/after access matrix, when it was asked for (diff, whatif).
    matrix: tuple[AccessCell, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "result", Verdict(self.result))
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "assumptions", tuple(self.assumptions))
        object.__setattr__(self, "stats", _frozen(self.stats))
        object.__setattr__(self, "matrix", tuple(self.matrix))
        if self.fail_on is not None:
            unknown = set(self.fail_on) - set(FINDING_KINDS)
            if unknown:
                raise ValueError(f"unknown finding kind {sorted(unknown)[0]!r}")
            object.__setattr__(self, "fail_on", frozenset(self.fail_on))

    @property
    def exit_code(self) -> int:
        """1 when a finding of a failing kind was found (any kind, unless
        `fail_on` narrows them) at error severity, else 3 for unknown, else
        0.  A violation whose findings a project's settings made warnings or
        notes is reported, not failing: it exits 0 and stays "violated"."""
        failing = [f for f in self.findings
                   if f.severity == "error" and (self.fail_on is None or f.kind in self.fail_on)]
        if failing or (self.result is Verdict.VIOLATED and self.fail_on is None and not self.findings):
            return EXIT_FINDINGS
        return EXIT_UNKNOWN if self.result is Verdict.UNKNOWN else EXIT_OK

    @property
    def changes(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_change)

    def to_json(self) -> dict[str, Any]:
        """Exactly the object `--format json` prints for this report."""
        from cedarscope.reports.render_json import report_json

        return report_json(self)


@dataclass(frozen=True)
class AuthorizationResult:
    """The answer to one concrete request (the `authorize` command)."""

    request: Request
    decision: Decision
    reasons: tuple[PolicyRef, ...] = ()
    errors: tuple[tuple[PolicyRef, str], ...] = ()  # (policy, message)
    explanation: Explanation | None = None  # every policy's outcome (`authorize --explain`)

    def __post_init__(self) -> None:
        object.__setattr__(self, "decision", Decision(self.decision))  # ValueError if neither
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "errors", tuple(tuple(e) for e in self.errors))
