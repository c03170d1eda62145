"""The stock metrics grouped beyond origin: by sector and segment (every day), stage (month ends).

A tidy table with one row per (date, metric, origin, sector, stage, segment): the grouping columns
say which group a row counts, ``"all"`` where it is not split that way. Each row is split one way
at most. Rows by stage are on month ends, for the metrics whose states still move (pipeline and
host: a stage means nothing once an agent has left); rows by segment are there only in
programmes with segments (``tmpsim.model.segments``). Values are scaled
to the full population, as in the series. The sums over sectors, over stages and over segments
are the series' figures (``tests/test_grouping.py``, ``tests/test_segments.py``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from tmpsim.arrow import arrow_array, arrow_strings
from tmpsim.states import STOCK_METRICS, State

ALL = "all"
LABEL = pa.dictionary(pa.int32(), pa.string())  # few distinct labels, many rows
GROUPS_SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("metric", LABEL),
        ("origin", LABEL),
        ("sector", LABEL),
        ("stage", LABEL),
        ("segment", LABEL),
        ("value", pa.float64()),
    ]
)
# States in which agents are still in the pipeline or the host (counted by stage at month ends).
MOVING = frozenset(s for s in State if s <= State.HOME_VISIT)


def _with_all(by_origin: np.ndarray) -> np.ndarray:
    """Append the sum over origins (axis 1) as one more origin, ``"all"``."""
    return np.concatenate([by_origin, by_origin.sum(axis=1, keepdims=True)], axis=1)


def _strings(values: np.ndarray, names: list[str]) -> pa.Array:
    codes = arrow_array(np.asarray(values, dtype=np.int32), pa.int32())
    return pa.DictionaryArray.from_arrays(codes, arrow_strings(names))


def _codes(shape: tuple[int, ...], axis: int, values: np.ndarray | None = None) -> np.ndarray:
    """The index along ``axis`` of each element of an array of ``shape``, in C order (int32).

    Built by repeating and tiling, without the int64 index arrays ``np.indices`` would make.
    With ``values``, ``values[index]`` instead (one int32 per index along ``axis``).
    """
    inner = int(np.prod(shape[axis + 1 :], dtype=np.int64))
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    along = np.arange(shape[axis], dtype=np.int32) if values is None else values.astype(np.int32)
    return np.tile(np.repeat(along, inner), outer)


def _daily(stocks: np.ndarray, metrics: list[str]) -> np.ndarray:
    """``cube[day, metric, origin (+all), group]`` from daily stocks [day, state, origin, group].

    The sums are written into the cube in place (no per-metric arrays stacked afterwards);
    counts are summed in int64, as ``sum`` does for int32.
    """
    n_days, _, n_origins, n_groups = stocks.shape
    cube = np.empty((n_days, len(metrics), n_origins + 1, n_groups), dtype=np.int64)
    for j, m in enumerate(metrics):
        part = cube[:, j, :-1]
        stocks[:, [int(s) for s in STOCK_METRICS[m]]].sum(axis=1, dtype=np.int64, out=part)
        part.sum(axis=1, out=cube[:, j, -1])
    return cube


def _by_month_end(
    per_end: dict[int, np.ndarray], metrics: list[str], n_origins: int, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Month-end days and ``cube[end, metric, origin (+all), group]``.

    ``per_end`` holds the counts by [state, group, origin] of each month end.
    """
    ends = np.array(sorted(per_end), dtype=np.int64)
    if not ends.size:
        return ends, np.zeros((0, len(metrics), n_origins + 1, n_groups))
    stacked = np.stack([per_end[int(d)] for d in ends])  # [end, state, group, origin]
    cube = np.stack(
        [
            _with_all(stacked[:, [int(s) for s in STOCK_METRICS[m]]].sum(axis=1).transpose(0, 2, 1))
            for m in metrics
        ],
        axis=1,
    )
    return ends, cube


def group_table(sim) -> pa.Table:
    """The stock metrics of a finished run by sector and segment (daily) and stage (month ends)."""
    rec = sim.recorder
    day0 = (sim.scenario.start - dt.date(1970, 1, 1)).days
    by_sector = sorted(STOCK_METRICS)
    by_stage = sorted(m for m, states in STOCK_METRICS.items() if set(states) <= MOVING)
    days = np.arange(sim.n_days)
    # Each part: the column it splits, its metrics, days and cube [day, metric, origin, group].
    parts = [("sector", by_sector, days, _daily(rec.sector_stocks, by_sector))]
    n_stages = len(sim.stage_names)
    ends, stage_cube = _by_month_end(rec.stage_by_state, by_stage, sim.n_origins, n_stages)
    parts.append(("stage", by_stage, ends, stage_cube))
    segmented = rec.n_segments > 1
    if segmented:
        parts.append(("segment", by_sector, days, _daily(rec.segment_stocks, by_sector)))
    names = {
        "origin": [*sim.origins, ALL],
        "sector": [*sim.sectors, ALL],
        "stage": [*sim.stage_names, ALL],
        "segment": [*sim.segments, ALL] if segmented else [ALL],
    }
    metrics = sorted({m for _, part_metrics, _, _ in parts for m in part_metrics})
    code = {m: i for i, m in enumerate(metrics)}
    # One table per part, column by column in the smallest types (int32 codes), joined as
    # chunks: no concatenated copy of the whole table's columns.
    tables = []
    for split, part_metrics, days, cube in parts:
        shape = cube.shape
        n = cube.size
        date = np.repeat((days + day0).astype(np.int32), n // max(shape[0], 1))
        metric = _codes(shape, 1, np.array([code[m] for m in part_metrics]))
        columns = [
            arrow_array(date, pa.date32()),
            _strings(metric, metrics),
            _strings(_codes(shape, 2), names["origin"]),
        ]
        for column in ("sector", "stage", "segment"):
            labels = names[column]
            if column == split:
                columns.append(_strings(_codes(shape, 3), labels))
            else:
                columns.append(_strings(np.full(n, len(labels) - 1, np.int32), labels))
        value = cube.reshape(-1).astype(np.float64) / sim.scale
        columns.append(arrow_array(value, pa.float64()))
        tables.append(pa.Table.from_arrays(columns, schema=GROUPS_SCHEMA))
    return pa.concat_tables(tables)
