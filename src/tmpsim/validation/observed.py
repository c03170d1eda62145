"""Observed data: the long CSV format ``date,indicator,origin,value,source`` and its loader.

The packaged files hold official statistics, one folder per host country: the main host's in
``tmpsim/data/observed/`` (described in ``MANIFEST.md`` there), others' in
``tmpsim/data/observed/hosts/*/``; each folder's ``about.yaml`` names its host. A run is
compared with its host's files; users pass their own files in the same format. Loading checks
every row and names the file, line and column of each problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from tmpsim.validation.indicators import UnknownIndicator, resolve

COLUMNS = ["date", "indicator", "origin", "value", "source"]


class ObservedDataError(ValueError):
    """An observed-data file that cannot be used; the message names file, line and reason."""


def packaged_dir() -> Path:
    """Folder of the observed data shipped with tmpsim."""
    return Path(str(resources.files("tmpsim") / "data" / "observed"))


def packaged_hosts() -> dict[str, Path]:
    """Each host country with packaged observed data, and its folder (named in ``about.yaml``)."""
    root = packaged_dir()
    folders = {}
    for about in [root / "about.yaml", *sorted(root.glob("hosts/*/about.yaml"))]:
        folders[str(yaml.safe_load(about.read_text(encoding="utf-8"))["host"])] = about.parent
    return folders


def packaged_files(host: str | None = None) -> list[Path]:
    """The packaged observed CSV files of ``host`` (of the main host by default; none if absent)."""
    folder = packaged_dir() if host is None else packaged_hosts().get(host)
    return [] if folder is None else sorted(folder.glob("*.csv"))


def packaged_observed(host: str | None) -> pd.DataFrame | None:
    """The packaged observations of a run's host (the main host's if it names none), or None."""
    files = packaged_files(host or None)
    return load_observed(files) if files else None


def load_observed(paths: Iterable[str | Path] | str | Path | None = None) -> pd.DataFrame:
    """Read observed files (the packaged data by default) into one checked table.

    Columns: ``date`` (Timestamp), ``indicator``, ``origin``, ``value``, ``source`` and ``file``.
    Raises ObservedDataError naming every bad row (unknown indicator, unreadable date or value,
    missing column, empty source, duplicate observation).
    """
    if paths is None:
        files = packaged_files()
    elif isinstance(paths, str | Path):
        files = [Path(paths)]
    else:
        files = [Path(p) for p in paths]
    if not files:
        raise ObservedDataError("no observed-data files given")
    frames = [_read_one(f) for f in files]
    df = pd.concat(frames, ignore_index=True)
    key = ["date", "indicator", "origin"]
    dup = df[df.duplicated(key, keep=False)]
    if not dup.empty:
        first = dup.iloc[0]
        where = ", ".join(sorted({f"{r.file}:{r.line}" for r in dup.itertuples()})[:6])
        raise ObservedDataError(
            f"the same observation appears more than once ({first.indicator}, {first.origin}, "
            f"{first.date.date()}): {where}"
        )
    return df.drop(columns="line").sort_values(key, ignore_index=True)


def _read_one(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ObservedDataError(f"{path}: no such file")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ObservedDataError(f"{path}: not a readable CSV file: {exc}") from None
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise ObservedDataError(
            f"{path}: missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}"
        )
    extra = [c for c in raw.columns if c not in COLUMNS]
    if extra:
        raise ObservedDataError(f"{path}: unknown column(s) {', '.join(extra)}")
    raw = raw[COLUMNS].apply(lambda s: s.str.strip())
    lines = pd.Series(range(2, len(raw) + 2), index=raw.index)  # header is line 1
    problems: list[str] = []
    dates = pd.to_datetime(raw["date"], format="%Y-%m-%d", errors="coerce")
    values = pd.to_numeric(raw["value"], errors="coerce")
    for i in raw.index[dates.isna()]:
        problems.append(f"{path}:{lines[i]}: date {raw.at[i, 'date']!r} is not YYYY-MM-DD")
    for i in raw.index[values.isna()]:
        problems.append(f"{path}:{lines[i]}: value {raw.at[i, 'value']!r} is not a number")
    for col in ("origin", "source"):
        for i in raw.index[raw[col] == ""]:
            problems.append(f"{path}:{lines[i]}: empty {col}")
    for name, grp in raw.groupby("indicator", sort=True):
        try:
            resolve(str(name))
        except UnknownIndicator as exc:
            at = ", ".join(str(x) for x in lines[grp.index][:5])
            problems.append(f"{path}: line(s) {at}: {exc}")
    if problems:
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise ObservedDataError("\n".join(problems[:20]) + more)
    out = raw.assign(date=dates, value=values.astype(float), file=str(path), line=lines)
    return out
