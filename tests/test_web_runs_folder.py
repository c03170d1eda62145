"""The dashboard's runs folder: one server at a time; uploaded scenarios kept across restarts."""

from __future__ import annotations

import json
import logging
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
from helpers import TINY_RUN, flagship_text, wait_stopped  # noqa: E402

from tmpsim.web.app import Settings, create_app  # noqa: E402
from tmpsim.web.controls import parse_upload  # noqa: E402
from tmpsim.web.jobs import LOCK_FILE, FolderInUseError, JobManager  # noqa: E402
from tmpsim.web.uploads import UPLOADS_DIR, UploadStore  # noqa: E402

IN_USE = "another tmpsim dashboard is serving this runs folder"


def serve_on(runs: Path) -> TestClient:
    """A test client of a new dashboard server on the runs folder ``runs``."""
    return TestClient(
        create_app(Settings(runs_dir=runs, max_scale=0.01)), base_url="http://127.0.0.1"
    )


def scenario_text(grace_days: int = 45) -> str:
    text = flagship_text()
    assert "grace_days: 30" in text
    return text.replace("grace_days: 30", f"grace_days: {grace_days}")


def upload(client: TestClient, name: str, text: str) -> dict:
    response = client.post("/api/uploads", files={"file": (name, text.encode(), "text/yaml")})
    assert response.status_code == 200, response.text
    return response.json()


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


# ---- uploaded scenarios across restarts -----------------------------------------------------


def test_an_upload_is_offered_again_by_a_restarted_server_and_runs(tmp_path: Path) -> None:
    text = scenario_text(45)
    with serve_on(tmp_path) as first:
        described = upload(first, "mine.yaml", text)
        key = described["key"]
        listed = first.get("/api/options").json()["uploads"]
        assert listed == [{"key": key, "label": "mine.yaml (uploaded)"}]
    # kept whole, as sent, in the runs folder; no temporary file left
    stored = sorted((tmp_path / UPLOADS_DIR).iterdir())
    assert [p.name for p in stored] == [f"{key.removeprefix('upload:')}.json"]
    record = json.loads(stored[0].read_text(encoding="utf-8"))
    assert record["name"] == "mine.yaml" and record["content"] == text

    with serve_on(tmp_path) as second:
        options = second.get("/api/options").json()
        assert options["uploads"] == [{"key": key, "label": "mine.yaml (uploaded)"}]
        again = second.get(f"/api/scenarios/{key}").json()
        assert again == described
        defaults = {p["name"]: p["default"] for p in again["parameters"]}
        assert defaults["programme.grace_days"] == 45
        started = second.post("/api/runs", json={**TINY_RUN, "scenario": key})
        assert started.status_code == 202, started.text
        status = wait_stopped(second.get, started.json()["id"])
        assert status["state"] == "done", status
        assert status["config"]["scenario"] == "mine.yaml (uploaded)"
        run_dir = tmp_path / status["id"]
        assert "grace_days: 45" in (run_dir / "scenario.yaml").read_text(encoding="utf-8")


def test_a_stored_upload_that_no_longer_passes_is_skipped_not_served(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with serve_on(tmp_path) as first:
        good = upload(first, "good.yaml", scenario_text(45))["key"]
        broken = upload(first, "broken.yaml", scenario_text(50))["key"]
        truncated = upload(first, "truncated.yaml", scenario_text(55))["key"]
        swapped = upload(first, "swapped.yaml", scenario_text(60))["key"]
    folder = tmp_path / UPLOADS_DIR

    def path(key: str) -> Path:
        return folder / f"{key.removeprefix('upload:')}.json"

    # edited into a scenario the schema refuses; cut short by a full disk; not a record at all
    record = json.loads(path(broken).read_text(encoding="utf-8"))
    record["content"] = record["content"].replace("grace_days: 50", "grace_dayz: 50")
    path(broken).write_text(json.dumps(record), encoding="utf-8")
    path(truncated).write_bytes(path(truncated).read_bytes()[:1000])
    path(swapped).write_text('["not", "an", "upload"]', encoding="utf-8")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    with caplog.at_level(logging.WARNING, logger="tmpsim.web"), serve_on(tmp_path) as second:
        assert second.get("/api/options").json()["uploads"] == [
            {"key": good, "label": "good.yaml (uploaded)"}
        ]
        for key in (broken, truncated, swapped):
            assert second.get(f"/api/scenarios/{key}").status_code == 404
            refused = second.post("/api/runs", json={**TINY_RUN, "scenario": key})
            assert refused.status_code == 422
            assert "no longer on the server" in refused.json()["error"]
    warned = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    for key, reason in (
        (broken, "grace_dayz"),
        (truncated, "damaged JSON"),
        (swapped, "not the dashboard's record"),
    ):
        assert f"{path(key).name} skipped, not offered" in warned
        assert reason in warned
    # left as they were, for the user to look at
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_kept_uploads_are_capped_oldest_forgotten_first(tmp_path: Path) -> None:
    store = UploadStore(tmp_path, max_kept=2)
    keys = []
    for grace in (40, 45, 50):
        name, data = parse_upload(f"g{grace}.yaml", scenario_text(grace).encode())
        keys.append(store.add(name, scenario_text(grace).encode(), data).key)
    assert [u["key"] for u in store.listing()] == keys[1:]
    assert sorted(p.stem for p in (tmp_path / UPLOADS_DIR).iterdir()) == sorted(
        k.removeprefix("upload:") for k in keys[1:]
    )
    # read back in upload order; a smaller cap at start deletes the oldest
    assert [u["key"] for u in UploadStore(tmp_path, max_kept=2).listing()] == keys[1:]
    assert [u["key"] for u in UploadStore(tmp_path, max_kept=1).listing()] == keys[2:]
    assert [p.stem for p in (tmp_path / UPLOADS_DIR).iterdir()] == [keys[2].removeprefix("upload:")]


def test_a_write_cut_short_leaves_no_upload_and_its_temporary_file_is_swept(
    tmp_path: Path,
) -> None:
    store = UploadStore(tmp_path)
    name, data = parse_upload("a.yaml", scenario_text().encode())
    key = store.add(name, scenario_text().encode(), data).key
    upload_id = key.removeprefix("upload:")
    partial = tmp_path / UPLOADS_DIR / f".{'f' * 32}.json.x1y2.tmp"
    partial.write_text('{"name": "half', encoding="utf-8")
    stray = tmp_path / UPLOADS_DIR / "notes.txt"
    stray.write_text("mine", encoding="utf-8")
    assert [u["key"] for u in UploadStore(tmp_path).listing()] == [key]
    assert sorted(p.name for p in (tmp_path / UPLOADS_DIR).iterdir()) == [
        f"{upload_id}.json",
        "notes.txt",
    ]


def test_a_link_in_place_of_the_uploads_folder_is_neither_read_nor_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    elsewhere = tmp_path / "elsewhere"
    UploadStore(elsewhere).add(*_checked("a.yaml"))  # a valid stored upload, outside
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / UPLOADS_DIR).symlink_to(elsewhere / UPLOADS_DIR)
    with caplog.at_level(logging.WARNING, logger="tmpsim.web"):
        store = UploadStore(runs)
        assert store.listing() == []
        base = store.add(*_checked("b.yaml"))
    assert store.get(base.key) is base  # served while this server runs
    assert len(list((elsewhere / UPLOADS_DIR).iterdir())) == 1  # nothing written through it
    assert "is not a folder" in caplog.text


def _checked(name: str) -> tuple[str, bytes, dict]:
    content = scenario_text().encode()
    checked, data = parse_upload(name, content)
    return checked, content, data


class FakeMsvcrt:
    """Windows' ``msvcrt.locking`` as far as the lock uses it: one handle holds byte 0 of a file."""

    LK_UNLCK, LK_NBLCK = 0, 2

    def __init__(self) -> None:
        self.holders: dict[int, int] = {}  # the file's inode: the descriptor holding its lock
        self.calls: list[tuple[str, int, int]] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        kind = {self.LK_UNLCK: "unlock", self.LK_NBLCK: "lock"}[mode]
        self.calls.append((kind, os.lseek(fd, 0, os.SEEK_CUR), nbytes))
        inode = os.fstat(fd).st_ino
        if kind == "unlock":
            assert self.holders.pop(inode) == fd  # only the holder unlocks
            return
        holder = self.holders.get(inode)
        if holder is not None and holder != fd and _open_on(holder, inode):
            raise OSError(13, "Permission denied")  # EACCES, as Windows answers
        self.holders[inode] = fd


def _open_on(fd: int, inode: int) -> bool:
    try:
        return os.fstat(fd).st_ino == inode
    except OSError:
        return False


def test_without_fcntl_the_folder_is_locked_the_windows_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl fails, as on Windows
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    with JobManager(tmp_path):
        with pytest.raises(FolderInUseError, match=IN_USE):
            JobManager(tmp_path)
    # Byte 0, one byte, each time; the first server unlocks as it stops (before closing).
    assert fake.calls == [("lock", 0, 1), ("lock", 0, 1), ("unlock", 0, 1)]
    assert fake.holders == {}
    with JobManager(tmp_path):  # the first let go: a new server starts
        pass
    assert [kind for kind, *_ in fake.calls[3:]] == ["lock", "unlock"]


def test_a_windows_lock_error_other_than_locked_is_not_taken_for_a_second_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tmpsim.web.jobs import RunsFolderError

    fake = FakeMsvcrt()

    def broken(fd: int, mode: int, nbytes: int) -> None:
        raise OSError(5, "Input/output error")

    fake.locking = broken  # type: ignore[method-assign]
    monkeypatch.setitem(sys.modules, "fcntl", None)
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    with pytest.raises(RunsFolderError, match="cannot open or lock"):
        JobManager(tmp_path)


def test_with_no_file_locks_the_server_starts_and_says_the_folder_is_unguarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "fcntl", None)
    monkeypatch.setitem(sys.modules, "msvcrt", None)
    with caplog.at_level(logging.WARNING), JobManager(tmp_path), JobManager(tmp_path):
        pass  # nothing refuses the second
    assert "not guarded against a second dashboard server" in caplog.text
