"""First-come-first-served queues of agents for capacity-limited resources (seats, beds)."""

from __future__ import annotations

import numpy as np

from tmpsim.engine.jit import Resolved, njit


@njit(cache=True)
def _take(ids, tags, head, tail, n, valid, current, use_tags, out):  # pragma: no cover
    """Copy the first ``n`` live entries from ``head`` on to ``out``, each agent once.

    Returns their count and the new head: stale entries passed over are dropped. An agent who
    left and joined again without tags has two live entries: the later one is passed over
    (``valid`` is cleared while taking and set again at the end).
    """
    k = 0
    j = head
    while j < tail and k < n:
        i = ids[j]
        if valid[i] and (not use_tags or current[i] == tags[j]):
            out[k] = i
            valid[i] = False
            k += 1
        j += 1
    for m in range(k):
        valid[out[m]] = True
    return k, j


@njit(cache=True)
def _compact(ids, tags, head, tail, valid, current, use_tags):  # pragma: no cover
    """Move the live entries to the front, in order; returns their count."""
    k = 0
    for j in range(head, tail):
        i = ids[j]
        if valid[i] and (not use_tags or current[i] == tags[j]):
            ids[k] = i
            tags[k] = tags[j]
            k += 1
    return k


@njit(cache=True)
def _take_where(ids, head, tail, n, valid, rows, cols, allowed, out):  # pragma: no cover
    """Copy the first ``n`` live entries whose agents are allowed to ``out``, each agent once.

    An agent ``i`` is allowed where ``allowed[rows[i], cols[i]]``. Returns their count and the
    new head: only the stale entries in front are dropped, since the entries passed over may be
    taken by another taker (``valid`` is cleared while taking and set again at the end).
    """
    j = head
    while j < tail and not valid[ids[j]]:
        j += 1
    front = j
    k = 0
    while j < tail and k < n:
        i = ids[j]
        if valid[i] and allowed[np.int64(rows[i]), np.int64(cols[i])]:
            out[k] = i
            valid[i] = False
            k += 1
        j += 1
    for m in range(k):
        valid[out[m]] = True
    return k, front


_NO_TAGS = np.zeros(1, dtype=np.int32)


class FifoQueue:
    """Agents waiting in order of arrival; members that left are skipped lazily.

    ``valid`` is a boolean field of the population that says whether an agent is still waiting;
    agents leave by clearing it, and their stale entries are dropped when reached. An agent who
    leaves and joins again has two entries: pushing with a ``tag`` (the day it joined) and taking
    with the agents' current ``tags`` keeps only the entry of its latest joining.

    Entries sit in one array between a head and a tail (compiled scans, no per-push objects).
    """

    def __init__(self, capacity: int = 256) -> None:
        self._ids = np.empty(capacity, dtype=np.int64)
        self._tags = np.empty(capacity, dtype=np.int32)
        self._head = 0
        self._tail = 0
        self._take = Resolved(_take)  # each queue its valid and tags fields' dtypes
        self._take_where = Resolved(_take_where)

    def push(self, ids: np.ndarray, tag: int = 0) -> None:
        """Append agents at the back, in the given order."""
        n = ids.size
        if n == 0:
            return
        if self._tail + n > self._ids.size:
            self._make_room(n)
        self._ids[self._tail : self._tail + n] = ids
        self._tags[self._tail : self._tail + n] = tag
        self._tail += n

    def _make_room(self, n: int) -> None:
        live = self._tail - self._head
        size = self._ids.size
        if live + n > size // 2:  # grow; otherwise shifting the entries to the front will do
            size = max(2 * size, 2 * (live + n))
        ids = np.empty(size, dtype=np.int64)
        tags = np.empty(size, dtype=np.int32)
        ids[:live] = self._ids[self._head : self._tail]
        tags[:live] = self._tags[self._head : self._tail]
        self._ids, self._tags, self._head, self._tail = ids, tags, 0, live

    def take(self, n: int, valid: np.ndarray, tags: np.ndarray | None = None) -> np.ndarray:
        """Remove and return up to ``n`` waiting agents from the front (``valid[id]`` true)."""
        n = min(int(n), self._tail - self._head)
        if n <= 0:
            return np.empty(0, dtype=np.int64)
        out = np.empty(n, dtype=np.int64)
        k, self._head = self._take(
            self._ids,
            self._tags,
            self._head,
            self._tail,
            n,
            valid,
            _NO_TAGS if tags is None else tags,
            tags is not None,
            out,
        )
        return out[:k]

    def take_where(
        self, n: int, valid: np.ndarray, rows: np.ndarray, cols: np.ndarray, allowed: np.ndarray
    ) -> np.ndarray:
        """Remove and return up to ``n`` waiting agents from the front who are allowed.

        An agent ``i`` is allowed where ``allowed[rows[i], cols[i]]`` (two of its fields, say its
        profile and sex, and a table of whom a resource takes); those not allowed keep their
        place for other takers. Without tags.
        """
        n = min(int(n), self._tail - self._head)
        if n <= 0:
            return np.empty(0, dtype=np.int64)
        out = np.empty(n, dtype=np.int64)
        k, self._head = self._take_where(
            self._ids, self._head, self._tail, n, valid, rows, cols, allowed, out
        )
        return out[:k]

    def compact(self, valid: np.ndarray, tags: np.ndarray | None = None) -> int:
        """Drop stale entries and return how many agents are waiting."""
        live = self._ids[self._head : self._tail]
        kept = self._tags[self._head : self._tail]
        k = _compact(
            live, kept, 0, live.size, valid, _NO_TAGS if tags is None else tags, tags is not None
        )
        self._ids[:k] = live[:k]
        self._tags[:k] = kept[:k]
        self._head, self._tail = 0, k
        return k

    def entries(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the entries held (ids and tags), front first, stale ones included."""
        return self._ids[self._head : self._tail].copy(), self._tags[self._head : self._tail].copy()

    def __len__(self) -> int:
        """Entries held, including agents who left and are not yet skipped."""
        return self._tail - self._head


@njit(cache=True)
def _push_groups(ids, groups, tag, held, held_tags, tail):  # pragma: no cover
    """Append each id at the back of its group's row, in the given order."""
    for k in range(ids.size):
        g = groups[k]
        held[g, tail[g]] = ids[k]
        held_tags[g, tail[g]] = tag
        tail[g] += 1


@njit(cache=True)
def _take_groups(
    want, held, held_tags, head, tail, valid, current, use_tags, out, taken
):  # pragma: no cover
    """Take up to ``want[g]`` live entries from the front of each group's row, groups in order.

    As ``_take`` does on each row (stale entries passed over are dropped, each agent taken
    once); the taken go to ``out`` one group after another, their numbers to ``taken``.
    Returns how many in all.
    """
    m = 0
    for g in range(want.size):
        n = min(want[g], tail[g] - head[g])
        taken[g] = 0
        if n <= 0:
            continue
        k = 0
        j = head[g]
        while j < tail[g] and k < n:
            i = held[g, j]
            if valid[i] and (not use_tags or current[i] == held_tags[g, j]):
                out[m] = i
                valid[i] = False
                m += 1
                k += 1
            j += 1
        head[g] = j
        taken[g] = k
    for q in range(m):
        valid[out[q]] = True
    return m


class FifoQueues:
    """One ``FifoQueue`` per group (a corridor), held together: one call serves every group.

    Each group's entries sit in its row of one block between a head and a tail; pushing appends
    each id to its group's row, taking serves the groups in order. ``take`` of the group ``g``
    alone would return what ``FifoQueue.take`` returns from the same entries.
    """

    def __init__(self, n_groups: int, capacity: int = 256) -> None:
        self._ids = np.empty((n_groups, capacity), dtype=np.int64)
        self._tags = np.empty((n_groups, capacity), dtype=np.int32)
        self._head = np.zeros(n_groups, dtype=np.int64)
        self._tail = np.zeros(n_groups, dtype=np.int64)

    def lengths(self) -> np.ndarray:
        """Entries held in each group, including agents who left and are not yet skipped."""
        return self._tail - self._head

    def push(self, ids: np.ndarray, groups: np.ndarray, tag: int = 0) -> None:
        """Append agents at the back of their groups' queues, in the given order."""
        if ids.size == 0:
            return
        adding = np.bincount(groups, minlength=self._head.size)
        if (self._tail + adding > self._ids.shape[1]).any():
            self._make_room(adding)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        _push_groups(ids, groups, np.int32(tag), self._ids, self._tags, self._tail)

    def _make_room(self, adding: np.ndarray) -> None:
        """Move every row's entries to its front; grow all rows if one would still overflow."""
        live = self._tail - self._head
        size = self._ids.shape[1]
        if (live + adding > size // 2).any():  # as FifoQueue: grow, else shifting will do
            size = max(2 * size, 2 * int((live + adding).max()))
        ids = np.empty((self._head.size, size), dtype=np.int64)
        tags = np.empty((self._head.size, size), dtype=np.int32)
        for g in range(self._head.size):
            h, t = self._head[g], self._tail[g]
            ids[g, : t - h] = self._ids[g, h:t]
            tags[g, : t - h] = self._tags[g, h:t]
        self._ids, self._tags = ids, tags
        self._head[:] = 0
        self._tail[:] = live

    def take(
        self, want: np.ndarray, valid: np.ndarray, tags: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Remove up to ``want[g]`` waiting agents from the front of each group's queue.

        Returns them, group after group, and how many came from each group.
        """
        want = np.ascontiguousarray(want, dtype=np.int64)
        # np.maximum, not clip: clip's Python wrapper costs more than the day's few groups.
        out = np.empty(int(np.maximum(np.minimum(want, self.lengths()), 0).sum()), dtype=np.int64)
        taken = np.zeros(want.size, dtype=np.int64)
        m = _take_groups(
            want,
            self._ids,
            self._tags,
            self._head,
            self._tail,
            valid,
            _NO_TAGS if tags is None else tags,
            tags is not None,
            out,
            taken,
        )
        return out[:m], taken

    def entries(self, group: int) -> tuple[np.ndarray, np.ndarray]:
        """Copies of one group's entries (ids and tags), front first, stale ones included."""
        h, t = self._head[group], self._tail[group]
        return self._ids[group, h:t].copy(), self._tags[group, h:t].copy()


def take_reference(
    ids: np.ndarray, tags: np.ndarray, n: int, valid: np.ndarray, current: np.ndarray | None = None
) -> list[int]:
    """What ``FifoQueue.take`` returns from entries ``ids``/``tags``, in plain Python.

    The first ``n`` agents still waiting (``valid``), each at the entry of its latest joining
    (tag equal to ``current``) when tags are used, and each once (at its first such entry).
    """
    waiting = [
        int(i) for i, t in zip(ids, tags, strict=True)
        if valid[i] and (current is None or current[i] == t)
    ]  # fmt: skip
    return list(dict.fromkeys(waiting))[:n]


def take_where_reference(
    ids: np.ndarray,
    n: int,
    valid: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    allowed: np.ndarray,
) -> list[int]:
    """What ``FifoQueue.take_where`` returns from entries ``ids``, in plain Python."""
    waiting = [int(i) for i in ids if valid[i] and allowed[int(rows[i]), int(cols[i])]]
    return list(dict.fromkeys(waiting))[:n]


class Capacity:
    """Fractional daily capacity: scaled-down runs keep fractions of a seat for the next day.

    One capacity, or with ``n`` one for each of ``n`` resources (corridors), taken together.
    """

    def __init__(self, n: int | None = None) -> None:
        self.carry = 0.0 if n is None else np.zeros(n)

    def whole(self, amount):
        """Whole units available today from ``amount`` plus yesterday's unused fraction."""
        total = amount + self.carry
        units = np.floor(total + 1e-9)
        self.carry = total - units
        return units.astype(np.int64) if isinstance(units, np.ndarray) else int(units)
