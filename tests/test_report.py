"""The HTML report: figure specifications, parameter sources, the self-contained file, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import tmpsim
from tmpsim.cli import app
from tmpsim.reports import charts
from tmpsim.reports.build import build_report
from tmpsim.reports.context import (
    event_table,
    flatten_parameters,
    load_observed_safe,
    parameter_table,
    source_for,
    source_kind,
)
from tmpsim.reports.glossary import ScenarioWords, format_value
from tmpsim.reports.html import plotly_js
from tmpsim.scenario import to_yaml
from tmpsim.web.controls import build_scenario, shipped_base

FLAGSHIP = "japan-titp-covid"
# The flagship's own words: currency, stock label, labelled events and its reference figure.
WORDS = ScenarioWords.of(tmpsim.load_scenario(FLAGSHIP))


def short_flagship(end: str):
    """The flagship scenario cut at ``end`` (later events left out)."""
    scenario, _ = build_scenario(shipped_base(FLAGSHIP), end=end)
    return scenario


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small run of the flagship that covers January 2021."""
    out = tmp_path_factory.mktemp("report-run") / "run"
    tmpsim.run(short_flagship("2021-02-28"), seed=1, scale=0.001, out=out, agents=False)
    return out


@pytest.fixture(scope="module")
def report_text(run_dir: Path) -> str:
    return build_report(run_dir).read_text(encoding="utf-8")


def embedded_figures(text: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="tmpsim-figures">(.*?)</script>', text, re.S
    )
    assert match
    return json.loads(match.group(1).replace("<\\/", "</"))


def tidy(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["date", "metric", "origin", "value"])
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    return frame


def daily(metric: str, start: str, days: int, value: float, origin: str = "all"):
    first = dt.date.fromisoformat(start)
    return [(str(first + dt.timedelta(days=i)), metric, origin, value) for i in range(days)]


# ---- figure specifications ---------------------------------------------------------------------


def test_money_at_return_is_the_mean_per_returnee_by_origin() -> None:
    series = tidy(
        [
            ("2020-01-01", "returns", "A", 1.0),
            ("2020-01-02", "returns", "A", 3.0),
            ("2020-01-01", "returned_debt", "A", 100.0),
            ("2020-01-02", "returned_debt", "A", 300.0),
            ("2020-01-01", "returned_savings", "A", 800.0),
            ("2020-01-01", "returns", "B", 0.0),
            ("2020-01-01", "returned_debt", "B", 0.0),
            ("2020-01-01", "returns", "all", 4.0),
        ]
    )
    fig = charts.money_at_return_figure(series, ScenarioWords(currency="XYZ"))
    debt, savings = fig["data"]
    assert debt["x"] == ["A"] and debt["y"] == [100.0]
    assert savings["y"] == [200.0]
    assert fig["layout"]["yaxis"]["title"]["text"] == "XYZ per returnee"
    assert fig["layout"]["xaxis"]["title"]["text"] == "origin"


def test_flows_are_summed_per_calendar_month() -> None:
    series = tidy(
        daily("new_entries", "2020-01-01", 60, 2.0) + daily("returns", "2020-01-01", 60, 1.0)
    )
    fig = charts.flows_figure(series)
    entries = next(t for t in fig["data"] if t["name"] == "new entries")
    assert entries["x"] == ["2020-01-01", "2020-02-01"]
    assert entries["y"] == [62.0, 58.0]
    assert fig["layout"]["yaxis"]["title"]["text"] == "people per month"


def test_stranded_figure_marks_the_scenarios_reference_figure_inside_the_window() -> None:
    series = tidy(daily("stranded", "2020-12-01", 90, 30000.0))
    fig = charts.stranded_figure(series, WORDS, observed=None)
    marker = [t for t in fig["data"] if t.get("meta") == "observed"]
    (ref,) = WORDS.references("stranded")
    assert len(marker) == 1
    assert marker[0]["x"] == [ref["date"]] and marker[0]["y"] == [ref["value"]]
    assert marker[0]["name"] == ref["label"]
    assert fig["layout"]["xaxis"]["type"] == "date"


def test_stranded_figure_has_no_reference_outside_the_window_or_without_one() -> None:
    fig = charts.stranded_figure(tidy(daily("stranded", "2017-01-01", 30, 0.0)), WORDS)
    assert not [t for t in fig["data"] if t.get("meta") == "observed"]
    series = tidy(daily("stranded", "2020-12-01", 90, 30000.0))
    fig = charts.stranded_figure(series, ScenarioWords(), observed=None)
    assert not [t for t in fig["data"] if t.get("meta") == "observed"]


def test_no_observed_figure_for_a_programme_in_a_country_without_packaged_data() -> None:
    observed, note = load_observed_safe("Gulf (stylised)")
    assert observed is None and "Gulf" in note and "Hong Kong, Japan, Singapore" in note
    observed, note = load_observed_safe("")
    assert observed is None and "names no host" in note
    observed, note = load_observed_safe("Hong Kong")  # its own counts, marked by metric
    assert note == "" and set(observed["metric"]) == {"programme_stock"}


def test_packaged_observed_points_replace_the_essay_figure_and_keep_their_source() -> None:
    observed = pd.DataFrame(
        {
            "date": pd.to_datetime(["2020-12-31", "2021-01-21", "2025-01-01"]),
            "indicator": ["stranded", "stranded", "stranded"],
            "metric": ["stranded", "stranded", "stranded"],
            "origin": ["all", "all", "all"],
            "value": [20000.0, 36000.0, 1.0],
            "source": ["ministry", "essay", "future"],
        }
    )
    fig = charts.stranded_figure(tidy(daily("stranded", "2020-12-01", 90, 1.0)), WORDS, observed)
    (marker,) = [t for t in fig["data"] if t.get("meta") == "observed"]
    assert marker["x"] == ["2020-12-31", "2021-01-21"]  # the 2025 point is outside the window
    assert marker["text"] == ["observed 20,000: ministry", "observed 36,000: essay"]


def test_states_are_stacked_areas_with_one_trace_per_state_present() -> None:
    series = tidy(
        daily("state_employed", "2020-01-01", 10, 5.0)
        + daily("state_jobless", "2020-01-01", 10, 1.0)
    )
    fig = charts.states_figure(series)
    assert [t["name"] for t in fig["data"]] == ["employed", "jobless"]
    assert all(t["stackgroup"] == "host" and len(t["y"]) == 10 for t in fig["data"])


def test_people_abroad_are_not_stacked_on_people_in_the_host() -> None:
    series = tidy(
        daily("state_employed", "2020-01-01", 10, 5.0)
        + daily("state_home_visit", "2020-01-01", 10, 2.0)
        + daily("state_awaiting_entry", "2020-01-01", 10, 3.0)
    )
    host = charts.states_figure(series)
    assert [t["name"] for t in host["data"]] == ["employed"]
    abroad = charts.abroad_figure(series)
    assert {t["name"] for t in abroad["data"]} == {"state: awaiting entry", "state: home visit"}
    assert not any("stackgroup" in t for t in abroad["data"])


def test_destitute_is_not_hidden_under_sheltered() -> None:
    series = tidy(
        daily("destitute", "2020-01-01", 5, 7.0) + daily("sheltered", "2020-01-01", 5, 7.0)
    )
    fig = charts.destitution_figure(series)
    destitute, sheltered = fig["data"][:2]
    assert destitute["y"] == sheltered["y"]  # equal values: both lines must stay visible
    assert destitute["line"]["width"] > sheltered["line"]["width"]
    assert sheltered["line"]["dash"] == "dash" and "stackgroup" not in sheltered


def test_time_axes_mark_the_scenarios_labelled_events_in_the_window() -> None:
    series = tidy(daily("stranded", "2021-12-01", 60, 100.0))
    fig = charts.stranded_figure(series, WORDS)
    events = fig["layout"]["meta"]["events"]
    assert events == [
        {"date": "2022-01-01", "label": "regular flights resume (the stranded can leave)"}
    ]
    assert fig["layout"]["shapes"][0]["x0"] == "2022-01-01"


def test_stranded_and_special_status_by_origin() -> None:
    series = tidy(
        daily("stranded", "2020-01-01", 5, 3.0, "A")
        + daily("stranded", "2020-01-01", 5, 9.0, "B")
        + daily("stranded", "2020-01-01", 5, 12.0, "all")
    )
    fig = charts.by_origin_figure(series, "stranded")
    assert [t["name"] for t in fig["data"]] == ["B", "A"]  # largest first, no "all"
    assert fig["data"][0]["y"] == [9.0] * 5


def test_caption_names_scenario_seed_scale_version_and_source() -> None:
    caption = charts.Caption("japan-titp-covid", charts.seeds_text([4]), 0.05, "9.9")
    series = tidy(daily("stranded", "2020-12-01", 90, 30000.0))
    fig = charts.stranded_figure(series, WORDS, None, caption)
    text = fig["layout"]["meta"]["caption"]
    for part in ("Scenario japan-titp-covid", "seed 4", "scale 0.05", "tmpsim 9.9", "Source:"):
        assert part in text
    assert WORDS.references("stranded")[0]["source"] in text  # the reference figure's source
    assert text in fig["layout"]["title"]["text"]
    assert charts.seeds_text([1, 2, 3]) == "seeds 1-3 (3 runs)"


def test_a_missing_metric_gives_an_empty_figure_with_a_message() -> None:
    fig = charts.destitution_figure(tidy(daily("returns", "2020-01-01", 3, 1.0)))
    assert fig["data"] == []
    assert "no destitution metrics" in fig["layout"]["annotations"][0]["text"]


def test_band_figure_draws_band_and_median_per_point() -> None:
    dates = pd.date_range("2020-12-01", periods=60)
    bands = pd.concat(
        [
            pd.DataFrame(
                {
                    "date": dates,
                    "metric": "stranded",
                    "point": p,
                    "q05": 1.0 + i,
                    "q50": 2.0 + i,
                    "q95": 3.0 + i,
                    "n": 5,
                }
            )
            for i, p in enumerate(["base", "welfare"])
        ]
    )
    caption = charts.Caption("x", "5 seeds per point", 0.1)
    fig = charts.band_figure(bands, "stranded", WORDS, None, caption)
    names = [t["name"] for t in fig["data"]]
    assert "base (5 seeds): 5-95% across seeds" in names and "welfare (5 seeds): median" in names
    assert charts.BAND_NOTE in fig["layout"]["meta"]["caption"]  # what the band includes
    band = next(t for t in fig["data"] if t["name"] == "welfare (5 seeds): 5-95% across seeds")
    assert band["fill"] == "tonexty" and band["y"][0] == 4.0
    assert any(t.get("meta") == "observed" for t in fig["data"])


def test_effects_figure_error_bars_span_the_interval() -> None:
    effects = pd.DataFrame(
        {
            "point": ["0: a", "1: b"],
            "output": "peak_stranded",
            "mean": [10.0, 20.0],
            "q05": [8.0, 20.0],
            "q95": [15.0, 21.0],
            "n": [3, 3],
        }
    )
    (bar,) = charts.effects_figure(effects, "peak_stranded", "Peak", "people")["data"]
    assert bar["y"] == [10.0, 20.0]
    assert bar["error_y"]["array"] == [5.0, 1.0]
    assert bar["error_y"]["arrayminus"] == [2.0, 0.0]


# ---- parameters and sources -------------------------------------------------------------------


def test_the_most_specific_source_key_wins() -> None:
    sources = {"programme.stages": "the law", "programme.stages.0.continue_prob": "calibrated: x"}
    assert source_for("programme.stages.0.continue_prob", sources) == (
        "calibrated: x",
        "programme.stages.0.continue_prob",
    )
    assert source_for("programme.stages.1.months", sources) == ("the law", "programme.stages")
    assert source_for("programme.stagesX", sources) == ("", "")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("assumed", "assumed"),
        ("calibrated: stocks", "calibrated"),
        ("derived: a / b", "derived"),
        ("ISA survey 2022", "cited"),
        ("", "none"),
    ],
)
def test_source_kinds(text: str, kind: str) -> None:
    assert source_kind(text) == kind


def test_parameters_flatten_to_source_key_paths() -> None:
    rows = dict(
        flatten_parameters(
            {
                "name": "x",
                "events": [{"type": "border"}],
                "sources": {"a": "b"},
                "origins": {"VN": {"demand_share": {2019: 0.5, 2020: 0.6}, "fee_mean": 1.5}},
                "programme": {"stages": [{"name": "1", "months": 12}]},
            }
        )
    )
    assert rows == {  # names are labels, not parameters
        "origins.VN.demand_share": "2019: 0.5, 2020: 0.6",
        "origins.VN.fee_mean": "1.5",
        "programme.stages.0.months": "12",
    }


def test_parameter_table_gives_each_value_its_source_and_kind() -> None:
    data = {
        "name": "x",
        "origins": {"VN": {"fee_mean": 1.0, "debt_mean": 2.0, "borrow_share": 0.5}},
        "shelters": [{"name": "npo", "capacity": 10}],
        "sources": {
            "origins.VN.fee_mean": "ISA survey 2022",
            "origins.VN.debt_mean": "calibrated: tmpsim calibrate",
            "shelters": "assumed",
        },
    }
    table = parameter_table(data).set_index("parameter")
    assert table.loc["origins.VN.fee_mean", ["source", "kind"]].tolist() == [
        "ISA survey 2022",
        "cited",
    ]
    assert table.loc["origins.VN.debt_mean", "kind"] == "calibrated"
    assert table.loc["origins.VN.borrow_share", "kind"] == "none"
    assert table.loc["shelters.0.capacity", ["kind", "source_key"]].tolist() == [
        "assumed",
        "shelters",
    ]


def test_a_sections_own_source_covers_its_keys_unless_a_sources_key_is_nearer() -> None:
    data = {
        "routes": {
            "home": {"intercept": 0.4, "source": "assumed: a fare home", "coef": {"debt": -0.3}},
            "irregular": {"intercept": -5.4, "source": "calibrated: by hand"},
        },
        "sources": {"routes.home.coef.debt": "derived: the debt unit"},
    }
    table = parameter_table(data).set_index("parameter")
    assert table["kind"].to_dict() == {
        "routes.home.intercept": "assumed",
        "routes.home.coef.debt": "derived",
        "routes.irregular.intercept": "calibrated",
    }
    assert table.loc["routes.home.intercept", "source_key"] == "routes.home"
    # A sources key covering the section outranks the section's own (default) text.
    data["sources"]["routes"] = "cited: a decree"
    table = parameter_table(data).set_index("parameter")
    assert table.loc["routes.irregular.intercept", "source"] == "cited: a decree"
    assert table.loc["routes.home.coef.debt", "kind"] == "derived"  # the nearer key still wins


def test_flagship_sources_all_reach_the_parameter_table() -> None:
    data = yaml.safe_load(to_yaml(tmpsim.load_scenario(FLAGSHIP)))
    table = parameter_table(data)
    events = event_table(data)
    shown = " | ".join(table["source"]) + " | ".join(events["source"])
    missing = [k for k, text in data["sources"].items() if k != "events" and str(text) not in shown]
    assert missing == []
    fee = table.set_index("parameter").loc["origins.Vietnam.fee_mean", "source"]
    assert fee == data["sources"]["origins.Vietnam.fee_mean"]


def test_format_value_units() -> None:
    assert format_value(36000.4, "people") == "36,000 people"
    assert format_value(0.0, "person-nights") == "0 person-nights"
    assert format_value(2.654, "years") == "2.65 years"
    assert format_value(94661.2, "currency", "JPY") == "94,661 JPY"
    assert format_value("2021-01-21", "date") == "2021-01-21"


# ---- the report file ---------------------------------------------------------------------------


def test_report_is_one_file_with_no_external_reference(report_text: str) -> None:
    assert report_text.startswith("<!doctype html>")
    bundle = plotly_js()
    assert bundle[:500] in report_text  # plotly.js embedded, not fetched
    outside = report_text.replace(bundle, "")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", outside)
    assert "<link" not in outside and "@import" not in outside


def test_report_embeds_every_figure_with_data(report_text: str) -> None:
    figures = embedded_figures(report_text)
    # the run's figures, and the sending market's (the flagship has origins_market)
    market = {"origins_departures", "origins_fees", "origins_debt"}
    assert set(figures) == set(charts.run_figures(tidy([]))) | market
    for key, fig in figures.items():
        assert fig["data"] or key == "special_by_origin", key
        assert fig["layout"]["title"]["text"], key
        assert fig["layout"]["yaxis"]["title"]["text"], key
        assert f'data-figure="{key}"' in report_text
    stranded = figures["stranded"]
    line = stranded["data"][0]
    assert line["x"][0] == "2017-01-01" and line["x"][-1] == "2021-02-28"
    assert max(v for v in line["y"] if v is not None) > 1000
    (marker,) = [t for t in stranded["data"] if t.get("meta") == "observed"]
    assert "2021-01-21" in marker["x"] and 36000.0 in marker["y"]


def test_report_has_validation_and_parameter_sections(report_text: str) -> None:
    assert 'id="validation"' in report_text and 'id="parameters"' in report_text
    assert "origins.Vietnam.fee_mean" in report_text and "ISA fee survey" in report_text
    assert "Dated events" in report_text
    try:
        import tmpsim.validation  # noqa: F401
    except ImportError:
        assert "tmpsim.validation is not available" in report_text
    else:
        assert 'class="validation"' in report_text
        assert "titp_stock" in report_text


def test_report_escapes_text_from_the_run_folder(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    data = yaml.safe_load((copy / "scenario.yaml").read_text(encoding="utf-8"))
    data["description"] = "<script>alert('x')</script> & more"
    (copy / "scenario.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    reseal(copy)  # as if the run had been made from that scenario
    text = build_report(copy).read_text(encoding="utf-8")
    assert "<script>alert('x')</script>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in text


# ---- command line -----------------------------------------------------------------------------


def test_cli_report_writes_the_file(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere.html"
    result = CliRunner().invoke(app, ["report", str(run_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and str(out) in result.output.replace("\n", "")


def test_cli_report_refuses_a_folder_that_is_no_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "neither a run folder" in result.output
    assert "Traceback" not in result.output


def test_cli_run_with_report(tmp_path: Path) -> None:
    scenario = tmp_path / "short.yaml"
    scenario.write_text(to_yaml(short_flagship("2017-02-28")), encoding="utf-8")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", str(scenario), "--scale", "0.001", "--out", str(out), "--quiet", "--report"]
    )
    assert result.exit_code == 0, result.output
    figures = embedded_figures((out / "report.html").read_text(encoding="utf-8"))
    assert len(figures["states"]["data"][0]["x"]) == 59


# ---- experiments --------------------------------------------------------------------------------


@pytest.mark.slow
def test_experiment_report_shows_bands_and_effects(tmp_path: Path) -> None:
    pytest.importorskip("tmpsim.experiments.experiment")
    from tmpsim.experiments.experiment import run_experiment

    spec = {
        "name": "tiny-fees",
        "scenario": yaml.safe_load(to_yaml(short_flagship("2018-06-30"))),
        "scale": 0.005,  # enough returns by mid-2018 for the debt effect to show
        "seeds": 2,
        "parameters": {"origins.Vietnam.debt_mean": {"values": [674480.0, 0.0]}},
        "outputs": {
            "series": [
                "stranded",
                "destitute",
                "unmet_shelter_need",
                "programme_stock",
                "sheltered",
                "missing",
                "new_entries",
            ]
        },
    }
    report = run_experiment(spec, tmp_path / "exp", workers=1)
    assert report.counts.done == 4
    text = build_report(tmp_path / "exp").read_text(encoding="utf-8")
    figures = embedded_figures(text)
    band = figures["band-programme_stock"]
    medians = [t for t in band["data"] if t["name"].endswith("median")]
    assert [t["name"] for t in medians] == [
        "debt_mean=674,480 (2 seeds): median",
        "debt_mean=0 (2 seeds): median",
    ]
    assert all(len(t["x"]) == 546 for t in medians)  # 2017-01-01..2018-06-30
    effect = figures["effect-mean_debt_at_return"]["data"][0]
    assert len(effect["x"]) == 2 and effect["y"][0] > effect["y"][1]
    assert 'class="points"' in text and "Lever and parameter effects" in text


@pytest.mark.slow
def test_cli_ensemble_with_report(tmp_path: Path) -> None:
    scenario = tmp_path / "short.yaml"
    scenario.write_text(to_yaml(short_flagship("2017-04-30")), encoding="utf-8")
    out = tmp_path / "ensemble"
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(scenario),
            "--seeds",
            "2",
            "--scale",
            "0.0005",
            "--workers",
            "1",
            "--quiet",
            "--out",
            str(out),
            "--report",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = embedded_figures((out / "report.html").read_text(encoding="utf-8"))
    names = [t["name"] for t in figures["band-programme_stock"]["data"]]
    assert "ensemble (2 seeds): median" in names


def reseal(folder: Path) -> None:
    """Rewrite a run folder's manifest after a test changed one of its files on purpose."""
    import json

    from tmpsim.runfolder import write_manifest

    info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    write_manifest(folder, {k: v for k, v in info.items() if k not in ("files", "format")})


def test_the_events_table_leaves_out_blanks_and_says_when_a_cap_ends() -> None:
    data = {
        "events": [
            {"type": "entry_cap", "date": "2020-01-01", "per_day": 50.0, "label": "", "end": None},
            {"type": "entry_cap", "date": "2021-01-01", "per_day": None, "label": ""},
        ]
    }
    assert event_table(data)["details"].tolist() == [
        "per_day: 50",
        "per_day: none (the cap ends)",
    ]


def test_a_stock_figure_says_observed_only_with_observations() -> None:
    days = pd.date_range("2020-01-01", periods=3).date
    series = pd.DataFrame(
        {"date": list(days) * 2, "metric": ["programme_stock"] * 3 + ["in_host"] * 3,
         "origin": "all", "value": [1.0, 2.0, 3.0] * 2}
    )  # fmt: skip
    title = charts.stock_figure(series)["layout"]["title"]["text"]
    assert "simulated and observed" not in title and ", simulated" in title
    observed = pd.DataFrame(
        {"date": [pd.Timestamp("2020-01-02")], "indicator": ["titp_stock"], "origin": ["all"],
         "value": [2.0], "source": ["a count"]}
    )  # fmt: skip
    title = charts.stock_figure(series, observed=observed)["layout"]["title"]["text"]
    assert "simulated and observed" in title


def test_the_sending_markets_figures_carry_its_own_seed_and_scale(tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    scenario = {"origins_market": {"host": "H", "seed": 7, "scale": 0.25}}
    (run / "scenario.yaml").write_text(yaml.safe_dump(scenario), encoding="utf-8")
    flows = pd.DataFrame(
        {"date": [dt.date(2020, 1, 1)], "origin": ["A"], "destination": ["H"],
         "metric": ["departures"], "value": [10.0]}
    )  # fmt: skip
    flows.to_parquet(run / "origins_flows.parquet")
    caption = charts.Caption("s", "seed 1", 0.01)
    figures = charts.origins_figures_of(run, caption)
    title = figures["origins_departures"]["layout"]["title"]["text"]
    assert "the sending market's seed 7, scale 0.25" in title and "scale 0.01" not in title
