"""Apply a function to many items on a local process pool or a Dask cluster.

``map_runs`` is the one place where tmpsim fans work out. Two backends:

- **local** (default): a ``concurrent.futures.ProcessPoolExecutor`` (``forkserver`` start method).
  Chosen over a Dask ``LocalCluster`` because it starts in well under a second, adds no scheduler,
  nanny or dashboard processes (the point on a laptop or a shared 2-core box), and its per-item
  overhead is a pickle round trip. If a worker process dies, the pool is rebuilt and the items not
  yet finished are resubmitted, so a killed worker costs a retry, not the experiment.
  ``workers=0`` runs the items inline in this process (debugging, tiny jobs).
- **dask**: ``scheduler="tcp://host:port"`` submits each item to that cluster through a
  ``dask.distributed.Client``. When a worker dies mid-item, the scheduler reruns the item on another
  worker (``distributed.scheduler.allowed-failures``); ``fn`` must therefore be idempotent
  (experiment runs write their outputs atomically: a rerun overwrites, never duplicates).

Local workers never outlive their coordinator: each one asks the kernel to kill it when its parent
(the fork server) dies (Linux ``PR_SET_PDEATHSIG``) and watches the coordinating process from a
thread, exiting within about a second once it is gone, so a SIGKILLed ``tmpsim experiment run``
leaves no worker computing for nobody.

Results always come back in item order, whatever order they finish in. An exception raised by ``fn``
cancels what is left and is re-raised here; callers that want "record and go on" wrap ``fn``.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

ProgressFn = Callable[[int, int], None]
"""``progress(done, total)``, called in the calling process after each item finishes."""

MAX_POOL_RESTARTS = 3
"""How many times a local pool is rebuilt after a worker process died before giving up."""


FORKSERVER_PRELOAD = ["tmpsim.api", "tmpsim.experiments.worker"]
"""Modules the local pool's fork server imports once, so that each worker starts warm."""


WATCH_SECONDS = 0.5
"""How often a local worker checks that its coordinator is still there."""
PR_SET_PDEATHSIG = 1


class WorkerLost(RuntimeError):
    """Local worker processes kept dying; the items listed were not finished."""


def default_workers() -> int:
    """Worker count when none is given: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def map_runs(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int | None = None,
    scheduler: str | None = None,
    progress: ProgressFn | None = None,
) -> list[R]:
    """Return ``[fn(item) for item in items]``, computed in parallel, in item order.

    ``fn`` must be a picklable top-level function. ``workers`` is the local pool size (default:
    usable CPUs; ``0`` runs inline) and is ignored with ``scheduler``, the address of a running
    Dask scheduler (``tcp://host:port``). ``progress(done, total)`` is called after each item.
    """
    items = list(items)
    out: list[Any] = [None] * len(items)
    total = len(items)
    for done, (index, value) in enumerate(iter_runs(fn, items, workers, scheduler), start=1):
        out[index] = value
        if progress is not None:
            progress(done, total)
    return out


def iter_runs(
    fn: Callable[[T], R],
    items: Sequence[T],
    workers: int | None = None,
    scheduler: str | None = None,
) -> Iterator[tuple[int, R]]:
    """Yield ``(index, fn(items[index]))`` as items finish (completion order).

    Same backends and rules as :func:`map_runs`. Closing the iterator early cancels what has not
    started (local) or releases the remaining futures (Dask).
    """
    if not items:
        return
    if scheduler:
        yield from _iter_dask(fn, items, scheduler)
    elif workers == 0:
        for i, item in enumerate(items):
            yield i, fn(item)
    else:
        yield from _iter_local(fn, items, workers or default_workers())


def _iter_local(fn: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[tuple[int, R]]:
    pending = set(range(len(items)))
    restarts = 0
    ctx = multiprocessing.get_context("forkserver")
    # Workers fork from a server that has already imported the simulator: a new pool then
    # costs a fork, not seconds of imports (takes effect when the server first starts).
    ctx.set_forkserver_preload(FORKSERVER_PRELOAD)
    while pending:
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(pending)),
            mp_context=ctx,
            initializer=die_with_coordinator,
            initargs=(os.getpid(),),
        )
        futures: dict[Future, int] = {}
        try:
            for i in sorted(pending):
                futures[pool.submit(fn, items[i])] = i
            waiting = set(futures)
            while waiting:
                done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = futures[fut]
                    try:
                        value = fut.result()
                    except BrokenProcessPool:
                        continue  # the item goes round again on a fresh pool
                    pending.discard(i)
                    yield i, value
        except BrokenProcessPool:
            pass
        except BaseException:
            # Ctrl-C, the caller closing the generator, an error while storing a result:
            # stop now rather than wait for the runs in flight.
            _terminate(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if pending:
            restarts += 1
            if restarts > MAX_POOL_RESTARTS:
                raise WorkerLost(
                    f"local worker processes died {restarts} times; unfinished items: "
                    f"{sorted(pending)[:20]}. Usual causes: a Python script that starts the "
                    'experiment outside `if __name__ == "__main__":` (the workers import the '
                    "main module, which starts it again), or runs killed for want of memory"
                )


def die_with_coordinator(coordinator: int) -> None:
    """Worker initializer: end this process when the coordinator (or the fork server) dies."""
    try:  # Linux: SIGKILL from the kernel when the parent (the fork server) exits
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    parent = os.getppid()

    def watch() -> None:
        while _alive(coordinator) and os.getppid() == parent:
            time.sleep(WATCH_SECONDS)
        os._exit(1)  # nobody will collect this worker's results: stop now

    threading.Thread(target=watch, name="tmpsim-coordinator-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    """Tell whether a process exists (and is not a zombie waiting to be collected)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:  # no /proc: existence is all we can tell
        return True


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Kill a pool's worker processes (``terminate_workers`` from Python 3.14 on)."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()


SCHEDULER_FORMAT = re.compile(r"^(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")


def scheduler_problem(address: str) -> str | None:
    """What is wrong with a Dask scheduler address (None: it has the form tcp://HOST:PORT)."""
    if not SCHEDULER_FORMAT.match(address):
        return f"--scheduler {address!r}: expected tcp://HOST:PORT (or tls://HOST:PORT)"
    if not 0 < int(address.rsplit(":", 1)[1]) < 65536:
        return f"--scheduler {address!r}: the port must be 1-65535"
    return None


def _iter_dask(fn: Callable[[T], R], items: Sequence[T], scheduler: str) -> Iterator[tuple[int, R]]:
    problem = scheduler_problem(scheduler)
    if problem:  # before Dask waits a minute on an address it cannot parse
        raise ValueError(problem)
    from tmpsim.extras import require

    distributed = require("dask.distributed", "running on a Dask cluster (--scheduler)")
    Client, as_completed = distributed.Client, distributed.as_completed

    tag = uuid.uuid4().hex[:8]
    with Client(scheduler, set_as_default=False) as client:
        futures = [
            client.submit(fn, item, key=f"tmpsim-{tag}-{i}", pure=False)
            for i, item in enumerate(items)
        ]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in as_completed(futures, loop=client.loop):
                yield index[fut.key], fut.result()
        finally:
            client.cancel(futures)
