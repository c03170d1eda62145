"""Calibration: fit a scenario's declared free parameters to observed series.

The scenario file declares the free parameters, their ranges and the targets in a ``calibration:``
section (:class:`CalibrationSpec`); :func:`tmpsim.calibration.optimise.calibrate` searches for one
best point with Optuna's TPE sampler and :func:`tmpsim.calibration.abc.calibrate_posterior` makes
a posterior by ABC-SMC (pyabc, optional), both running the simulations through
:func:`tmpsim.experiments.runner.map_runs`. This ``__init__`` holds only the spec: the scenario
schema imports it, and the search needs the scenario, so the package itself must not lead back to
the search.
"""

from __future__ import annotations

from tmpsim.calibration.spec import CalibrationSpec, FreeParameter, Target, Variant, Window

__all__ = ["CalibrationSpec", "FreeParameter", "Target", "Variant", "Window"]
