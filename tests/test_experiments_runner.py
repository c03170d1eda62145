"""map_runs on the local process pool: order, errors, and a worker process that dies."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tmpsim.experiments import iter_runs, map_runs


def slow_square(x: int) -> int:
    time.sleep(0.05 * (5 - x % 5))  # later items finish first
    return x * x


def pid_of(_: int) -> int:
    time.sleep(0.2)
    return os.getpid()


def fails_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is bad")
    return x


def dies_once(item: tuple[str, int]) -> int:
    """Kill the worker process the first time item 2 is seen (a marker file remembers)."""
    marker, x = item
    if x == 2 and not Path(marker).exists():
        Path(marker).write_text("died")
        os._exit(9)
    return x + 100


def test_results_come_back_in_item_order_with_progress():
    seen: list[tuple[int, int]] = []
    out = map_runs(slow_square, range(8), workers=2, progress=lambda d, t: seen.append((d, t)))
    assert out == [x * x for x in range(8)]
    assert seen == [(i, 8) for i in range(1, 9)]


def test_work_is_spread_over_worker_processes_and_inline_uses_this_one():
    assert len(set(map_runs(pid_of, range(4), workers=2))) == 2
    assert set(map_runs(pid_of, range(2), workers=0)) == {os.getpid()}
    assert map_runs(slow_square, [], workers=2) == []


def test_an_exception_in_fn_is_raised_to_the_caller():
    with pytest.raises(ValueError, match="three is bad"):
        map_runs(fails_on_three, range(6), workers=2)


def test_a_worker_process_that_dies_costs_a_retry_not_the_results(tmp_path):
    marker = str(tmp_path / "marker")
    out = map_runs(dies_once, [(marker, x) for x in range(6)], workers=2)
    assert Path(marker).read_text() == "died"  # a worker really died
    assert out == [x + 100 for x in range(6)]


def test_iter_runs_yields_each_index_once():
    got = list(iter_runs(slow_square, list(range(7)), workers=2))
    assert sorted(i for i, _ in got) == list(range(7))
    assert all(v == i * i for i, v in got)
