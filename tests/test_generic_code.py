"""Programmes are data: no programme or country names in generic code; old folders still read."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from helpers import scenario_file, tmpsim_inprocess

import tmpsim
from tmpsim.results import current_metric_name, metric_names_to_read, read_series

PACKAGE = Path(tmpsim.__file__).resolve().parent
# Programme- and country-specific identifiers that must live in scenario files and observed data.
FORBIDDEN = ["titp_", "JPY", "¥", "stranded_jan", "36,000", "36000", "Japan", "Vietnam"]
DATA_FOLDERS = ("scenarios", "data")
# Known remaining cases, to be made data (none today; an entry is a file that still names one).
KNOWN: set[tuple[str, str]] = set()


def generic_files() -> list[Path]:
    """Every source file of the package outside scenario files and data (code, web page)."""
    return sorted(
        p
        for p in PACKAGE.rglob("*")
        if p.is_file()
        and p.suffix in {".py", ".js", ".html", ".css"}
        and p.relative_to(PACKAGE).parts[0] not in DATA_FOLDERS
    )


def test_the_check_sees_the_code_and_not_the_data() -> None:
    names = {p.relative_to(PACKAGE).as_posix() for p in generic_files()}
    assert {"results.py", "states.py", "cli.py", "reports/charts.py", "web/static/app.js"} <= names
    assert not any(n.startswith(("scenarios/", "data/")) for n in names)


@pytest.mark.parametrize("word", FORBIDDEN)
def test_no_programme_identifier_in_generic_code(word: str) -> None:
    hits = [
        f"{p.relative_to(PACKAGE)}:{i}: {line.strip()}"
        for p in generic_files()
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        if word in line and (word, p.relative_to(PACKAGE).as_posix()) not in KNOWN
    ]
    assert not hits, f"{word!r} in generic code:\n" + "\n".join(hits)


def test_the_grep_would_catch_a_programme_name() -> None:
    line = 'out["stranded_jan_2021"] = mean  # titp_stock in JPY'
    assert [w for w in FORBIDDEN if w in line] == ["titp_", "JPY", "stranded_jan"]


# ---- run folders of earlier versions -------------------------------------------------------------


def test_old_metric_names_map_to_the_current_ones() -> None:
    assert current_metric_name("titp_stock") == "programme_stock"
    assert current_metric_name("titp_stock_stage_2") == "programme_stock_stage_2"
    assert current_metric_name("stranded") == "stranded"
    asked = metric_names_to_read(["programme_stock", "programme_stock_stage_1", "stranded"])
    assert set(asked) >= {"titp_stock", "titp_stock_stage_1", "stranded"}


@pytest.fixture(scope="module")
def old_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder as an earlier version wrote it: the programme's stock named titp_stock."""
    out = tmp_path_factory.mktemp("old") / "run"
    tmpsim.run(scenario_file("mini"), seed=2, scale=0.5, out=out, agents=False)
    table = pq.read_table(out / "series.parquet")
    metric = table.column("metric")
    old = pc.replace_substring_regex(metric, "^programme_stock", "titp_stock")
    table = table.set_column(table.schema.get_field_index("metric"), "metric", old)
    pq.write_table(table, out / "series.parquet")
    # Earlier versions wrote no manifest: run.json without its list of files.
    info = json.loads((out / "run.json").read_text("utf-8"))
    for key in ("format", "format_version", "files"):
        info.pop(key, None)
    (out / "run.json").write_text(json.dumps(info), "utf-8")
    return out


def test_an_old_run_folder_reads_with_current_names(old_run: Path, tmp_path: Path) -> None:
    raw = set(pq.read_table(old_run / "series.parquet").column("metric").to_pylist())
    assert "titp_stock" in raw and "programme_stock" not in raw
    series = read_series(old_run)
    assert "programme_stock" in set(series.metric) and "titp_stock" not in set(series.metric)
    only = read_series(old_run, ["programme_stock"])
    assert set(only.metric) == {"programme_stock"} and len(only) > 0
    fresh = tmpsim.run(scenario_file("mini"), seed=2, scale=0.5, agents=False)
    expected = fresh.series[fresh.series.metric == "programme_stock"]["value"].to_numpy()
    assert (only["value"].to_numpy() == expected).all()


def test_an_old_run_folder_plots_and_reports(old_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(old_run, copy)
    code, out, err = tmpsim_inprocess("plot", str(copy))
    assert code == 0, err
    assert (copy / "figures" / "stock.png").is_file()
    code, out, err = tmpsim_inprocess("report", str(copy))
    assert code == 0, err
    text = (copy / "report.html").read_text(encoding="utf-8")
    assert "no programme_stock metric" not in text


def test_renamed_metrics_file_only_renames_to_names_a_run_writes() -> None:
    result = tmpsim.run(scenario_file("mini"), seed=1, scale=0.2, agents=False)
    names = set(result.metric_names)
    for old in ("titp_stock", "titp_stock_stage_1", "titp_stock_stage_2"):
        assert current_metric_name(old) in names
    assert not any(re.match(r"titp_", n) for n in names)
    assert isinstance(result.series_table, pa.Table)
