#!/usr/bin/env python
"""Rebuild tmpsim's packaged observed data from the shared data folder.

Usage: ``.venv/bin/python scripts/build_observed.py [SHARED_DATA_DIR]`` (default
``../shared/data`` next to the checkout, else ``/work/shared/data``). Writes
``src/tmpsim/data/observed/japan_titp.csv`` and, for the other hosts with packaged data,
``src/tmpsim/data/observed/hosts/hongkong/hongkong_fdh.csv``, in the long format
``date,indicator,origin,value,source``.
Every row keeps the source of the figure it comes from; rows computed here say so in ``source``.
What each indicator measures and its caveats are in ``MANIFEST.md`` next to the CSV.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "tmpsim" / "data" / "observed" / "japan_titp.csv"
HONGKONG_OUT = (
    ROOT / "src" / "tmpsim" / "data" / "observed" / "hosts" / "hongkong" / "hongkong_fdh.csv"
)
# Hong Kong's scenario origins and the shared file's columns; "Other" is the total less them.
HONGKONG_NAMED = {"Philippines": "philippines", "Indonesia": "indonesia", "India": "india"}
SINGAPORE_OUT = (
    ROOT / "src" / "tmpsim" / "data" / "observed" / "hosts" / "singapore" / "singapore_mdw.csv"
)
# Origins of the flagship scenario; every other nationality is summed into "Other".
NAMED = ["Vietnam", "China", "Indonesia", "Philippines", "Myanmar", "Cambodia", "Thailand"]
SURVEY_DATE = "2022-04-30"  # ISA fee survey, fieldwork 2021-12-10 to end of April 2022
STRANDED_DATE = "2021-01-21"  # Asahi Shimbun report cited by the essay (note 1)
ESSAY = (
    "essay: Takaya (2022), shared/seed/000_f117e920fd8533de.txt, citing Asahi Shimbun 2021-01-21"
)
# The same ISA tally half a year earlier (Asahi Shimbun 2020-08-03; not in the shared data).
ASAHI_2020 = "https://digital.asahi.com/articles/ASN825V32N81ULFA00X.html"
TOTAL_FILE = "titp_stock_japan_total.csv"
BRIDGE_FILE = "designated_activities_ssw_by_nationality.csv"
BRIDGE_BASE = "2019-12-31"  # the last count before the pandemic's special statuses
ALL_TITP = "技能実習 (all"  # entries of every stage (1号 and 3号 after the home visit)
NEW_ARRIVALS = "technical intern trainees (new arrivals)"  # nippon.com: every stage, as ALL_TITP


def period_end(text: str) -> str:
    """'2013年6月' -> '2013-06-30'; '2012年12月' -> '2012-12-31'."""
    m = re.fullmatch(r"(\d{4})年(\d{1,2})月", text.strip())
    if not m:
        raise ValueError(f"unexpected period {text!r}")
    return month_end(f"{int(m.group(1))}-{int(m.group(2)):02d}")


def month_end(as_of: str) -> str:
    """The last day of a month written YYYY-MM: '2013-12' -> '2013-12-31'."""
    return str((pd.Timestamp(f"{as_of}-01") + pd.offsets.MonthEnd(0)).date())


def cite(source: str, quote: object = None, note: object = None) -> str:
    """Build the source column: the figure's origin, with its quoted basis and note if any."""
    parts = [str(source).strip()]
    for extra in (quote, note):
        if isinstance(extra, str) and extra.strip():
            parts.append(extra.strip())
    return " | ".join(parts)


def stocks(data: Path) -> list[dict]:
    """Collect half-yearly TITP stocks, total and by nationality, 'Other' computed as the rest."""
    rows = []
    total = pd.read_csv(data / TOTAL_FILE)
    for r in total.itertuples():
        src = cite(r.source, None, r.note)
        rows.append(row(period_end(r.period), "titp_stock", "all", r.titp_total, src))
        # By stage (1号, 2号, 3号 = stages 1, 2, 3); 3号 exists from November 2017.
        for stage, value in (("1", r.titp_1_total), ("2", r.titp_2_total), ("3", r.titp_3_total)):
            if pd.notna(value):
                rows.append(
                    row(
                        period_end(r.period),
                        f"titp_stock_stage_{stage}",
                        "all",
                        value,
                        src + f" | column titp_{stage}_total",
                    )
                )
        if pd.notna(r.specified_skilled_1):
            col = " | column specified_skilled_1"
            rows.append(
                row(period_end(r.period), "ssw1_stock", "all", r.specified_skilled_1, src + col)
            )
    rows += designated_rise(total, "all", "designated_activities_tokutei_katsudo", TOTAL_FILE)
    nat = pd.read_csv(data / "titp_stock_by_nationality.csv")
    nat["date"] = nat["period"].map(period_end)
    for r in nat[nat.nationality_en.isin(NAMED)].itertuples():
        src = cite(r.source, None, r.note)
        rows.append(row(r.date, "titp_stock", r.nationality_en, r.titp_total, src))
    totals = dict(zip(total["period"].map(period_end), total["titp_total"], strict=True))
    named = nat[nat.nationality_en.isin(NAMED)].groupby("date")
    for date, grp in named:
        if len(grp) != len(NAMED) or date not in totals:
            continue
        other = totals[date] - grp["titp_total"].sum()
        src = (
            "computed: titp_stock_japan_total.csv titp_total minus the sum of "
            + "+".join(NAMED)
            + " in titp_stock_by_nationality.csv (e-Stat 在留外国人統計 table 01)"
        )
        rows.append(row(date, "titp_stock", "Other", other, src))
    return rows


def bridges(data: Path) -> list[dict]:
    """Specified Skilled Worker (i) holders and the rise of 特定活動 by nationality, 2019-12 on."""
    rows = []
    by_nat = pd.read_csv(data / BRIDGE_FILE)
    for origin, grp in by_nat[by_nat.nationality.isin(NAMED)].groupby("nationality", sort=True):
        for r in grp.itertuples():
            src = cite(r.source, None, r.note) + " | column specified_skilled_worker_1"
            rows.append(
                row(period_end(r.period), "ssw1_stock", origin, r.specified_skilled_worker_1, src)
            )
        rows += designated_rise(grp, origin, "designated_activities_tokutei_katsudo", BRIDGE_FILE)
    return rows


def designated_rise(table: pd.DataFrame, origin: str, column: str, file: str) -> list[dict]:
    """特定活動 holders above their number at the last count before the pandemic (computed)."""
    dates = table["period"].map(period_end)
    base = table.loc[dates == BRIDGE_BASE, column]
    if len(base) != 1:
        raise SystemExit(f"{file}: no single {BRIDGE_BASE} row of {column} for {origin}")
    rows = []
    for r, date in zip(table.itertuples(), dates, strict=True):
        if date <= BRIDGE_BASE:
            continue
        value = getattr(r, column) - base.iloc[0]
        src = (
            f"computed: {file} {column} on the date minus its value on {BRIDGE_BASE} "
            f"({int(base.iloc[0])}) | {cite(r.source, None, r.note)}"
        )
        rows.append(row(date, "designated_activities_rise", origin, value, src))
    return rows


def entries(data: Path) -> list[dict]:
    """Collect first-stage (1号) entries per calendar year, and 1号ロ where that is all there is."""
    rows = []
    annual = pd.read_csv(data / "titp_new_entries_annual.csv")
    calendar = annual[annual.period == "calendar year"]
    first_stage = {
        (y, "all")
        for y, c in zip(calendar.year, calendar.status_category, strict=True)
        if str(c).startswith("技能実習1号")
    }
    first_1go = set(calendar.year[calendar.status_category.str.split(" ").str[0] == "技能実習1号"])
    for r in annual.itertuples():
        cat, period = str(r.status_category), str(r.period)
        src = cite(r.source, r.quote_or_basis, r.note)
        if period == "calendar year" and cat.split(" ")[0] == "技能実習1号":
            rows.append(row(f"{r.year}-12-31", "new_entries_year", "all", r.new_entries, src))
        elif period == "calendar year" and cat == "技能実習1号ロ" and r.year not in first_1go:
            rows.append(row(f"{r.year}-12-31", "new_entries_year_1ro", "all", r.new_entries, src))
        elif period.startswith("Jan-Jun") and cat == "技能実習1号ロ":
            rows.append(row(f"{r.year}-06-30", "new_entries_half_1ro", "all", r.new_entries, src))
        elif (
            period == "calendar year"
            and cat.startswith(ALL_TITP)
            and (r.year, "all") not in first_stage
        ):
            rows.append(row(f"{r.year}-12-31", "new_entries_year_all", "all", r.new_entries, src))
    by_nat = pd.read_csv(data / "titp_new_entries_by_nationality.csv")
    by_nat = by_nat[by_nat.nationality.isin(NAMED)]
    nat_first = {
        (y, n)
        for y, n, c, p in zip(
            by_nat.year, by_nat.nationality, by_nat.status_category, by_nat.period, strict=True
        )
        if p == "calendar year" and str(c).startswith("技能実習1号")
    }
    for r in by_nat.itertuples():
        src = cite(r.source, r.quote_or_basis, r.note)
        nat, value = r.nationality, r.new_entries
        if r.period == "calendar year" and r.status_category == "技能実習1号":
            rows.append(row(f"{r.year}-12-31", "new_entries_year", nat, value, src))
        elif str(r.period).startswith("Jan-Jun") and r.status_category == "技能実習1号ロ":
            rows.append(row(f"{r.year}-06-30", "new_entries_half_1ro", nat, value, src))
        elif (
            r.period == "calendar year"
            and r.status_category == NEW_ARRIVALS
            and (r.year, nat) not in nat_first
        ):
            rows.append(row(f"{r.year}-12-31", "new_entries_year_all", nat, value, src))
    return rows


def missing(data: Path) -> list[dict]:
    """Collect trainees reported missing (失踪) per calendar year, total and by nationality."""
    rows = []
    cols = {
        "vietnam": "Vietnam",
        "china": "China",
        "myanmar": "Myanmar",
        "cambodia": "Cambodia",
        "indonesia": "Indonesia",
    }
    for r in pd.read_csv(data / "titp_runaways_annual.csv").itertuples():
        src = cite(r.source, r.quote_or_basis, r.note)
        rows.append(row(f"{r.year}-12-31", "missing_year", "all", r.missing_total, src))
        for col, origin in cols.items():
            value = getattr(r, col)
            if pd.notna(value):
                rows.append(row(f"{r.year}-12-31", "missing_year", origin, value, src))
    return rows


def survey(data: Path) -> list[dict]:
    """Collect fees paid and debt at departure (ISA survey 2022) among payers / borrowers."""
    rows = []
    wanted = {
        "mean total paid": "fee_paid",
        "mean total paid to sending org + brokers": "fee_paid",
        "mean debt": "debt_at_departure",
        "share with debt": "debt_share",
        "share with debt before departure": "debt_share",
        "share who paid sending organisation": "fee_paid_share",
        "share who paid sending organisation before departure": "fee_paid_share",
    }
    for r in pd.read_csv(data / "titp_predeparture_fees_debt.csv").itertuples():
        indicator = wanted.get(str(r.indicator))
        if indicator is None:
            continue
        nat = str(r.nationality)
        origin = "all" if nat.startswith("All") else nat
        if origin != "all" and origin not in NAMED:
            continue
        value = float(r.value) / 100 if r.unit == "%" else float(r.value)
        src = cite(r.source, r.quote_or_basis, r.note)
        rows.append(row(SURVEY_DATE, indicator, origin, value, src))
    return rows


def essay() -> list[dict]:
    """The essay's count of trainees unable to return a year into the pandemic, and the jobless."""
    quote = (
        "more than 36,000 technical intern trainees remained displaced in Japan "
        "and were unable to return"
    )
    # The headline of the article the essay cites (its note 1): of those, the unemployed.
    headline = "Technical Intern Trainees who cannot return, more than 1000 people are unemployed"
    return [
        row(STRANDED_DATE, "stranded", "all", 36000, cite(ESSAY, quote, "a lower bound")),
        row(
            STRANDED_DATE, "stranded_out_of_work", "all", 1000,
            cite(ESSAY + " (its headline, note 1)", headline, "a lower bound"),
        ),
    ]  # fmt: skip


def tally_2020() -> list[dict]:
    """The ISA tally of trainees unable to return on 2020-07-24, and in mid-June (derived)."""
    july = cite(
        ASAHI_2020,
        "同庁によると、7月24日時点で帰国困難なのは1万9600人",
        "Asahi Shimbun 2020-08-03 citing the ISA tally of trainees unable to return (帰国困難)",
    )
    june = cite(
        ASAHI_2020,
        "集計し始めた6月中旬から約6千人増えた",
        "derived: 19,600 on 2020-07-24 less the about 6,000 added since the tally began in "
        "mid-June; date and value approximate",
    )
    return [
        row("2020-06-15", "stranded", "all", 13600, june),
        row("2020-07-24", "stranded", "all", 19600, july),
    ]


def pandemic_tallies(data: Path) -> list[dict]:
    """The stranded tally of 2020-08-21 and the backlog awaiting entry (2021-10, 2022-01)."""
    wanted = {
        "technical trainees stranded in Japan": "stranded",
        "persons with certificate of eligibility not yet able to enter: total / technical intern": (
            "entry_backlog"
        ),
        "persons with approved status not yet entered: technical intern": "entry_backlog",
    }
    rows = []
    for r in pd.read_csv(data / "covid_stranded_dismissed.csv").itertuples():
        indicator = wanted.get(str(r.indicator))
        if indicator is None:
            continue
        src = cite(
            r.source, r.quote_or_basis, f"{r.unit}; {r.note}" if pd.notna(r.note) else r.unit
        )
        rows.append(row(str(r.date), indicator, "all", r.value, src))
    return rows


def row(date: str, indicator: str, origin: str, value: float, source: str) -> dict:
    """Make one row of the long format."""
    return {
        "date": date,
        "indicator": indicator,
        "origin": origin,
        "value": value,
        "source": source,
    }


def build(data: Path) -> pd.DataFrame:
    """Collect every packaged observation, sorted."""
    rows = (
        stocks(data)
        + bridges(data)
        + entries(data)
        + missing(data)
        + survey(data)
        + essay()
        + tally_2020()
        + pandemic_tallies(data)
    )
    df = pd.DataFrame(rows)
    df["value"] = df["value"].astype(float)
    dup = df.duplicated(["date", "indicator", "origin"], keep=False)
    if dup.any():
        raise SystemExit(f"duplicate observations:\n{df[dup]}")
    return df.sort_values(["indicator", "origin", "date"], ignore_index=True)


def hongkong(data: Path) -> pd.DataFrame:
    """Hong Kong's helpers (programme_stock) on each counted date: total, named, and the rest."""
    rows = []
    for r in pd.read_csv(data / "hongkong_fdh.csv").itertuples():
        source = cite(r.source, r.quote_or_basis, r.note)
        date = str(pd.Timestamp(r.as_of).date())
        values = {o: getattr(r, c) for o, c in HONGKONG_NAMED.items() if pd.notna(getattr(r, c))}
        for origin, value in values.items():
            rows.append(row(date, "programme_stock", origin, float(value), source))
        if pd.notna(r.total):
            rows.append(row(date, "programme_stock", "all", float(r.total), source))
            if len(values) == len(HONGKONG_NAMED):
                rest = float(r.total) - sum(float(v) for v in values.values())
                rows.append(
                    row(
                        date,
                        "programme_stock",
                        "Other",
                        rest,
                        f"computed: total less named | {source}",
                    )
                )
    df = pd.DataFrame(rows)
    return df.sort_values(["indicator", "origin", "date"], ignore_index=True)


def singapore(data: Path) -> pd.DataFrame:
    """Singapore's migrant domestic workers (the ``mdw`` segment's stock) on each counted date.

    Counted directly, or derived in the shared file's note from the foreign workforce with and
    without them ("MDW 231,500 (derived)").
    """
    rows = []
    for r in pd.read_csv(data / "singapore_work_permit_mdw.csv", dtype=str).itertuples():
        if "domestic workers" in r.indicator and "per month" not in r.indicator:
            value = float(r.value.replace(",", ""))
        else:
            derived = re.search(r"MDW ([\d,]+) \(derived\)", str(r.note))
            if derived is None:
                continue
            value = float(derived.group(1).replace(",", ""))
        if not re.fullmatch(r"\d{4}-\d{2}", r.as_of):
            continue
        source = cite(r.source, r.quote_or_basis, r.note)
        rows.append(row(month_end(r.as_of), "programme_stock_segment_mdw", "all", value, source))
    return pd.DataFrame(rows).sort_values("date", ignore_index=True)


def main() -> None:
    """Build the CSVs from the shared data folder given on the command line (or the default)."""
    default = ROOT.parent / "shared" / "data"
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    if not data.is_dir():
        data = Path("/work/shared/data")
    df = build(data)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(OUT, index=False, float_format="%.10g")
    print(f"{OUT}: {len(df)} observations, {df.indicator.nunique()} indicators")
    hk = hongkong(data)
    HONGKONG_OUT.parent.mkdir(parents=True, exist_ok=True)
    hk.to_csv(HONGKONG_OUT, index=False, float_format="%.10g")
    print(f"{HONGKONG_OUT}: {len(hk)} observations")
    sg = singapore(data)
    SINGAPORE_OUT.parent.mkdir(parents=True, exist_ok=True)
    sg.to_csv(SINGAPORE_OUT, index=False, float_format="%.10g")
    print(f"{SINGAPORE_OUT}: {len(sg)} observations")


if __name__ == "__main__":
    main()
