"""Compiled kernels give the same bytes as the same code run as plain Python (``TMPSIM_JIT=0``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys, tmpsim
tmpsim.run("japan-titp-covid", seed=5, scale=0.003, out=sys.argv[1], agents=False)
"""


def _run(out: Path, jit: bool) -> bytes:
    env = dict(os.environ)
    env["TMPSIM_JIT"] = "1" if jit else "0"
    env.pop("NUMBA_DISABLE_JIT", None)
    subprocess.run([sys.executable, "-c", SCRIPT, str(out)], check=True, env=env)
    return (out / "series.parquet").read_bytes()


def test_jit_and_python_kernels_identical(tmp_path: Path) -> None:
    with_jit = _run(tmp_path / "jit", jit=True)
    without = _run(tmp_path / "nojit", jit=False)
    assert with_jit == without


def test_the_switch_runs_the_kernels_as_python() -> None:
    check = "import tmpsim.engine.calendar as c; print(type(c.file_entries).__name__)"
    for value, kind in (("0", "function"), ("1", "CPUDispatcher")):
        env = {**os.environ, "TMPSIM_JIT": value}
        out = subprocess.run(
            [sys.executable, "-c", check], check=True, env=env, capture_output=True, text=True
        )
        assert out.stdout.strip() == kind
