"""Bad scenario files: each error names the file, the key path and the reason, from Python and
from the command line (non-zero exit, message on stderr, no traceback)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import FLAGSHIP, scenario_file, tmpsim_cli, tmpsim_inprocess

from tmpsim import ScenarioError, load_scenario

Mutation = Callable[[dict[str, Any]], None]


def names(path, key: str, text: str) -> bool:
    """Whether an error message names the file, a line in it and the key path."""
    return re.search(rf"{re.escape(str(path))}:\d+: {re.escape(key)}", text) is not None


def _base() -> dict[str, Any]:
    return yaml.safe_load(scenario_file("stranding").read_text(encoding="utf-8"))


def _event(**kw: Any) -> Mutation:
    return lambda d: d["events"].append(kw)


# name -> (change to the valid base scenario, key path the message must name, reason fragment)
BAD: dict[str, tuple[Mutation, str, str]] = {
    "unknown_key": (
        lambda d: d["money"].update(wage_per_mnth=1),
        "money.wage_per_mnth",
        "unknown key",
    ),
    "unknown_top_level_key": (lambda d: d.update(colour="red"), "colour", "unknown key"),
    "wrong_type": (
        lambda d: d["programme"].update(grace_days="ninety"),
        "programme.grace_days",
        "expected a number, got the text 'ninety'",
    ),
    "wrong_type_in_list": (
        lambda d: d["programme"]["stages"][0].update(months="a year"),
        "programme.stages.0.months",
        "expected a number, got the text 'a year'",
    ),
    "negative_change_limit": (
        lambda d: d["programme"].update(job_change={"mode": "free", "max_changes": -1}),
        "programme.job_change.max_changes",
        "greater than or equal to 0",
    ),
    "fractional_change_limit": (
        lambda d: d["programme"].update(job_change={"mode": "free", "max_changes": 1.5}),
        "programme.job_change.max_changes",
        "valid integer, got a number with a fractional part",
    ),
    "end_before_start": (lambda d: d.update(end="2018-12-01"), "end", "must be after start"),
    # A borrower owes at most 1.5 times their fee: a larger mean was cut without a word.
    "debt_above_fee": (
        lambda d: d["origins"]["A"].update(fee_mean=1000, debt_mean=1600),
        "origins.A.debt_mean",
        "1,600 is more than 1.5 × origins.A.fee_mean (1,000 × 1.5 = 1,500): a borrower's debt "
        "at departure is drawn as their own fee times debt_mean / fee_mean, held to at most 1.5 "
        "times that fee",
    ),
    "debt_without_fee": (
        lambda d: d["origins"]["A"].update(debt_mean=10),
        "origins.A.debt_mean",
        "10 with origins.A.fee_mean 0: nobody pays a fee, so nobody borrows for one",
    ),
    "negative_shelter_capacity": (
        lambda d: d.update(shelters=[{"name": "npo", "capacity": -5}]),
        "shelters.0.capacity",
        "greater than or equal to 0",
    ),
    "negative_seats": (
        lambda d: d["borders"].update(seats_out_per_day=-1),
        "borders.seats_out_per_day",
        "greater than or equal to 0",
    ),
    "event_unknown_corridor": (
        lambda d: d["events"][0].update(corridor="Atlantis"),
        "events.0",
        "corridor 'Atlantis' is not an origin",
    ),
    "event_unknown_origin": (
        _event(type="hazard", date="2019-01-05", hazard="dismissal", multiplier=2, origins=["Q"]),
        "events.1",
        "origin 'Q' is not one of",
    ),
    "flight_unknown_corridor": (
        _event(type="flight", date="2019-01-05", corridor="Q", seats=10),
        "events.1",
        "corridor 'Q' is not an origin",
    ),
    "event_unknown_sector": (
        _event(type="hazard", date="2019-01-05", hazard="dismissal", multiplier=2, sectors=["x"]),
        "events.1",
        "sector 'x' is not one of",
    ),
    "stay_extension_unknown_segment": (
        _event(type="stay_extension", date="2019-01-05", end="2019-01-09", days=30, segments=["x"]),
        "events.1",
        "segment 'x' is not one of",
    ),
    "stay_extension_without_days": (
        _event(type="stay_extension", date="2019-01-05", end="2019-01-09"),
        "events.1.days",
        "required",
    ),
    "stay_extension_share_above_one": (
        _event(type="stay_extension", date="2019-01-05", end="2019-01-09", days=30, share=1.5),
        "events.1.share",
        "less than or equal to 1",
    ),
    "event_date_after_run": (
        lambda d: d["events"][0].update(date="2020-01-01"),
        "events.0",
        "outside the run 2019-01-01..2019-01-31",
    ),
    "event_date_before_run": (
        _event(type="entry_cap", date="2018-12-31", per_day=3),
        "events.1",
        "outside the run",
    ),
    "event_unknown_type": (
        _event(type="teleport", date="2019-01-05"),
        "events.1",
        "does not match any of the expected tags",
    ),
    "sources_names_missing_key": (
        lambda d: d["sources"].update({"money.wage_per_mnth": "assumed"}),
        "sources.money.wage_per_mnth",
        "no such key",
    ),
    "stock_in_unknown_stage": (
        lambda d: d["origins"]["A"].update(initial_stock={"9": 5}),
        "origins.A.initial_stock",
        "unknown stage",
    ),
}


def write_bad(tmp_path: Path, name: str) -> Path:
    """The base scenario with one mistake, as its own file."""
    data = copy.deepcopy(_base())
    BAD[name][0](data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_base_scenario_is_valid():
    """The mistakes below are the only thing wrong with each file."""
    assert load_scenario(scenario_file("stranding")).name == "tiny-stranding"


@pytest.mark.parametrize("name", sorted(BAD))
def test_load_scenario_names_file_key_and_reason(tmp_path, name):
    path = write_bad(tmp_path, name)
    _, key, reason = BAD[name]
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert re.match(rf"{re.escape(str(path))}:\d+: {re.escape(key)}", message), message
    assert reason in message
    assert "Value error" not in message and "(top level)" not in message


@pytest.mark.parametrize("name", sorted(BAD))
def test_cli_run_rejects_bad_file(tmp_path, name):
    path = write_bad(tmp_path, name)
    _, key, reason = BAD[name]
    code, out, err = tmpsim_inprocess("run", str(path), "--quiet", "--out", str(tmp_path / "out"))
    assert code != 0
    assert names(path, key, err) and reason in err
    assert out == ""
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["event_unknown_corridor", "sources_names_missing_key"])
def test_cli_process_exits_non_zero_without_traceback(tmp_path, name):
    """The same through a real process: exit status, stderr, and no traceback anywhere."""
    path = write_bad(tmp_path, name)
    _, key, reason = BAD[name]
    proc = tmpsim_cli("run", str(path), "--quiet", "--out", str(tmp_path / "out"))
    assert proc.returncode != 0
    assert names(path, key, proc.stderr) and reason in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_cli_show_rejects_bad_file(tmp_path):
    path = write_bad(tmp_path, "unknown_key")
    code, out, err = tmpsim_inprocess("show", str(path))
    assert code != 0
    assert names(path, "money.wage_per_mnth: unknown key", err)
    assert out == ""


def test_every_problem_is_listed(tmp_path):
    """Several mistakes in one file give one line each."""
    data = _base()
    data["money"]["wage_per_mnth"] = 1
    data["programme"]["grace_days"] = "ninety"
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert {line.split(": ")[1] for line in lines} == {
        "money.wage_per_mnth",
        "programme.grace_days",
    }


def test_a_debt_at_the_bound_loads_and_a_segments_debt_is_named_where_it_is_set():
    ok = load_scenario(scenario_file("stranding"), {"origins.A.fee_mean": 1000.0})
    assert load_scenario(ok, {"origins.A.debt_mean": 1500.0}).origins["A"].debt_mean == 1500
    # A segment's debt is read against the fee it resolves with (here the origin's).
    segments = scenario_file("segments")
    fee = {"origins.A.fee_mean": 100.0}
    for key in ("origins.A.segments.domestic.debt_mean", "segments.domestic.debt_mean"):
        with pytest.raises(ScenarioError) as info:
            load_scenario(segments, {**fee, key: 151.0})
        message = str(info.value)
        assert f"override {key}=151.0: {key}: 151 is more than 1.5 × origins.A.fee_mean" in message
    # The segment's own fee counts where it sets one.
    own_fee = {**fee, "segments.domestic.fee_mean": 200.0, "segments.domestic.debt_mean": 300.0}
    assert load_scenario(segments, own_fee).segments["domestic"].debt_mean == 300


def test_origins_debts_are_not_bounded_where_the_market_sets_the_fees():
    # The flagship with the market's fees: its fees and debts replace the origins' own.
    over = {"origins_market.fees": True, "origins.Vietnam.debt_mean": 10_000_000.0}
    assert load_scenario(FLAGSHIP, over).origins["Vietnam"].debt_mean == 10_000_000
    with pytest.raises(ScenarioError, match=r"origins.Vietnam.debt_mean: 10,000,000 is more than"):
        load_scenario(FLAGSHIP, {"origins.Vietnam.debt_mean": 10_000_000.0})


def test_invalid_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"broken.yaml:2: not valid YAML"):
        load_scenario(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="must be a mapping"):
        load_scenario(listed)
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "absent.yaml")
    with pytest.raises(ScenarioError, match="not a shipped scenario"):
        load_scenario("no-such-scenario")
    code, _, err = tmpsim_inprocess("run", str(bad), "--quiet")
    assert code != 0 and "not valid YAML" in err


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="no /dev/null here")
def test_a_device_or_pipe_is_not_called_missing(tmp_path):
    """/dev/null exists: the message says it is not a regular file, not that it is missing."""
    import os

    paths = ["/dev/null"]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.yaml")
        paths.append(str(tmp_path / "pipe.yaml"))
    for path in paths:
        with pytest.raises(ScenarioError, match=f"^{re.escape(path)}: exists but is not a regular"):
            load_scenario(path)
        code, _, err = tmpsim_inprocess("run", path, "--quiet")
        assert code == 2 and "no such" not in err
        assert err.strip() == (
            f"error: {path}: exists but is not a regular file (a device, pipe or socket); give a "
            "scenario .yaml file"
        )


def test_overrides_are_validated_like_the_file():
    path = scenario_file("stranding")
    # A mapping of overrides (the Python API, experiments) is named as an override, not --set.
    with pytest.raises(ScenarioError, match=r"^override money\.wages\.x: money: no key 'wages'"):
        load_scenario(path, {"money.wages.x": 1})
    with pytest.raises(
        ScenarioError,
        match=r"^--set programme\.grace_days=ninety: programme\.grace_days: expected a number",
    ):
        load_scenario(path, ["programme.grace_days=ninety"])
    with pytest.raises(ScenarioError, match="expected path.to.key=value"):
        load_scenario(path, ["programme.grace_days"])
    # A new key under a section with fixed keys is refused at once, with the nearest valid key.
    with pytest.raises(
        ScenarioError, match=r"^override money\.wage_pr_month: .*did you mean 'wage_per_month'\?"
    ):
        load_scenario(path, {"money.wage_pr_month": 5})
    # ... while a mapping of the user's own keys (years of demand) takes a new one.
    assert load_scenario(path, {"recruitment.demand.2031": 5}).recruitment.demand[2031] == 5


def test_overrides_into_lists_are_checked():
    path = scenario_file("stranding")
    assert load_scenario(path, ["events.0.seats_per_day=7"]).events[0].seats_per_day == 7
    with pytest.raises(ScenarioError, match=r"--set events\.3\.seats_per_day: .*no item 3"):
        load_scenario(path, ["events.3.seats_per_day=7"])
    with pytest.raises(ScenarioError, match=r"--set events\.first: .*no item named 'first'"):
        load_scenario(path, ["events.first=7"])
    code, _, err = tmpsim_inprocess("show", str(path), "--set", "events.9.note=x")
    assert code == 2 and "no item 9 in a list of 1" in err


def test_events_are_addressed_by_name():
    """A named event is found by its name (and still by its position)."""
    sc = load_scenario("japan-titp-covid", ["events.vietnam_flights_cut.seats_per_day=50"])
    (event,) = [e for e in sc.events if e.name == "vietnam_flights_cut"]
    assert event.seats_per_day == 50
    position = next(i for i, e in enumerate(sc.events) if e.name == "vietnam_flights_cut")
    again = load_scenario("japan-titp-covid", [f"events.{position}.seats_per_day=50"])
    assert again == sc
    with pytest.raises(ScenarioError, match=r"did you mean 'vietnam_flights_cut'\?"):
        load_scenario("japan-titp-covid", ["events.vietnam_flight_cut.seats_per_day=50"])


def test_set_reaches_keys_left_out_of_resolved_data_while_unset():
    """max_changes and a headline's stat resolve out of sight when unset; --set still sets them."""
    sc = load_scenario(scenario_file("mini"), ["programme.job_change.max_changes=2"])
    assert sc.programme.job_change.max_changes == 2
    head = "[{name: a, label: a, metric: stranded, start: 2020-01-01, end: 2020-12-31}]"
    sc = load_scenario(scenario_file("mini"), [f"headlines={head}", "headlines.a.stat=max"])
    assert sc.headlines[0].stat == "max"
    with pytest.raises(ScenarioError, match="no key 'segments'"):  # a border event has none
        load_scenario(scenario_file("mini"), ["events.0.segments=[x]"])
