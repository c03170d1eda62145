"""Applicants: their attributes drawn ahead, and the standby pool they wait in.

The selection rounds and how many applicants each brings from each origin follow from the
scenario alone (demand, the dated recruitment multipliers, the carry of fractional places), not
from what happens in the simulation. Their attributes (age, sex, aptitude, language, network,
the supervising organisation's proactivity, sector, savings) are therefore drawn from a stream of
their own, ``applicants``, a block of rounds at a time, in a second thread while the simulation
runs: NumPy releases the GIL while it draws. The blocks and the order of the draws are fixed, so
the numbers are the same whatever the threads' timing.

Applicants are not agents while they wait: ``StandbyPool`` keeps them in compact columns of their
own until they are selected (and become agents) or give up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from tmpsim.model.selection_kernels import Eligibility, PoolColumns, select_kernel

Attributes = dict[str, np.ndarray]
BLOCK_ROUNDS = (1, 2, 4, 8, 16, 32)  # rounds per block: the first ones small, then 32


def draw_attributes(
    rng: np.random.Generator,
    origin: np.ndarray,
    per_origin: dict[str, np.ndarray],
    proactivity: tuple[float, float],
    sector_share: np.ndarray,
    savings_mean: float,
) -> Attributes:
    """Attributes of new agents of the given origins, one draw of each kind for all of them.

    Each kind is one call with a parameter per agent, so that a second thread drawing them
    needs the GIL only between calls. ``proactivity`` is (mean, concentration) of its beta law.
    """
    n = origin.size
    age = per_origin["age_mean"][origin] + per_origin["age_sd"][origin] * rng.standard_normal(n)
    female = rng.random(n) < per_origin["female"][origin]
    aptitude = rng.random(n)
    lang = per_origin["language"][origin]
    net = per_origin["network"][origin]
    language = rng.beta(lang * 4 + 1e-3, (1 - lang) * 4 + 1e-3)
    network = rng.beta(net * 4 + 1e-3, (1 - net) * 4 + 1e-3)
    mean, conc = proactivity
    mean = min(max(mean, 1e-3), 1 - 1e-3)
    return {
        "age0": np.clip(age, 16, 60),
        "female": female,
        "aptitude": aptitude,
        "language": np.clip(language, 0, 1),
        "network": np.clip(network, 0, 1),
        "proactivity": rng.beta(mean * conc, (1 - mean) * conc, n).astype(np.float32),
        "sector": rng.choice(sector_share.size, size=n, p=sector_share),
        "savings": rng.exponential(savings_mean, n),
    }


class ApplicantDraws:
    """The attributes of every round's applicants, drawn a block of rounds ahead.

    ``rounds`` are the selection days with the origins of their applicants, in order; ``draw``
    turns a block's origins into attributes (``draw_attributes`` with the stream bound). While
    the simulation takes the applicants of one block, the next block is drawn in a thread.
    """

    def __init__(
        self, rounds: list[tuple[int, np.ndarray]], draw: Callable[[np.ndarray], Attributes]
    ) -> None:
        self.rounds = rounds
        self.draw = draw
        self.blocks: list[tuple[int, int]] = []  # [first round, last round + 1)
        first, k = 0, 0
        while first < len(rounds):
            size = BLOCK_ROUNDS[min(k, len(BLOCK_ROUNDS) - 1)]
            self.blocks.append((first, min(first + size, len(rounds))))
            first, k = first + size, k + 1
        self.next_round = 0
        self.block = -1  # the block being taken from, and the end of its rounds
        self.block_end = 0
        self.drawn: Attributes = {}
        self.offset = 0  # where the next round starts in ``drawn``
        self._thread: threading.Thread | None = None
        self._result: list[Attributes | BaseException] = []
        self._start(0)

    def _start(self, b: int) -> None:
        """Draw block ``b`` in a thread (its result goes to ``_result``)."""
        if b >= len(self.blocks):
            self._thread = None
            return
        lo, hi = self.blocks[b]
        origin = np.concatenate([o for _, o in self.rounds[lo:hi]])
        result: list[Attributes | BaseException] = []

        def run() -> None:
            try:
                result.append(self.draw(origin))
            except BaseException as exc:  # re-raised in the simulation's thread
                result.append(exc)

        self._result = result
        self._thread = threading.Thread(target=run, name="tmpsim-applicants", daemon=True)
        self._thread.start()

    def _wait(self) -> Attributes:
        if self._thread is None:
            raise RuntimeError("no applicants left to draw")
        self._thread.join()
        found = self._result[0]
        if isinstance(found, BaseException):
            raise found
        return found

    def take(self, day: int) -> Attributes:
        """The attributes of the applicants of the round on ``day`` (rounds are taken in order)."""
        k = self.next_round
        if k >= len(self.rounds) or self.rounds[k][0] != day:
            raise RuntimeError(f"day {day} is not the next selection round")
        if k >= self.block_end:  # on to the next block, drawn by now or being drawn
            self.drawn = self._wait()
            self.block += 1
            self.block_end = self.blocks[self.block][1]
            self.offset = 0
            self._start(self.block + 1)
        n = self.rounds[k][1].size
        lo, self.offset = self.offset, self.offset + n
        self.next_round = k + 1
        return {name: values[lo : self.offset] for name, values in self.drawn.items()}


class StandbyPool:
    """Applicants waiting to be selected, in the order they joined, outside the agent arrays.

    Most applicants are never selected (they give up after a wait), and a waiting applicant needs
    none of an agent's state: only the attributes selection reads and those an agent is created
    with. Keeping them in compact columns of their own keeps the agent arrays to the people who
    are selected, and selection's scans to contiguous memory. Each column holds the applicants
    from ``head`` to ``tail``; ``waiting`` marks those not yet selected. Those who give up are
    always the oldest (they joined first), so they leave from the head; the selected leave a gap
    that is dropped when the columns are next compacted.
    """

    def __init__(self, shape: tuple[int, int, int]) -> None:
        self.columns: Attributes = {}
        self.waiting = np.zeros(0, dtype=bool)
        self.head = 0
        self.tail = 0
        # Those who gave up, by [origin, sector, segment] (they stay counted as dropped).
        self.gave_up = np.zeros(shape, dtype=np.int64)
        # Those waiting, by [origin, sector, segment], kept as they join and leave.
        self.waiting_counts = np.zeros(shape, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.waiting[self.head : self.tail].sum())

    def join(self, attrs: Attributes) -> None:
        """Applicants join (their attributes, with ``origin``, ``segment`` and ``joined``)."""
        n = next(iter(attrs.values())).size
        if not self.columns:
            self.columns = {k: np.empty(max(4 * n, 1024), dtype=v.dtype) for k, v in attrs.items()}
            self.waiting = np.zeros(self.columns["joined"].size, dtype=bool)
        if self.tail + n > self.waiting.size:
            self._compact(n)
        lo, hi = self.tail, self.tail + n
        for name, values in attrs.items():
            self.columns[name][lo:hi] = values
        self.waiting[lo:hi] = True
        self.tail = hi
        shape = self.waiting_counts.shape
        self.waiting_counts += _count(attrs["origin"], attrs["sector"], attrs["segment"], shape)

    def _compact(self, room: int) -> None:
        """Drop the gaps and the head; grow so that ``room`` more fit with room to spare."""
        keep = np.flatnonzero(self.waiting[self.head : self.tail]) + self.head
        size = max(2 * (keep.size + room), self.waiting.size)
        for name, values in self.columns.items():
            grown = np.empty(size, dtype=values.dtype)
            grown[: keep.size] = values[keep]
            self.columns[name] = grown
        self.waiting = np.zeros(size, dtype=bool)
        self.waiting[: keep.size] = True
        self.head, self.tail = 0, keep.size

    def eligible(self, day: int, age_min: float, age_max: float, aptitude_min: float) -> np.ndarray:
        """Positions of the waiting applicants eligible today (age, aptitude), in joining order.

        Ages are the float32 age at joining plus float64 years since; the aptitude floor is
        compared in float32 (as NumPy compares float32 aptitudes with a float32 scalar).
        """
        lo, hi = self.head, self.tail
        c = self.columns
        if hi == lo:
            return np.empty(0, dtype=np.int64)
        age = c["age0"][lo:hi] + (day - c["joined"][lo:hi]) / 365.25
        ok = self.waiting[lo:hi] & (age >= age_min) & (age <= age_max)
        ok &= c["aptitude"][lo:hi] >= np.float32(aptitude_min)
        return np.flatnonzero(ok) + lo

    def select(self, rule: Eligibility, places: np.ndarray) -> tuple[np.ndarray, int]:
        """Positions of the ``places[p]`` best eligible applicants of each profile ``p``.

        Also returns how many were eligible. One compiled pass (``select_kernel``); the same as
        ``eligible`` followed by ``tmpsim.model.recruitment.best_by_origin``.
        """
        lo, hi = self.head, self.tail
        if hi == lo:
            return np.empty(0, dtype=np.int64), 0
        c = self.columns
        pool = tuple(PoolColumns(self.waiting, c["age0"], c["joined"], c["aptitude"], c["profile"]))
        out = np.empty(hi - lo, dtype=np.int64)
        places = np.ascontiguousarray(places, dtype=np.int64)
        n, eligible = select_kernel(lo, hi, pool, tuple(rule), places, out)
        return out[:n], int(eligible)

    def take(self, positions: np.ndarray) -> Attributes:
        """The attributes of the applicants at ``positions``, who leave the pool (selected)."""
        self.waiting[positions] = False
        out = {name: values[positions] for name, values in self.columns.items()}
        shape = self.waiting_counts.shape
        self.waiting_counts -= _count(out["origin"], out["sector"], out["segment"], shape)
        return out

    def give_up(self, joined_by: int) -> Attributes:
        """Applicants who joined on or before ``joined_by`` and still wait leave the pool.

        Returns their attributes (an empty dict when nobody is due); they are counted in
        ``gave_up``.
        """
        lo, hi = self.head, self.tail
        if hi == lo or self.columns["joined"][lo] > joined_by:  # most days: nobody is due
            return {}
        stop = lo + int(np.searchsorted(self.columns["joined"][lo:hi], joined_by, side="right"))
        leave = np.flatnonzero(self.waiting[lo:stop]) + lo
        out = {name: values[leave] for name, values in self.columns.items()}
        self.waiting[lo:stop] = False
        self.head = stop
        left = _count(out["origin"], out["sector"], out["segment"], self.gave_up.shape)
        self.gave_up += left
        self.waiting_counts -= left
        return out

    def counts(self, shape: tuple[int, int, int]) -> np.ndarray:
        """Those waiting, by [origin, sector, segment], counted from the columns.

        ``waiting_counts`` holds the same, kept as applicants join and leave.
        """
        lo, hi = self.head, self.tail
        if hi == lo:
            return np.zeros(shape, dtype=np.int64)
        w = self.waiting[lo:hi]
        c = self.columns
        return _count(c["origin"][lo:hi][w], c["sector"][lo:hi][w], c["segment"][lo:hi][w], shape)


def _count(
    origin: np.ndarray, sector: np.ndarray, segment: np.ndarray, shape: tuple[int, ...]
) -> np.ndarray:
    """People by [origin, sector, segment]."""
    _, n_sectors, n_segments = shape
    cell = (origin.astype(np.int64) * n_sectors + sector) * n_segments + segment
    return np.bincount(cell, minlength=int(np.prod(shape))).reshape(shape)
