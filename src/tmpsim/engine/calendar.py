"""A day-bucketed event calendar with lazy cancellation.

Each agent holds the day of its next event of each kind in a field (``t_timer``, ``t_hazard``,
``t_money``). Scheduling appends ids to the bucket of that day; rescheduling just writes a new day
in the field, and stale entries are dropped when their bucket is popped. Uneventful agent-days
cost nothing.
"""

from __future__ import annotations

import numpy as np


class Calendar:
    """Buckets of agent ids per day for one kind of event, checked against a day field."""

    def __init__(self, n_days: int, day_field: np.ndarray) -> None:
        self.n_days = n_days
        self.field = day_field
        self._buckets: list[list[np.ndarray]] = [[] for _ in range(n_days)]

    def rebind(self, day_field: np.ndarray) -> None:
        """Point at the (grown) field array."""
        self.field = day_field

    def schedule(self, ids: np.ndarray, days: np.ndarray) -> None:
        """Set each agent's next event day and file it; days past the run are not filed."""
        if ids.size == 0:
            return
        days = np.asarray(days, dtype=np.int32)
        self.field[ids] = days
        keep = days < self.n_days
        ids, days = ids[keep], days[keep]
        if ids.size == 0:
            return
        if np.all(days == days[0]):
            self._buckets[int(days[0])].append(ids)
            return
        order = np.argsort(days, kind="stable")
        ids, days = ids[order], days[order]
        cuts = np.flatnonzero(np.diff(days)) + 1
        for chunk_ids, day in zip(
            np.split(ids, cuts), days[np.r_[0, cuts]], strict=True
        ):
            self._buckets[int(day)].append(chunk_ids)

    def cancel(self, ids: np.ndarray) -> None:
        """Forget the agents' pending event of this kind."""
        self.field[ids] = -1

    def pop(self, day: int) -> np.ndarray:
        """Ids whose event of this kind is due today (still valid), in ascending id order."""
        bucket = self._buckets[day]
        if not bucket:
            return np.empty(0, dtype=np.int64)
        self._buckets[day] = []
        ids = np.unique(np.concatenate(bucket))
        return ids[self.field[ids] == day]
