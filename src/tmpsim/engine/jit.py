"""Just-in-time compilation for the few kernels NumPy cannot fuse.

Kernels are plain Python loops over agent ids compiled by numba (cached on disk, so start-up stays
small after the first run). With ``NUMBA_DISABLE_JIT=1`` the same functions run as Python and give
identical results; the tests check that.
"""

from __future__ import annotations

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency; this keeps the model importable

    def njit(*args, **kwargs):  # type: ignore[no-redef]
        """Identity decorator when numba is missing."""
        if args and callable(args[0]):
            return args[0]
        return lambda f: f


__all__ = ["njit"]
