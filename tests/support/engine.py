"""The official Cedar engine (cedarpy) as the reference a replay is checked
against.  Tests that need it skip, saying so, when it is not installed."""

from __future__ import annotations

import json
from typing import Any

import pytest


def cedarpy_module() -> Any:
    return pytest.importorskip("cedarpy", reason="cedarpy (the official engine) is not installed")


def cedarpy_decision(request: dict[str, Any], policies: str, entities: str | list[Any],
                     schema: str | None = None) -> str:
    """cedarpy's "allow" or "deny" for one request (Cedar JSON forms; with the
    schema, cedarpy adds the action entities and their groups)."""
    cedarpy = cedarpy_module()
    if not isinstance(entities, str):
        entities = json.dumps(entities)
    result = cedarpy.is_authorized(request, policies, entities, schema) if schema is not None \
        else cedarpy.is_authorized(request, policies, entities)
    return "allow" if result.decision == cedarpy.Decision.Allow else "deny"


def replay_with_cedarpy(request: Any, entities: Any, policies: str, schema: str | None = None) -> str:
    """cedarpy's decision on one of our decoded examples (a `Request` and an
    `Entities` store), so a counterexample is checked by the official engine."""
    from cedarscope.lang.entities import entities_to_json
    from cedarscope.lang.request import request_to_json

    return cedarpy_decision(request_to_json(request), policies, entities_to_json(entities), schema)
