"""Year-end error of a run's TITP stock by nationality and stage against e-Stat.

Usage: python scripts/nationality_stage_errors.py RUN_FOLDER [OBSERVED_CSV]

Prints, for each of the five largest nationalities, the percentage error of the ensemble mean
stock at each year-end 2017-2022, in total and by stage (1号, 2号, 3号). It says whether a
nationality's miss comes from its entries (stage 1) or from how long its people stay (stages
2 and 3), which decides what kind of mechanism can fix it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ORIGINS = ("Vietnam", "China", "Indonesia", "Philippines", "Myanmar")
METRICS = {
    "programme_stock": "titp_total",
    "programme_stock_stage_1": "titp_1_total",
    "programme_stock_stage_2": "titp_2_total",
    "programme_stock_stage_3": "titp_3_total",
}
DEFAULT_OBSERVED = Path("/work/shared/data/titp_stock_by_nationality.csv")


def stage_errors(run: Path, observed_csv: Path) -> pd.DataFrame:
    """Percentage error by metric, origin and year-end (rows: metric/origin, columns: year)."""
    bands = pd.read_parquet(run / "summary" / "series_bands.parquet")
    observed = pd.read_csv(observed_csv)
    observed = observed[observed["period"].str.contains("12月")].copy()
    observed["year"] = observed["period"].str[:4].astype(int)
    year_end = bands[(bands["date"].dt.month == 12) & (bands["date"].dt.day == 31)].copy()
    year_end["year"] = year_end["date"].dt.year
    rows = []
    for metric, column in METRICS.items():
        simulated = year_end[year_end["metric"] == metric]
        joined = simulated.merge(
            observed[["year", "nationality_en", column]],
            left_on=["year", "origin"],
            right_on=["year", "nationality_en"],
        )
        joined = joined[joined["origin"].isin(ORIGINS) & joined["year"].between(2017, 2022)]
        joined["error_pct"] = (joined["mean"] / joined[column] - 1.0) * 100.0
        joined["metric"] = metric
        rows.append(joined[["metric", "origin", "year", "error_pct"]])
    table = pd.concat(rows)
    return table.pivot_table(index=["metric", "origin"], columns="year", values="error_pct")


def main() -> None:
    """Print the table for the run folder given on the command line."""
    run = Path(sys.argv[1])
    observed = Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_OBSERVED
    with pd.option_context("display.float_format", "{:+.0f}".format, "display.width", 120):
        print(stage_errors(run, observed))


if __name__ == "__main__":
    main()
