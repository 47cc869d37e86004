"""Environments spread over processes or a Dask cluster, results in order.

Request environments share nothing, so each is a task of its own.
``spread(fn, shared, tasks, options)`` yields ``fn(shared, task)`` for every
task, in the tasks' order whatever ran where, computed

* in this process when ``options.jobs`` is 1, when there is only one task,
  or when the work is too small to pay for starting processes;
* over ``options.jobs`` worker processes (default: this machine's cores).
  Workers are forked, so `fn`, `shared` and the tasks are inherited, not
  pickled (they may be closures); a worker is sent a task's number, and only
  its result is pickled.  The largest tasks are handed out first, so two
  workers finish together;
* on a Dask distributed cluster when ``options.scheduler`` is its address
  (``pip install 'cedarscope[distributed]'``): `shared` is sent to every
  worker once, `fn` and `shared` travel by cloudpickle.

A task's result depends on nothing but the task (see `solving.EnvSolver`:
each environment is solved in a Z3 context of its own), so the results, and
the report built from them, are the same however the work was spread.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

# Below this many (policy, environment) pairs, forking workers costs more
# than it saves.
MIN_PARALLEL_WEIGHT = 200


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def spread(fn: Callable[[S, T], R], shared: S, tasks: Sequence[T], options: Any,
           weights: Sequence[int] | None = None) -> Iterator[R]:
    """``fn(shared, task)`` for each task, in order (see the module's doc).
    `weights` estimate each task's cost (e.g. the policies in its slice)."""
    weights = list(weights) if weights is not None else [1] * len(tasks)
    scheduler = getattr(options, "scheduler", None)
    if scheduler:
        yield from _on_dask(fn, shared, tasks, scheduler, weights)
        return
    jobs = min(getattr(options, "jobs", None) or default_jobs(), len(tasks))
    small = sum(weights) < MIN_PARALLEL_WEIGHT
    if jobs <= 1 or small or not _can_fork():
        for task in tasks:
            yield fn(shared, task)
        return
    yield from _on_processes(fn, shared, tasks, jobs, weights)


# --------------------------------------------------------------------------
# Worker processes (multiprocessing is imported only when they are started:
# it costs more than a small run's whole work)


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()

# (fn, shared, tasks), inherited by forked workers
_work: tuple[Callable[[Any, Any], Any], Any, Sequence[Any]] | None = None


def _remember(fn: Callable[[Any, Any], Any], shared: Any, tasks: Sequence[Any]) -> None:
    global _work
    _work = (fn, shared, tasks)
    # Ctrl-C is the parent's to handle (it reaches the whole process group):
    # the parent stops, and stops its workers, so they must not die on it first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run(number: int) -> Any:
    assert _work is not None
    fn, shared, tasks = _work
    return fn(shared, tasks[number])


def _on_processes(fn: Callable[[S, T], R], shared: S, tasks: Sequence[T], jobs: int,
                  weights: Sequence[int]) -> Iterator[R]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    order = sorted(range(len(tasks)), key=lambda i: (-weights[i], i))  # largest first
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_remember,
                               initargs=(fn, shared, tasks))
    finished = False
    try:
        futures = {i: pool.submit(_run, i) for i in order}
        for i in range(len(tasks)):
            yield futures[i].result()
        finished = True
    finally:
        if not finished:  # interrupted, or a task failed: the running tasks are not waited for
            _stop_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


# --------------------------------------------------------------------------
# A Dask cluster


def _on_dask(fn: Callable[[S, T], R], shared: S, tasks: Sequence[T], address: str,
             weights: Sequence[int]) -> Iterator[R]:
    try:
        from distributed import Client
    except ImportError as err:
        raise RuntimeError("--scheduler needs Dask distributed: pip install 'cedarscope[distributed]'") from err
    with Client(address, set_as_default=False) as client:
        [shared_future] = client.scatter([shared], broadcast=True)
        futures = [client.submit(fn, shared_future, task, pure=False, priority=weight)
                   for task, weight in zip(tasks, weights, strict=True)]
        for future in futures:
            yield future.result()
