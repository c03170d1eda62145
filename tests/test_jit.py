"""Compiled kernels give the same bytes as the same code run as plain Python."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys, tmpsim
tmpsim.run("japan-titp-covid", seed=5, scale=0.003, out=sys.argv[1], agents=False)
"""


def _run(out: Path, disable_jit: bool) -> bytes:
    env = dict(os.environ)
    env["NUMBA_DISABLE_JIT"] = "1" if disable_jit else "0"
    subprocess.run([sys.executable, "-c", SCRIPT, str(out)], check=True, env=env)
    return (out / "series.parquet").read_bytes()


def test_jit_and_python_kernels_identical(tmp_path: Path) -> None:
    with_jit = _run(tmp_path / "jit", disable_jit=False)
    without = _run(tmp_path / "nojit", disable_jit=True)
    assert with_jit == without
