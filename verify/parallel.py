"""Running the entries of a verify run over several processes.

Every entry is seeded by itself (``engine.entry_rng``: the global seed, the entry's name
and the trial number), and no check reads state another entry leaves behind, so an
entry gives the same result in whichever process runs it: the JSON report of a run over
N processes is byte for byte the report of the same run in one process
(tests/test_speed.py compares them).

The workers are forked from the CLI's process, so they inherit the registry (a user's
``--module`` included) and nothing is pickled but the entry's index and its result.
The CLI imports the frameworks the run uses just before the fork (an import starts no
thread: JAX starts its threads on its first computation, torch on its first parallel
operation), so that the workers share one import. A process that had imported JAX or
torch before the run (a test, a notebook, a user's module that imports torch) runs its
entries itself: forking a process whose JAX or torch threads may be running can deadlock
the child. Results come back in registry order, each as soon as it and those before it are done.

``CALCULUS_FOR_ML_JOBS`` sets the number of processes (1: everything in this process);
the default is the number of cores this process may use, at most the number of entries.
"""

from __future__ import annotations

import multiprocessing
import os
import sys

JOBS_VARIABLE = "CALCULUS_FOR_ML_JOBS"

_STATE: dict = {}
_IMPORTED_BEFORE: dict = {}


def note_start() -> None:
    """Called by the CLI before it imports anything of JAX or torch (asking whether they can
    be imported imports them, and starts no thread): whether this process had imported
    them before the run, which is what decides whether forking is safe. Without this
    note, a run in which the CLI had itself asked whether torch imports ran in one process."""
    _IMPORTED_BEFORE["frameworks"] = any(name in sys.modules for name in ("jax", "torch"))


def note_end() -> None:
    """The run is over: the next one (a test's, in this process) notes its own start."""
    _IMPORTED_BEFORE.clear()


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def jobs_for(n_entries: int) -> int:
    """How many processes to use for ``n_entries`` entries."""
    value = os.environ.get(JOBS_VARIABLE, "").strip()
    if value:
        try:
            jobs = int(value)
        except ValueError:
            raise ValueError(f"{JOBS_VARIABLE}={value!r}: give a whole number of processes (1: no worker processes)") from None
        if jobs < 1:
            raise ValueError(f"{JOBS_VARIABLE}={value!r}: give at least 1")
    else:
        jobs = cores()
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1  # the workers must inherit the registry: without fork, run in this process
    if _IMPORTED_BEFORE.get("frameworks", any(name in sys.modules for name in ("jax", "torch"))):
        return 1  # not safe to fork (see above)
    return max(1, min(jobs, n_entries))


def _init() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and _STATE.get("threads"):
        # the workers share the cores: one torch thread pool per core, not per worker
        # (oversubscribed pools spin and burn the cores the other workers need)
        torch.set_num_threads(_STATE["threads"])
    if _STATE.get("init") is not None:
        _STATE["init"]()


def _work(index: int):
    return _STATE["run_one"](_STATE["items"][index])


def run_all(items, run_one, jobs: int, init=None):
    """``run_one(item)`` for every item, yielded in order; over ``jobs`` forked processes
    when ``jobs`` > 1 (each calls ``init()`` first; in one process, it is called once).
    ``run_one``'s return value must be picklable."""
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        if init is not None:
            init()
        for item in items:
            yield run_one(item)
        return
    _STATE.update(run_one=run_one, items=items, init=init, threads=max(1, cores() // jobs))
    try:
        with multiprocessing.get_context("fork").Pool(jobs, initializer=_init) as pool:
            yield from pool.imap(_work, range(len(items)), chunksize=1)
    finally:
        _STATE.clear()
