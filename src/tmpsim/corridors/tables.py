"""Tidy tables of a corridors run, and writing them atomically as Parquet.

``flows.parquet``: one row per date, origin, destination, programme and metric, value as a
float (people are full-population equivalents). Monthly ``departures``, ``returns``, ``stock``
(end of month) and ``queue`` (waiting at brokers at month end) by origin × destination;
``seats`` by destination (origin ``all``); yearly (dated 31 December) ``fee_mean_usd`` and
``debt_mean_usd`` at departure by origin × destination.

``brokers.parquet``: the same columns plus ``broker`` (``origin-NN``), yearly, for every broker
that placed someone that year: ``departures``, ``fee_mean_usd``, ``debt_mean_usd`` and
``market_share`` (its share of its origin's departures to the destination that year).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from tmpsim.arrow import arrow_array, arrow_strings
from tmpsim.corridors.simulate import CorridorsRun
from tmpsim.results import atomic_write_table

COLUMNS = ("date", "origin", "destination", "programme", "metric", "value")


class _Labels:
    """A label column made of parts, each integer codes into a list of names of its own.

    Kept as codes (no Python string per row): the names are numbered as first given, and the
    column becomes a dictionary array with its names in order of first appearance in the rows.
    """

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.parts: list[np.ndarray] = []

    def add(self, codes: np.ndarray, names: Sequence[str]) -> None:
        """Append rows: ``codes`` index ``names`` (which may repeat a name)."""
        ids = np.array([self.ids.setdefault(str(n), len(self.ids)) for n in names], dtype=np.int32)
        self.parts.append(ids[np.asarray(codes, dtype=np.intp)])

    def array(self) -> pa.DictionaryArray:
        """The rows as a dictionary array, names in order of first appearance."""
        codes = np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=np.int32)
        present, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        order = np.argsort(first)
        rank = np.empty(order.size, dtype=np.int32)
        rank[order] = np.arange(order.size, dtype=np.int32)
        names = list(self.ids)
        indices = arrow_array(rank[inverse.reshape(-1)], pa.int32())
        return pa.DictionaryArray.from_arrays(
            indices, arrow_strings([names[i] for i in present[order]])
        )


def _table(cols: dict[str, list], labels: dict[str, _Labels], run: CorridorsRun) -> pa.Table:
    """Columns into an Arrow table with dictionary-encoded names and the run's metadata."""
    days = np.concatenate(cols["date"]).astype("datetime64[D]").astype(np.int32)
    arrays = {
        "date": arrow_array(days, pa.date32()),
        **{k: column.array() for k, column in labels.items()},
        "value": arrow_array(np.concatenate(cols["value"]).astype(np.float64), pa.float64()),
    }
    meta = {
        "configuration": run.cfg.description or "corridors",
        "scale": repr(run.scale),
        "seed": str(run.seed),
    }
    return pa.table(arrays).replace_schema_metadata({"tmpsim": json.dumps(meta, sort_keys=True)})


def _grid(n_t: int, n_o: int, n_d: int) -> tuple[np.ndarray, np.ndarray]:
    """Origin and destination codes of a ``[date, origin, destination]`` array, C order."""
    origin = np.tile(np.repeat(np.arange(n_o, dtype=np.int32), n_d), n_t)
    dest = np.tile(np.arange(n_d, dtype=np.int32), n_t * n_o)
    return origin, dest


def _mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``total / count``, NaN where nobody departed."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)


def flows_table(run: CorridorsRun) -> pa.Table:
    """Flows, stocks, queues, seats, fees and debt of a run, tidy."""
    cols: dict[str, list] = {"date": [], "value": []}
    labels = {k: _Labels() for k in COLUMNS if k not in cols}

    def add(dates, origins, values3d, metric):
        n_t, n_o, n_d = len(dates), len(origins), len(run.destinations)
        origin, dest = _grid(n_t, n_o, n_d)
        cols["date"].append(np.repeat(np.array(dates, dtype="datetime64[D]"), n_o * n_d))
        labels["origin"].add(origin, origins)
        labels["destination"].add(dest, run.destinations)
        labels["programme"].add(dest, run.programmes)
        labels["metric"].add(np.zeros(origin.size, dtype=np.int32), [metric])
        cols["value"].append(np.asarray(values3d, dtype=np.float64).reshape(-1))

    per = 1.0 / run.scale
    for metric, arr in (
        ("departures", run.departures),
        ("returns", run.returns),
        ("stock", run.stock),
        ("queue", run.queue),
    ):
        add(run.months, run.origins, arr * per, metric)
    add(run.months, ["all"], run.seats[:, None, :] * per, "seats")
    add(run.months, ["all"], run.backlog[:, None, :], "orders_carried")  # already full-population
    year_ends = [dt.date(y, 12, 31) for y in run.years]
    n_y, n_o, n_d = len(year_ends), len(run.origins), len(run.destinations)
    shape = (n_y, n_o, run.per_origin, n_d)
    dep = run.broker_departed.reshape(shape).sum(axis=2)
    add(
        year_ends,
        run.origins,
        _mean(run.broker_fee.reshape(shape).sum(axis=2), dep),
        "fee_mean_usd",
    )
    add(
        year_ends,
        run.origins,
        _mean(run.broker_debt.reshape(shape).sum(axis=2), dep),
        "debt_mean_usd",
    )
    borrowers = run.broker_borrowers.reshape(shape).sum(axis=2)
    add(year_ends, run.origins, _mean(borrowers, dep), "debt_share")
    return _table(cols, labels, run)


def brokers_table(run: CorridorsRun) -> pa.Table:
    """Yearly departures, fees, debt and market share of every broker that placed someone."""
    n_y, n_b, n_d = run.broker_departed.shape
    dep = run.broker_departed
    origin_of = np.repeat(np.arange(len(run.origins)), run.per_origin)
    per_origin = dep.reshape(n_y, len(run.origins), run.per_origin, n_d).sum(axis=2)
    share = _mean(dep, per_origin[:, origin_of, :])
    y, b, d = np.nonzero(dep)
    names = [
        f"{run.origins[o]}-{k:02d}" for o in range(len(run.origins)) for k in range(run.per_origin)
    ]
    dates = np.array([dt.date(yr, 12, 31) for yr in run.years], dtype="datetime64[D]")
    metrics = {
        "departures": dep[y, b, d] / run.scale,
        "fee_mean_usd": run.broker_fee[y, b, d] / dep[y, b, d],
        "debt_mean_usd": run.broker_debt[y, b, d] / dep[y, b, d],
        "market_share": share[y, b, d],
    }
    cols: dict[str, list] = {"date": [], "value": []}
    labels = {k: _Labels() for k in (*COLUMNS[1:4], "broker", "metric")}
    for metric, values in metrics.items():
        cols["date"].append(dates[y])
        labels["origin"].add(origin_of[b], run.origins)
        labels["destination"].add(d, run.destinations)
        labels["programme"].add(d, run.programmes)
        labels["broker"].add(b, names)
        labels["metric"].add(np.zeros(y.size, dtype=np.int32), [metric])
        cols["value"].append(values.astype(np.float64))
    return _table(cols, labels, run)


def write_outputs(run: CorridorsRun, out: Path) -> list[Path]:
    """Write ``flows.parquet`` and ``brokers.parquet`` into ``out``, each atomically."""
    out = Path(out)
    paths = [out / "flows.parquet", out / "brokers.parquet"]
    for path, table in zip(paths, (flows_table(run), brokers_table(run)), strict=True):
        atomic_write_table(path, table)
    return paths
