"""The module protocol at work: a mechanism added in a test, and the order of the day as data.

``Bankruptcies`` is the worked example of docs/architecture.md: one module, its own agent fields
and flag, one daily step, and a reaction to moves; the rest of the model is untouched.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import build, daily, daily_flow_into, run_days, scenario_file, set_timers, steps

from tmpsim.engine.module import Module
from tmpsim.kinds import State, Timer
from tmpsim.scenario import load_scenario
from tmpsim.simulation import Simulation


class Bankruptcies(Module):
    """Toy mechanism: on ``DAY`` employer ``EMPLOYER`` goes bankrupt and its employees lose
    their jobs. Workers are spread over employers of ``SIZE`` (by id); the ``bankrupt`` flag
    marks those hit until they leave the host."""

    DAY, EMPLOYER, SIZE = 3, 0, 4
    fields = {"employer": (np.int16, -1), "bankrupt": (np.bool_, 0)}
    flags = ("bankrupt",)

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self.flag = sim.pop.flag_of("bankrupt")

    def start(self) -> None:
        pop = self.sim.pop
        pop.employer[: pop.n] = np.arange(pop.n) // self.SIZE

    def step(self, day: int) -> None:
        if day != self.DAY:
            return
        pop = self.sim.pop
        hit = np.flatnonzero(
            (pop.employer[: pop.n] == self.EMPLOYER) & (pop.state[: pop.n] == State.EMPLOYED)
        )
        self.flag.set(hit)
        self.sim.lifecycle.lose_job(hit, day)

    def on_move(self, ids: np.ndarray, new: State, day: int) -> None:
        if new == State.RETURNED:
            self.flag.clear(ids)


def test_a_toy_mechanism_added_as_one_module_gives_exact_counts() -> None:
    sc = load_scenario(scenario_file("dismissal"))  # ten trainees, two seats home a day
    sim = Simulation(sc, check=True, modules=(*Simulation.MODULES, ("bankrupt", Bankruptcies)))
    set_timers(sim, Timer.CONTRACT_END, [999] * 10)  # no contract ends within the run
    run_days(sim)
    # Day 3: agents 0-3 lose their jobs; five days' grace; day 8 they want to go home and two
    # fly the same day; the other two on day 9.
    n = sim.n_days
    assert daily(sim, State.EMPLOYED) == steps({3: 6}, n, start=10)
    assert daily(sim, State.JOBLESS) == steps({3: 4, 8: 0}, n)
    assert daily(sim, State.STRANDED) == steps({8: 2, 9: 0}, n)
    assert daily_flow_into(sim, State.RETURNED) == steps({8: 2, 9: 2, 10: 0}, n)
    assert sim.recorder.flag_history["bankrupt"][:, 0].tolist() == steps({3: 4, 8: 2, 9: 0}, n)
    assert sim.pop.exited[:4].tolist() == [8, 8, 9, 9]


def test_modules_are_built_in_any_order_and_one_writes_the_state() -> None:
    sc = build("dismissal").scenario
    backwards = Simulation(sc, check=True, modules=tuple(reversed(Simulation.MODULES)))
    run_days(backwards)
    assert daily(backwards, State.EMPLOYED)[0] == 10
    no_money = tuple(m for m in Simulation.MODULES if m[0] != "money")
    with pytest.raises(KeyError, match="no module declares the flag 'destitute'"):
        Simulation(sc, modules=no_money)


def test_two_modules_cannot_declare_the_same_field() -> None:
    class Clash(Module):
        fields = {"debt": (np.float64, 0)}

    with pytest.raises(ValueError, match="'debt' declared by money and clash"):
        Simulation(build("dismissal").scenario, modules=(*Simulation.MODULES, ("clash", Clash)))


def test_the_order_of_the_day_is_the_module_list() -> None:
    sim = build("dismissal")
    order = [f.__self__ for f in sim.phases["step"]]
    names = ["recruitment", "lifecycle", "routes", "hazards", "borders", "money", "civil"]
    assert order == [getattr(sim, name) for name in names]
    assert [f.__self__ for f in sim.phases["events"]] == [sim.lifecycle, sim.hazards, sim.borders]
    month_end = [sim.routes, sim.vacancies, sim.backlog, sim.money]
    assert [f.__self__ for f in sim.phases["month_end"]] == month_end


class Heard(Module):
    """Toy listener: keeps the states of the moves announced to it."""

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self.heard: list[State] = []

    def on_move(self, ids: np.ndarray, new: State, day: int) -> None:
        self.heard.append(new)


class HeardJobless(Heard):
    hears = frozenset({State.JOBLESS})


def test_a_module_hears_only_the_moves_it_asks_for() -> None:
    sc = load_scenario(scenario_file("dismissal"))
    extra = (("bankrupt", Bankruptcies), ("all_moves", Heard), ("jobless", HeardJobless))
    sim = Simulation(sc, check=True, modules=(*Simulation.MODULES, *extra))
    set_timers(sim, Timer.CONTRACT_END, [999] * 10)
    run_days(sim)
    # The worked example's run: four jobless on day 3, stranded on day 8, home on days 8, 9.
    assert sim.all_moves.heard == [State.JOBLESS, State.STRANDED, State.RETURNED, State.RETURNED]
    assert sim.jobless.heard == [State.JOBLESS]
    assert sim.pop.exited[:4].tolist() == [8, 8, 9, 9]  # hearing changes nothing else


def test_the_module_that_writes_the_state_hears_every_move() -> None:
    from tmpsim.model.money import MoneyModule

    class Deaf(MoneyModule):
        hears = frozenset({State.EMPLOYED})

    kinds = tuple((n, Deaf if n == "money" else c) for n, c in Simulation.MODULES)
    with pytest.raises(ValueError, match="must hear every move"):
        Simulation(build("dismissal").scenario, modules=kinds)
