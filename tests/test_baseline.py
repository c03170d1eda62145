"""Regression baseline: each shipped scenario still gives the summary and series saved in git.

A change that is meant to move the numbers updates the baseline with
``.venv/bin/python scripts/baseline.py update`` and says in its commit which outputs changed.
"""

from __future__ import annotations

import json

import pytest
from helpers import ROOT, load_script

baseline = load_script(ROOT / "scripts" / "baseline.py")


def test_every_shipped_scenario_has_a_baseline():
    saved = sorted(p.stem for p in baseline.BASELINE.glob("*.json"))
    assert saved == baseline.shipped()


@pytest.mark.parametrize("name", baseline.shipped())
def test_outputs_match_the_saved_baseline(name):
    saved = json.loads(baseline.path_of(name).read_text("utf-8"))
    if saved["platform"] != baseline.fingerprint():
        pytest.skip(f"baseline made on {saved['platform']}, this is {baseline.fingerprint()}")
    lines = baseline.differences(saved, baseline.record(name))
    assert not lines, f"{name} moved (update the baseline if meant):\n" + "\n".join(lines)


def test_differences_name_what_moved():
    saved = {"summary": {"peak": 1.0, "gone": 2}, "series": {"stranded": "aa", "jobless": "bb"}}
    now = {"summary": {"peak": 1.5, "new": 3}, "series": {"stranded": "aa", "jobless": "cc"}}
    assert baseline.differences(saved, now) == [
        "summary.gone: 2 -> '<absent>'",
        "summary.new: '<absent>' -> 3",
        "summary.peak: 1.0 -> 1.5",
        "series jobless: bb -> cc",
    ]
