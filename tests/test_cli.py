"""The ``tmpsim`` command line, run as a user would (a fresh interpreter per command)."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from helpers import FLAGSHIP, RUN_FIGURES, scenario_file, tmpsim_cli, tmpsim_inprocess

from tmpsim.scenario import load_scenario, scenario_hash

PNG = b"\x89PNG\r\n\x1a\n"


def test_help_lists_the_commands():
    proc = tmpsim_cli("--help")
    assert proc.returncode == 0
    for command in ("run", "scenarios", "show", "plot"):
        assert command in proc.stdout


def test_scenarios_lists_the_flagship():
    proc = tmpsim_cli("scenarios")
    assert proc.returncode == 0, proc.stderr
    assert FLAGSHIP in proc.stdout
    assert "Technical Intern Training" in proc.stdout


def test_show_prints_yaml_that_loads_back_identical(tmp_path):
    proc = tmpsim_cli("show", FLAGSHIP)
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load(proc.stdout)
    assert data["name"] == FLAGSHIP
    assert "supervision" in data and "behaviour" in data  # defaults filled in
    shipped = load_scenario(FLAGSHIP)
    # Identical as resolved data (what the run hash is made of; untyped free-form sections
    # may hold a date where the reloaded file holds its ISO string).
    assert load_scenario(data).model_dump(mode="json") == shipped.model_dump(mode="json")
    # Saved to a file, it is a scenario that can be edited and run.
    saved = tmp_path / "mine.yaml"
    saved.write_text(proc.stdout, encoding="utf-8")
    assert scenario_hash(load_scenario(saved)) == scenario_hash(shipped)


def test_show_applies_overrides_and_rejects_unknown_paths():
    proc = tmpsim_cli(
        "show", FLAGSHIP, "--set", "programme.grace_days=30", "--set", "borders.entry_cap_per_day=9"
    )
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load(proc.stdout)
    assert data["programme"]["grace_days"] == 30
    assert data["borders"]["entry_cap_per_day"] == 9
    code, out, err = tmpsim_inprocess("show", FLAGSHIP, "--set", "programme.grace_dayz=30")
    assert code == 2
    assert (
        "--set programme.grace_dayz: programme: no key 'grace_dayz' (did you mean 'grace_days'?)"
        in err
    )
    assert out == ""
    code, _, err = tmpsim_inprocess("show", FLAGSHIP, "--set", "nowhere.at.all=1")
    assert code != 0 and "no key 'nowhere'" in err


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """``tmpsim run`` of the mini test scenario at scale 0.5 with an override."""
    out = tmp_path_factory.mktemp("cli_run") / "run"
    proc = tmpsim_cli(
        "run", str(scenario_file("mini")), "--seed", "3", "--scale", "0.5",
        "--set", "programme.grace_days=45", "--out", str(out),
    )  # fmt: skip
    return proc, out


def test_run_writes_the_run_folder(cli_run):
    proc, out = cli_run
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} >= {
        "series.parquet", "summary.json", "run.json", "agents.parquet", "scenario.yaml",
    }  # fmt: skip
    schema = pq.read_schema(out / "series.parquet")
    assert [(f.name, str(f.type)) for f in schema] == [
        ("date", "date32[day]"), ("metric", "string"), ("origin", "string"), ("value", "double"),
    ]  # fmt: skip
    series = pd.read_parquet(out / "series.parquet")
    assert "all" in set(series["origin"])
    assert series["value"].dtype == "float64"
    info = json.loads((out / "run.json").read_text())
    assert (info["scenario"], info["seed"], info["scale"]) == ("mini", 3, 0.5)


def test_run_prints_the_summary(cli_run):
    proc, out = cli_run
    summary = json.loads((out / "summary.json").read_text())
    for label in ("peak stranded", "person-days stranded", "peak destitute", "missing"):
        assert label in proc.stdout.lower()
    assert f"{summary['peak_stranded']:,.0f}" in proc.stdout
    assert str(out) in proc.stdout.replace("\n", "")


def test_run_applies_overrides(cli_run):
    _, out = cli_run
    saved = load_scenario(out / "scenario.yaml")
    assert saved.programme.grace_days == 45
    assert saved == load_scenario(scenario_file("mini"), {"programme.grace_days": 45})


def test_run_scale_scales_figures_back(cli_run):
    """The agents simulated at scale 0.5 are reported as twice as many people."""
    _, out = cli_run
    series = pd.read_parquet(out / "series.parquet")
    agents = pd.read_parquet(out / "agents.parquet")
    last = series[series.date == series.date.max()]
    employed = last[(last.metric == "state_employed") & (last.origin == "all")]["value"].item()
    assert employed == 2 * (agents["state"] == "employed").sum()
    first = series[(series.date == series.date.min()) & (series.origin == "all")]
    assert first[first.metric == "programme_stock"]["value"].item() == 1800.0


def test_run_rejects_bad_arguments(tmp_path):
    for args, message in [
        (["--scale", "0"], "--scale must be between 0.0001 and 100, got 0"),
        (["--set", "programme.nope=1"], "--set programme.nope: programme: no key 'nope'"),
        (["--set", "programme.grace_days"], "expected path.to.key=value"),
    ]:
        code, _, err = tmpsim_inprocess(
            "run", str(scenario_file("stranding")), "--out", str(tmp_path), *args
        )
        assert code == 2, args
        assert message in err, (args, err)
    code, _, err = tmpsim_inprocess("run", "no-such-scenario", "--out", str(tmp_path))
    assert code != 0 and "not a shipped scenario" in err
    assert list(tmp_path.iterdir()) == []


def test_plot_writes_pngs(cli_run, tmp_path):
    _, out = cli_run
    proc = tmpsim_cli("plot", str(out), "--out", str(tmp_path / "figs"))
    assert proc.returncode == 0, proc.stderr
    pngs = sorted(p.name for p in (tmp_path / "figs").glob("*.png"))
    assert pngs == sorted(f"{k}.png" for k in RUN_FIGURES)
    for name in pngs:
        data = (tmp_path / "figs" / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 5000


def test_plot_rejects_a_folder_that_is_not_a_run(tmp_path):
    code, _, err = tmpsim_inprocess("plot", str(tmp_path))
    assert code != 0 and "not a run folder" in err
    file = tmp_path / "series.csv"
    file.write_text("x")
    code, _, err = tmpsim_inprocess("plot", str(file))
    assert code == 2 and "a file, not a folder" in err
    code, _, err = tmpsim_inprocess("plot", str(tmp_path / "nowhere"))
    assert code == 2 and "no such folder" in err


def test_piped_tables_and_help_are_not_cut(monkeypatch):
    import os
    import subprocess
    import sys

    from tmpsim.terminal import PIPED_WIDTH, stdout_console

    # As in `tmpsim levers | less`: stdout is a pipe and no COLUMNS (pytest sets one).
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")}

    def piped(*args: str) -> str:
        cmd = [sys.executable, "-m", "tmpsim", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    levers = piped("levers")
    assert "…" not in levers
    assert "Share of recruitment fees paid by the worker" in levers  # one cell, not folded
    assert max(len(line) for line in levers.splitlines()) > 80
    help_text = piped("run", "--help")
    assert "…" not in help_text and max(len(line) for line in help_text.splitlines()) <= 120
    monkeypatch.delenv("COLUMNS", raising=False)
    assert stdout_console().width == PIPED_WIDTH  # pytest captures stdout: not a terminal


def _command_paths(command, ctx, path: tuple[str, ...] = ()):
    """Every command's words below ``command``, the root's empty: groups and their commands."""
    yield path
    if hasattr(command, "list_commands"):  # a group: the lazy ones are imported on the way
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            yield from _command_paths(sub, type(sub).context_class(sub, parent=ctx), (*path, name))


def test_no_help_shows_a_value_type_for_a_flag():
    # A flag takes no value: `--quiet` or not, `--force` or `--no-force`. typer's rich help
    # printed `<bool>` beside each, as if it wanted one.
    import typer

    from tmpsim.cli import app

    root = typer.main.get_command(app)
    paths = list(_command_paths(root, type(root).context_class(root)))
    assert {("run",), ("show",), ("experiment", "run"), ("corridors", "closure")} <= set(paths)
    for path in paths:
        code, out, err = tmpsim_inprocess(*path, "--help")
        assert code == 0, (path, err)
        assert "--help" in out and "<bool>" not in out, (path, out)
    # The flags are still listed, both ways, and options that take a value keep its type.
    run_help = tmpsim_inprocess("run", "--help")[1]
    assert "--force" in run_help and "--no-force" in run_help and "<float>" in run_help
