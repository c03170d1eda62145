"""The earnings gap in a person's own terms, a feature of the route choice (``routes``).

A year's net pay in the host, converted to US dollars at the year's exchange rate of the host's
currency, over GDP per capita of the person's country in US dollars that year, as a log and
minus a reference (:class:`tmpsim.scenario.routes_schema.EarningsGap`). Both series are the
sourced ones of ``tmpsim/data/origins`` (``origin_inputs``); a year outside them takes the
nearest year's value. Two more years in the host are worth less to someone whose home income
has risen, or whose host currency has fallen, than to someone from a poorer country.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tmpsim.model.origin_inputs import fx_per_usd, gdp_per_capita_usd, known_countries

if TYPE_CHECKING:  # the scenario package imports this module to validate the section
    from tmpsim.scenario.routes_schema import EarningsGap


def countries_of(spec: EarningsGap, origins: list[str]) -> list[str | None]:
    """Each origin's country in the GDP series (None: no series), checked against the data.

    An origin is its own country unless ``countries`` maps it; a country without a series is
    an error naming the file and the countries it has.
    """
    unknown = sorted(set(spec.countries) - set(origins))
    if unknown:
        raise ValueError(
            f"routes.earnings_gap.countries: {unknown[0]!r} is not an origin ({', '.join(origins)})"
        )
    known = known_countries()
    out = [spec.countries.get(o, o) for o in origins]
    for origin, country in zip(origins, out, strict=True):
        if country is not None and country not in known:
            via = "" if country == origin else f" (countries: {origin}: {country})"
            raise ValueError(
                f"routes.earnings_gap: origin {origin!r}{via} has no series in "
                f"tmpsim/data/origins/gdp_per_capita.csv (countries: {', '.join(sorted(known))}); "
                f"map it under routes.earnings_gap.countries, or to null for no series"
            )
    return out


def earnings_gap_table(
    spec: EarningsGap,
    origins: list[str],
    currency: str,
    net_pay_per_month: float,
    years: np.ndarray,
) -> np.ndarray:
    """The feature of each origin in each of ``years``: float [origin, year].

    ``log(12 · net_pay_per_month / host per USD / GDP per capita in USD) − reference``, averaged
    over the ``expectation_years`` up to each year (the gap the person has known: adaptive
    expectations); an origin without a series (``countries: {origin: null}``) is at the
    reference (zero).
    """
    years = np.asarray(years, dtype=np.int64)
    n = spec.expectation_years
    known = np.arange(years.min() - n + 1, years.max() + 1) if years.size else years
    pay_usd = 12.0 * net_pay_per_month / fx_per_usd(currency, known)
    at = np.searchsorted(known, years)  # each year's column in ``known``
    out = np.zeros((len(origins), years.size))
    for k, country in enumerate(countries_of(spec, origins)):
        if country is not None:
            ratio = np.log(pay_usd / gdp_per_capita_usd(country, known))
            window = np.cumsum(np.concatenate(([0.0], ratio)))
            out[k] = (window[at + 1] - window[at + 1 - n]) / n - spec.reference
    return out
