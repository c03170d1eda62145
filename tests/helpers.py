"""Helpers for the core's tests: build tiny simulations, file known events, read daily counts."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tmpsim.kinds import Hazard, Timer
from tmpsim.scenario import load_scenario
from tmpsim.simulation import Simulation
from tmpsim.states import IN_HOST, N_STATES, NO_INCOME, State

TESTS = Path(__file__).resolve().parent
SCENARIOS = TESTS / "scenarios"
ROOT = TESTS.parent
FLAGSHIP = "japan-titp-covid"


def load_script(path: Path) -> Any:
    """A Python file outside the package (``scripts/``, ``benchmarks/``) as a module."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(module)
    return module


def scenario_file(name: str) -> Path:
    """Path of a hand-built test scenario by stem (``"stranding"``)."""
    path = SCENARIOS / f"{name}.yaml"
    assert path.is_file(), path
    return path


def build(
    name: str, overrides: dict[str, Any] | None = None, seed: int = 1, scale: float = 1.0
) -> Simulation:
    """A Simulation of a test scenario (scale 1 unless asked), checking invariants every day."""
    sc = load_scenario(scenario_file(name), overrides)
    return Simulation(sc, seed=seed, scale=scale, check=True)


def ids(*values: int) -> np.ndarray:
    """Agent ids as the int64 array the engine uses."""
    return np.array(values, dtype=np.int64)


def set_timers(sim: Simulation, kind: Timer, days: Sequence[int], first: int = 0) -> None:
    """Agents ``first, first+1, ...`` get their next deterministic event of ``kind`` on ``days``."""
    who = np.arange(first, first + len(days), dtype=np.int64)
    sim.lifecycle.set_timer(who, kind, np.asarray(days, dtype=np.int64))
    if kind == Timer.CONTRACT_END:  # the contract's end, as the lifecycle keeps it
        sim.pop.contract_end[who] = days


def file_hazard(sim: Simulation, who: np.ndarray, kind: Hazard, day: int) -> None:
    """Make agents' next stochastic event ``kind`` on ``day`` (replacing any drawn one)."""
    sim.pop.hazard_kind[who] = int(kind)
    sim.hazards.calendar.schedule(who, np.full(who.size, day, dtype=np.int64))


def run_days(sim: Simulation, days: Iterable[int] | None = None) -> Simulation:
    """Step the given days (default: every day of the scenario, from the next one due)."""
    for day in days if days is not None else range(sim.day + 1, sim.n_days):
        sim.step(day)
    return sim


def daily(sim: Simulation, *states: State) -> list[int]:
    """End-of-day count of agents in any of ``states``, all origins, for every day run so far."""
    stocks = sim.recorder.stocks[: sim.day + 1]
    return [int(v) for v in stocks[:, [int(s) for s in states], :].sum(axis=(1, 2))]


def daily_flow_into(sim: Simulation, state: State) -> list[int]:
    """Agents entering ``state`` each day from any other state, all origins."""
    flows = sim.recorder.flows[: sim.day + 1].astype(np.int64)
    into = flows[:, :, int(state), :].sum(axis=2)
    into[:, int(state)] = 0
    return [int(v) for v in into.sum(axis=1)]


def steps(changes: dict[int, int], n_days: int, start: int = 0) -> list[int]:
    """A step function written by hand: ``{day: value from that day on}``, ``start`` before."""
    out, value = [], start
    for day in range(n_days):
        value = changes.get(day, value)
        out.append(value)
    return out


def state_of(sim: Simulation, who: np.ndarray) -> list[State]:
    """Current states of some agents."""
    return [State(int(s)) for s in sim.pop.state[who]]


def assert_population_identity(sim: Simulation) -> None:
    """Stocks from the recorder obey the identity and the one-state rule, per state and origin.

    stock(d) = stock(d-1) + created(d) + inflows(d) - outflows(d), with stock(-1) the initial
    population; created agents enter the pool; every agent is counted in exactly one state.
    """
    rec = sim.recorder
    days = sim.day + 1
    stocks = rec.stocks[:days].astype(np.int64)
    flows = rec.flows[:days].astype(np.int64)
    created = rec.created[:days].astype(np.int64)
    assert (stocks >= 0).all(), "negative stock"
    assert (flows >= 0).all(), "negative flow"
    assert (created >= 0).all(), "negative creation"
    inflow = flows.sum(axis=1)  # [day, new state, origin]
    outflow = flows.sum(axis=2)  # [day, old state, origin]
    previous = np.concatenate([rec.initial[None].astype(np.int64), stocks[:-1]])
    births = np.zeros_like(stocks)
    births[:, int(State.POOL), :] = created
    expected = previous + births + inflow - outflow
    bad = np.argwhere(expected != stocks)
    assert bad.size == 0, (
        f"stock != previous + created + in - out at (day, state, origin) {bad[:5]}"
    )
    # Exactly one state each: the stocks add up to everyone ever created by that day (agents,
    # and the applicants kept outside the agent arrays until selected).
    alive = rec.initial.sum() + np.cumsum(created.sum(axis=1))
    assert np.array_equal(stocks.sum(axis=(1, 2)), alive)
    if days == sim.n_days:
        assert alive[-1] == sim.people()
    state = sim.pop.state[: sim.pop.n]
    assert ((state >= 0) & (state < N_STATES)).all()
    recount = np.bincount(
        state.astype(np.int64) * sim.n_origins + sim.pop.origin[: sim.pop.n],
        minlength=N_STATES * sim.n_origins,
    ).reshape(N_STATES, sim.n_origins)
    assert np.array_equal(recount + sim.outside_counts().sum(axis=(2, 3)), stocks[-1])


def tmpsim_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``tmpsim`` command line in a fresh interpreter and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "tmpsim", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def agent_rule_violations(sim: Simulation) -> list[str]:
    """Rules that tie agents' flags and queue memberships to their states (empty if all hold).

    Sheltered agents need a bed; those who need one are the destitute and, where the job comes
    with a bed, everyone without work in the host who does not rent a room privately (only they
    rent, and none of them destitute), except those the employer keeps up in the states of
    ``programme.employer_upkeep``, who need none; destitute agents have no income (jobless,
    stranded, special idle); stranded agents wait in their corridor's return queue (unless the
    programme makes them wait for an exit permit first); only people in the host wait for a seat
    home; only people cleared to go or on a home visit wait to enter; the recorded queue lengths
    match.
    """
    n = sim.pop.n
    state = sim.pop.state[:n]
    origin = sim.pop.origin[:n]
    destitute = sim.pop.destitute[:n]
    sheltered = sim.pop.sheltered[:n]
    needs_bed = sim.pop.needs_bed[:n]
    out = []
    if (sheltered & ~needs_bed).any():
        out.append("sheltered but needing no bed")
    no_income = np.isin(state, [int(s) for s in NO_INCOME])
    renting = sim.pop.renting[:n]
    upkept = sim.scenario.programme.upkept()[state]
    lost_bed = no_income & sim.scenario.programme.housing_with_job & ~upkept
    need = (destitute & ~upkept) | (lost_bed & ~renting)
    if not np.array_equal(needs_bed, need):
        out.append(
            "needing a bed is not: destitute, or without work where the job has a bed and not "
            "renting a room, and not kept up by the employer"
        )
    if (renting & (destitute | ~lost_bed)).any():
        out.append("renting a room privately while destitute or not without the job's bed")
    if (destitute & ~no_income).any():
        bad = sorted({State(int(s)).name for s in state[destitute & ~no_income]})
        out.append(f"destitute in states with income: {bad}")
    waiting_home = sim.pop.in_return_queue[:n]
    waiting_in = sim.pop.in_entry_queue[:n]
    if (
        not sim.scenario.programme.exit_needs_sponsor
        and ((state == State.STRANDED) & ~waiting_home).any()
    ):
        out.append("stranded but not queued for a seat home")
    if (waiting_home & ~np.isin(state, [int(s) for s in IN_HOST])).any():
        out.append("queued for a seat home but not in the host")
    if ((state == State.AWAITING_ENTRY) & ~waiting_in).any():
        out.append("awaiting entry but not in an entry queue")
    if (waiting_in & ~np.isin(state, [int(State.AWAITING_ENTRY), int(State.HOME_VISIT)])).any():
        out.append("in an entry queue but neither cleared to go nor on a home visit")
    queued = np.bincount(origin[waiting_home], minlength=sim.n_origins)
    recorded = sim.recorder.extras["queue_return"][sim.day]
    if not np.array_equal(queued, recorded):
        out.append(f"day {sim.day}: return queue recorded {recorded}, agents say {queued}")
    return [f"day {sim.day}: {v}" for v in out]


def run_checked(sim: Simulation) -> list[str]:
    """Run every remaining day, collecting agent-rule violations after each day."""
    problems: list[str] = []
    for day in range(sim.day + 1, sim.n_days):
        sim.step(day)
        problems += agent_rule_violations(sim)
    return problems


def tmpsim_inprocess(*args: str) -> tuple[int, str, str]:
    """Run the command line in this interpreter (fast); returns exit code, stdout and stderr.

    Fails the test if the command raised anything but a clean exit: an uncaught exception is
    what would print a traceback in a real terminal.
    """
    from typer.testing import CliRunner

    from tmpsim.cli import app

    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"tmpsim {' '.join(args)} raised {result.exception!r}")
    return result.exit_code, result.stdout, result.stderr


# ---- the dashboard and the figures of a run -------------------------------------------------

# The figures every run has (``tmpsim plot``, the dashboard's charts), by id.
RUN_FIGURES = (
    "states",
    "abroad",
    "stranded",
    "stranded_by_origin",
    "special_by_origin",
    "stock",
    "destitution",
    "money",
    "flows",
)
# A dashboard run of the flagship small enough for a test (three months at scale 0.001).
TINY_RUN = {"scenario": FLAGSHIP, "scale": 0.001, "end": "2017-03-31", "seed": 3}


def flagship_text() -> str:
    """The shipped flagship scenario file's text."""
    from tmpsim.scenario.loader import shipped_dir

    return (shipped_dir() / f"{FLAGSHIP}.yaml").read_text(encoding="utf-8")


def wait_stopped(get: Callable[[str], Any], run_id: str, timeout: float = 180.0) -> dict:
    """Poll a dashboard run until it stops; fail if it does not stop within ``timeout`` s.

    ``get`` is an HTTP GET of a path: the test client's, or ``httpx``'s on a served address.
    """
    import time

    import pytest

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = get(f"/api/runs/{run_id}").json()
        if status["state"] not in ("starting", "running"):
            return status
        time.sleep(0.3)
    pytest.fail(f"run {run_id} did not stop in {timeout} s")
