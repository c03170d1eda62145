"""The summarize step finds known sensitivity indices on toy functions."""

from __future__ import annotations

import math

import pytest
import yaml

from tmpsim.experiments import run_experiment, summarize
from tmpsim.experiments.summarize import MIN_SAMPLES
from tmpsim.experiments.toys import ishigami_indices

PI = math.pi


def write(tmp_path, spec: dict):
    path = tmp_path / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def ishigami_spec(design: dict) -> dict:
    return {
        "name": f"ishigami-{design['type']}",
        "model": "tmpsim.experiments.toys:ishigami",
        "seed": 11,
        "design": design,
        "parameters": {x: {"low": -PI, "high": PI} for x in ("x1", "x2", "x3")},
    }


def indices(summary, column: str) -> list[float]:
    sens = summary.sensitivity.set_index("parameter")
    return [sens.at[x, column] for x in ("x1", "x2", "x3")]


def test_sobol_indices_of_the_ishigami_function(tmp_path):
    path = write(tmp_path, ishigami_spec({"type": "sobol", "samples": 1024}))
    report = run_experiment(path, tmp_path / "out", workers=0)
    assert report.counts.done == 1024 * 5
    summary = summarize(tmp_path / "out")
    assert summary.method == "sobol"
    known = ishigami_indices()
    assert indices(summary, "S1") == pytest.approx(known["S1"], abs=0.06)
    assert indices(summary, "ST") == pytest.approx(known["ST"], abs=0.06)
    # x3 acts only through its interaction with x1: no first-order effect, a real total one.
    s1, st = indices(summary, "S1"), indices(summary, "ST")
    assert abs(s1[2]) < 0.05 < 0.2 < st[2]
    assert (tmp_path / "out" / "summary" / "sensitivity.parquet").is_file()


def test_morris_ranks_the_linear_toy_by_its_coefficients(tmp_path):
    spec = {
        "name": "linear-morris",
        "model": "tmpsim.experiments.toys:linear",
        "seed": 3,
        "design": {"type": "morris", "samples": 20, "levels": 4},
        "parameters": {x: {"low": 0, "high": 1} for x in ("x1", "x2", "x3")},
    }
    run_experiment(write(tmp_path, spec), tmp_path / "out", workers=0)
    summary = summarize(tmp_path / "out")
    assert summary.method == "morris"
    # Elementary effects of y = 10 x1 + x2 (+ noise 0.01) are the coefficients.
    assert indices(summary, "mu_star") == pytest.approx([10, 1, 0], abs=0.05)


def test_latin_hypercube_gives_first_order_indices(tmp_path):
    path = write(tmp_path, ishigami_spec({"type": "lhs", "samples": 1500}))
    run_experiment(path, tmp_path / "out", workers=0)
    summary = summarize(tmp_path / "out")
    assert summary.method == "rbd_fast"
    assert indices(summary, "S1") == pytest.approx(ishigami_indices()["S1"], abs=0.08)


def test_no_indices_until_every_point_has_a_finished_run(tmp_path):
    spec = {
        "name": "flaky-sobol",
        "model": "tmpsim.experiments.toys:flaky",
        "seed": 1,
        "design": {"type": "sobol", "samples": 8},
        "parameters": {"x": {"low": 0, "high": 1}, "z": {"low": 0, "high": 1}},
    }
    report = run_experiment(write(tmp_path, spec), tmp_path / "out", workers=0)
    assert report.counts.failed > 0
    summary = summarize(tmp_path / "out")
    assert summary.sensitivity is None
    assert "points have no finished run" in summary.notes[0]


@pytest.mark.parametrize(
    ("design", "least"),
    [({"type": "lhs", "samples": 3}, 21), ({"type": "sobol", "samples": 8}, 16)],
)
def test_too_small_a_design_gives_a_note_not_indices(tmp_path, design, least):
    """Three LHS points gave S1 = 1 for every parameter: such indices say nothing."""
    path = write(tmp_path, ishigami_spec(design))
    run_experiment(path, tmp_path / "out", workers=0)
    summary = summarize(tmp_path / "out")
    assert summary.sensitivity is None
    assert summary.notes == [
        f"no sensitivity indices: a {design['type']} design needs samples of at least {least} "
        f"({MIN_SAMPLES[design['type']][1]}) for its indices to be read; this one has "
        f"{design['samples']}"
    ]
