"""Selection from the standby pool in one compiled pass (``select_kernel``).

``StandbyPool.select_reference`` is the same selection in NumPy, in two steps: the eligible
applicants (``StandbyPool.eligible``), then the best of each profile among them
(``tmpsim.model.recruitment.best_by_origin``). The tests hold the two to the same positions.
``kth_smallest`` is ``np.partition(values, k)[k]``, which the tests hold it to.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tmpsim.engine.jit import njit


class PoolColumns(NamedTuple):
    """The pool's columns selection reads (``StandbyPool.columns`` and ``waiting``)."""

    waiting: np.ndarray  # bool: not yet selected nor gone
    age0: np.ndarray  # float32: age at joining
    joined: np.ndarray  # int32: day joined
    aptitude: np.ndarray  # float32
    profile: np.ndarray  # int16: the places are by profile


class Eligibility(NamedTuple):
    """Who may be selected on a day: age bounds (years) and the aptitude floor."""

    day: int
    age_min: float
    age_max: float
    aptitude_min: np.float32  # compared in float32, as the agents' aptitudes are stored


@njit(cache=True)
def kth_smallest(values: np.ndarray, k: int) -> float:  # pragma: no cover
    """The ``k``-th smallest of ``values`` (from 0): ``np.partition(values, k)[k]``.

    Quickselect on a copy (Hoare's partition around the median of three; equal values stop
    both scans, so ties split evenly). numba's ``np.partition`` would compile about four
    seconds of helpers (checking its ``kth`` alone sorts through ``np.unique``), a third of the
    compile time of every kernel of a first run; the value it returns is the same.
    """
    a = values.copy()
    lo, hi = 0, a.size - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while pivot < a[j]:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        # Now a[lo..j] <= pivot <= a[i..hi], and anything between them equals the pivot.
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return a[k]
    return a[k]


@njit(cache=True)
def select_kernel(lo, hi, pool, rule, places, out):  # pragma: no cover
    """Positions in ``[lo, hi)`` of the ``places[p]`` best eligible applicants of each profile.

    ``pool`` is ``PoolColumns`` and ``rule`` ``Eligibility`` as tuples. Eligible: waiting, age
    (float32 age at joining plus float64 years since) within the bounds, aptitude at the floor or
    above. Best: the highest aptitude, ties going to the earlier position (the key
    ``profile * 2.0 + (1.0 - aptitude)`` in float64, lower is better, as the reference sorts by).
    Writes the chosen positions to ``out`` in ascending order; returns their count and the
    number of eligible applicants.
    """
    waiting, age0, joined, aptitude, profile = pool
    day, age_min, age_max, aptitude_min = rule
    n_profiles = places.size
    n = hi - lo
    cand = np.empty(n, dtype=np.int64)
    count = np.zeros(n_profiles, dtype=np.int64)
    m = 0
    for j in range(lo, hi):  # branch-free: most applicants are eligible
        age = np.float64(age0[j]) + (day - joined[j]) / 365.25
        ok = waiting[j] & (age >= age_min) & (age <= age_max) & (aptitude[j] >= aptitude_min)
        cand[m] = j
        m += ok
        count[profile[j]] += ok
    # Per profile: take all, none, or those below a cut-off key (and the first ties at it).
    take_all = np.zeros(n_profiles, dtype=np.bool_)
    cut = np.zeros(n_profiles)
    ties = np.zeros(n_profiles, dtype=np.int64)
    start = np.zeros(n_profiles + 1, dtype=np.int64)
    for p in range(n_profiles):
        start[p + 1] = start[p] + count[p]
    keys = np.empty(m)
    fill = start[:n_profiles].copy()
    for k in range(m):
        p = profile[cand[k]]
        keys[fill[p]] = p * 2.0 + (1.0 - np.float64(aptitude[cand[k]]))
        fill[p] += 1
    for p in range(n_profiles):
        want = places[p]
        if want <= 0 or count[p] == 0:
            continue
        if want >= count[p]:
            take_all[p] = True
            continue
        group = keys[start[p] : start[p + 1]]
        c = kth_smallest(group, want - 1)
        below = 0
        for x in group:
            if x < c:
                below += 1
        cut[p] = c
        ties[p] = want - below
    n_out = 0
    for k in range(m):
        j = cand[k]
        p = profile[j]
        if places[p] <= 0:
            continue
        if not take_all[p]:
            key = p * 2.0 + (1.0 - np.float64(aptitude[j]))
            if key > cut[p]:
                continue
            if key == cut[p]:
                if ties[p] == 0:
                    continue
                ties[p] -= 1
        out[n_out] = j
        n_out += 1
    return n_out, m
