"""Results and their renderings.

`reports.findings` holds the result types (plain data); one module per
output format renders them.  `render(report, fmt)` picks the renderer.
Everything is imported on first use (the result types too), so importing
the package is free and rendering JSON never loads the text renderer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from cedarscope.lang.lazy import lazy_exports

if TYPE_CHECKING:
    from cedarscope.reports.findings import (
        AuthorizationResult,
        Counterexample,
        Finding,
        Location,
        PolicyRef,
        Report,
        Verdict,
    )

# format name -> (module, function) rendering a Report
FORMATS = {
    "text": ("cedarscope.reports.render_text", "render_text"),
    "json": ("cedarscope.reports.render_json", "render_json"),
    "sarif": ("cedarscope.reports.render_sarif", "render_sarif"),
    "markdown": ("cedarscope.reports.render_markdown", "render_markdown"),
    "html": ("cedarscope.reports.render_html", "render_html"),
}


def render(report: Report, fmt: str = "text", color: bool = False) -> str:
    """`report` in the named format (`color` applies to text only)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
    module, function = FORMATS[fmt]
    renderer = getattr(importlib.import_module(module), function)
    text: str = renderer(report, color=color) if fmt == "text" else renderer(report)
    return text


__all__ = ["AuthorizationResult", "Counterexample", "Finding", "Location", "PolicyRef",
           "Report", "Verdict", "FORMATS", "render"]
__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(
    ["AuthorizationResult", "Counterexample", "Finding", "Location", "PolicyRef", "Report", "Verdict"],
    ".findings"))
