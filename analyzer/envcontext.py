"""An environment's own Z3 context: the solver in it, and the encoding's
terms translated into it once (see analyzer.solving.EnvSolver)."""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

import z3

from cedarscope.analyzer import interrupts
from cedarscope.encoder import Encoding, Solver
from cedarscope.encoder.direct import translated


@functools.cache
def keep_freed_memory() -> None:
    """Let glibc's malloc keep freed memory (up to 128 MiB) for reuse rather
    than return it to the system at once.  Each environment gets a Z3 context
    of its own, which allocates two blocks of about 8 MiB; given back
    and fetched again, they cost some 4,000 page faults (3-6 ms, more than a
    whole small query) per context.  Elsewhere than glibc: nothing."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)  # such blocks from the heap, not each its own mapping
        libc.mallopt(M_TRIM_THRESHOLD, 128 << 20)
    except (OSError, AttributeError):
        pass


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


def translator(cache: dict[int, tuple[z3.ExprRef, z3.ExprRef]], ctx: z3.Context
                ) -> Callable[[z3.ExprRef], z3.ExprRef]:
    """A formula of the encoding in the solver's context ctx, translated once."""
    def local(formula: z3.ExprRef) -> z3.ExprRef:
        key = formula.get_id()
        found = cache.get(key)
        if found is None:
            found = cache[key] = (formula, translated(formula, ctx))
        return found[1]
    return local


class SolverContext:
    """An environment's own Z3 context and its solver (see EnvSolver)."""

    def __init__(self, enc: Encoding):
        keep_freed_memory()
        self.ctx = z3.Context()
        interrupts.solver_context(self.ctx)  # Ctrl-C must reach a check in this context
        # Keyed by term id; each entry keeps its term alive, because Z3 reuses
        # the id of a term once it is freed.
        self._local: dict[int, tuple[z3.ExprRef, z3.ExprRef]] = {}
        # Not a bound method: what the solver and the models hold must not
        # lead back here, so that the context is freed as soon as the
        # EnvSolver is (not at the next garbage collection, meanwhile holding
        # memory that a new context then has to fault in again).
        self.local: Callable[[z3.ExprRef], z3.ExprRef] = translator(self._local, self.ctx)
        # Z3 with the encoding's `like` tests decided lazily (encoder.solver)
        self.solver = Solver(enc.compiler.likes, ctx=self.ctx, local=self.local)
        self.readable = z3.Bool("cedarscope.readable", self.ctx)
        self.small = z3.Bool("cedarscope.small", self.ctx)

    @functools.cached_property
    def present(self) -> z3.BoolRef:
        """Made when first asked for: the terms made before it keep their ids."""
        return z3.Bool("cedarscope.present", self.ctx)

    @functools.cached_property
    def printable(self) -> z3.BoolRef:
        """The fallback preferences' literal, made (like `present`) when first asked for."""
        return z3.Bool("cedarscope.printable", self.ctx)
