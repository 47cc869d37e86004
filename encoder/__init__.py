"""Cedar to Z3, and Z3 models back to Cedar.

`Encoding` (encoder.encoding) compiles policies over one request
environment's symbolic request and entity store; `Unsupported` names a
construct the encoder cannot encode.  Names are loaded on first use, so
importing the package does not load the solver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cedarscope.encoder.encoding import Encoding
    from cedarscope.encoder.solver import Solver, solver_for
    from cedarscope.encoder.terms import Unsupported

_EXPORTS = {"Encoding": "cedarscope.encoder.encoding", "Unsupported": "cedarscope.encoder.terms",
            "Solver": "cedarscope.encoder.solver", "solver_for": "cedarscope.encoder.solver"}

__all__ = ["Encoding", "Solver", "Unsupported", "solver_for"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
