"""Just-in-time compilation for the few kernels NumPy cannot fuse.

Kernels are plain Python loops over agent ids compiled by numba (cached on disk, so start-up stays
small after the first run). Each has a readable NumPy reference beside it (``*_reference``) that
the tests hold it to.

For debugging, ``TMPSIM_JIT=0`` in the environment (read at import) runs the kernels as the
plain Python they are written in, where a debugger and print work; results are identical (the
tests check that). numba's own ``NUMBA_DISABLE_JIT=1`` does the same for every numba function.
"""

from __future__ import annotations

import os
import sys
import threading

JIT = os.environ.get("TMPSIM_JIT", "1").strip().lower() not in ("0", "false", "no", "off")


def _identity(*args, **kwargs):
    """The decorator when kernels run as plain Python (``TMPSIM_JIT=0`` or no numba)."""
    if args and callable(args[0]):
        return args[0]
    return lambda f: f


try:
    if not JIT:
        raise ImportError("TMPSIM_JIT=0: kernels run as plain Python")
    from numba import njit
except ImportError:
    njit = _identity  # type: ignore[assignment]
else:

    def _load_numpy_support_without_scipy() -> None:
        """Load numba's NumPy support now, without importing scipy.linalg for it.

        numba loads its NumPy support on the first kernel call (or cache load), and that module
        checks for a BLAS by importing scipy.linalg: a good share of start-up for something no
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


__all__ = ["JIT", "njit"]
