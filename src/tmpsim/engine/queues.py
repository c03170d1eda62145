"""First-come-first-served queues of agents for capacity-limited resources (seats, beds)."""

from __future__ import annotations

import math
from collections import deque

import numpy as np


class FifoQueue:
    """Agents waiting in order of arrival; members that left are skipped lazily.

    ``valid`` is a boolean field of the population that says whether an agent is still waiting;
    agents leave by clearing it, and their stale entries are dropped when reached. An agent who
    leaves and joins again has two entries: pushing with a ``tag`` (the day it joined) and taking
    with the agents' current ``tags`` keeps only the entry of its latest joining.
    """

    def __init__(self) -> None:
        self._chunks: deque[tuple[np.ndarray, int]] = deque()
        self._entries = 0  # entries held, stale ones included

    def push(self, ids: np.ndarray, tag: int = 0) -> None:
        """Append agents at the back, in the given order."""
        if ids.size:
            self._chunks.append((np.asarray(ids, dtype=np.int64), int(tag)))
            self._entries += ids.size

    @staticmethod
    def _live(chunk: np.ndarray, tag: int, valid: np.ndarray, tags: np.ndarray | None):
        keep = valid[chunk]
        if tags is not None:
            keep &= tags[chunk] == tag
        return chunk[keep]

    def take(self, n: int, valid: np.ndarray, tags: np.ndarray | None = None) -> np.ndarray:
        """Remove and return up to ``n`` waiting agents from the front (``valid[id]`` true)."""
        out: list[np.ndarray] = []
        need = int(n)
        while need > 0 and self._chunks:
            chunk, tag = self._chunks.popleft()
            self._entries -= chunk.size
            chunk = self._live(chunk, tag, valid, tags)
            if chunk.size > need:
                out.append(chunk[:need])
                self._chunks.appendleft((chunk[need:], tag))
                self._entries += chunk.size - need
                need = 0
            else:
                out.append(chunk)
                need -= chunk.size
        return np.concatenate(out) if out else np.empty(0, dtype=np.int64)

    def compact(self, valid: np.ndarray, tags: np.ndarray | None = None) -> int:
        """Drop stale entries and return how many agents are waiting."""
        kept = deque()
        total = 0
        for chunk, tag in self._chunks:
            chunk = self._live(chunk, tag, valid, tags)
            if chunk.size:
                kept.append((chunk, tag))
                total += chunk.size
        self._chunks = kept
        self._entries = total
        return total

    def __len__(self) -> int:
        """Entries held, including agents who left and are not yet skipped."""
        return self._entries


class Capacity:
    """Fractional daily capacity: scaled-down runs keep fractions of a seat for the next day."""

    def __init__(self) -> None:
        self.carry = 0.0

    def whole(self, amount: float) -> int:
        """Whole units available today from ``amount`` plus yesterday's unused fraction."""
        total = float(amount + self.carry)
        n = math.floor(total + 1e-9)
        self.carry = total - n
        return n
