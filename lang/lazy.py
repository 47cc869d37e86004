"""Lazy re-exports for package `__init__` modules (PEP 562).

A package names what its callers use without importing the modules that
define it until a name is first asked for, so importing `cedarscope.lang`
(or `.reports`) stays cheap: no parser tables, no solver.
Each `__init__` also imports the same names under `TYPE_CHECKING`, so type
checkers see the real definitions.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`, which re-exports each name
    in `exports` from the module it maps to (a name relative to `package`,
    such as ``".parser"``).  A name is imported on first use and then kept
    in the package's namespace."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
