"""The compiled route choice takes the routes its NumPy reference takes."""

from __future__ import annotations

import numpy as np
import pytest

from tmpsim.model.route_kernels import choose_kernel, choose_reference, logit_probabilities


def _case(seed: int, n: int = 5000, routes: int = 8) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    util = rng.normal(0.0, 3.0, (n, routes))
    open_ = rng.random((n, routes)) < 0.6
    open_[:, -1] = True  # irregular is always open
    u = rng.random(n)
    u[:10] = 0.0  # the lowest draw takes the first open route
    u[10:20] = np.nextafter(1.0, 0.0)  # the highest the last open one
    return util, open_, u


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kernel_chooses_as_the_reference(seed: int) -> None:
    util, open_, u = _case(seed)
    want = choose_reference(util, open_, u)
    got = np.empty(u.size, dtype=np.int64)
    choose_kernel(util, open_, u, got)
    assert np.array_equal(got, want)
    # Plain Python (what TMPSIM_JIT=0 runs) chooses the same.
    py = getattr(choose_kernel, "py_func", choose_kernel)
    again = np.empty(u.size, dtype=np.int64)
    py(util[:500], open_[:500], u[:500], again[:500])
    assert np.array_equal(again[:500], want[:500])


def test_closed_routes_are_never_taken_and_draws_split_by_the_probabilities() -> None:
    util, open_, u = _case(4)
    got = np.empty(u.size, dtype=np.int64)
    choose_kernel(util, open_, u, got)
    assert open_[np.arange(u.size), got].all()
    first_open = open_.argmax(axis=1)
    last_open = open_.shape[1] - 1 - open_[:, ::-1].argmax(axis=1)
    assert np.array_equal(got[:10], first_open[:10])
    assert np.array_equal(got[10:20], last_open[10:20])
    # One row, many draws: the routes taken follow the logit's probabilities.
    p = logit_probabilities(np.array([[0.0, 1.0, -1.0, 0.5]]), np.array([[1, 1, 0, 1]], bool))[0]
    assert p[2] == 0.0 and abs(p.sum() - 1.0) < 1e-12
    n = 200_000
    draws = np.random.default_rng(5).random(n)
    taken = np.empty(n, dtype=np.int64)
    choose_kernel(
        np.tile([0.0, 1.0, -1.0, 0.5], (n, 1)),
        np.tile([True, True, False, True], (n, 1)),
        draws,
        taken,
    )
    share = np.bincount(taken, minlength=4) / n
    assert np.abs(share - p).max() < 0.005


# ---- the day's decision: utilities, open routes and choice in one pass ---------------------
def _rules(rng: np.random.Generator, n_feat: int, n_dated: int, n_stages: int, n_sectors: int):
    from tmpsim.model.route_kernels import DayRules

    r = n_dated + 3
    coef = rng.normal(0.0, 1.0, (r, n_feat)) * (rng.random((r, n_feat)) < 0.5)  # some zero
    return DayRules(
        intercept=rng.normal(0.0, 2.0, r),
        coef=coef,
        next_bonus=rng.normal(0.0, 1.0, n_stages),
        ticket_free=bool(rng.random() < 0.3),
        ticket=float(rng.uniform(0, 2)),
        next_at=rng.random(4) < 0.5,
        stage_open=rng.random(n_stages) < 0.8,
        stage_visit=rng.random(n_stages) < 0.4,
        visit_deferred=bool(rng.random() < 0.5),
        needs_rating=rng.random(n_stages) < 0.4,
        offered=rng.random((n_dated, 4)) < 0.6,
        min_completed=rng.integers(-2, n_stages, n_dated),
        in_field=rng.random((n_dated, n_sectors)) < 0.7,
        without_seat=rng.random(n_dated) < 0.4,
        in_origin=rng.random((n_dated, 3)) < 0.7,  # three origins
        renew_with_seat=rng.random(n_dated) < 0.5,
        after_fail=rng.random(n_stages) < 0.4,
        needs_exam=rng.random(n_dated) < 0.5,
        ends_last=rng.random(n_dated) < 0.5,
        # Every index the deciders' route_of may hold (up to 7); a route renews itself.
        renews=(rng.random((n_dated, max(r, 8))) < 0.3) | (np.eye(n_dated, max(r, 8), 2) > 0),
        holders_only=rng.random(n_dated) < 0.3,
    )


def _deciders(rng: np.random.Generator, n: int, n_feat: int, n_stages: int, n_sectors: int):
    from tmpsim.model.route_kernels import Deciders

    stage = rng.integers(0, n_stages, n)
    return Deciders(
        point=rng.integers(0, 4, n),
        x=rng.normal(0.0, 1.0, (n, n_feat)),
        savings=rng.uniform(0, 2, n),
        stage=stage,
        completed=stage - rng.integers(0, 2, n),
        sector=rng.integers(0, n_sectors, n),
        seat=rng.random(n) < 0.5,
        passed_exam=rng.random(n) < 0.8,
        renew=rng.random(n) < 0.5,
        excellent=rng.random(n) < 0.5,
        origin=rng.integers(0, 3, n),
        route_of=rng.integers(-1, 8, n),  # the routes' indices (some dated), or none
        next_fits=rng.random(n) < 0.9,
        had_last=rng.random(n) < 0.3,
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_decision_kernel_decides_as_its_reference(seed: int) -> None:
    """Random rules and people (any number of features and dated routes): the same choices."""
    from tmpsim.model.route_kernels import (
        decide_kernel,
        decide_reference,
        open_reference,
        utilities_reference,
    )

    rng = np.random.default_rng(seed)
    n_feat, n_dated = int(rng.integers(1, 13)), int(rng.integers(0, 6))
    rules = _rules(rng, n_feat, n_dated, n_stages=3, n_sectors=4)
    d = _deciders(rng, 4000, n_feat, n_stages=3, n_sectors=4)
    u = rng.random(d.point.size)
    want = decide_reference(d, rules, u)
    got = np.empty(u.size, dtype=np.int64)
    decide_kernel(tuple(d), tuple(rules), u, got)
    assert np.array_equal(got, want)
    opened = open_reference(d, rules)
    assert opened[np.arange(u.size), got].all()  # only open routes are taken
    assert 0 < opened[:, :-1].mean() < 1  # the rules open some routes and close others
    assert np.unique(got).size > 2  # more than a couple of routes taken
    util = utilities_reference(d.x, d.stage, rules)  # the linear utilities, stage term on route 1
    nxt = np.minimum(d.stage + 1, 2)
    linear = rules.intercept + d.x @ rules.coef.T
    linear[:, 1] += rules.next_bonus[nxt]
    assert np.allclose(util, linear, rtol=0, atol=1e-12)
    py = getattr(decide_kernel, "py_func", decide_kernel)  # what TMPSIM_JIT=0 runs
    again = np.empty(300, dtype=np.int64)
    small = type(d)(*(a[:300] for a in d))
    py(tuple(small), tuple(rules), u[:300], again)
    assert np.array_equal(again, want[:300])


def test_tally_kernel_counts_and_groups_as_its_reference() -> None:
    from tmpsim.model.route_kernels import tally_kernel, tally_reference

    rng = np.random.default_rng(7)
    n, n_routes, n_stages, n_origins, n_kinds = 3000, 7, 3, 4, 5
    route_kind = np.array([0, 1, 2, 3, 3, 3, 4])
    route_action = np.array([0, 3, 4, 8, 9, 10, 5])
    n_actions = 6 + n_routes
    args = (
        rng.integers(0, n_routes, n),
        rng.integers(0, 4, n),
        rng.integers(0, n_origins, n),
        rng.integers(0, n_stages, n),
        route_kind,
        route_action,
        n_stages,
    )
    want = tally_reference(*args, n_origins, n_kinds, n_actions)
    by_route, by_kind = np.zeros((n_routes, n_origins)), np.zeros((n_kinds, n_origins), np.int64)
    by_stage = np.zeros((n_stages, n_origins))
    action, order = np.empty(n, np.int64), np.empty(n, np.int64)
    start = np.empty(n_actions + 1, np.int64)
    tally_kernel(*args, by_route, by_kind, by_stage, action, order, start)
    for a, b in zip(want, (by_route, by_kind, by_stage, action, order, start), strict=True):
        assert np.array_equal(a, b)
    # Those who keep their place in the return queue are not counted as taking a route.
    assert by_route.sum() == n - (action == 0).sum() and by_kind.sum() == n
    # Each group lists its people in the order they came.
    for g in range(n_actions):
        members = order[start[g] : start[g + 1]]
        assert (action[members] == g).all() and (np.diff(members) > 0).all()


# ---- the people deciding, gathered from the agent arrays ------------------------------------
def _agents(rng: np.random.Generator, n: int):
    from tmpsim.model.decider_kernels import DecidingAgents

    return DecidingAgents(
        stage=rng.integers(0, 3, n).astype(np.int8),
        origin=rng.integers(0, 3, n).astype(np.int8),
        sector=rng.integers(0, 4, n).astype(np.int8),
        completed=rng.integers(-1, 3, n).astype(np.int8),
        renewals=rng.integers(0, 3, n).astype(np.int8),
        entered=rng.integers(-2000, 1000, n).astype(np.int32),
        created=rng.integers(-3000, 1000, n).astype(np.int32),
        age0=rng.uniform(18, 40, n).astype(np.float32),
        savings=rng.uniform(0, 1e6, n),
        debt=rng.uniform(0, 1e6, n),
        language=rng.random(n).astype(np.float32),
        network=rng.random(n).astype(np.float32),
        proactivity=rng.random(n).astype(np.float32),
    )


def _facts(rng: np.random.Generator, renewals: int, rated_from: float):
    from tmpsim.model.decider_kernels import DayFacts

    return DayFacts(
        day=1200,
        seat=np.array([True, False, True]),
        months_after=np.array([36.0, 12.0, 0.0]),
        stage_days=np.array([365.25, 730.5, 730.5]),
        max_stay=float(rng.uniform(1500, 2500)),
        exam_pass=0.7,
        renewals=renewals,
        renewal_prob=0.6,
        info_base=np.float32(0.2),
        info_language=np.float32(0.45),
        info_network=np.float32(0.55),
        own_language=np.float32(0.1),
        rated_from=np.float64(rated_from),
    )


@pytest.mark.parametrize(("renewals", "rated_from"), [(0, -np.inf), (2, 0.37), (1, np.inf)])
def test_the_people_kernel_gathers_as_its_reference(renewals: int, rated_from: float) -> None:
    """Every field the same to the bit, in the reference's values (types may be wider)."""
    from tmpsim.model.decider_kernels import gather_people, people_reference

    rng = np.random.default_rng(renewals)
    agents, facts = _agents(rng, 5000), _facts(rng, renewals, rated_from)
    ids = rng.choice(5000, 1500, replace=False)
    offer = rng.random(ids.size) < 0.5
    u_exam = rng.random(ids.size)
    u_renew = rng.random(ids.size) if renewals else None
    want = people_reference(agents, ids, facts, offer, u_exam, u_renew)
    got = gather_people(agents, ids, facts, offer, u_exam, u_renew)
    for name in want.__dataclass_fields__:
        a, b = getattr(want, name), getattr(got, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.dtype.kind == b.dtype.kind and np.array_equal(a, b), name
    assert got.information.dtype == np.float32  # computed in float32 as the fields are stored
    assert got.passed_exam.any() and not got.passed_exam.all()
    assert got.next_fits.any() and not got.next_fits.all()  # the longest stay binds some
    if renewals:
        assert got.renew.any() and not got.renew.all()


def test_a_run_decides_the_same_with_the_numpy_references() -> None:
    """``RouteChooser.compiled = False`` (the references, for debugging): the same run."""
    import tmpsim
    from tmpsim.simulation import Simulation

    runs = []
    for compiled in (True, False):
        sim = Simulation(tmpsim.load_scenario("japan-titp-covid"), seed=4, scale=0.003)
        sim.routes.chooser.compiled = compiled
        sim.run()
        runs.append(sim)
    a, b = runs
    assert a.routes._taken.sum() > 100  # decisions were made
    assert np.array_equal(a.routes._taken, b.routes._taken)
    for name in a.routes.metric + a.routes.stage_metric:
        assert np.array_equal(a.recorder.extras[name], b.recorder.extras[name]), name
    assert np.array_equal(a.pop.state[: a.pop.n], b.pop.state[: b.pop.n])
