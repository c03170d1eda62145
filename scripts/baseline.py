#!/usr/bin/env python
"""The regression baseline: every shipped scenario's summary and series digests, kept in git.

Usage (from the repository root)::

    .venv/bin/python scripts/baseline.py check     # compare with tests/baseline/ (what CI does)
    .venv/bin/python scripts/baseline.py update    # rewrite tests/baseline/ after a meant change

Each shipped scenario runs at ``SCALE`` with seed ``SEED``; ``tests/baseline/<name>.json`` holds
its ``summary.json`` and a SHA-256 digest of the series of every metric (dates, origins and values
as bytes), so a failed check names the metrics that moved. Run ``update`` only when a change is
meant to move the numbers, and say in the commit message which outputs changed and why.

The digests are exact: they hold on the platform that made them (the NumPy, Numba and PyArrow
versions and the CPU's vector extensions recorded in each file). On another platform the check
is skipped with the reason, since compiled code and vectorised maths may round differently.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tests" / "baseline"
SEED = 3
SCALE = 0.02
FORMAT = 1


def fingerprint() -> dict[str, Any]:
    """What exact digests depend on besides the code: library versions and vector extensions."""
    import numba
    import numpy as np
    import pyarrow

    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # pragma: no cover - older NumPy layouts
        from numpy.core._multiarray_umath import __cpu_features__ as features
    simd = sorted(k for k in ("AVX2", "FMA3", "AVX512F", "AVX512_SKX") if features.get(k))
    return {
        "machine": platform.machine(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "pyarrow": pyarrow.__version__,
        "simd": simd,
    }


def series_digests(table) -> dict[str, str]:
    """SHA-256 (first 16 hex digits) of each metric's rows: dates, origins and values as bytes."""
    import numpy as np
    import pyarrow.compute as pc

    out = {}
    metrics = table.column("metric")
    for name in sorted(set(metrics.to_pylist())):
        rows = table.filter(pc.equal(metrics, name))
        h = hashlib.sha256()
        h.update(np.asarray(rows.column("date").cast("int32")).tobytes())
        h.update("\0".join(rows.column("origin").to_pylist()).encode())
        h.update(np.asarray(rows.column("value")).tobytes())
        out[name] = h.hexdigest()[:16]
    return out


def record(name: str) -> dict[str, Any]:
    """Run one shipped scenario and return its baseline record."""
    import tmpsim

    result = tmpsim.run(name, seed=SEED, scale=SCALE, agents=False)
    return {
        "format": FORMAT,
        "scenario": name,
        "seed": SEED,
        "scale": SCALE,
        "platform": fingerprint(),
        "summary": json.loads(json.dumps(result.summary, default=str)),
        "series": series_digests(result.series_table),
    }


def shipped() -> list[str]:
    """Names of the shipped scenarios."""
    from tmpsim.scenario import shipped_scenarios

    return sorted(shipped_scenarios())


def differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between a saved record and a fresh one, one line per key or metric."""
    lines = []
    for key in sorted(set(saved["summary"]) | set(now["summary"])):
        a, b = saved["summary"].get(key, "<absent>"), now["summary"].get(key, "<absent>")
        if a != b:
            lines.append(f"summary.{key}: {a!r} -> {b!r}")
    for key in sorted(set(saved["series"]) | set(now["series"])):
        a, b = saved["series"].get(key, "<absent>"), now["series"].get(key, "<absent>")
        if a != b:
            lines.append(f"series {key}: {a} -> {b}")
    return lines


def path_of(name: str) -> Path:
    """The baseline file of a scenario."""
    return BASELINE / f"{name}.json"


def update(names: list[str]) -> None:
    """Rewrite the baseline files of ``names``."""
    BASELINE.mkdir(parents=True, exist_ok=True)
    for name in names:
        rec = record(name)
        path_of(name).write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n", "utf-8")
        print(f"{path_of(name).relative_to(ROOT)}: {len(rec['series'])} metrics")


def check(names: list[str]) -> int:
    """Compare fresh runs with the saved baseline; print differences; return an exit status."""
    failed = 0
    for name in names:
        saved = json.loads(path_of(name).read_text("utf-8"))
        if saved["platform"] != fingerprint():
            print(f"{name}: skipped, baseline made on {saved['platform']}, not {fingerprint()}")
            continue
        lines = differences(saved, record(name))
        failed += bool(lines)
        print(f"{name}: {'differs' if lines else 'same'}")
        for line in lines:
            print("   ", line)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Command line: ``check`` or ``update``, optionally for some scenarios only."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["check", "update"])
    parser.add_argument("scenarios", nargs="*", help="shipped scenario names (default: all)")
    args = parser.parse_args(argv)
    names = args.scenarios or shipped()
    if args.action == "update":
        update(names)
        return 0
    return check(names)


if __name__ == "__main__":
    sys.exit(main())
