"""The solver for an encoding: Z3, with `like` decided lazily.

Z3's string solver decides a few `like` tests at once, but a guardrail store
puts hundreds of them on one string (`context.command`), most of them under
the negation of a forbid, and then it gives up on even plain questions ("can
any command run?"), with every parameter setting we tried (see the README).
Those questions are easy for automata (`encoder.globs`).  So each `like`
test on a symbolic string (a `strings.LikeAtom`) is replaced, in what the
solver sees, by a fresh Boolean, and `check` refines that abstraction:

1. Solve the abstraction.  Unsat is final: the abstraction only forgets the
   link between each Boolean and its test, so it allows more, never less.
2. A model whose Booleans agree with their tests on the model's strings is a
   model of the real formula: done.
3. Otherwise, for each string whose tests disagree, ask the automata for a
   string giving every test the model's Boolean value.  If there is one,
   solve again with that string (and those values) assumed.  If there is
   none, they name a small conflicting set of tests, and the clause "not all
   of these values at once" is added: true of every string, it only removes
   models that had no string.
4. When the automata cannot tell (their budget), or an assumed string
   conflicts with the rest of the formula, the Booleans of that string get
   their definition `b == test`, and Z3 reasons about them directly.

Every added clause holds of the real formula and nothing is assumed in a
final "unsat", so "unsat" and "sat" mean what they mean for the real formula;
only many more questions get one of them.  A model is returned only once it
satisfies the real formulas (the decoder and the replay read it as usual).
The automata read Cedar strings while Z3's may hold a lone surrogate, which
no Cedar string does; such a string matches a pattern exactly when the Cedar
string with each lone surrogate replaced by a character no pattern spells
does, so what the automata prove of Cedar strings holds of Z3's.

    solver = solver_for(enc, timeout_seconds=5)   # the z3.Solver methods the analyzer uses
    solver.add(goal, *enc.well_formed())
    if solver.check() == z3.sat:
        request, entities = enc.decode(solver.model())
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import z3

from cedarscope.encoder.direct import is_true_in
from cedarscope.encoder.globs import Effort, glob, realize
from cedarscope.encoder.strings import LikeAtom, string_val
from cedarscope.encoder.watchdog import watching

if TYPE_CHECKING:
    from cedarscope.encoder.encoding import Encoding

# Z3 parameters for every encoding.  None of Z3's string-solver settings
# (smt.seq.*, smt.string_solver, smt.sls.enable, the regex solver's budget,
# orientation and transition mode) decided the many-pattern questions, so
# there is nothing string-specific here: the lazy procedure above does that.
SOLVER_PARAMS: dict[str, Any] = {}

_MAX_ROUNDS = 200  # refinement rounds before every test gets its definition


class Solver:
    """A z3.Solver over an encoding's formulas, with `like` decided lazily.
    Offers the z3.Solver methods the analyzer uses: set("timeout", ms), add,
    push, pop, check(*assumptions), model, reason_unknown, statistics."""

    def __init__(self, likes: dict[int, LikeAtom], timeout_ms: int | None = None,
                 ctx: z3.Context | None = None, local: Callable[[Any], Any] | None = None):
        """`ctx` is the Z3 context the solver works in, and `local` carries a
        term of the encoding into it (both default to the encoding's own), so
        a caller can solve in a context of its own (analyzer.solving)."""
        self._ctx = ctx
        self._local: Callable[[Any], Any] = local or (lambda term: term)
        self._z3 = z3.SimpleSolver(ctx=ctx)
        for key, value in SOLVER_PARAMS.items():
            self._z3.set(key, value)
        self._likes = likes  # the compiler's registry, live: it grows as policies compile
        self._booleans: dict[int, z3.BoolRef] = {}  # atom formula id -> its Boolean
        self._atoms: dict[str, LikeAtom] = {}  # Boolean's name -> atom
        self._defined: set[int] = set()  # atoms whose definition was added
        self._pairs: list[tuple[z3.BoolRef, z3.BoolRef]] = []  # (test, its Boolean), for substitute
        self._timeout_ms = timeout_ms
        # the real formulas that hold `like` tests (the others are their own
        # abstraction, so every model of the abstraction satisfies them), per
        # push scope
        self._added: list[list[z3.BoolRef]] = [[]]
        self._model: z3.ModelRef | None = None
        self._reason = ""
        self._pins = 0
        self.effort = Effort()  # the string searches of every refinement so far

    # -- the z3.Solver surface ------------------------------------------------

    def set(self, key: str, value: Any) -> None:
        if key == "timeout":
            self._timeout_ms = int(value)
        else:
            self._z3.set(key, value)

    def add(self, *formulas: z3.BoolRef) -> None:
        abstract = [self._abstract(f) for f in formulas]
        self._added[-1].extend(f for f, a in zip(formulas, abstract, strict=True) if a is not f)
        self._z3.add(*abstract)

    def push(self) -> None:
        self._z3.push()
        self._added.append([])

    def pop(self) -> None:
        self._z3.pop()
        self._added.pop()
        self._defined.clear()  # definitions added in the popped scope are gone

    def model(self) -> z3.ModelRef:
        if self._model is None:
            raise z3.Z3Exception("model is not available")
        return self._model

    def reason_unknown(self) -> str:
        return self._reason

    def statistics(self) -> z3.Statistics:
        return self._z3.statistics()

    def check(self, *assumptions: z3.BoolRef) -> z3.CheckSatResult:
        self._model, self._reason = None, ""
        deadline = None if self._timeout_ms is None else time.monotonic() + self._timeout_ms / 1000
        pins: dict[int, z3.BoolRef] = {}  # subject id -> literal assuming its string
        abstract = [self._abstract(a) for a in assumptions]
        for _ in range(_MAX_ROUNDS):
            status = self._solve(deadline, [*abstract, *pins.values()])
            if status == z3.unknown:
                return status
            if status == z3.unsat:
                core = self._z3.unsat_core() if pins else []
                blamed = [sid for sid, pin in pins.items() if any(pin.eq(c) for c in core)]
                if not blamed:
                    return status
                if any(a.eq(c) for a in abstract for c in core):
                    # the strings found conflict with the caller's assumptions
                    # (a preference such as "short strings"): let the caller
                    # drop them rather than make Z3 search for other strings
                    self._reason = "no string found under the assumptions"
                    return z3.unknown
                for sid in blamed:  # the assumed string conflicts with the rest
                    del pins[sid]
                    self._define(a for a in self._atoms.values() if a.subject.get_id() == sid)
                continue
            model = self._z3.model()
            if not self._atoms or self._satisfies(model, assumptions):
                self._model = model
                return status
            wrong = self._disagreeing(model, list(self._atoms.values()))
            if not wrong:  # cannot happen: agreeing tests make the real formula true
                break
            for sid, atoms in wrong.items():
                pin = self._refine(model, atoms)
                if pin is not None:
                    pins[sid] = pin
                else:
                    pins.pop(sid, None)
        self._define(self._atoms.values())
        status = self._solve(deadline, abstract)
        if status == z3.sat:
            self._model = self._z3.model()
        return status

    # -- the refinement -------------------------------------------------------

    def _abstract(self, formula: z3.BoolRef) -> z3.BoolRef:
        if len(self._pairs) != len(self._likes):  # more policies were compiled
            self._pairs = [(self._local(atom.formula), self._boolean(atom)) for atom in self._likes.values()]
        if not self._pairs:
            return formula
        abstract = z3.substitute(formula, *self._pairs)
        return formula if abstract.eq(formula) else abstract

    def _satisfies(self, model: z3.ModelRef, assumptions: Iterable[z3.BoolRef]) -> bool:
        """Does the model satisfy the real formulas (each test evaluated on
        the model's strings)?  Only those holding tests can fail."""
        return all(is_true_in(model, f) for f in itertools.chain(*self._added, assumptions))

    def _boolean(self, atom: LikeAtom) -> z3.BoolRef:
        key = atom.formula.get_id()
        b = self._booleans.get(key)
        if b is None:
            b = self._booleans[key] = z3.Bool(f"cedarscope.like!{len(self._booleans)}", self._ctx)
            self._atoms[str(b)] = atom
        return b

    def _solve(self, deadline: float | None, assumptions: list[z3.BoolRef]) -> z3.CheckSatResult:
        if deadline is not None and deadline <= time.monotonic():
            self._reason = "timeout"
            return z3.unknown
        with watching(deadline, self._z3.ctx) as watch:  # (not Z3's timeout: see encoder.watchdog)
            status = self._z3.check(*assumptions)
        if watch is not None and watch.fired:
            # The interrupt may have come just after the check returned; Z3
            # then refuses to evaluate in the context until its next check.
            z3.Solver(ctx=self._z3.ctx).check()
            if status == z3.unknown:
                self._reason = "timeout"
                return status
        if status == z3.unknown:
            self._reason = self._z3.reason_unknown() or "unknown"
        return status

    def _disagreeing(self, model: z3.ModelRef, atoms: list[LikeAtom]) -> dict[int, list[tuple[LikeAtom, bool]]]:
        """Per subject string, its tests and the model's Boolean values, for
        each subject where some Boolean differs from its test.  Booleans the
        model leaves open count as the model completes them (false).  The
        subjects come in the order of their first test (the order policies
        were compiled), not of their term ids, which depend on everything
        the process made before: the same question refines the same way in
        any process, so `--jobs` does not change the models found."""
        by_subject: dict[int, list[tuple[LikeAtom, bool]]] = {}
        wrong: set[int] = set()
        for atom in atoms:
            value = is_true_in(model, self._boolean(atom))
            sid = atom.subject.get_id()
            by_subject.setdefault(sid, []).append((atom, value))
            if value != is_true_in(model, self._local(atom.formula)):
                wrong.add(sid)
        return {sid: tests for sid, tests in by_subject.items() if sid in wrong}

    def _refine(self, model: z3.ModelRef, atoms: list[tuple[LikeAtom, bool]]) -> z3.BoolRef | None:
        """Step 3 for one subject: a literal assuming a string that gives its
        tests the model's values, or None after adding a conflict clause or
        definitions."""
        required = [a for a, v in atoms if v]
        avoided = [a for a, v in atoms if not v]
        found = realize([glob(a.pattern) for a in required], [glob(a.pattern) for a in avoided],
                        effort=self.effort)
        if found.conflict is not None:
            rs, avs = found.conflict
            self._z3.add(z3.Or([z3.Not(self._boolean(required[i])) for i in rs]
                               + [self._boolean(avoided[j]) for j in avs]))
            return None
        if found.witness is None:
            self._define(a for a, _ in atoms)
            return None
        self._pins += 1
        pin = z3.Bool(f"cedarscope.pin!{self._pins}", self._ctx)
        subject = self._local(atoms[0][0].subject)
        values = [self._boolean(a) if v else z3.Not(self._boolean(a)) for a, v in atoms]
        self._z3.add(z3.Implies(pin, z3.And(subject == self._local(string_val(found.witness)), *values)))
        return pin

    def _define(self, atoms: Iterable[LikeAtom]) -> None:
        for atom in atoms:
            key = atom.formula.get_id()
            if key not in self._defined:
                self._defined.add(key)
                self._z3.add(self._boolean(atom) == self._local(atom.formula))


def solver_for(enc: Encoding, timeout_seconds: float | None = None) -> Solver:
    """The solver for queries on encoding `enc`, with the query's budget (the
    whole budget of each `check`, however many Z3 calls it makes)."""
    ms = None if timeout_seconds is None else max(1, int(timeout_seconds * 1000))
    return Solver(enc.compiler.likes, ms)
