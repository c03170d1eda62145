"""Just-in-time compilation for the few kernels NumPy cannot fuse.

Kernels are plain Python loops over agent ids compiled by numba (cached on disk, so start-up stays
small after the first run). With ``NUMBA_DISABLE_JIT=1`` the same functions run as Python and give
identical results; the tests check that.
"""

from __future__ import annotations

import sys
import threading

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency; this keeps the model importable

    def njit(*args, **kwargs):  # type: ignore[no-redef]
        """Identity decorator when numba is missing."""
        if args and callable(args[0]):
            return args[0]
        return lambda f: f

else:

    def _load_numpy_support_without_scipy() -> None:
        """Load numba's NumPy support now, without importing scipy.linalg for it.

        numba loads its NumPy support on the first kernel call (or cache load), and that module
        checks for a BLAS by importing scipy.linalg: about 0.2 s of start-up for something no
        tmpsim kernel uses (no dot products in the kernels). Hiding scipy.linalg during that one
        import makes the check answer "no BLAS", which only changes the fallback of
        ``np.correlate``/``np.convolve`` inside kernels; numba's linear-algebra functions still
        import scipy when a kernel using them is compiled, and scipy.linalg imports normally
        afterwards. Done only when scipy.linalg is not loaded yet and no other thread could be
        importing it.
        """
        if "scipy.linalg" in sys.modules or threading.active_count() > 1:
            return
        sys.modules["scipy.linalg"] = None  # type: ignore[assignment]  # import fails at once
        try:
            import numba.np.arraymath  # noqa: F401
        except ImportError:  # pragma: no cover - numba's layout changed: load it the usual way
            pass
        finally:
            if sys.modules.get("scipy.linalg", 0) is None:
                del sys.modules["scipy.linalg"]

    _load_numpy_support_without_scipy()


__all__ = ["njit"]
