"""Origin pools: how many people in each sending country set out to go abroad, and why.

Per origin (struct of arrays, one slot per origin), people enter the pool each month at

    population · entry_share / 12 · exp(elasticity · (IV − IV_ref)) · (1 + abroad / scale) ** ε_net
    · (1 − banned share)

where IV is the inclusive value of the destination choice (``destination_choice``): it rises with
the wage gap in the origin's own terms (destination wage converted at the year's exchange rates,
over GDP per capita), falls with expected fees, rises with the networks already abroad, and
falls when destinations close. ``abroad`` is the stock of people from the origin abroad — a stock
the simulation knows. Dated events at home ban a share from leaving or make staying costly.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from tmpsim.model.origin_inputs import fx_per_usd, gdp_per_capita_usd, rural_income_usd
from tmpsim.scenario.origins_schema import OriginsConfig


class OriginPools:
    """Pool parameters and state of every origin, one array slot per origin."""

    def __init__(self, cfg: OriginsConfig, years: np.ndarray) -> None:
        self.names = list(cfg.origins)
        p = list(cfg.origins.values())
        self.cfg = cfg
        self.years = np.asarray(years, dtype=np.int64)
        self.population = np.array([o.population for o in p])
        self.entry_share = np.array([o.entry_share_per_year for o in p])
        self.elasticity = np.array([o.attractiveness_elasticity for o in p])
        self.net_elasticity = np.array([o.network_elasticity for o in p])
        self.net_scale = np.array([o.network_scale for o in p])
        self.savings_months = np.array([o.savings_months for o in p])
        self.patience = np.array([o.patience_months for o in p])
        self.switch = np.array([o.switch_months for o in p])
        self.reference_year = np.array([o.reference_year for o in p])
        # GDP per capita (US dollars), [origin, year of ``years``].
        items = list(cfg.origins.items())
        self.gdp = np.array([gdp_per_capita_usd(o.country or n, self.years) for n, o in items])
        for _, o in items:  # each origin's currency has its series (an error names it if not),
            fx_per_usd(o.currency, self.years)  # though the wage gap is the same ratio in dollars
        # What savings are months of (US dollars a year), [origin, year of ``years``].
        self.savings_base = np.array(
            [
                rural_income_usd(o.country or n, self.years)
                if o.savings_base == "rural_income"
                else self.gdp[k]
                for k, (n, o) in enumerate(items)
            ]
        )
        self.carry = np.zeros(len(p))  # fractional entries kept for the next month (exact mode)

    def gdp_in(self, year: int) -> np.ndarray:
        """GDP per capita (US dollars) of every origin in ``year`` (nearest year of the run)."""
        return self.gdp[:, _year_index(self.years, year)]

    def savings_in(self, year: int) -> np.ndarray:
        """Savings of a recruit (US dollars) of every origin in ``year``."""
        return self.savings_months * self.savings_base[:, _year_index(self.years, year)] / 12.0

    def stops_on(self, when: dt.date) -> tuple[np.ndarray, np.ndarray]:
        """Share of ready recruits who can leave, and of returns that can travel, per origin.

        Windows in force together multiply (a permit stop and a flight stop).
        """
        n = len(self.names)
        depart, back = np.ones(n), np.ones(n)
        for i, o in enumerate(self.cfg.origins.values()):
            for s in o.stops:  # a few dated windows per origin
                if s.date <= when and (s.end is None or when < s.end):
                    depart[i] *= s.departures_share
                    back[i] *= s.returns_share
        return depart, back

    def home_events(self, when: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Banned share, share with a stay penalty, and the penalty, per origin, on ``when``."""
        n = len(self.names)
        banned, penalised, penalty = np.zeros(n), np.zeros(n), np.zeros(n)
        for i, o in enumerate(self.cfg.origins.values()):
            for ev in o.events:  # a handful of dated events per origin, not agents
                if ev.date <= when and (ev.end is None or when < ev.end):
                    if ev.type == "exit_ban":
                        banned[i] = 1 - (1 - banned[i]) * (1 - ev.share)
                    else:
                        penalised[i], penalty[i] = ev.share, ev.utility
        return banned, penalised, penalty

    def expected_entries(
        self, iv: np.ndarray, iv_ref: np.ndarray, abroad: np.ndarray, banned: np.ndarray
    ) -> np.ndarray:
        """Expected people entering each origin's pool in one month."""
        return entries_per_month(
            self.population,
            self.entry_share,
            self.elasticity * (iv - iv_ref),
            network_factor(abroad, self.net_scale, self.net_elasticity),
            banned,
        )

    def draw_entries(self, expected: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """Whole people from expected entries: Poisson draws, or exact with a carried remainder."""
        if rng is not None:
            return rng.poisson(expected)
        total = expected + self.carry
        whole = np.floor(total + 1e-9)
        self.carry = total - whole
        return whole.astype(np.int64)


def network_factor(abroad: np.ndarray, scale: np.ndarray, elasticity: np.ndarray) -> np.ndarray:
    """``(1 + abroad / scale) ** elasticity``: people who went before draw others after them."""
    return (1.0 + np.maximum(abroad, 0.0) / scale) ** elasticity


def entries_per_month(
    population: np.ndarray,
    entry_share_per_year: np.ndarray,
    attractiveness: np.ndarray,
    network: np.ndarray,
    banned: np.ndarray,
) -> np.ndarray:
    """Expected monthly entries into the pool (``attractiveness`` is elasticity · ΔIV)."""
    return (
        population * entry_share_per_year / 12.0 * np.exp(attractiveness) * network * (1 - banned)
    )


def earnings_ratio(
    wage_dest: np.ndarray,
    fx_dest: np.ndarray,
    contract_months: np.ndarray,
    living_cost_share: np.ndarray,
    gdp_origin_usd: np.ndarray,
) -> np.ndarray:
    """Net earnings of a contract abroad over a year's GDP per capita at home, ``[origin, dest]``.

    The destination wage is converted at the year's rate (its currency per US dollar) and compared
    with GDP per capita in US dollars: the same ratio as both in the origin's own currency, so a
    falling yen or a rising home income lowers it.
    """
    net_usd = wage_dest / fx_dest * contract_months * (1 - living_cost_share)
    return net_usd[None, :] / gdp_origin_usd[:, None]


def _year_index(years: np.ndarray, year: int) -> int:
    return int(np.clip(np.searchsorted(years, year), 0, years.size - 1))
