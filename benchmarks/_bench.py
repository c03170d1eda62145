"""Shared helpers of the benchmark scripts: fresh-subprocess runs, the machine, tables.

Every measured run happens in a new interpreter so that imports, caches and memory start from
nothing. Peak resident memory is the child's own ``ru_maxrss`` (from ``os.wait4``, so it is that
child's alone, not the maximum over every child the benchmark started).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHILD = HERE / "_child.py"
FLAGSHIP = "japan-titp-covid"
# The reference loop every speed figure is divided by (machines differ by 2x or more): a naive
# whole-array NumPy lifecycle, ``numpy_life.py 400000 365``. Set TMPSIM_REFERENCE_LOOP to its path
# if it is not beside the repository (``../shared/bench/numpy_life.py``).
REFERENCE = Path(
    os.environ.get("TMPSIM_REFERENCE_LOOP", ROOT.parent / "shared" / "bench" / "numpy_life.py")
)
REFERENCE_ARGS = ("400000", "365")


@dataclass
class ChildRun:
    """What one fresh-subprocess run measured."""

    wall: float  # the whole command, spawn to exit, seconds
    user: float  # CPU seconds in user mode
    system: float  # CPU seconds in the kernel
    max_rss_mib: float  # peak resident memory of the child
    report: dict[str, Any] = field(default_factory=dict)  # the child's JSON (tmpsim runs)

    @property
    def cpu(self) -> float:
        """CPU seconds (user + system)."""
        return self.user + self.system


def _spawn(
    cmd: list[str],
    timeout: float | None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> ChildRun:
    """Run ``cmd``, wait for it with ``wait4`` and return its wall time, CPU time and peak RSS."""
    full_env = {**os.environ, **env} if env else None
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, env=full_env)
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}\n{stderr[-4000:]}")
    # Linux reports ru_maxrss in KiB.
    run = ChildRun(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024)
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if lines:
        run.report = json.loads(lines[-1])
    return run


def run_tmpsim(
    scale: float,
    seed: int = 1,
    scenario: str = FLAGSHIP,
    output: str = "write",
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> ChildRun:
    """One tmpsim run in a fresh interpreter with phase timings (see ``_child.py``)."""
    cmd = [
        sys.executable,
        str(CHILD),
        "--scenario",
        scenario,
        "--scale",
        repr(scale),
        "--seed",
        str(seed),
        "--output",
        output,
    ]
    t_spawn = time.time()
    run = _spawn(cmd, timeout, env=env)
    run.report["interpreter_seconds"] = max(run.report.get("wall_start", t_spawn) - t_spawn, 0.0)
    return run


def run_cli(
    scale: float, seed: int = 1, scenario: str = FLAGSHIP, timeout: float | None = None
) -> ChildRun:
    """The user's command, ``tmpsim run SCENARIO --quiet`` writing a run folder, timed whole."""
    exe = Path(sys.executable).with_name("tmpsim")
    with tempfile.TemporaryDirectory(prefix="tmpsim-bench-cli-") as tmp:
        cmd = [
            str(exe),
            "run",
            scenario,
            "--scale",
            repr(scale),
            "--seed",
            str(seed),
            "--quiet",
            "--out",
            str(Path(tmp) / "run"),
        ]
        return _spawn(cmd, timeout, cwd=Path(tmp))


def reference_seconds() -> float:
    """Seconds of the reference loop, as it reports them, in a fresh interpreter."""
    if not REFERENCE.is_file():
        raise FileNotFoundError(
            f"reference loop not found at {REFERENCE}; set TMPSIM_REFERENCE_LOOP to numpy_life.py"
        )
    out = subprocess.run(
        [sys.executable, str(REFERENCE), *REFERENCE_ARGS],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for word in out.split():
        if word.startswith("time="):
            return float(word[len("time=") : -1])
    raise ValueError(f"no time= in the reference loop's output: {out!r}")


def startup_seconds(run: ChildRun) -> float:
    """Interpreter start, imports, scenario load and population build."""
    r = run.report
    p = r["phases"]
    return r.get("interpreter_seconds", 0.0) + p["imports"] + p["load"] + p["build"]


def agent_days_per_second(run: ChildRun) -> float:
    """Agent-days simulated per second of the simulation phase."""
    return run.report["agent_days"] / max(run.report["phases"]["simulate"], 1e-12)


# ---- the machine ----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    info: dict[str, str] = {}
    info["cores (nproc)"] = str(len(os.sched_getaffinity(0)))
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["CPU"] = cpu
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["RAM"] = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        info["RAM"] = "unknown"
    info["OS"] = f"{platform.system()} {platform.release()}"
    info["Python"] = platform.python_version()
    for mod in ("numpy", "mesa"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = "not installed"
    try:
        info["load average (1, 5, 15 min)"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        pass
    info["date"] = time.strftime("%Y-%m-%d %H:%M %Z")
    return info


def machine_table(info: dict[str, str] | None = None) -> str:
    """The machine as a two-column Markdown table."""
    info = info or machine()
    return table(["", "value"], [[k, v] for k, v in info.items()])


# ---- tables ---------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table, padded to line up in a terminal too; numeric columns right-aligned."""
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    numeric = [
        i > 0
        and 2 * sum(isinstance(row[i], int | float) or _fmt(row[i])[:1].isdigit() for row in rows)
        >= len(rows)
        for i in range(len(header))
    ]

    def line(row: list[str]) -> str:
        padded = (
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(row, widths, numeric, strict=True)
        )
        return "| " + " | ".join(padded) + " |"

    sep = "|" + "|".join(
        "-" * (w + 1) + ":" if num else ":" + "-" * (w + 1)
        for w, num in zip(widths, numeric, strict=True)
    )
    return "\n".join([line(cells[0]), sep + "|", *(line(r) for r in cells[1:])])


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        if x != x:  # NaN
            return "–"
        if abs(x) >= 1e6:
            return f"{x:,.0f}"
        if abs(x) >= 100:
            return f"{x:,.0f}"
        if abs(x) >= 10:
            return f"{x:.1f}"
        return f"{x:.2f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def si(x: float) -> str:
    """A large rate in a short form: 1.2 M, 340 k."""
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"{x / div:.3g} {unit}"
    return f"{x:.3g}"
