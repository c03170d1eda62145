"""Installing and starting tmpsim: setup script, constraints, version, extras, first compilation."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import tmpsim_cli, tmpsim_inprocess

import tmpsim
from tmpsim.extras import MissingExtra, require

ROOT = Path(__file__).resolve().parents[1]


# ---- scripts/setup: pip runs only when something changed ----------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of scripts/setup beside a pyproject.toml, a constraints file and a fake .venv whose
    python only logs how it was called (so no package is installed)."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup", repo / "scripts" / "setup")
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (repo / "constraints.txt").write_text("a==1\n")
    python = repo / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/../../pip.log"\n')
    python.chmod(0o755)
    return repo


def python_calls(repo: Path) -> list[str]:
    """Every call of the fake .venv python so far, in order."""
    log = repo / "pip.log"
    return log.read_text().splitlines() if log.is_file() else []


def setup(repo: Path, *extras: str) -> tuple[str, list[str]]:
    """Run scripts/setup; its stderr and the pip calls made so far."""
    proc = subprocess.run(
        ["bash", "scripts/setup", *extras], cwd=repo, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr, [c for c in python_calls(repo) if c.startswith("-m pip")]


def test_setup_compiles_the_bytecode_once_and_tmpsim_each_time(repo: Path) -> None:
    """Installing compiles the installed packages (pip runs with --no-compile) and tmpsim's
    sources; an up-to-date .venv only compiles tmpsim's sources again (changed files)."""
    setup(repo)
    calls = python_calls(repo)
    compiled = [c for c in calls if c.startswith("-m compileall")]
    assert calls[0].startswith("-m pip install") and "--no-compile" in calls[0]
    assert len(compiled) == 2 and compiled[-1].endswith(" src")  # the packages, then tmpsim
    setup(repo)
    again = python_calls(repo)[len(calls) :]
    assert again == ["-m compileall -qq -j 0 src"]


def test_setup_installs_once_then_skips_pip(repo: Path) -> None:
    said, calls = setup(repo)
    assert len(calls) == 1
    assert "-m pip install" in calls[0] and "-c constraints.txt" in calls[0]
    assert calls[0].endswith("-e .")
    assert "setup: installing tmpsim and its dependencies" in said
    said, calls = setup(repo)
    assert len(calls) == 1, "a second call must not run pip"
    assert "setup: .venv is up to date" in said


def test_setup_adds_extras_and_keeps_them(repo: Path) -> None:
    setup(repo)
    said, calls = setup(repo, "test")
    assert len(calls) == 2 and calls[1].endswith("-e .[test]")
    assert "adding the extras test" in said
    _, calls = setup(repo)  # the base is part of what is installed
    assert len(calls) == 2
    _, calls = setup(repo, "web")
    assert calls[-1].endswith("-e .[test,web]")


def test_setup_reinstalls_when_the_pins_change(repo: Path) -> None:
    setup(repo, "test")
    (repo / "constraints.txt").write_text("a==2\n")
    said, calls = setup(repo)
    assert len(calls) == 2 and calls[1].endswith("-e .[test]")  # extras installed before stay
    assert "constraints.txt changed" in said
    (repo / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    _, calls = setup(repo)
    assert len(calls) == 3


def test_setup_refuses_an_old_python(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup", repo / "scripts" / "setup")
    old = tmp_path / "python3.8"
    old.write_text("#!/bin/sh\nexit 1\n")  # fails the version check like an old interpreter
    old.chmod(0o755)
    proc = subprocess.run(
        ["bash", "scripts/setup"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHON": str(old)},
        timeout=60,
    )
    assert proc.returncode == 2
    assert "needs Python 3.11 or newer" in proc.stderr
    assert not (repo / ".venv").exists()


# ---- constraints.txt --------------------------------------------------------------------------


def test_constraints_pin_this_environment() -> None:
    """Every installed package of tmpsim's dependency tree is pinned at its installed version."""
    pytest.importorskip("packaging")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lock.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_lock_reports_a_wrong_pin() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        lock = importlib.import_module("lock")
    finally:
        sys.path.pop(0)
    found = lock.problems("numpy==0.0.1\n", {"numpy": "2.0.0"}, {"ruff", "build"})
    assert found == [
        "numpy: installed 2.0.0, pinned 0.0.1",
        "build: required, neither installed nor pinned",
        "ruff: required, neither installed nor pinned",
    ]
    assert lock.problems("numpy==2.0.0\nruff==1\nbuild==1\n", {"numpy": "2.0.0"}, {"ruff"}) == []


# ---- version, extras, compilation -------------------------------------------------------------


def test_version_flag() -> None:
    proc = tmpsim_cli("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"tmpsim {tmpsim.__version__}"


def test_version_is_declared_once() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text
    assert 'version = { attr = "tmpsim.__version__" }' in text


def test_require_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n.startswith("SALib.")]:
        monkeypatch.delitem(sys.modules, name)  # imported by earlier tests
    monkeypatch.setitem(sys.modules, "SALib", None)  # as if not installed
    with pytest.raises(MissingExtra, match=r"the sobol design needs SALib.*tmpsim\[experiments\]"):
        require("SALib.sample.sobol", "the sobol design")
    assert require("json", "anything").dumps(1) == "1"


def test_a_missing_extra_is_a_clear_cli_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n.startswith("duckdb.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "duckdb", None)
    code, _, err = tmpsim_inprocess("run", "japan-titp-covid", "--seeds", "2", "--scale", "0.001")
    assert code == 2
    assert "an ensemble (--seeds) needs duckdb" in err
    assert "pip install 'tmpsim[experiments]'" in err


def test_first_compilation_is_announced_once() -> None:
    numba = pytest.importorskip("numba")
    from tmpsim.startup import announce_compilation

    said: list[str] = []
    announce_compilation(said.append)

    def double(x):
        return 2 * x

    def triple(x):
        return 3 * x

    double.__module__ = triple.__module__ = "tmpsim.model.compile_probe"
    assert numba.njit(double)(2) == 4
    assert numba.njit(triple)(2) == 6
    assert len(said) == 1 and "compiling the model's kernels" in said[0]


def test_compilation_of_other_code_is_not_announced() -> None:
    numba = pytest.importorskip("numba")
    from tmpsim.startup import announce_compilation

    said: list[str] = []
    announce_compilation(said.append)
    assert numba.njit(lambda x: x + 1)(1) == 2
    assert said == []


# ---- small frictions --------------------------------------------------------------------------


def test_levers_show_a_floor_as_a_floor() -> None:
    code, out, _ = tmpsim_inprocess("levers")
    assert code == 0
    row = next(line for line in out.splitlines() if "proactive_supervision" in line)
    assert "scenario's own (floor)" in row
    assert "0.0" not in row


def test_a_floor_below_the_scenarios_value_changes_nothing() -> None:
    """What `levers` says of proactive_supervision: it only ever raises the scenario's floor."""
    from tmpsim.policy import LEVERS, apply_levers
    from tmpsim.scenario import load_scenario

    assert LEVERS["proactive_supervision"].floor
    assert [n for n, lv in LEVERS.items() if lv.floor] == ["proactive_supervision"]
    base = load_scenario("japan-titp-covid", {"supervision.proactivity_floor": 0.5})
    below = apply_levers(base, {"proactive_supervision": 0.3})
    same = {"name", "description"}  # they record the lever
    assert below.model_dump(exclude=same) == base.model_dump(exclude=same)
    above = apply_levers(base, {"proactive_supervision": 0.7})
    assert above.supervision.proactivity_floor == 0.7


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
def test_default_output_folders_are_ignored_by_git() -> None:
    paths = ["experiments/sweep/x", "calibration/x", "runs/x", "site/index.html"]
    kept = ["src/tmpsim/experiments/cli.py", "docs/calibration/best.yaml"]
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths, *kept],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert sorted(proc.stdout.split()) == sorted(paths)


def test_readme_lists_every_document() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    listed = readme[readme.index("## Documentation") :]
    documents = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "docs" / "tutorial.ipynb"]
    for doc in documents:
        assert f"](docs/{doc.name})" in listed, f"README's Documentation does not list {doc.name}"


def test_readme_snippets_read_the_folder_the_quick_start_writes() -> None:
    """The Reading outputs snippets open the folder `./scripts/run` writes, not another one."""
    script = (ROOT / "scripts" / "run").read_text("utf-8")
    quick_start_folder = re.search(r"out=\$\{OUT:-([^}]+)\}", script).group(1)
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index("## Reading outputs") : readme.index("## Scenarios")]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    folders = {m for b in blocks for m in re.findall(r"""["'](runs/[^"'/{]+)""", b)}
    assert folders == {quick_start_folder}
    said = f"`./scripts/run` (the flagship at full\nscale, seed 1, `{quick_start_folder}`)"
    assert said in readme
