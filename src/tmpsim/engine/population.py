"""Agent state as a struct of arrays, preallocated for everyone who will exist in the run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

try:  # NumPy's switch for its transparent-huge-page hint (private; absent: nothing to switch)
    from numpy._core.multiarray import _set_madvise_hugepage
except ImportError:  # pragma: no cover - other NumPy layouts
    _set_madvise_hugepage = None

NEVER = np.iinfo(np.int32).min  # a date that has not happened

# name -> (dtype, fill value for new agents)
FIELDS: dict[str, tuple[type, float]] = {
    "state": (np.int8, 0),
    "origin": (np.int8, 0),
    "sector": (np.int8, 0),
    "female": (np.bool_, 0),
    "stage": (np.int8, 0),
    "renewals": (np.int8, 0),
    "age0": (np.float32, 0),  # age when created
    "aptitude": (np.float32, 0),
    "language": (np.float32, 0),
    "network": (np.float32, 0),
    "proactivity": (np.float32, 0),  # of the supervising organisation
    "created": (np.int32, NEVER),
    "selected": (np.int32, NEVER),
    "entered": (np.int32, NEVER),  # first entry into the host
    "exited": (np.int32, NEVER),  # return home or switch out
    "queued": (np.int32, NEVER),  # day the agent asked to go home (return queue order)
    "contract_start": (np.int32, NEVER),
    "dismissed": (np.bool_, 0),  # lost the job through dismissal (not contract end)
    "destitute": (np.bool_, 0),
    "stranded": (np.bool_, 0),  # asked to go home, still in the host waiting, with a status
    "sheltered": (np.bool_, 0),
    "fee": (np.float64, 0),
    "debt0": (np.float64, 0),  # debt at departure
    "debt": (np.float64, 0),
    "savings": (np.float64, 0),
    "remitted": (np.float64, 0),
    "money_t": (np.int32, 0),  # day money was last settled
    "income": (np.float64, 0),  # net income per day in the current state
    "cost": (np.float64, 0),  # spending per day in the current state
    "emergency": (np.float64, 0),  # emergency money received
    "t_timer": (np.int32, -1),  # next deterministic event (contract end, expiry...)
    "timer_kind": (np.int8, 0),
    "t_hazard": (np.int32, -1),  # next stochastic event (competing hazards)
    "hazard_kind": (np.int8, 0),
    "t_money": (np.int32, -1),  # day savings run out
}


@contextmanager
def small_pages() -> Iterator[None]:
    """Allocate without NumPy's hint that large arrays should use transparent huge pages.

    The agent arrays are reserved for the whole run and first written a few agents at a time
    over it. With the hint (and the kernel's usual ``defrag=madvise``) each first write to a 2 MiB
    stretch can stall on memory compaction: about 0.2-0.5 s of system time in the flagship,
    against no measurable gain in the kernels' time with ordinary 4 KiB pages.
    """
    if _set_madvise_hugepage is None:
        yield
        return
    previous = _set_madvise_hugepage(False)
    try:
        yield
    finally:
        _set_madvise_hugepage(previous)


class Population:
    """Struct-of-arrays agent table; agents are never removed, only flagged by state."""

    def __init__(self, capacity: int) -> None:
        self.n = 0
        self.capacity = max(int(capacity), 16)
        # Zeroed arrays take memory only where written: reserved capacity costs nothing until
        # agents are added (their non-zero defaults are written then).
        with small_pages():
            for name, (dtype, _fill) in FIELDS.items():
                setattr(self, name, np.zeros(self.capacity, dtype=dtype))

    def add(self, count: int) -> np.ndarray:
        """Reserve ``count`` new agents (fields at their defaults) and return their ids."""
        count = int(count)
        if self.n + count > self.capacity:
            self._grow(self.n + count)
        start, stop = self.n, self.n + count
        for name, (_dtype, fill) in FIELDS.items():
            if fill:
                getattr(self, name)[start:stop] = fill
        self.n = stop
        return np.arange(start, stop, dtype=np.int64)

    def _grow(self, needed: int) -> None:
        new_cap = max(needed, int(self.capacity * 1.5))
        for name, (dtype, _fill) in FIELDS.items():
            with small_pages():
                arr = np.zeros(new_cap, dtype=dtype)
            arr[: self.n] = getattr(self, name)[: self.n]
            setattr(self, name, arr)
        self.capacity = new_cap

    def view(self, name: str) -> np.ndarray:
        """The live part of one field."""
        return getattr(self, name)[: self.n]

    def nbytes(self) -> int:
        """Memory held by the arrays."""
        return sum(getattr(self, f).nbytes for f in FIELDS)
