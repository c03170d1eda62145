"""Start-up: the command line imports only what ``tmpsim run`` needs; other commands on use."""

from __future__ import annotations

import subprocess
import sys

import typer

from tmpsim.cli import LAZY_COMMANDS, _lazy_commands, app


def test_lazy_commands_are_the_ones_their_modules_add() -> None:
    by_module: dict[str, set[str]] = {}
    for name, module in LAZY_COMMANDS.items():
        by_module.setdefault(module, set()).add(name)
    for module, names in by_module.items():
        assert set(_lazy_commands(module)) == names, module


def test_every_command_is_listed_and_found() -> None:
    group = typer.main.get_command(app)
    ctx = group.make_context("tmpsim", ["--help"], resilient_parsing=True)
    names = group.list_commands(ctx)
    assert names[:4] == ["run", "scenarios", "show", "plot"]
    assert names[4:] == list(LAZY_COMMANDS)
    for name in names:
        assert group.get_command(ctx, name) is not None, name


def test_importing_the_command_line_leaves_pandas_and_friends_out() -> None:
    code = (
        "import sys, tmpsim.cli; "
        "print(' '.join(m for m in ('pandas', 'dask', 'fastapi', 'plotly', 'optuna', "
        "'matplotlib', 'duckdb') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_numba_starts_without_scipy_linalg_which_still_imports_later() -> None:
    code = (
        "import sys, numpy as np, tmpsim.cli\n"
        "from tmpsim.engine.queues import FifoQueue\n"
        "q = FifoQueue()\n"
        "q.push(np.array([3, 4]))\n"
        "assert q.take(1, np.ones(8, dtype=bool)).tolist() == [3]\n"
        "print('scipy.linalg' in sys.modules)\n"
        "import scipy.linalg\n"
        "print(scipy.linalg.norm([3.0, 4.0]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "5.0"]
