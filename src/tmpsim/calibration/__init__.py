"""Calibration: fit a scenario's declared free parameters to observed series.

The scenario file declares the free parameters, their ranges and the targets in a ``calibration:``
section (:class:`CalibrationSpec`); :func:`calibrate` searches for one best point with Optuna's
TPE sampler and :func:`tmpsim.calibration.abc.calibrate_posterior` makes a posterior by ABC-SMC
(pyabc, optional), both running the simulations through
:func:`tmpsim.experiments.runner.map_runs`. This ``__init__`` stays
light because the scenario schema imports the spec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The scenario package first: its schema imports our spec, whose range check imports it back.
import tmpsim.scenario  # noqa: F401, I001
from tmpsim.calibration.spec import CalibrationSpec, FreeParameter, Target, Variant, Window

if TYPE_CHECKING:
    from tmpsim.calibration.optimise import CalibrationResult


def calibrate(*args: Any, **kwargs: Any) -> CalibrationResult:
    """Run a calibration; see :func:`tmpsim.calibration.optimise.calibrate`."""
    from tmpsim.calibration.optimise import calibrate as _calibrate

    return _calibrate(*args, **kwargs)


__all__ = ["CalibrationSpec", "FreeParameter", "Target", "Variant", "Window", "calibrate"]
