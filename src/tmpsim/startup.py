"""Start-up of the command line: long-lived objects kept out of the garbage collector's way."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def long_lived() -> Iterator[None]:
    """Pause the cyclic garbage collector, then freeze everything made so far.

    Importing numba, pydantic and pyarrow makes about 100,000 objects that live as long as the
    process. The collector would traverse them again and again while they are being made, and
    once more when the interpreter exits (about 0.15 s in all for ``tmpsim run``). Frozen, they
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
