"""Helpers shared by the experiment tests (no tests here): a tiny scenario, a sweep, checks."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import duckdb
import pandas as pd
import yaml

TMPSIM = str(Path(sys.executable).parent / "tmpsim")
DASK = str(Path(sys.executable).parent / "dask")

# Two years of one corridor: a few hundred trainees at scale 1, an outbound border that is
# nearly closed until June 2019; dismissals and runaways make every seed different.
TINY_SCENARIO = {
    "name": "tiny-corridor",
    "description": "One corridor, a few hundred trainees, a border that reopens in June 2019.",
    "start": "2019-01-01",
    "end": "2020-06-30",
    "origins": {
        "A": {
            "initial_stock": {"1": 200},
            "demand_share": {2019: 1.0},
            "fee_mean": 100000,
            "borrow_share": 0.5,
            "debt_mean": 100000,
            "runaway_rate_per_year": 0.2,
        }
    },
    "sectors": {"only": {"share": 1.0, "dismissal_rate_per_year": 0.3}},
    "programme": {"name": "tiny one-stage programme", "stages": [{"name": "1", "months": 12}]},
    "recruitment": {"demand": {2019: 200, 2020: 200}},
    "money": {"wage_per_month": 150000},
    "borders": {"seats_in_per_day": 10, "seats_out_per_day": 1},
    "events": [
        {
            "type": "border",
            "date": "2019-06-01",
            "corridor": "A",
            "direction": "out",
            "seats_per_day": 5,
        }
    ],
    "sources": {"borders": "assumed (test case)"},
}


def write_sweep(
    folder: Path,
    name: str = "tiny-sweep",
    scale: float = 2.0,
    seeds: int = 2,
    seats: tuple[int, ...] = (1, 2, 3, 4, 5),
    **extra,
) -> Path:
    """Write the tiny scenario and a grid sweep over it (len(seats) x 2 points x seeds runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.yaml").write_text(yaml.safe_dump(TINY_SCENARIO, sort_keys=False))
    spec = {
        "name": name,
        "scenario": "tiny.yaml",
        "scale": scale,
        "seed": 5,
        "seeds": seeds,
        "design": {"type": "grid"},
        "parameters": {
            "borders.seats_out_per_day": {"values": list(seats), "name": "seats_out"},
            "money.wage_per_month": {"values": [120000, 180000]},
        },
        "outputs": {
            "summary": ["peak_stranded", "person_days_stranded", "missing"],
            "series": ["stranded", "jobless", "employed"],
        },
        **extra,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def results(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(series, outputs) of an experiment folder, sorted, for comparing two folders."""
    con = duckdb.connect(str(folder / "catalog.duckdb"), read_only=True)
    try:
        series = con.execute(
            "SELECT point, rep, date, metric, origin, value FROM series "
            "ORDER BY point, rep, metric, origin, date"
        ).df()
        outputs = con.execute("SELECT * FROM outputs ORDER BY run").df()
    finally:
        con.close()
    return series, outputs


def assert_each_run_once(folder: Path, n_runs: int) -> None:
    """Every run present exactly once, done, in the records, the dataset and the catalog."""
    records = sorted((folder / "runs").glob("*.json"))
    assert len(records) == n_runs
    statuses = [json.loads(p.read_text())["status"] for p in records]
    assert statuses == ["done"] * n_runs
    files = sorted((folder / "series").glob("point=*/rep=*/*.parquet"))
    assert len(files) == n_runs
    assert not list((folder / "series").rglob(".*.tmp"))  # no leftover partial writes
    con = duckdb.connect(str(folder / "catalog.duckdb"), read_only=True)
    try:
        runs = con.execute("SELECT run, status FROM runs ORDER BY run").fetchall()
        assert runs == [(i, "done") for i in range(n_runs)]
        n_pairs, n_rows, n_keys = con.execute(
            "SELECT count(DISTINCT (point, rep)), count(*), "
            "count(DISTINCT (point, rep, date, metric, origin)) FROM series"
        ).fetchone()
    finally:
        con.close()
    assert n_pairs == n_runs
    assert n_rows == n_keys  # no row twice


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
