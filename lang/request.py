"""A Cedar authorization request."""

from __future__ import annotations

from dataclasses import dataclass, field

from lang.values import CedarRecord, EntityUID


@dataclass(frozen=True)
class Request:
    principal: EntityUID
    action: EntityUID
    resource: EntityUID
    context: CedarRecord = field(default_factory=CedarRecord)
