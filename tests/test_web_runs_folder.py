"""The dashboard's runs folder: one server at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from tmpsim.web.app import Settings, create_app  # noqa: E402
from tmpsim.web.jobs import LOCK_FILE, FolderInUseError, JobManager  # noqa: E402

IN_USE = "another tmpsim dashboard is serving this runs folder"


def serve_on(runs: Path) -> TestClient:
    """A test client of a new dashboard server on the runs folder ``runs``."""
    return TestClient(
        create_app(Settings(runs_dir=runs, max_scale=0.01)), base_url="http://127.0.0.1"
    )


# ---- one server per runs folder -------------------------------------------------------------


def test_a_second_server_on_the_same_runs_folder_is_refused(tmp_path: Path) -> None:
    first = JobManager(tmp_path)
    try:
        with pytest.raises(FolderInUseError) as refused:
            JobManager(tmp_path)
        message = str(refused.value)
        assert str(tmp_path) in message and IN_USE in message
        # a whole dashboard too, before it reads or prunes anything of the first one's
        with pytest.raises(FolderInUseError, match=IN_USE):
            create_app(Settings(runs_dir=tmp_path))
    finally:
        first.close()
    # let go when the first stops: a new server starts
    with JobManager(tmp_path) as again:
        assert again.jobs() == []


def test_the_lock_is_held_while_the_server_runs_and_let_go_when_it_stops(tmp_path: Path) -> None:
    with serve_on(tmp_path) as first:
        assert first.get("/api/runs").status_code == 200
        with pytest.raises(FolderInUseError):
            serve_on(tmp_path)
        assert first.get("/api/runs").status_code == 200  # the refusal left the first alone
    with serve_on(tmp_path) as second:
        assert second.get("/api/runs").json() == {"runs": []}


def test_a_lock_file_left_by_a_killed_server_does_not_block(tmp_path: Path) -> None:
    """The kernel drops the lock with its process; the lock file itself stays and is harmless."""
    holder = textwrap.dedent(
        f"""
        import sys, time
        from tmpsim.web.jobs import FolderLock
        lock = FolderLock({str(tmp_path)!r})
        print("locked", flush=True)
        time.sleep(300)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout.readline().strip() == "locked"
        with pytest.raises(FolderInUseError, match=IN_USE):
            JobManager(tmp_path)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        process.stdout.close()
    assert (tmp_path / LOCK_FILE).is_file()  # left behind by the killed process
    with JobManager(tmp_path):
        pass


def test_serve_exits_non_zero_naming_the_folder_another_server_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from tmpsim.cli import app

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda dashboard, **kw: served.append(dashboard))
    with JobManager(tmp_path):
        result = CliRunner().invoke(app, ["serve", "--runs-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert served == []
    output = " ".join(result.output.split())  # rich wraps long lines
    assert IN_USE in output and tmp_path.name in output
    # a free folder: the server is started (here, handed to the stubbed uvicorn)
    result = CliRunner().invoke(app, ["serve", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(served) == 1
    served[0].state.manager.close()


def test_a_link_in_place_of_the_lock_file_is_not_followed(tmp_path: Path) -> None:
    from tmpsim.web.jobs import RunsFolderError

    runs, elsewhere = tmp_path / "runs", tmp_path / "elsewhere.txt"
    runs.mkdir()
    (runs / LOCK_FILE).symlink_to(elsewhere)
    with pytest.raises(RunsFolderError, match=LOCK_FILE):
        JobManager(runs)
    assert not elsewhere.exists()
