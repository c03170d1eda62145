"""Transport and borders: seats per corridor and direction, entry caps, repatriation flights.

Each origin's corridor has an inbound and an outbound daily seat capacity that dated events open
and close. Workers queue for seats first come first served: arrivals in the order they were cleared
to go, returns in the order they asked to go home.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tmpsim.engine.module import Module
from tmpsim.engine.population import NEVER
from tmpsim.engine.queues import Capacity, FifoQueue
from tmpsim.kinds import Timer
from tmpsim.model.events import BorderEvent, EntryCapEvent, FlightEvent

if TYPE_CHECKING:
    from tmpsim.simulation import Simulation


class Borders(Module):
    """Seat capacities and the entry and return queues of every corridor."""

    fields = {
        "queued": (np.int32, NEVER),  # day the agent asked to go home (return queue order)
        # Queue membership, read by the queues to skip agents who left.
        "in_entry_queue": (np.bool_, 0),
        "in_return_queue": (np.bool_, 0),
    }

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        b = sim.scenario.borders
        n = sim.n_origins
        self.seats_in = np.full(n, b.seats_in_per_day)
        self.seats_out = np.full(n, b.seats_out_per_day)
        self.normal_in, self.normal_out = b.seats_in_per_day, b.seats_out_per_day
        self.entry_cap = b.entry_cap_per_day
        self.flight_seats = np.zeros(n)
        self.entry_queue = [FifoQueue() for _ in range(n)]
        self.return_queue = [FifoQueue() for _ in range(n)]
        self.in_cap = Capacity(n)
        self.out_cap = Capacity(n)
        self.host_cap = Capacity()
        self.waiting_home = np.zeros(n, dtype=np.int64)  # agents in each return queue
        self.waiting_in = np.zeros(n, dtype=np.int64)  # agents in each entry queue

    def timers(self) -> dict:
        """Home visits end (back to the entry queue); exit permits come (to the return queue)."""
        return {
            Timer.HOME_VISIT_END: lambda ids, day: self.queue_entry(ids),
            Timer.EXIT_PERMIT: self.queue_return,
        }

    def check(self) -> str | None:
        """The queues' counters against the agents flagged as waiting."""
        pop = self.sim.pop
        n = pop.n
        queued = np.bincount(pop.origin[:n][pop.in_return_queue[:n]], minlength=self.sim.n_origins)
        if not np.array_equal(queued, self.waiting_home):
            return "return-queue counters differ from the agents"
        queued = np.bincount(pop.origin[:n][pop.in_entry_queue[:n]], minlength=self.sim.n_origins)
        if not np.array_equal(queued, self.waiting_in):
            return "entry-queue counters differ from the agents"
        return None

    # ---- events ---------------------------------------------------------------------------
    def events(self, day: int) -> None:
        """Border openings and closures, entry caps and flights starting today."""
        tl = self.sim.timeline
        self.flight_seats[:] = 0
        for ev in tl.on(day, BorderEvent):
            idx = self._corridors(ev.corridor)
            if ev.direction in ("in", "both"):
                self.seats_in[idx] = ev.seats_per_day
            if ev.direction in ("out", "both"):
                self.seats_out[idx] = ev.seats_per_day
        for ev in tl.on(day, EntryCapEvent):
            self.entry_cap = ev.per_day
        for ev in tl.on(day, FlightEvent):
            self.flight_seats[self.sim.origin_index[ev.corridor]] += ev.seats

    def _corridors(self, corridor: str) -> np.ndarray:
        if corridor == "all":
            return np.arange(self.sim.n_origins)
        return np.array([self.sim.origin_index[corridor]])

    def open_both_ways(self, origin: np.ndarray) -> np.ndarray:
        """Whether travel runs normally both ways (a home visit is possible)."""
        return (self.seats_in[origin] >= self.normal_in * 0.5) & (
            self.seats_out[origin] >= self.normal_out * 0.5
        )

    # ---- queues ---------------------------------------------------------------------------
    def queue_entry(self, ids: np.ndarray) -> None:
        """Agents ready to enter (or re-enter) join their corridor's entry queue."""
        pop = self.sim.pop
        ids = ids[~pop.in_entry_queue[ids]]
        pop.in_entry_queue[ids] = True
        origin = pop.origin[ids]
        self.waiting_in += np.bincount(origin, minlength=self.waiting_in.size)
        for o, group in _by_origin(ids, origin, self.sim.n_origins):
            self.entry_queue[o].push(group)

    def leave_entry_queue(self, ids: np.ndarray) -> None:
        """Agents who stop waiting to enter (they gave up): the queue skips them."""
        pop = self.sim.pop
        was = ids[pop.in_entry_queue[ids]]
        self.waiting_in -= np.bincount(pop.origin[was], minlength=self.waiting_in.size)
        pop.in_entry_queue[was] = False

    def queue_return(self, ids: np.ndarray, day: int) -> None:
        """Agents who want to go home join their corridor's return queue, in id order."""
        pop = self.sim.pop
        ids = ids[~pop.in_return_queue[ids]]
        pop.in_return_queue[ids] = True
        pop.queued[ids] = day
        origin = pop.origin[ids]
        self.waiting_home += np.bincount(origin, minlength=self.waiting_home.size)
        for o, group in _by_origin(ids, origin, self.sim.n_origins):
            self.return_queue[o].push(group, day)

    def leave_return_queue(self, ids: np.ndarray) -> None:
        """Agents who no longer wait for a seat home (switched status, ran away...)."""
        pop = self.sim.pop
        was = ids[pop.in_return_queue[ids]]
        self.waiting_home -= np.bincount(pop.origin[was], minlength=self.waiting_home.size)
        pop.in_return_queue[ids] = False
        pop.queued[ids] = NEVER

    # ---- daily ----------------------------------------------------------------------------
    def step(self, day: int) -> None:
        """Fill today's inbound and outbound seats from the queues."""
        sim, pop = self.sim, self.sim.pop
        scale = sim.scale
        waiting_in = self.waiting_in
        allowed = self.in_cap.whole(self.seats_in * scale)
        if self.entry_cap is not None:
            # The host's cap is shared in proportion to those waiting on each open corridor
            # (as one queue in the order cleared would), then bounded by the corridor's seats.
            host = self.host_cap.whole(self.entry_cap * scale)
            allowed = np.minimum(allowed, _share(host, np.where(allowed > 0, waiting_in, 0)))
        arriving = [
            self.entry_queue[o].take(int(allowed[o]), pop.in_entry_queue)
            for o in np.flatnonzero((allowed > 0) & (waiting_in > 0))
        ]
        if arriving:
            ids = np.concatenate(arriving)
            pop.in_entry_queue[ids] = False
            self.waiting_in -= np.bincount(pop.origin[ids], minlength=self.waiting_in.size)
            sim.lifecycle.arrive(ids, day)
        leaving = []
        seats = self.out_cap.whole((self.seats_out + self.flight_seats) * scale)
        for o in np.flatnonzero((seats > 0) & (self.waiting_home > 0)):
            # An agent who left the queue (ran away) and joined again (caught) waits from the
            # day it joined again: its older entry is skipped.
            ids = self.return_queue[o].take(seats[o], pop.in_return_queue, pop.queued)
            self.waiting_home[o] -= ids.size
            leaving.append(ids)
        if leaving:
            ids = np.concatenate(leaving)
            pop.in_return_queue[ids] = False
            sim.lifecycle.depart(ids, day)
        rec = sim.recorder
        rec.extras["queue_entry"][day] = self.waiting_in
        rec.extras["queue_return"][day] = self.waiting_home


def _by_origin(ids: np.ndarray, origin: np.ndarray, n_origins: int) -> list:
    """Split ids by origin, keeping their order within each: ``[(origin, ids), ...]``."""
    if ids.size == 0:
        return []
    first = origin[0]
    if (origin == first).all():
        return [(int(first), ids)]
    order = np.argsort(origin, kind="stable")
    ends = np.cumsum(np.bincount(origin, minlength=n_origins))
    ids = ids[order]
    out, start = [], 0
    for o in range(n_origins):
        if ends[o] > start:
            out.append((o, ids[start : ends[o]]))
        start = ends[o]
    return out


def _share(total: int, demand: np.ndarray) -> np.ndarray:
    """Split ``total`` whole places across groups in proportion to demand (largest remainder)."""
    want = demand.sum()
    if want <= total:
        return demand.astype(np.int64)
    exact = demand * (total / want)
    base = np.floor(exact).astype(np.int64)
    rest = total - base.sum()
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:rest]] += 1
    return base
