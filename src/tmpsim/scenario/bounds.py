"""Number types with finite, plausible bounds, and the strict base model of every scenario section.

Every number in a scenario has a type from this module, so that a value no programme could have
(a stock of 1e15 people, an infinite wage, a stage of a billion months) is refused when the file is
read, with its key path, instead of running into an overflow or a silently wrong result. The
bounds are deliberately wide: they catch typos and abuse, not unusual programmes.

Values are strict: a number must be written as a number (``grace_days: "60"`` and
``wage_per_month: true`` are refused), a yes/no as ``true``/``false``; NaN and infinity are refused
everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from typing import Annotated, Any, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

MAX_PEOPLE = 1e8
"""Most people in any count (a stock, a year's demand, shelter places): more than any programme."""
MAX_SEATS_PER_DAY = 1e7
"""Most seats (or entries) per day on a corridor."""
MAX_MONEY = 1e13
"""Largest amount of money in the host currency (fees, wages, budgets)."""
MAX_RATE_PER_YEAR = 1e6
"""Largest hazard rate per year: a million a year is "within the day" (used to force an event)."""
MAX_FACTOR = 1e6
"""Largest multiplier, weight or elasticity (a million makes a hazard certain within the day)."""
MAX_HAZARD_MULTIPLIER = 1e15
"""Largest multiplier of a hazard in a dated window: huge values make an event certain there
(with a negligible base rate outside it); rates stay far from overflow."""
MAX_DAYS = 36_525
"""Longest span in days (a century)."""
MAX_MONTHS = 1200.0
"""Longest span in months (a century)."""
MAX_YEARS = 100.0
"""Longest span in years."""
MAX_COUNT = 1000
"""Most repetitions of a rule (renewals)."""
FIRST_YEAR, LAST_YEAR = 1900, 2200
"""Dates and years must fall in this range."""
MIN_SCALE = 1e-4
"""Smallest fraction of people a run may simulate (``--scale``; the server's lower limit too)."""
MAX_SCALE = 100.0
"""Largest fraction of people a run may simulate."""
MAX_SEED = 2**63 - 1
"""Largest random seed (seeds are whole numbers from 0)."""
MAX_SEEDS = 10_000
"""Most replicates of one scenario (``--seeds``, an experiment's ``seeds``)."""
MAX_ORIGINS = 127
"""Most origins in one scenario (agents store their origin in one signed byte)."""


def run_option_problem(
    seed: float | None = None,
    scale: float | None = None,
    seeds: float | None = None,
    workers: float | None = None,
) -> str | None:
    """What is wrong with run options given on a command line (or None), naming the option."""
    if seed is not None and not 0 <= seed <= MAX_SEED:
        return f"--seed must be a whole number from 0 to {MAX_SEED}, got {seed}"
    if scale is not None and not MIN_SCALE <= scale <= MAX_SCALE:
        return f"--scale must be between {MIN_SCALE:g} and {MAX_SCALE:g}, got {scale:g}"
    if seeds is not None and not 1 <= seeds <= MAX_SEEDS:
        return f"--seeds must be from 1 to {MAX_SEEDS:,}, got {seeds}"
    if workers is not None and workers < 0:
        return f"--workers must be 0 (run in this process) or more, got {workers}"
    return None


def _plausible_date(d: dt.date) -> dt.date:
    if not FIRST_YEAR <= d.year <= LAST_YEAR:
        raise ValueError(f"{d} is not a plausible date (years {FIRST_YEAR}..{LAST_YEAR})")
    return d


def _plausible_year(y: int) -> int:
    if not FIRST_YEAR <= y <= LAST_YEAR:
        raise ValueError(f"year {y} is not a plausible year ({FIRST_YEAR}..{LAST_YEAR})")
    return y


def _year_month(key: str) -> str:
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", key):
        raise ValueError(f"{key!r} is not a month written YYYY-MM (e.g. 2020-04)")
    _plausible_year(int(key[:4]))
    return key


def month_number(month: str | dt.date) -> int:
    """Months since year 0 of a ``YYYY-MM`` key or a date (consecutive months differ by one)."""
    if isinstance(month, dt.date):
        return month.year * 12 + month.month - 1
    return int(month[:4]) * 12 + int(month[5:7]) - 1


Date = Annotated[dt.date, AfterValidator(_plausible_date)]
YearMonth = Annotated[str, AfterValidator(_year_month)]
Year = Annotated[int, AfterValidator(_plausible_year)]
Prob = Annotated[float, Field(ge=0, le=1)]
People = Annotated[float, Field(ge=0, le=MAX_PEOPLE)]
Seats = Annotated[float, Field(ge=0, le=MAX_SEATS_PER_DAY)]
Amount = Annotated[float, Field(ge=0, le=MAX_MONEY)]
RatePerYear = Annotated[float, Field(ge=0, le=MAX_RATE_PER_YEAR)]
Factor = Annotated[float, Field(ge=0, le=MAX_FACTOR)]
HazardMultiplier = Annotated[float, Field(ge=0, le=MAX_HAZARD_MULTIPLIER)]
PositiveFactor = Annotated[float, Field(gt=0, le=MAX_FACTOR)]
Days = Annotated[int, Field(ge=0, le=MAX_DAYS)]
PositiveDays = Annotated[int, Field(gt=0, le=MAX_DAYS)]
DaysFloat = Annotated[float, Field(ge=0, le=MAX_DAYS)]
Months = Annotated[float, Field(gt=0, le=MAX_MONTHS)]
MonthsFloat = Annotated[float, Field(ge=0, le=MAX_MONTHS)]  # a span or a sum in months, 0 allowed
Years = Annotated[float, Field(ge=0, le=MAX_YEARS)]
PositiveYears = Annotated[float, Field(gt=0, le=MAX_YEARS)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Age = Annotated[float, Field(ge=0, le=100)]


def kinds_of(annotation: Any) -> set[type]:
    """The plain types a field annotation admits (through Annotated, Optional and unions)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return kinds_of(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return set().union(*(kinds_of(a) for a in typing.get_args(annotation)))
    if origin is typing.Literal:
        return {type(a) for a in typing.get_args(annotation)}
    return {origin or annotation}


def item_annotation(annotation: Any) -> tuple[str, Any] | None:
    """('dict' or 'list', the item annotation) for a mapping or list field, else None."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return item_annotation(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        for a in typing.get_args(annotation):
            found = item_annotation(a)
            if found:
                return found
        return None
    if origin is dict:
        return "dict", typing.get_args(annotation)[1]
    if origin is list:
        return "list", typing.get_args(annotation)[0]
    return None


def text_keyed(annotation: Any) -> bool:
    """Whether a field is a mapping whose keys are text (stage names, say)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return text_keyed(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(text_keyed(a) for a in typing.get_args(annotation))
    return origin is dict and typing.get_args(annotation)[0] is str


class LooseValue(ValueError):
    """A value of the wrong kind; ``path`` is its key path below the field."""

    def __init__(self, path: list[str], reason: str) -> None:
        super().__init__(reason)
        self.path, self.reason = path, reason


def refuse_loose(value: Any, annotation: Any, path: list[str] | None = None) -> None:
    """LooseValue if ``value`` would only fit ``annotation`` by coercion across types.

    Numbers must be numbers (not text, not true/false); yes/no fields must be true or false.
    Mappings and lists are checked item by item.
    """
    path = path or []
    kinds = kinds_of(annotation)
    if isinstance(value, bool):
        if bool not in kinds and kinds & {int, float}:
            raise LooseValue(path, f"expected a number, got {str(value).lower()}")
        return
    if isinstance(value, str):
        if str not in kinds and kinds & {int, float, bool}:
            wanted = "a number" if kinds & {int, float} else "true or false"
            raise LooseValue(path, f"expected {wanted}, got the text {value!r}")
        return
    if isinstance(value, int | float) and bool in kinds and not kinds & {int, float}:
        raise LooseValue(path, f"expected true or false, got {value!r}")
    items = item_annotation(annotation)
    if items is None:
        return
    kind, inner = items
    if kind == "dict" and isinstance(value, dict):
        for k, v in value.items():
            refuse_loose(v, inner, [*path, str(k)])
    elif kind == "list" and isinstance(value, list):
        for i, v in enumerate(value):
            refuse_loose(v, inner, [*path, str(i)])


class Strict(BaseModel):
    """Base model: unknown keys are errors, values are never coerced across types, no NaN/inf."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_coercion(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for key, value in data.items():
                field = cls.model_fields.get(key) if isinstance(key, str) else None
                if field is None:
                    continue
                if isinstance(value, dict) and text_keyed(field.annotation):
                    # A stage named 1 is the key "1", however YAML or --set wrote it.
                    value = data[key] = {
                        str(k) if isinstance(k, int) and not isinstance(k, bool) else k: v
                        for k, v in value.items()
                    }
                try:
                    refuse_loose(value, field.annotation, [key])
                except LooseValue as exc:
                    raise PydanticCustomError(
                        "loose_type",
                        "{path}: {reason}",
                        {"path": ".".join(exc.path), "reason": exc.reason},
                    ) from None
        return data
