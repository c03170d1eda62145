"""Start-up of the command line: allocators, and long-lived objects out of the collector's way."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def long_lived() -> Iterator[None]:
    """Pause the cyclic garbage collector, then freeze everything made so far.

    Importing numba, pydantic and pyarrow makes about 100,000 objects that live as long as the
    process. The collector would traverse them again and again while they are being made, and
    once more when the interpreter exits (see docs/performance.md). Frozen, they
    are left out of every later collection (``gc.freeze``); objects made afterwards are
    collected as usual. Meant for the command line, which owns its process.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def small_page_allocators() -> None:
    """Ask NumPy and Arrow for ordinary pages, unless the environment already says otherwise.

    NumPy hints that arrays of 4 MiB or more should use transparent huge pages, and Arrow's
    default allocator (mimalloc) takes its memory in huge pages. A ``tmpsim run`` makes such
    arrays once (agent arrays, the run folder's tables) and writes them once, so each 2 MiB page
    is zeroed, and compacted for, to be written once: system time spent mostly in writing
    ``agents.parquet``, against no measurable gain (see docs/performance.md). Takes effect only
    if called before NumPy and pyarrow are imported (they read these variables then); child
    processes inherit it.
    """
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


def announce_compilation(write: Callable[[str], None] | None = None) -> None:
    """Say once, on stderr, when numba starts compiling tmpsim's kernels.

    Kernels are compiled on first use and cached on disk; the first run on a machine (or after
    tmpsim or numba changed) spends seconds compiling before its progress bar moves. numba
    announces a compilation only on a cache miss ("numba:compile"), so a cached start says nothing.
    """
    try:
        from numba.core import event
    except ImportError:  # pragma: no cover - numba is a dependency
        return
    say = write or (lambda text: print(text, file=sys.stderr, flush=True))

    class FirstCompile(event.Listener):
        announced = False

        def on_start(self, ev: event.Event) -> None:
            dispatcher = ev.data.get("dispatcher") if isinstance(ev.data, dict) else None
            module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
            if not self.announced and module.startswith("tmpsim."):
                FirstCompile.announced = True
                say(
                    "tmpsim: compiling the model's kernels "
                    "(first run with this tmpsim and numba; cached for later runs)"
                )

        def on_end(self, ev: event.Event) -> None:
            pass

    event.register("numba:compile", FirstCompile())
