"""Template links in Cedar's link format.

    [{"template_id": "t", "link_id": "l", "args": {"?principal": "User::\"a\""}}]

An argument is an entity uid written as Cedar text or as ``{"type", "id"}``
(optionally wrapped in ``__entity``).  Every problem is a one-line error
naming the file and the JSON path of the offending link.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cedarscope.lang.ast import PolicySet, TemplateLink
from cedarscope.lang.diagnostics import CedarError, Diagnostic
from cedarscope.lang.values import EntityUID


def parse_links(text: str, filename: str = "<links>") -> tuple[TemplateLink, ...]:
    """Links from the text of a links file."""
    from cedarscope.lang.files import load_json

    return links_from_json(load_json(text, filename), filename)


def links_from_json(data: Any, filename: str = "<links>") -> tuple[TemplateLink, ...]:
    """Links from parsed JSON, checked for form only (see `with_links`)."""
    if not isinstance(data, list):
        raise CedarError(Diagnostic("expected a JSON array of template links", file=filename))
    links = []
    for i, item in enumerate(data):
        path = f"[{i}]"
        if (not isinstance(item, dict) or not {"template_id", "link_id", "args"} <= item.keys()
                or not isinstance(item["template_id"], str) or not isinstance(item["link_id"], str)
                or not isinstance(item["args"], dict)):
            raise CedarError(Diagnostic("expected an object with template_id and link_id strings "
                                        "and an args object", file=filename, path=path))
        values = tuple((slot, _entity_uid(uid, filename, f"{path}.args.{slot}"))
                       for slot, uid in sorted(item["args"].items()))
        links.append(TemplateLink(item["template_id"], item["link_id"], values))
    return tuple(links)


def links_to_json(links: Any) -> list[dict[str, Any]]:
    """Links in Cedar's link format (args as Cedar entity literals)."""
    from cedarscope.lang.printer import print_entity_uid

    return [{"template_id": link.template_id, "link_id": link.link_id,
             "args": {slot: print_entity_uid(uid) for slot, uid in link.values}} for link in links]


def with_links(policyset: PolicySet, data: Any, filename: str = "<links>") -> PolicySet:
    """The policy set with the links of `data` added, each checked against it:
    the template exists, the link id is new, and the args are exactly the
    template's slots."""
    links = list(policyset.links)
    ids = set(policyset.ids) | {link.link_id for link in links}
    for i, link in enumerate(links_from_json(data, filename)):
        path = f"[{i}]"
        template = policyset.get(link.template_id)
        if template is None or not template.is_template:
            message = (f"no template with id {link.template_id!r}" if template is None else
                       f"{link.template_id!r} is a static policy (it has no slots), not a template")
            raise CedarError(Diagnostic(message, file=filename, path=f"{path}.template_id"))
        if link.link_id in ids:
            raise CedarError(Diagnostic(f"duplicate policy id {link.link_id!r}",
                                        file=filename, path=f"{path}.link_id"))
        ids.add(link.link_id)
        if {slot for slot, _ in link.values} != set(template.slots):
            raise CedarError(Diagnostic(
                f"args must give exactly the template's slots: {', '.join(template.slots)}",
                file=filename, path=f"{path}.args"))
        links.append(link)
    return dataclasses.replace(policyset, links=tuple(links))


def _entity_uid(obj: Any, filename: str, path: str) -> EntityUID:
    """An argument: Cedar text ``Type::"id"``, ``{"type", "id"}``, or that
    object under ``__entity``."""
    expected = 'expected an entity uid: "Type::\\"id\\"" or {"type": .., "id": ..}'
    if isinstance(obj, dict) and "__entity" in obj:
        obj, path = obj["__entity"], f"{path}.__entity"
        if not isinstance(obj, dict):
            raise CedarError(Diagnostic('expected {"type": .., "id": ..} under __entity', file=filename, path=path))
    if isinstance(obj, dict):
        if isinstance(obj.get("type"), str) and isinstance(obj.get("id"), str):
            return EntityUID(obj["type"], obj["id"])
        raise CedarError(Diagnostic(expected, file=filename, path=path))
    if isinstance(obj, str):
        from cedarscope.lang.parser import parse_entity_uid

        try:
            return parse_entity_uid(obj)
        except CedarError as err:
            message = err.diagnostics[0].message if err.diagnostics else "bad entity uid"
            raise CedarError(Diagnostic(f"not an entity uid: {message}", file=filename,
                                        path=path)) from None
    raise CedarError(Diagnostic(expected, file=filename, path=path))
