"""Decisions at the turning points: which way out a person takes when the rules open several.

At a turning point (a contract ends, the job is lost, the person is stranded, or a status runs out)
the rules in force open some routes and close others:

- ``home``: go home, if the ticket is paid (by the sponsor where the rules say so, else from
  savings); without a seat today that means waiting in the return queue, stranded;
- ``next_stage``: the programme's next stage, when a stage's contract ends (or, with
  ``after_bridge``, when the bridging status of someone who completed the stage runs out), the next
  stage exists on the date, the exam is passed and, for a stage that needs it
  (``next_stage.excellent``), the person's supervising organisation is rated excellent on the
  date (:func:`rated_excellent`); a stage that needs a home visit first is open
  without a seat when the rules defer the visit; at the end of the last stage's contract the same
  route is a renewal of that stage, open where the programme allows renewals (renewals left, the
  renewal offered, within the longest stay), with the utility of continuing (the ``by_stage`` term
  of the stage renewed);
- ``onward``: another status (e.g. a skilled-worker status) from its start date, for those who
  completed the stated stage in one of the fields where the status exists;
- bridging statuses (any number, each named, dated, for stated turning points, with or without
  work, optionally only for those who cannot leave), and special job-change routes likewise;
- ``irregular``: leave the rules (always open).

Among the open routes the person chooses by a multinomial logit: route ``r`` has utility
``intercept_r + sum_f coef_{r,f} * x_f`` over the person's features ``x`` (savings and debt in
months of a stated unit, language, network, age, years left of the longest stay, the supervising
organisation's support, the information the person has, the employer's offer, the earnings gap
between the host and home in the person's own terms: ``tmpsim.model.earnings_gap``, the share of
the person's compatriots in the host who have already moved on to an onward status), and is chosen
with probability
``exp(V_r) / sum over open routes s of exp(V_s)``. Closed routes have probability zero. Every
parameter comes from the scenario's ``routes`` section (:class:`RoutesSpec`) with its source.

``tmpsim.model.turning_points`` asks people to choose at each turning point (the scenario's
``routes`` section, ``tmpsim.scenario.routes_schema``) and moves them along the chosen route;
with a ``routes`` section these decisions replace the fixed onward probabilities and the dated
grant, job-change and status-switch events. Whole-array operations and compiled passes
(``tmpsim.model.route_kernels``); no Python loop over people.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass

import numpy as np

from tmpsim import cache
from tmpsim.engine.jit import Resolved
from tmpsim.kinds import Kind
from tmpsim.model.beta_law import beta_quantile
from tmpsim.model.route_kernels import (
    DayRules,
    Deciders,
    decide_kernel,
    decide_reference,
    logit_probabilities,
    open_reference,
    utilities_reference,
)
from tmpsim.scenario.routes_schema import (
    FEATURES,
    Bridge,
    Dated,
    Excellent,
    JobChange,
    Onward,
    RoutesSpec,
    Utility,
)
from tmpsim.states import State

__all__ = [
    "POINT_BY_NAME",
    "People",
    "RouteChooser",
    "RoutesSpec",
    "TurningPoint",
    "people_from",
    "rated_excellent",
]


class TurningPoint(Kind):
    """When a person decides."""

    CONTRACT_END = 0
    DISMISSAL = 1
    STRANDED = 2
    STATUS_EXPIRY = 3


POINT_BY_NAME = {p.name.lower(): p for p in TurningPoint}
NO_STAGE = np.iinfo(np.int64).min  # a dated route that needs no stage completed


@dataclass
class People:
    """The people deciding at one turning point, as arrays of equal length."""

    savings: np.ndarray
    debt: np.ndarray
    language: np.ndarray
    network: np.ndarray
    age: np.ndarray
    years_left: np.ndarray
    support: np.ndarray
    """The supervising organisation's proactivity (0-1)."""
    information: np.ndarray
    """Chance of hearing of a route (the information module's, from language and network)."""
    offer: np.ndarray
    """1 when the employer offers to keep the person (next stage, or the onward status)."""
    sector: np.ndarray
    """Sector codes, in the order of the scenario's sectors."""
    stage: np.ndarray
    """Current stage index."""
    completed: np.ndarray
    """Index of the last stage completed (-1 for none)."""
    seat: np.ndarray
    """Whether a seat home is available to the person today."""
    passed_exam: np.ndarray
    """Whether the person passed the exam at the end of the stage (the next stage needs it
    passed, a stage of resits failed, an onward status with ``needs_exam`` passed)."""
    next_fits: np.ndarray | None = None
    """Whether the next stage's contract would end within the longest stay (None: all do)."""
    renew: np.ndarray | None = None
    """Whether the rules let the person renew the last stage today (None: no renewals)."""
    excellent: np.ndarray | None = None
    """Whether the person's supervising organisation is rated excellent today (None: all are)."""
    earnings_gap: np.ndarray | None = None
    """Log of a year's net pay in the host over income at home, less a reference (None: zero)."""
    peers_onward: np.ndarray | None = None
    """Share of the person's compatriots in the host who have moved on to an onward status,
    among them and the programme's status holders (None: zero)."""
    origin: np.ndarray | None = None
    """Origin codes, in the order of the chooser's origins (None: all of the first)."""
    route_of: np.ndarray | None = None
    """The route (its index in the chooser's routes) of the status held, -1 for none (None:
    nobody holds one)."""
    had_last: np.ndarray | None = None
    """Whether the person has had a bridge's last status (``Bridge.last_months``): no bridge
    that ends with one is open to them again (None: nobody has)."""

    @property
    def n(self) -> int:
        """Number of people."""
        return int(self.savings.size)

    def features(self, spec: RoutesSpec) -> np.ndarray:
        """The feature matrix [person, feature] in the order of FEATURES."""
        cols = {
            "savings": self.savings / spec.savings_unit,
            "debt": self.debt / spec.debt_unit,
            "language": self.language,
            "network": self.network,
            "age": self.age,
            "years_left": self.years_left,
            "support": self.support,
            "information": self.information,
            "offer": self.offer,
            "no_seat": 1.0 - np.asarray(self.seat, dtype=np.float64),
            "earnings_gap": 0.0 if self.earnings_gap is None else self.earnings_gap,
            "peers_onward": 0.0 if self.peers_onward is None else self.peers_onward,
        }
        out = np.empty((self.n, len(FEATURES)))  # filled column by column (no stacking copy)
        for j, f in enumerate(FEATURES):
            out[:, j] = cols[f]
        return out


class RouteChooser:
    """The routes' rules and utilities, ready to decide for whole arrays of people."""

    def __init__(
        self,
        spec: RoutesSpec,
        stage_names: list[str],
        sector_names: list[str],
        stage_from: list[dt.date | None],
        stage_visit: list[bool],
        origin_names: list[str] | None = None,
    ) -> None:
        self.spec = spec
        self.dated: list[Dated] = [*spec.onward, *spec.bridges, *spec.job_changes]
        self.names = ["home", "next_stage", *(r.name for r in self.dated), "irregular"]
        utilities: list[Utility] = [spec.home, spec.next_stage, *self.dated, spec.irregular]
        self.intercept = np.array([u.intercept for u in utilities])
        self.coef = np.array([[u.coef.get(f, 0.0) for f in FEATURES] for u in utilities])
        self.destination = np.array(
            [
                State.STRANDED,
                State.EMPLOYED,
                *(
                    State.OTHER_STATUS
                    if isinstance(r, Onward)
                    else State.SPECIAL_IDLE
                    if isinstance(r, Bridge) and not r.working
                    else State.SPECIAL_WORKING
                    for r in self.dated
                ),
                State.IRREGULAR,
            ],
            dtype=np.int8,
        )
        self.n_stages = len(stage_names)
        self.stage_from = stage_from
        self.stage_visit = np.array(stage_visit, dtype=bool)
        stage_index = {s: i for i, s in enumerate(stage_names)}
        unknown_stages = sorted(set(spec.next_stage.by_stage) - set(stage_index))
        if unknown_stages:
            raise ValueError(f"next_stage.by_stage: unknown stage(s) {unknown_stages}")
        resits = [s for s in spec.next_stage.after_failed_exam if s not in stage_names[1:]]
        if resits:
            raise ValueError(
                f"next_stage.after_failed_exam: {resits} are not stages after the first"
            )
        self.next_bonus = np.array([spec.next_stage.by_stage.get(s, 0.0) for s in stage_names])
        # Stages open only under an organisation rated excellent (next_stage.excellent).
        self.needs_rating = np.zeros(self.n_stages, dtype=bool)
        rating = spec.next_stage.excellent
        if rating is not None:
            if rating.stage not in stage_index:
                raise ValueError(f"next_stage.excellent: unknown stage {rating.stage!r}")
            self.needs_rating[stage_index[rating.stage]] = True
        sector_index = {s: i for i, s in enumerate(sector_names)}
        self.onward_stage: list[int] = []
        self.onward_fields: list[np.ndarray] = []
        for r in spec.onward:
            if r.after_stage not in stage_index:
                raise ValueError(f"route {r.name}: after_stage {r.after_stage!r} is not a stage")
            unknown = [f for f in r.fields if f not in sector_index]
            if unknown:
                raise ValueError(
                    f"route {r.name}: unknown field(s) {unknown} (sectors: {sector_names})"
                )
            self.onward_stage.append(stage_index[r.after_stage])
            self.onward_fields.append(np.array([sector_index[f] for f in r.fields]))
        # Where each onward status exists, by sector code (a lookup, not a set search per call).
        self.onward_in_field = [
            np.isin(np.arange(len(sector_names)), f) for f in self.onward_fields
        ]
        # Whether each dated route is offered at each turning point: bool [route, point].
        self.dated_at = np.array(
            [[p.name.lower() in r.at for p in TurningPoint] for r in self.dated], dtype=bool
        ).reshape(len(self.dated), len(TurningPoint))
        # A renewable job change is also offered when its holders' status runs out (to them
        # only, unless the status's end is one of its turning points for everyone).
        renewable = np.array(
            [isinstance(r, JobChange) and r.renewable for r in self.dated], dtype=bool
        )
        holders_only = renewable & ~self.dated_at[:, TurningPoint.STATUS_EXPIRY]
        self.dated_at[renewable, TurningPoint.STATUS_EXPIRY] = True
        # The rules as arrays (``DayRules``); the dated parts are filled in for each date.
        n_dated, n_sectors = len(self.dated), len(sector_names)
        in_field = np.ones((n_dated, n_sectors), dtype=bool)
        for k, fields in enumerate(self.onward_in_field):
            in_field[k] = fields
        # For whom each dated route exists, by origin code (``Dated.origins``).
        origins = list(origin_names or [])
        in_origin = np.ones((n_dated, max(len(origins), 1)), dtype=bool)
        for k, r in enumerate(self.dated):
            if r.origins is None:
                continue
            if origin_names is None:
                raise ValueError(f"route {r.name}: is for some origins, but no origins were given")
            unknown = [o for o in r.origins if o not in origins]
            if unknown:
                raise ValueError(
                    f"route {r.name}: unknown origin(s) {unknown} (origins: {origins})"
                )
            in_origin[k] = [o in r.origins for o in origins]
        self._rules = DayRules(
            intercept=self.intercept,
            coef=self.coef,
            next_bonus=self.next_bonus,
            ticket_free=bool(spec.home.ticket_paid_by_sponsor),
            ticket=float(spec.home.ticket),
            next_at=np.array(
                [
                    p is TurningPoint.CONTRACT_END
                    or (p is TurningPoint.STATUS_EXPIRY and spec.next_stage.after_bridge)
                    for p in TurningPoint
                ]
            ),
            stage_open=np.zeros(self.n_stages, dtype=bool),
            stage_visit=self.stage_visit,
            visit_deferred=bool(spec.next_stage.visit_deferred_when_closed),
            needs_rating=self.needs_rating,
            after_fail=np.array(
                [s in spec.next_stage.after_failed_exam for s in stage_names], dtype=bool
            ),
            offered=np.zeros_like(self.dated_at),
            min_completed=np.array(
                [*self.onward_stage, *[NO_STAGE] * (n_dated - len(spec.onward))], dtype=np.int64
            ),
            in_field=in_field,
            in_origin=in_origin,
            without_seat=np.array(
                [isinstance(r, Bridge) and r.only_without_seat for r in self.dated], dtype=bool
            ),
            renew_with_seat=np.array(
                [isinstance(r, Bridge) and r.renew_with_seat for r in self.dated], dtype=bool
            ),
            needs_exam=np.array(
                [isinstance(r, Onward) and r.needs_exam for r in self.dated], dtype=bool
            ),
            ends_last=np.array(
                [isinstance(r, Bridge) and r.last_months is not None for r in self.dated],
                dtype=bool,
            ),
            renews=self._renews(),
            holders_only=holders_only,
        )
        self._rules_date: dt.date | None = None
        # Called daily with the same types: skip numba's choice of a version (``Resolved``).
        self._decide_kernel = Resolved(decide_kernel)
        self.compiled = True
        """Decide in the compiled kernel (False: the NumPy reference, for debugging)."""

    def _renews(self) -> np.ndarray:
        """Whether taking each dated route renews the status of each route: bool [dated, route].

        A route renews itself; a bridge also renews any bridge of its measure (``measure``).
        """
        renews = np.zeros((len(self.dated), len(self.names)), dtype=bool)
        for k, r in enumerate(self.dated):
            renews[k, k + 2] = True
            if isinstance(r, Bridge) and r.measure is not None:
                for j, other in enumerate(self.dated):
                    renews[k, j + 2] |= isinstance(other, Bridge) and other.measure == r.measure
        return renews

    def renews(self, route: int | np.ndarray, held: np.ndarray) -> np.ndarray:
        """Whether taking ``route`` renews the status of routes ``held`` (-1: none held).

        ``route``: a dated route, or one per person. The open-route rule's table, for every
        other use (the grant's renewal, a renewal at once under processing).
        """
        return (held >= 0) & self._rules.renews[np.asarray(route) - 2, np.maximum(held, 0)]

    def index(self, name: str) -> int:
        """Column of a route in the probability matrix."""
        return self.names.index(name)

    def admits(self, name: str) -> np.ndarray:
        """Whether a dated route exists for people of each origin: bool [origin code]."""
        return self._rules.in_origin[self.index(name) - 2]

    def rules_on(self, date: dt.date) -> DayRules:
        """The rules in force on ``date`` as arrays (kept for the day: asked at every decision)."""
        if date != self._rules_date:
            in_force = np.array([r.in_force(date) for r in self.dated], dtype=bool)
            self._rules = self._rules._replace(
                stage_open=np.array([f is None or f <= date for f in self.stage_from], dtype=bool),
                offered=self.dated_at & in_force[:, None],
            )
            self._rules_date = date
        return self._rules

    def deciders(self, point: TurningPoint | np.ndarray, people: People) -> Deciders:
        """The people as the kernels read them (``point``: of all of them, or of each)."""
        n = people.n
        return Deciders(
            point=_each(point, n, np.int64),
            x=people.features(self.spec),
            savings=_each(people.savings, n, np.float64),
            stage=_each(people.stage, n, np.int64),
            completed=_each(people.completed, n, np.int64),
            sector=_each(people.sector, n, np.int64),
            origin=_each(0 if people.origin is None else people.origin, n, np.int64),
            seat=_each(people.seat, n, np.bool_),
            passed_exam=_each(people.passed_exam, n, np.bool_),
            next_fits=_each(True if people.next_fits is None else people.next_fits, n, np.bool_),
            renew=_each(False if people.renew is None else people.renew, n, np.bool_),
            excellent=_each(True if people.excellent is None else people.excellent, n, np.bool_),
            route_of=_each(-1 if people.route_of is None else people.route_of, n, np.int64),
            had_last=_each(False if people.had_last is None else people.had_last, n, np.bool_),
        )

    def open_routes(
        self, point: TurningPoint | np.ndarray, date: dt.date, people: People
    ) -> np.ndarray:
        """Which routes the rules in force open to each person: bool [person, route].

        ``point`` is the turning point of all the people, or of each (an array of codes);
        the rules are ``open_reference``'s.
        """
        return open_reference(self.deciders(point, people), self.rules_on(date))

    def utilities(self, people: People) -> np.ndarray:
        """Each route's utility for each person, open or not: float [person, route]."""
        return utilities_reference(people.features(self.spec), people.stage, self._rules)

    def probabilities(
        self, point: TurningPoint | np.ndarray, date: dt.date, people: People
    ) -> np.ndarray:
        """Multinomial-logit probabilities over the open routes: float [person, route]."""
        return logit_probabilities(self.utilities(people), self.open_routes(point, date, people))

    def choose(
        self, point: TurningPoint | np.ndarray, date: dt.date, people: People, u: np.ndarray
    ) -> np.ndarray:
        """The route each person takes, given one uniform draw per person (route indices).

        Utilities, open routes and the draw's route (``decide_reference``) in one compiled pass
        over the people (``decide_kernel``).
        """
        return self.decide(self.deciders(point, people), date, u)

    def decide(self, d: Deciders, date: dt.date, u: np.ndarray) -> np.ndarray:
        """``choose`` for people already bundled (``deciders``)."""
        rules = self.rules_on(date)
        u = np.ascontiguousarray(u, dtype=np.float64)
        if not self.compiled:
            return decide_reference(d, rules, u)
        out = np.empty(d.point.size, dtype=np.int64)
        self._decide_kernel(tuple(d), tuple(rules), u, out)
        return out

    def destinations(self, choice: np.ndarray) -> np.ndarray:
        """The state each chosen route leads to.

        Home: the return queue (stranded until a seat); next stage: employed (the lifecycle sends
        to the home visit first where the stage needs one and travel allows).
        """
        return self.destination[np.asarray(choice, dtype=np.int64)]


def rated_excellent(
    support: np.ndarray, share: float, mean: float, concentration: float
) -> np.ndarray:
    """Whether each organisation (by its proactivity ``support``) is among the top ``share``.

    Proactivity follows the supervision's beta law (``mean``, ``concentration``): the rated are
    those at or above its ``1 - share`` quantile (:func:`rated_from`).
    """
    return np.asarray(support) >= rated_from(share, mean, concentration)


def rated_from(share: float, mean: float, concentration: float) -> np.float64:
    """The proactivity from which organisations are rated (``rated_excellent``'s threshold).

    -inf where all are rated, inf where none is.
    """
    if share >= 1.0:
        return np.float64(-np.inf)
    if share <= 0.0:
        return np.float64(np.inf)
    return _quantile(share, mean, concentration)


def rated_from_by_day(
    rating: Excellent, mean: float, concentration: float, start: dt.date, n_days: int
) -> np.ndarray:
    """``rated_from`` on each day of a run starting on ``start``: float64 [day].

    The rated share moves day by day where it rises linearly, and each new share is a quantile
    to solve, a tenth of a second over a run; the answer depends on these values alone, so it is
    kept between commands (``tmpsim.cache``).
    """
    plain = {
        "share": rating.share,
        "law": [mean, concentration],
        "start": start.isoformat(),
        "days": n_days,
    }

    def compute() -> np.ndarray:
        days = (start + dt.timedelta(days=d) for d in range(n_days))
        return np.array([rated_from(rating.share_on(d), mean, concentration) for d in days])

    k = cache.key(json.dumps(plain, sort_keys=True))
    return cache.kept("rated_from", k, compute, np.ndarray)


@functools.lru_cache(maxsize=8192)
def _quantile(share: float, mean: float, concentration: float) -> np.float64:
    """The beta law's ``1 - share`` quantile.

    Kept: the share stays the same for long spells, and where it moves day by day (a linear
    rise over two years) the next runs in the same process (an ensemble's or a calibration's
    worker) ask for the same days' values; room for every day of a long run.
    """
    a, b = mean * concentration, (1.0 - mean) * concentration
    return np.float64(beta_quantile(1.0 - share, a, b))


def _each(values: object, n: int, dtype: type) -> np.ndarray:
    """One value per person as a contiguous array of ``dtype`` (a single value for everyone)."""
    a = np.asarray(values, dtype=dtype)
    if a.shape != (n,):  # a writable array, as the people's own are (the kernel's types)
        return np.full(n, a, dtype=dtype)
    return np.ascontiguousarray(a)


def people_from(
    pop: object,
    ids: np.ndarray,
    day: int,
    *,
    information: np.ndarray,
    seat: np.ndarray,
    offer: np.ndarray,
    years_left: np.ndarray,
    passed_exam: np.ndarray,
    completed: np.ndarray,
    next_fits: np.ndarray | None = None,
    renew: np.ndarray | None = None,
    excellent: np.ndarray | None = None,
    earnings_gap: np.ndarray | None = None,
) -> People:
    """People from the agent arrays (``tmpsim.engine.population.Population``) on run day ``day``."""
    return People(
        savings=pop.savings[ids],
        debt=pop.debt[ids],
        language=pop.language[ids],
        network=pop.network[ids],
        age=pop.age0[ids] + (day - pop.created[ids]) / 365.25,
        years_left=years_left,
        support=pop.proactivity[ids],
        information=information,
        offer=offer,
        sector=pop.sector[ids],
        stage=pop.stage[ids],
        completed=completed,
        seat=seat,
        passed_exam=passed_exam,
        next_fits=next_fits,
        renew=renew,
        excellent=excellent,
        earnings_gap=earnings_gap,
    )
