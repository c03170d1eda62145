"""The engine's pieces through their public interfaces: calendar, queues, capacities, random
streams, the agent table, the recorder, and the simulation's own guards."""

from __future__ import annotations

import enum

import numpy as np
import pytest
from helpers import build, ids, scenario_file

from tmpsim.engine.calendar import BLOCK, Calendar, due_reference
from tmpsim.engine.population import NEVER, Population, change_kernel, change_reference
from tmpsim.engine.queues import (
    Capacity,
    FifoQueue,
    FifoQueues,
    take_reference,
    take_where_reference,
)
from tmpsim.engine.recorder import Recorder
from tmpsim.engine.rng import Streams, run_seed
from tmpsim.kinds import Hazard, Timer
from tmpsim.model.routes import TurningPoint
from tmpsim.scenario import load_scenario
from tmpsim.simulation import Simulation
from tmpsim.states import State

# ---- calendar -------------------------------------------------------------------------------


def _calendar(n_days: int = 100, n_agents: int = 50) -> tuple[Calendar, np.ndarray]:
    field = np.full(n_agents, -1, dtype=np.int32)
    return Calendar(n_days, field), field


def test_calendar_pops_each_agent_on_its_day_in_id_order():
    cal, field = _calendar()
    cal.schedule(ids(7, 3, 9, 1), np.array([5, 5, 40, 5]))
    cal.schedule(ids(2), 5)
    assert cal.pop(4).tolist() == []
    assert cal.pop(5).tolist() == [1, 2, 3, 7]
    assert cal.pop(5).tolist() == []  # popped once
    assert cal.pop(40).tolist() == [9]
    assert field[[7, 3, 9, 1, 2]].tolist() == [-1] * 5  # popping consumes the events


def test_calendar_rescheduling_and_cancelling_drop_the_old_entry():
    cal, field = _calendar()
    cal.schedule(ids(1, 2, 3), np.array([10, 10, 10]))
    cal.schedule(ids(2), 70)  # moved later, on another stretch of days
    cal.schedule(ids(3), 3)  # moved earlier
    cal.cancel(ids(1))
    assert field[1] == -1
    got = {day: cal.pop(day).tolist() for day in range(100)}
    assert {d: v for d, v in got.items() if v} == {3: [3], 70: [2]}


def test_calendar_ignores_days_past_the_run_but_remembers_them():
    cal, field = _calendar(n_days=20)
    cal.schedule(ids(4, 5), np.array([25, 19]))
    assert field[4] == 25  # the agent knows its day, the calendar has nothing to fire
    assert [cal.pop(d).tolist() for d in range(20)][19] == [5]
    assert sum(cal.pop(d).size for d in range(19)) == 0


def test_calendar_many_agents_many_days():
    """A large random batch comes back exactly: each agent once, on its day."""
    rng = np.random.default_rng(0)
    n, n_days = 5000, 400
    cal, field = _calendar(n_days, n)
    days = rng.integers(0, n_days, n)
    cal.schedule(np.arange(n, dtype=np.int64), days)
    again = rng.choice(n, 1000, replace=False)
    new_days = rng.integers(0, n_days, again.size)
    cal.schedule(again.astype(np.int64), new_days)
    days[again] = new_days
    seen = np.full(n, -1)
    for day in range(n_days):
        got = cal.pop(day)
        assert (np.diff(got) > 0).all()
        assert (seen[got] == -1).all()
        seen[got] = day
    assert np.array_equal(seen, days)


def test_calendar_blocks_exact_contents_with_rescheduling_and_cancelling():
    """More entries on one day than a block holds, stale ones among them, all popped right."""
    n = 3 * BLOCK + 5
    cal, field = _calendar(n_days=10, n_agents=n)
    who = np.arange(n, dtype=np.int64)[::-1].copy()  # filed in descending order
    cal.schedule(who, 4)
    cal.schedule(ids(7, 8), 6)  # rescheduled: their day-4 entries are stale
    cal.cancel(ids(9))
    cal.schedule(ids(9), 4)  # cancelled, then filed again for the same day: taken once
    assert cal.count[4] == n + 1
    expected = [i for i in range(n) if i not in (7, 8)]
    assert cal.pop(4).tolist() == expected
    assert cal.pop(6).tolist() == [7, 8]
    assert cal.count.sum() == 0
    assert cal.n_free == cal.nxt.size  # every block back in the pool


def test_calendar_grows_past_its_pool_and_reuses_blocks():
    rng = np.random.default_rng(1)
    n, n_days = 20_000, 50
    cal, field = _calendar(n_days, n)
    blocks = cal.nxt.size
    days = rng.integers(0, n_days, n)
    for part in np.array_split(np.arange(n, dtype=np.int64), 7):
        cal.schedule(part, days[part])
    assert cal.nxt.size > blocks  # grew
    for day in range(n_days):
        assert cal.pop(day).tolist() == np.flatnonzero(days == day).tolist()
    size = cal.nxt.size
    cal.schedule(np.arange(n, dtype=np.int64), days)  # the same again fits in the freed blocks
    assert cal.nxt.size == size
    assert sum(cal.pop(d).size for d in range(n_days)) == n


def test_calendar_pops_what_its_reference_says_under_random_filing() -> None:
    rng = np.random.default_rng(3)
    cal, field = _calendar(n_days=60, n_agents=400)
    for day in range(60):
        who = rng.choice(400, 40, replace=False).astype(np.int64)
        cal.schedule(who, day + rng.integers(0, 30, who.size))  # today included
        cal.cancel(rng.choice(400, 10, replace=False))
        want = due_reference(field, day)
        assert cal.pop(day).tolist() == want.tolist()
        assert (field[want] == -1).all()


# ---- queues and capacities -------------------------------------------------------------------


def test_fifo_queue_first_in_first_out_skipping_those_who_left():
    q = FifoQueue()
    valid = np.zeros(20, dtype=bool)
    for chunk in (ids(4, 2, 9), ids(1), ids(7, 3)):
        q.push(chunk)
        valid[chunk] = True
    valid[2] = False  # left the queue
    assert q.take(2, valid).tolist() == [4, 9]
    assert q.compact(valid) == 3
    assert q.take(10, valid).tolist() == [1, 7, 3]
    assert q.take(1, valid).tolist() == []
    assert q.compact(valid) == 0


def test_fifo_queue_partial_takes_keep_the_rest_in_order():
    q = FifoQueue()
    valid = np.ones(10, dtype=bool)
    q.push(np.arange(10, dtype=np.int64))
    assert [q.take(3, valid).tolist() for _ in range(4)] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_fifo_queue_tags_keep_only_the_latest_joining():
    """An agent who left and joined again waits from its second joining, and is taken once."""
    q = FifoQueue(capacity=4)
    valid = np.zeros(10, dtype=bool)
    joined = np.full(10, -1, dtype=np.int32)
    for day, chunk in enumerate((ids(1, 2), ids(3), ids(4, 5, 6))):
        q.push(chunk, day)
        valid[chunk] = True
        joined[chunk] = day
    valid[2] = False  # left on day 2 ...
    q.push(ids(2), 3)  # ... and joined again on day 3
    valid[2], joined[2] = True, 3
    assert len(q) == 7
    assert q.take(3, valid, joined).tolist() == [1, 3, 4]
    assert q.take(10, valid, joined).tolist() == [5, 6, 2]
    assert len(q) == 0


def test_fifo_queue_takes_what_its_reference_says_with_leaving_and_joining_again() -> None:
    rng = np.random.default_rng(5)
    q = FifoQueue(capacity=8)
    valid = np.zeros(300, dtype=bool)
    joined = np.full(300, -1, dtype=np.int32)
    for day in range(80):
        who = rng.choice(300, 6, replace=False).astype(np.int64)
        who = who[~valid[who]]  # only those not waiting join (again)
        q.push(who, day)
        valid[who], joined[who] = True, day
        valid[rng.choice(300, 3, replace=False)] = False  # some leave
        entries = q.entries()
        want = take_reference(*entries, 4, valid, joined)
        got = q.take(4, valid, joined)
        assert got.tolist() == want
        valid[got] = False


def test_a_take_of_some_leaves_the_others_in_line_as_its_reference_says() -> None:
    """``take_where`` takes the first allowed; the others keep their place for the next take."""
    rng = np.random.default_rng(7)
    q = FifoQueue(capacity=8)
    valid = np.zeros(300, dtype=bool)
    rows = rng.integers(0, 3, 300).astype(np.int16)
    cols = rng.random(300) < 0.5
    allowed = np.array([[True, False], [False, True], [True, True]])
    served = 0
    for _ in range(80):
        who = rng.choice(300, 6, replace=False).astype(np.int64)
        who = who[~valid[who]]
        q.push(who)
        valid[who] = True
        valid[rng.choice(300, 3, replace=False)] = False  # some leave
        ids_held = q.entries()[0]
        want = take_where_reference(ids_held, 3, valid, rows, cols, allowed)
        got = q.take_where(3, valid, rows, cols, allowed)
        assert got.tolist() == want
        valid[got] = False
        served += got.size
        # Everyone waiting is still held: only stale entries in front were dropped.
        assert set(np.flatnonzero(valid)) <= set(q.entries()[0].tolist())
        rest = take_reference(*q.entries(), 2, valid)
        assert q.take(2, valid).tolist() == rest  # then a take of anyone, from the front
        valid[rest] = False
    assert served > 50


def test_fifo_queue_takes_an_agent_who_joined_twice_once():
    """Without tags, leaving and joining again leaves two live entries: one take gives it once."""
    for capacity in (2, 256):
        q = FifoQueue(capacity=capacity)
        valid = np.zeros(10, dtype=bool)
        q.push(ids(1, 2, 3))
        valid[[1, 2, 3]] = True
        valid[2] = False  # 2 leaves (its entry stays) ...
        q.push(ids(2, 4))  # ... and joins again behind 3, then 4 joins
        valid[[2, 4]] = True
        assert q.take(3, valid).tolist() == [1, 2, 3]  # 2 at its first live entry, once
        assert valid[[1, 2, 3, 4]].all()  # the caller's field is left as it was
        valid[[1, 2, 3]] = False  # served
        assert q.take(5, valid).tolist() == [4]
    many = FifoQueues(2)
    valid = np.ones(10, dtype=bool)
    many.push(ids(6, 7, 6, 8), np.array([0, 0, 0, 1]))
    got, taken = many.take(np.array([3, 1]), valid)
    assert got.tolist() == [6, 7, 8] and taken.tolist() == [2, 1]
    assert valid.all()


def test_fifo_queue_grows_and_keeps_order():
    q = FifoQueue(capacity=2)
    valid = np.ones(1000, dtype=bool)
    out = []
    for start in range(0, 1000, 10):
        q.push(np.arange(start, start + 10, dtype=np.int64))
        out += q.take(3, valid).tolist()
    out += q.take(1000, valid).tolist()
    assert out == list(range(1000))


def test_fifo_queues_serve_each_group_as_its_own_queue_would() -> None:
    """Queues of several groups held together take what one ``FifoQueue`` per group takes."""
    rng = np.random.default_rng(8)
    n_groups = 4
    many = FifoQueues(n_groups, capacity=2)  # small: rows are shifted and grown
    single = [FifoQueue(capacity=2) for _ in range(n_groups)]
    group = rng.integers(0, n_groups, 400)
    valid = np.zeros(400, dtype=bool)
    joined = np.full(400, -1, dtype=np.int32)
    for day in range(120):
        who = rng.choice(400, 9, replace=False).astype(np.int64)
        who = who[~valid[who]]
        many.push(who, group[who], day)
        for g in range(n_groups):
            single[g].push(who[group[who] == g], day)
        valid[who], joined[who] = True, day
        valid[rng.choice(400, 4, replace=False)] = False  # some leave
        want = rng.integers(-1, 5, n_groups)
        got, taken = many.take(want, valid, joined)
        expected = [single[g].take(max(int(want[g]), 0), valid, joined) for g in range(n_groups)]
        assert got.tolist() == np.concatenate(expected).tolist()
        assert taken.tolist() == [e.size for e in expected]
        assert many.lengths().tolist() == [len(q) for q in single]
        for g in range(n_groups):
            np.testing.assert_array_equal(many.entries(g)[0], single[g].entries()[0])
        valid[got] = False


def test_fifo_queues_without_tags_in_group_order() -> None:
    q = FifoQueues(3)
    valid = np.ones(10, dtype=bool)
    q.push(ids(5, 1, 7, 2, 9), np.array([2, 0, 2, 0, 1]))
    valid[7] = False
    got, taken = q.take(np.array([1, 5, 5]), valid)
    assert got.tolist() == [1, 9, 5]  # group 0 gives one, group 1 all, group 2 skips 7
    assert taken.tolist() == [1, 1, 1]
    assert q.lengths().tolist() == [1, 0, 0]


def test_capacity_carries_fractions_of_a_seat():
    cap = Capacity()
    assert [cap.whole(0.4) for _ in range(5)] == [0, 0, 1, 0, 1]
    cap = Capacity()
    assert [cap.whole(2.5) for _ in range(4)] == [2, 3, 2, 3]
    cap = Capacity()
    assert sum(cap.whole(1 / 3) for _ in range(300)) == 100


def test_capacities_of_several_corridors_are_each_their_own():
    amounts = np.array([0.4, 2.5, 1 / 3, 0.0])
    together, apart = Capacity(4), [Capacity() for _ in amounts]
    for day in range(50):
        got = together.whole(amounts * (1 + day % 3))
        assert got.dtype == np.int64
        assert got.tolist() == [
            c.whole(a * (1 + day % 3)) for c, a in zip(apart, amounts, strict=True)
        ]


# ---- random streams --------------------------------------------------------------------------


def test_streams_depend_on_seed_and_name_not_on_order():
    a, b = Streams(1), Streams(1)
    first = a["hazards"].random(5)
    b["recruitment"].random(100)  # another module drawing first changes nothing
    assert np.array_equal(first, b["hazards"].random(5))
    assert not np.array_equal(Streams(1)["money"].random(5), Streams(1)["fees"].random(5))
    assert not np.array_equal(Streams(1)["hazards"].random(5), Streams(2)["hazards"].random(5))
    s = Streams(3)
    assert s["x"] is s["x"]  # one generator per name, continuing its sequence


def test_run_seed_depends_on_experiment_seed_and_index():
    seeds = [run_seed(10, i) for i in range(50)]
    assert len(set(seeds)) == 50
    assert seeds == [run_seed(10, i) for i in range(50)]
    assert run_seed(11, 0) != run_seed(10, 0)


# ---- agents and records ----------------------------------------------------------------------


def test_population_grows_keeping_values_and_defaults():
    fields = {"state": (np.int8, 0), "entered": (np.int32, NEVER), "grant": (np.int16, -1)}
    pop = Population(16, fields)
    first = pop.add(10)
    assert first.tolist() == list(range(10))
    pop.state[first] = 3
    pop.entered[first] = 42
    more = pop.add(20)  # beyond the capacity
    assert more.tolist() == list(range(10, 30))
    assert pop.capacity >= 30 and pop.n == 30
    assert pop.state[:10].tolist() == [3] * 10 and pop.entered[:10].tolist() == [42] * 10
    assert (pop.entered[10:30] == NEVER).all()
    for name, (dtype, fill) in fields.items():
        arr = getattr(pop, name)
        assert arr.dtype == dtype and arr.size == pop.capacity, name
        assert (arr[30:] == 0).all() and (arr[:30][10:] == fill).all(), name
    assert pop.view("state").size == 30


def test_a_flag_by_state_counts_the_flagged_in_their_state_of_the_moment():
    fields = {"state": (np.int8, 0), "origin": (np.int8, 0), "stuck": (np.bool_, 0)}
    pop = Population(8, fields)
    who = pop.add(5)
    pop.state[who] = [1, 1, 2, 2, 3]
    pop.origin[who] = [0, 1, 0, 1, 1]
    stuck = pop.flag("stuck", n_origins=2, n_states=4)
    assert stuck.set(ids(0, 1, 4)).tolist() == [0, 1, 4]
    assert stuck.by_state.tolist() == [[0, 0], [1, 1], [0, 0], [0, 1]]
    stuck.restate(ids(1, 2, 4), 2)  # agent 2 is not flagged: not counted
    pop.state[ids(1, 2, 4)] = 2
    assert stuck.by_state.tolist() == [[0, 0], [1, 0], [0, 2], [0, 0]]
    assert stuck.clear(ids(1, 3)).tolist() == [1]  # agent 3 was never flagged
    assert stuck.by_state.tolist() == [[0, 0], [1, 0], [0, 1], [0, 0]]
    assert np.array_equal(stuck.recount_by_state(), stuck.by_state)
    assert stuck.counts.tolist() == [1, 1]
    plain = Population(8, fields | {"seen": (np.bool_, 0)}).flag("seen", 2)
    with pytest.raises(ValueError, match="keeps no counts by state"):
        plain.recount_by_state()


@pytest.mark.parametrize("by_sex", [False, True])
@pytest.mark.parametrize("n_states", [0, 5])
def test_the_flag_kernel_changes_and_counts_what_numpy_does(by_sex: bool, n_states: int) -> None:
    rng = np.random.default_rng(7)
    size, n_origins = 500, 4
    origin = rng.integers(0, n_origins, size).astype(np.int8)
    female = rng.random(size) < 0.4
    state = rng.integers(0, max(n_states, 1), size).astype(np.int8)
    values = rng.random(size) < 0.5
    counts = np.zeros(n_origins, dtype=np.int64)
    women = np.zeros(n_origins if by_sex else 0, dtype=np.int64)
    by_state = np.zeros((n_states, n_origins), dtype=np.int64)
    mine = [values.copy(), counts.copy(), women.copy(), by_state.copy()]
    for to in (True, False, True):
        ids = rng.permutation(size)[: rng.integers(1, size)].astype(np.int64)
        sign = 1 if to else -1
        want = change_reference(
            ids, values, to, sign, origin, female, state, counts, women, by_state
        )
        out = np.empty(ids.size, dtype=np.int64)
        n = change_kernel(ids, mine[0], to, sign, origin, female, state, *mine[1:], out)
        assert out[:n].tolist() == want.tolist()
        for a, b in zip(mine, (values, counts, women, by_state), strict=True):
            np.testing.assert_array_equal(a, b)
    assert counts.any() and (women.any() or not by_sex) and (by_state.any() or not n_states)


def test_numpy_takes_the_kinds_as_their_ints_without_asking_the_enum(monkeypatch) -> None:
    asked = []
    lookup = getattr(enum.EnumType, "__getattr__", None)
    if lookup is not None:  # Python 3.11: a missing class attribute goes through it
        monkeypatch.setattr(
            enum.EnumType, "__getattr__", lambda c, n: asked.append(n) or lookup(c, n)
        )
    codes = np.arange(14, dtype=np.int8)
    for kind in (State.EMPLOYED, Hazard.RUNAWAY, Timer.REVIEW, TurningPoint.STRANDED):
        assert (codes == kind).tolist() == (codes == int(kind)).tolist()
        assert (kind != codes).tolist() == (int(kind) != codes).tolist()
        full = np.full(3, kind)
        assert full.dtype == np.full(3, int(kind)).dtype and full.tolist() == [int(kind)] * 3
        assert np.where(codes > 5, kind, -1).tolist() == np.where(codes > 5, int(kind), -1).tolist()
    assert asked == []


def test_simulation_keeps_calendars_on_grown_arrays():
    sim = build("stranding")
    before = sim.pop.capacity
    new = sim.add_agents(before + 10)
    assert sim.pop.capacity > before
    sim.lifecycle.set_timer(new[-1:], Timer.CONTRACT_END, 5)
    assert sim.pop.t_timer[new[-1]] == 5
    assert sim.lifecycle.calendar.field is sim.pop.t_timer
    assert sim.hazards.calendar.field is sim.pop.t_hazard
    assert sim.money.calendar.field is sim.pop.t_money
    assert sim.lifecycle.calendar.pop(5).tolist() == [int(new[-1])]


def test_recorder_counts_flows_and_creations():
    rec = Recorder(n_days=3, n_states=len(State), n_origins=2, n_sectors=2)
    pop = Population(8)
    who = pop.add(4)
    pop.state[who] = State.EMPLOYED
    pop.origin[who] = [0, 0, 1, 1]
    pop.sector[who] = [0, 1, 1, 0]
    rec.start(pop)
    rec.set_day(0)
    emp = np.array([State.EMPLOYED] * 3)
    rec.flow(emp, int(State.STRANDED), np.array([0, 1, 1]), np.array([0, 1, 0]))
    rec.create(int(State.POOL), np.array([1, 1]), np.array([1, 1]))
    rec.end_day(0)
    # By origin (rows) and sector (columns): who is left working, stranded, in the pool.
    assert rec.sector_stocks[0, State.EMPLOYED].tolist() == [[0, 1], [0, 0]]
    assert rec.sector_stocks[0, State.STRANDED].tolist() == [[1, 0], [1, 1]]
    assert rec.sector_stocks[0, State.POOL].tolist() == [[0, 0], [0, 2]]
    assert rec.stocks[0, State.EMPLOYED].tolist() == [1, 0]
    assert rec.stocks[0, State.STRANDED].tolist() == [1, 2]
    assert rec.stocks[0, State.POOL].tolist() == [0, 2]
    assert rec.flows[0, State.EMPLOYED, State.STRANDED].tolist() == [1, 2]
    assert rec.created[0].tolist() == [0, 2]
    rec.set_day(1)
    rec.end_day(1)
    assert rec.flows[1].sum() == 0  # flows are per day
    assert np.array_equal(rec.stocks[1], rec.stocks[0])


# ---- the simulation's guards -----------------------------------------------------------------


@pytest.mark.parametrize("scale", [0, -1, 101, 0.00005])
def test_simulation_rejects_impossible_scales(scale):
    with pytest.raises(ValueError, match="scale must be between 0.0001 and 100"):
        Simulation(load_scenario(scenario_file("stranding")), scale=scale)


def test_scaled_initial_population_is_unbiased():
    """A scaled-down stock rounds to whole agents without bias: 10 * 0.25 = 2.5 agents."""
    sc = load_scenario(scenario_file("stranding"))
    sizes = [Simulation(sc, seed=s, scale=0.25).pop.n for s in range(40)]
    assert set(sizes) == {2, 3}
    assert 10 <= sizes.count(3) <= 30


def test_time_into_stage_follows_the_entries_of_the_years_people_came_in():
    """Flat demand: uniform. Demand doubled in the last year: two thirds are in its half."""
    u = (np.arange(100_000) + 0.5) / 100_000
    flat = Simulation(load_scenario(scenario_file("mini")), seed=1, scale=0.01)
    stage_1 = flat.recruitment._time_into_stage(u, 0, 365.25, 0.0)
    assert np.allclose(stage_1, u * 365.25, rtol=0, atol=1e-9)

    growing = load_scenario(
        scenario_file("mini"), {"recruitment.demand": {2016: 1000, 2017: 2000, 2019: 2000}}
    )
    sim = Simulation(growing, seed=1, scale=0.01)
    # Start 2019-01-01. Stage 2 (730.5 days) comes after stage 1 (365.25): those 0-365 days into
    # it first entered in 2017 (2000), the others in 2016 or before (1000, the first year's).
    elapsed = sim.recruitment._time_into_stage(u, 0, 730.5, 365.25)
    assert elapsed.min() >= 0 and elapsed.max() <= 730.5
    assert np.mean(elapsed < 365) == pytest.approx(2 / 3, abs=0.003)
