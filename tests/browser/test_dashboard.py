"""The dashboard in a real Chromium: run, charts drawn with data, lever and compare, downloads,
and a broken upload that shows its error and loses nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tmpsim.scenario.loader import shipped_dir

pytestmark = pytest.mark.browser

FLAGSHIP = "japan-titp-covid"
RUN_TIMEOUT_MS = 180_000
CHARTS = [
    "states",
    "abroad",
    "stranded",
    "stranded_by_origin",
    "special_by_origin",
    "destitution",
    "money",
    "flows",
    "stock",
]


def open_dashboard(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)


def drawn_traces(page, selector: str) -> int:
    """Traces Plotly actually drew (SVG groups) inside a chart."""
    return page.locator(f"{selector} .scatterlayer .trace, {selector} .barlayer .trace").count()


def max_y(page, chart_id: str) -> float:
    """Largest y value among a drawn chart's traces (read from the plotted figure)."""
    return page.evaluate(
        """id => Math.max(0, ...document.getElementById(id).data
               .flatMap(t => (t.y || []).filter(v => v !== null)))""",
        chart_id,
    )


def configure(page, scale: str, end: str, label: str) -> None:
    page.fill("#scale", scale)
    page.fill("#end", end)
    page.fill("#label", label)


def run_and_wait(page, label: str) -> str:
    """Press Run and wait until that run's results are drawn; return its id."""
    page.click("#run")
    row = page.locator("#runs tbody tr", has_text=label)
    row.wait_for(timeout=30_000)
    page.wait_for_selector("#progress-panel:not([hidden])")
    page.locator("#runs tbody tr[data-state='done']", has_text=label).wait_for(
        timeout=RUN_TIMEOUT_MS
    )
    run_id = row.get_attribute("data-run-id")
    page.wait_for_selector(f"#results[data-run-id='{run_id}'][data-ready='1']", timeout=60_000)
    return run_id


def test_run_charts_lever_compare_and_download(
    page, dashboard, browser_context, screenshots, tmp_path: Path
) -> None:
    open_dashboard(page, dashboard)
    assert page.locator("#scenario").input_value() == FLAGSHIP
    assert (
        page.locator("label[for='param-programme_grace_days']")
        .inner_text()
        .startswith("Grace period")
    )

    # 1. a small run of the shipped scenario, up to the first months of the border closures
    configure(page, "0.001", "2020-09-30", "baseline")
    base_id = run_and_wait(page, "baseline")
    assert page.locator("#progress-bar").evaluate("el => el.value") == 1
    assert "1369 days simulated" in page.locator("#progress-text").inner_text()
    for chart in CHARTS:
        assert page.locator(f"#chart-{chart}").get_attribute("data-rendered") == "1"
    # the stacked states: one filled area per state, drawn with many points
    assert drawn_traces(page, "#chart-states") >= 5
    fill = page.locator("#chart-states .scatterlayer .trace path.js-fill").first.get_attribute("d")
    assert fill is not None and fill.count("L") > 100
    # stranded: lines with data, and people were stranded by September 2020
    assert drawn_traces(page, "#chart-stranded") >= 3
    assert max_y(page, "chart-stranded") > 1000
    legend = page.locator("#chart-stranded .legendtext").all_text_contents()
    assert any("stranded" in t for t in legend)
    assert page.locator("#chart-stranded .xtitle").text_content() == "date"
    assert page.locator("#chart-stranded .ytitle").text_content() == "people"
    # bars of money at return, one per origin and measure
    assert page.locator("#chart-money .barlayer .point").count() >= 4
    assert page.locator("#summary tbody tr").count() >= 10
    page.screenshot(path=str(screenshots / "dashboard-run.png"), full_page=True)

    # 2. change a lever and run again
    lever = page.locator("#lever-worker_fee_share")
    if lever.count():  # the employer pays the recruitment fees: no debt at return
        lever.fill("0")
        changed = "worker_fee_share"
    else:  # no tmpsim.policy in this tree: change a key parameter instead
        page.fill("#param-money_wage_per_month", "80000")
        changed = "money.wage_per_month"
    page.fill("#label", "variant")
    variant_id = run_and_wait(page, "variant")
    assert variant_id != base_id

    # 3. compare the two side by side
    page.wait_for_selector("#compare:not([hidden])")
    assert page.locator("#compare-a").input_value() == base_id
    assert page.locator("#compare-b").input_value() == variant_id
    page.click("#compare-button")
    page.wait_for_selector("#compare-result[data-ready='1']", timeout=60_000)
    assert "baseline" in page.locator("#side-a h3").inner_text()
    assert "variant" in page.locator("#side-b h3").inner_text()
    assert changed in page.locator("#side-b .config").inner_text()
    assert "no change" in page.locator("#side-a .config").inner_text()
    for side in ("a", "b"):
        assert drawn_traces(page, f"#chart-side-{side}") >= 3
    rows = page.locator("#compare-table tbody tr")
    assert rows.count() >= 10
    table = {r.locator("th").inner_text(): r.locator("td").all_inner_texts() for r in rows.all()}
    debt_a, debt_b, debt_diff, _ = table["Mean debt at return"]
    assert debt_a.endswith("JPY") and debt_diff.startswith("-")
    if changed == "worker_fee_share":
        assert debt_b == "0 JPY"
    assert table["Peak stranded on"][2] == ""  # dates have no difference
    overlay = page.locator("#compare-chart-stranded")
    assert overlay.get_attribute("data-traces") == "2"
    assert drawn_traces(page, "#compare-chart-stranded") == 2
    page.locator("#compare").screenshot(path=str(screenshots / "dashboard-compare.png"))

    # 4. downloads: the CSV's header, the Parquet table and the resolved scenario
    row = page.locator(f"#runs tbody tr[data-run-id='{variant_id}']")
    with page.expect_download() as info:
        row.locator("a.download-series-csv").click()
    csv_path = tmp_path / "series.csv"
    info.value.save_as(csv_path)
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "date,metric,origin,value"
    assert len(lines) > 10_000
    with page.expect_download() as info:
        row.locator("a.download-series-parquet").click()
    parquet_path = tmp_path / "series.parquet"
    info.value.save_as(parquet_path)
    assert len(pd.read_parquet(parquet_path)) == len(lines) - 1
    with page.expect_download() as info:
        row.locator("a.download-scenario-yaml").click()
    scenario_path = tmp_path / "scenario.yaml"
    info.value.save_as(scenario_path)
    resolved = yaml.safe_load(scenario_path.read_text(encoding="utf-8"))
    assert str(resolved["end"]) == "2020-09-30"
    if changed == "worker_fee_share":
        assert all(o["fee_mean"] == 0 for o in resolved["origins"].values())
    else:
        assert resolved["money"]["wage_per_month"] == 80000

    # 5. the monthly tables a spreadsheet opens: a wide CSV and a workbook, same values
    series = pd.read_csv(csv_path, parse_dates=["date"])
    stranded = series[(series.metric == "stranded") & (series.origin == "all")]
    august = stranded[stranded.date.dt.strftime("%Y-%m") == "2020-08"]["value"].mean()
    with page.expect_download() as info:
        row.locator("a.download-monthly-csv").click()
    monthly_path = tmp_path / "monthly.csv"
    info.value.save_as(monthly_path)
    monthly = pd.read_csv(monthly_path, encoding="utf-8-sig")
    column = "stranded (cannot return home) (monthly mean, people)"
    value = monthly[(monthly.month == "2020-08") & (monthly.origin == "all")][column].item()
    assert value == pytest.approx(august, abs=0.05)
    assert len(monthly) < 5_000  # a row per month and origin, not per day
    with page.expect_download(timeout=90_000) as info:  # built on first request
        row.locator("a.download-monthly-xlsx").click()
    book_path = tmp_path / "monthly.xlsx"
    info.value.save_as(book_path)
    sheets = pd.read_excel(book_path, sheet_name=None)
    assert "Notes and sources" in sheets and "Hardship" in sheets
    hardship = sheets["Hardship"]
    cell = hardship[(hardship.month == "2020-08") & (hardship.origin == "all")][column].item()
    assert cell == pytest.approx(value)

    assert browser_context.external_requests == []


def test_broken_upload_shows_the_error_and_keeps_everything(
    page, dashboard, browser_context, screenshots
) -> None:
    open_dashboard(page, dashboard)
    # the user's settings before the upload
    page.fill("#scale", "0.005")
    page.fill("#param-programme_grace_days", "60")
    text = (shipped_dir() / f"{FLAGSHIP}.yaml").read_text(encoding="utf-8")
    broken = text.replace("grace_days: 30", "grace_dayz: 30")
    page.click("#upload-box summary")
    page.set_input_files(
        "#upload-file",
        files=[{"name": "broken.yaml", "mimeType": "text/yaml", "buffer": broken.encode()}],
    )
    page.wait_for_function("document.getElementById('upload-text').value.length > 1000")
    page.click("#upload-check")
    error = page.locator("#upload-error")
    error.wait_for(state="visible", timeout=30_000)
    message = error.inner_text()
    assert re.match(r"broken\.yaml:\d+: ", message), message  # file and line
    assert "programme.grace_dayz" in message and "unknown key" in message
    # nothing lost: the file's text, the scenario, the scale and the changed parameter
    assert page.locator("#upload-text").input_value() == broken
    assert page.locator("#scenario").input_value() == FLAGSHIP
    assert page.locator("#scale").input_value() == "0.005"
    assert page.locator("#param-programme_grace_days").input_value() == "60"
    page.screenshot(path=str(screenshots / "dashboard-upload-error.png"), full_page=True)

    # fixing the text in place and checking again selects the uploaded scenario
    page.fill("#upload-text", broken.replace("grace_dayz: 30", "grace_days: 45"))
    page.click("#upload-check")
    page.locator("#upload-ok").wait_for(state="visible", timeout=30_000)
    assert page.locator("#upload-error").is_hidden()
    assert page.locator("#scenario").input_value().startswith("upload:")
    assert page.locator("#param-programme_grace_days").input_value() == "45"
    assert browser_context.external_requests == []


def test_invalid_scale_is_refused_with_a_message_on_the_page(page, dashboard) -> None:
    open_dashboard(page, dashboard)
    runs = page.locator("#runs tbody tr").count()  # the server's runs of earlier tests
    page.fill("#scale", "5")
    page.click("#run")
    error = page.locator("#form-error")
    error.wait_for(state="visible", timeout=30_000)
    assert "scale must be between" in error.inner_text()
    assert page.locator("#runs tbody tr").count() == runs


def test_a_run_with_a_sending_market_draws_its_charts(page, dashboard, browser_context) -> None:
    open_dashboard(page, dashboard)
    data = yaml.safe_load((shipped_dir() / f"{FLAGSHIP}.yaml").read_text(encoding="utf-8"))
    data["origins_market"] = {"host": "Japan TITP", "source": "calibrated (docs/origins.md)"}
    page.click("#upload-box summary")
    # Chosen as a file: Playwright's fill types the whole 100 KB into the text box (15 s).
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    page.set_input_files(
        "#upload-file",
        files=[{"name": "market.yaml", "mimeType": "text/yaml", "buffer": text.encode()}],
    )
    page.wait_for_function(f"document.getElementById('upload-text').value.length === {len(text)}")
    page.click("#upload-check")
    page.locator("#upload-ok").wait_for(state="visible", timeout=30_000)
    configure(page, "0.001", "2018-12-31", "with market")
    run_and_wait(page, "with market")
    for key in ("origins_departures", "origins_fees", "origins_debt"):
        assert page.locator(f"#chart-{key}").is_visible()
        assert drawn_traces(page, f"#chart-{key}") >= 5  # one per origin of the market
    assert max_y(page, "chart-origins_departures") > 0
    assert browser_context.external_requests == []


def test_a_restarted_server_shows_the_runs_it_kept(
    page, browser_context, dashboard_on, tmp_path: Path
) -> None:
    """The runs and uploads a server kept in its runs folder are on the next server's page."""
    import httpx
    from helpers import TINY_RUN, wait_stopped

    runs = tmp_path / "runs"
    with dashboard_on(runs) as first:
        started = httpx.post(f"{first}/api/runs", json={**TINY_RUN, "label": "kept"}, timeout=60)
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        get = lambda path: httpx.get(first + path, timeout=30)  # noqa: E731
        assert wait_stopped(get, run_id)["state"] == "done"
        text = (shipped_dir() / f"{FLAGSHIP}.yaml").read_text(encoding="utf-8")
        uploaded = httpx.post(
            f"{first}/api/uploads",
            files={"file": ("mine.yaml", text.replace("grace_days: 30", "grace_days: 45"))},
            timeout=60,
        )
        assert uploaded.status_code == 200, uploaded.text
        key = uploaded.json()["key"]
    with dashboard_on(runs) as second:
        open_dashboard(page, second)
        row = page.locator(f"#runs tbody tr[data-run-id='{run_id}'][data-state='done']")
        row.wait_for(timeout=30_000)
        assert row.locator("td").first.inner_text() == "kept"
        assert row.locator("a.download-series-csv").count() == 1
        row.locator("button.show-run").click()
        page.wait_for_selector(f"#results[data-run-id='{run_id}'][data-ready='1']", timeout=60_000)
        assert drawn_traces(page, "#chart-stranded") >= 3
        # the upload is a choice again, with its own values
        option = page.locator(f"#scenario option[value='{key}']")
        assert option.inner_text() == "mine.yaml (uploaded)"
        page.select_option("#scenario", key)
        page.wait_for_function(
            "document.getElementById('param-programme_grace_days').value === '45'"
        )
    assert browser_context.external_requests == []
