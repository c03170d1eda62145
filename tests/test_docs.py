"""The documentation: the site builds strictly and offline, the CLI reference is current, and the
tutorial notebook runs end to end."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def test_site_has_every_page(site: Path) -> None:
    for page in ["index", "tutorial", "cli", "ODD", "scenario-format", "outputs", "glossary"]:
        assert (site / f"{page}.html").is_file(), page
    for page in ["validation", "analyses", "experiments", "calibration", "performance"]:
        assert (site / f"{page}.html").is_file(), page
    home = (site / "index.html").read_text("utf-8")
    assert "Quick start" in home
    assert 'href="ODD.html"' in home  # README's docs/ODD.md, relative to the site
    assert (site / "repository" / "LICENSE").is_file()  # README's link to a repository file
    assert (site / "tutorial.ipynb").is_file()
    tutorial = (site / "tutorial.html").read_text("utf-8")
    assert "Your first policy question" in tutorial and "compare(" in tutorial


def test_site_loads_nothing_from_the_network(site: Path) -> None:
    external = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*(?:src|href)=["']?(?:https?:)?//""")
    for page in site.rglob("*.html"):
        text = page.read_text("utf-8")
        for tag in re.findall(r"<link\b[^>]*>", text):
            if "stylesheet" not in tag and "icon" not in tag:
                text = text.replace(tag, "")  # canonical links are not fetched
        assert not external.search(text), f"{page.name}: {external.search(text).group(0)}"
    for css in site.rglob("*.css"):
        assert "@import url(http" not in css.read_text("utf-8", errors="replace"), css.name


def test_cli_reference_is_up_to_date() -> None:
    reference = runpy.run_path(str(ROOT / "scripts" / "cli_reference.py"))
    current = (ROOT / "docs" / "cli.md").read_text("utf-8")
    assert reference["render"]() == current, (
        "docs/cli.md is out of date: run .venv/bin/python scripts/cli_reference.py"
    )


def test_cli_reference_lists_every_command() -> None:
    from tmpsim.cli import LAZY_COMMANDS, app

    text = (ROOT / "docs" / "cli.md").read_text("utf-8")
    names = [c.name or c.callback.__name__ for c in app.registered_commands] + list(LAZY_COMMANDS)
    for name in names:
        assert f"## `tmpsim {name}`" in text, name
    assert "## `tmpsim experiment run`" in text
    assert "`--seed`" in text and "`--scale`" in text


@pytest.mark.slow
def test_tutorial_runs_end_to_end(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(ROOT / "docs" / "tutorial.ipynb", as_version=4)
    assert not any(c.get("outputs") for c in notebook.cells), "commit the notebook without outputs"
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError, with the cell, if any cell fails
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) == 3
    assert list(tmp_path.iterdir()) == []  # the tutorial writes nothing
