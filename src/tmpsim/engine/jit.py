"""Just-in-time compilation for the few kernels NumPy cannot fuse.

Kernels are plain Python loops over agent ids compiled by numba (cached on disk, so start-up stays
small after the first run). Each has a readable NumPy reference beside it (``*_reference``) that
the tests hold it to.

For debugging, ``TMPSIM_JIT=0`` in the environment (read at import) runs the kernels as the
plain Python they are written in, where a debugger and print work; results are identical (the
tests check that). numba's own ``NUMBA_DISABLE_JIT=1`` does the same for every numba function.

Kernels called from Python thousands of times a run with small inputs (a move's few hundred
agents) are called through :class:`Resolved`, which skips numba's choice of a compiled version
at each call; ``TMPSIM_JIT_CHECK=1`` (set by the tests) checks that choice on a call site's first
calls and a sample of the later ones.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any


def _flag(name: str, default: str) -> bool:
    """An on/off setting from the environment."""
    return os.environ.get(name, default).strip().lower() not in ("0", "false", "no", "off", "")


JIT = _flag("TMPSIM_JIT", "1")
CHECK = _flag("TMPSIM_JIT_CHECK", "0")
# Checking types costs more than the call: the first calls of each call site, then a sample.
CHECK_FIRST, CHECK_EVERY = 200, 50


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


class Resolved:
    """A compiled kernel called straight through the version its first call chose.

    At each call numba types every argument to choose a compiled version of the kernel; for a
    kernel taking bundles of arrays (tuples) that costs several microseconds, more than a small
    call's work. Each Python call site of such a kernel passes the same types every time (the
    agents' arrays keep their dtypes; ids are made int64 and contiguous first), so the choice is
    made once, by the first call, and later calls go to that version's entry point. With
    ``TMPSIM_JIT_CHECK=1`` (the tests run so) the first ``CHECK_FIRST`` calls of each call site
    and one in ``CHECK_EVERY`` after are typed again, and a call with other types is an error.
    A kernel that is plain Python (``TMPSIM_JIT=0``) is called as it is.

    Only for calls from Python: kernels calling each other use the kernel itself.
    """

    def __init__(self, kernel: Callable[..., Any]) -> None:
        self.kernel = kernel
        self.__doc__ = kernel.__doc__
        self._entry: Callable[..., Any] | None = None
        self._types: tuple | None = None
        self._calls = 0
        self._dispatched = hasattr(kernel, "overloads") and hasattr(kernel, "typeof_pyval")

    def _types_of(self, args: tuple) -> tuple:
        return tuple(self.kernel.typeof_pyval(a) for a in args)  # type: ignore[attr-defined]

    def __call__(self, *args: Any) -> Any:
        """Call the kernel (its chosen version once there is one)."""
        entry = self._entry
        if entry is not None:
            if CHECK:
                self._calls += 1
                if self._calls <= CHECK_FIRST or self._calls % CHECK_EVERY == 0:
                    self._check(args)
            return entry(*args)
        if not self._dispatched:
            return self.kernel(*args)
        result = self.kernel(*args)  # compiles or loads the version these types need
        types = self._types_of(args)
        found = self.kernel.overloads.get(types)  # type: ignore[attr-defined]
        if found is not None:
            self._types, self._entry = types, found.entry_point
        else:  # numba converted an argument to reach a version: leave the choice to it
            self._dispatched = False
        return result

    def _check(self, args: tuple) -> None:
        """Refuse a call whose types are not those of the version in use."""
        types = self._types_of(args)
        if types != self._types:
            raise TypeError(
                f"{getattr(self.kernel, '__name__', 'kernel')} called with {types}, "
                f"not the {self._types} of its first call"
            )


__all__ = ["CHECK", "CHECK_EVERY", "CHECK_FIRST", "JIT", "Resolved", "njit"]
