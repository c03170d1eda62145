"""Fixtures for tests that drive Debian's Chromium with Playwright (never a downloaded browser)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def playwright_instance():
    if not CHROMIUM.is_file():
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium): no browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture
def browser_context(playwright_instance, tmp_path: Path):
    """A fresh Chromium profile that records every request leaving the machine and blocks it."""
    context = playwright_instance.chromium.launch_persistent_context(
        user_data_dir=str(tmp_path / "chromium-profile"),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        headless=True,
        accept_downloads=True,
        viewport={"width": 1400, "height": 1000},
    )
    context.external_requests = []  # type: ignore[attr-defined]

    def guard(route) -> None:
        url = route.request.url
        if url.startswith(("file://", "http://127.0.0.1", "data:", "blob:", "about:")):
            route.continue_()
        else:
            context.external_requests.append(url)  # type: ignore[attr-defined]
            route.abort()

    context.route("**/*", guard)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context):
    """A page whose JavaScript errors fail the test."""
    page = browser_context.pages[0] if browser_context.pages else browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Folder for the screenshots of the main views (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_dashboard(runs_dir: Path) -> Iterator[str]:
    """A real dashboard server (uvicorn, in a thread) on a free loopback port; stopped after."""
    pytest.importorskip("fastapi")
    uvicorn = pytest.importorskip("uvicorn")
    from tmpsim.web.app import Settings, create_app

    settings = Settings(runs_dir=runs_dir, max_scale=0.01, max_active_runs=2)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="dashboard-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the dashboard server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dashboard server shared by a module's tests."""
    with serve_dashboard(tmp_path_factory.mktemp("dashboard-runs")) as url:
        yield url


@pytest.fixture
def dashboard_on():
    """Start dashboard servers on a given runs folder: ``with dashboard_on(folder) as url``."""
    return serve_dashboard
