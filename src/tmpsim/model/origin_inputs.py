"""The sourced yearly series the sending side reads: exchange rates and GDP per capita.

Both live in ``tmpsim/data/origins/`` with their sources (see its MANIFEST.md). A year outside a
series takes the nearest year's value; an unknown currency or country is an error naming the
file and the valid names.
"""

from __future__ import annotations

import csv
import functools
from importlib import resources

import numpy as np

DATA = "data/origins"


@functools.cache
def _table(name: str, key: str, value: str) -> dict[str, dict[int, float]]:
    """``{key: {year: value}}`` from one CSV of the origins data."""
    text = (resources.files("tmpsim") / DATA / name).read_text("utf-8")
    out: dict[str, dict[int, float]] = {}
    for row in csv.DictReader(text.splitlines()):
        out.setdefault(row[key], {})[int(row["year"])] = float(row[value])
    return out


def _lookup(
    name: str, table: dict[str, dict[int, float]], key: str, years: np.ndarray
) -> np.ndarray:
    if key not in table:
        raise KeyError(f"{DATA}/{name}: no series for {key!r}; known: {', '.join(sorted(table))}")
    series = table[key]
    known = np.array(sorted(series))
    clipped = np.clip(np.asarray(years, dtype=np.int64), known[0], known[-1])
    return np.array([series[int(y)] for y in clipped], dtype=np.float64)


def sourced_years() -> tuple[int, int]:
    """The years every exchange-rate and GDP series covers (outside them, values are held)."""
    spans = [
        (min(series), max(series))
        for table in (
            _table("exchange_rates.csv", "currency", "per_usd"),
            _table("gdp_per_capita.csv", "country", "gdp_per_capita_usd"),
        )
        for series in table.values()
    ]
    return max(first for first, _ in spans), min(last for _, last in spans)


def fx_per_usd(currency: str, years: np.ndarray) -> np.ndarray:
    """Units of ``currency`` per US dollar in each of ``years`` (USD is 1)."""
    if currency == "USD":
        return np.ones(np.shape(years))
    name = "exchange_rates.csv"
    return _lookup(name, _table(name, "currency", "per_usd"), currency, years)


def known_countries() -> set[str]:
    """The countries with a GDP per capita series."""
    return set(_table("gdp_per_capita.csv", "country", "gdp_per_capita_usd"))


def gdp_per_capita_usd(country: str, years: np.ndarray) -> np.ndarray:
    """GDP per capita in current US dollars of ``country`` in each of ``years``."""
    name = "gdp_per_capita.csv"
    return _lookup(name, _table(name, "country", "gdp_per_capita_usd"), country, years)


@functools.cache
def _rural_table() -> dict[str, tuple[str, dict[int, float]]]:
    """``{country: (currency, {year: income a year per person})}`` of ``rural_income.csv``.

    Rows with no value (``not found``) name the country without a series.
    """
    text = (resources.files("tmpsim") / DATA / "rural_income.csv").read_text("utf-8")
    out: dict[str, tuple[str, dict[int, float]]] = {}
    for row in csv.DictReader(text.splitlines()):
        if not row["year"]:
            continue
        _, series = out.setdefault(row["country"], (row["currency"], {}))
        series[int(row["year"])] = float(row["income_per_year"])
    return out


def rural_income_usd(country: str, years: np.ndarray) -> np.ndarray:
    """Rural income per person a year (US dollars) of ``country`` in each of ``years``.

    Linear between the sourced years in the country's own currency (the nearest year outside
    them), converted at each year's exchange rate.
    """
    table = _rural_table()
    if country not in table:
        raise KeyError(
            f"{DATA}/rural_income.csv: no series for {country!r}; known: {', '.join(sorted(table))}"
        )
    currency, series = table[country]
    known = np.array(sorted(series), dtype=float)
    years = np.asarray(years, dtype=np.int64)
    own = np.interp(years.astype(float), known, [series[int(y)] for y in known])
    return own / fx_per_usd(currency, years)
