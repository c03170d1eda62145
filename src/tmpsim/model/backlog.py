"""The backlog awaiting entry: people cleared to go who wait, and give up at a stated rate.

With a ``backlog`` section in the scenario, everyone who has waited in the entry queue longer than
``after_days`` gives up at ``give_up_per_year`` (a constant hazard), checked at each month's end
for the month just past: they leave the queue and the programme (``DROPPED``). People re-entering
after a home visit are not in the backlog. Without the section nothing is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tmpsim.engine.module import Module
from tmpsim.engine.population import NEVER
from tmpsim.kinds import State

if TYPE_CHECKING:
    from tmpsim.simulation import Simulation


class Backlog(Module):
    """Ageing and giving up of those awaiting entry."""

    hears = frozenset({State.AWAITING_ENTRY})  # on_move: only these moves

    fields = {"awaiting_since": (np.int32, NEVER)}  # day the agent was cleared to enter

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self.spec = sim.scenario.backlog
        if self.spec is not None:
            self.stream = sim.streams["backlog"]
        self.last = -1  # the previous month end (run day)
        self.gave_up = np.zeros(sim.n_origins, dtype=np.int64)  # since the start, by origin

    def on_move(self, ids: np.ndarray, new: State, day: int) -> None:
        """The wait starts when the agent is cleared to enter."""
        if self.spec is not None and new == State.AWAITING_ENTRY:
            self.sim.pop.awaiting_since[ids] = day

    def month_end(self, day: int) -> None:
        """Those who waited longer than after_days give up at the stated rate."""
        if self.spec is None:
            return
        pop = self.sim.pop
        queued = np.flatnonzero(pop.in_entry_queue[: pop.n])  # few of all agents: look at them
        waiting = queued[
            (pop.state[queued] == State.AWAITING_ENTRY)
            & (pop.awaiting_since[queued] <= day - self.spec.after_days)
        ]
        # Days each has been past after_days within this month.
        since = pop.awaiting_since[waiting].astype(np.int64) + self.spec.after_days
        exposed = day - np.maximum(since, self.last)
        p = 1.0 - np.exp(-self.spec.give_up_per_year * exposed / 365.25)
        quit_ = waiting[self.stream.random(waiting.size) < p]
        self.last = day
        if quit_.size == 0:
            return
        self.sim.borders.leave_entry_queue(quit_)  # the queue skips them
        self.gave_up += np.bincount(pop.origin[quit_], minlength=self.gave_up.size)
        self.sim.move(quit_, State.DROPPED)
