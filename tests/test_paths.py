"""Key paths, cropping to a window, and variants that extend another scenario."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import yaml
from helpers import SCENARIOS, scenario_file

from tmpsim import ScenarioError, load_scenario
from tmpsim.scenario.loader import load_raw, overlay, shipped_dir
from tmpsim.scenario.paths import PathError, crop_window, get_path, positional, set_path

DATA: dict[str, Any] = {
    "money": {"wage_per_month": 100},
    "recruitment": {"demand": {2019: 5}},
    "events": [
        {"type": "border", "date": "2019-01-05", "seats_per_day": 1},
        {"type": "flight", "name": "charter", "date": "2019-02-05", "seats": 30},
    ],
    "shelters": [{"name": "npo", "capacity": 1, "start": "2019-03-01"}],
    "sources": {"events.1.seats": "a", "events.charter.seats": "b", "events.0": "c"},
    "start": "2019-01-01",
    "end": "2019-12-31",
}


def test_get_by_key_year_position_and_name():
    assert get_path(DATA, "money.wage_per_month") == 100
    assert get_path(DATA, "recruitment.demand.2019") == 5  # an int key written as text
    assert get_path(DATA, "events.1.seats") == 30
    assert get_path(DATA, "events.charter.seats") == 30


def test_positional_writes_named_items_by_position():
    assert positional(DATA, "events.charter.seats") == "events.1.seats"
    assert positional(DATA, "shelters.npo") == "shelters.0"
    assert positional(DATA, "events.1.seats") == "events.1.seats"
    # Past what the data hold, the path stays as written.
    assert positional(DATA, "recruitment.demand.2021") == "recruitment.demand.2021"
    assert positional(DATA, "events.nameless.seats") == "events.nameless.seats"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("money.wage", "money: no key 'wage' (did you mean 'wage_per_month'?)"),
        ("events.chartr.seats", "events: no item named 'chartr' (did you mean 'charter'?)"),
        ("events.2", "events: no item 2 in a list of 2"),
        ("money.wage_per_month.x", "money.wage_per_month: not a mapping or a list"),
        ("money..x", "not a key path"),
    ],
)
def test_missing_paths_say_where_and_suggest(path, message):
    with pytest.raises(PathError) as info:
        get_path(DATA, path)
    assert message in str(info.value)


def test_set_adds_a_key_only_when_asked():
    data = json.loads(json.dumps(DATA))
    set_path(data, "events.charter.seats", 40)
    assert data["events"][1]["seats"] == 40
    set_path(data, "recruitment.demand.2020", 7)
    assert data["recruitment"]["demand"][2020] == 7  # years stay whole numbers
    with pytest.raises(PathError, match="no key 'bonus'"):
        set_path(data, "money.bonus", 1, add=False)
    with pytest.raises(PathError, match="no item 5"):
        set_path(data, "events.5", {})  # a list never grows by a path


def test_crop_keeps_sources_on_their_items():
    cropped, dropped = crop_window(DATA, start="2019-02-01", end="2019-02-28")
    assert [e["type"] for e in cropped["events"]] == ["flight"] and len(dropped) == 1
    # The positional source follows its event to position 0; the named one stays; the dropped
    # event's source goes.
    assert cropped["sources"] == {"events.0.seats": "a", "events.charter.seats": "b"}
    assert cropped["shelters"] == []  # it would open after the window
    assert DATA["events"][0]["type"] == "border"  # the input is not changed


def test_a_window_that_starts_after_an_events_eligibility_day_takes_those_at_its_start():
    # The Gulf's amnesty counts those irregular on 2020-03-01; a run from 2020-04-01 cannot
    # see that day, so its first day stands for it (and the cropped scenario loads).
    raw, _ = load_raw("gulf-kafala-covid")
    cropped, _ = crop_window(raw, start="2020-04-01")
    amnesty = next(e for e in cropped["events"] if e.get("type") == "exit_amnesty")
    assert amnesty["eligible_on"] == "2020-04-01"
    assert load_scenario(cropped).start == dt.date(2020, 4, 1)
    before, _ = crop_window(raw, start="2020-02-01")  # inside the window: kept as written
    kept = next(e for e in before["events"] if e.get("type") == "exit_amnesty")
    assert str(kept["eligible_on"]) == "2020-03-01"


def test_overlay_merges_mappings_and_replaces_lists():
    base = {"a": {"x": 1, "y": 2}, "l": [1, 2], "s": "base"}
    assert overlay(base, {"a": {"y": 3}, "l": [9]}) == {
        "a": {"x": 1, "y": 3},
        "l": [9],
        "s": "base",
    }


def _subset(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Differences of ``actual`` from ``expected`` on the keys ``expected`` has."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for k, v in expected.items():
            if k not in actual:
                out.append(f"{where}.{k}: missing")
            else:
                out += _subset(v, actual[k], f"{where}.{k}")
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in _subset(e, a, f"{where}.{i}")
        ]
    return [] if expected == actual else [f"{where}: {expected!r} != {actual!r}"]


@pytest.mark.parametrize(
    "name",
    [
        "gulf-kafala-covid",
        "hongkong-fdh-covid",
        "japan-esd-2027-covid",
        "singapore-work-permit-covid",
    ],
)
def test_variants_resolve_as_the_full_copies_did(name):
    """Each -covid file states only its differences; resolved, it is the scenario it was as a
    full copy (tests/scenarios/resolved/ holds those, resolved before the change; ESD's was
    resolved again when the scenario took the route choice, and its idle bridge's intercept
    follows the flagship's re-fits, its NPO fund the flagship's sourced one, its dismissals the
    flagship's fall in labour need, its dismissed's job search and time to decide the flagship's;
    Hong Kong's was resolved again when its 2021-2022 arrivals were sourced, and Hong Kong's and
    Singapore's when their employers came to renew more while places are unfilled, and
    Singapore's when its domestic workers' entry quota was sourced, and Hong Kong's and
    Singapore's when Hong Kong's January 2021 arrivals were sourced and its employers'
    keep_offer fitted again, and ESD's when the flagship's pull of unfilled places on runaways was
    fitted again, and Singapore's when its other Work Permit holders' entry caps were sourced;
    the four's sources again when every key they write was given a source, values unchanged;
    ESD's bridges when the flagship's were wound down as the notice says (their wind-down dates
    and source), and the sources of its bridges and employment maintenance when they became one
    measure and renewable, and its outbound seats of October 2031 when Vietnam's were sourced
    as repatriation flights only and again when the other corridors' were derived from Japan's
    international seats (the flagship's *_flights_late_2021), and its seats home of 2032 when
    China's and Myanmar's stayed at their late-2021 level into 2022 as their flight caps did
    (the flagship's china_flights_2022 and myanmar_flights_2022); the Gulf's description, events,
    behaviour and sources when its dated dismissal multipliers of 2020 gave way to the fall of
    employers' labour need; Hong Kong's private rental, its subsistence cost without the boarding
    bed and their sources when its helpers came to board between employers, and Singapore's
    employer's upkeep, in place of the shelter that stood for it, with its sources, when the
    employer came to keep up the worker without work by rule; the Gulf's description, events,
    recruitment and sources when its dated x0.3 on selection and x6 on apprehension gave way to
    the suspension of work permits, employers' backlog and the amnesty for overstayers: changes
    meant to move them)."""
    raw, _ = load_raw(name)
    assert "extends" not in raw
    text = (shipped_dir() / f"{name}.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text)["extends"] == name.removesuffix("-covid")
    before = json.loads((SCENARIOS / "resolved" / f"{name}.json").read_text(encoding="utf-8"))
    assert _subset(before, load_scenario(name).model_dump(mode="json")) == []


def test_extends_a_file_beside_it_and_refuses_cycles(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(scenario_file("stranding").read_text(encoding="utf-8"), encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nname: child\nmoney: {wage_per_month: 1000}\n")
    sc = load_scenario(child)
    assert (sc.name, sc.money.wage_per_month) == ("child", 1000)
    assert sc.money.net_share == load_scenario(base).money.net_share
    loop = tmp_path / "loop.yaml"
    loop.write_text("extends: loop.yaml\nname: x\n")
    with pytest.raises(ScenarioError, match="a cycle"):
        load_scenario(loop)
    missing = tmp_path / "missing.yaml"
    missing.write_text("extends: no-such-scenario\nname: x\n")
    with pytest.raises(ScenarioError, match=r"missing.yaml: extends: no-such-scenario: not a"):
        load_scenario(missing)


def test_event_names_are_unique():
    with pytest.raises(ScenarioError, match="'a' is used twice"):
        load_scenario(
            scenario_file("stranding"),
            {
                "events": [
                    {"type": "border", "name": "a", "date": "2019-01-02", "seats_per_day": 1},
                    {"type": "border", "name": "a", "date": "2019-01-03", "seats_per_day": 2},
                ]
            },
        )
