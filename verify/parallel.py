"""Running a verify run over several processes.

Every entry is seeded by itself (``engine.entry_rng``: the global seed, the entry's name
and the trial number), and no check reads state another entry leaves behind, so an
entry gives the same result in whichever process runs it: the JSON report of a run over
N processes is byte for byte the report of the same run in one process
(tests/test_speed.py compares them).

Two ways to split the work, both over processes forked from the CLI's, so that they
inherit the registry (a user's ``--module`` included) and nothing is pickled but indices
and results:

- By framework (``GroupedRun``; the CLI's default run, see cli.GROUPS): each identity's
  JAX checks are one task, its torch, finite-difference and claim checks another. The
  workers are forked before JAX or torch is imported; each prefers one group and imports
  only its framework, so the JAX worker checks while the other still imports torch, and
  neither pays the other's import. A worker with nothing of its own left takes the other
  group's tasks where enough of them wait (STEAL_MIN): in a cold run, where JAX compiles,
  the torch worker ends up compiling too.
- By identity (``run_all``; a run with one group only, ``--backend fd``, or a --module
  run): the CLI imports the frameworks the run uses just before the fork (an import
  starts no thread: JAX starts its threads on its first computation, torch on its first
  parallel operation), so that the workers share one import.

A process that had imported JAX or torch before the run (a test, a notebook, a user's
module that imports torch) runs its entries itself: forking a process whose JAX or torch
threads may be running can deadlock the child. Results come back in registry order, each
as soon as it and those before it are done.

``CALCULUS_FOR_ML_JOBS`` sets the number of processes (1: everything in this process);
the default is the number of cores this process may use, at most the number of entries.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from dataclasses import dataclass, field

JOBS_VARIABLE = "CALCULUS_FOR_ML_JOBS"

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


def run_all(items, run_one, jobs: int, init=None):
    """``run_one(item)`` for every item, yielded in order; over ``jobs`` forked processes
    when ``jobs`` > 1 (GroupedRun with one group: each worker calls ``init()`` first; in
    one process, it is called once). ``run_one``'s return value must be picklable."""
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        if init is not None:
            init()
        for item in items:
            yield run_one(item)
        return
    run = GroupedRun(items, ("all",), lambda item, group: run_one(item), lambda group: init() if init is not None else None, jobs)
    finished = False
    try:
        for index in range(len(items)):
            run.submit(index, "all")
        for _, parts in run.results(range(len(items))):
            yield parts["all"]
        finished = True
    finally:
        run.shutdown(finished)


# --------------------------------------------------------------------------------------
# Work split by framework: each worker imports the framework of its group
# --------------------------------------------------------------------------------------

STEAL_MIN = {"jax": 8, "rest": 40}
"""A worker whose own group has no task left takes the other group's only while at least
this many of its tasks wait: the first such task imports that group's framework (JAX
0.7 s, about 14 warm JAX checks or 5 cold ones; torch with torch._dynamo 3.3 s, about 90
warm tasks of torch and the differences). Once it has, it takes any task of it."""


def _grouped_worker(conn, preferred: str, prepare, run_task, items, threads: int) -> None:
    """A worker of GroupedRun: prepares its group (imports), says so, then runs tasks until
    told to stop (None). It ignores Ctrl-C (SIGINT reaches the whole process group, and
    would print a traceback of wherever it lands): the parent stops the workers and says
    "interrupted". A parent that is gone ends it quietly."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _serve(conn, preferred, prepare, run_task, items, threads)
    except (BrokenPipeError, EOFError):
        pass


def _serve(conn, preferred: str, prepare, run_task, items, threads: int) -> None:
    def ready(group):
        info = prepare(group)
        torch = sys.modules.get("torch")
        if torch is not None:  # the workers share the cores: one torch thread pool per core, not per worker
            torch.set_num_threads(threads)  # (oversubscribed pools spin and burn the cores the other workers need)
        return info

    prepared = {preferred: ready(preferred)}
    conn.send(("ready", preferred, prepared[preferred]))
    while True:
        task = conn.recv()
        if task is None:
            return
        index, group = task
        try:
            if group not in prepared:
                prepared[group] = ready(group)
            conn.send(("done", index, group, run_task(items[index], group)))
        except Exception as exc:  # the parent raises it (a bug: exit status 3)
            import traceback

            conn.send(("error", index, group, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
            return


@dataclass
class _Worker:
    process: object
    conn: object
    preferred: str  # the group it imports first and takes first
    state: str = "starting"  # "idle" (waits for a task), "busy", "stopped"
    prepared: set = field(default_factory=set)  # the groups whose frameworks it has imported


class GroupedRun:
    """``run_task(item, group)`` for every (item, group) submitted, over ``jobs`` forked
    workers, worker i preferring ``groups[i % len(groups)]``, whose framework it alone
    imports: ``prepare(group)`` runs in the worker before its first task of a group, and
    what it returns for the preferred group reaches ``ready(group)`` in the parent.

    Tasks of a group can be submitted as soon as its worker is ready (the JAX worker starts
    while the torch worker still imports torch); ``results`` yields, in the order asked,
    each item's {group: result} once all its tasks are done. A worker with nothing of its
    own group left takes the other's (STEAL_MIN), else stops once ``close`` said no more
    tasks will come."""

    def __init__(self, items, groups: tuple[str, ...], run_task, prepare, jobs: int, steal_min: dict | None = None):
        from collections import deque

        ctx = multiprocessing.get_context("fork")
        self.items, self.groups = list(items), tuple(groups)
        self.queues = {g: deque() for g in self.groups}
        self.expected: dict[int, set] = {}
        self.done: dict[int, dict] = {}
        self.info: dict[str, object] = {}
        self.closed = False
        self.steal_min = STEAL_MIN if steal_min is None else steal_min
        self.workers: list[_Worker] = []
        threads = max(1, cores() // jobs)
        for i in range(jobs):
            mine, theirs = ctx.Pipe()
            preferred = self.groups[i % len(self.groups)]
            process = ctx.Process(target=_grouped_worker, args=(theirs, preferred, prepare, run_task, self.items, threads), daemon=True)
            process.start()
            theirs.close()
            self.workers.append(_Worker(process, mine, preferred, prepared={preferred}))

    def _next_task(self, preferred: str, prepared: set):
        if self.queues[preferred]:
            return self.queues[preferred].popleft(), preferred
        if not self.closed:
            return "wait"  # the other group's tasks may not all be submitted yet: no stealing before close
        for group in self.groups:  # a group it has prepared costs no import: any task of it
            if group != preferred and len(self.queues[group]) >= (1 if group in prepared else self.steal_min.get(group, 1)):
                return self.queues[group].popleft(), group
        for group in self.groups:  # a group no running worker prefers: take its tasks whatever their number
            if self.queues[group] and not any(w.preferred == group and w.state != "stopped" for w in self.workers):
                return self.queues[group].popleft(), group
        return None  # nothing of its own will come, and too little of the other's: stop

    def _dispatch(self) -> None:
        for worker in self.workers:
            if worker.state != "idle":
                continue
            task = self._next_task(worker.preferred, worker.prepared)
            if task == "wait":
                continue
            worker.conn.send(task)
            worker.state = "stopped" if task is None else "busy"
            if task is not None:
                worker.prepared.add(task[1])

    def _pump(self) -> None:
        """Wait for one message or more, handle them, hand out tasks."""
        from multiprocessing.connection import wait

        live = {w.conn: w for w in self.workers if w.state in ("starting", "busy")}
        if not live:
            raise RuntimeError("no worker process is running, and tasks are still waiting")
        for conn in wait(list(live)):
            worker = live[conn]
            try:
                message = conn.recv()
            except EOFError:
                worker.process.join(timeout=5)
                raise RuntimeError(f"a worker process died (exit code {worker.process.exitcode})") from None
            if message[0] == "ready":
                self.info.setdefault(message[1], message[2])
            elif message[0] == "done":
                self.done.setdefault(message[1], {})[message[2]] = message[3]
            else:
                raise RuntimeError(f"a worker process failed on {self.items[message[1]]!r} ({message[2]}): {message[3]}")
            worker.state = "idle"
        self._dispatch()

    def ready(self, group: str):
        """What ``prepare(group)`` returned in the first worker of that group to be ready."""
        while group not in self.info:
            self._pump()
        return self.info[group]

    def submit(self, index: int, group: str) -> None:
        self.expected.setdefault(index, set()).add(group)
        self.queues[group].append(index)
        self._dispatch()

    def close(self) -> None:
        """No task will be submitted any more."""
        self.closed = True
        self._dispatch()

    def results(self, indices):
        """(index, {group: result}) for each index, in this order, as soon as it is done."""
        self.close()
        for index in indices:
            while set(self.done.get(index, {})) != self.expected.get(index, set()):
                self._pump()
            yield index, self.done.pop(index, {})

    def shutdown(self, finished: bool = True) -> None:
        """Stop the workers: each after its task where the run ``finished``, else at once."""
        for w in self.workers:
            try:
                if finished and w.state != "stopped" and w.process.is_alive():
                    w.conn.send(None)
            except (OSError, ValueError):
                pass
        for w in self.workers:
            if finished:
                w.process.join(timeout=5)
            if w.process.is_alive():
                w.process.terminate()
                w.process.join()
            w.conn.close()
