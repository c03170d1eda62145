"""When holders of a special job pass the test that moves them on (``routes.job_changes[].test``).

A special job-change status may be the way into an onward status whose test the holder has yet
to pass (a one-year status for work in another field of a skilled-worker status: the holder
works in the new field until passing its skills test, then changes to the status). The test is
held in rounds on fixed days; a holder sits every round from the first whose registration
closes after the grant and passes each with the same chance, so the number of rounds sat is
geometric; the new status follows a fixed processing time after the round passed.
"""

from __future__ import annotations

import numpy as np

NEVER = -1


def round_day(start: int, interval: float, m: np.ndarray) -> np.ndarray:
    """Day of the test's ``m``-th round (m >= 1) counted from the day ``start``."""
    return start + np.round(m * interval).astype(np.int64)


def move_days(
    granted: int,
    ends: int,
    start: int,
    rounds_per_year: float,
    pass_rate: float,
    processing_days: int,
    register_days: int,
    n: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The day each of ``n`` holders granted on ``granted`` moves on, or ``NEVER``.

    ``ends`` is the day the special status runs out: a holder whose move would fall on it or
    later has not moved on in time (and reaches the status's end like the others). The first
    round sat is the first after ``granted + register_days``. Draws ``n``
    geometric numbers from ``rng`` only when ``0 < pass_rate < 1``.
    """
    out = np.full(n, NEVER, dtype=np.int64)
    if n == 0 or pass_rate == 0:
        return out
    interval = 365.25 / rounds_per_year
    ready = granted + register_days
    first = max(int((ready - start) // interval) + 1, 1)
    while round_day(start, interval, np.array([first]))[0] <= ready:
        first += 1
    sat = np.ones(n, dtype=np.int64) if pass_rate == 1 else rng.geometric(pass_rate, n)
    day = round_day(start, interval, first + sat - 1) + processing_days
    return np.where(day < ends, day, NEVER)
