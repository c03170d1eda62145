"""The scenario schema: every parameter of the model, validated strictly.

A scenario is plain data (YAML). Unknown keys, wrong types, impossible dates and references to
unknown origins are rejected with the key path. Programme rules (stages, job change, welfare,
cancellations, special measures) are data here, so a new programme is a new file, not new code.
"""

from __future__ import annotations

import datetime as dt
import typing
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, create_model, model_validator

from tmpsim.calibration.spec import CalibrationSpec
from tmpsim.kinds import (  # noqa: F401 (re-exported)
    AMNESTY_STATES,
    BRIDGING_STATES,
    HAZARD_BY_NAME,
    STATE_BY_NAME,
    STATE_NAMES,
    WORKING_STATES,
)
from tmpsim.scenario.bounds import (
    MAX_ORIGINS,
    Age,
    Amount,
    Count,
    Date,
    Days,
    DaysFloat,
    Factor,
    HazardMultiplier,
    Months,
    MonthsFloat,
    People,
    PositiveDays,
    PositiveFactor,
    PositiveYears,
    Prob,
    RatePerYear,
    Seats,
    Strict,
    Year,
    YearMonth,
    Years,
    month_number,
)
from tmpsim.scenario.routes_schema import BacklogSpec, RoutesSpec
from tmpsim.states import NO_INCOME

# Kinds without an upper bound (finite all the same: Strict refuses NaN and infinity), for
# sections that bound their values themselves.
NonNeg = Annotated[float, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]
# A limit on a per-agent count kept in one byte (``Lifecycle.fields``: ``employer_changes``).
ChangeCount = Annotated[int, Field(ge=0, le=255)]
# Shelters that take in only some: each is a pool numbered in one signed byte per agent
# (``CivilSociety.fields``: ``shelter_pool``, 0 for those open to everyone).
MAX_RESTRICTED_SHELTERS = 127

# States and hazards an event or rule may name (derived from the kinds).
StateName = Literal[tuple(STATE_NAMES)]  # type: ignore[valid-type]
BridgingStateName = Literal[tuple(s.name.lower() for s in BRIDGING_STATES)]  # type: ignore[valid-type]
WorkingStateName = Literal[tuple(s.name.lower() for s in WORKING_STATES)]  # type: ignore[valid-type]
HazardName = Literal[tuple(HAZARD_BY_NAME)]  # type: ignore[valid-type]
AmnestyStateName = Literal[tuple(s.name.lower() for s in AMNESTY_STATES)]  # type: ignore[valid-type]


class Origin(Strict):
    """A sending country and its corridor to the host."""

    initial_stock: dict[str, People] = Field(
        default_factory=dict,
        description="Workers in the host at the start, by stage name.",
    )
    demand_share: dict[Year, Prob] = Field(
        min_length=1,
        description="Share of the programme's new entries from this origin, by year "
        "(interpolated).",
    )
    female_share: Prob = 0.4
    age_mean: Annotated[float, Field(ge=15, le=60)] = 24.0
    age_sd: Annotated[float, Field(ge=0, le=30)] = 4.0
    fee_pay_share: Prob = Field(0.85, description="Share who pay the sending agency and brokers.")
    fee_mean: Amount = Field(description="Mean fee paid by those who pay (host currency).")
    fee_cv: Factor = 0.5
    borrow_share: Prob = Field(description="Share of fee payers who borrow.")
    debt_mean: Amount = Field(description="Mean debt at departure of those who borrow.")
    loan_interest_per_year: Factor = 0.0
    runaway_rate_per_year: RatePerYear = Field(description="Base hazard of leaving the employer.")
    continue_prob: dict[str, Prob] = Field(
        default_factory=dict,
        description="Chance of moving on after a stage, by stage name, for this origin "
        "(replaces the stage's continue_prob).",
    )
    language_mean: Prob = 0.3
    network_mean: Prob = 0.3
    training_days: PositiveDays = 150
    clearance_days: PositiveDays = 60
    return_ticket: Amount = 50000.0
    segments: dict[str, OriginSegment] = Field(
        default_factory=dict,
        exclude_if=lambda v: not v,  # scenarios without segments read as before
        description="With a scenario's segments: each segment's share of this origin's entries, "
        "its workers at the start and the terms that differ for it (every origin lists its "
        "segments; its own initial_stock is then empty).",
    )


# ---- segments ------------------------------------------------------------------------------

SEGMENT_TERMS = (
    "female_share",
    "age_mean",
    "age_sd",
    "fee_pay_share",
    "fee_mean",
    "fee_cv",
    "borrow_share",
    "debt_mean",
    "runaway_rate_per_year",
    "continue_prob",
    "language_mean",
    "network_mean",
    "training_days",
    "clearance_days",
    "return_ticket",
)
"""The origin's terms a segment may set differently (unset: the origin's)."""
MAX_SEGMENTS = 127
"""Most segments in one scenario (agents store their segment in one signed byte)."""
DEBT_PER_FEE_MAX = 1.5
"""A borrower's debt at departure is at most this many times their own fee.

Recruitment draws a borrower's debt as their fee times ``debt_mean / fee_mean`` (the sending
market's ratio, with ``origins_market.fees``), held to this bound; what is borrowed beyond the
fee is in the borrower's savings at departure. A scenario's own ``debt_mean`` above the bound is
refused as it is read: it would be cut without a word."""


def _optional(name: str) -> tuple:
    field = Origin.model_fields[name]
    kind = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    return kind | None, Field(None, description=field.description)


SegmentTerms = create_model(
    "SegmentTerms",
    __base__=Strict,
    __doc__="Terms of an origin's workers in a segment that differ from the origin's.",
    **{name: _optional(name) for name in SEGMENT_TERMS},
)


class Segment(SegmentTerms):
    """A group of the programme's workers with terms of their own (e.g. domestic workers).

    Its terms apply to its workers of every origin, unless the origin's entry for the segment
    sets them again.
    """

    label: str = Field("", description="Plain-language name of the segment in tables.")


class OriginSegment(SegmentTerms):
    """One origin's workers in one segment: their share of its entries, stock and own terms."""

    share: Prob | dict[Year, Prob] = Field(
        description="Share of the origin's entries in this segment: one number, or by year "
        "(interpolated as demand_share); an origin's shares sum to one."
    )
    initial_stock: dict[str, People] = Field(
        default_factory=dict, description="Workers of the segment in the host at the start."
    )

    def share_by_year(self) -> dict[int, float]:
        """The share as a by-year table (one number holds every year)."""
        return dict(self.share) if isinstance(self.share, dict) else {2000: float(self.share)}


Origin.model_rebuild()


def _first_set(chain: list[tuple[str, typing.Any]], term: str) -> tuple[str, float]:
    """The key path and value of ``term`` in the first of ``chain`` that sets it."""
    for where, terms in chain:
        value = getattr(terms, term)
        if value is not None:
            return where, float(value)
    raise ValueError(f"{chain[-1][0]}.{term}: not set")  # the origin's own is required


def _interpolate(table: dict[int, float], year: float) -> float:
    """A by-year table's value in ``year`` (linear between years, the nearest outside them)."""
    years = sorted(table)
    return float(np.interp(year, years, [table[y] for y in years]))


class Sector(Strict):
    """An employer sector: share of demand, wage level and dismissal risk."""

    share: Prob
    wage_factor: Factor = 1.0
    dismissal_rate_per_year: RatePerYear = 0.02
    job_change_after_years: Years | None = Field(
        None,
        description="With job-change mode free: years with one employer before a voluntary "
        "change in this sector (field-specific rules); None uses programme.job_change.",
    )


class Stage(Strict):
    """One stage of the programme's contract ladder."""

    name: str
    months: Months
    continue_prob: Prob = Field(0.0, description="Chance of moving on to the next stage.")
    home_visit_days: Days = Field(0, description="Home visit required before this stage begins.")
    available_from: Date | None = Field(None, description="Stage exists from this date on.")
    runaway_factor: Factor = Field(
        1.0, description="Runaway hazard multiplier for people whose current stage is this one."
    )


class OnwardStatus(Strict):
    """Switch to another residence status when a stage ends without continuing."""

    after_stage: str
    prob: Prob
    start: Date | None = None


class Cancellation(Strict):
    """A rule that cancels the permit (pregnancy, marriage without approval...)."""

    name: str
    rate_per_year: RatePerYear
    females_only: bool = False
    detection_interval_days: Days = Field(
        0, description="Found at the next periodic check (0 = at once)."
    )


class JobChange(Strict):
    """When a worker may change employer."""

    mode: Literal["forbidden", "on_dismissal", "free"] = "on_dismissal"
    free_after_years: Years = Field(0.0, description="With mode free: years before changing.")
    voluntary_rate_per_year: RatePerYear = Field(
        0.0, description="With mode free: rate of voluntary changes once allowed."
    )
    runaway_diverted: Prob = Field(
        0.5, description="Share of would-be runaways who change employer instead, when free."
    )
    needs_sponsor_consent: bool = False
    sponsor_consent_prob: Prob = 1.0
    max_changes: ChangeCount | None = Field(
        None,
        exclude_if=lambda v: v is None,  # unset: resolves as before the key existed
        description="With mode free: the most voluntary changes of employer a worker may make "
        "over the whole stay (all stages and renewals); a worker who has made them keeps the "
        "employer and is no longer diverted from running away. Only the worker's own changes "
        "count: finding an employer after a dismissal (a change not attributable to the worker) "
        "or through a special route does not. None: no limit.",
    )
    max_changes_by_stage: dict[str, ChangeCount] | None = Field(
        None,
        exclude_if=lambda v: v is None,  # unset: resolves as before the key existed
        description="With mode free, instead of max_changes: the most voluntary changes within "
        "each stage named (by stage name; the count starts again when a new stage begins, not "
        "at a renewal of the same stage); stages not named have no limit. None: no limit.",
    )

    @model_validator(mode="after")
    def _one_limit(self) -> JobChange:
        if self.max_changes is not None and self.max_changes_by_stage is not None:
            raise ValueError(
                "give max_changes (over the whole stay) or max_changes_by_stage (within each "
                "stage), not both"
            )
        return self


class PrivateRental(Strict):
    """Renting a room privately, for those who lose the bed that comes with the job.

    Where the job comes with a bed (``programme.housing_with_job``), a person who moves into a
    state without work in the host rents a room privately if their savings cover the move-in
    cost (``move_in_months`` times ``rent_month``, paid from savings at once) and
    ``reserve_months`` of rent and subsistence after it, and the landlord
    does not refuse them (a chance of ``refusal_share``, drawn once, when the bed is lost). A
    renter pays ``rent_month`` on top of the subsistence cost while without work in the host,
    and needs a shelter place only on becoming destitute (losing the room then). Everyone else
    who loses the job's bed needs a shelter place at once. Renting ends on going back to work
    with a bed or leaving the host.
    """

    rent_month: Amount = Field(description="Monthly rent of a room (host currency).")
    move_in_months: MonthsFloat = Field(
        description="Months of rent paid up front to move in (deposit, key money, the agent's "
        "fee, a guarantor company, the first month): the savings a renter needs.",
    )
    refusal_share: Prob = Field(
        description="Chance that a person who can pay is refused by landlords (drawn once per "
        "person when the job's bed is lost)."
    )
    reserve_months: MonthsFloat = Field(
        1.0,
        description="Months of rent and subsistence a person must have left after moving in to "
        "rent at all (nobody signs a lease with nothing left to live on).",
    )
    source: str = Field(min_length=1, description="Where the rent, months and share come from.")

    @property
    def move_in_cost(self) -> float:
        """The savings paid to move in (host currency)."""
        return self.move_in_months * self.rent_month

    def savings_needed(self, subsistence_month: float) -> float:
        """The savings a person needs to rent: the move-in cost and the reserve after it."""
        return self.move_in_cost + self.reserve_months * (self.rent_month + subsistence_month)


# The states without work (no income, in the host), in which the employer may be bound to keep
# up the worker.
UpkeepStateName = Literal[tuple(s.name.lower() for s in NO_INCOME)]  # type: ignore[valid-type]


class EmployerUpkeep(Strict):
    """The employer keeps up the worker without work in the host, as at work.

    In the states named, the employer (or whoever takes over the employer's duty) keeps housing
    and feeding the worker, by rule, until the worker works again or leaves the host: the bed
    that comes with the job is not lost, nobody in these states needs a shelter place (the
    destitute among them included: they still queue for emergency money), nobody rents a room
    privately, and a worker spends the living cost (``money.living_cost_per_month``, spending
    beside the food and the bed, as at work), not the subsistence cost. The other states without
    work keep the rules of ``housing_with_job`` and ``private_rental``.
    """

    states: list[UpkeepStateName] = Field(
        min_length=1,
        description="States without work in which the employer keeps up the worker: jobless, "
        "stranded, special_idle.",
    )
    source: str = Field(min_length=1, description="The rule that binds the employer.")

    @model_validator(mode="after")
    def _once_each(self) -> EmployerUpkeep:
        if len(set(self.states)) != len(self.states):
            raise ValueError(f"states must be named once each, got {self.states}")
        return self


class Programme(Strict):
    """The programme's rules, as data."""

    name: str
    stages: list[Stage] = Field(min_length=1)
    renewals: Count = Field(0, description="Times the last stage may be renewed.")
    renewal_prob: Prob = Field(
        0.0,
        description="Chance that the last stage's contract is renewed when it ends (with routes: "
        "that a renewal is offered; the worker then chooses it as the next_stage route).",
    )
    max_stay_years: PositiveYears | None = None
    grace_days: Days = Field(
        90, description="Days a jobless worker keeps status while looking for an employer."
    )
    job_change: JobChange = Field(default_factory=JobChange)
    welfare_eligible: bool = False
    housing_with_job: bool = Field(
        False,
        description="The job comes with a bed (the employer's housing or a dormitory): people in "
        "the host without work (jobless, stranded, on a bridge without work) need a shelter place, "
        "not only the destitute (with private_rental: unless they rent a room privately).",
    )
    private_rental: PrivateRental | None = Field(
        None,
        exclude_if=lambda v: v is None,  # unset: resolves as before the key existed
        description="With housing_with_job: those who lose the job's bed rent a room privately "
        "if their savings cover the move-in cost and no landlord refuses them, and need a "
        "shelter place only when destitute (None: everyone without work needs one).",
    )
    employer_upkeep: EmployerUpkeep | None = Field(
        None,
        exclude_if=lambda v: v is None,  # unset: resolves as before the key existed
        description="States without work in which the employer keeps housing and feeding the "
        "worker by rule: no shelter place is needed there and the living cost is spent, not "
        "the subsistence cost (None: in none).",
    )
    family_allowed: bool = False
    onward: list[OnwardStatus] = Field(default_factory=list)
    cancellations: list[Cancellation] = Field(default_factory=list)
    exit_needs_sponsor: bool = False
    sponsor_exit_delay_days: DaysFloat = Field(0.0, description="Mean days for an exit permit.")
    stock_label: str = Field(
        "",
        description="Plain-language name of the programme_stock metric, as official statistics "
        "count the programme's status holders (default: people holding the programme's status).",
    )

    @model_validator(mode="after")
    def _stage_names(self) -> Programme:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique, got {names}")
        for o in self.onward:
            if o.after_stage not in names:
                raise ValueError(f"onward.after_stage {o.after_stage!r} is not a stage ({names})")
        for name in self.job_change.max_changes_by_stage or {}:
            if name not in names:
                raise ValueError(
                    f"job_change.max_changes_by_stage names {name!r}, not a stage ({names})"
                )
        if self.private_rental is not None and not self.housing_with_job:
            # Renting replaces the bed that comes with the job; without one there is none to lose.
            raise ValueError(
                "private_rental applies where the job comes with a bed: set housing_with_job: "
                "true, or remove private_rental"
            )
        upkept = set(self.employer_upkeep.states) if self.employer_upkeep is not None else set()
        if self.private_rental is not None and upkept >= {s.name.lower() for s in NO_INCOME}:
            # Nobody loses the job's bed where the employer keeps up every worker without work.
            raise ValueError(
                "private_rental applies to no one: employer_upkeep keeps up the worker in every "
                "state without work; remove private_rental or a state of employer_upkeep.states"
            )
        return self

    def upkept(self) -> np.ndarray:
        """Whether the employer keeps up the worker in each state (``employer_upkeep``)."""
        mask = np.zeros(len(STATE_NAMES), dtype=bool)
        if self.employer_upkeep is not None:
            mask[[int(STATE_BY_NAME[name]) for name in self.employer_upkeep.states]] = True
        return mask


class DemandResponse(Strict):
    """Employers' demand after the last year of the demand table follows their labour need.

    For a year after ``base_year`` the entries demanded are the table's ``base_year`` value
    times ``(index[year] / index[base_year]) ** elasticity`` (the index: the behaviour section's
    labour-market index, e.g. the jobs-to-applicants ratio). Years up to ``base_year`` keep the
    table. Demand is known ahead (selection is planned from it), so it does not respond to what
    happens in the run.
    """

    base_year: Year
    elasticity: Factor = 1.0
    source: str = ""


class Recruitment(Strict):
    """Demand for new workers and how the sending side fills it."""

    demand: dict[Year, People] = Field(
        min_length=1, description="Entries employers demand per year."
    )
    demand_response: DemandResponse | None = Field(
        None, description="Demand after the table's base year from the labour need (None: table)."
    )
    backlog_fill_days: PositiveDays | None = Field(
        None,
        description=(
            "Employers count those selected and still waiting to enter against their vacancies: "
            "each selection round's places fall by the waiting queue times the round's days over "
            "this many days (None: they do not)."
        ),
    )
    applicants_per_place: Annotated[float, Field(ge=1, le=1000)] = 1.5
    pool_wait_days: PositiveDays = 180
    selection_interval_days: PositiveDays = 7
    age_min: Age = 18.0
    age_max: Age = 40.0
    aptitude_min: Prob = 0.0
    training_dropout: Prob = 0.02


class Supervision(Strict):
    """Supervising organisations: how much they help a jobless worker."""

    proactivity_mean: Prob = 0.4
    proactivity_concentration: PositiveFactor = 4.0
    job_search_rate_per_year: RatePerYear = Field(
        4.0, description="Rate of finding an employer with full help and full information."
    )
    proactivity_floor: Prob = 0.2


class Information(Strict):
    """Chance of hearing of a job: language, network and policy."""

    base: Prob = 0.2
    language_weight: Factor = 0.5
    network_weight: Factor = 0.3
    own_language_info: bool = Field(False, description="Job information in workers' languages.")
    own_language_level: Prob = 0.8


class Money(Strict):
    """Wages, costs, remittances and savings (host currency per month unless stated)."""

    wage_per_month: Amount
    net_share: Prob = 0.8
    living_cost_per_month: Amount = 70000.0
    subsistence_cost_per_month: Amount = 50000.0
    remit_share: Prob = 0.6
    repay_share: Prob = 0.4  # with remit_share's default, at most 1 as _consistent requires
    irregular_wage_factor: Factor = 0.7
    special_wage_factor: Factor = 0.9
    initial_savings_mean: Amount = 30000.0


class Shelter(Strict):
    """A provider of housing for destitute workers, with a capacity and whom it takes in."""

    name: str
    capacity: People = 0.0
    per_employed: Factor = Field(0.0, description="Extra places per employed worker (friends).")
    start: Date | None = None
    end: Date | None = None
    origins: list[str] | None = Field(
        None,
        min_length=1,
        exclude_if=lambda v: v is None,  # unset: resolves as before the key existed
        description="Takes in only people of these origins (a community's temple, a "
        "compatriots' association). None: everyone.",
    )
    segments: list[str] | None = Field(
        None,
        min_length=1,
        exclude_if=lambda v: v is None,
        description="Takes in only people of these segments (a shelter for domestic workers). "
        "None: everyone.",
    )
    sex: Literal["female", "male"] | None = Field(
        None,
        exclude_if=lambda v: v is None,
        description="Takes in only women, or only men (a women's shelter). None: everyone.",
    )

    @property
    def restricted(self) -> bool:
        """Whether it takes in only some of those who need a bed."""
        return self.origins is not None or self.segments is not None or self.sex is not None


class EmergencyFund(Strict):
    """Civil-society emergency money paid to destitute workers."""

    name: str
    amount: Amount
    budget_per_month: Amount
    start: Date | None = None
    end: Date | None = None


class LabourMarket(Strict):
    """A yearly index of the host's labour market that scales the runaway hazard.

    Leaving the employer pays when irregular work is easy to find: the runaway hazard is
    multiplied by ``(index[year] / reference) ** elasticity``. Years before the first or after the
    last of the index take the nearest year's value. With elasticity 0 it has no effect.

    With ``host_per_usd`` (the host currency per US dollar by year) and a ``currency_elasticity``,
    it is also multiplied by ``(host_per_usd[year] / host_per_usd[currency_reference_year]) **
    currency_elasticity``: when the host's currency falls, the programme's wage is worth less at
    home and the debts owed at home cost more of it, so the hold of the programme weakens.
    """

    index: dict[Year, PositiveFactor] = Field(
        min_length=1,
        description="Index value by calendar year (e.g. the jobs-to-applicants ratio).",
    )
    reference: PositiveFactor = Field(
        1.0, description="Index value at which the base runaway rates apply (factor 1)."
    )
    elasticity: Factor = Field(
        0.0, description="How strongly the runaway hazard follows the index (0: not at all)."
    )
    host_per_usd: dict[Year, PositiveFactor] = Field(
        default_factory=dict, description="Host currency per US dollar by calendar year."
    )
    currency_reference_year: Year | None = None
    currency_elasticity: Factor = Field(
        0.0, description="How strongly the runaway hazard follows the host currency's fall."
    )
    source: str = ""

    @model_validator(mode="after")
    def _years(self) -> LabourMarket:
        for name, table in (("index", self.index), ("host_per_usd", self.host_per_usd)):
            years = sorted(table)
            missing = sorted(set(range(years[0], years[-1] + 1)) - set(years)) if years else []
            if missing:
                raise ValueError(
                    f"{name}: no value for {missing[0]} (give every year in the range)"
                )
        if self.currency_elasticity != 0 and self.currency_reference_year not in self.host_per_usd:
            raise ValueError(
                "currency_elasticity needs host_per_usd with a value for currency_reference_year"
            )
        return self

    @property
    def active(self) -> bool:
        """Whether the index or the currency changes the hazard at all."""
        return self.elasticity != 0 or self.currency_elasticity != 0

    def value(self, year: int) -> float:
        """The index in a calendar year (the nearest year's value outside the series)."""
        years = sorted(self.index)
        return self.index[min(max(year, years[0]), years[-1])]

    def factor(self, year: int) -> float:
        """Multiplier of the runaway hazard in a calendar year."""
        f = 1.0
        if self.elasticity != 0:
            f = (self.value(year) / self.reference) ** self.elasticity
        if self.currency_elasticity != 0:
            years = sorted(self.host_per_usd)
            fx = self.host_per_usd[min(max(year, years[0]), years[-1])]
            f *= (fx / self.host_per_usd[self.currency_reference_year]) ** self.currency_elasticity
        return f


class LabourNeedFall(Strict):
    """Employers dismiss when their need for labour falls below what they planned for.

    Workers were taken on for a plan made about ``lag_months`` before; when the labour market's
    monthly index (e.g. the jobs-to-applicants ratio) has fallen since, the dismissal hazard of
    every sector is multiplied by ``1 + exposure[sector] * (r ** elasticity - 1)`` (times
    ``exposure_segments[segment]`` where the workers' segment is named there), where
    ``r = index[month - lag_months] / index[month]`` when that is above one and one otherwise:
    a fall raises dismissals, a rise or a steady market leaves them at their base rates.
    Months for which the index lacks either value take factor one. With elasticity 0 it has no
    effect.
    """

    index: dict[YearMonth, PositiveFactor] = Field(
        min_length=2,
        description="Index value by month, keys YYYY-MM, every month of its range "
        "(e.g. the seasonally adjusted jobs-to-applicants ratio).",
    )
    lag_months: Annotated[int, Field(ge=1, le=60)] = Field(
        12, description="Months between the plan that took the workers on and now."
    )
    elasticity: Factor = Field(
        0.0, description="How strongly dismissals follow the fall of the index (0: not at all)."
    )
    exposure: dict[str, Factor] = Field(
        default_factory=dict,
        description="Share of the fall that reaches each named sector's dismissals (others 1).",
    )
    exposure_segments: dict[str, Factor] = Field(
        default_factory=dict,
        exclude_if=lambda v: not v,  # scenarios without it read as before
        description="Share of the fall that reaches each named segment's dismissals (others 1), "
        "times the sector's: employers of different kinds (firms, households) cut by different "
        "amounts.",
    )
    source: str = Field(min_length=1, description="Where the index and the rule come from.")

    @model_validator(mode="after")
    def _months(self) -> LabourNeedFall:
        numbers = sorted(month_number(m) for m in self.index)
        gaps = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        if gaps:
            y, m = divmod(gaps[0], 12)
            raise ValueError(f"index: no value for {y}-{m + 1:02d} (give every month in the range)")
        return self

    def fall(self, month: int) -> float:
        """``r`` of the month (months since year 0): the index's fall over the lag, at least 1."""
        by_number = {month_number(m): v for m, v in self.index.items()}
        now, then = by_number.get(month), by_number.get(month - self.lag_months)
        if now is None or then is None:
            return 1.0
        return max(1.0, then / now)

    def factors(self, month: int, sectors: list[str], segments: list[str]) -> np.ndarray:
        """Multiplier of the dismissal hazard in a month, ``[segment, sector]``, lists' order."""
        rise = self.fall(month) ** self.elasticity - 1.0
        by_sector = np.array([self.exposure.get(s, 1.0) for s in sectors])
        by_segment = np.array([self.exposure_segments.get(g, 1.0) for g in segments])
        return 1.0 + by_segment[:, None] * by_sector[None, :] * rise


class LegalRoute(Strict):
    """The legal ways out, open or closed, change the pull of leaving the employer.

    While an onward route of the scenario's ``routes`` section (e.g. a skilled-worker status) is
    in force, people working in one of its fields can reach legal, better-paid work by finishing
    their stage, so the runaway hazard of the employed in those fields is multiplied by
    ``1 - relief``. While the way home is closed (the corridor's outbound seats below the normal
    ``borders.seats_out_per_day``), the end of the stay leads nowhere legal for anyone from that
    origin, and the runaway hazard of all of them is multiplied by ``1 + home_closed``.
    """

    relief: Prob = Field(
        0.0, description="Share of the runaway hazard that an open legal route takes away."
    )
    home_closed: Factor = Field(
        0.0, description="Rise of the runaway hazard while the corridor home is closed."
    )
    source: str = ""


class UnfilledPlaces(Strict):
    """Employers' places the programme leaves unfilled, and what employers and workers do about it.

    The unfilled share is the part of employers' demand for entries over the last
    ``window_days`` that entries did not meet: ``max(0, 1 - entries / demand)``, both at full
    scale, measured at each month's end (``tmpsim.model.vacancies``). Employers who cannot get
    new people keep the ones they have: the chance that the employer offers to keep a person
    whose contract (or working bridge) ends is ``offer_rate + (1 - offer_rate) * keep_offer *
    unfilled`` (``routes.offer_rate``); in a programme without route choices, the chance that a
    last stage's contract is renewed is ``renewal_prob + (1 - renewal_prob) * keep_offer *
    unfilled`` (``programme.renewal_prob``). The same unfilled places pull people out of the
    programme into irregular work: the runaway hazard is multiplied by ``1 + runaway_pull *
    unfilled`` (with ``pull_while_closed``, times the share of demand whose corridor is closed to
    new entries: employers whose trainees can still come wait for them).
    """

    window_days: int = Field(
        365, ge=30, le=3650, description="Days of demand and entries the unfilled share covers."
    )
    keep_offer: Prob = Field(
        0.0, description="How far unfilled places raise the chance of an offer toward one."
    )
    runaway_pull: Factor = Field(
        0.0, description="Rise of the runaway hazard per unit of the unfilled share."
    )
    pull_while_closed: bool = Field(
        False,
        description="The pull acts only on the share of demand whose corridor is closed to new "
        "entries at the month's end (employers wait for trainees who can still come).",
    )
    kept_share: Prob = Field(
        0.0,
        description="Share of those who move to an onward status (after the demand response's "
        "base year) whose employer orders one new trainee fewer: the place is kept filled.",
    )
    source: str = Field(min_length=1, description="Where the rule and its parameters come from.")


class Behaviour(Strict):
    """How workers and employers respond to debt, joblessness, the labour market and enforcement."""

    runaway_debt_elasticity: Factor = Field(
        1.0, description="Runaway hazard rises with debt relative to a year's net wage."
    )
    runaway_no_income_factor: Factor = Field(
        3.0, description="Runaway hazard multiplier while without income."
    )
    apprehension_rate_per_year: RatePerYear = Field(
        0.25, description="Rate at which irregular workers are caught and deported."
    )
    runaway_labour_market: LabourMarket | None = Field(
        None,
        description="Yearly labour-market index scaling the runaway hazard (None: no effect).",
    )
    dismissal_labour_need: LabourNeedFall | None = Field(
        None,
        description="Employers' dismissals follow the fall of a monthly labour-market index "
        "(None: no effect).",
    )
    runaway_legal_route: LegalRoute | None = Field(
        None,
        description="How an open onward route lowers the runaway hazard (None: no effect).",
    )
    unfilled_places: UnfilledPlaces | None = Field(
        None,
        description="Places left unfilled raise employers' offers and the runaway hazard "
        "(None: no effect).",
    )


class Borders(Strict):
    """Normal daily seat capacity per corridor and direction, before any event."""

    seats_in_per_day: Seats = 5000.0
    seats_out_per_day: Seats = 5000.0
    entry_cap_per_day: Seats | None = None


# ---- dated events -------------------------------------------------------------------------


EVENT_NAME = r"^[A-Za-z_][A-Za-z0-9_-]*$"


class _Event(Strict):
    date: Date
    name: str | None = Field(
        None,
        pattern=EVENT_NAME,
        exclude_if=lambda v: v is None,  # unnamed events resolve as they did before names
        description="Name by which key paths address the event (events.NAME.seats_per_day).",
    )
    note: str = ""
    label: str = Field(
        "",
        description="Short caption marking the event on the time axes of figures (none: unmarked).",
    )


class BorderEvent(_Event):
    """Open or close a corridor (or all) in one direction, with the seats left."""

    type: Literal["border"]
    corridor: str = "all"
    direction: Literal["in", "out", "both"] = "both"
    seats_per_day: Seats


class EntryCapEvent(_Event):
    """A host-wide cap on the programme's new entries per day (None lifts it).

    With ``segments``, a cap of its own for the entries of those segments (they leave the
    host-wide cap while it holds; None returns them to it).
    """

    type: Literal["entry_cap"]
    per_day: Seats | None
    segments: list[str] | None = Field(None, min_length=1, exclude_if=lambda v: v is None)


class FlightEvent(_Event):
    """A repatriation (or charter) flight: extra outbound seats on one day."""

    type: Literal["flight"]
    corridor: str
    seats: Seats


class HazardEvent(_Event):
    """Multiply a hazard from `date` to `end` (for some sectors, origins or segments)."""

    type: Literal["hazard"]
    hazard: HazardName
    multiplier: HazardMultiplier
    end: Date | None = None
    sectors: list[str] | None = None
    origins: list[str] | None = None
    segments: list[str] | None = Field(None, exclude_if=lambda v: v is None)


class GrantStatusEvent(_Event):
    """Move people in some states to another state after a delay (a special status)."""

    type: Literal["grant_status"]
    from_states: list[StateName]
    to_state: BridgingStateName
    delay_days: Days = 0
    months: Months = 6.0
    end: Date | None = None


class JobChangeEvent(_Event):
    """Allow job change for people in some states, into a given state."""

    type: Literal["job_change"]
    states: list[StateName]
    to_state: WorkingStateName
    rate_multiplier: Factor = 1.0
    months: Months = Field(
        12.0, description="Length of the status given to jobless workers who take this route."
    )
    end: Date | None = None


class StatusSwitchEvent(_Event):
    """Open a route from some states to another status at a rate per year."""

    type: Literal["status_switch"]
    from_states: list[StateName]
    rate_per_year: RatePerYear
    end: Date | None = None


class StayExtensionEvent(_Event):
    """Extend with the same employer the contracts that end from `date` to `end`.

    Hosts did so in 2020 for workers who could neither go home nor be replaced (Korea extended
    the stay of Employment Permit workers whose permit ended, Taiwan its migrant workers'
    permits: data/origins/stay_extensions.csv). A contract ending in the window is extended by
    ``days`` for a ``share`` of the workers (the employers who keep them; one draw each); the
    rest reach the contract's end as usual. A contract extended into the window again is
    extended again.
    """

    type: Literal["stay_extension"]
    end: Date
    days: PositiveDays
    share: Prob = 1.0
    origins: list[str] | None = Field(None, min_length=1, exclude_if=lambda v: v is None)
    segments: list[str] | None = Field(None, min_length=1, exclude_if=lambda v: v is None)


class CashPaymentEvent(_Event):
    """A one-off payment to every registered resident in the listed states."""

    type: Literal["cash_payment"]
    amount: Amount
    states: list[StateName]


class ExitAmnestyEvent(_Event):
    """Let people in some states leave without penalty from `date` to `end` (an exit amnesty).

    Those in ``states`` on ``eligible_on`` (default: ``date``) who are still in them on ``date``
    may go home: each takes the amnesty up with chance ``share`` (one draw each) and joins the
    return queue on ``date``, to leave when a seat comes. Those still waiting after ``end`` lose
    it: they leave the queue and stay as they were. Without an amnesty the model's irregular
    workers go home only when caught (``apprehension``).
    """

    type: Literal["exit_amnesty"]
    end: Date
    states: list[AmnestyStateName] = Field(min_length=1)
    eligible_on: Date | None = Field(
        None,
        exclude_if=lambda v: v is None,
        description="Only those in the states on this day may take it up (None: the event's date).",
    )
    share: Prob = Field(1.0, description="Chance that one who may take the amnesty up does.")


class RecruitmentEvent(_Event):
    """Scale recruitment (selection of new workers) from `date` to `end`."""

    type: Literal["recruitment"]
    multiplier: Factor
    end: Date | None = None


class RuleEvent(_Event):
    """Change programme rules from a date on (e.g. a new system replacing the old)."""

    type: Literal["rule"]
    welfare_eligible: bool | None = None
    job_change_mode: Literal["forbidden", "on_dismissal", "free"] | None = None
    grace_days: Days | None = None


Event = Annotated[
    BorderEvent
    | EntryCapEvent
    | FlightEvent
    | HazardEvent
    | GrantStatusEvent
    | JobChangeEvent
    | StatusSwitchEvent
    | StayExtensionEvent
    | CashPaymentEvent
    | RecruitmentEvent
    | ExitAmnestyEvent
    | RuleEvent,
    Field(discriminator="type"),
]


EVENT_TYPES = frozenset(
    t.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for t in typing.get_args(typing.get_args(Event)[0])
)
"""The ``type`` names of dated events."""


class Headline(Strict):
    """A headline figure: the mean, peak or total of a daily metric over a window.

    The summary reports it under ``name`` when the run covers part of the window; figures of the
    metric mark the ``reference`` value on ``reference_date`` with ``reference_label``.
    """

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str = Field(description="Plain-language label of the figure in tables.")
    metric: str = Field(description="A daily metric of series.parquet (all origins).")
    start: Date
    end: Date
    stat: Literal["mean", "max", "sum"] = Field(
        "mean",
        description="The window's mean, its highest day (max), or its days added up (sum: "
        "person-days of a count, the total of a flow).",
        exclude_if=lambda v: v == "mean",  # unset: resolves as before the key existed
    )
    reference: People | None = Field(None, description="Observed value to compare with.")
    reference_date: Date | None = None
    reference_label: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _window(self) -> Headline:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.reference is not None and self.reference_date is None:
            raise ValueError("a reference needs its reference_date")
        return self


class OriginsMarketSpec(Strict):
    """The ``origins_market`` section: each year's split of entries across origins.

    When set, the split follows from a sending market (origin pools, brokers and competing
    destinations; docs/origins.md) instead of the origins' fixed ``demand_share``: the market
    of ``corridors`` runs from its first year to the scenario's end, its ``host`` destination
    asking for the scenario's demand each year, and each origin's share of the market's
    departures to the host becomes its share of the scenario's demand. Origins the market does
    not have keep their ``demand_share``; the market's origins share the rest.

    With ``fees``, the market's fees and debt at departure also stand in for the origins'
    ``fee_mean`` and ``debt_mean``, and so for the debt at which each market origin's
    ``runaway_rate_per_year`` is stated (the runaway hazard's reference): the mean debt at
    departure the market's fees leave the run's recruits from that origin, each year's weighted
    by the origin's entries that year, taken before ``worker_fee_share`` so that a worker with
    a given debt runs away as often whoever pays the rest (``market_debt_reference`` in
    ``tmpsim.model.recruitment``).
    """

    corridors: str = Field(
        "asia-corridors", description="A shipped corridors configuration or a YAML file."
    )
    host: str = Field(description="The market's destination that this scenario is.")
    scale: Annotated[float, Field(gt=0, le=1)] = Field(
        0.25, description="Share of the market's people simulated (its cost hardly depends on it)."
    )
    seed: Annotated[int, Field(ge=0)] = Field(1, description="Seed of the market's own run.")
    fees: bool = Field(
        True,
        description="Fees and debt at departure by origin and year from the market's brokers "
        "(converted at the year's exchange rate) instead of the origins' fee_mean and debt_mean; "
        "the debt at which a market origin's runaway_rate_per_year applies is then the mean debt "
        "at departure these fees leave its recruits (each year's, weighted by its entries that "
        "year, before worker_fee_share), not fee_pay_share x borrow_share x debt_mean.",
    )
    worker_fee_share: Prob = Field(
        1.0,
        exclude_if=lambda v: v == 1.0,  # unset: resolves as before the key existed
        description="With fees: the share of the market's fees and debt at departure the worker "
        "pays (0: the employer pays all); the market's fees stand in for the origins' fee_mean "
        "and debt_mean, so the worker_fee_share lever scales this too.",
    )
    host_borders: bool = Field(
        False,
        description="The host's own dated border rules of the corridors configuration apply in "
        "the market too, so that recruits diverted from other closed destinations are not "
        "placed in a closed host (False: the host stays open in the market).",
    )
    anchor_year: int | None = Field(
        None,
        gt=1900,
        lt=2200,
        description="From this year on, each market origin's share is its own demand_share of "
        "this year times the market's change in its share since this year (renormalised); "
        "before it, the demand_share tables hold. None: the market's shares as they are.",
    )
    source: str = Field(
        min_length=1, description="A citation, 'assumed: why' or 'calibrated: how'."
    )

    @model_validator(mode="after")
    def _fee_share_needs_fees(self) -> OriginsMarketSpec:
        # Without the market's fees the origins' fee_mean and debt_mean are paid, and the share
        # would scale nothing: a run set to 'the employer pays' would pay every fee as before.
        if not self.fees and self.worker_fee_share != 1.0:
            raise ValueError(
                f"worker_fee_share {self.worker_fee_share:g} scales the market's fees, which "
                "this scenario does not take (fees: false): set fees: true, or scale the "
                "origins' fee_mean and debt_mean (the worker_fee_share lever does)"
            )
        return self


class Scenario(Strict):
    """A complete, validated scenario."""

    name: str
    description: str = ""
    start: Date
    end: Date
    host: str = Field("", description="Host country, as observed data name it (empty: unnamed).")
    currency: str = Field(
        "currency units", description="Currency of every money amount, as figures print it."
    )
    origins: dict[str, Origin] = Field(min_length=1, max_length=MAX_ORIGINS)
    segments: dict[str, Segment] = Field(
        default_factory=dict,
        exclude_if=lambda v: not v,
        max_length=MAX_SEGMENTS,
        description="Groups of workers whose terms differ within an origin (none: one group).",
    )
    sectors: dict[str, Sector] = Field(min_length=1)
    programme: Programme
    recruitment: Recruitment
    supervision: Supervision = Field(default_factory=Supervision)
    information: Information = Field(default_factory=Information)
    money: Money
    behaviour: Behaviour = Field(default_factory=Behaviour)
    borders: Borders = Field(default_factory=Borders)
    shelters: list[Shelter] = Field(default_factory=list)
    emergency_funds: list[EmergencyFund] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    routes: RoutesSpec | None = Field(
        None, description="Decisions at turning points (contract end, dismissal, stranded, expiry)."
    )
    backlog: BacklogSpec | None = Field(
        None, description="Those cleared to enter who wait, and give up at a stated rate."
    )
    origins_market: OriginsMarketSpec | None = Field(
        None, description="Split each year's entries across origins by a sending market."
    )
    headlines: list[Headline] = Field(
        default_factory=list,
        description="Headline figures of the summary: a metric's mean over a window, with an "
        "observed reference to compare it with.",
    )
    calibration: CalibrationSpec | None = Field(
        None, description="Free parameters, ranges and targets for `tmpsim calibrate`."
    )
    sources: dict[str, str] = Field(
        default_factory=dict,
        description="Key path -> source of its value, or 'assumed' / 'calibrated: ...'.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.end <= self.start:
            raise ValueError(f"end: {self.end} must be after start {self.start}")
        stage_names = {s.name for s in self.programme.stages}
        for name, o in self.origins.items():
            bad = set(o.initial_stock) - stage_names
            if bad:
                raise ValueError(
                    f"origins.{name}.initial_stock names unknown stage(s) {sorted(bad)}; "
                    f"stages are {sorted(stage_names)}"
                )
            bad = set(o.continue_prob) - stage_names
            if bad:
                raise ValueError(
                    f"origins.{name}.continue_prob names unknown stage(s) {sorted(bad)}; "
                    f"stages are {sorted(stage_names)}"
                )
        self._segments(stage_names)
        self._debt_within_fee()
        if self.money.remit_share + self.money.repay_share > 1:
            raise ValueError("money: remit_share + repay_share must be at most 1")
        share = sum(s.share for s in self.sectors.values())
        if abs(share - 1.0) > 1e-6:
            raise ValueError(f"sectors: shares must sum to 1, they sum to {share:.6f}")
        names = [ev.name for ev in self.events if ev.name is not None]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"events: names must be unique, {twice[0]!r} is used twice")
        for i, ev in enumerate(self.events):
            where = f"events.{ev.name or i} ({ev.type} on {ev.date})"
            if not (self.start <= ev.date <= self.end):
                raise ValueError(f"{where}: date is outside the run {self.start}..{self.end}")
            end = getattr(ev, "end", None)
            if end is not None and end < ev.date:
                raise ValueError(f"{where}: end {end} is before date {ev.date}")
            eligible = getattr(ev, "eligible_on", None)
            if eligible is not None and not (self.start <= eligible <= ev.date):
                raise ValueError(
                    f"{where}: eligible_on {eligible} is not between the run's start "
                    f"{self.start} and the event's date"
                )
            c = getattr(ev, "corridor", None)
            if c is not None and not (c in self.origins or (c == "all" and ev.type == "border")):
                raise ValueError(
                    f"{where}: corridor {c!r} is not an origin ({', '.join(self.origins)})"
                )
            for o in getattr(ev, "origins", None) or []:
                if o not in self.origins:
                    raise ValueError(f"{where}: origin {o!r} is not one of {list(self.origins)}")
            for s in getattr(ev, "sectors", None) or []:
                if s not in self.sectors:
                    raise ValueError(f"{where}: sector {s!r} is not one of {list(self.sectors)}")
            for s in getattr(ev, "segments", None) or []:
                if s not in self.segments:
                    raise ValueError(f"{where}: segment {s!r} is not one of {list(self.segments)}")
        need = self.behaviour.dismissal_labour_need
        for s in need.exposure if need is not None else []:
            if s not in self.sectors:
                raise ValueError(
                    f"behaviour.dismissal_labour_need.exposure: sector {s!r} is not one of "
                    f"{list(self.sectors)}"
                )
        for g in need.exposure_segments if need is not None else []:
            if g not in self.segments:
                raise ValueError(
                    f"behaviour.dismissal_labour_need.exposure_segments: segment {g!r} is not one "
                    f"of {list(self.segments)}"
                )
        if self.routes is not None:
            self._routes_replace()
        if self.origins_market is not None and self.origins_market.fees:
            self._market_currency()
        response = self.recruitment.demand_response
        if response is not None:
            if self.behaviour.runaway_labour_market is None:
                raise ValueError(
                    "recruitment.demand_response: needs behaviour.runaway_labour_market (its index)"
                )
            if response.base_year not in self.recruitment.demand:
                raise ValueError(
                    f"recruitment.demand_response.base_year: {response.base_year} is not a year "
                    "of recruitment.demand"
                )
        for section in ("shelters", "emergency_funds"):
            for i, item in enumerate(getattr(self, section)):
                first, last = item.start or self.start, item.end or self.end
                if first > self.end:
                    raise ValueError(
                        f"{section}.{i}.start: {first} is after the run ends ({self.end})"
                    )
                if last < first:
                    raise ValueError(f"{section}.{i}.end: {last} is before its start {first}")
        restricted = sum(s.restricted for s in self.shelters)
        if restricted > MAX_RESTRICTED_SHELTERS:  # an agent's pool is kept in one byte
            raise ValueError(
                f"shelters: {restricted} shelters take in only some (origins, segments or sex); "
                f"at most {MAX_RESTRICTED_SHELTERS}"
            )
        for i, shelter in enumerate(self.shelters):
            for o in shelter.origins or []:
                if o not in self.origins:
                    raise ValueError(
                        f"shelters.{i}.origins: {o!r} is not an origin ({', '.join(self.origins)})"
                    )
            for g in shelter.segments or []:
                if g not in self.segments:
                    raise ValueError(
                        f"shelters.{i}.segments: {g!r} is not a segment "
                        f"({', '.join(self.segments) or 'the scenario has none'})"
                    )
        return self

    def _segments(self, stage_names: set[str]) -> None:
        """Every origin lists the scenario's segments it has, with shares summing to one."""
        names = list(self.segments)
        for name, o in self.origins.items():
            where = f"origins.{name}.segments"
            if not names:
                if o.segments:
                    raise ValueError(f"{where}: the scenario has no segments section")
                continue
            if not o.segments:
                raise ValueError(f"{where}: missing; give this origin's share of {names}")
            bad = [s for s in o.segments if s not in self.segments]
            if bad:
                raise ValueError(f"{where}.{bad[0]}: not a segment ({', '.join(names)})")
            if o.initial_stock:
                raise ValueError(
                    f"origins.{name}.initial_stock: with segments, give the stock of each "
                    f"segment ({where}.NAME.initial_stock)"
                )
            for seg_name, seg in o.segments.items():
                for key in ("initial_stock", "continue_prob"):
                    bad = set(getattr(seg, key) or {}) - stage_names
                    if bad:
                        raise ValueError(
                            f"{where}.{seg_name}.{key} names unknown stage(s) {sorted(bad)}; "
                            f"stages are {sorted(stage_names)}"
                        )
            tables = [seg.share_by_year() for seg in o.segments.values()]
            years = sorted(
                {y for seg in o.segments.values() if isinstance(seg.share, dict) for y in seg.share}
            )
            for year in years or [None]:
                total = sum(_interpolate(t, year or 2000) for t in tables)
                if abs(total - 1.0) > 1e-6:
                    when = f" in {year}" if year else ""
                    raise ValueError(
                        f"{where}: shares must sum to 1, they sum to {total:.6f}{when}"
                    )
        for seg_name, seg in self.segments.items():
            bad = set(seg.continue_prob or {}) - stage_names
            if bad:
                raise ValueError(
                    f"segments.{seg_name}.continue_prob names unknown stage(s) {sorted(bad)}; "
                    f"stages are {sorted(stage_names)}"
                )

    def _debt_within_fee(self) -> None:
        """Every origin's (and segment's) ``debt_mean`` is within ``DEBT_PER_FEE_MAX`` × its fee.

        Read as each profile's terms resolve (the origin's entry for a segment, then the
        segment, then the origin): the error names the key that sets the debt, and the fee's.
        Not checked where the sending market sets the fees (``origins_market.fees``): its fees
        and debts replace the origins' own.
        """
        if self.origins_market is not None and self.origins_market.fees:
            return
        for name, origin in self.origins.items():
            chains = [[(f"origins.{name}", origin)]]
            chains += [
                [
                    (f"origins.{name}.segments.{seg}", own),
                    (f"segments.{seg}", self.segments[seg]),
                    (f"origins.{name}", origin),
                ]
                for seg, own in origin.segments.items()  # every one named (``_segments``)
            ]
            for chain in chains:
                debt_key, debt = _first_set(chain, "debt_mean")
                fee_key, fee = _first_set(chain, "fee_mean")
                if debt == 0 or (fee > 0 and debt / fee <= DEBT_PER_FEE_MAX):
                    continue
                why = (
                    "a borrower's debt at departure is drawn as their own fee times debt_mean / "
                    f"fee_mean, held to at most {DEBT_PER_FEE_MAX:g} times that fee, so this "
                    "debt_mean would be cut without a word"
                )
                if fee == 0:
                    raise ValueError(
                        f"{debt_key}.debt_mean: {debt:,.10g} with {fee_key}.fee_mean 0: nobody "
                        "pays a fee, so nobody borrows for one; set debt_mean 0 or give the fee"
                    )
                raise ValueError(
                    f"{debt_key}.debt_mean: {debt:,.10g} is more than {DEBT_PER_FEE_MAX:g} × "
                    f"{fee_key}.fee_mean ({fee:,.10g} × {DEBT_PER_FEE_MAX:g} = "
                    f"{fee * DEBT_PER_FEE_MAX:,.10g}): {why}; lower debt_mean or raise fee_mean"
                )

    def _routes_replace(self) -> None:
        """With ``routes``, decisions replace the fixed onward probabilities.

        Dated grant_status, job_change and status_switch events still act beside the routes (a
        policy lever or shock may add them); the flagship's routes replace its own.
        """
        if self.programme.onward:
            raise ValueError(
                "routes: the routes section replaces the fixed onward probabilities; "
                "remove programme.onward (state the onward statuses under routes.onward)"
            )
        # Going on to the next stage is the next_stage route's choice: a continue_prob would
        # be silently ignored, so it is refused (as a calibration parameter it would be inert).
        stated = [
            f"programme.stages.{i}.continue_prob"
            for i, st in enumerate(self.programme.stages)
            if st.continue_prob  # 0, the default, is the only value that says nothing
        ]
        stated += [f"origins.{n}.continue_prob" for n, o in self.origins.items() if o.continue_prob]
        stated += [
            f"segments.{n}.continue_prob" for n, g in self.segments.items() if g.continue_prob
        ]
        stated += [
            f"origins.{n}.segments.{g}.continue_prob"
            for n, o in self.origins.items()
            for g, seg in o.segments.items()
            if seg.continue_prob
        ]
        if stated:
            raise ValueError(
                "routes: the routes section decides who goes on to the next stage "
                f"(routes.next_stage), so {stated[0]} would not be read; remove it"
                + (f" (and {len(stated) - 1} more continue_prob keys)" if len(stated) > 1 else "")
            )
        stages = [s.name for s in self.programme.stages]
        for name in self.routes.next_stage.after_failed_exam:
            if name not in stages[1:]:
                raise ValueError(
                    f"routes.next_stage.after_failed_exam: {name!r} is not a stage after the "
                    f"first (stages: {stages})"
                )
        for r in self.routes.onward:
            if r.after_stage not in stages:
                raise ValueError(
                    f"routes.onward {r.name}: after_stage {r.after_stage!r} is not a stage"
                )
            bad = [f for f in r.fields if f not in self.sectors]
            if bad:
                raise ValueError(f"routes.onward {r.name}: fields {bad} are not sectors")
        for kind in ("onward", "bridges", "job_changes"):
            for r in getattr(self.routes, kind):
                bad = [o for o in r.origins or () if o not in self.origins]
                if bad:
                    raise ValueError(
                        f"routes.{kind} {r.name}: origins {bad} are not origins of the scenario "
                        f"({sorted(self.origins)})"
                    )
        if self.routes.earnings_gap is not None:
            self._earnings_gap()

    def _earnings_gap(self) -> None:
        """The earnings gap needs a series for every origin it names and the host's currency."""
        from tmpsim.model.earnings_gap import countries_of  # the sourced series' reader
        from tmpsim.model.origin_inputs import fx_per_usd

        countries_of(self.routes.earnings_gap, list(self.origins))
        try:
            fx_per_usd(self.currency, [self.start.year])
        except KeyError as exc:
            raise ValueError(
                f"currency: routes.earnings_gap converts the host's pay at its exchange rate: "
                f"{exc.args[0]}"
            ) from None

    def _market_currency(self) -> None:
        """The market's fees (US dollars) are taken at the scenario currency's yearly rate."""
        from tmpsim.model.origin_inputs import fx_per_usd

        try:
            fx_per_usd(self.currency, [self.start.year])
        except KeyError as exc:
            raise ValueError(
                "currency: origins_market.fees converts the market's fees (US dollars) at its "
                f"exchange rate (or set fees: false): {exc.args[0]}"
            ) from None

    @property
    def n_days(self) -> int:
        """Days simulated, both ends included."""
        return (self.end - self.start).days + 1

    def day(self, d: dt.date) -> int:
        """Index of a date in the run (0 = start)."""
        return (d - self.start).days

    def date(self, day: int) -> dt.date:
        """The date of a day index of the run (the inverse of :meth:`day`)."""
        return self.start + dt.timedelta(days=day)
