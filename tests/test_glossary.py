"""The glossary: one source for labels, units and docs/glossary.md; every metric explained."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import scenario_file

import tmpsim
from tmpsim.reports import glossary
from tmpsim.reports.glossary import ScenarioWords, format_value, summary_rows, term
from tmpsim.states import STATE_NAMES

ROOT = Path(__file__).resolve().parents[1]


def test_docs_glossary_is_generated_from_the_source() -> None:
    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    assert text == glossary.markdown(), (
        "docs/glossary.md is out of date: python -m tmpsim.reports.glossary > docs/glossary.md"
    )


def test_every_state_and_every_metric_a_run_writes_is_explained() -> None:
    assert set(glossary.STATES) == set(STATE_NAMES)
    result = tmpsim.run(scenario_file("mini"), seed=1, scale=0.2, agents=False)
    for metric in result.metric_names:
        t = term(metric)
        assert t.label and t.definition and t.group in glossary.GROUPS, metric
    doc = glossary.markdown()
    for name in glossary.TERMS:
        assert f"`{name}`" in doc


def test_the_caveats_that_matter_are_in_the_docs() -> None:
    doc = glossary.markdown()
    assert "## What `stranded` counts" in doc and "whatever bridging status" in doc
    assert "does not include uncertainty about the scenario's parameters" in doc
    assert "parameter and chance uncertainty" in doc


def test_unknown_metric_is_an_error_naming_the_glossary() -> None:
    with pytest.raises(KeyError, match="glossary"):
        term("no_such_metric")


def test_families_and_programme_labels() -> None:
    assert term("state_special_idle").label == "state: special idle"
    assert term("programme_stock_stage_2").monthly == "month_end"
    words = ScenarioWords(stock_label="trainees", currency="XYZ")
    assert words.label("programme_stock") == "trainees"
    assert words.label("programme_stock_stage_2") == "trainees, stage 2"
    assert words.unit("returned_debt") == "XYZ" and words.unit("stranded") == "people"


def test_scenario_words_come_from_the_scenario() -> None:
    words = ScenarioWords.of(tmpsim.load_scenario("hongkong-fdh-covid"))
    assert words.currency == "HKD" and words.host == "Hong Kong"
    assert words.stock_label and words.events
    assert not words.references("stranded")  # no observed count to compare with
    flagship = ScenarioWords.of(tmpsim.load_scenario("japan-titp-covid"))
    (ref,) = flagship.references("stranded")
    assert ref["date"] == "2021-01-21" and ref["value"] > 0 and ref["source"]
    assert ScenarioWords.of({}).currency == "currency units"


def test_summary_rows_take_labels_units_and_currency_from_the_scenario() -> None:
    summary = {"peak_stranded": 1234.4, "my_headline": 12.0, "mean_debt_at_return": 5000.0}
    scenario = {
        "currency": "XYZ",
        "headlines": [{"name": "my_headline", "label": "Stranded in March", "metric": "stranded"}],
    }
    rows = summary_rows(summary, scenario)
    assert rows == [
        ("Peak stranded", "1,234 people"),
        ("Stranded in March", "12 people"),
        ("Mean debt at return", "5,000 XYZ"),
    ]
    assert format_value(94661.2, "currency", "XYZ") == "94,661 XYZ"


def test_a_peak_of_few_simulated_people_says_so() -> None:
    summary = {"peak_stranded": 1500.0, "peak_destitute": 100.0, "peak_needs_bed": 0.0}
    rows = dict(summary_rows({**summary, "scale": 0.02}, {}))
    assert rows["Peak stranded"] == "1,500 people"  # 30 simulated
    assert rows["Peak destitute"] == "100 people (2 simulated: noisy, a peak biased upward)"
    assert rows["Peak needing a bed"] == "0 people"
    assert dict(summary_rows({**summary, "scale": 1.0}, {}))["Peak destitute"] == "100 people"
