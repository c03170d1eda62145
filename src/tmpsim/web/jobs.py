"""Background runs for the dashboard: one process per run, progress through a small JSON file.

A run is started in its own process (``spawn``), so a long simulation never blocks the server and
can be stopped; the process's address space is capped (``RLIMIT_AS``), so a run that grows beyond
the server's memory budget fails alone instead of exhausting the machine. The server
writes the dashboard's record of the run (label, settings, notes) to ``ID.state/dashboard.json``;
the worker writes ``ID.state/progress.json`` as it goes, ``ID.state/error.json`` if it fails, and
the run folder ``ID/`` as a whole when it is done (staged and renamed into place, see
:mod:`tmpsim.runfolder`).

What stays in the runs folder: a finished run is its run folder with the record copied in
(``ID/dashboard.json``; its ``ID.state/`` is then removed); a failed run is its ``ID.state/``; a
stopped (cancelled) run leaves nothing, not even a half-written staged folder. A server started
on a runs folder takes back what an earlier one kept there (:meth:`JobManager.restore`): complete
run folders named by a run id as finished runs, and ``ID.state/`` folders without one as failed
runs (those whose server stopped while they ran are *interrupted*); nothing else is read or
touched. Run ids are random hex strings made here, or names of such folders checked against
:data:`RUN_ID`; only ids in the registry are ever turned into paths.

One server at a time: a :class:`JobManager` holds an exclusive advisory lock on the file
``.dashboard.lock`` in its runs folder (:class:`FolderLock`) from before it reads the folder until
:meth:`JobManager.close`, so a second server started on the same folder is refused
(:class:`FolderInUseError`) instead of pruning or settling the first one's runs. The kernel drops
the lock with the process that held it: a lock file left by a killed server blocks nothing.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing as mp
import os
import re
import shutil
import sys
import threading
import time
import traceback
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tmpsim.runfolder import (
    MANIFEST,
    LegacyRunFolderWarning,
    RunFolderError,
    check_run_folder,
    lock_file,
    release_lock,
    remove_dead_partials,
)

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
RECORD = "dashboard.json"  # the dashboard's record of a run: label, settings, notes, times
STATE_SUFFIX = ".state"
INTERRUPTED = (
    "the run was interrupted: the dashboard server stopped before it finished; run it again"
)
STAGED = re.compile(r"^\.(.+)\.partial-\d+-")  # a run folder being written (tmpsim.runfolder)
LOCK_FILE = ".dashboard.lock"  # held by the server serving the runs folder (see FolderLock)
log = logging.getLogger("tmpsim.web")


class CapacityError(RuntimeError):
    """Too many runs in progress."""


class RunsFolderError(RuntimeError):
    """The runs folder cannot be served; the message says why and names it."""


class FolderInUseError(RunsFolderError):
    """Another dashboard server holds the runs folder's lock."""


class FolderLock:
    """An exclusive advisory lock on ``FOLDER/.dashboard.lock``, held until :meth:`release`.

    ``flock`` locks belong to the open file: a second holder is refused even in the same process,
    and the lock ends when the file is closed or its process dies, so a lock file a killed server
    left blocks nothing (the file itself is kept: removing it could let two servers lock two
    different files of the same name). Run processes are spawned without this file (Python's file
    descriptors are not inherited), so a run outliving its server does not hold the lock. On
    Windows the lock is ``msvcrt``'s lock of the file's first byte, which ends the same ways
    (``tmpsim.runfolder.lock_file``); where neither exists the folder is not guarded and a
    warning says so.
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_FILE
        try:
            self._fd = lock_file(self.path)
        except BlockingIOError:  # another open file of it holds the lock
            raise FolderInUseError(
                f"{folder}: another tmpsim dashboard is serving this runs folder; stop it first, "
                "or choose another --runs-dir"
            ) from None
        except OSError as exc:  # a read-only folder, a link in its place, no locks on the disk
            raise RunsFolderError(
                f"{folder}: cannot open or lock the dashboard's lock file {LOCK_FILE} "
                f"({exc.strerror or exc}); choose a writable runs folder on a local disk"
            ) from None
        if self._fd is None:
            log.warning(
                "%s: this system has no file locks tmpsim can use (fcntl, msvcrt); the runs "
                "folder is not guarded against a second dashboard server",
                folder,
            )

    def release(self) -> None:
        """Drop the lock (closing the file drops it); a second call does nothing."""
        fd, self._fd = self._fd, None
        if fd is not None:
            release_lock(fd)


def _write_json(path: Path, obj: dict[str, Any]) -> None:
    from tmpsim.results import atomic_write_bytes

    atomic_write_bytes(path, json.dumps(obj, default=str).encode())


def limit_memory(max_bytes: int | None) -> None:
    """Cap this process's address space (Linux/Unix); allocations beyond it raise MemoryError."""
    if not max_bytes:
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = max_bytes if hard == resource.RLIM_INFINITY else min(max_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard if hard != resource.RLIM_INFINITY else cap))


def execute(
    run_dir: str,
    state_dir: str,
    scenario: dict[str, Any],
    seed: int,
    scale: float,
    max_memory: int | None = None,
) -> None:
    """Run one simulation in a worker process and write its run folder (no agents)."""
    out = Path(state_dir)
    try:
        limit_memory(max_memory)
        from tmpsim.results import build_result
        from tmpsim.scenario import load_scenario
        from tmpsim.simulation import Simulation

        sc = load_scenario(scenario)
        sim = Simulation(sc, seed=seed, scale=scale)
        _write_json(out / "progress.json", {"done": 0, "total": sim.n_days, "phase": "simulating"})

        def progress(done: int, total: int) -> None:
            state = {"done": done, "total": total, "phase": "simulating"}
            _write_json(out / "progress.json", state)

        sim.run(progress)
        _write_json(
            out / "progress.json",
            {"done": sim.n_days, "total": sim.n_days, "phase": "writing results"},
        )
        build_result(sim, with_agents=False).write(run_dir)
        _write_json(
            out / "progress.json", {"done": sim.n_days, "total": sim.n_days, "phase": "done"}
        )
    except BaseException as exc:  # report every failure to the page, then exit non-zero
        details = traceback.format_exc()
        try:  # the server logs the traceback when it sees the run has stopped
            error = public_error(exc, Path(run_dir).parent)
            _write_json(out / "error.json", {"error": error, "traceback": details})
        except OSError:  # the full disk that stopped the run: stderr is the server's too
            sys.stderr.write(f"tmpsim run {Path(run_dir).name} failed:\n{details}")
        raise SystemExit(1) from None


def public_error(exc: BaseException, runs_dir: Path | None = None) -> str:
    """What the page is told about a failed run: the reason, not the server's internals.

    An OSError (a full disk, a file-size limit) is told by its system message and, if the file
    is in ``runs_dir``, its name there; a path outside the runs folder is never shown.
    """
    if isinstance(exc, MemoryError):
        return "the run needed more memory than this server allows a run; try a smaller scale"
    from tmpsim.scenario import ScenarioError

    if isinstance(exc, ScenarioError | ValueError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno:
        where = _name_in(exc.filename2 or exc.filename, runs_dir)
        return f"the run failed: {os.strerror(exc.errno)}" + (f" ({where})" if where else "")
    return f"the run failed ({type(exc).__name__}); the server's log has the details"


def _name_in(filename: Any, runs_dir: Path | None) -> str | None:
    """``filename`` relative to ``runs_dir`` (a staged run folder named as its run), or None."""
    if filename is None or runs_dir is None:
        return None
    try:
        path = Path(os.path.abspath(os.fsdecode(filename)))
        parts = list(path.relative_to(os.path.abspath(runs_dir)).parts)
    except (TypeError, ValueError):  # not a path, or not inside the runs folder
        return None
    if not parts or ".." in parts:
        return None
    staged = STAGED.match(parts[0])
    if staged:
        parts[0] = staged.group(1)
    return "/".join(parts)


@dataclass
class Job:
    """One dashboard run."""

    id: str
    dir: Path  # the run folder, there once the run is done
    state_dir: Path  # progress.json and error.json while it runs
    label: str
    config: dict[str, Any]
    notes: list[str]
    created: float = field(default_factory=time.time)
    process: Any = None  # None for a run taken back from an earlier server
    finished: float | None = None
    cancelled: bool = False
    error: str | None = None  # why it failed, when no error.json says so (an interrupted run)

    def alive(self) -> bool:
        """Tell whether the run's process is starting or running."""
        return self.process is not None and self.process.is_alive()

    def record(self) -> dict[str, Any]:
        """The dashboard's record of the run, as kept beside or in its run folder."""
        return {
            "id": self.id,
            "label": self.label,
            "config": self.config,
            "notes": self.notes,
            "created": self.created,
            "finished": self.finished,
        }

    def status(self) -> dict[str, Any]:
        """Read state, progress and any error from the worker's files."""
        progress = _read_json(self.state_dir / "progress.json")
        done, total = int(progress.get("done", 0)), int(progress.get("total", 0))
        phase = progress.get("phase", "starting a worker process")
        if self.cancelled:
            state = "cancelled"
        elif self.alive():
            state = "running" if progress else "starting"
        elif (self.dir / MANIFEST).is_file():  # the run folder appears whole, only when done
            state, phase = "done", "done"
            # a finished run's state folder is gone: its days are in the manifest
            days = _number(_read_json(self.dir / MANIFEST).get("days"))
            done = total = int(days) if days else total
        else:
            state = "failed"
        out: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "config": self.config,
            "notes": self.notes,
            "state": state,
            "phase": phase,
            "done": done,
            "total": total,
            "fraction": round(done / total, 4) if total else 0.0,
            "elapsed": round((self.finished or time.time()) - self.created, 1),
        }
        if state == "failed":
            err = _read_json(self.state_dir / "error.json")
            code = None if self.process is None else self.process.exitcode
            out["error"] = (
                err.get("error") or self.error or f"the worker process stopped (exit code {code})"
            )
        if state == "done":
            out["summary"] = _read_json(self.dir / "summary.json")
        return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class JobManager:
    """Start, track, cap and clean up the dashboard's runs."""

    def __init__(
        self,
        runs_dir: Path,
        max_active: int = 2,
        max_kept: int = 40,
        max_memory: int | None = None,
    ) -> None:
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.max_active = max_active
        self.max_memory = max_memory
        self.max_kept = max_kept
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ctx = mp.get_context("spawn")
        # before anything is read: restore() settles and prunes, which must not touch the runs
        # of another server on the same folder
        self.folder_lock = FolderLock(self.runs_dir)
        try:
            self.restore()
        except BaseException:
            self.folder_lock.release()
            raise

    def __enter__(self) -> JobManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def full(self) -> bool:
        """Tell whether the cap on runs in progress is reached (cheap: checked first)."""
        return self.active() >= self.max_active

    def active(self) -> int:
        """Count the runs starting or running now."""
        return sum(1 for j in self._jobs.values() if j.alive())

    def submit(
        self,
        scenario: dict[str, Any],
        seed: int,
        scale: float,
        label: str,
        config: dict[str, Any],
        notes: list[str],
    ) -> Job:
        """Start a run in a new process; CapacityError when the cap on active runs is reached."""
        with self._lock:
            if self.active() >= self.max_active:
                raise CapacityError(
                    f"{self.max_active} run(s) already in progress (the limit); wait for one to "
                    "finish or stop it"
                )
            self._prune()
            run_id = uuid.uuid4().hex
            run_dir = self.runs_dir / run_id
            state_dir = self.runs_dir / f"{run_id}{STATE_SUFFIX}"
            state_dir.mkdir()
            job = Job(run_id, run_dir, state_dir, label, config, notes)
            # first, so that a later server knows the run even if this one dies while it runs
            _write_json(state_dir / RECORD, job.record())
            job.process = self._ctx.Process(
                target=execute,
                args=(str(run_dir), str(state_dir), scenario, seed, scale, self.max_memory),
                daemon=True,
                name=f"tmpsim-run-{run_id[:8]}",
            )
            job.process.start()
            self._jobs[run_id] = job
            return job

    def get(self, run_id: str) -> Job | None:
        """Return the job with this id if it is in the registry (any other string: None)."""
        if not isinstance(run_id, str) or not RUN_ID.match(run_id):
            return None
        job = self._jobs.get(run_id)
        if job is None:
            return None
        with self._lock:  # settled once, however many requests see the run stop
            stopped = job.finished is None and not job.alive()
            if stopped:
                job.finished = time.time()
        if stopped:
            _log_failure(job)
            _settle(job)
        return job

    def jobs(self) -> list[Job]:
        """Return every job, oldest first."""
        return sorted(self._jobs.values(), key=lambda j: j.created)

    def cancel(self, run_id: str) -> bool:
        """Stop a run in progress and remove every file of it; False if it was not running."""
        job = self.get(run_id)
        if job is None:
            return False
        with self._lock:  # marked first, so that no other request settles it as done or failed
            if job.finished is not None or not job.alive():
                return False
            job.cancelled = True
            job.finished = time.time()
        _stop(job)
        _discard(job)
        job.finished = time.time()
        return True

    def restore(self) -> None:
        """Take back the runs an earlier server left in the runs folder, then prune to the cap.

        Only entries named by a run id are looked at: a complete run folder ``ID/`` (checked
        against its manifest) is a finished run, with its label and settings from the
        dashboard's record or, without one, from the run folder's own files; an ``ID.state/``
        without one is a run that failed or was interrupted. A folder ``ID/`` that is not a
        complete run folder, symbolic links, staged folders and other files are left alone.
        """
        found = []
        for entry in sorted(self.runs_dir.iterdir()):
            run_id = entry.name.removesuffix(STATE_SUFFIX)
            if not RUN_ID.match(run_id) or run_id in self._jobs or run_id in found:
                continue
            if entry.is_dir() and not entry.is_symlink():
                found.append(run_id)
        for run_id in found:
            job = self._restored(run_id)
            if job is not None:
                self._jobs[run_id] = job
        with self._lock:
            self._prune(room=0)

    def _restored(self, run_id: str) -> Job | None:
        """The job of a run an earlier server left, or None if its files are not a run's."""
        run_dir = self.runs_dir / run_id
        state_dir = self.runs_dir / f"{run_id}{STATE_SUFFIX}"
        own_state = state_dir.is_dir() and not state_dir.is_symlink()
        if run_dir.exists() or run_dir.is_symlink():
            info = _complete_run(run_dir)
            if info is None:
                log.warning("%s: not a complete run folder; the dashboard leaves it alone", run_dir)
                return None
            kept = _read_json(run_dir / RECORD)
            record = kept or (_read_json(state_dir / RECORD) if own_state else {})
            job = _job_of(run_id, run_dir, state_dir, record, info)
            # the record moves into the run folder as when this server sees a run finish; one
            # made up from the run folder's files is not written (it is made again each time)
            _settle(job, keep_record=not kept and not job.config.get("recovered"))
            return job
        if not own_state:
            return None
        record = _read_json(state_dir / RECORD)
        job = _job_of(run_id, run_dir, state_dir, record, {})
        job.error = INTERRUPTED  # unless its error.json says why it failed
        remove_dead_partials(run_dir)  # the staged folder of a worker that was killed
        return job

    def _prune(self, room: int = 1) -> None:
        """Delete the oldest stopped runs until ``room`` more fit under the cap on kept runs."""
        finished = [j for j in self.jobs() if not j.alive()]
        while len(self._jobs) > self.max_kept - room and finished:
            old = finished.pop(0)
            self._jobs.pop(old.id, None)
            shutil.rmtree(old.dir, ignore_errors=True)
            shutil.rmtree(old.state_dir, ignore_errors=True)

    def shutdown(self) -> None:
        """Stop every run still going: the server is stopping.

        Their state folders and records stay, so a later server shows them as interrupted.
        """
        for job in list(self._jobs.values()):
            if job.alive():
                _stop(job)

    def close(self) -> None:
        """Stop every run still going, then let another server have the runs folder."""
        try:
            self.shutdown()
        finally:
            self.folder_lock.release()


def _job_of(
    run_id: str, run_dir: Path, state_dir: Path, record: dict[str, Any], info: dict[str, Any]
) -> Job:
    """A job for a run of an earlier server, from its record or, failing that, its manifest."""
    label, config, notes = record.get("label"), record.get("config"), record.get("notes")
    known = (
        isinstance(label, str)
        and isinstance(config, dict)
        and isinstance(notes, list)
        and all(isinstance(n, str) for n in notes)
    )
    if not known:
        label, config, notes = _recovered(run_id, run_dir, info)
    stamp = _mtime(run_dir / MANIFEST) or _mtime(state_dir) or time.time()
    created = _number(record.get("created")) if known else None
    finished = _number(record.get("finished")) if known else None
    if created is None:  # the run's start: its folder's time less the simulation's
        created = stamp - (_number(info.get("wall_seconds")) or 0.0)
    return Job(
        run_id,
        run_dir,
        state_dir,
        label,
        config,
        notes,
        created=created,
        finished=finished or max(stamp, created),
    )


def _recovered(
    run_id: str, run_dir: Path, info: dict[str, Any]
) -> tuple[str, dict[str, Any], list[str]]:
    """Label, settings and notes of a run without the dashboard's record, from its own files.

    run.json has the scenario's name, seed, scale and window, scenario.yaml its host and
    currency; which levers and parameters were changed is not recorded there (the resolved
    scenario has their values).
    """
    if not info:  # a state folder without a record: nothing but the id is known
        return f"run {run_id[:8]}", {}, []
    scenario: dict[str, Any] = {}
    try:
        loaded = yaml.safe_load((run_dir / "scenario.yaml").read_text(encoding="utf-8"))
        scenario = loaded if isinstance(loaded, dict) else {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        pass
    name = str(info.get("scenario") or scenario.get("name") or "scenario")
    seed, scale = info.get("seed"), _number(info.get("scale"))
    config = {
        "scenario": name,
        "seed": seed,
        "scale": scale,
        "currency": scenario.get("currency"),
        "host": scenario.get("host"),
        "start": str(info.get("start") or scenario.get("start") or ""),
        "end": str(info.get("end") or scenario.get("end") or ""),
        "parameters": {},
        "levers": {},
        "recovered": True,
    }
    label = f"{name}, seed {seed}, scale {scale:g}" if scale is not None else name
    notes = [
        "found in the runs folder without the dashboard's record: its name and settings are read "
        "from the run folder (run.json, scenario.yaml), which does not say which levers and "
        "parameters were changed; its scenario.yaml has their values"
    ]
    return label[:120], config, notes


def _complete_run(run_dir: Path) -> dict[str, Any] | None:
    """run.json of a complete run folder, else None.

    Every file run.json lists must be there with its size, and no other run's file, and no entry
    of the folder may be a symbolic link; digests are
    not checked, so that a restart does not read every kept run whole (a reader of the files,
    ``tmpsim report`` say, still checks them).
    """
    if run_dir.is_symlink() or not run_dir.is_dir():
        return None
    try:
        # Files are served from the folder by name: a link in it would serve a file elsewhere
        # (a report.html pointing at the user's keys), which no run of tmpsim writes.
        if any(entry.is_symlink() for entry in run_dir.iterdir()):
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LegacyRunFolderWarning)
            return check_run_folder(run_dir, digests=False)
    except (RunFolderError, OSError):
        return None


def _number(value: Any) -> float | None:
    """A finite number from a JSON value, else None (true is not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _settle(job: Job, keep_record: bool = True) -> None:
    """Tidy a run that stopped: a finished one keeps its record in its run folder, no state.

    A failed run keeps its state folder (error.json says why, after a restart too) and loses
    any staged folder its worker left. ``keep_record``: write the record into the run folder.
    """
    if job.cancelled:
        return
    if job.process is not None:  # its worker is gone: a staged folder it left is dead
        remove_dead_partials(job.dir)
    if not (job.dir / MANIFEST).is_file():
        if job.process is not None and not (job.state_dir / "error.json").is_file():
            # a worker killed without a word (the kernel's OOM killer): a restart says the same
            reason = f"the worker process stopped (exit code {job.process.exitcode})"
            try:
                _write_json(job.state_dir / "error.json", {"error": reason})
            except OSError:
                pass
        return
    try:
        if keep_record:
            _write_json(job.dir / RECORD, job.record())
    except OSError as exc:  # a full disk: the state folder still holds the record
        log.warning("run %s: could not keep the dashboard's record in its folder: %s", job.id, exc)
        return
    if not job.state_dir.is_symlink():
        shutil.rmtree(job.state_dir, ignore_errors=True)


def _discard(job: Job) -> None:
    """Remove every file of a stopped run: its state, a staged folder, a run folder."""
    shutil.rmtree(job.state_dir, ignore_errors=True)
    remove_dead_partials(job.dir)
    # the worker may have put its run folder in place just before it was stopped
    shutil.rmtree(job.dir, ignore_errors=True)


def _stop(job: Job) -> None:
    """End a run's process (killed if it does not stop), then drop what it was writing."""
    job.process.terminate()
    job.process.join(5)
    if job.process.is_alive():
        job.process.kill()
        job.process.join(1)
    if not job.process.is_alive():
        remove_dead_partials(job.dir)  # terminated while it wrote its run folder


def _log_failure(job: Job) -> None:
    """Put a failed run's reason and traceback in the server's log (the page points there)."""
    err = _read_json(job.state_dir / "error.json")
    code = job.process.exitcode if job.process is not None else None
    if err:
        log.error(
            "run %s failed: %s\n%s", job.id, err.get("error"), err.get("traceback", "").rstrip()
        )
    elif code and not job.cancelled:
        log.error("run %s: the worker process stopped (exit code %s)", job.id, code)
