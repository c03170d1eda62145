"""Kernels called through the compiled version their first call chose (engine.jit.Resolved)."""

from __future__ import annotations

import numpy as np
import pytest

from tmpsim.engine import jit
from tmpsim.engine.jit import Resolved, njit


@njit(cache=False)
def _add_into(out: np.ndarray, values: tuple, k: int) -> int:  # pragma: no cover
    a, b = values
    for i in range(out.size):
        out[i] += a[i] * k + b
    return out.size


def test_later_calls_use_the_first_calls_version_with_the_same_results() -> None:
    kernel = Resolved(_add_into)
    out = np.zeros(3)
    assert kernel(out, (np.arange(3.0), 1.0), 2) == 3
    if not jit.JIT:
        pytest.skip("kernels run as plain Python (TMPSIM_JIT=0)")
    assert kernel._entry is not None
    assert kernel(out, (np.arange(3.0), 1.0), 2) == 3  # through the entry point
    np.testing.assert_array_equal(out, [2.0, 6.0, 10.0])


def test_checking_refuses_a_call_with_other_types(monkeypatch: pytest.MonkeyPatch) -> None:
    if not jit.JIT:
        pytest.skip("kernels run as plain Python (TMPSIM_JIT=0)")
    monkeypatch.setattr(jit, "CHECK", True)
    kernel = Resolved(_add_into)
    kernel(np.zeros(2), (np.ones(2), 0.0), 1)
    with pytest.raises(TypeError, match="not the .* of its first call"):
        kernel(np.zeros(2, dtype=np.float32), (np.ones(2), 0.0), 1)
    kernel(np.zeros(2), (np.ones(2), 0.5), 3)  # the same types: fine


def test_a_plain_python_kernel_is_called_as_it_is() -> None:
    calls = []

    def plain(x: int) -> int:
        calls.append(x)
        return x + 1

    kernel = Resolved(plain)
    assert kernel(1) == 2 and kernel(2) == 3
    assert calls == [1, 2] and kernel._entry is None
