"""The ``routes`` and ``backlog`` sections of a scenario: decisions at turning points.

The routes' rules and utilities are read by ``tmpsim.model.routes`` (the chooser) and
``tmpsim.model.turning_points`` (the module that asks people to choose); the backlog's rate by
``tmpsim.model.backlog``.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Prob = Annotated[float, Field(ge=0, le=1)]
Source = Annotated[
    str, Field(min_length=1, description="A citation, 'assumed: why' or 'calibrated: how'.")
]
TurningPointName = Literal["contract_end", "dismissal", "stranded", "status_expiry"]
Feature = Literal[
    "savings",
    "debt",
    "language",
    "network",
    "age",
    "years_left",
    "support",
    "information",
    "offer",
    "no_seat",
    "earnings_gap",
    "peers_onward",
]
FEATURES: tuple[str, ...] = Feature.__args__  # type: ignore[attr-defined]


# The decision rules' keys that ``rules_source`` gives the source of.
RULES_SOURCED = (
    "review_days",
    "seat_wait_days",
    "seat_rule",
    "offer_rate",
    "exam_pass",
    "plan_lead_days",
)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Utility(_Spec):
    """A route's utility: an intercept and coefficients on the person's features, with a source."""

    intercept: float = 0.0
    coef: dict[Feature, float] = Field(default_factory=dict)
    source: str = Field(
        min_length=1,
        description="Where the values come from: a citation, 'assumed: why' or 'calibrated: how'.",
    )


class Home(Utility):
    """Going home: needs the ticket (paid by the sponsor or from savings).

    Without a seat today, going home means joining (or keeping a place in) the return queue:
    stranded until a seat comes. The ``no_seat`` feature lets waiting weigh against the home route.
    """

    ticket_paid_by_sponsor: bool = False
    ticket: float = Field(0.0, ge=0, description="Ticket price, when the person pays it.")


class Excellent(_Spec):
    """Only supervising organisations rated excellent may run a stage.

    ``share`` is the share of supervising organisations holding the rating (the licence to run
    the stage) on each date, linear between the dates and held before the first and after the
    last. The organisations rated are the most supportive ones (the rating scores the help given
    to trainees and their exam results): a person's organisation holds it on a date when its
    proactivity is in the top ``share`` of the supervision's proactivity law.
    """

    stage: str = Field(min_length=1, description="The stage that needs the rating.")
    share: dict[str, Prob] = Field(
        min_length=1, description="Rated share by date (YYYY-MM-DD keys)."
    )
    source: Source

    @model_validator(mode="after")
    def _dates(self) -> Excellent:
        for key in self.share:
            try:
                dt.date.fromisoformat(key)
            except ValueError:
                raise ValueError(f"excellent.share: {key!r} is not a date (YYYY-MM-DD)") from None
        return self

    def share_on(self, date: dt.date) -> float:
        """The rated share on ``date`` (linear between the stated dates)."""
        points = _dated_points(tuple(self.share.items()))
        if date <= points[0][0]:
            return points[0][1]
        if date >= points[-1][0]:
            return points[-1][1]
        nxt = next(i for i, (d, _) in enumerate(points) if d > date)
        (a, va), (b, vb) = points[nxt - 1], points[nxt]
        return va + (date - a).days / (b - a).days * (vb - va)


class NextStage(Utility):
    """The programme's next stage at the end of a stage's contract."""

    visit_deferred_when_closed: bool = Field(
        True, description="A stage needing a home visit stays open without a seat (visit later)."
    )
    by_stage: dict[str, float] = Field(
        default_factory=dict,
        description="Added to the intercept when the stage entered has this name.",
    )
    after_bridge: bool = Field(
        False,
        description="Also open when a bridging status runs out for someone who completed a stage.",
    )
    excellent: Excellent | None = Field(
        None, description="A stage open only under a supervising organisation rated excellent."
    )
    after_failed_exam: list[str] = Field(
        default_factory=list,
        description="Stages entered only by those who failed the exam at the end of the stage "
        "before (a year to sit it again); the other stages need the exam passed.",
    )


class Dated(Utility):
    """A route that the rules open between two dates, at stated turning points."""

    name: str = Field(min_length=1)
    start: dt.date | None = None
    end: dt.date | None = Field(None, description="Last day the route is open (inclusive).")
    at: list[TurningPointName] = Field(min_length=1)
    origins: list[str] | None = Field(
        None,
        min_length=1,
        description="Only for people of these origins (a measure for one nationality); "
        "null: for everyone.",
    )

    def in_force(self, date: dt.date) -> bool:
        """Whether the route is open on ``date`` (between its start and end, inclusive)."""
        return (self.start is None or self.start <= date) and (self.end is None or date <= self.end)

    @model_validator(mode="after")
    def _dates(self) -> Dated:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"route {self.name}: end {self.end} is before start {self.start}")
        return self


class Preparation(_Spec):
    """A status held, at work, while the onward status's papers are prepared."""

    months: float = Field(gt=0, description="How long it is held before the onward status.")
    share: Prob = Field(description="Share of those choosing the onward status who hold it.")
    source: Source


class Onward(Dated):
    """Another status for those who completed a stage in one of its fields."""

    after_stage: str
    fields: list[str] = Field(min_length=1, description="Sectors where the status exists.")
    preparation: Preparation | None = Field(
        None,
        description="A share of those choosing it first hold a working special status while "
        "its papers are prepared.",
    )
    needs_exam: bool = Field(
        False,
        description="Open only to those who pass the exam at the turning point (routes.exam_pass: "
        "the same exam as the next stage's, drawn at each decision, so that a person deciding "
        "again sits it again; those who fail it may take a stage of "
        "next_stage.after_failed_exam).",
    )


class FieldTest(_Spec):
    """A test that holders of a special job sit while on it; passing moves them on.

    The test is held in rounds, every ``365.25 / rounds_per_year`` days from the route's start.
    A holder sits every round from the first whose registration (``register_days`` before it)
    closes after the grant, and passes each with ``pass_rate``; ``processing_days`` after the
    round passed (results, then the change of status) the holder moves to the ``onward``
    status, if the special status has not run out.
    """

    onward: str = Field(min_length=1, description="The onward route that passers move to.")
    rounds_per_year: float = Field(gt=0, le=365.25, description="Test rounds a year.")
    pass_rate: Prob = Field(description="Chance of passing at each round sat.")
    register_days: int = Field(
        0, ge=0, le=365, description="Days before a round that its registration closes."
    )
    processing_days: int = Field(
        0, ge=0, le=730, description="Days from the round passed to the new status."
    )
    source: Source


class JobChange(Dated):
    """A special job-change route: a new employer under a special status, for a stated time."""

    months: float = Field(12.0, gt=0)
    renewable: bool = Field(
        False,
        description="Its holders may renew it, for its length, when their status runs out while "
        "the route is in force (a decision then, open to its holders only unless status_expiry "
        "is one of its turning points).",
    )
    test: FieldTest | None = Field(
        None,
        description="A test its holders sit (e.g. an onward status's skills test in the new "
        "field); those who pass move on before the status ends.",
    )


class Bridge(Dated):
    """A bridging status: a stated length, ending at the latest on the measure's end.

    With ``wind_down`` the measure is wound down from that date instead: every status runs its
    own length (none is cut at ``end``); a status granted from ``wind_down`` on, new or renewed,
    runs ``last_months`` and is its holder's last (a person who has had a last status takes no
    bridge with ``last_months`` again), but for renewals granted on or before
    ``wind_down_renewable_until``, which may be renewed once more; ``end`` is the last day of
    any decision to grant it. Holders whose status runs out after ``end`` without having had
    their last status get it then, without a decision.
    """

    months: float = Field(gt=0)
    working: bool
    only_without_seat: bool = Field(True, description="Only for those who cannot leave.")
    renew_with_seat: bool = Field(
        False,
        description="Its holders may renew it when their status runs out while the measure "
        "lasts, whether or not a seat home exists (new grants still follow only_without_seat).",
    )
    last_months: float | None = Field(
        None,
        gt=0,
        description="Length of the last status, which is not renewed: given without a decision "
        "to holders whose status runs out after ``end`` (without ``wind_down``: with the measure, "
        "the statuses being cut at its end), and with ``wind_down`` to every grant from that "
        "date; needs ``end``.",
    )
    wind_down: dt.date | None = Field(
        None,
        description="From this date every grant, new or a renewal at a holder's own expiry, "
        "runs last_months and is the last; the statuses granted before it run their own "
        "length, past ``end``. Needs last_months; between start and end.",
    )
    wind_down_renewable_until: dt.date | None = Field(
        None,
        description="Renewals granted from wind_down to this date (inclusive) run last_months "
        "but may be renewed once more (new grants are the last all the same). Needs wind_down; "
        "between it and end.",
    )
    measure: str | None = Field(
        None,
        min_length=1,
        description="The measure this bridge is one form of (e.g. one status with and without "
        "permission to work): a holder of any bridge of the measure who takes this one at the "
        "end of their status renews the measure's status (its renewal rules, renew_with_seat) "
        "rather than taking it anew. Bridges of one measure share their dates and last_months.",
    )

    @model_validator(mode="after")
    def _last_needs_end(self) -> Bridge:
        if self.last_months is not None and self.end is None:
            raise ValueError(f"route {self.name}: last_months needs the measure's end")
        if self.wind_down is not None:
            if self.last_months is None:
                raise ValueError(
                    f"route {self.name}: wind_down needs last_months (the length of the "
                    "statuses granted from it)"
                )
            if self.start is not None and self.wind_down < self.start:
                raise ValueError(
                    f"route {self.name}: wind_down {self.wind_down} is before start {self.start}"
                )
            if self.wind_down > self.end:  # end is set: last_months needs it
                raise ValueError(
                    f"route {self.name}: wind_down {self.wind_down} is after end {self.end}"
                )
        until = self.wind_down_renewable_until
        if until is not None:
            if self.wind_down is None:
                raise ValueError(f"route {self.name}: wind_down_renewable_until needs wind_down")
            if not self.wind_down <= until <= self.end:
                raise ValueError(
                    f"route {self.name}: wind_down_renewable_until {until} is not between "
                    f"wind_down {self.wind_down} and end {self.end}"
                )
        return self

    def grant(self, granted: dt.date, renewal: bool) -> tuple[dt.date, bool]:
        """The last day of a status granted on ``granted``, and whether it is the last one.

        ``renewal``: granted to a holder of this status at its expiry. Granted after the
        measure's end (decided then on a choice made while it lasted), it runs its
        ``last_months`` (the last), or else its length; from ``wind_down`` likewise (a renewal up
        to ``wind_down_renewable_until`` not the last); before, its length, cut at the measure's
        end unless the measure is wound down.
        """
        after_end = self.end is not None and granted > self.end
        winding = self.wind_down is not None and granted >= self.wind_down
        last = self.last_months is not None and (after_end or winding)
        final = last and not (
            renewal
            and not after_end
            and self.wind_down_renewable_until is not None
            and granted <= self.wind_down_renewable_until
        )
        months = self.last_months if last else self.months
        ends = granted + dt.timedelta(days=max(round(months * 365.25 / 12), 1) - 1)
        if self.end is not None and not after_end and self.wind_down is None:
            ends = min(ends, self.end)
        return ends, final


class Processing(_Spec):
    """The immigration office's time to decide on a change of status.

    A status granted at a turning point (a bridge, a special job, an onward status or the status
    held while its papers are prepared) takes effect ``days`` after the person chose it; until
    then the person keeps the status and the state they had (where the law lets an applicant
    keep the old status, and its activity, until the decision). Renewing the status one holds
    (the route held, or another bridge of its measure) takes effect at once.
    """

    days: float = Field(
        ge=1, le=365, description="Days from the choice to the new status (rounded to a day)."
    )
    source: Source


class EarningsGap(_Spec):
    """The ``earnings_gap`` feature: what a year at work in the host is worth at home.

    For a person of an origin deciding in a year, the log of a year's net pay in the host
    (``money.wage_per_month`` times ``money.net_share``, times twelve), converted to US dollars
    at that year's exchange rate of the scenario's currency, over GDP per capita of the origin's
    country in US dollars that year (``tmpsim/data/origins``: ``exchange_rates.csv``,
    ``gdp_per_capita.csv``), minus ``reference``. Zero is the reference gap; a rising home income or
    a falling host currency lowers it.
    """

    reference: float = Field(
        description="The log earnings ratio at which the feature is zero (the utilities' "
        "intercepts are those of a person at this gap)."
    )
    countries: dict[str, str | None] = Field(
        default_factory=dict,
        description="Country of gdp_per_capita.csv for an origin whose name is not one, or null "
        "for an origin without a series (its people are at the reference gap).",
    )
    expectation_years: int = Field(
        1,
        ge=1,
        le=10,
        description="The gap a person expects is the mean of the log ratio over this many years "
        "up to the year of the decision (1: that year's alone).",
    )
    source: Source


class RoutesSpec(_Spec):
    """The ``routes`` section of a scenario: every route's rule and utility."""

    savings_unit: float = Field(gt=0, description="Savings are counted in months of this amount.")
    debt_unit: float = Field(gt=0, description="Debt is counted in months of this amount.")
    home: Home
    next_stage: NextStage
    irregular: Utility
    onward: list[Onward] = Field(default_factory=list)
    bridges: list[Bridge] = Field(default_factory=list)
    job_changes: list[JobChange] = Field(default_factory=list)
    review_days: int = Field(
        30,
        ge=1,
        description="The stranded decide after this many days in the return queue, and again "
        "every this many days while they wait.",
    )
    seat_wait_days: float = Field(
        14.0,
        gt=0,
        description="A seat home counts as available when the corridor's return queue clears "
        "within this many days at today's outbound seats.",
    )
    seat_rule: Literal["whole_corridor", "seat_capacity"] = Field(
        "whole_corridor",
        description="When the bridged (those who chose a bridge because they could not return) "
        "stop counting as stranded, at a month end: all of a corridor's once it has a seat home "
        "(whole_corridor), or as many as its seats carry within seat_wait_days beyond its return "
        "queue, in the order they came (seat_capacity).",
    )
    offer_rate: Prob = Field(
        0.5, description="Chance that the employer offers to keep a person whose contract ends."
    )
    exam_pass: Prob = Field(
        1.0,
        description="Chance of passing the exam at the end of a stage (needed for the next "
        "stage and for an onward status with needs_exam).",
    )
    plan_lead_days: int = Field(
        0,
        ge=0,
        le=730,
        description="The next stage's plan (and the onward status's papers) are filed this many "
        "days before the contract ends: the employer's offer reads the unfilled places measured "
        "that many days before.",
    )
    earnings_gap: EarningsGap | None = Field(
        None,
        description="How the earnings_gap feature is computed (needed when a route uses it).",
    )
    processing: Processing | None = Field(
        None,
        description="Time to decide on a change of status (null: a chosen status is held at once).",
    )
    rules_source: str = Field(
        "assumed",
        min_length=1,
        description=f"Source of {', '.join(RULES_SOURCED)}.",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> RoutesSpec:
        names = [r.name for r in [*self.onward, *self.bridges, *self.job_changes]]
        fixed = {"home", "next_stage", "irregular"}
        dup = sorted({n for n in names if names.count(n) > 1 or n in fixed})
        if dup:
            raise ValueError(f"route names must be unique and not home/next_stage/irregular: {dup}")
        onward = [r.name for r in self.onward]
        for r in self.job_changes:
            if r.test is not None and r.test.onward not in onward:
                raise ValueError(
                    f"routes.job_changes {r.name}: test.onward {r.test.onward!r} is not an onward "
                    f"route (the onward routes: {onward})"
                )
        if self.earnings_gap is None:
            routes = {"home": self.home, "next_stage": self.next_stage, "irregular": self.irregular}
            routes |= {r.name: r for r in [*self.onward, *self.bridges, *self.job_changes]}
            using = [n for n, r in routes.items() if "earnings_gap" in r.coef]
            if using:
                raise ValueError(
                    f"routes.{using[0]}.coef.earnings_gap: the feature needs a routes.earnings_gap "
                    "section (its reference and the origins' countries)"
                )
        return self

    @model_validator(mode="after")
    def _measures_agree(self) -> RoutesSpec:
        """Bridges of one measure grant one status: the same dates and last status."""
        shared = ("start", "end", "last_months", "wind_down", "wind_down_renewable_until")
        first: dict[str, Bridge] = {}
        for r in self.bridges:
            if r.measure is None:
                continue
            ref = first.setdefault(r.measure, r)
            for key in shared:
                if getattr(r, key) != getattr(ref, key):
                    raise ValueError(
                        f"routes.bridges {r.name}: {key} {getattr(r, key)} differs from "
                        f"{getattr(ref, key)} of {ref.name}, a bridge of the same measure "
                        f"{r.measure!r} (one status: the same dates and last status)"
                    )
        return self


class BacklogSpec(_Spec):
    """The ``backlog`` section: people cleared to enter who wait and partly give up."""

    give_up_per_year: float = Field(
        ge=0, description="Rate (per year) at which those waiting longer than after_days give up."
    )
    after_days: int = Field(0, ge=0, description="Days of waiting before anyone gives up.")
    source: Source


@functools.lru_cache(maxsize=64)
def _dated_points(items: tuple[tuple[str, float], ...]) -> tuple[tuple[dt.date, float], ...]:
    """A table of values by ISO date as (date, value) in date order (read once per table)."""
    return tuple(sorted((dt.date.fromisoformat(k), v) for k, v in items))
