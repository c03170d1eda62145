"""Applicants' attributes: drawn ahead, in a second thread, for the coming selection rounds.

The selection rounds and how many applicants each brings from each origin follow from the
scenario alone (demand, the dated recruitment multipliers, the carry of fractional places), not
from what happens in the simulation. Their attributes (age, sex, aptitude, language, network,
the supervising organisation's proactivity, sector, savings) are therefore drawn from a stream of
their own, ``applicants``, a block of rounds at a time, in a second thread while the simulation
runs: NumPy releases the GIL while it draws. The blocks and the order of the draws are fixed, so
the numbers are the same whatever the threads' timing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

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
