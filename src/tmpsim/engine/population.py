"""Agent state as a struct of arrays, preallocated for everyone who will exist in the run.

The population holds the fields every module declared, grows them together, and keeps the
calendars and flags built on them bound to the current arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from tmpsim.engine.calendar import Calendar
from tmpsim.engine.jit import Resolved, njit

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


@njit(cache=True)
def change_kernel(
    ids, values, to, sign, origin, female, state, counts, women, by_state, out
):  # pragma: no cover
    """Set (``to`` true, ``sign`` 1) or clear (false, -1) the flag of ``ids`` (distinct).

    The ids whose flag changed go to ``out`` in their order; returns how many. Counts them by
    origin, the women among them if ``women`` is not empty, and by state if ``by_state`` has
    rows: integer adds, the same as ``change_reference``'s counts whatever their order.
    """
    keep_women = women.size > 0
    keep_state = by_state.shape[0] > 0
    n = 0
    for k in range(ids.size):
        i = ids[k]
        if values[i] == to:
            continue
        values[i] = to
        o = origin[i]
        counts[o] += sign
        if keep_women and female[i]:
            women[o] += sign
        if keep_state:
            by_state[state[i], o] += sign
        out[n] = i
        n += 1
    return n


def change_reference(ids, values, to, sign, origin, female, state, counts, women, by_state):
    """``change_kernel`` in NumPy: the ids changed, counted with ``np.bincount``."""
    ids = ids[values[ids] != to]
    if ids.size:
        values[ids] = to
        o = origin[ids]
        counts += sign * np.bincount(o, minlength=counts.size)
        if women.size:
            women += sign * np.bincount(o[female[ids]], minlength=counts.size)
        if by_state.shape[0]:
            cell = state[ids].astype(np.int64) * counts.size + o
            tally = np.bincount(cell, minlength=by_state.size).reshape(by_state.shape)
            by_state += sign * tally
    return ids


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
        # What ``change_kernel`` is given where a count is not kept: nothing to count into.
        self._women = self.women if by_sex else np.zeros(0, dtype=np.int64)
        self._by_state = self.by_state if n_states else np.zeros((0, n_origins), dtype=np.int64)
        self._no_sex = np.zeros(0, dtype=np.bool_)  # ``female`` is not read without by_sex
        self._change = Resolved(change_kernel)  # called at most changes of a flag
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
        ids = self._change_of(ids, True)
        if ids.size:
            for listener in self._on_set:
                listener(ids)
        return ids

    def clear(self, ids: np.ndarray) -> np.ndarray:
        """Clear the flag of ``ids`` (distinct); returns (and announces) those that had it set."""
        ids = self._change_of(ids, False)
        if ids.size:
            for listener in self._on_clear:
                listener(ids)
        return ids

    def _change_of(self, ids: np.ndarray, to: bool) -> np.ndarray:
        """Set or clear the flag of ``ids`` and count the change: the ids changed.

        One compiled pass (``change_kernel``) instead of a gather, a scatter and up to three
        ``np.bincount``s, which cost more than the few agents of most changes.
        """
        if ids.size == 0:
            return ids
        if ids.dtype != np.int64 or not ids.flags.c_contiguous:
            ids = np.ascontiguousarray(ids, dtype=np.int64)
        pop = self.pop
        out = np.empty(ids.size, dtype=np.int64)
        n = self._change(
            ids,
            getattr(pop, self.name),
            to,
            1 if to else -1,
            pop.origin,
            pop.female if self.women is not None else self._no_sex,
            pop.state,
            self.counts,
            self._women,
            self._by_state,
            out,
        )
        return out[:n]

    def _tally(self, state: np.ndarray | int, origin: np.ndarray) -> np.ndarray:
        """Agents of these states and origins counted in ``by_state``'s shape."""
        cell = np.asarray(state, dtype=np.int64) * self.counts.size + origin
        return np.bincount(cell, minlength=self.by_state.size).reshape(self.by_state.shape)

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
