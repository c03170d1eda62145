"""Shared fixtures."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Calls of a kernel through engine.jit.Resolved are typed again (each call site's first ones and
# a sample after) and checked against the version its first call chose (read when tmpsim is
# first imported; CLI subprocesses inherit it).
os.environ.setdefault("TMPSIM_JIT_CHECK", "1")
# Precomputations kept between commands (tmpsim.cache) go to a folder of this test session, not
# to the user's cache (CLI subprocesses inherit it).
os.environ.setdefault("TMPSIM_CACHE_DIR", tempfile.mkdtemp(prefix="tmpsim-test-cache-"))

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = Path(__file__).parent / "scenarios"


LONG_FIRST = ("slow", "browser", "dask")


@pytest.hookimpl(tryfirst=True)  # before stepwise (--sw) and --ff read the order
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long tests (marked slow, browser or dask) first, each file's in its order.

    With one process per core (pytest-xdist) they then start at once on the processes, instead
    of one of them finishing alone after the others are done.
    """
    items.sort(key=lambda item: not any(item.get_closest_marker(m) for m in LONG_FIRST))


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables are printed 200 columns wide whoever runs the tests (a terminal, a pipe, a worker
    process of pytest-xdist, which has no COLUMNS); tests of narrow output set their own."""
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def scenario_dir() -> Path:
    """Folder of the tiny hand-built test scenarios."""
    return SCENARIOS


@pytest.fixture(scope="session")
def flagship():
    """The flagship scenario at scale 0.005, seed 1, its invariants checked every day.

    Returns the finished Simulation, its Result, and the agent-rule violations found every
    30 days (see helpers.agent_rule_violations). Shared by the invariant, determinism and
    output tests so that the flagship runs once.
    """
    from helpers import FLAGSHIP, agent_rule_violations

    from tmpsim.results import build_result
    from tmpsim.scenario import load_scenario
    from tmpsim.simulation import Simulation

    sim = Simulation(load_scenario(FLAGSHIP), seed=1, scale=0.005, check=True)
    problems: list[str] = []
    sim.run(progress=lambda done, total: problems.extend(agent_rule_violations(sim)))
    return sim, build_result(sim), problems
