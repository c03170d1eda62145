"""Checks shared by every file that declares a parameter range (experiments, calibration)."""

from __future__ import annotations

import math


def check_range(low: float, high: float, log: bool) -> None:
    """Reject a parameter range that cannot be sampled (ValueError naming the problem)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("low and high must be finite numbers")
    if not low < high:
        raise ValueError(f"impossible range: low ({low:g}) must be below high ({high:g})")
    if log and low <= 0:
        raise ValueError(f"log scale needs low > 0, got {low:g}")
