"""An event calendar with one list of agents per day and lazy cancellation.

Each agent holds the day of its next event of each kind in a field (``t_timer``, ``t_hazard``,
``t_money``). Scheduling writes the day into the field and links the agent into that day's list
(a singly linked list in preallocated arrays, compiled with numba, so filing costs the same
whatever mix of days a batch names). Rescheduling just writes a new day in the field; stale
entries are dropped when their day comes. Uneventful agent-days cost nothing.
"""

from __future__ import annotations

import numpy as np

from tmpsim.engine.jit import njit


@njit(cache=True)
def _file(ids, days, field, n_days, head, count, nxt, agent, free, n_free):  # pragma: no cover
    """Write days into ``field`` and link entries for days inside the run; returns free slots."""
    for k in range(ids.size):
        i = ids[k]
        d = days[k]
        field[i] = d
        if d < 0 or d >= n_days:
            continue
        n_free -= 1
        slot = free[n_free]
        agent[slot] = i
        nxt[slot] = head[d]
        head[d] = slot
        count[d] += 1
    return n_free


@njit(cache=True)
def _take(day, field, head, count, nxt, agent, free, n_free, out):  # pragma: no cover
    """Unlink every entry of ``day``; valid ones (field still says ``day``) go to ``out``.

    Taken agents have their field cleared, so an agent filed twice for the day is taken once.
    """
    slot = head[day]
    n = 0
    while slot >= 0:
        i = agent[slot]
        if field[i] == day:
            out[n] = i
            n += 1
            field[i] = -1
        free[n_free] = slot
        n_free += 1
        slot = nxt[slot]
    head[day] = -1
    count[day] = 0
    return n, n_free


class Calendar:
    """Agents' next event of one kind, filed by day and checked against a day field."""

    def __init__(self, n_days: int, day_field: np.ndarray, slots: int = 1024) -> None:
        self.n_days = n_days
        self.field = day_field
        self.head = np.full(n_days, -1, dtype=np.int64)
        self.count = np.zeros(n_days, dtype=np.int64)
        self.nxt = np.full(slots, -1, dtype=np.int64)
        self.agent = np.zeros(slots, dtype=np.int64)
        self.free = np.arange(slots - 1, -1, -1, dtype=np.int64)  # stack of unused slots
        self.n_free = slots

    def rebind(self, day_field: np.ndarray) -> None:
        """Point at the (grown) field array."""
        self.field = day_field

    def _reserve(self, n: int) -> None:
        if n <= self.n_free:
            return
        old = self.nxt.size
        new = max(old * 2, old + n)
        self.nxt = np.concatenate([self.nxt, np.full(new - old, -1, dtype=np.int64)])
        self.agent = np.concatenate([self.agent, np.zeros(new - old, dtype=np.int64)])
        free = np.empty(new, dtype=np.int64)
        free[: self.n_free] = self.free[: self.n_free]
        added = np.arange(new - 1, old - 1, -1, dtype=np.int64)
        free[self.n_free : self.n_free + added.size] = added
        self.free = free
        self.n_free += added.size

    def schedule(self, ids: np.ndarray, days: np.ndarray | int) -> None:
        """Set each agent's next event day and file it; days past the run are not filed."""
        if ids.size == 0:
            return
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        days = np.ascontiguousarray(np.broadcast_to(np.asarray(days, dtype=np.int64), ids.shape))
        self._reserve(ids.size)
        self.n_free = _file(
            ids,
            days,
            self.field,
            self.n_days,
            self.head,
            self.count,
            self.nxt,
            self.agent,
            self.free,
            self.n_free,
        )

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
        n, self.n_free = _take(
            day,
            self.field,
            self.head,
            self.count,
            self.nxt,
            self.agent,
            self.free,
            self.n_free,
            out,
        )
        return np.sort(out[:n])
