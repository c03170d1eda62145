"""A paged event calendar with lazy cancellation.

Each agent holds the day of its next event of each kind in a field (``t_timer``, ``t_hazard``,
``t_money``). Scheduling files the agents under the *page* (a block of ``PAGE`` days) holding their
day, so one call costs a handful of array operations however many different days it names; when
the run reaches a page, its entries are sorted into daily buckets once. Rescheduling just writes a
new day in the field, and stale entries are dropped when their day comes. Uneventful agent-days
cost nothing.
"""

from __future__ import annotations

import numpy as np

PAGE_BITS = 5
PAGE = 1 << PAGE_BITS  # days per page


class Calendar:
    """Agents' next event of one kind, filed by day and checked against a day field."""

    def __init__(self, n_days: int, day_field: np.ndarray) -> None:
        self.n_days = n_days
        self.field = day_field
        n_pages = (n_days >> PAGE_BITS) + 1
        self._pages: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n_pages)]
        self._open = -1  # page whose entries are sorted into daily buckets
        self._days: list[list[np.ndarray]] = [[] for _ in range(PAGE)]

    def rebind(self, day_field: np.ndarray) -> None:
        """Point at the (grown) field array."""
        self.field = day_field

    def schedule(self, ids: np.ndarray, days: np.ndarray) -> None:
        """Set each agent's next event day and file it; days past the run are not filed."""
        if ids.size == 0:
            return
        days = np.broadcast_to(np.asarray(days, dtype=np.int32), ids.shape)
        self.field[ids] = days
        keep = days < self.n_days
        if not keep.all():
            ids, days = ids[keep], days[keep]
            if ids.size == 0:
                return
        pages = days >> PAGE_BITS
        first = int(pages[0])
        if (pages == first).all():
            self._file(first, ids, days)
            return
        order = np.argsort(pages, kind="stable")
        ids, days, pages = ids[order], days[order], pages[order]
        cuts = np.flatnonzero(np.diff(pages)) + 1
        starts = np.r_[0, cuts]
        ends = np.r_[cuts, ids.size]
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            self._file(int(pages[a]), ids[a:b], days[a:b])

    def _file(self, page: int, ids: np.ndarray, days: np.ndarray) -> None:
        if page == self._open:
            self._into_days(ids, days)
        else:
            self._pages[page].append((ids, days))

    def _into_days(self, ids: np.ndarray, days: np.ndarray) -> None:
        offset = days & (PAGE - 1)
        first = int(offset[0])
        if (offset == first).all():
            self._days[first].append(ids)
            return
        order = np.argsort(offset, kind="stable")
        ids, offset = ids[order], offset[order]
        cuts = np.flatnonzero(np.diff(offset)) + 1
        starts = np.r_[0, cuts]
        ends = np.r_[cuts, ids.size]
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            self._days[int(offset[a])].append(ids[a:b])

    def _open_page(self, page: int) -> None:
        self._open = page
        self._days = [[] for _ in range(PAGE)]
        entries = self._pages[page]
        self._pages[page] = []
        if entries:
            ids = np.concatenate([e[0] for e in entries])
            days = np.concatenate([e[1] for e in entries])
            self._into_days(ids, days)

    def cancel(self, ids: np.ndarray) -> None:
        """Forget the agents' pending event of this kind."""
        self.field[ids] = -1

    def pop(self, day: int) -> np.ndarray:
        """Ids whose event of this kind is due today (still valid), in ascending id order."""
        page = day >> PAGE_BITS
        if page != self._open:
            self._open_page(page)
        slot = day & (PAGE - 1)
        bucket = self._days[slot]
        if not bucket:
            return np.empty(0, dtype=np.int64)
        self._days[slot] = []
        ids = np.concatenate(bucket) if len(bucket) > 1 else bucket[0]
        ids = ids[self.field[ids] == day]
        return np.unique(ids)
