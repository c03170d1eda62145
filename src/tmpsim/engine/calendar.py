"""An event calendar with one chain of blocks per day and lazy cancellation.

Each agent holds the day of its next event of each kind in a field (``t_timer``, ``t_hazard``,
``t_money``). Scheduling writes the day into the field and appends the agent to that day's list;
rescheduling just writes a new day in the field, and stale entries are dropped when their day
comes. Uneventful agent-days cost nothing.

A day's list is a chain of fixed-size blocks taken from one pool (compiled with numba): filing
appends to the day's last block, popping streams the day's blocks in order and returns them to
the pool. Entries of one day sit together in memory, so popping reads them as a stream instead of
chasing one pointer per entry.
"""

from __future__ import annotations

import numpy as np

from tmpsim.engine.jit import Resolved, njit

BLOCK = 64  # entries per block


@njit(cache=True)
def file_entries(
    ids, days, field, n_days, first, last, fill, count, agent, nxt, free, n_free
):  # pragma: no cover
    """Write days into ``field`` and file entries for days inside the run; returns free blocks.

    The caller guarantees enough free blocks (``Calendar.reserve``). Kernels that move agents call
    this once, after their loop, to file the events they scheduled.
    """
    block = agent.size // nxt.size
    for k in range(ids.size):
        i = ids[k]
        d = days[k]
        field[i] = d
        if d < 0 or d >= n_days:
            continue
        b = last[d]
        if b < 0 or fill[d] == block:
            n_free -= 1
            nb = free[n_free]
            nxt[nb] = -1
            if b < 0:
                first[d] = nb
            else:
                nxt[b] = nb
            last[d] = nb
            fill[d] = 0
            b = nb
        agent[b * block + fill[d]] = i
        fill[d] += 1
        count[d] += 1
    return n_free


@njit(cache=True)
def _take(day, field, first, last, fill, count, agent, nxt, free, n_free, out):  # pragma: no cover
    """Empty ``day``'s blocks; valid entries (field still says ``day``) go to ``out``.

    Taken agents have their field cleared, so an agent filed twice for the day is taken once.
    Returns the number taken, the free blocks, and whether ``out`` came out in ascending order.
    """
    block = agent.size // nxt.size
    b = first[day]
    n = 0
    ascending = True
    prev = -1
    while b >= 0:
        stop = fill[day] if b == last[day] else block
        base = b * block
        for k in range(stop):
            i = agent[base + k]
            if field[i] == day:
                out[n] = i
                n += 1
                field[i] = -1
                if i < prev:
                    ascending = False
                prev = i
        free[n_free] = b
        n_free += 1
        b = nxt[b]
    first[day] = -1
    last[day] = -1
    fill[day] = 0
    count[day] = 0
    return n, n_free, ascending


def due_reference(field: np.ndarray, day: int) -> np.ndarray:
    """What ``Calendar.pop(day)`` returns for a day inside the run, with NumPy.

    The agents whose day field says ``day``, in ascending order: the blocks only make finding
    them cheap.
    """
    return np.flatnonzero(field == day)


class Calendar:
    """Agents' next event of one kind, filed by day and checked against a day field."""

    def __init__(self, n_days: int, day_field: np.ndarray, blocks: int = 64) -> None:
        self.n_days = n_days
        self.field = day_field
        self.first = np.full(n_days, -1, dtype=np.int64)
        self.last = np.full(n_days, -1, dtype=np.int64)
        self.fill = np.zeros(n_days, dtype=np.int64)  # entries in each day's last block
        self.count = np.zeros(n_days, dtype=np.int64)  # entries (valid or stale) of each day
        self.agent = np.zeros(blocks * BLOCK, dtype=np.int32)
        self.nxt = np.full(blocks, -1, dtype=np.int64)
        self.free = np.arange(blocks - 1, -1, -1, dtype=np.int64)  # stack of unused blocks
        self.n_free = blocks
        # Each calendar's field has its own dtype: its own resolved kernels.
        self._file, self._pop = Resolved(file_entries), Resolved(_take)
        self._arrays: tuple | None = None  # ``arrays()``, made again when an array is replaced

    def rebind(self, day_field: np.ndarray) -> None:
        """Point at the (grown) field array."""
        self.field = day_field
        self._arrays = None

    def reserve(self, n: int) -> None:
        """Make sure filing ``n`` more entries cannot run out of blocks."""
        need = min(n, self.n_days) + n // BLOCK + 1
        if need <= self.n_free:
            return
        old = self.nxt.size
        new = max(old * 2, old + need)
        agent = np.zeros(new * BLOCK, dtype=np.int32)
        agent[: self.agent.size] = self.agent
        self.agent = agent
        self.nxt = np.concatenate([self.nxt, np.full(new - old, -1, dtype=np.int64)])
        free = np.empty(new, dtype=np.int64)
        free[: self.n_free] = self.free[: self.n_free]
        added = np.arange(new - 1, old - 1, -1, dtype=np.int64)
        free[self.n_free : self.n_free + added.size] = added
        self.free = free
        self.n_free += added.size
        self._arrays = None

    def arrays(self) -> tuple:
        """The calendar's arrays in the order ``file_entries`` takes them.

        Kept between calls (asked for at every move): only ``rebind`` and ``reserve`` replace
        an array.
        """
        if self._arrays is None:
            self._arrays = (
                self.field,
                self.n_days,
                self.first,
                self.last,
                self.fill,
                self.count,
                self.agent,
                self.nxt,
                self.free,
            )
        return self._arrays

    def schedule(self, ids: np.ndarray, days: np.ndarray | int) -> None:
        """Set each agent's next event day and file it; days past the run are not filed."""
        if ids.size == 0:
            return
        if ids.dtype != np.int64 or not ids.flags.c_contiguous:
            ids = np.ascontiguousarray(ids, dtype=np.int64)
        n = ids.size
        if isinstance(days, np.ndarray) and days.shape == ids.shape:  # one day per agent
            if days.dtype != np.int64 or not days.flags.c_contiguous:
                days = np.ascontiguousarray(days, dtype=np.int64)
        elif isinstance(days, (int, np.integer)) or np.ndim(days) == 0:
            filled = np.empty(n, dtype=np.int64)
            filled.fill(days)
            days = filled
        else:
            days = np.ascontiguousarray(
                np.broadcast_to(np.asarray(days, dtype=np.int64), ids.shape)
            )
        if self.n_free < min(n, self.n_days) + n // BLOCK + 1:
            self.reserve(n)
        self.n_free = self._file(ids, days, *self.arrays(), self.n_free)

    def cancel(self, ids: np.ndarray) -> None:
        """Forget the agents' pending event of this kind."""
        self.field[ids] = -1

    def pop(self, day: int) -> np.ndarray:
        """Ids whose event of this kind is due today (still valid), in ascending id order.

        Popping consumes the events: the agents' day fields are cleared.
        """
        if self.count[day] == 0:
            return np.empty(0, dtype=np.int64)
        out = np.empty(int(self.count[day]), dtype=np.int64)
        field, _n_days, *lists = self.arrays()  # the kernel takes them without ``n_days``
        n, self.n_free, ascending = self._pop(day, field, *lists, self.n_free, out)
        return out[:n] if ascending else np.sort(out[:n])
