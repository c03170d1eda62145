"""The package as users get it: an sdist and a wheel that build, and a wheel that installs into a
clean environment, runs the flagship and stays under 800 MiB (about a minute: pip installs from
its cache or index)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import tmpsim

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{' '.join(map(str, args))}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.slow
def test_wheel_installs_into_a_clean_venv_and_runs_the_flagship(tmp_path: Path) -> None:
    pytest.importorskip("build")
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--outdir", dist, ROOT, cwd=tmp_path)
    wheel = next(dist.glob("tmpsim-*.whl"))
    sdist = next(dist.glob("tmpsim-*.tar.gz"))
    assert wheel.name.startswith(f"tmpsim-{tmpsim.__version__}-")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in [
        "tmpsim/scenarios/japan-titp-covid.yaml",
        "tmpsim/data/observed/japan_titp.csv",
        "tmpsim/data/observed/hosts/hongkong/hongkong_fdh.csv",
        "tmpsim/data/observed/hosts/hongkong/about.yaml",
        "tmpsim/data/observed/hosts/singapore/singapore_mdw.csv",
        "tmpsim/data/observed/MANIFEST.md",
    ]:
        assert needed in names, needed
    assert any(n.startswith("tmpsim/web/static/") for n in names)
    with tarfile.open(sdist) as tar:
        members = tar.getnames()
    assert any(m.endswith("/pyproject.toml") for m in members)
    assert any(m.endswith("/src/tmpsim/scenarios/japan-titp-covid.yaml") for m in members)

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-qq", "--no-compile"]
    run(*pip, "-c", ROOT / "constraints.txt", wheel, cwd=tmp_path, env=env)

    where = run(
        venv / "bin" / "python",
        "-c",
        "import tmpsim; print(tmpsim.__file__)",
        cwd=tmp_path,
        env=env,
    )
    assert where.startswith(str(venv)), where  # the installed wheel, not the checkout
    version = run(venv / "bin" / "tmpsim", "--version", cwd=tmp_path, env=env)
    assert version.strip() == f"tmpsim {tmpsim.__version__}"
    tool = venv / "bin" / "tmpsim"
    args = ["run", "japan-titp-covid", "--scale", "0.002", "--out", "flagship", "--quiet"]
    run(tool, *args, "--report", cwd=tmp_path, env=env)
    run(tool, "plot", "flagship", cwd=tmp_path, env=env)
    folder = tmp_path / "flagship"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["peak_stranded"] > 0
    assert (folder / "report.html").stat().st_size > 100_000
    assert list((folder / "figures").glob("*.png"))
    # What running needs stays light: the base install, after a run, under 800 MiB on disk.
    assert disk_usage(venv) < 800 * 2**20, f"{disk_usage(venv) / 2**20:.0f} MiB"


def disk_usage(folder: Path) -> int:
    """Bytes a folder takes on disk, as ``du`` counts them (hard links once)."""
    seen, total = set(), 0
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            st = os.lstat(os.path.join(root, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total
