"""Civil society: emergency funds and shelters (NPOs, religious shelters, dormitories, friends).

Destitute workers queue for emergency money, and people who need a bed queue for one, first come
first served. A bed is needed by the destitute and, where the job comes with a bed
(``programme.housing_with_job``), by everyone in the host without work (jobless, stranded, on a
bridge without work). With ``programme.private_rental`` those who lose the job's bed rent a room
privately instead if their savings cover the move-in cost and no landlord refuses them (one draw
each); renters pay the rent (the money module reads the ``renting`` flag) and need a bed only
when they become destitute, which ends the renting. Funds pay a fixed amount while their monthly
budget lasts; shelters house people up to their capacity, which for friends grows with the
number of employed co-workers. Where the employer keeps up the worker without work by rule
(``programme.employer_upkeep``), nobody in the states named needs a bed, destitute or not.
Shelters that take in only some (by origin, segment or sex) each fill their places first, from the
people they take in, in the order of the line; then the shelters open to everyone, as one pool.
Need beyond capacity is unmet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tmpsim.engine.module import Module
from tmpsim.engine.queues import FifoQueue
from tmpsim.states import N_STATES, NO_INCOME, WORKING, State

if TYPE_CHECKING:
    from tmpsim.simulation import Simulation

DAYS_PER_MONTH = 365.25 / 12


class CivilSociety(Module):
    """Emergency funds for the destitute, and shelter places for those who need a bed."""

    fields = {
        "sheltered": (np.bool_, 0),
        "needs_bed": (np.bool_, 0),
        "awaiting_bed": (np.bool_, 0),  # in the shelter queue (the queue skips the others)
        # Whose places the sheltered hold: 0 the shelters open to everyone, k the k-th of those
        # that take in only some (``Shelter.restricted``); -1 none.
        "shelter_pool": (np.int8, -1),
        # Renting a room privately after losing the job's bed (``programme.private_rental``).
        "renting": (np.bool_, 0),
    }
    flags = ("sheltered", "needs_bed", "renting")
    flags_by_sex = ("sheltered", "needs_bed")  # women's shelters plan from the women among them

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self.sheltered = sim.pop.flag_of("sheltered")
        self.needs_bed = sim.pop.flag_of("needs_bed")
        # Those who become destitute ask for help; those who stop being so leave their place.
        sim.pop.flag_of("destitute").listen(on_set=self.destitute, on_clear=self.not_destitute)
        sc = sim.scenario
        # Where the job comes with a bed, those without work in the host need one too: the
        # moves into and out of those states are heard (by no state's moves otherwise).
        self.without_work = np.zeros(N_STATES, dtype=bool)
        if sc.programme.housing_with_job:
            self.without_work[[int(s) for s in NO_INCOME]] = True
        # States without work where the employer keeps up the worker: the bed is kept there,
        # and nobody in them needs a shelter place, destitute or not (their moves are heard).
        self.upkept = sc.programme.upkept()
        self.without_work[self.upkept] = False
        self._any_upkept = bool(self.upkept.any())  # read at every move heard
        self.hears = (
            frozenset(State) if self.without_work.any() or self.upkept.any() else frozenset()
        )
        # Renting privately instead, for those who can (the schema asks for housing_with_job).
        self.renting = sim.pop.flag_of("renting")
        self.rental = sc.programme.private_rental
        if self.rental is not None:
            self.move_in = self.rental.move_in_cost
            self.savings_needed = self.rental.savings_needed(sc.money.subsistence_cost_per_month)
            self.stream = sim.streams["private_rental"]  # its own: no other module's draws move
        # With private rental: those who lost the job's bed today, decided on at the day's end.
        self._lost_bed: list[np.ndarray] = []
        self.funds = sc.emergency_funds
        if self.funds:  # people paid, beside the money (a payment ends destitution at once)
            sim.recorder.extras["emergency_payments"] = np.zeros((sim.n_days, sim.n_origins))
        self.shelters = sc.shelters
        self.fund_budget = np.zeros(len(self.funds))
        self.fund_queue = FifoQueue()
        self.shelter_queue = FifoQueue()
        # The shelters open to everyone form pool 0; each that takes in only some is a pool of
        # its own (1, 2, ... in the scenario's order), with the table of whom it takes in.
        self.general = [i for i, s in enumerate(self.shelters) if not s.restricted]
        self.restricted = [i for i, s in enumerate(self.shelters) if s.restricted]
        self.takes_in = [self._takes_in(self.shelters[i]) for i in self.restricted]
        self.occupied = np.zeros(1 + len(self.restricted), dtype=np.int64)
        # Which funds and shelters are open on each run day, worked out once.
        self.fund_open = [self._open_days(f) for f in self.funds]
        self.shelter_open = [self._open_days(s) for s in self.shelters]
        self.working = np.array(sorted(int(s) for s in WORKING), dtype=np.int64)

    def destitute(self, ids: np.ndarray) -> None:
        """Newly destitute agents ask for emergency money and a bed; renters lose their room.

        Those the employer keeps up (``programme.employer_upkeep``) have a bed: they ask for
        money only.
        """
        self.fund_queue.push(ids)
        self.need(ids[~self.upkept[self.sim.pop.state[ids]]])
        if self.rental is not None:
            lost = self.renting.clear(ids)
            if lost.size:  # the rent stops with the room
                self.sim.money.reprice(lost, self.sim.day)

    def not_destitute(self, ids: np.ndarray) -> None:
        """Agents no longer destitute leave their bed, unless they need it for want of work."""
        self.release(ids[~self.without_work[self.sim.pop.state[ids]]])

    def on_move(self, ids: np.ndarray, new: State, day: int) -> None:
        """Heard only where the job comes with a bed or the employer keeps some up.

        Losing work means needing a bed. With private rental, those who lose it and are still
        without work in the host at the day's end rent a room if they can and need a bed only if
        they cannot (``step``): those who leave for home the day their stay ends rent nothing.
        Going back to work with a bed, into the employer's upkeep, or leaving the host, ends the
        renting. Those the employer takes up need no bed, destitute or not; the destitute who
        leave the upkeep for a state that brings no bed need one.
        """
        if self.without_work[new]:
            if self.rental is None:
                self.need(ids)
            else:
                self._lost_bed.append(ids)
            return
        pop = self.sim.pop
        # count_nonzero: a small array's ``any`` costs a few microseconds, at every move.
        if self.rental is not None and np.count_nonzero(self.renting.counts):
            # The money module set the new state's spending without the rent already.
            self.renting.clear(ids)
        leaving = ids[pop.needs_bed[ids]]  # most moves concern nobody who needs a bed
        if self.upkept[new]:
            self.release(leaving)
            return
        if leaving.size:
            self.release(leaving[~pop.destitute[leaving]])
        if self._any_upkept:  # the destitute leaving the upkeep (the others need one already)
            self.need(ids[pop.destitute[ids]])

    def _lost_bed_today(self, day: int) -> None:
        """Today's losers of the job's bed still without work in the host rent or need a bed.

        In the order they lost it, each once.
        """
        ids = np.concatenate(self._lost_bed)
        self._lost_bed = []
        _, first = np.unique(ids, return_index=True)
        ids = ids[np.sort(first)]
        ids = ids[self.without_work[self.sim.pop.state[ids]]]
        self.need(self.rent(ids, day))

    def rent(self, ids: np.ndarray, day: int) -> np.ndarray:
        """Those who lost the job's bed rent a room if they can; returns those who cannot.

        Only those neither renting nor needing a bed already decide (a move between states
        without work changes nothing). Savings, settled by the move, must cover the move-in cost,
        which is paid at once, and the reserve after it (``reserve_months``); those who can pay
        are refused by landlords with the scenario's chance, one draw each in the order of
        ``ids``.
        """
        pop = self.sim.pop
        fresh = ids[~(pop.renting[ids] | pop.needs_bed[ids])]
        if fresh.size == 0:
            return fresh
        # The destitute come here only from the employer's upkeep: they cannot pay, whatever
        # the savings needed.
        can_pay = (pop.savings[fresh] >= self.savings_needed) & ~pop.destitute[fresh]
        rents = np.zeros(fresh.size, dtype=bool)
        rents[can_pay] = self.stream.random(int(can_pay.sum())) >= self.rental.refusal_share
        renters = fresh[rents]
        if renters.size:
            self.renting.set(renters)
            self.sim.money.reprice(renters, day, outlay=self.move_in)
        # With no reserve a renter whose savings were all spent on moving in is destitute
        # already (and needs a bed through ``destitute``): ``need`` adds nobody twice.
        return fresh[~rents]

    def need(self, ids: np.ndarray) -> None:
        """Agents who need a bed and had no need before join the line for one."""
        new = self.needs_bed.set(ids)
        if new.size:
            self.sim.pop.awaiting_bed[new] = True
            self.shelter_queue.push(new)

    def release(self, ids: np.ndarray) -> None:
        """Agents who no longer need a bed leave their shelter place (or the line)."""
        gone = self.needs_bed.clear(ids)
        if gone.size:
            pop = self.sim.pop
            pop.awaiting_bed[gone] = False
            left = self.sheltered.clear(gone)
            if left.size:
                self.occupied -= np.bincount(pop.shelter_pool[left], minlength=self.occupied.size)
                pop.shelter_pool[left] = -1

    def check(self) -> str | None:
        """Only those who need a bed hold one, and the places taken are the sheltered."""
        pop = self.sim.pop
        n = pop.n
        if (pop.sheltered[:n] & ~pop.needs_bed[:n]).any():
            return "someone holds a shelter place without needing a bed"
        if (pop.awaiting_bed[:n] & (pop.sheltered[:n] | ~pop.needs_bed[:n])).any():
            return "someone waits for a bed who holds one or needs none"
        renting = pop.renting[:n]
        if (renting & pop.needs_bed[:n]).any():
            return "someone rents a room privately and needs a shelter bed (or holds one)"
        if (renting & pop.destitute[:n]).any():
            return "someone destitute still rents a room privately"
        without_work = self.without_work[pop.state[:n]]
        if (renting & ~without_work).any():
            return "someone rents a room privately who is not without work in the host"
        if (without_work & ~renting & ~pop.needs_bed[:n]).any():
            return "someone without work lost the job's bed and neither rents nor needs a bed"
        upkept = self.upkept[pop.state[:n]]
        if (upkept & pop.needs_bed[:n]).any():
            return "someone the employer keeps up needs a shelter bed (or holds one)"
        if (pop.destitute[:n] & ~upkept & ~pop.needs_bed[:n]).any():
            return "someone destitute outside the employer's upkeep needs no bed"
        pool = pop.shelter_pool[:n]
        if ((pool >= 0) != pop.sheltered[:n]).any():
            return "a shelter place is held by someone not sheltered, or not held by one who is"
        held = np.bincount(pool[pool >= 0], minlength=self.occupied.size)
        if not np.array_equal(held, self.occupied):
            return f"places taken by pool {self.occupied.tolist()}, held {held.tolist()}"
        for k, i in enumerate(self.restricted, start=1):
            housed = np.flatnonzero(pool == k)
            sex = pop.female[housed].astype(np.int64)  # a column index, not a mask
            if not self.takes_in[k - 1][pop.profile[housed], sex].all():
                return f"shelter {self.shelters[i].name} houses someone it does not take in"
        return None

    def _takes_in(self, shelter) -> np.ndarray:
        """Whom a shelter takes in, by [profile, sex] (``FifoQueue.take_where``'s table)."""
        sim = self.sim
        table = np.zeros((len(sim.profiles), 2), dtype=np.bool_)
        for p, profile in enumerate(sim.profiles):
            table[p] = (
                shelter.origins is None or sim.origins[profile.origin] in shelter.origins
            ) and (shelter.segments is None or sim.segments[profile.segment] in shelter.segments)
        if shelter.sex is not None:
            table[:, 0 if shelter.sex == "female" else 1] = False  # the column is ``female``
        return table

    def _open_days(self, item) -> np.ndarray:
        """Whether a fund or shelter is open on each run day.

        Open from its start to its end, both included: a range of run days, not a date built
        and compared for each day of the run.
        """
        first = self.sim.scenario.start
        days = np.arange(self.sim.n_days)
        lo = 0 if item.start is None else (item.start - first).days
        hi = self.sim.n_days - 1 if item.end is None else (item.end - first).days
        return (days >= lo) & (days <= hi)

    def capacity(self, day: int, which: list[int] | None = None) -> float:
        """Places of the shelters ``which`` (indices; default: all) available today (scaled)."""
        sim = self.sim
        employed = sim.recorder.counts[self.working].sum()
        cap = 0.0
        for i in range(len(self.shelters)) if which is None else which:
            if self.shelter_open[i][day]:
                s = self.shelters[i]
                cap += s.capacity * sim.scale + s.per_employed * employed
        return cap

    def _evict(self, count: int, pool: int) -> None:
        """Places of a pool fell below occupancy: the most recently created it houses leave.

        This happens when a shelter closes or hosts lose their jobs; those who leave wait in
        line for another place.
        """
        pop = self.sim.pop
        housed = pop.sheltered[: pop.n]
        if self.restricted:
            housed = housed & (pop.shelter_pool[: pop.n] == pool)
        out = np.flatnonzero(housed)[-count:]
        self.sheltered.clear(out)
        self.occupied[pool] -= out.size
        pop.shelter_pool[out] = -1
        pop.awaiting_bed[out] = True
        self.shelter_queue.push(out)

    def _house(self, ids: np.ndarray, pool: int) -> None:
        """Agents taken from the line get a place of the pool."""
        if ids.size:
            pop = self.sim.pop
            pop.awaiting_bed[ids] = False
            got = self.sheltered.set(ids)
            self.occupied[pool] += got.size
            pop.shelter_pool[got] = pool

    def step(self, day: int) -> None:
        """Settle where today's losers of the job's bed sleep, pay emergency money, fill places."""
        sim, pop = self.sim, self.sim.pop
        if self._lost_bed:
            self._lost_bed_today(day)
        for i, fund in enumerate(self.funds):
            if not self.fund_open[i][day]:
                continue
            monthly = fund.budget_per_month * sim.scale
            # Unspent money carries over, up to a month's budget or one payment if that is more
            # (a small fund, or a large one at a small scale, still pays someone now and then).
            ceiling = max(monthly, float(fund.amount))
            self.fund_budget[i] = min(self.fund_budget[i] + monthly / DAYS_PER_MONTH, ceiling)
            n = int(self.fund_budget[i] // fund.amount) if fund.amount > 0 else 0
            if n > 0:
                ids = self.fund_queue.take(n, pop.destitute)
                if ids.size:
                    self.fund_budget[i] -= ids.size * fund.amount
                    sim.recorder.add("emergency_paid", pop.origin[ids], fund.amount)
                    sim.recorder.add("emergency_payments", pop.origin[ids], 1.0)
                    pop.emergency[ids] += fund.amount
                    sim.money.give(ids, fund.amount, day)
        # Those who take in only some first, each from the people it takes in, in line order.
        total = 0.0
        for k, i in enumerate(self.restricted, start=1):
            places = self.capacity(day, [i])
            total += places
            free = int(np.floor(places + 1e-9)) - int(self.occupied[k])
            if free < 0:
                self._evict(-free, k)
            elif free > 0:
                allowed = self.takes_in[k - 1]
                taken = self.shelter_queue.take_where(
                    free, pop.awaiting_bed, pop.profile, pop.female, allowed
                )
                self._house(taken, k)
        cap = self.capacity(day, self.general)
        sim.recorder.extras["shelter_capacity"][day, 0] = total + cap
        free = int(np.floor(cap + 1e-9)) - int(self.occupied[0])
        if free < 0:
            self._evict(-free, 0)
        if free > 0:
            self._house(self.shelter_queue.take(free, pop.awaiting_bed), 0)
