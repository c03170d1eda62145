"""A generated report opened from disk in Chromium, with every network request blocked."""

from __future__ import annotations

from pathlib import Path

import pytest

import tmpsim
from tmpsim.reports.build import build_report
from tmpsim.web.controls import build_scenario, shipped_base

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scenario, _ = build_scenario(shipped_base("japan-titp-covid"), end="2021-02-28")
    out = tmp_path_factory.mktemp("report") / "run"
    tmpsim.run(scenario, seed=1, scale=0.001, out=out, agents=False)
    return build_report(out)


def test_report_renders_its_charts_offline(page, browser_context, report_path, screenshots):
    page.goto(report_path.as_uri())
    # every figure: nine of the run, three of the sending market (the flagship's origins_market)
    page.wait_for_selector("body[data-rendered='12']", timeout=60_000)
    assert page.locator("body").get_attribute("data-render-error") is None
    # every figure drawn by Plotly with its traces, titles and legend
    for fig in (
        "states",
        "stranded",
        "stock",
        "destitution",
        "money",
        "flows",
        "origins_departures",
    ):
        plot = page.locator(f"#fig-{fig} .plot")
        assert plot.locator(".main-svg").count() >= 1, fig
        assert plot.locator(".scatterlayer .trace, .barlayer .trace").count() >= 1, fig
        assert plot.locator(".gtitle").text_content(), fig
        assert plot.locator(".legendtext").count() >= 1, fig
    # stranded: the simulated line has many points and the observed January 2021 figure is drawn
    stranded = page.locator("#fig-stranded .plot")
    line = stranded.locator(".scatterlayer .trace path.js-line").first.get_attribute("d")
    assert line is not None and line.count("L") > 100
    observed = page.evaluate(
        """() => document.querySelector('#fig-stranded .plot').data
               .filter(t => t.meta === 'observed').map(t => [t.x, t.y])"""
    )
    assert observed and "2021-01-21" in observed[0][0] and 36000 in observed[0][1]
    assert stranded.locator(".scatterlayer .trace .points path").count() >= 1
    assert "2021" in " ".join(stranded.locator(".xtick text").all_text_contents())
    # the bars of debt and savings at return
    assert page.locator("#fig-money .plot .barlayer .point").count() >= 4
    # the tables
    assert page.locator("table.summary tbody tr").count() >= 10
    assert page.locator("table.parameters tbody tr").count() > 100
    page.screenshot(path=str(screenshots / "report.png"), full_page=True)
    assert browser_context.external_requests == []
