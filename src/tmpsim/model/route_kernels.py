"""Compiled route choice: the day's decision for a whole array of people in one pass.

The references in NumPy are the specification:

- ``utilities_reference``: each route's utility ``intercept_r + sum_f coef_{r,f} x_f`` over the
  feature matrix, plus the next stage's term of the stage it leads to;
- ``open_reference``: which routes the rules in force (:class:`DayRules`) open to each person at
  that person's turning point;
- ``choose_reference``: the probabilities over the open routes
  (``exp(V_r) / sum over open routes s of exp(V_s)``, closed routes zero), their cumulative sums
  along the routes, and for each person the number of cumulative sums the uniform draw reaches
  (the route taken).

``decide_kernel`` does all three person by person (``choose_kernel`` the last alone), without
the [person, route] temporaries the NumPy version builds at every turning point. The kernels are
generic over the features and the routes: a feature is a column of the feature matrix and of the
coefficient matrix, a dated route a row of the rule arrays. The tests hold each kernel to its
reference.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tmpsim.engine.jit import njit

# The turning points' codes (``tmpsim.model.routes.TurningPoint``), as plain integers: numba
# compiles module-level integers in as constants.
CONTRACT_END = 0
STATUS_EXPIRY = 3


class Deciders(NamedTuple):
    """The people deciding, one entry each (``RouteChooser.deciders`` builds it)."""

    point: np.ndarray  # int64: each one's turning point (``TurningPoint``)
    x: np.ndarray  # float64 [person, feature]: the features (``People.features``)
    savings: np.ndarray  # float64
    stage: np.ndarray  # int64: current stage
    completed: np.ndarray  # int64: last stage completed (-1: none)
    sector: np.ndarray  # int64
    origin: np.ndarray  # int64: origin code (the chooser's origins)
    seat: np.ndarray  # bool: a seat home is available today
    passed_exam: np.ndarray  # bool: passed the exam at the end of the stage
    next_fits: np.ndarray  # bool: the next stage's contract would end within the longest stay
    renew: np.ndarray  # bool: may renew the last stage today (all false without renewals)
    excellent: np.ndarray  # bool: the supervising organisation is rated (all true: no rating)
    route_of: np.ndarray  # int64: the route (its index) of the status held, -1 for none
    had_last: np.ndarray  # bool: has had a bridge's last status (no bridge with one again)


class DayRules(NamedTuple):
    """The routes' rules in force on one date, as arrays (``RouteChooser.rules_on`` builds it).

    Routes are in the chooser's order: home, next stage, the dated routes, irregular.
    """

    intercept: np.ndarray  # float64 [route]
    coef: np.ndarray  # float64 [route, feature]
    next_bonus: np.ndarray  # float64 [stage]: the next stage's term, by the stage it leads to
    ticket_free: bool  # the sponsor pays the ticket home
    ticket: float  # else it is paid from savings
    next_at: np.ndarray  # bool [point]: where the next stage can open
    stage_open: np.ndarray  # bool [stage]: the stage can be entered on the date
    stage_visit: np.ndarray  # bool [stage]: the stage starts with a home visit
    visit_deferred: bool  # the visit is deferred when there is no seat
    needs_rating: np.ndarray  # bool [stage]: open under a rated organisation only
    after_fail: np.ndarray  # bool [stage]: entered by those who failed the exam (else passed)
    offered: np.ndarray  # bool [dated route, point]: at that point and in force on the date
    min_completed: np.ndarray  # int64 [dated route]: the last stage completed must reach this
    in_field: np.ndarray  # bool [dated route, sector]: where the route exists
    in_origin: np.ndarray  # bool [dated route, origin]: for whom the route exists
    without_seat: np.ndarray  # bool [dated route]: only for those who cannot return
    renew_with_seat: np.ndarray  # bool [dated route]: its holders renew it whatever the seat
    needs_exam: np.ndarray  # bool [dated route]: only for those who passed the exam
    ends_last: np.ndarray  # bool [dated route]: a bridge ending with a last status (closed to
    # those who have had one)
    renews: np.ndarray  # bool [dated route, route]: holding the route of the column, taking
    # the dated route renews the status held (the same route, or a bridge of the same measure)
    holders_only: np.ndarray  # bool [dated route]: at a status's end, open to those it renews
    # only (a renewable route not offered to others then)


def utilities_reference(x: np.ndarray, stage: np.ndarray, rules: DayRules) -> np.ndarray:
    """Each route's utility for each person, open or not: float [person, route].

    The features' products are added in the features' order (the kernel's order of additions).
    """
    dot = np.zeros((x.shape[0], rules.coef.shape[0]))
    for f in range(x.shape[1]):
        dot += x[:, f, None] * rules.coef[None, :, f]
    util = rules.intercept[None, :] + dot
    nxt = np.minimum(np.asarray(stage, dtype=np.int64) + 1, rules.stage_open.size - 1)
    util[:, 1] += rules.next_bonus[nxt]
    return util


def open_reference(d: Deciders, rules: DayRules) -> np.ndarray:
    """Which routes the rules in force open to each person: bool [person, route].

    Home: the ticket paid (by the sponsor, or from savings; without a seat it means waiting in
    the return queue). Next stage: where the point allows it, a next stage that exists on the
    date and ends within the longest stay, the exam passed (failed, for a stage of resits:
    ``after_fail``), the home visit possible or deferred, the organisation rated where the
    stage needs it, and after a status (``STATUS_EXPIRY``) only once the stage was completed; at
    the end of the last stage's contract the same route renews it where the person may renew.
    Dated routes: offered at the point and in force, the stage completed, in the field, the
    exam passed where the route needs it, and for some only without a seat (but for the
    holders of the status it renews, ``renews``, when their status runs out, where the route is
    renewed whatever the seat) or for
    some origins only; a bridge ending with a last status is closed to those who have had
    one; a renewable route that is not a status's way on for others is open at a status's end
    to its holders only (``holders_only``). Irregular: always.
    """
    n, n_dated = d.point.size, rules.offered.shape[0]
    n_stages = rules.stage_open.size
    out = np.zeros((n, n_dated + 3), dtype=bool)
    out[:, 0] = rules.ticket_free | (d.savings >= rules.ticket)
    nxt = np.minimum(d.stage + 1, n_stages - 1)
    out[:, 1] = (
        rules.next_at[d.point]
        & (d.stage + 1 < n_stages)
        & rules.stage_open[nxt]
        & d.next_fits
        & (d.passed_exam != rules.after_fail[nxt])
        & (~rules.stage_visit[nxt] | d.seat | rules.visit_deferred)
        & (~rules.needs_rating[nxt] | d.excellent)
        & ((d.point != STATUS_EXPIRY) | (d.completed >= d.stage))
    )
    out[:, 1] |= (d.point == CONTRACT_END) & (d.stage + 1 >= n_stages) & d.renew
    held = np.maximum(d.route_of, 0)  # a column to read (those holding none masked here)
    for k in range(n_dated):
        renewing = (d.route_of >= 0) & rules.renews[k][held]
        out[:, k + 2] = (
            rules.offered[k][d.point]
            & (d.completed >= rules.min_completed[k])
            & rules.in_field[k][d.sector]
            & rules.in_origin[k][d.origin]
            & (~rules.needs_exam[k] | d.passed_exam)
            & ~(
                rules.without_seat[k]
                & d.seat
                & ~(rules.renew_with_seat[k] & (d.point == STATUS_EXPIRY) & renewing)
            )
            & ~(rules.ends_last[k] & d.had_last)
            & ~(rules.holders_only[k] & (d.point == STATUS_EXPIRY) & ~renewing)
        )
    out[:, -1] = True
    return out


def decide_reference(d: Deciders, rules: DayRules, u: np.ndarray) -> np.ndarray:
    """The route each person takes given one uniform draw each (route indices, int64)."""
    return choose_reference(utilities_reference(d.x, d.stage, rules), open_reference(d, rules), u)


def logit_probabilities(util: np.ndarray, open_: np.ndarray) -> np.ndarray:
    """Multinomial-logit probabilities over the open routes: float [person, route].

    ``util`` holds the utilities [person, route], ``open_`` which routes are open (the last
    route, irregular, always is, so every row has a finite maximum).
    """
    util = np.where(open_, util, -np.inf)
    util -= util.max(axis=1, keepdims=True)
    w = np.exp(util)
    return w / w.sum(axis=1, keepdims=True)


def choose_reference(util: np.ndarray, open_: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The route each person takes given one uniform draw each (route indices, int64)."""
    cum = np.cumsum(logit_probabilities(util, open_), axis=1)
    pick = (np.asarray(u)[:, None] >= cum).sum(axis=1)
    return np.minimum(pick, util.shape[1] - 1)


@njit(cache=True)
def decide_kernel(
    d: tuple, rules: tuple, u: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover
    """``decide_reference`` person by person, the choices written to ``out``.

    ``d`` and ``rules`` are a :class:`Deciders` and a :class:`DayRules` as plain tuples.
    """
    (
        point, x, savings, stage, completed, sector, origin, seat, passed_exam, next_fits, renew,
        excellent, route_of, had_last,
    ) = d  # fmt: skip
    (
        intercept, coef, next_bonus, ticket_free, ticket, next_at, stage_open, stage_visit,
        visit_deferred, needs_rating, after_fail, offered, min_completed, in_field, in_origin,
        without_seat, renew_with_seat, needs_exam, ends_last, renews, holders_only,
    ) = rules  # fmt: skip
    n, n_feat = x.shape
    r = intercept.size
    n_dated = r - 3
    n_stages = stage_open.size
    util = np.zeros(r)
    open_ = np.empty(r, dtype=np.bool_)
    w = np.empty(r)
    for i in range(n):
        p = point[i]
        s = stage[i]
        nxt = min(s + 1, n_stages - 1)
        open_[0] = ticket_free or savings[i] >= ticket
        open_[1] = (
            next_at[p]
            and s + 1 < n_stages
            and stage_open[nxt]
            and next_fits[i]
            and passed_exam[i] != after_fail[nxt]
            and (not stage_visit[nxt] or seat[i] or visit_deferred)
            and (not needs_rating[nxt] or excellent[i])
            and (p != STATUS_EXPIRY or completed[i] >= s)
        ) or (p == CONTRACT_END and s + 1 >= n_stages and renew[i])
        for k in range(n_dated):
            renewing = route_of[i] >= 0 and renews[k, route_of[i]]
            open_[k + 2] = (
                offered[k, p]
                and completed[i] >= min_completed[k]
                and in_field[k, sector[i]]
                and in_origin[k, origin[i]]
                and (not needs_exam[k] or passed_exam[i])
                and not (
                    without_seat[k]
                    and seat[i]
                    and not (renew_with_seat[k] and p == STATUS_EXPIRY and renewing)
                )
                and not (ends_last[k] and had_last[i])
                and not (holders_only[k] and p == STATUS_EXPIRY and not renewing)
            )
        open_[r - 1] = True
        for j in range(r):  # the utilities of the open routes (the others are not read)
            if open_[j]:
                dot = 0.0
                for f in range(n_feat):
                    if coef[j, f] != 0.0:  # a zero term adds nothing (the features are finite)
                        dot += x[i, f] * coef[j, f]
                util[j] = intercept[j] + dot
        util[1] += next_bonus[nxt]
        out[i] = _pick(util, open_, u[i], w)


@njit(cache=True)
def _pick(util: np.ndarray, open_: np.ndarray, u: float, w: np.ndarray) -> int:  # pragma: no cover
    """The route a draw ``u`` takes among the open ones (one person's row; ``w`` scratch)."""
    r = util.size
    top = -np.inf
    for j in range(r):
        if open_[j] and util[j] > top:
            top = util[j]
    total = 0.0
    for j in range(r):
        w[j] = np.exp(util[j] - top) if open_[j] else 0.0
        total += w[j]
    cum = 0.0
    pick = 0
    for j in range(r):
        cum += w[j] / total
        if u >= cum:
            pick += 1
    return min(pick, r - 1)


@njit(cache=True)
def choose_kernel(
    util: np.ndarray, open_: np.ndarray, u: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover
    """``choose_reference`` person by person, the choices written to ``out``."""
    w = np.empty(util.shape[1])
    for i in range(util.shape[0]):
        out[i] = _pick(util[i], open_[i], u[i], w)


# What follows a choice (``tally_reference``): the route kinds (``turning_points.ROUTE_KINDS``)
# and the actions people are grouped by, in the order they are carried out.
HOME, NEXT = 0, 1
STRANDED = 2  # the turning point of those waiting in the return queue
WAIT, LEAVE, RENEW, ENTER_NEXT = 0, 1, 2, 3  # keep waiting; go home; renew; the next stage


def tally_reference(
    choice: np.ndarray,
    point: np.ndarray,
    origin: np.ndarray,
    stage: np.ndarray,
    route_kind: np.ndarray,
    route_action: np.ndarray,
    n_stages: int,
    n_origins: int,
    n_kinds: int,
    n_actions: int,
) -> tuple[np.ndarray, ...]:
    """The day's counts of the choices, and the people grouped by what follows.

    Returns ``by_route`` [route, origin] (those taking a route, without those who keep their
    place in the return queue), ``by_kind`` [kind, origin] (everyone), ``by_stage`` [stage,
    origin] (the stage entered by the next-stage route: the next one, or the last one renewed),
    ``action`` (each person's: ``WAIT``, ``LEAVE``, ``RENEW``, ``ENTER_NEXT``, else the chosen
    route's ``route_action``), ``order`` (positions sorted by action, stably) and ``start`` (where
    each action's positions start in ``order``; one more entry for the end).
    """
    n_routes = route_kind.size
    kind = route_kind[choice]
    last = stage == n_stages - 1
    action = np.where(
        kind == HOME,
        np.where(point == STRANDED, WAIT, LEAVE),
        np.where(kind == NEXT, np.where(last, RENEW, ENTER_NEXT), route_action[choice]),
    )
    counted = action != WAIT
    by_route = np.zeros((n_routes, n_origins))
    np.add.at(by_route, (choice[counted], origin[counted]), 1.0)
    by_kind = np.zeros((n_kinds, n_origins), dtype=np.int64)
    np.add.at(by_kind, (kind, origin), 1)
    nxt = kind == NEXT
    by_stage = np.zeros((n_stages, n_origins))
    np.add.at(by_stage, (np.where(last, stage, stage + 1)[nxt], origin[nxt]), 1.0)
    order = np.argsort(action, kind="stable")
    start = np.concatenate([[0], np.cumsum(np.bincount(action, minlength=n_actions))])
    return by_route, by_kind, by_stage, action, order, start


@njit(cache=True)
def tally_kernel(
    choice: np.ndarray,
    point: np.ndarray,
    origin: np.ndarray,
    stage: np.ndarray,
    route_kind: np.ndarray,
    route_action: np.ndarray,
    n_stages: int,
    by_route: np.ndarray,
    by_kind: np.ndarray,
    by_stage: np.ndarray,
    action: np.ndarray,
    order: np.ndarray,
    start: np.ndarray,
) -> None:  # pragma: no cover
    """``tally_reference`` in one pass and a counting sort, added to the arrays given.

    ``by_route``, ``by_kind`` and ``by_stage`` are added to (the day's counters); ``action``,
    ``order`` and ``start`` written (``start`` has one entry per action and one more).
    """
    n = choice.size
    start[:] = 0
    for i in range(n):
        j = choice[i]
        k = route_kind[j]
        o = origin[i]
        by_kind[k, o] += 1
        if k == HOME:
            a = WAIT if point[i] == STRANDED else LEAVE
        elif k == NEXT:
            if stage[i] == n_stages - 1:
                a = RENEW
                by_stage[stage[i], o] += 1.0
            else:
                a = ENTER_NEXT
                by_stage[stage[i] + 1, o] += 1.0
        else:
            a = route_action[j]
        if a != WAIT:
            by_route[j, o] += 1.0
        action[i] = a
        start[a + 1] += 1
    for a in range(1, start.size):
        start[a] += start[a - 1]
    fill = start[:-1].copy()
    for i in range(n):
        a = action[i]
        order[fill[a]] = i
        fill[a] += 1
