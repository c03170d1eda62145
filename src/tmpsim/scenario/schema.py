"""The scenario schema: every parameter of the model, validated strictly.

A scenario is plain data (YAML). Unknown keys, wrong types, impossible dates and references to
unknown origins are rejected with the key path. Programme rules (stages, job change, welfare,
cancellations, special measures) are data here, so a new programme is a new file, not new code.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tmpsim.calibration.spec import CalibrationSpec
from tmpsim.kinds import HAZARD_BY_NAME, STATE_BY_NAME, STATE_NAMES  # noqa: F401 (re-exported)
from tmpsim.scenario.routes_schema import BacklogSpec, RoutesSpec

NonNeg = Annotated[float, Field(ge=0)]
Prob = Annotated[float, Field(ge=0, le=1)]
PosInt = Annotated[int, Field(gt=0)]

# States and hazards an event or rule may name (derived from the kinds).
StateName = Literal[tuple(STATE_NAMES)]  # type: ignore[valid-type]
HazardName = Literal[tuple(HAZARD_BY_NAME)]  # type: ignore[valid-type]


class Strict(BaseModel):
    """Base model: unknown keys are errors, values are not silently coerced across types."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Origin(Strict):
    """A sending country and its corridor to the host."""

    initial_stock: dict[str, NonNeg] = Field(
        default_factory=dict,
        description="Workers in the host at the start, by stage name.",
    )
    demand_share: dict[int, Prob] = Field(
        description="Share of the programme's new entries from this origin, by year (interpolated)."
    )
    female_share: Prob = 0.4
    age_mean: Annotated[float, Field(ge=15, le=60)] = 24.0
    age_sd: NonNeg = 4.0
    fee_pay_share: Prob = Field(0.85, description="Share who pay the sending agency and brokers.")
    fee_mean: NonNeg = Field(description="Mean fee paid by those who pay (host currency).")
    fee_cv: NonNeg = 0.5
    borrow_share: Prob = Field(description="Share of fee payers who borrow.")
    debt_mean: NonNeg = Field(description="Mean debt at departure of those who borrow.")
    loan_interest_per_year: NonNeg = 0.0
    runaway_rate_per_year: NonNeg = Field(description="Base hazard of leaving the employer.")
    continue_prob: dict[str, Prob] = Field(
        default_factory=dict,
        description="Chance of moving on after a stage, by stage name, for this origin "
        "(replaces the stage's continue_prob).",
    )
    language_mean: Prob = 0.3
    network_mean: Prob = 0.3
    training_days: PosInt = 150
    clearance_days: PosInt = 60
    return_ticket: NonNeg = 50000.0


class Sector(Strict):
    """An employer sector: share of demand, wage level and dismissal risk."""

    share: Prob
    wage_factor: NonNeg = 1.0
    dismissal_rate_per_year: NonNeg = 0.02
    job_change_after_years: NonNeg | None = Field(
        None,
        description="With job-change mode free: years with one employer before a voluntary "
        "change in this sector (field-specific rules); None uses programme.job_change.",
    )


class Stage(Strict):
    """One stage of the programme's contract ladder."""

    name: str
    months: Annotated[float, Field(gt=0)]
    continue_prob: Prob = Field(0.0, description="Chance of moving on to the next stage.")
    home_visit_days: Annotated[int, Field(ge=0)] = Field(
        0, description="Home visit required before this stage begins."
    )
    available_from: dt.date | None = Field(None, description="Stage exists from this date on.")
    runaway_factor: NonNeg = Field(
        1.0, description="Runaway hazard multiplier for people whose current stage is this one."
    )


class OnwardStatus(Strict):
    """Switch to another residence status when a stage ends without continuing."""

    after_stage: str
    prob: Prob
    start: dt.date | None = None


class Cancellation(Strict):
    """A rule that cancels the permit (pregnancy, marriage without approval...)."""

    name: str
    rate_per_year: NonNeg
    females_only: bool = False
    detection_interval_days: Annotated[int, Field(ge=0)] = Field(
        0, description="Found at the next periodic check (0 = at once)."
    )


class JobChange(Strict):
    """When a worker may change employer."""

    mode: Literal["forbidden", "on_dismissal", "free"] = "on_dismissal"
    free_after_years: NonNeg = Field(0.0, description="With mode free: years before changing.")
    voluntary_rate_per_year: NonNeg = Field(
        0.0, description="With mode free: rate of voluntary changes once allowed."
    )
    runaway_diverted: Prob = Field(
        0.5, description="Share of would-be runaways who change employer instead, when free."
    )
    needs_sponsor_consent: bool = False
    sponsor_consent_prob: Prob = 1.0


class Programme(Strict):
    """The programme's rules, as data."""

    name: str
    stages: list[Stage] = Field(min_length=1)
    renewals: Annotated[int, Field(ge=0)] = Field(
        0, description="Times the last stage may be renewed."
    )
    renewal_prob: Prob = 0.0
    max_stay_years: Annotated[float, Field(gt=0)] | None = None
    grace_days: Annotated[int, Field(ge=0)] = Field(
        90, description="Days a jobless worker keeps status while looking for an employer."
    )
    job_change: JobChange = Field(default_factory=JobChange)
    welfare_eligible: bool = False
    family_allowed: bool = False
    onward: list[OnwardStatus] = Field(default_factory=list)
    cancellations: list[Cancellation] = Field(default_factory=list)
    exit_needs_sponsor: bool = False
    sponsor_exit_delay_days: NonNeg = Field(0.0, description="Mean days for an exit permit.")
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
        return self


class Recruitment(Strict):
    """Demand for new workers and how the sending side fills it."""

    demand: dict[int, NonNeg] = Field(description="Entries employers demand per year.")
    applicants_per_place: Annotated[float, Field(ge=1)] = 1.5
    pool_wait_days: PosInt = 180
    selection_interval_days: PosInt = 7
    age_min: float = 18.0
    age_max: float = 40.0
    aptitude_min: Prob = 0.0
    training_dropout: Prob = 0.02


class Supervision(Strict):
    """Supervising organisations: how much they help a jobless worker."""

    proactivity_mean: Prob = 0.4
    proactivity_concentration: Annotated[float, Field(gt=0)] = 4.0
    job_search_rate_per_year: NonNeg = Field(
        4.0, description="Rate of finding an employer with full help and full information."
    )
    proactivity_floor: Prob = 0.2


class Information(Strict):
    """Chance of hearing of a job: language, network and policy."""

    base: Prob = 0.2
    language_weight: NonNeg = 0.5
    network_weight: NonNeg = 0.3
    own_language_info: bool = Field(False, description="Job information in workers' languages.")
    own_language_level: Prob = 0.8


class Money(Strict):
    """Wages, costs, remittances and savings (host currency per month unless stated)."""

    wage_per_month: NonNeg
    net_share: Prob = 0.8
    living_cost_per_month: NonNeg = 70000.0
    subsistence_cost_per_month: NonNeg = 50000.0
    remit_share: Prob = 0.6
    repay_share: Prob = 0.4  # with remit_share's default, at most 1 as _consistent requires
    irregular_wage_factor: NonNeg = 0.7
    special_wage_factor: NonNeg = 0.9
    initial_savings_mean: NonNeg = 30000.0


class Shelter(Strict):
    """A provider of housing for destitute workers, with a capacity."""

    name: str
    capacity: NonNeg = 0.0
    per_employed: NonNeg = Field(0.0, description="Extra places per employed worker (friends).")
    start: dt.date | None = None
    end: dt.date | None = None


class EmergencyFund(Strict):
    """Civil-society emergency money paid to destitute workers."""

    name: str
    amount: NonNeg
    budget_per_month: NonNeg
    start: dt.date | None = None
    end: dt.date | None = None


class LabourMarket(Strict):
    """A yearly index of the host's labour market that scales the runaway hazard.

    Leaving the employer pays when irregular work is easy to find: the runaway hazard is
    multiplied by ``(index[year] / reference) ** elasticity``. Years before the first or after the
    last of the index take the nearest year's value. With elasticity 0 it has no effect.
    """

    index: dict[int, Annotated[float, Field(gt=0)]] = Field(
        min_length=1,
        description="Index value by calendar year (e.g. the jobs-to-applicants ratio).",
    )
    reference: Annotated[float, Field(gt=0)] = Field(
        1.0, description="Index value at which the base runaway rates apply (factor 1)."
    )
    elasticity: NonNeg = Field(
        0.0, description="How strongly the runaway hazard follows the index (0: not at all)."
    )
    source: str = ""

    @model_validator(mode="after")
    def _years(self) -> LabourMarket:
        for y in self.index:
            if not 1900 < y < 2200:
                raise ValueError(f"index: year {y} is not a plausible year")
        years = sorted(self.index)
        missing = sorted(set(range(years[0], years[-1] + 1)) - set(years))
        if missing:
            raise ValueError(f"index: no value for {missing[0]} (give every year in the range)")
        return self

    def value(self, year: int) -> float:
        """The index in a calendar year (the nearest year's value outside the series)."""
        years = sorted(self.index)
        return self.index[min(max(year, years[0]), years[-1])]

    def factor(self, year: int) -> float:
        """Multiplier of the runaway hazard in a calendar year."""
        if self.elasticity == 0:
            return 1.0
        return (self.value(year) / self.reference) ** self.elasticity


class Behaviour(Strict):
    """How workers respond to debt, joblessness, the labour market and enforcement."""

    runaway_debt_elasticity: NonNeg = Field(
        1.0, description="Runaway hazard rises with debt relative to a year's net wage."
    )
    runaway_no_income_factor: NonNeg = Field(
        3.0, description="Runaway hazard multiplier while without income."
    )
    apprehension_rate_per_year: NonNeg = Field(
        0.25, description="Rate at which irregular workers are caught and deported."
    )
    runaway_labour_market: LabourMarket | None = Field(
        None,
        description="Yearly labour-market index scaling the runaway hazard (None: no effect).",
    )


class Borders(Strict):
    """Normal daily seat capacity per corridor and direction, before any event."""

    seats_in_per_day: NonNeg = 5000.0
    seats_out_per_day: NonNeg = 5000.0
    entry_cap_per_day: NonNeg | None = None


# ---- dated events -------------------------------------------------------------------------


class _Event(Strict):
    date: dt.date
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
    seats_per_day: NonNeg


class EntryCapEvent(_Event):
    """A host-wide cap on the programme's new entries per day (None lifts it)."""

    type: Literal["entry_cap"]
    per_day: NonNeg | None


class FlightEvent(_Event):
    """A repatriation (or charter) flight: extra outbound seats on one day."""

    type: Literal["flight"]
    corridor: str
    seats: NonNeg


class HazardEvent(_Event):
    """Multiply a hazard from `date` to `end` (for some sectors or origins)."""

    type: Literal["hazard"]
    hazard: HazardName
    multiplier: NonNeg
    end: dt.date | None = None
    sectors: list[str] | None = None
    origins: list[str] | None = None


class GrantStatusEvent(_Event):
    """Move people in some states to another state after a delay (a special status)."""

    type: Literal["grant_status"]
    from_states: list[StateName]
    to_state: StateName
    delay_days: Annotated[int, Field(ge=0)] = 0
    months: Annotated[float, Field(gt=0)] = 6.0
    end: dt.date | None = None


class JobChangeEvent(_Event):
    """Allow job change for people in some states, into a given state."""

    type: Literal["job_change"]
    states: list[StateName]
    to_state: StateName
    rate_multiplier: NonNeg = 1.0
    months: Annotated[float, Field(gt=0)] = Field(
        12.0, description="Length of the status given to jobless workers who take this route."
    )
    end: dt.date | None = None


class StatusSwitchEvent(_Event):
    """Open a route from some states to another status at a rate per year."""

    type: Literal["status_switch"]
    from_states: list[StateName]
    rate_per_year: NonNeg
    end: dt.date | None = None


class CashPaymentEvent(_Event):
    """A one-off payment to every registered resident in the listed states."""

    type: Literal["cash_payment"]
    amount: NonNeg
    states: list[StateName]


class RecruitmentEvent(_Event):
    """Scale recruitment (selection of new workers) from `date` to `end`."""

    type: Literal["recruitment"]
    multiplier: NonNeg
    end: dt.date | None = None


class RuleEvent(_Event):
    """Change programme rules from a date on (e.g. a new system replacing the old)."""

    type: Literal["rule"]
    welfare_eligible: bool | None = None
    job_change_mode: Literal["forbidden", "on_dismissal", "free"] | None = None
    grace_days: Annotated[int, Field(ge=0)] | None = None


Event = Annotated[
    BorderEvent
    | EntryCapEvent
    | FlightEvent
    | HazardEvent
    | GrantStatusEvent
    | JobChangeEvent
    | StatusSwitchEvent
    | CashPaymentEvent
    | RecruitmentEvent
    | RuleEvent,
    Field(discriminator="type"),
]


class Headline(Strict):
    """A headline figure: the mean of a daily metric over a window, and what was observed.

    The summary reports it under ``name`` when the run covers part of the window; figures of the
    metric mark the ``reference`` value on ``reference_date`` with ``reference_label``.
    """

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str = Field(description="Plain-language label of the figure in tables.")
    metric: str = Field(description="A daily metric of series.parquet (all origins).")
    start: dt.date
    end: dt.date
    reference: NonNeg | None = Field(None, description="Observed value to compare with.")
    reference_date: dt.date | None = None
    reference_label: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _window(self) -> Headline:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.reference is not None and self.reference_date is None:
            raise ValueError("a reference needs its reference_date")
        return self


class Scenario(Strict):
    """A complete, validated scenario."""

    name: str
    description: str = ""
    start: dt.date
    end: dt.date
    host: str = Field("", description="Host country, as observed data name it (empty: unnamed).")
    currency: str = Field(
        "currency units", description="Currency of every money amount, as figures print it."
    )
    origins: dict[str, Origin] = Field(min_length=1)
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
        if self.money.remit_share + self.money.repay_share > 1:
            raise ValueError("money: remit_share + repay_share must be at most 1")
        share = sum(s.share for s in self.sectors.values())
        if abs(share - 1.0) > 1e-6:
            raise ValueError(f"sectors: shares must sum to 1, they sum to {share:.6f}")
        for i, ev in enumerate(self.events):
            where = f"events.{i} ({ev.type} on {ev.date})"
            if not (self.start <= ev.date <= self.end):
                raise ValueError(f"{where}: date is outside the run {self.start}..{self.end}")
            end = getattr(ev, "end", None)
            if end is not None and end < ev.date:
                raise ValueError(f"{where}: end {end} is before date {ev.date}")
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
        if self.routes is not None:
            self._routes_replace()
        for y in self.recruitment.demand:
            if not 1900 < y < 2200:
                raise ValueError(f"recruitment.demand: year {y} is not a plausible year")
        return self

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
        if self.programme.renewals:
            raise ValueError("routes: programmes with renewals are not supported with routes yet")
        stages = [s.name for s in self.programme.stages]
        for r in self.routes.onward:
            if r.after_stage not in stages:
                raise ValueError(
                    f"routes.onward {r.name}: after_stage {r.after_stage!r} is not a stage"
                )
            bad = [f for f in r.fields if f not in self.sectors]
            if bad:
                raise ValueError(f"routes.onward {r.name}: fields {bad} are not sectors")

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
