"""Transport and borders: seats per corridor and direction, entry caps, repatriation flights.

Each origin's corridor has an inbound and an outbound daily seat capacity that dated events open
and close. Workers queue for seats first come first served: arrivals in the order they were cleared
to go, returns in the order they asked to go home. Those waiting to enter queue by corridor and
segment, so that a segment can have an entry cap of its own; a corridor's seats are shared among
its segments' queues in proportion to those waiting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tmpsim.engine.module import Module
from tmpsim.engine.population import NEVER
from tmpsim.engine.queues import Capacity, FifoQueues
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
        self.entry_cap = b.entry_cap_per_day  # host-wide, for the segments without their own
        # Segments with an entry cap of their own: (their segment codes) -> (per day, carry,
        # which entry queues it holds), set when a cap event starts or ends.
        self.segment_caps: dict[tuple[int, ...], tuple[float, Capacity, np.ndarray]] = {}
        self.flight_seats = np.zeros(n)
        self.n_seg = sim.n_segments
        self.entry_queue = FifoQueues(n * self.n_seg)  # one queue per corridor and segment
        self._queue_segment = np.tile(np.arange(self.n_seg), n)  # each entry queue's segment
        self.return_queue = FifoQueues(n)
        self.in_cap = Capacity(n)
        self.out_cap = Capacity(n)
        self.host_cap = Capacity()
        self.waiting_home = np.zeros(n, dtype=np.int64)  # agents in each return queue
        self.waiting_in = np.zeros(n * self.n_seg, dtype=np.int64)  # in each entry queue

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
        waiting = pop.in_entry_queue[:n]
        key = self._key(pop.origin[:n][waiting], pop.segment[:n][waiting])
        queued = np.bincount(key, minlength=self.waiting_in.size)
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
            if ev.segments is None:
                self.entry_cap = ev.per_day
                continue
            codes = tuple(sorted(self.sim.segments.index(g) for g in ev.segments))
            for other in [k for k in self.segment_caps if k != codes and set(k) & set(codes)]:
                del self.segment_caps[other]  # a segment is in one cap at a time
            held = self.segment_caps.pop(codes, None)
            if ev.per_day is not None:  # the same segments keep their fraction of an entry
                carry = Capacity() if held is None else held[1]
                mine = np.isin(self._queue_segment, codes)
                self.segment_caps[codes] = (ev.per_day, carry, mine)
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
    def _key(self, origin: np.ndarray, segment: np.ndarray) -> np.ndarray:
        """The entry queue of each agent: its corridor's, for its segment."""
        if self.n_seg == 1:
            return origin
        return origin.astype(np.int64) * self.n_seg + segment

    def _entry_keys(self, ids: np.ndarray) -> np.ndarray:
        pop = self.sim.pop
        return self._key(pop.origin[ids], pop.segment[ids])

    def queue_entry(self, ids: np.ndarray) -> None:
        """Agents ready to enter (or re-enter) join their corridor's entry queue."""
        pop = self.sim.pop
        ids = ids[~pop.in_entry_queue[ids]]
        pop.in_entry_queue[ids] = True
        key = self._entry_keys(ids)
        self.waiting_in += np.bincount(key, minlength=self.waiting_in.size)
        self.entry_queue.push(ids, key)

    def leave_entry_queue(self, ids: np.ndarray) -> None:
        """Agents who stop waiting to enter (they gave up): the queue skips them."""
        pop = self.sim.pop
        was = ids[pop.in_entry_queue[ids]]
        self.waiting_in -= np.bincount(self._entry_keys(was), minlength=self.waiting_in.size)
        pop.in_entry_queue[was] = False

    def queue_return(self, ids: np.ndarray, day: int) -> None:
        """Agents who want to go home join their corridor's return queue, in id order."""
        pop = self.sim.pop
        ids = ids[~pop.in_return_queue[ids]]
        pop.in_return_queue[ids] = True
        pop.queued[ids] = day
        origin = pop.origin[ids]
        self.waiting_home += np.bincount(origin, minlength=self.waiting_home.size)
        self.return_queue.push(ids, origin, day)

    def leave_return_queue(self, ids: np.ndarray) -> None:
        """Agents who no longer wait for a seat home (switched status, ran away...)."""
        pop = self.sim.pop
        was = ids[pop.in_return_queue[ids]]
        if was.size:  # most who leave a status were not waiting (called at every such move)
            self.waiting_home -= np.bincount(pop.origin[was], minlength=self.waiting_home.size)
        pop.in_return_queue[ids] = False
        pop.queued[ids] = NEVER

    # ---- daily ----------------------------------------------------------------------------
    def step(self, day: int) -> None:
        """Fill today's inbound and outbound seats from the queues."""
        sim, pop = self.sim, self.sim.pop
        scale = sim.scale
        waiting_in = self.waiting_in
        allowed = self._seats_in(self.in_cap.whole(self.seats_in * scale))
        open_ = allowed > 0
        general = None  # the queues under the host-wide cap: all, without segment caps
        for per_day, carry, mine in self.segment_caps.values():
            allowed = _capped(allowed, carry.whole(per_day * scale), waiting_in, open_, mine)
            general = ~mine if general is None else general & ~mine
        if self.entry_cap is not None:
            # The host's cap is shared in proportion to those waiting on each open corridor
            # (as one queue in the order cleared would), then bounded by the corridor's seats.
            host = self.host_cap.whole(self.entry_cap * scale)
            allowed = _capped(allowed, host, waiting_in, open_, general)
        # Each corridor's queue in turn, corridors in order.
        want = np.where(waiting_in > 0, allowed, 0)
        ids, taken = self.entry_queue.take(want, pop.in_entry_queue)
        if ids.size:
            pop.in_entry_queue[ids] = False
            self.waiting_in -= taken
            sim.lifecycle.arrive(ids, day)
        seats = self.out_cap.whole((self.seats_out + self.flight_seats) * scale)
        # An agent who left the queue (ran away) and joined again (caught) waits from the day
        # it joined again: its older entry is skipped.
        want = np.where(self.waiting_home > 0, seats, 0)  # a queue of stale entries is left
        ids, taken = self.return_queue.take(want, pop.in_return_queue, pop.queued)
        if ids.size:
            self.waiting_home -= taken
            pop.in_return_queue[ids] = False
            sim.lifecycle.depart(ids, day)
        rec = sim.recorder
        rec.extras["queue_entry"][day] = self.waiting_in.reshape(sim.n_origins, -1).sum(axis=1)
        rec.extras["queue_return"][day] = self.waiting_home

    def _seats_in(self, corridor: np.ndarray) -> np.ndarray:
        """Each entry queue's seats: its corridor's, shared among its segments by who waits."""
        if self.n_seg == 1:
            return corridor
        waiting = self.waiting_in.reshape(-1, self.n_seg)
        return np.concatenate([_share(int(c), w) for c, w in zip(corridor, waiting, strict=True)])


def _capped(
    allowed: np.ndarray,
    cap: int,
    waiting: np.ndarray,
    open_: np.ndarray,
    mine: np.ndarray | None,
) -> np.ndarray:
    """``allowed`` with the queues of a cap (``mine``; None: all) held to their share of it.

    The cap is shared among its queues in proportion to those waiting on open corridors.
    """
    if mine is None:
        return np.minimum(allowed, _share(cap, np.where(open_, waiting, 0)))
    share = _share(cap, np.where(open_ & mine, waiting, 0))
    return np.where(mine, np.minimum(allowed, share), allowed)


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
