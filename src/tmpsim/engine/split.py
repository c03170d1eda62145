"""Splitting ids by a small integer code (event kind, origin), keeping their order."""

from __future__ import annotations

import numpy as np


def split_by(ids: np.ndarray, codes: np.ndarray, n_codes: int) -> list[tuple[int, np.ndarray]]:
    """``[(code, ids with that code), ...]`` for the codes present, in ascending code order.

    Within each group the ids keep their order (``ids[codes == code]``). One stable sort of the
    codes instead of one mask per code: the groups are slices of the sorted ids.
    """
    if ids.size == 0:
        return []
    first = codes[0]
    if (codes == first).all():
        return [(int(first), ids)]
    order = np.argsort(codes, kind="stable")
    ends = np.cumsum(np.bincount(codes, minlength=n_codes))
    ids = ids[order]
    out, start = [], 0
    for code in range(n_codes):
        if ends[code] > start:
            out.append((code, ids[start : ends[code]]))
        start = ends[code]
    return out
