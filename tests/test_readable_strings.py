"""Examples show strings a reader would pick: where the goal only needs a
string to be non-empty or to differ from another, a word ("A", "s0"), not
one of Z3's own fresh values ("!0!"); a string a `like` pattern tests keeps
the characters the pattern needs; and when the goal needs punctuation, the
example is still found (with printable strings).  Every example replays
under our evaluator, and the same question gives the same examples."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cedarscope
from cedarscope.lang.authorizer import is_authorized

SCHEMA = """
entity User { name: String, email: String, tags: Set<String> };
entity Doc { owner: User, title: String, labels: Set<String> };
action view, edit appliesTo { principal: User, resource: Doc, context: { reason: String } };
"""
OLD = """
permit(principal, action == Action::"view", resource) when { resource.labels.contains("public") };
permit(principal, action == Action::"edit", resource) when { resource.owner == principal && resource.title != "" };
"""
NEW = """
permit(principal, action == Action::"view", resource) when { resource.labels.contains(principal.name) };
permit(principal, action == Action::"edit", resource)
  when { resource.owner == principal && resource.title != "" && context.reason != principal.name };
permit(principal, action, resource)
  when { principal.email like "*@example.com" && principal.tags.contains(resource.title) };
"""


def strings(value: Any) -> Iterator[str]:
    """Every string value in a JSON value (not the keys)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def examples(report: cedarscope.Report) -> list[dict]:
    return [cx for f in report.to_json()["findings"] for cx in f["examples"]]


def replays(report: cedarscope.Report, sides: dict[str, cedarscope.PolicySet]) -> bool:
    """Each example gets, under our authorizer, the decisions it claims."""
    return all(is_authorized(cx.request, cx.entities, sides[side]).decision == decision
               for f in report.findings for cx in f.examples for side, decision in cx.decisions.items())


def test_free_strings_read_as_words():
    schema = cedarscope.parse_schema(SCHEMA)
    old, new = cedarscope.parse_policies(OLD, "old.cedar"), cedarscope.parse_policies(NEW, "new.cedar")
    report = cedarscope.diff(old, new, schema, max_examples=3, jobs=1)
    shown = examples(report)
    assert examples(cedarscope.diff(old, new, schema, max_examples=3, jobs=1)) == shown  # deterministic
    assert len(shown) >= 6
    for cx in shown:
        for entity in cx["entities"]:
            email = entity["attrs"].pop("email", "")
            assert email == "" or email.endswith("@example.com"), email  # the pattern's characters
        words = list(strings(cx["request"]["context"])) + list(strings([e["attrs"] for e in cx["entities"]]))
        assert all(s.isalnum() or s == "" for s in words), words  # never "!0!"
        assert any(s for s in words), words  # the goals here need some non-empty strings
    assert replays(report, {"old": old, "new": new})


def test_a_goal_that_needs_punctuation_still_gets_its_example():
    schema = cedarscope.parse_schema(SCHEMA)
    policies = cedarscope.parse_policies(
        'permit(principal, action == Action::"edit", resource) when { context.reason == "on-call #4" && '
        'resource.title != "" && resource.title != principal.name };', "p.cedar")
    report = cedarscope.check(policies, schema, ["always-denies"], jobs=1)
    (cx,) = examples(report)
    assert cx["request"]["context"] == {"reason": "on-call #4"}
    assert replays(report, {"policies": policies})
