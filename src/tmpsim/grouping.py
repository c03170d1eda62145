"""The stock metrics grouped beyond origin: by sector (every day) and by stage (month ends).

A tidy table with one row per (date, metric, origin, sector, stage): the grouping columns say
which group a row counts, ``"all"`` where it is not split that way. Rows by sector have stage
``"all"``; rows by stage have sector ``"all"`` and are on month ends, for the metrics whose states
still move (pipeline and host: a stage means nothing once an agent has left). Values are scaled to
the full population, as in the series. The sums over sectors, and over stages, are the series'
figures (``tests/test_grouping.py``).
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


def _rows(cube: np.ndarray, days: np.ndarray, day0: int) -> dict[str, np.ndarray]:
    """Codes and values of ``cube[day, metric, origin, group]`` in row order."""
    idx = np.indices(cube.shape).reshape(4, -1)
    return {
        "date": (days[idx[0]] + day0).astype(np.int32),
        "metric": idx[1],
        "origin": idx[2],
        "group": idx[3],
        "value": cube.reshape(-1),
    }


def group_table(sim) -> pa.Table:
    """The stock metrics of a finished run by sector (daily) and by stage (month ends)."""
    rec = sim.recorder
    origins = [*sim.origins, ALL]
    day0 = (sim.scenario.start - dt.date(1970, 1, 1)).days
    by_sector_names = sorted(STOCK_METRICS)
    by_stage_names = sorted(m for m, states in STOCK_METRICS.items() if set(states) <= MOVING)
    # [day, metric, origin, sector]
    sector = np.stack(
        [
            _with_all(rec.sector_stocks[:, [int(s) for s in STOCK_METRICS[m]]].sum(axis=1))
            for m in by_sector_names
        ],
        axis=1,
    )
    ends = np.array(sorted(rec.stage_by_state), dtype=np.int64)
    stages = sim.stage_names
    if ends.size:
        per_end = np.stack([rec.stage_by_state[int(d)] for d in ends])  # [end, state, stage, o]
        stage = np.stack(
            [
                _with_all(
                    per_end[:, [int(s) for s in STOCK_METRICS[m]]].sum(axis=1).transpose(0, 2, 1)
                )
                for m in by_stage_names
            ],
            axis=1,
        )  # [end, metric, origin, stage]
    else:
        stage = np.zeros((0, len(by_stage_names), len(origins), len(stages)))
    a = _rows(sector, np.arange(sim.n_days), day0)
    b = _rows(stage, ends, day0)
    metrics = sorted({*by_sector_names, *by_stage_names})
    code = {m: i for i, m in enumerate(metrics)}
    remap_a = np.array([code[m] for m in by_sector_names])
    remap_b = np.array([code[m] for m in by_stage_names], dtype=np.int64)
    sectors = [*sim.sectors, ALL]
    stage_names = [*stages, ALL]
    n_a, n_b = a["value"].size, b["value"].size
    columns = [
        arrow_array(np.concatenate([a["date"], b["date"]]).astype(np.int32), pa.date32()),
        _strings(np.concatenate([remap_a[a["metric"]], remap_b[b["metric"]]]), metrics),
        _strings(np.concatenate([a["origin"], b["origin"]]), origins),
        _strings(np.concatenate([a["group"], np.full(n_b, len(sim.sectors))]), sectors),
        _strings(np.concatenate([np.full(n_a, len(stages)), b["group"]]), stage_names),
        arrow_array(
            np.concatenate([a["value"], b["value"]]).astype(np.float64) / sim.scale, pa.float64()
        ),
    ]
    return pa.Table.from_arrays(columns, schema=GROUPS_SCHEMA)
