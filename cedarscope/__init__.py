"""cedarscope: answer questions about Cedar authorization policies with an SMT solver.

    import cedarscope
    schema = cedarscope.load_schema("examples/schema.cedarschema")
    old = cedarscope.load_policies("examples/policies.cedar")
    new = cedarscope.load_policies("examples/policies_v2.cedar")
    report = cedarscope.diff(old, new, schema)
    report.verdict      # Verdict.HOLDS | VIOLATED | UNKNOWN ("holds" | "violated" | "unknown")
    report.findings     # the findings, typed (cedarscope.Finding)
    report.to_json()    # exactly the object `--format json` prints

The functions are those of the command line (`cedarscope.analyzer.api`):
diff, whatif, audit, ask, access, count, check, equivalent, implies,
disjoint, authorize, validate, and the loaders.  Bad input raises `CedarError`, which carries the
located diagnostics.  Names load on first use, so `import cedarscope` is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cedarscope.analyzer.api import (
        Validation,
        access,
        ask,
        audit,
        authorize,
        check,
        count,
        diff,
        disjoint,
        equivalent,
        implies,
        load_entities,
        load_policies,
        load_request,
        load_schema,
        parse_policies,
        parse_request,
        parse_schema,
        validate,
        whatif,
    )
    from cedarscope.lang.diagnostics import CedarError, Diagnostic
    from cedarscope.reports.findings import (
        AuthorizationResult,
        Counterexample,
        Finding,
        Location,
        PolicyRef,
        Report,
        Verdict,
    )

from cedarscope.version import VERSION as __version__

_ANALYSES = ("Validation", "access", "ask", "audit", "authorize", "check", "count", "diff", "disjoint", "equivalent",
             "implies", "load_entities", "load_policies", "load_request", "load_schema", "parse_policies",
             "parse_request", "parse_schema", "validate", "whatif")
_RESULTS = ("AuthorizationResult", "Counterexample", "Finding", "Location", "PolicyRef", "Report", "Verdict")
_DIAGNOSTICS = ("CedarError", "Diagnostic")

__all__ = [  # written out, so linters see the re-exports: _ANALYSES, _RESULTS, _DIAGNOSTICS
    "Validation", "access", "ask", "audit", "authorize", "check", "count", "diff", "disjoint", "equivalent",
    "implies", "load_entities", "load_policies", "load_request", "load_schema", "parse_policies",
    "parse_request", "parse_schema", "validate", "whatif",
    "AuthorizationResult", "Counterexample", "Finding", "Location", "PolicyRef", "Report", "Verdict",
    "CedarError", "Diagnostic",
    "__version__",
]

# where each name lives: loaded on first use
_HOME = {
    **dict.fromkeys(_ANALYSES, "cedarscope.analyzer.api"),
    **dict.fromkeys(_RESULTS, "cedarscope.reports.findings"),
    **dict.fromkeys(_DIAGNOSTICS, "cedarscope.lang.diagnostics"),
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'cedarscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
