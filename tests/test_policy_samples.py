"""Policy verdicts compared across samples of posterior draws (scripts/policy_posterior.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from helpers import ROOT, load_script

SCRIPT = load_script(ROOT / "scripts" / "policy_posterior.py")
LEVER = "charter_flights=300"


def _sample(folder: Path, differences: list[float]) -> Path:
    """A runs.csv of three draws: the lever moves peak stranded by ``differences``, nothing else."""
    rows = []
    for k, d in enumerate(differences, start=1):
        for metric in SCRIPT.FIGURES:
            base = 1000.0 + 10 * k
            for variant, value in (
                ("base", base),
                (LEVER, base + (d if metric == "peak_stranded" else 0)),
            ):
                rows.append(
                    {
                        "draw": k,
                        "row": k,
                        "seed": k,
                        "variant": variant,
                        "metric": metric,
                        "value": value,
                    }
                )
    folder.mkdir()
    pd.DataFrame(rows).to_csv(folder / "runs.csv", index=False)
    return folder


def test_samples_count_agreeing_verdicts_and_list_the_split_ones(tmp_path: Path) -> None:
    one = _sample(tmp_path / "one", [-10.0, -12.0, -8.0])  # every draw down: robust
    two = _sample(tmp_path / "two", [-10.0, 5.0, -9.0])  # down on average, split by draw
    wide, lines = SCRIPT.samples([one, two], scale=1.0)
    assert len(wide) == len(SCRIPT.FIGURES)  # one lever, every figure
    peak = wide.set_index("metric").loc["peak_stranded"]
    assert (peak.verdict_1, peak.verdict_2) == ("robust", "flips sign")
    assert peak.difference_1 == -10.0 and round(peak.difference_2, 6) == round(-14 / 3, 6)
    assert bool(peak.same_sign) and not bool(peak.same_verdict)
    others = wide[wide.metric != "peak_stranded"]
    assert (others.verdict_1 == "no effect").all() and others.same_verdict.all()
    n = len(SCRIPT.FIGURES)
    assert lines[0].startswith(
        f"{n} pairs of lever and figure over 2 samples of draws: the same verdict in all for "
        f"{n - 1} ({n - 1} with no effect in any sample); the same sign of the mean for 1 of the "
        "other 1."
    )
    # The split sample's interval holds zero (its draws go both ways): no interval firm in both.
    assert (
        lines[1]
        == "0 intervals exclude zero in every sample, 0 of them changing sign between samples."
    )
    assert lines[2].startswith("0 effects are robust in every sample, 1 in some but not all")
    assert lines[3].startswith(f"- {LEVER} on peak_stranded:")
    assert lines[3].endswith("draws with the sign 100%, 67%")
