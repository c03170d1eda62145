"""Background runs for the dashboard: one process per run, progress through a small JSON file.

A run is started in its own process (``spawn``), so a long simulation never blocks the server and
can be stopped; the process's address space is capped (``RLIMIT_AS``), so a run that grows beyond
the server's memory budget fails alone instead of exhausting the machine. The worker writes
``ID.state/progress.json`` as it goes, ``ID.state/error.json`` if it fails, and the run folder
``ID/`` as a whole when it is done (staged and renamed into place, see :mod:`tmpsim.runfolder`).
A run that stops before writing anything (stopped before it started, say) leaves no ``ID.state/``.
Run ids are random hex strings made here; only ids in the registry are ever turned into paths.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import re
import shutil
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
STAGED = re.compile(r"^\.(.+)\.partial-\d+-")  # a run folder being written (tmpsim.runfolder)
log = logging.getLogger("tmpsim.web")


class CapacityError(RuntimeError):
    """Too many runs in progress."""


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
    process: Any = None
    finished: float | None = None
    cancelled: bool = False

    def status(self) -> dict[str, Any]:
        """Read state, progress and any error from the worker's files."""
        progress = _read_json(self.state_dir / "progress.json")
        done, total = int(progress.get("done", 0)), int(progress.get("total", 0))
        alive = self.process is not None and self.process.is_alive()
        if self.cancelled:
            state = "cancelled"
        elif alive:
            state = "running" if progress else "starting"
        elif (self.dir / "run.json").is_file() and progress.get("phase") == "done":
            state = "done"
        else:
            state = "failed"
        out: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "config": self.config,
            "notes": self.notes,
            "state": state,
            "phase": progress.get("phase", "starting a worker process"),
            "done": done,
            "total": total,
            "fraction": round(done / total, 4) if total else 0.0,
            "elapsed": round((self.finished or time.time()) - self.created, 1),
        }
        if state == "failed":
            err = _read_json(self.state_dir / "error.json")
            code = None if self.process is None else self.process.exitcode
            out["error"] = err.get("error") or f"the worker process stopped (exit code {code})"
        if state == "done":
            out["summary"] = _read_json(self.dir / "summary.json")
        return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


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

    def full(self) -> bool:
        """Tell whether the cap on runs in progress is reached (cheap: checked first)."""
        return self.active() >= self.max_active

    def active(self) -> int:
        """Count the runs starting or running now."""
        return sum(1 for j in self._jobs.values() if j.process is not None and j.process.is_alive())

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
            state_dir = self.runs_dir / f"{run_id}.state"
            state_dir.mkdir()
            job = Job(run_id, run_dir, state_dir, label, config, notes)
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
        """Return the job with this id if this server created it (any other string: None)."""
        if not isinstance(run_id, str) or not RUN_ID.match(run_id):
            return None
        job = self._jobs.get(run_id)
        if job is not None and job.finished is None and not job.process.is_alive():
            job.finished = time.time()
            _log_failure(job)
            _remove_if_empty(job.state_dir)
        return job

    def jobs(self) -> list[Job]:
        """Return every job, oldest first."""
        return sorted(self._jobs.values(), key=lambda j: j.created)

    def cancel(self, run_id: str) -> bool:
        """Stop a run in progress; False if it was not running."""
        job = self.get(run_id)
        if job is None or not job.process.is_alive():
            return False
        job.cancelled = True
        _stop(job)
        job.finished = time.time()
        return True

    def _prune(self) -> None:
        finished = [j for j in self.jobs() if not j.process.is_alive()]
        while len(self._jobs) >= self.max_kept and finished:
            old = finished.pop(0)
            self._jobs.pop(old.id, None)
            shutil.rmtree(old.dir, ignore_errors=True)
            shutil.rmtree(old.state_dir, ignore_errors=True)

    def shutdown(self) -> None:
        """Stop every run still going (the server is stopping)."""
        for job in list(self._jobs.values()):
            if job.process is not None and job.process.is_alive():
                _stop(job)


def _stop(job: Job) -> None:
    """End a run's process (killed if it does not stop), then drop its state folder if empty."""
    job.process.terminate()
    job.process.join(5)
    if job.process.is_alive():
        job.process.kill()
        job.process.join(1)
    if not job.process.is_alive():
        _remove_if_empty(job.state_dir)


def _log_failure(job: Job) -> None:
    """Put a failed run's reason and traceback in the server's log (the page points there)."""
    err = _read_json(job.state_dir / "error.json")
    code = job.process.exitcode
    if err:
        log.error(
            "run %s failed: %s\n%s", job.id, err.get("error"), err.get("traceback", "").rstrip()
        )
    elif code and not job.cancelled:
        log.error("run %s: the worker process stopped (exit code %s)", job.id, code)


def _remove_if_empty(path: Path) -> None:
    """Remove a folder that holds nothing (a run stopped before it wrote its progress)."""
    try:
        path.rmdir()  # only ever removes an empty folder
    except OSError:
        pass
