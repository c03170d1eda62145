"""A toy sending market for the origins tests: one origin, one broker, destinations X and Y.

The origin has Vietnam's sourced GDP per capita; destinations pay in US dollars, so the exchange
rate is 1, and wages are set so that a contract earns exactly 3 years of GDP per capita: each
open destination then has weight 3 against staying home's 1 in the logit.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from tmpsim.model.origin_inputs import gdp_per_capita_usd
from tmpsim.model.sending_market import SendingMarket
from tmpsim.scenario.origins_schema import OriginsConfig
from tmpsim.scenario.paths import set_path

GDP_2019 = float(gdp_per_capita_usd("Vietnam", np.array([2019]))[0])
WAGE = 3 * GDP_2019 / (36 * 0.5)  # net earnings of a contract = 3 × GDP per capita


def toy_destination() -> dict:
    """A destination of the toys: 100 seats a month, a contract worth 3 × GDP per capita."""
    return {
        "programme": "p",
        "currency": "USD",
        "wage_per_month": {2019: WAGE},
        "contract_months": 36,
        "living_cost_share": 0.5,
        "demand_per_year": {2019: 1200},
    }


def toy(**over) -> dict:
    """One origin, one broker, destinations X and Y with 100 seats a month each."""
    cfg = {
        "origins": {
            "A": {
                "country": "Vietnam",
                "currency": "VND",
                "population": 8400,
                "entry_share_per_year": 1.0,  # 700 entrants a month
                "reference_year": 2019,
                "attractiveness_elasticity": 0.0,
                "patience_months": 1e9,  # nobody gives up in these cases
            }
        },
        "destinations": {"X": toy_destination(), "Y": toy_destination()},
        "brokers": {
            "per_origin": 1,
            "capacity_per_month": 1e6,
            "capacity_cv": 0.0,
            "base_fee": {"A": {"X": 1000.0, "Y": 1000.0}},
            "fee_cv": 0.0,
            "interest_per_year": 0.0,
        },
        "choice": {"earnings": 1.0, "fee": 0.0, "network": 0.0, "seat": 1.0},
        "stochastic": False,
    }
    for key, value in over.items():
        set_path(cfg, key, value)
    return cfg


def run(cfg: dict, months: list[dt.date]) -> tuple[SendingMarket, list]:
    market = SendingMarket(OriginsConfig.model_validate(cfg), 2019, 2020)
    return market, [market.step(m) for m in months]


JAN, FEB, MAR = dt.date(2019, 1, 31), dt.date(2019, 2, 28), dt.date(2019, 3, 31)
