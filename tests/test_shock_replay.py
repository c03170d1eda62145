"""``tmpsim shock``: a scenario's own shock, and the measures answering it, moved to a new date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from helpers import scenario_file, tmpsim_inprocess

from tmpsim.policy.shocks import replay_file_text, replay_shock
from tmpsim.scenario import load_scenario

D = dt.date.fromisoformat


def with_index(tmp_path: Path) -> Path:
    """The mini scenario (shock from 2020-03-20) with a monthly labour-need index, in a file."""
    data = yaml.safe_load(scenario_file("mini").read_text(encoding="utf-8"))
    index = {f"2019-{m:02d}": 1.0 for m in range(1, 13)}
    index |= {"2020-01": 1.0, "2020-02": 1.0, "2020-03": 0.8, "2020-04": 0.5}
    need = {"index": index, "lag_months": 12, "source": "made up"}
    data["behaviour"] = {"dismissal_labour_need": need}
    data["headlines"] = [
        {"name": "peak", "label": "Stranded in May", "metric": "stranded", "start": "2020-05-01",
         "end": "2020-05-31", "reference": 10, "reference_date": "2020-05-15"},
    ]  # fmt: skip
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_everything_dated_from_the_shock_on_moves_by_the_same_days(tmp_path: Path) -> None:
    base = with_index(tmp_path)
    r = replay_shock(base, "2019-09-20")
    # The run ends a year after the last day moved (the fund's end, 2020-07-02) at the latest.
    assert (r.first, r.days, r.end) == (D("2020-03-20"), -182, D("2021-12-31"))
    events = r.changes["events"]
    # 14 of the 15 events move back 182 days; the rule change of 2020-06-01 stays where it was.
    assert r.moved["events"] == 14
    assert [e["date"] for e in events if e["type"] == "rule"] == [D("2020-06-01")]
    hazard = next(e for e in events if e["type"] == "hazard")
    assert (hazard["date"], hazard["end"]) == ("2019-10-02", "2020-04-01")
    assert events[0]["date"] == "2019-09-20"
    # The shelter opening with the shock and the fund move; friends, open always, stay.
    assert r.changes["shelters"][0]["start"] == "2019-10-02"
    assert "start" not in r.changes["shelters"][1]
    fund = r.changes["emergency_funds"][0]
    assert (fund["start"], fund["end"]) == ("2019-11-01", "2020-07-02")
    # The index's months from a year before the shock on move six months back (-182 days); the
    # file sets those that change: four months before the base's first, the fall, and the base's
    # own months after it, held at the level the moved fall ends with (its own fall taken away).
    assert r.changes["behaviour"]["dismissal_labour_need"]["index"] == {
        "2018-09": 1.0, "2018-10": 1.0, "2018-11": 1.0, "2018-12": 1.0,
        "2019-09": 0.8, "2019-10": 0.5, "2019-11": 0.5, "2019-12": 0.5, "2020-01": 0.5,
        "2020-02": 0.5, "2020-03": 0.5,
    }  # fmt: skip
    # The headline moves, renamed, without the observation it was compared with.
    (headline,) = r.changes["headlines"]
    assert headline["name"] == "peak_replayed" and headline["start"] == "2019-11-01"
    assert not any(k.startswith("reference") for k in headline)


def test_the_written_file_extends_its_base_and_loads_as_the_replay(tmp_path: Path) -> None:
    base = with_index(tmp_path)
    r = replay_shock(base, "2020-07-01", "2021-12-31")
    path = tmp_path / "again.yaml"
    path.write_text(replay_file_text("base.yaml", r, "again"), encoding="utf-8")
    sc = load_scenario(path)
    assert sc.name == "again" and sc.end == D("2021-12-31") and sc.start == D("2019-01-01")
    assert sc.events[0].date == D("2020-07-01") and len(sc.events) == 15
    assert sc.shelters[0].start == D("2020-07-13")  # 2020-04-01 + 103 days
    index = sc.behaviour.dismissal_labour_need.index  # four months later: 2020-03 in 2020-07
    assert (index["2020-07"], index["2020-08"], index["2019-02"]) == (0.8, 0.5, 1.0)


def test_the_flagships_measures_move_with_its_shock() -> None:
    r = replay_shock("japan-titp-covid", "2026-04-01")
    assert r.first == D("2020-03-25") and r.days == 2198
    base = load_scenario("japan-titp-covid")
    bridges = {b["name"]: b for b in r.changes["routes"]["bridges"]}
    for b in base.routes.bridges:
        assert D(bridges[b.name]["start"]) - b.start == dt.timedelta(days=2198)
    onward = base.routes.onward[0]  # a status of the programme, not a measure: not in changes
    assert "onward" not in r.changes["routes"] and onward.start == D("2019-04-01")
    assert r.moved["routes.job_changes"] == 2 and r.moved["emergency_funds"] == 1
    # The 2020 fall of the index is taken away: held at 2020-02's level until the moved window.
    index = r.changes["behaviour"]["dismissal_labour_need"]["index"]
    own = base.behaviour.dismissal_labour_need.index
    assert {index[m] for m in ("2020-03", "2021-06", "2025-03")} == {own["2020-02"]}
    assert index["2026-04"] == own["2020-03"] and index["2026-09"] == own["2020-08"]


def test_the_command_writes_a_file_and_will_not_overwrite_it(tmp_path: Path) -> None:
    out = tmp_path / "again.yaml"
    args = ("shock", str(scenario_file("mini")), "--start", "2020-02-01", "--out", str(out))
    code, stdout, err = tmpsim_inprocess(*args)
    assert code == 0, err
    assert "2020-03-20 moved -48 days to 2020-02-01" in " ".join(stdout.split())
    assert load_scenario(out).events[0].date == D("2020-02-01")
    code, _, err = tmpsim_inprocess(*args)
    assert code == 2 and "exists (add --force" in err
    assert tmpsim_inprocess(*args, "--force")[0] == 0
    code, _, err = tmpsim_inprocess(*args[:-1], str(tmp_path / "x.txt"))
    assert code == 2 and "ends in .yaml" in err


@pytest.mark.parametrize("start", ["2018-06-01", "soon"])
def test_a_replay_that_cannot_be_run_is_refused(tmp_path: Path, start: str) -> None:
    out = tmp_path / "x.yaml"
    code, _, err = tmpsim_inprocess(
        "shock", str(scenario_file("mini")), "--start", start, "--out", str(out)
    )
    assert code == 2 and "Traceback" not in err and not out.exists()


def test_a_replay_cut_short_drops_what_lies_beyond_its_end_with_the_sources_of_it(tmp_path):
    """Bridges starting after --end are dropped, and so are the base's sources of their keys."""
    r = replay_shock("japan-titp-covid", "2021-01-01", "2021-02-01")
    path = tmp_path / "short.yaml"
    path.write_text(replay_file_text("japan-titp-covid", r, "short"), encoding="utf-8")
    sc = load_scenario(path)  # the base names keys of bridges this file no longer has
    assert sc.end == D("2021-02-01") and sc.routes.bridges == []
    assert all(not str(k).startswith("routes.bridges.") for k in sc.sources)


def test_a_replay_whose_eligibility_day_would_fall_before_the_run_takes_those_at_its_start(
    tmp_path: Path,
) -> None:
    # The Gulf's amnesty counts those irregular 14 days before its shock's first event: a replay
    # from 2016-01-05 (the run starts 2016-01-01) would put that day before the run's start.
    r = replay_shock("gulf-kafala-covid", "2016-01-05")
    path = tmp_path / "early.yaml"
    path.write_text(replay_file_text("gulf-kafala-covid", r, "early"), encoding="utf-8")
    sc = load_scenario(path)
    amnesty = next(e for e in sc.events if e.type == "exit_amnesty")
    assert amnesty.eligible_on == sc.start == D("2016-01-01")
    later = replay_shock("gulf-kafala-covid", "2017-06-01")  # far enough: moved as the rest
    moved = next(e for e in later.changes["events"] if e.get("type") == "exit_amnesty")
    assert moved["eligible_on"] == "2017-05-18"
