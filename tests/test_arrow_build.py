"""Arrow arrays built from NumPy buffers equal what ``pa.array`` makes; a run writes no pandas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tmpsim.results import _labels, arrow_array, arrow_strings


@pytest.mark.parametrize(
    ("values", "type_"),
    [
        (np.array([3, -1, 7], dtype=np.int64), pa.int64()),
        (np.array([1.5, 0.0, -2.0]), pa.float64()),
        (np.array([0, 18000, -5], dtype=np.int32), pa.date32()),
        (np.array([0, 86400, -86400], dtype=np.int64), pa.timestamp("s")),
        (np.array([True, False, True, True, False, False, True, False, True]), pa.bool_()),
        (np.array([], dtype=np.float64), pa.float64()),
    ],
)
def test_arrow_array_is_pa_array(values: np.ndarray, type_: pa.DataType) -> None:
    made = arrow_array(values, type_)
    made.validate(full=True)
    assert made.equals(pa.array(values, type=type_))
    valid = np.arange(values.size) % 2 == 0
    masked = arrow_array(values, type_, valid=valid)
    masked.validate(full=True)
    assert masked.null_count == int((~valid).sum())
    assert masked.equals(pa.array(values, type=type_, mask=~valid))


def test_arrow_array_refuses_a_width_mismatch() -> None:
    with pytest.raises(TypeError):
        arrow_array(np.zeros(2, dtype=np.int32), pa.int64())


def test_strings_and_labels() -> None:
    names = ["employed", "", "ベトナム", "all"]
    made = arrow_strings(names)
    made.validate(full=True)
    assert made.equals(pa.array(names, type=pa.string()))
    labels = _labels(np.array([2, 0, 0, 3, 1]), names)
    labels.validate(full=True)
    assert labels.cast(pa.string()).to_pylist() == ["ベトナム", "employed", "employed", "all", ""]
    assert arrow_strings([]).to_pylist() == []


def test_a_run_folder_is_written_without_pandas(tmp_path: Path) -> None:
    code = (
        "import sys, tmpsim\n"
        f"tmpsim.run('japan-titp-covid', seed=1, scale=0.002, out={str(tmp_path)!r})\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "False"
    assert (tmp_path / "agents.parquet").is_file()


def test_an_error_writing_agents_reaches_the_caller(tmp_path: Path, monkeypatch) -> None:
    import tmpsim
    from tmpsim.results import AgentsSnapshot

    result = tmpsim.run("japan-titp-covid", seed=1, scale=0.002)

    def fail(self, path):
        raise OSError("disk full")

    monkeypatch.setattr(AgentsSnapshot, "write", fail)
    with pytest.raises(OSError, match="disk full"):
        result.write(tmp_path / "run")
    assert list(tmp_path.iterdir()) == []  # no run folder, and nothing staged left over
