"""Month-end stock by stage adds up to the programme's stock, by origin."""

from __future__ import annotations

import numpy as np

import tmpsim


def test_stage_stocks_sum_to_programme_stock_at_month_ends() -> None:
    series = tmpsim.run("japan-titp-covid", seed=4, scale=0.003, agents=False).series
    stages = series[series.metric.str.startswith("programme_stock_stage_")]
    assert set(stages.metric) == {
        "programme_stock_stage_1",
        "programme_stock_stage_2",
        "programme_stock_stage_3",
    }
    by_stage = stages.groupby(["date", "origin"]).value.sum()
    total = series[series.metric == "programme_stock"].set_index(["date", "origin"]).value
    month_ends = total.loc[by_stage.index]
    assert len(by_stage) == 108 * (8 + 1)  # 108 month ends 2017-01..2025-12, 8 origins and "all"
    np.testing.assert_allclose(by_stage.to_numpy(), month_ends.to_numpy(), rtol=1e-12)
    # Stage 3 exists only from November 2017 on.
    early = stages[
        (stages.metric == "programme_stock_stage_3") & (stages.date.astype(str) < "2017-11")
    ]
    assert (early.value == 0).all()
