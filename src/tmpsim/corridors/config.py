"""A corridors configuration: the sending market, its years, border rules and 2019 targets.

The configuration is a YAML file (the shipped one is ``data/origins/asia-corridors.yaml``)
whose ``market`` is an ``OriginsConfig``. Dated border rules (``border_rules.csv``) and the
sourced 2019 stocks (``stocks_2019.csv``) are data beside it, every row with its source.
Every problem is a ``CorridorsError`` naming the file, the line where known, the key path and
the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import Field, ValidationError, model_validator

from tmpsim.scenario.loader import format_validation_error
from tmpsim.scenario.origins_schema import BorderWindow, OriginsConfig, OriginStop, StayExtension
from tmpsim.scenario.schema import OriginsMarketSpec, Scenario, Strict

DATA = "data/origins"
SHIPPED = {"asia-corridors": "asia-corridors.yaml"}
Year = Annotated[int, Field(ge=1990, le=2100)]


class CorridorsError(ValueError):
    """A corridors configuration, rule file or command-line value that cannot be used."""


class CorridorsConfig(Strict):
    """A multi-destination run: the market and the years it covers."""

    description: str = ""
    first_year: Year
    last_year: Year
    spinup_years: Annotated[int, Field(ge=0, le=50)] = Field(
        10,
        description="Years run at first_year's conditions before first_year and not reported, "
        "so that stocks abroad and queues start near their level instead of at zero.",
    )
    market: OriginsConfig
    initial_stock: dict[str, dict[str, Annotated[float, Field(ge=0)]]] = Field(
        default_factory=dict,
        description="People abroad at the start of first_year, by destination and origin, "
        "replacing what the spin-up left there (sourced stocks; other cells keep the spin-up's).",
    )

    @model_validator(mode="after")
    def _years(self) -> CorridorsConfig:
        if self.last_year < self.first_year:
            raise ValueError(f"last_year {self.last_year} is before first_year {self.first_year}")
        for dest, by_origin in self.initial_stock.items():
            if dest not in self.market.destinations:
                raise ValueError(f"initial_stock: {dest!r} is not a destination")
            bad = set(by_origin) - set(self.market.origins)
            if bad:
                raise ValueError(f"initial_stock.{dest}: unknown origin(s) {sorted(bad)}")
        return self


# libyaml's safe loader where PyYAML has it: the same data, ten times faster to read than the
# pure-Python one (the flagship reads its corridors twice while it builds).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _data_text(name: str) -> str:
    return (resources.files("tmpsim") / DATA / name).read_text("utf-8")


def load_corridors(name_or_path: str | Path) -> CorridorsConfig:
    """A shipped configuration by name, or a YAML file, validated."""
    if str(name_or_path) in SHIPPED:
        source = f"{DATA}/{SHIPPED[str(name_or_path)]}"
        text = _data_text(SHIPPED[str(name_or_path)])
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise CorridorsError(
                f"{path}: no such file and not a shipped configuration "
                f"({', '.join(sorted(SHIPPED))})"
            )
        source, text = str(path), path.read_text("utf-8")
    return parse_corridors(text, source)


def host_market_config(spec: OriginsMarketSpec, last_year: int) -> CorridorsConfig:
    """The configuration a scenario's ``origins_market`` names, with its host and anchor year.

    What a run meets as it builds the market (``tmpsim.model.host_market``), checked without
    running it, so that every command that reads a scenario says the same: a configuration that
    cannot be read, a ``host`` that is not one of its destinations, an ``anchor_year`` outside
    the market's years (the configuration's first year to the later of its last year and
    ``last_year``, the scenario's). ``CorridorsError`` names the key at fault.
    """
    try:
        cfg = load_corridors(spec.corridors)
    except CorridorsError as exc:
        where = "" if spec.corridors in SHIPPED else " (a path is read from the current folder)"
        raise CorridorsError(f"origins_market.corridors: {exc}{where}") from None
    check_host(spec, cfg)
    if spec.anchor_year is not None:
        check_anchor_year(spec.anchor_year, cfg.first_year, max(cfg.last_year, last_year))
    return cfg


def check_scenario_market(scenario: Scenario) -> None:
    """``host_market_config`` of the scenario's ``origins_market`` (nothing without one)."""
    if scenario.origins_market is not None:
        host_market_config(scenario.origins_market, scenario.end.year)


def check_host(spec: OriginsMarketSpec, cfg: CorridorsConfig) -> None:
    """``spec.host`` is a destination of ``cfg`` (the configuration ``spec.corridors`` names)."""
    if spec.host not in cfg.market.destinations:
        raise CorridorsError(
            f"origins_market.host: {spec.host!r} is not a destination of {spec.corridors} "
            f"({', '.join(cfg.market.destinations)})"
        )


def check_anchor_year(anchor: int, first: int, last: int) -> None:
    """``origins_market.anchor_year`` is one of the market's years, ``first`` to ``last``."""
    if not first <= anchor <= last:
        raise CorridorsError(
            f"origins_market.anchor_year: {anchor} is outside the market's years {first}..{last}"
        )


def parse_corridors(text: str, source: str = "<corridors>") -> CorridorsConfig:
    """Validate a configuration's YAML text; errors name ``source``, line and key path."""
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        raise CorridorsError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CorridorsError(f"{source}: expected a mapping of keys, got {type(data).__name__}")
    try:
        return CorridorsConfig.model_validate(data)
    except ValidationError as exc:
        message = format_validation_error(exc, source, text)
        hint = "see `tmpsim show` for valid keys"  # the scenario's hint; ours are documented
        raise CorridorsError(message.replace(hint, "see docs/origins.md for valid keys")) from None


def read_rows(name: str, text: str | None = None) -> list[dict[str, str]]:
    """Rows of one CSV of the origins data (or of ``text``), as strings."""
    return list(csv.DictReader((text if text is not None else _data_text(name)).splitlines()))


def _number(text: str | None) -> float | None:
    """A CSV cell as a number, or None when empty."""
    return float(text) if text else None


def border_rules(
    cfg: CorridorsConfig, text: str | None = None, source: str = f"{DATA}/border_rules.csv"
) -> dict[str, list[BorderWindow]]:
    """Dated border windows per destination from ``border_rules.csv`` (or ``text``)."""
    out: dict[str, list[BorderWindow]] = {}
    for line, row in enumerate(read_rows("border_rules.csv", text), start=2):
        where = f"{source}:{line}"
        name = row.get("destination", "")
        if name not in cfg.market.destinations:
            raise CorridorsError(
                f"{where}: destination: {name!r} is not one of {sorted(cfg.market.destinations)}"
            )
        if not row.get("status"):
            raise CorridorsError(f"{where}: status: every rule says sourced, derived or assumed")
        try:
            window = BorderWindow(
                date=dt.date.fromisoformat(row["from"]),
                end=dt.date.fromisoformat(row["to"]) if row.get("to") else None,
                open_share=float(row["open_share"]),
                cap_per_day=float(row["cap_per_day"]) if row.get("cap_per_day") else None,
                quarantine_places=_number(row.get("quarantine_places")),
                quarantine_days=_number(row.get("quarantine_days")),
                origins=[o.strip() for o in row["origins"].split(";")]
                if row.get("origins")
                else [],
            )
        except (ValueError, TypeError, ValidationError) as exc:
            raise CorridorsError(f"{where}: {exc}".splitlines()[0]) from None
        bad = set(window.origins) - set(cfg.market.origins)
        if bad:
            raise CorridorsError(
                f"{where}: origins: {sorted(bad)} not among {sorted(cfg.market.origins)}"
            )
        out.setdefault(name, []).append(window)
    return out


def _dated_rows(
    name: str, key: str, known: list[str], text: str | None, source: str | None
) -> list[tuple[str, str, dict[str, str]]]:
    """``(where, key value, row)`` of a dated rule file; unknown names and unmarked rows fail."""
    out = []
    for line, row in enumerate(read_rows(name, text), start=2):
        where = f"{source or f'{DATA}/{name}'}:{line}"
        value = row.get(key, "")
        if value not in known:
            raise CorridorsError(f"{where}: {key}: {value!r} is not one of {sorted(known)}")
        if not row.get("status"):
            raise CorridorsError(f"{where}: status: every rule says sourced, derived or assumed")
        out.append((where, value, row))
    return out


def _reason(exc: Exception) -> str:
    """One line: the field and message of a validation error, or the exception's first line."""
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        return f"{field}: {err['msg']}" if field else str(err["msg"])
    return str(exc).splitlines()[0]


def _dates(row: dict[str, str]) -> dict[str, dt.date | None]:
    return {
        "date": dt.date.fromisoformat(row["from"]),
        "end": dt.date.fromisoformat(row["to"]) if row.get("to") else None,
    }


def stay_extensions(
    cfg: CorridorsConfig, text: str | None = None, source: str | None = None
) -> dict[str, list[StayExtension]]:
    """Dated rules keeping on workers whose contract ends, per destination (stay_extensions.csv)."""
    out: dict[str, list[StayExtension]] = {}
    rows = _dated_rows(
        "stay_extensions.csv", "destination", list(cfg.market.destinations), text, source
    )
    for where, name, row in rows:
        try:
            rule = StayExtension(**_dates(row), note=row.get("note", ""))
        except (ValueError, TypeError, ValidationError) as exc:
            raise CorridorsError(f"{where}: {_reason(exc)}") from None
        out.setdefault(name, []).append(rule)
    return out


def origin_stops(
    cfg: CorridorsConfig, text: str | None = None, source: str | None = None
) -> dict[str, list[OriginStop]]:
    """Origins' own dated stops of departures and flights home, per origin (origin_stops.csv)."""
    out: dict[str, list[OriginStop]] = {}
    for where, name, row in _dated_rows(
        "origin_stops.csv", "origin", list(cfg.market.origins), text, source
    ):
        try:
            stop = OriginStop(
                **_dates(row),
                departures_share=float(row["departures_share"]),
                returns_share=float(row["returns_share"]),
                note=row.get("note", ""),
            )
        except (KeyError, ValueError, TypeError, ValidationError) as exc:
            raise CorridorsError(f"{where}: {_reason(exc)}") from None
        out.setdefault(name, []).append(stop)
    return out


def with_border_rules(
    cfg: CorridorsConfig,
    rules: dict[str, list[BorderWindow]],
    extensions: dict[str, list[StayExtension]] | None = None,
    stops: dict[str, list[OriginStop]] | None = None,
) -> CorridorsConfig:
    """The configuration with dated rules added after its own.

    ``rules``: destinations' border windows; ``extensions``: their stay extensions; ``stops``:
    origins' own stops.
    """
    market = cfg.market.model_copy(deep=True)
    for name, windows in rules.items():
        dest = market.destinations[name]
        dest.borders = [*dest.borders, *windows]
    for name, ext in (extensions or {}).items():
        dest = market.destinations[name]
        dest.stay_extensions = [*dest.stay_extensions, *ext]
    for name, windows in (stops or {}).items():
        origin = market.origins[name]
        origin.stops = [*origin.stops, *windows]
    return cfg.model_copy(update={"market": market})


def with_all_rules(cfg: CorridorsConfig) -> CorridorsConfig:
    """The configuration with every dated rule of the origins data: borders, extensions, stops."""
    return with_border_rules(cfg, border_rules(cfg), stay_extensions(cfg), origin_stops(cfg))


@dataclass(frozen=True)
class StockTarget:
    """A sourced stock abroad: at ``destination``, from ``origins`` (all, or one origin)."""

    destination: str
    origins: str
    date: dt.date
    value: float
    source: str


def stock_targets(cfg: CorridorsConfig) -> list[StockTarget]:
    """The 2019 stocks of ``stocks_2019.csv`` for the destinations of ``cfg``."""
    out = []
    for row in read_rows("stocks_2019.csv"):
        if row["destination"] in cfg.market.destinations:
            out.append(
                StockTarget(
                    destination=row["destination"],
                    origins=row["origins"],
                    date=dt.date.fromisoformat(row["date"]),
                    value=float(row["value"]),
                    source=row["source"],
                )
            )
    return out
