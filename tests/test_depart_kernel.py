"""Flying home in one compiled pass (``depart_kernel``) is ``Lifecycle.depart_reference``."""

from __future__ import annotations

import numpy as np
import pytest

from tmpsim.model.lifecycle import RETURN_SUMS, Lifecycle
from tmpsim.scenario import load_scenario
from tmpsim.simulation import Simulation
from tmpsim.states import State

FIELDS = ("debt", "savings", "remitted", "money_t", "t_timer", "exited", "queued", "state")
METRICS = ("remitted", *RETURN_SUMS)


def _stranded_day(seed: int) -> Simulation:
    """A small flagship run stopped on a day with agents waiting for a seat home."""
    sim = Simulation(load_scenario("japan-titp-covid"), seed=seed, scale=0.01)
    for day in range(1300):
        sim.step(day)
    return sim


@pytest.mark.parametrize("seed", [1, 2])
def test_depart_kernel_is_the_reference_on_a_mid_run_population(seed: int) -> None:
    """The same agents leave on the same day: fields and recorded sums equal to the bit."""
    out = {}
    for name, depart in (("kernel", Lifecycle.depart), ("reference", Lifecycle.depart_reference)):
        sim = _stranded_day(seed)  # the same population each time (same seed)
        pop = sim.pop
        leaving = np.flatnonzero(pop.state[: pop.n] == State.STRANDED)[::2]
        assert leaving.size > 5
        depart(sim.lifecycle, leaving, sim.day)
        out[name] = sim
    k, r = out["kernel"], out["reference"]
    for field in FIELDS:
        a, b = getattr(k.pop, field), getattr(r.pop, field)
        assert a.tobytes() == b.tobytes(), field
    for metric in METRICS:
        a, b = k.recorder.extras[metric], r.recorder.extras[metric]
        assert a.tobytes() == b.tobytes(), metric
    assert np.array_equal(k.recorder.counts, r.recorder.counts)
    assert np.array_equal(k.pop.destitute, r.pop.destitute)
    assert (k.pop.state[leaving] == State.RETURNED).all()
    assert (k.pop.savings[leaving] >= 0).all()


def test_a_run_departing_by_the_reference_is_the_same_run(monkeypatch) -> None:
    """Stocks and the returns' sums of a whole run are the same with either."""

    def run() -> Simulation:
        return Simulation(load_scenario("japan-titp-covid"), seed=3, scale=0.005).run()

    kernel = run()
    monkeypatch.setattr(Lifecycle, "depart", Lifecycle.depart_reference)
    reference = run()
    np.testing.assert_array_equal(kernel.recorder.stocks, reference.recorder.stocks)
    for metric in METRICS:
        np.testing.assert_array_equal(
            kernel.recorder.extras[metric], reference.recorder.extras[metric]
        )
