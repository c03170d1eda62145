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
    counts = np.bincount(codes, minlength=n_codes)
    present = np.flatnonzero(counts).tolist()
    if len(present) == 1:
        return [(present[0], ids)]
    ids = ids[np.argsort(codes, kind="stable")]
    ends = np.cumsum(counts).tolist()
    sizes = counts.tolist()
    return [(c, ids[ends[c] - sizes[c] : ends[c]]) for c in present]


def rank_within(codes: np.ndarray) -> np.ndarray:
    """Each element's position among those with the same code, in the given order (0, 1, ...).

    ``rank_within([1, 0, 1, 1, 0])`` is ``[0, 0, 1, 2, 1]``: one stable sort, as ``split_by``.
    """
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    rank = np.empty(codes.size, dtype=np.int64)
    rank[order] = np.arange(codes.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return rank
