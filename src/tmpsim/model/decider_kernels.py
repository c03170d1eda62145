"""The people at a turning point, gathered from the agent arrays in one compiled pass.

Before a decision (``tmpsim.model.turning_points``) each person's situation is read from the agent
arrays and the day's rules: savings, debt, language, network, age, the years left of the longest
stay, the supervising organisation's support and whether it is rated, the information the person
has, the employer's offer, the stage and the last stage completed, whether a seat home is there,
whether the exam at the end of the stage is passed, whether the next stage would end within the
longest stay and whether the last stage may be renewed.

``people_reference`` is the specification in NumPy; ``people_kernel`` does the same person by
person (one pass instead of some forty small array operations a day). The arithmetic is the
NumPy version's, in the same types (language, network and information in float32), so the two
agree to the bit; the tests hold them to that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from tmpsim.engine.jit import njit
from tmpsim.model.routes import People, people_from


class DecidingAgents(NamedTuple):
    """The agent fields a decision reads (the population's current arrays)."""

    stage: np.ndarray
    origin: np.ndarray
    sector: np.ndarray
    completed: np.ndarray  # last stage completed (-1: none recorded)
    renewals: np.ndarray
    entered: np.ndarray
    created: np.ndarray
    age0: np.ndarray
    savings: np.ndarray
    debt: np.ndarray
    language: np.ndarray  # float32
    network: np.ndarray  # float32
    proactivity: np.ndarray  # float32: the supervising organisation's


class DayFacts(NamedTuple):
    """What the day's decisions have in common (``Routes._facts``)."""

    day: int
    seat: np.ndarray  # bool [origin]: a seat home is there today
    months_after: np.ndarray  # float64 [stage]: months of the stages after it
    stage_days: np.ndarray  # float64 [stage]: length of the stage's contract
    max_stay: float  # longest stay in days plus one (inf: none)
    exam_pass: float
    renewals: int  # renewals of the last stage allowed (0: none, and no draw)
    renewal_prob: float  # chance the renewal is offered
    info_base: np.float32  # information: base + language weight x language + network weight
    info_language: np.float32  # x network (float32, as the fields), at most one
    info_network: np.float32
    own_language: np.float32  # the language level a person's own information counts as
    rated_from: np.float64  # proactivity from which an organisation is rated (-inf: all)


def people_reference(
    a: DecidingAgents,
    ids: np.ndarray,
    f: DayFacts,
    offer: np.ndarray,
    u_exam: np.ndarray,
    u_renew: np.ndarray | None,
) -> People:
    """The people ``ids`` as they decide on day ``f.day``.

    ``offer``: the employer offers to keep each (bool); ``u_exam``, ``u_renew``: one uniform draw
    each for passing the exam at the end of the stage and for the renewal being offered (None
    without renewals). Renewal and the next stage also need the contract to end within the
    longest stay.
    """
    day = f.day
    stage = a.stage[ids].astype(np.int64)
    nxt = np.minimum(stage + 1, f.months_after.size - 1)
    since = day - a.entered[ids]  # days since the first entry
    language = np.maximum(a.language[ids], f.own_language)
    information = np.minimum(
        np.float32(1.0), f.info_base + f.info_language * language + f.info_network * a.network[ids]
    )
    exam = u_exam < f.exam_pass
    fits = since + f.stage_days[nxt] <= f.max_stay
    renew = None
    if u_renew is not None:
        last = stage == f.months_after.size - 1
        left = a.renewals[ids] < f.renewals
        renew_fits = since + f.stage_days[stage] <= f.max_stay
        renew = last & left & (u_renew < f.renewal_prob) & renew_fits
    return people_from(
        a,
        ids,
        day,
        information=information,
        seat=f.seat[a.origin[ids]],
        offer=offer.astype(np.float64),
        years_left=f.months_after[stage] / 12.0,
        passed_exam=exam,
        next_fits=fits,
        completed=np.maximum(a.completed[ids], stage - 1),
        renew=renew,
        excellent=None if f.rated_from == -np.inf else a.proactivity[ids] >= f.rated_from,
    )


def people_arrays(n: int, renew: bool, rated: bool) -> People:
    """Empty arrays for ``n`` people, in the types ``people_kernel`` writes."""
    f64, f32 = np.float64, np.float32
    return People(
        savings=np.empty(n, f64),
        debt=np.empty(n, f64),
        language=np.empty(n, f32),
        network=np.empty(n, f32),
        age=np.empty(n, f64),
        years_left=np.empty(n, f64),
        support=np.empty(n, f32),
        information=np.empty(n, f32),
        offer=np.empty(n, f64),
        sector=np.empty(n, np.int64),
        stage=np.empty(n, np.int64),
        completed=np.empty(n, np.int64),
        seat=np.empty(n, np.bool_),
        passed_exam=np.empty(n, np.bool_),
        next_fits=np.empty(n, np.bool_),
        renew=np.empty(n, np.bool_) if renew else None,
        excellent=np.empty(n, np.bool_) if rated else None,
    )


def gather_people(
    a: DecidingAgents,
    ids: np.ndarray,
    f: DayFacts,
    offer: np.ndarray,
    u_exam: np.ndarray,
    u_renew: np.ndarray | None,
    kernel: Callable[..., None] | None = None,
) -> People:
    """``people_reference`` by ``people_kernel`` (or ``kernel``, the same resolved once)."""
    out = people_arrays(ids.size, u_renew is not None, f.rated_from != -np.inf)
    empty = np.empty(0, dtype=np.bool_)
    (people_kernel if kernel is None else kernel)(
        tuple(a), np.ascontiguousarray(ids, dtype=np.int64), tuple(f), offer, u_exam,
        np.empty(0) if u_renew is None else u_renew,
        (
            out.savings, out.debt, out.language, out.network, out.age, out.years_left,
            out.support, out.information, out.offer, out.sector, out.stage, out.completed,
            out.seat, out.passed_exam, out.next_fits, empty if out.renew is None else out.renew,
            empty if out.excellent is None else out.excellent,
        ),
    )  # fmt: skip
    return out


@njit(cache=True)
def people_kernel(
    a: tuple, ids: np.ndarray, f: tuple, offer, u_exam, u_renew, out: tuple
) -> None:  # pragma: no cover
    """``people_reference`` person by person, into the arrays of ``out`` (``People``'s order).

    ``u_renew`` and the renew flags are empty without renewals, the rated flags without a rating.
    """
    (
        stage_of, origin_of, sector_of, completed_of, renewals_of, entered, created, age0,
        savings, debt, language_of, network_of, proactivity,
    ) = a  # fmt: skip
    (
        day, seat_of, months_after, stage_days, max_stay, exam_pass, renewals, renewal_prob,
        info_base, info_language, info_network, own_language, rated_from,
    ) = f  # fmt: skip
    (
        o_savings, o_debt, o_language, o_network, o_age, o_years_left, o_support,
        o_information, o_offer, o_sector, o_stage, o_completed, o_seat, o_exam, o_fits, o_renew,
        o_excellent,
    ) = out  # fmt: skip
    last = months_after.size - 1
    for k in range(ids.size):
        i = ids[k]
        stage = np.int64(stage_of[i])
        nxt = min(stage + 1, last)
        since = np.int32(day - entered[i])  # int32, as the NumPy version computes it
        lang = language_of[i]
        net = network_of[i]
        heard = max(lang, own_language)
        info = info_base + info_language * heard + info_network * net
        o_information[k] = min(np.float32(1.0), info)
        o_exam[k] = u_exam[k] < exam_pass
        o_fits[k] = since + stage_days[nxt] <= max_stay
        if u_renew.size:
            o_renew[k] = (
                stage == last
                and renewals_of[i] < renewals
                and u_renew[k] < renewal_prob
                and since + stage_days[stage] <= max_stay
            )
        support = proactivity[i]
        if o_excellent.size:
            o_excellent[k] = support >= rated_from
        o_savings[k] = savings[i]
        o_debt[k] = debt[i]
        o_language[k] = lang
        o_network[k] = net
        o_age[k] = age0[i] + np.int32(day - created[i]) / 365.25
        o_years_left[k] = months_after[stage] / 12.0
        o_support[k] = support
        o_offer[k] = 1.0 if offer[k] else 0.0
        o_sector[k] = sector_of[i]
        o_stage[k] = stage
        o_completed[k] = max(np.int64(completed_of[i]), stage - 1)
        o_seat[k] = seat_of[origin_of[i]]
