"""Solving in one request environment: the one place that talks to Z3.

Every analysis asks its questions per request environment (principal type,
action, resource type).  `EnvSolver` holds one environment's encoding and one
incremental solver, and owns what every question needs:

* the budget: a query's `timeout` covers every solver call it makes, and no
  call runs past the whole run's `deadline`;
* the base assertions: the encoding's well-formedness assumptions, added (and
  extended when later questions compile more) before each check, and the
  hypotheses of the assumptions the user stated (`analyzer.stated`), which
  every example must also satisfy concretely;
* "unknown" is never a proof: a timeout, an exhausted budget or Z3 giving up
  is `Status.UNKNOWN` with its reason; Z3 turns Ctrl-C during a check into
  "unknown", which is re-raised here as KeyboardInterrupt;
* models that read well (small numbers, strings that are short words, or
  short printable strings where the goal needs punctuation) are preferred,
  never required.

`per_environment` runs a question in each selected environment and turns a
construct the encoder does not support into an unknown answer.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import gc
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import z3

from cedarscope.analyzer.envcontext import SolverContext
from cedarscope.analyzer.stated import StatedAssumption, all_hold, hypotheses
from cedarscope.encoder import Encoding, Solver, Unsupported
from cedarscope.encoder.direct import and_of, implies, is_true_in
from cedarscope.lang.ast import TemplateLink
from cedarscope.lang.entities import Entities
from cedarscope.lang.request import Request
from cedarscope.lang.schema import RequestEnv, Schema
from cedarscope.lang.values import EntityUID
from cedarscope.reports.findings import Verdict

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_DESCRIBE_SECONDS = 5.0
MODEL_POOL = 16  # recent models tried before a solver call (see EnvSolver.check)
RLIMIT_MAX = 2**32 - 1  # Z3's rlimit is an unsigned 32-bit number


class Status(enum.StrEnum):
    """A solver's answer to one check."""

    SAT = "sat"
    UNSAT = "unsat"
    UNKNOWN = "unknown"


@dataclass
class Options:
    """How questions are asked: the solver's budget, the environments, and
    the assumptions beyond Cedar's own (names in encoder.assumptions)."""

    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    principal_type: str | None = None
    action: str | None = None  # as written: `Action::"view"` or `view`
    resource_type: str | None = None
    max_examples: int = 1
    deadline: float | None = None  # time.monotonic() when the whole run must stop
    jobs: int | None = None  # worker processes for the environments (None: this machine's cores)
    scheduler: str | None = None  # a Dask scheduler's address: environments run on that cluster
    assumptions: frozenset[str] = frozenset()  # stronger assumptions by name (encoder.assumptions)
    stated: tuple[StatedAssumption, ...] = ()  # the user's @assume policies
    stated_notes: tuple[str, ...] = ()  # what a report says of them (analyzer.stated.check_world)
    describe: bool = True  # diff, whatif: describe each change exactly in Cedar
    # the search for a readable description, per change: seconds of solver
    # work, counted in Z3 resource units so that it ends alike under any load
    # (analyzer.describe.describe_work)
    describe_seconds: float = DEFAULT_DESCRIBE_SECONDS
    matrix: bool = False  # diff, whatif: the before/after access matrix too


# Work units charged per product state a `like` string search explores: about
# 20 microseconds of CPU each, at the rate Z3's resource units are counted
# (analyzer.describe: 10 million a second).
UNITS_PER_STRING_STATE = 200


class Budget:
    """What one query may still spend: the time from when it began to its
    timeout, never past the run's deadline; and, when `work` is given, that
    much solver work over all its calls (Z3's resource units, each call
    limited by Z3's `rlimit` to what is left).  Work, unlike time, does not
    depend on the machine's speed or load: a search its work budget cuts
    stops at the same point in every run, and time is then only a safety
    net."""

    def __init__(self, options: Options, work: int | None = None):
        now = time.monotonic()
        self.ends = now + options.timeout_seconds
        if options.deadline is not None:
            self.ends = min(self.ends, options.deadline)
        self.work = work  # left, when counted

    def remaining_ms(self) -> int:
        return int((self.ends - time.monotonic()) * 1000)

    def out_of_time(self) -> bool:
        return self.remaining_ms() <= 0

    def out_of_work(self) -> bool:
        return self.work is not None and self.work <= 0


TIME_LIMIT_REACHED = "the run's time limit was reached before this environment was asked"


def out_of_time(options: Options) -> bool:
    """Has the whole run's deadline passed?  Then an environment is not even
    encoded: what is left is reported unknown at once."""
    return options.deadline is not None and time.monotonic() >= options.deadline


# --------------------------------------------------------------------------
# Environments


def environments(schema: Schema, options: Options) -> list[RequestEnv]:
    """The schema's request environments, narrowed by the options."""
    return [env for env in schema.environments() if selected(env, options)]


def selected(env: RequestEnv, options: Options) -> bool:
    if options.principal_type and env.principal_type != options.principal_type:
        return False
    if options.resource_type and env.resource_type != options.resource_type:
        return False
    return not options.action or options.action in (str(env.action), env.action.id)


# --------------------------------------------------------------------------
# Answers


@dataclass(frozen=True)
class Example:
    """A concrete request and the entities it needs, replayed and confirmed;
    `links` are the template links it needs (templates analysed for every
    link, analyzer.templates), in Cedar's link form."""

    request: Request
    entities: Entities
    unread: frozenset[str] = frozenset()  # values no policy reads (given a plain default)
    links: tuple[TemplateLink, ...] = ()

    def fingerprint(self) -> str:
        """Equal for examples that read the same (request, entity data, links)."""
        from cedarscope.lang.entities import entities_to_json
        from cedarscope.lang.request import request_to_json

        links = [[link.template_id, [[slot, str(uid)] for slot, uid in link.values]] for link in self.links]
        return json.dumps([request_to_json(self.request), entities_to_json(self.entities), links], sort_keys=True)


@dataclass
class Answer:
    """The answer to one query in one environment."""

    verdict: Verdict
    env: RequestEnv
    examples: list[Example] = field(default_factory=list)
    reason: str = ""
    solver_seconds: float = 0.0
    queries: int = 0
    exhausted: bool = False  # the search for examples ended unsat: there are no others


def overall(verdicts: Iterable[Verdict]) -> Verdict:
    """violated if any is; else unknown if any is; else holds."""
    found = set(verdicts)
    for verdict in (Verdict.VIOLATED, Verdict.UNKNOWN):
        if verdict in found:
            return verdict
    return Verdict.HOLDS


# A replay checks an example under the concrete evaluator: it takes the
# request and entities, and the example's template links when it has any.
Replay = Callable[..., bool]
# What the next example must differ in: called as distinct(model,
# local=...) with a model of the solver's context and `local`, which carries
# the encoding's terms there; a formula of that context (as
# Encoding.different_from and observations.distinct_outcomes give).
Distinct = Callable[..., z3.BoolRef]
T = TypeVar("T")


# --------------------------------------------------------------------------
# One environment's solver


class Model:
    """A model found by an `EnvSolver`.  It lives in the solver's own Z3
    context and is read only there: `holds` and `value` evaluate a formula
    or term of the encoding in it, `changes` states that a term takes
    another value (for the next model), and examples are decoded from
    `solved` with `local`.

    Nothing is translated back into the encoding's context: a translation
    copies the source context's count of fresh names into the target, and
    the encoding's context hands its count to every later environment's
    solver context; an environment's models (and so its examples) would
    then depend on what ran before it in the process, on the environment
    filter and on `--jobs`."""

    def __init__(self, local: Callable[[z3.ExprRef], z3.ExprRef], model: z3.ModelRef):
        self.local, self._model = local, model

    def holds(self, formula: z3.BoolRef) -> bool:
        return z3.is_true(self.value(formula))  # type: ignore[no-any-return]  # z3 is untyped

    def value(self, term: z3.ExprRef) -> z3.ExprRef:
        """The value of a term of the encoding, in the solver's context."""
        return self._model.eval(self.local(term), model_completion=True)

    def changes(self, term: z3.ExprRef) -> z3.BoolRef:
        """The term takes another value than here (in the solver's context)."""
        return self.local(term) != self.value(term)

    def eval_local(self, term: z3.ExprRef) -> z3.ExprRef:
        """The value of a term already in the solver's context (see
        `EnvSolver.local`)."""
        return self._model.eval(term, model_completion=True)

    @property
    def solved(self) -> z3.ModelRef:
        """The model itself, in the solver's context (decoded there with
        `local`, see `Encoding.decode`)."""
        return self._model


def _satisfies(model: z3.ModelRef, formulas: list[z3.BoolRef]) -> bool:
    """Do these formulas (of the model's context) all hold in the model?"""
    return not formulas or is_true_in(model, and_of(*formulas))


class EnvSolver:
    """One environment's encoding and an incremental solver over it.

    The solver works in a Z3 context of its own, into which every formula is
    translated before it is checked.  Z3's search depends on the internal ids
    of terms, and the encoding's context numbers terms in the order the whole
    process created them; a fresh context numbers them by the formulas alone.
    So the same question gets the same model, and the same example, whatever
    was asked before it (in this process, in another order, or in another
    worker process)."""

    def __init__(self, enc: Encoding, options: Options):
        self.enc, self.env, self.options = enc, enc.env, options
        self.queries = 0
        self.seconds = 0.0
        self.unknown_reasons: list[str] = []
        # Keyed by term id; each entry keeps its term alive, because Z3 reuses
        # the id of a term once it is freed.
        self._added: dict[int, z3.ExprRef] = {}
        self._footprint: tuple[int, ...] = ()
        self._models: list[Model] = []
        # what `_for_footprint` made, by name, with the footprint it was made for
        self._made: dict[str, tuple[tuple[int, ...], Any]] = {}
        self._rlimit = 0  # the solver's limit on each call's work (0: none)
        # The user's stated assumptions hold in every check (compiled here, so
        # a construct the encoder lacks is met where callers expect it).
        self._hypotheses = hypotheses(enc, options.stated)
        if self._hypotheses:
            self.solver.add(*[self.local(h) for h in self._hypotheses])

    @functools.cached_property
    def _z3(self) -> SolverContext:
        """The Z3 context and solver, made when first needed: a goal false
        outright costs no context (the larger part of a small environment's
        work).  Nothing is made in the context before them."""
        return SolverContext(self.enc)

    @property
    def ctx(self) -> z3.Context:
        return self._z3.ctx

    @property
    def local(self) -> Callable[[z3.ExprRef], z3.ExprRef]:
        """A term of the encoding, translated (once) into the solver's context."""
        return self._z3.local

    @property
    def solver(self) -> Solver:
        return self._z3.solver

    # The base assertions grow with what has been compiled -------------------

    def _assume(self) -> None:
        """Add the well-formedness assumptions of everything compiled so far."""
        if self.enc.footprint() == self._footprint:
            return
        fresh = [c for c in self.enc.well_formed() if c.get_id() not in self._added]
        self._footprint = self.enc.footprint()  # after: well_formed() may add set witnesses
        for c in fresh:
            self._added[c.get_id()] = c
        if fresh:
            self.solver.add(*[self.local(c) for c in fresh])
            self._models.clear()  # they need not satisfy the new assumptions

    # Checks ----------------------------------------------------------------

    def check(self, goal: z3.BoolRef, budget: Budget, readable: bool = False,
              reuse: bool = False, translated: bool = False) -> tuple[Status, Model | None]:
        """Is ``base ∧ goal`` satisfiable?  With `readable`, a model that reads
        well is preferred when one can be had in the remaining budget.  With
        `reuse`, a recent model that satisfies the goal answers without a call
        (every model satisfies the base, so it is a model of base ∧ goal).
        A `translated` goal is already in the solver's context."""
        self._assume()
        local_goal = goal if translated else self.local(goal)
        if reuse:
            for model in self._models:
                if z3.is_true(model.eval_local(local_goal)):
                    return Status.SAT, model
        self.solver.push()
        try:
            self.solver.add(local_goal)
            status = self._check(budget)
            if status is Status.SAT and readable:
                return Status.SAT, self._keep(self._readable_model(budget))
            return status, self._keep(self.solver.model()) if status is Status.SAT else None
        finally:
            self.solver.pop()

    def _readable_model(self, budget: Budget) -> z3.ModelRef:
        """The solver's model, or one that reads better: preferences added
        only for this check (string constraints would slow every later check
        of the environment), strings as words first, then as any printable
        strings when the goal needs punctuation."""
        plain = self.solver.model()
        preferences, small, presence = self._preferences()
        if _satisfies(plain, [*preferences, *small]):
            return plain  # it reads well already: no call needed
        present = preferences[:presence]  # (readable() lists them first)
        if present and _satisfies(plain, [*preferences[len(present):], *small]):
            # Only entities missing from the store keep it from reading
            # well: ask for them alone, a Boolean question, cheaper by
            # far than the string preferences (Z3's sequence solver).
            # Unsat there is unsat for every preference (they include
            # these): the plain model is the best to be had.
            self.solver.add(implies(self._z3.present, and_of(*present)))
            found = self._check(budget, self._z3.present)
            if found is Status.UNSAT:
                return plain
            if found is Status.SAT and _satisfies(self.solver.model(), [*preferences, *small]):
                return self.solver.model()
        if preferences:
            self.solver.add(implies(self._z3.readable, and_of(*preferences)))
        if small:  # numbers a reader would pick, when the goal allows them
            self.solver.add(implies(self._z3.small, and_of(*small)))
        better = self._preferred(budget, self._z3.readable, bool(preferences), small)
        if better is not None:
            return better
        printable = self._printable_preferences()
        if not printable or _satisfies(plain, [*printable, *small]):
            return plain  # as readable as printable strings make it
        self.solver.add(implies(self._z3.printable, and_of(*printable)))
        better = self._preferred(budget, self._z3.printable, True, small)
        return better if better is not None else plain

    def _preferred(self, budget: Budget, literal: z3.BoolRef, preferences: bool,
                   small: list[z3.BoolRef]) -> z3.ModelRef | None:
        """A model of the preferences under `literal` (added), with small
        numbers if it can be had, or None."""
        if small and self._check(budget, literal, self._z3.small) is Status.SAT:
            return self.solver.model()
        if preferences and self._check(budget, literal) is Status.SAT:
            return self.solver.model()
        return None

    def _for_footprint(self, name: str, make: Callable[[], T]) -> T:
        """What `make` gives, made again only when compiling added to what it
        speaks of (the encoding's footprint), not for every example."""
        footprint = self.enc.footprint()
        made = self._made.get(name)
        if made is None or made[0] != footprint:
            made = self._made[name] = (footprint, make())
        return made[1]

    def _preferences(self) -> tuple[list[z3.BoolRef], list[z3.BoolRef], int]:
        """The readability preferences (`Encoding.readable`) and the small
        numbers, in the solver's context, and how many of the first are
        `present`."""
        return self._for_footprint("readable", lambda: ([self.local(c) for c in self.enc.readable()],
                                                        [self.local(c) for c in self.enc.small_numbers()],
                                                        len(self.enc.present())))

    def _printable_preferences(self) -> list[z3.BoolRef]:
        """The preferences with any printable strings for words (none when
        there is no string to prefer), in the solver's context; made when a
        goal first needs them."""
        return self._for_footprint("printable", lambda: [self.local(c) for c in self.enc.readable(words=False)]
                                   if self.enc.reads_strings() else [])

    def enumerate(self, goal: z3.BoolRef, block: Callable[[Model], z3.BoolRef], cap: int, budget: Budget,
                  keep: Callable[[Model], bool]) -> Status:
        """Models of ``base ∧ goal``, each handed to `keep` and then excluded
        by ``block(model)`` (a formula of the solver's context, as
        `Model.changes` gives), until there are no more (UNSAT), `cap` were
        kept (SAT), `keep` refuses one or the solver gives up (UNKNOWN).  One
        push for the whole run: the blocking clauses accumulate in place."""
        self._assume()
        self.solver.push()
        try:
            self.solver.add(self.local(goal))
            for _ in range(cap):
                status = self._check(budget)
                if status is not Status.SAT:
                    return status
                model = Model(self.local, self.solver.model())
                if not keep(model):
                    return Status.UNKNOWN
                self.solver.add(block(model))
            return Status.SAT
        finally:
            self.solver.pop()

    def _keep(self, found: z3.ModelRef) -> Model:
        model = Model(self.local, found)
        self._models.insert(0, model)
        del self._models[MODEL_POOL:]
        return model

    def _check(self, budget: Budget, *assumptions: z3.BoolRef) -> Status:
        """One solver call within the budget."""
        ms = budget.remaining_ms()
        if ms <= 0:
            self.unknown_reasons.append("time budget exhausted")
            return Status.UNKNOWN
        if budget.out_of_work():
            self.unknown_reasons.append("work budget exhausted")
            return Status.UNKNOWN
        self.solver.set("timeout", ms)
        self._limit_work(budget.work)
        done = self._work_done() if budget.work is not None else 0
        started = time.perf_counter()
        try:
            result = self.solver.check(*assumptions)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1
            if budget.work is not None:
                budget.work -= self._work_done() - done
        if result == z3.sat:
            return Status.SAT
        if result == z3.unsat:
            return Status.UNSAT
        reason = self.solver.reason_unknown() or "unknown"
        if "interrupted" in reason:  # Ctrl-C during the check: Z3 swallowed it
            raise KeyboardInterrupt
        if not assumptions:  # a failed preference is not an unknown answer
            self.unknown_reasons.append(f"solver: {reason}")
        return Status.UNKNOWN

    def _limit_work(self, work: int | None) -> None:
        """Each call of the solver does at most `work` units (None: no limit)."""
        rlimit = 0 if work is None else min(max(work, 1), RLIMIT_MAX)
        if rlimit != self._rlimit:
            self.solver.set("rlimit", rlimit)
            self._rlimit = rlimit

    def _work_done(self) -> int:
        """The work spent on this solver so far: Z3's count of resource units
        in its context (looked up from the end of the statistics, where Z3
        lists it), and the string searches that realize `like` tests, which
        are Python's (without them a pattern-heavy question could run on
        past its budget, and stop on the clock, not on the work)."""
        searched = self.solver.effort.states * UNITS_PER_STRING_STATE
        stats = self.solver.statistics()
        for i in reversed(range(len(stats))):
            key, value = stats[i]
            if key == "rlimit count":
                return int(value) + searched
        return searched  # nothing solved yet

    # Examples --------------------------------------------------------------

    def example(self, model: Model, replay: Replay, focus: frozenset[EntityUID] | None = None
                ) -> Example | None:
        """The model decoded into a concrete request and store, if it replays
        under the concrete evaluator (else None, and an unknown is noted:
        an encoder disagreement is never shown as a result).  With `focus`
        (the entities one policy names), the memberships in other named
        entities are left out when the example still replays without them."""
        # A template analysed for every link: the replay takes the links too.
        links = self.enc.links(model.solved, local=self.local) if self.enc.sym.links else ()

        def replays(request: Request, entities: Entities) -> bool:
            return replay(request, entities, links) if links else replay(request, entities)

        if focus is not None:
            unread: list[str] = []
            request, entities = self.enc.decode(model.solved, unread, focus=focus, local=self.local)
            if replays(request, entities) and all_hold(self.options.stated, request, entities):
                return Example(request, entities, frozenset(unread), links)
        unread = []
        request, entities = self.enc.decode(model.solved, unread, local=self.local)
        if not replays(request, entities):
            self.unknown_reasons.append("a counterexample failed to replay under the concrete "
                                        "evaluator (encoder disagreement); not shown")
            return None
        if not all_hold(self.options.stated, request, entities):
            self.unknown_reasons.append("a counterexample does not satisfy the stated assumptions "
                                        "under the concrete evaluator (encoder disagreement); not shown")
            return None
        return Example(request, entities, frozenset(unread), links)

    def examples(self, goal: z3.BoolRef, replay: Replay, max_examples: int = 1,
                 distinct: Distinct | None = None) -> Answer:
        """Up to `max_examples` replayed examples of ``base ∧ goal``; holds
        when there is none.  `distinct` gives, for a found model, what the
        next one must satisfy so that the same example is not found twice.
        The query's budget covers every call it makes.  A goal that is false
        outright (z3's `False`: an empty slice) holds with no solver call."""
        if z3.is_false(goal):
            return Answer(Verdict.HOLDS, self.env, exhausted=True)
        budget = Budget(self.options)
        queries, seconds, reasons = self.queries, self.seconds, len(self.unknown_reasons)
        answer = Answer(Verdict.HOLDS, self.env)
        seen: set[str] = set()
        blocking: list[z3.BoolRef] = []  # in the solver's context
        for _ in range(3 * max_examples):
            if len(answer.examples) >= max_examples:
                break
            status, model = self.check(z3.And(self.local(goal), *blocking), budget, readable=True,
                                       translated=True)
            if status is Status.UNSAT:
                answer.exhausted = True
                break
            if status is Status.UNKNOWN or model is None:
                if not answer.examples:
                    answer.verdict = Verdict.UNKNOWN
                break
            example = self.example(model, replay)
            if example is None:
                answer.verdict = Verdict.UNKNOWN
                answer.examples.clear()
                break
            answer.verdict = Verdict.VIOLATED
            fingerprint = example.fingerprint()
            if fingerprint not in seen:  # decoded alike: not shown twice
                seen.add(fingerprint)
                answer.examples.append(example)
            if distinct is None or len(answer.examples) >= max_examples:
                break
            blocking.append(distinct(model.solved, local=self.local))
        answer.queries = self.queries - queries
        answer.solver_seconds = self.seconds - seconds
        if answer.verdict is Verdict.UNKNOWN:
            answer.reason = "; ".join(self.unknown_reasons[reasons:]) or "unknown"
        return answer


def per_environment(schema: Schema, options: Options, ask: Callable[[EnvSolver], T],
                    where: Callable[[RequestEnv], bool] | None = None,
                    unsupported: Callable[[Answer], T] | None = None) -> list[T]:
    """`ask` in every selected environment (those `where` keeps), each on a
    fresh encoding, spread over `options.jobs` processes (analyzer.spread);
    a construct the encoder does not support makes that environment's
    answer unknown (`unsupported` turns it into what `ask` returns, when
    that is not an Answer)."""
    from cedarscope.analyzer.spread import spread

    envs = [env for env in environments(schema, options) if where is None or where(env)]
    return list(spread(_ask_in, (schema, options, ask, unsupported), envs, options, [ENV_WEIGHT] * len(envs)))


ENV_WEIGHT = 10  # an environment's cost for `spread` when its slice is not known


def _ask_in(shared: tuple[Schema, Options, Callable[[EnvSolver], T], Callable[[Answer], T] | None],
            env: RequestEnv) -> T:
    schema, options, ask, unsupported = shared
    return in_environment(schema, env, options, ask, unsupported)


def in_environment(schema: Schema, env: RequestEnv, options: Options,
                   ask: Callable[[EnvSolver], T], unsupported: Callable[[Answer], T] | None = None) -> T:
    """`ask` on a fresh encoding of `env`.  When the encoder does not support
    a construct it needs, the answer is unknown (`unsupported` turns that
    Answer into what `ask` returns, when that is not an Answer)."""
    if out_of_time(options):
        unknown = Answer(Verdict.UNKNOWN, env, reason=TIME_LIMIT_REACHED)
        return unsupported(unknown) if unsupported else unknown  # type: ignore[return-value]
    with one_environment():
        try:
            return ask(EnvSolver(Encoding(schema, env, options.assumptions), options))
        except Unsupported as exc:
            unknown = Answer(Verdict.UNKNOWN, env, reason=f"unsupported: {exc}")
            return unsupported(unknown) if unsupported else unknown  # type: ignore[return-value]


@contextlib.contextmanager
def one_environment() -> Iterator[None]:
    """The work on one environment, made independent of when Python's cyclic
    garbage collector runs.  Z3 recycles the ids of freed terms and its
    search depends on ids, so a collection in the middle of a query (whose
    timing depends on everything the process did before) could change the
    model found, and with it the example shown.  Collect before, not during:
    only the young generations, which hold what the previous environment
    made (the collector is off while an environment runs, so nothing it
    made was promoted); a full collection would walk every object of the
    process, parsed policies included (a quarter second at 10,000 policies),
    once per environment."""
    gc.collect(1)
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --------------------------------------------------------------------------
# Statistics


@dataclass
class Stats:
    """What a run cost and what it could not settle, for a report's `stats`."""

    environments: set[RequestEnv] = field(default_factory=set)
    queries: int = 0
    solver_seconds: float = 0.0
    unknown: list[str] = field(default_factory=list)

    def add(self, answer: Answer) -> None:
        self.environments.add(answer.env)
        self.queries += answer.queries
        self.solver_seconds += answer.solver_seconds
        if answer.verdict is Verdict.UNKNOWN:
            self.unknown.append(f"{answer.env}: {answer.reason}")

    def add_solver(self, env_solver: EnvSolver) -> None:
        self.environments.add(env_solver.env)
        self.queries += env_solver.queries
        self.solver_seconds += env_solver.seconds
        self.unknown += [f"{env_solver.env}: {why}" for why in env_solver.unknown_reasons]

    def absorb(self, stats: Mapping[str, Any]) -> None:
        """Add another report's stats (its environments are counted apart)."""
        self.queries += stats.get("queries", 0)
        self.solver_seconds += stats.get("solver_seconds", 0.0)
        self.unknown += list(stats.get("unknown", []))

    def as_dict(self, environments: int | None = None, **extra: Any) -> dict[str, Any]:
        """The report's stats: environments asked, solver calls and time,
        then `extra` figures, and the unknowns last."""
        out: dict[str, Any] = {
            "environments": len(self.environments) if environments is None else environments,
            "queries": self.queries,
            "solver_seconds": round(self.solver_seconds, 4),
            **extra,
        }
        if self.unknown:
            out["unknown"] = list(self.unknown)
        return out


def stats_of(answers: Sequence[Answer], **extra: Any) -> dict[str, Any]:
    stats = Stats()
    for answer in answers:
        stats.add(answer)
    return stats.as_dict(**extra)


def merged_stats(reports_stats: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The stats of several reports over the same environments, as one."""
    stats = Stats()
    for other in reports_stats:
        stats.absorb(other)
    return stats.as_dict(environments=max((s.get("environments", 0) for s in reports_stats), default=0))
