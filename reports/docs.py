"""Where each finding kind is documented: one page per kind under
docs/findings/ (what it means, an example, how to fix or suppress it).

Renderers link to the page: text output names the command that prints it
(`cedarscope docs KIND`, which works wherever cedarscope is installed),
SARIF rules carry its path as their help link.  A link is the page's path in the repository,
``docs/findings/<kind>.md``; with a base URL (``CEDARSCOPE_DOCS_URL``, e.g.
the repository's web address at a tag, as the GitHub Action sets it) it is
an absolute URL, which SARIF viewers can open.
"""

from __future__ import annotations

import os
from typing import Any

from cedarscope.reports.findings import FINDING_KINDS

DOCS_FOLDER = "docs/findings"
DOCS_URL_VARIABLE = "CEDARSCOPE_DOCS_URL"


def finding_doc(kind: str) -> str:
    """The kind's page, as a path in the repository."""
    if kind not in FINDING_KINDS:
        raise ValueError(f"unknown finding kind {kind!r}")
    return f"{DOCS_FOLDER}/{kind}.md"


def finding_page(kind: str) -> str:
    """The kind's page itself, as installed with the package (the wheel
    holds docs/findings/ as cedarscope/reports/finding_pages/)."""
    from importlib import resources

    return (resources.files("cedarscope.reports") / "finding_pages" / finding_doc(kind).rsplit("/", 1)[1]
            ).read_text(encoding="utf-8")


def finding_doc_url(kind: str, base: str | None = None) -> str | None:
    """The kind's page as an absolute URL under `base` (default: the
    ``CEDARSCOPE_DOCS_URL`` environment variable), or None without one."""
    base = base if base is not None else os.environ.get(DOCS_URL_VARIABLE)
    if not base:
        return None
    return f"{base.rstrip('/')}/{kind}.md"


def finding_doc_link(kind: str) -> str:
    """What a reader is pointed to: the URL when a base is set, else the path."""
    return finding_doc_url(kind) or finding_doc(kind)


def with_doc_links(sarif: dict[str, Any]) -> dict[str, Any]:
    """A SARIF log whose rules link to their kinds' pages: the page's path
    in `properties.documentation` and the rule's help text, and `helpUri`
    when an absolute URL is known (SARIF wants a URI there)."""
    for run in sarif.get("runs", []):
        for rule in run.get("tool", {}).get("driver", {}).get("rules", []):
            kind = rule["id"]
            link = finding_doc_link(kind)
            url = finding_doc_url(kind)
            if url is not None:
                rule["helpUri"] = url
            help_text = rule.get("help", {}).get("text") or rule.get("shortDescription", {}).get("text", kind)
            rule["help"] = {"text": f"{help_text} See {link}.",
                            "markdown": f"{help_text} See [{kind}]({link})."}
            rule.setdefault("properties", {})["documentation"] = finding_doc(kind)
    return sarif
