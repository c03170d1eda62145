"""The beta law's distribution function and quantile, without importing SciPy.

The supervision's proactivity follows a beta law and the organisations rated excellent are those
above one of its quantiles (``tmpsim.model.routes.rated_from``). That single quantile is all the
simulation needs from ``scipy.special``, whose import costs more start-up than the rest of a
small run's set-up; these few lines answer it to within 1e-12 (held to SciPy in
``tests/test_beta_law.py``).
"""

from __future__ import annotations

import math

_EPS = 1e-15
_TINY = 1e-300


def _continued_fraction(a: float, b: float, x: float) -> float:
    """The incomplete beta's continued fraction (modified Lentz's method)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for num in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + num / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"the incomplete beta's fraction did not converge (a={a}, b={b}, x={x})")


def beta_cdf(x: float, a: float, b: float) -> float:
    """P(X <= x) for X ~ Beta(a, b): the regularised incomplete beta function I_x(a, b)."""
    return _cdf_and_density(x, a, b)[0]


def _cdf_and_density(x: float, a: float, b: float) -> tuple[float, float]:
    """I_x(a, b) and the beta density at x (the density comes almost free with the cdf)."""
    if a <= 0 or b <= 0:
        raise ValueError(f"the beta law needs a > 0 and b > 0, got a={a}, b={b}")
    if x <= 0.0:
        return 0.0, 0.0
    if x >= 1.0:
        return 1.0, 0.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    density = front / (x * (1.0 - x))
    # The fraction converges fast below the mean's neighbourhood; use the symmetry above it.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _continued_fraction(a, b, x) / a, density
    return 1.0 - front * _continued_fraction(b, a, 1.0 - x) / b, density


def beta_quantile(p: float, a: float, b: float) -> float:
    """The x with P(X <= x) = p for X ~ Beta(a, b).

    Newton's steps kept inside a bracket that shrinks at each evaluation (bisection where a step
    would leave it): the cdf is monotone, so the bracket always holds the answer, and Newton
    takes a handful of evaluations where bisection alone takes fifty.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a probability is needed, got {p}")
    if p == 0.0:
        return 0.0
    if p == 1.0:
        return 1.0
    lo, hi = 0.0, 1.0
    x = a / (a + b)  # the mean: inside, and near the answer for central p
    for _ in range(300):
        cdf, density = _cdf_and_density(x, a, b)
        if cdf < p:
            lo = x
        else:
            hi = x
        step = (cdf - p) / density if density > 0.0 else math.inf
        nxt = x - step
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if nxt in (lo, hi) or abs(nxt - x) <= 1e-15 * max(x, 1e-300):
            return nxt
        x = nxt
    return x
