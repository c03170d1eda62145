"""Agent state as a struct of arrays, preallocated for everyone who will exist in the run.

The population holds the fields every module declared, grows them together, and keeps the
calendars and flags built on them bound to the current arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from tmpsim.engine.calendar import Calendar

try:  # NumPy's switch for its transparent-huge-page hint (private; absent: nothing to switch)
    from numpy._core.multiarray import _set_madvise_hugepage
except ImportError:  # pragma: no cover - other NumPy layouts
    _set_madvise_hugepage = None

NEVER = np.iinfo(np.int32).min  # a date that has not happened

# The fields every agent has whatever the modules (the others are declared by the modules that
# own them, see ``tmpsim.engine.module``): name -> (dtype, value of new agents).
CORE_FIELDS: dict[str, tuple[type, float]] = {
    "state": (np.int8, 0),
    "origin": (np.int8, 0),
    "sector": (np.int8, 0),
    "segment": (np.int8, 0),  # group of workers whose terms differ within an origin (or 0)
    "female": (np.bool_, 0),
    "age0": (np.float32, 0),  # age when created
    "created": (np.int32, NEVER),
}


@contextmanager
def small_pages() -> Iterator[None]:
    """Allocate without NumPy's hint that large arrays should use transparent huge pages.

    The agent arrays are reserved for the whole run and first written a few agents at a time
    over it. With the hint (and the kernel's usual ``defrag=madvise``) each first write to a 2 MiB
    stretch can stall on memory compaction (system time; see docs/performance.md), against no
    measurable gain in the kernels' time with ordinary 4 KiB pages.
    """
    if _set_madvise_hugepage is None:
        yield
        return
    previous = _set_madvise_hugepage(False)
    try:
        yield
    finally:
        _set_madvise_hugepage(previous)


class Flag:
    """A boolean field of the agents that keeps its count per origin (and, if asked, per state).

    Setting and clearing go through the flag, so the count cannot drift from the agents; modules
    that care hear of each change (``listen``). A compiled kernel may change the field and the
    count together (``values`` and ``counts``) when it keeps them in step itself.

    With ``n_states`` the flag also keeps ``by_state[state, origin]``, the flagged by their
    state. Setting and clearing count them in the agents' state of the moment; a move of flagged
    agents to another state must shift them, which only the move's kernel can do (the money
    module's ``enter_kernel`` does it for the flag it is given): the invariants check it daily.

    With ``by_sex`` it also keeps ``women[origin]``, the flagged women, counted by ``set`` and
    ``clear`` only: a flag a kernel changes itself cannot keep them.
    """

    def __init__(
        self, pop: Population, name: str, n_origins: int, n_states: int = 0, by_sex: bool = False
    ) -> None:
        self.pop = pop
        self.name = name
        self.counts = np.zeros(n_origins, dtype=np.int64)
        self.by_state = np.zeros((n_states, n_origins), dtype=np.int64) if n_states else None
        self.women = np.zeros(n_origins, dtype=np.int64) if by_sex else None
        self._on_set: list[Callable[[np.ndarray], None]] = []
        self._on_clear: list[Callable[[np.ndarray], None]] = []

    @property
    def values(self) -> np.ndarray:
        """The agents' field (the current array, also after the population grew)."""
        return getattr(self.pop, self.name)

    def listen(
        self,
        on_set: Callable[[np.ndarray], None] | None = None,
        on_clear: Callable[[np.ndarray], None] | None = None,
    ) -> None:
        """Be told the ids whose flag was set, or cleared (in the order of the calls)."""
        if on_set is not None:
            self._on_set.append(on_set)
        if on_clear is not None:
            self._on_clear.append(on_clear)

    def set(self, ids: np.ndarray) -> np.ndarray:
        """Set the flag of ``ids`` (distinct); returns (and announces) those not set before."""
        values = self.values
        ids = ids[~values[ids]]
        if ids.size:
            values[ids] = True
            self._count(ids, 1)
            for listener in self._on_set:
                listener(ids)
        return ids

    def clear(self, ids: np.ndarray) -> np.ndarray:
        """Clear the flag of ``ids`` (distinct); returns (and announces) those that had it set."""
        values = self.values
        ids = ids[values[ids]]
        if ids.size:
            values[ids] = False
            self._count(ids, -1)
            for listener in self._on_clear:
                listener(ids)
        return ids

    def _tally(self, state: np.ndarray | int, origin: np.ndarray) -> np.ndarray:
        """Agents of these states and origins counted in ``by_state``'s shape."""
        cell = np.asarray(state, dtype=np.int64) * self.counts.size + origin
        return np.bincount(cell, minlength=self.by_state.size).reshape(self.by_state.shape)

    def _count(self, ids: np.ndarray, sign: int) -> None:
        """Add (``sign`` 1) or take off (-1) ``ids`` from the counts."""
        origin = self.pop.origin[ids]
        self.counts += sign * np.bincount(origin, minlength=self.counts.size)
        if self.women is not None:
            women = origin[self.pop.female[ids]]
            self.women += sign * np.bincount(women, minlength=self.counts.size)
        if self.by_state is not None:
            self.by_state += sign * self._tally(self.pop.state[ids], origin)

    def restate(self, ids: np.ndarray, new: int) -> None:
        """``ids`` are about to move to state ``new``: shift the flagged among them by state.

        Call before the state is written (what a move's kernel does agent by agent).
        """
        if self.by_state is None:
            return
        ids = ids[self.values[ids]]
        origin = self.pop.origin[ids]
        self.by_state += self._tally(new, origin) - self._tally(self.pop.state[ids], origin)

    def recount(self) -> np.ndarray:
        """The count per origin from the agents themselves."""
        n = self.pop.n
        return np.bincount(self.pop.origin[:n][self.values[:n]], minlength=self.counts.size)

    def recount_women(self) -> np.ndarray:
        """The flagged women per origin from the agents themselves."""
        n = self.pop.n
        on = self.values[:n] & self.pop.female[:n]
        return np.bincount(self.pop.origin[:n][on], minlength=self.counts.size)

    def recount_by_state(self) -> np.ndarray:
        """The count per state and origin from the agents themselves (``by_state``'s shape)."""
        if self.by_state is None:
            raise ValueError(f"flag {self.name!r} keeps no counts by state")
        n = self.pop.n
        on = self.values[:n]
        return self._tally(self.pop.state[:n][on], self.pop.origin[:n][on])


class Population:
    """Struct-of-arrays agent table; agents are never removed, only flagged by state."""

    def __init__(self, capacity: int, fields: dict[str, tuple[type, float]] | None = None) -> None:
        self.n = 0
        self.capacity = max(int(capacity), 16)
        self.fields = dict(CORE_FIELDS if fields is None else fields)
        self.flags: dict[str, Flag] = {}
        self._calendars: dict[str, Calendar] = {}  # day field -> calendar filed by it
        # Zeroed arrays take memory only where written: reserved capacity costs nothing until
        # agents are added (their non-zero defaults are written then).
        with small_pages():
            for name, (dtype, _fill) in self.fields.items():
                setattr(self, name, np.zeros(self.capacity, dtype=dtype))

    def calendar(self, field: str, n_days: int) -> Calendar:
        """An event calendar filed by the day field ``field`` (kept bound when arrays grow)."""
        cal = self._calendars[field] = Calendar(n_days, getattr(self, field))
        return cal

    def flag_of(self, name: str) -> Flag:
        """The flag kept in the field ``name`` (declared by a module's ``flags``)."""
        found = self.flags.get(name)
        if found is None:
            raise KeyError(f"no module declares the flag {name!r} (flags: {sorted(self.flags)})")
        return found

    def flag(self, name: str, n_origins: int, n_states: int = 0, by_sex: bool = False) -> Flag:
        """The flag kept in the boolean field ``name`` (one per field).

        ``n_states``: counted by state too; ``by_sex``: its women counted too.
        """
        if name not in self.flags:
            if self.fields.get(name, (None,))[0] is not np.bool_:
                raise ValueError(f"flag {name!r} needs a boolean agent field of that name")
            self.flags[name] = Flag(self, name, n_origins, n_states, by_sex)
        return self.flags[name]

    def add(self, count: int) -> np.ndarray:
        """Reserve ``count`` new agents (fields at their defaults) and return their ids."""
        count = int(count)
        if self.n + count > self.capacity:
            self._grow(self.n + count)
        start, stop = self.n, self.n + count
        for name, (_dtype, fill) in self.fields.items():
            if fill:
                getattr(self, name)[start:stop] = fill
        self.n = stop
        return np.arange(start, stop, dtype=np.int64)

    def _grow(self, needed: int) -> None:
        new_cap = max(needed, int(self.capacity * 1.5))
        for name, (dtype, _fill) in self.fields.items():
            with small_pages():
                arr = np.zeros(new_cap, dtype=dtype)
            arr[: self.n] = getattr(self, name)[: self.n]
            setattr(self, name, arr)
        self.capacity = new_cap
        for field, cal in self._calendars.items():
            cal.rebind(getattr(self, field))

    def view(self, name: str) -> np.ndarray:
        """The live part of one field."""
        return getattr(self, name)[: self.n]

    def nbytes(self) -> int:
        """Memory held by the arrays."""
        return sum(getattr(self, f).nbytes for f in self.fields)
