"""``--set`` and variants: what a value given on the command line means, and whom an error names.

Each case is a small scenario file written here or the tiny stranding scenario; the expected
values and messages are written out in full.
"""

from __future__ import annotations

import re

import pytest
import yaml
from helpers import scenario_file, tmpsim_inprocess

from tmpsim import load_scenario
from tmpsim.scenario import ScenarioError


def _named_stranding(tmp_path):
    """The stranding scenario with its one event named ``flights``."""
    data = yaml.safe_load(scenario_file("stranding").read_text(encoding="utf-8"))
    data["events"][0]["name"] = "flights"
    path = tmp_path / "named.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_bad_value_set_by_an_items_name_names_the_set(tmp_path):
    path = _named_stranding(tmp_path)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path, ["events.flights.seats_per_day=-1"])
    assert str(err.value) == (
        "--set events.flights.seats_per_day=-1: events.0.seats_per_day: "
        "Input should be greater than or equal to 0"
    )


def test_a_source_set_for_no_key_names_the_set():
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario_file("stranding"), ["sources.nothing=x"])
    assert str(err.value).startswith(
        "--set sources.nothing=x: sources.nothing: no such key in the scenario"
    )


def test_a_shorter_window_drops_the_events_outside_it():
    sc = load_scenario(scenario_file("stranding"), ["end=2019-01-20"])
    assert (str(sc.end), sc.events) == ("2019-01-20", [])
    sc = load_scenario(scenario_file("stranding"), ["end=2019-01-21"])
    assert [str(e.date) for e in sc.events] == ["2019-01-21"]


def test_a_variant_with_a_shorter_window_drops_what_it_inherits_outside_it(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(scenario_file("stranding").read_text(encoding="utf-8"), encoding="utf-8")
    short = tmp_path / "short.yaml"
    short.write_text("extends: base.yaml\nname: short\nend: 2019-01-10\n", encoding="utf-8")
    assert load_scenario(short).events == []
    # An event the variant gives itself outside its window is still an error.
    own = tmp_path / "own.yaml"
    own.write_text(
        "extends: base.yaml\nname: own\nend: 2019-01-10\nevents:\n"
        "  - {type: border, date: 2019-01-21, corridor: A, direction: out, seats_per_day: 3}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match=r"events.0 \(border on 2019-01-21\): date is outside"):
        load_scenario(own)


@pytest.mark.parametrize(("given", "value"), [("NO", "NO"), ("2024", "2024"), ("on", "on")])
def test_text_keys_take_the_value_as_typed(given, value):
    assert load_scenario(scenario_file("stranding"), [f"name={given}"]).name == value


def test_a_number_key_of_a_text_mapping_is_its_text(tmp_path):
    sc = load_scenario(scenario_file("stranding"), ["origins.A.initial_stock.1=7"])
    assert sc.origins["A"].initial_stock == {"1": 7}
    text = scenario_file("stranding").read_text(encoding="utf-8")
    path = tmp_path / "unquoted.yaml"
    path.write_text(text.replace('initial_stock: {"1": 10}', "initial_stock: {1: 10}"))
    assert load_scenario(path).origins["A"].initial_stock == {"1": 10}


def test_a_number_is_a_position_and_the_message_says_so():
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario_file("stranding"), ["programme.stages.1.months=3"])
    assert str(err.value) == (
        "--set programme.stages.1.months: programme.stages: no item 1 in a list of 1; valid "
        "names: 1, or positions 0..0 (a number is always a position, even where the names are "
        "numbers)"
    )


def test_ensemble_options_without_seeds_are_refused(tmp_path):
    code, _, err = tmpsim_inprocess(
        "run", str(scenario_file("stranding")), "--quiet", "--out", str(tmp_path / "o"),
        "--workers", "2", "--no-posterior",
    )  # fmt: skip
    assert (code, err) == (
        2,
        "error: --workers and --posterior apply to an ensemble only: add --seeds N\n",
    )
    assert not (tmp_path / "o").exists()


def test_a_folder_is_not_a_scenario(tmp_path):
    code, _, err = tmpsim_inprocess("show", str(tmp_path))
    assert (code, err) == (
        2,
        f"error: {tmp_path}: a folder, not a scenario file (give a .yaml file)\n",
    )


def test_a_measure_grants_only_a_special_status():
    """A grant to `returned` sent people home without seats: only the bridges are allowed."""
    path = scenario_file("stranding")
    event = "{type: grant_status, date: 2019-01-05, from_states: [stranded], to_state: returned}"
    with pytest.raises(ScenarioError, match="Input should be 'special_idle' or 'special_working'"):
        load_scenario(path, [f"events=[{event}]"])
    sc = load_scenario(path, [f"events=[{event.replace('returned', 'special_idle')}]"])
    assert sc.events[0].to_state == "special_idle"


def test_a_source_may_cite_a_key_left_to_its_default(tmp_path):
    text = scenario_file("stranding").read_text(encoding="utf-8")
    path = tmp_path / "cites.yaml"
    path.write_text(text.replace("sources:\n", "sources:\n  programme.grace_days: the law\n"))
    assert load_scenario(path).sources["programme.grace_days"] == "the law"
    path.write_text(text.replace("sources:\n", "sources:\n  programme.grace_dayz: the law\n"))
    with pytest.raises(ScenarioError, match=r"no key 'grace_dayz' \(did you mean 'grace_days'"):
        load_scenario(path)


def test_a_variant_that_replaces_a_list_drops_the_bases_sources_of_it(tmp_path):
    data = yaml.safe_load(scenario_file("stranding").read_text(encoding="utf-8"))
    data["events"][0]["name"] = "flights"
    data["sources"]["events.flights.seats_per_day"] = "the airline"
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    variant = tmp_path / "variant.yaml"
    variant.write_text(
        "extends: base.yaml\nname: variant\nevents:\n"
        "  - {name: charter, type: border, date: 2019-01-25, corridor: A, direction: out,"
        " seats_per_day: 9}\n",
        encoding="utf-8",
    )
    sc = load_scenario(variant)
    assert [e.name for e in sc.events] == ["charter"]
    assert "events.flights.seats_per_day" not in sc.sources
    assert sc.sources["borders"] == "assumed (test case)"  # the rest stay


def test_extends_names_the_file_beside_it_that_was_meant(tmp_path):
    (tmp_path / "base.yaml").write_text(scenario_file("stranding").read_text(encoding="utf-8"))
    variant = tmp_path / "variant.yaml"
    variant.write_text("extends: base\nname: v\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"a file beside this one\? write extends: base\.yaml"):
        load_scenario(variant)


@pytest.mark.parametrize(
    ("arguments", "kind", "message"),
    [
        ({"seed": -1}, ValueError, "seed must be a whole number, 0 or more, got -1"),
        ({"seed": 1.5}, ValueError, "seed must be a whole number, 0 or more, got 1.5"),
        ({"scale": "0.1"}, TypeError, "scale must be a number, got '0.1'"),
    ],
)
def test_the_python_api_names_a_bad_seed_or_scale(arguments, kind, message):
    from tmpsim.simulation import Simulation

    with pytest.raises(kind, match=re.escape(message)):
        Simulation(load_scenario(scenario_file("stranding")), **arguments)


def test_overrides_of_the_wrong_kind_are_named():
    path = scenario_file("stranding")
    for wrong in (5, [5]):
        with pytest.raises(TypeError, match="overrides must be a mapping of key paths"):
            load_scenario(path, wrong)
    assert load_scenario(path, "name=one").name == "one"  # one text, as on the command line
    with pytest.raises(TypeError, match="a scenario is a shipped name"):
        load_scenario(5)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("programme.job_change.max_chnges", "max_changes"),  # left out of resolved data unset
        ("origins_market.worker_fee_shar", "worker_fee_share"),  # the same
        ("routes.bridges.0.wind_dwn", "wind_down"),  # the same, in a list item
        ("money.wage_per_mnth", "wage_per_month"),  # present in resolved data
    ],
)
def test_a_misspelt_key_is_matched_against_every_key_its_section_declares(typed, meant):
    with pytest.raises(
        ScenarioError, match=rf"no key .* \(did you mean '{meant}'\?\); valid keys: .*{meant}"
    ):
        load_scenario("japan-titp-covid", {typed: 1})
