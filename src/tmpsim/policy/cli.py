"""``tmpsim compare``, ``levers`` and ``shock``: policy variants, and shocks replayed."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tmpsim.policy.levers import LEVERS, Lever, LeverError, parse_levers, variant_label
from tmpsim.scenario import ScenarioError
from tmpsim.terminal import stdout_console

console = stdout_console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _fail(f"{option} {text!r}: expected a date YYYY-MM-DD")
    return None


def _fmt(value: float, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def comparison_tables(comparison, confidence: float = 0.95) -> list[Table]:
    """One rich table per variant: base, variant, paired difference with its interval."""
    from tmpsim.policy.compare import METRICS

    digits = {m.key: (2 if "{:,.2f}" in m.fmt else 0) for m in METRICS}
    tables = []
    frame = comparison.table(confidence)
    pct = round(confidence * 100)
    units = {m.key: m.unit for m in METRICS}
    base = comparison.scenarios.get("base")
    currency = base.currency if base is not None else "currency units"
    window = comparison.window_text()
    for variant in comparison.variants:
        t = Table(
            title=f"{variant}  vs  base ({comparison.base}); {len(comparison.seeds)} "
            f"seed{'s' if len(comparison.seeds) != 1 else ''}, "
            f"scale {comparison.scale:g}" + (f", {window}" if window else ""),
            title_justify="left",
        )
        t.add_column("figure")
        t.add_column("base", justify="right")
        t.add_column("variant", justify="right")
        t.add_column("difference", justify="right")
        t.add_column(f"{pct}% interval", justify="right")
        t.add_column(f"change [{pct}% interval]", justify="right")
        for row in frame[frame.variant == variant].itertuples():
            d = digits[row.metric]
            interval = "n/a (1 seed)"
            if not math.isnan(row.low):
                interval = f"[{_fmt(row.low, d)}, {_fmt(row.high, d)}]"
            change = ""
            if row.base:
                one_run = isinstance(row.note, str) and row.note.startswith("1 run")
                change = "n/a (1 seed)" if one_run else "n/a (small base)"
            if not math.isnan(row.relative):
                change = f"{row.relative:+.1%}"
                if not math.isnan(row.rel_low):
                    change += f" [{row.rel_low:+.1%}, {row.rel_high:+.1%}]"  # as the change
            unit = currency if units[row.metric] == "currency" else units[row.metric]
            t.add_row(
                f"{row.label} ({unit})",
                _fmt(row.base, d),
                _fmt(row.value, d),
                f"{row.difference:+,.{d}f}",
                interval,
                change,
            )
        tables.append(t)
    return tables


def lever_values(lever: Lever) -> tuple[str, str, str]:
    """A lever's no-change value, 'on' value and range as shown by ``tmpsim levers``."""
    if lever.type == "bool":
        return ("off" if lever.default is False else "on"), str(lever.on).lower(), ""
    rng = f"{lever.minimum:g}..{lever.maximum:g} {lever.unit}"
    if lever.floor:
        return "scenario's own (floor)", f"{lever.on:g}", f"at least: {rng}"
    return f"{lever.default:g}", f"{lever.on:g}", rng


def caveats(comparison) -> list[str]:
    """What the reader of the tables must know about how far they can be trusted."""
    from tmpsim.policy.compare import MIN_BASE_AGENTS, MIN_RUNS

    n = len(comparison.seeds)
    lines = [
        "Intervals: percentile bootstrap over paired seeds, bounded by what is possible "
        "(a figure cannot fall below 0). A change in % is shown only where the base's interval "
        f"excludes 0 and, for counts, the base stands on at least {MIN_BASE_AGENTS} simulated "
        "agents."
    ]
    if n < MIN_RUNS:
        lines.insert(
            0,
            f"warning: {n} seed{'s' if n != 1 else ''} (fewer than {MIN_RUNS}): the intervals "
            "are rough; use --seeds 10 or more for figures to quote.",
        )
    return lines


def register(app: typer.Typer) -> None:
    """Add ``compare``, ``levers`` and ``shock`` to the top-level ``tmpsim`` command."""

    @app.command()
    def compare(
        base: Annotated[str, typer.Argument(help="Shipped scenario name or a YAML file.")],
        lever: Annotated[
            list[str] | None,
            typer.Option(
                "--lever",
                "-l",
                help="A variant: NAME[=VALUE], several levers joined by commas (repeatable). "
                "See `tmpsim levers`.",
            ),
        ] = None,
        seeds: Annotated[int, typer.Option(help="Seeds (1..N), shared by base and variants.")] = 3,
        scale: Annotated[float, typer.Option(help="Fraction of people simulated.")] = 0.01,
        variant: Annotated[
            list[Path] | None,
            typer.Option(
                "--variant",
                help="A variant given as a scenario file (one that extends BASE, say, with a "
                "city's shelter); repeatable, beside or instead of --lever.",
            ),
        ] = None,
        combined: Annotated[
            bool, typer.Option(help="Also run all the given levers together as one variant.")
        ] = False,
        posterior: Annotated[
            bool,
            typer.Option(
                help="Draw each seed's free parameters from BASE's posterior (the same set for "
                "the base and every variant): intervals with parameter uncertainty."
            ),
        ] = False,
        set_: Annotated[
            list[str] | None,
            typer.Option("--set", help="Override a base parameter: path.to.key=value."),
        ] = None,
        from_: Annotated[
            str | None,
            typer.Option(
                "--from", help="First day the table's figures and the PNGs cover (YYYY-MM-DD)."
            ),
        ] = None,
        to: Annotated[
            str | None,
            typer.Option(help="Last day the table's figures and the PNGs cover (YYYY-MM-DD)."),
        ] = None,
        confidence: Annotated[float, typer.Option(help="Confidence of the intervals.")] = 0.95,
        out: Annotated[
            Path | None,
            typer.Option(
                help="Folder for the table (table.csv, runs.csv), daily series and "
                "variant-against-base figures (figures/*.png); `tmpsim plot` redraws them."
            ),
        ] = None,
        quiet: Annotated[bool, typer.Option(help="No progress lines.")] = False,
    ) -> None:
        """Run BASE and each lever variant on the same seeds; print paired differences."""
        from tmpsim.policy.compare import check_comparison_target
        from tmpsim.policy.compare import compare as run_compare
        from tmpsim.scenario import load_scenario
        from tmpsim.uncertainty.posterior import PosteriorError

        if not lever and not variant:
            _fail(f"name at least one --lever or --variant; levers are {', '.join(LEVERS)}")
        from tmpsim.scenario.bounds import run_option_problem

        problem = run_option_problem(seeds=seeds, scale=scale)
        if problem:
            _fail(problem)
        if not 0 < confidence < 1:
            _fail(f"--confidence must be between 0 and 1, got {confidence}")
        window = (_date(from_, "--from"), _date(to, "--to"))
        try:
            variants = [parse_levers(text) for text in lever or []]
            if combined and len(variants) > 1:
                merged: dict = {}
                for v in variants:
                    for name, value in v.items():
                        if merged.get(name, value) != value:
                            _fail(f"--combined: {name} has two values ({merged[name]}, {value})")
                        merged[name] = value
                variants.append(merged)
            labelled: dict = {variant_label(v): v for v in variants}
            base_sc = load_scenario(base, set_ or [])
            for path in variant or []:
                if path.stem in labelled or path.stem == "base":
                    _fail(f"--variant {path}: a variant named {path.stem!r} is already given")
                labelled[path.stem] = load_scenario(path, set_ or [])
            drawn_from = None
            if posterior:
                from tmpsim.uncertainty.posterior import scenario_posterior

                drawn_from = scenario_posterior(base)
                if drawn_from is None:
                    _fail(f"--posterior: {base} names no posterior (calibration.posterior)")
            if out is not None:
                check_comparison_target(out)  # before the runs: a refused folder costs nothing
            for bound in window:
                if bound is not None and not base_sc.start <= bound <= base_sc.end:
                    _fail(f"date {bound} is outside the run {base_sc.start}..{base_sc.end}")

            def progress(label: str, seed: int) -> None:
                if not quiet:
                    err_console.print(f"seed {seed}: {label}", highlight=False)

            result = run_compare(
                base_sc,
                labelled,
                seeds=seeds,
                scale=scale,
                window=window,
                progress=progress,
                posterior=drawn_from,
            )
        except (LeverError, ScenarioError, ValueError) as exc:  # RunFolderError among them
            _fail(str(exc))
        except PosteriorError as exc:
            _fail(f"--posterior: {exc}")
        for table in comparison_tables(result, confidence):
            console.print(table)
        what = result.posterior or "the scenario's values"
        console.print(
            f"Intervals show {'parameter and chance' if result.posterior else 'chance'} "
            f"uncertainty (each seed's parameters: {what}).",
            highlight=False,
        )
        for line in caveats(result):
            (err_console if line.startswith("warning") else console).print(line, highlight=False)
        if out is not None:
            result.write(out, confidence=confidence)
            console.print(f"Table, per-seed figures and PNG figures: [bold]{out}[/]")

    @app.command()
    def shock(
        base: Annotated[str, typer.Argument(help="Shipped scenario name or a YAML file.")],
        start: Annotated[str, typer.Option(help="First day of the shock replayed (YYYY-MM-DD).")],
        out: Annotated[Path, typer.Option(help="The scenario file to write (.yaml).")],
        end: Annotated[
            str | None,
            typer.Option(
                help="Last day of the run (default: the base's, or the end of the year after "
                "the last day moved if later)."
            ),
        ] = None,
        name: Annotated[
            str | None, typer.Option(help="The new scenario's name (default: BASE-shock-START).")
        ] = None,
        force: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
    ) -> None:
        """Write a scenario in which BASE's own shock, and the measures answering it, recur.

        Every dated shock event of BASE, the shelters, funds, bridging statuses and job-change
        routes that came with it and the labour-market index's fall move together so that the
        shock begins on --start; the file extends BASE, so everything else stays BASE's.
        """
        from tmpsim.policy.shocks import replay_file_text, replay_shock
        from tmpsim.results import atomic_write_bytes
        from tmpsim.scenario import load_scenario
        from tmpsim.scenario.loader import shipped_scenarios

        first = _date(start, "--start")
        last = _date(end, "--end")
        if out.suffix not in (".yaml", ".yml"):
            _fail(f"--out {out}: a scenario file ends in .yaml")
        if out.exists() and (out.is_dir() or not force):
            _fail(f"--out {out}: exists (add --force to replace a file)")
        if base in shipped_scenarios():
            reference = base
        else:
            path = Path(base).resolve()
            if not path.is_file():
                _fail(f"{base}: not a shipped scenario or a file")
            reference = os.path.relpath(path, out.resolve().parent)
        try:
            replay = replay_shock(base, first, last)
            label = name or f"{load_scenario(base).name}-shock-{first}"
            text = replay_file_text(reference, replay, label)
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(out, text.encode())
        except (ScenarioError, ValueError, OSError) as exc:
            _fail(str(exc))
        from tmpsim.corridors.config import CorridorsError, check_scenario_market

        try:
            # What is written loads (its base is found beside it), its sending market too.
            check_scenario_market(load_scenario(out))
        except (ScenarioError, CorridorsError) as exc:
            out.unlink()
            _fail(f"the replay cannot be run: {exc}")
        moved = ", ".join(f"{n} {k}" for k, n in replay.moved.items() if n)
        console.print(
            f"{out}: {replay.first} moved {replay.days:+,} days to {replay.start} ({moved}); "
            f"the run ends {replay.end}.\nRun it: tmpsim run {out} --seeds 10",
            highlight=False,
        )

    @app.command()
    def levers(
        as_json: Annotated[bool, typer.Option("--json", help="Print the levers as JSON.")] = False,
    ) -> None:
        """List the policy levers that `tmpsim compare --lever` accepts."""
        if as_json:
            sys.stdout.write(json.dumps([lv.to_dict() for lv in LEVERS.values()], indent=2) + "\n")
            return
        t = Table(title="Policy levers (NAME[=VALUE]; without a value: the 'on' value)")
        for col in ("name", "type", "no change at", "on", "range", "label"):
            t.add_column(col, overflow="fold", no_wrap=col == "name")
        for lv in LEVERS.values():
            t.add_row(lv.name, lv.type, *lever_values(lv), lv.label)
        console.print(t)
        console.print(
            "no change at: the value that leaves the scenario as it is. floor: the value is a "
            "lower bound on the scenario's own; below it the lever changes nothing.\n"
            "Descriptions: `tmpsim levers --json`.",
            highlight=False,
        )
