"""Start-up of the command line: allocators, and long-lived objects out of the collector's way."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
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
