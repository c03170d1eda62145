"""The dashboard under abuse, on a real ``tmpsim serve`` process listening on 127.0.0.1.

Each limit is tried the way an attacker or a careless page would: a foreign Host header, a run
larger than the server allows, requests while the cap on runs is reached, impossible dates and
numbers, uploads that are slow to parse, and a run process's memory.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import yaml

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from helpers import TINY_RUN, flagship_text, wait_stopped  # noqa: E402

TINY = TINY_RUN
RUN_MEMORY_GIB = 3
SERVER_PIDS: dict[str, int] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``tmpsim serve`` in its own process: one run at a time, 10 years per run at most."""
    port = free_port()
    runs = tmp_path_factory.mktemp("served-runs")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tmpsim", "serve", "--port", str(port), "--max-scale", "0.01"]
        + ["--max-runs", "1", "--max-days", "3660", "--runs-dir", str(runs)]
        + ["--max-run-memory", str(RUN_MEMORY_GIB)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/api/options", timeout=2)
            break
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"tmpsim serve did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
    SERVER_PIDS[url] = proc.pid
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def upload(url: str, name: str, text: str) -> httpx.Response:
    return httpx.post(f"{url}/api/uploads", files={"file": (name, text.encode())}, timeout=120)


def flagship_data() -> dict:
    return yaml.safe_load(flagship_text())


def test_a_foreign_host_header_is_refused(server: str) -> None:
    """DNS rebinding: a page served from evil.example reaching 127.0.0.1 names its own host."""
    assert httpx.get(f"{server}/api/options").status_code == 200
    refused = httpx.get(f"{server}/api/options", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    posted = httpx.post(f"{server}/api/runs", json=TINY, headers={"Host": "evil.example:80"})
    assert posted.status_code == 400 and posted.text == "Invalid host header"
    assert httpx.get(f"{server}/api/runs").json()["runs"] == []  # nothing was started


def test_an_uploaded_scenario_too_large_for_the_server_is_refused(server: str) -> None:
    """A huge stock at an allowed scale, a window longer than --max-days: 422, no run started.

    The agent budget is derived from --max-scale (twice the largest shipped scenario there).
    """
    data = flagship_data()
    for origin in data["origins"].values():  # 50 million a stage: plausible, far too many here
        origin["initial_stock"] = {k: 5e7 for k in origin["initial_stock"]}
    response = upload(server, "huge-stock.yaml", yaml.safe_dump(data))
    assert response.status_code == 200, response.text
    run = httpx.post(f"{server}/api/runs", json={**TINY, "scenario": response.json()["key"]})
    assert run.status_code == 422, run.text
    assert "agents; this server allows at most" in run.json()["error"]
    long = flagship_data()
    long["end"] = "2031-12-31"  # 15 years from 2017: more than --max-days 3660
    response = upload(server, "long.yaml", yaml.safe_dump(long))
    assert response.status_code == 200, response.text
    run = httpx.post(
        f"{server}/api/runs", json={"scenario": response.json()["key"], "scale": 0.001}
    )
    assert run.status_code == 422, run.text
    assert "at most 3,660 days" in run.json()["error"]
    reads = flagship_data()  # a sending market from a file of the server's
    reads["origins_market"] = {"corridors": "/etc/passwd", "host": "x", "source": "t"}
    response = upload(server, "reads.yaml", yaml.safe_dump(reads))
    assert response.status_code == 200, response.text
    run = httpx.post(f"{server}/api/runs", json={**TINY, "scenario": response.json()["key"]})
    assert run.status_code == 422, run.text
    assert "is not a shipped configuration" in run.json()["error"]
    assert httpx.get(f"{server}/api/runs").json()["runs"] == []


BAD_REQUESTS = [
    {**TINY, "end": "2021-02-30"},
    {**TINY, "end": "9999-99-99"},
    {**TINY, "parameters": {"programme.grace_days": "1e400"}},
    {**TINY, "levers": {"no_such_lever": 1}},
    {**TINY, "scale": "a lot"},
]
RAW_BAD_BODIES = [
    '{"scenario": "japan-titp-covid", "scale": 1e400}',
    '{"scenario": "japan-titp-covid", "scale": 0.001, "seed": 1e400}',
    '{"scenario": "japan-titp-covid", "scale": 0.001, '
    '"parameters": {"programme.grace_days": 1e400}}',
]


def test_bad_dates_and_numbers_get_a_clean_422(server: str) -> None:
    """Never a 500, never the text of an internal exception."""
    responses = [httpx.post(f"{server}/api/runs", json=body) for body in BAD_REQUESTS]
    responses += [
        httpx.post(f"{server}/api/runs", content=body, headers={"Content-Type": "application/json"})
        for body in RAW_BAD_BODIES
    ]
    for response in responses:
        assert response.status_code == 422, response.text
        message = response.json()["error"]
        assert message and "Traceback" not in message
        for internal in ("OverflowError", "ValueError", "Error:", "internal error"):
            assert internal not in message, message


def test_the_cap_on_runs_is_checked_before_anything_else(server: str) -> None:
    """With the one allowed run going, even an invalid request is refused by the cap (429)."""
    first = httpx.post(f"{server}/api/runs", json={**TINY, "end": "2019-12-31"})
    assert first.status_code == 202, first.text
    run_id = first.json()["id"]
    try:
        invalid = [  # valid JSON, a request missing its scale, and not JSON at all
            httpx.post(f"{server}/api/runs", json={"scenario": "no-such", "scale": 0.001}),
            httpx.post(f"{server}/api/runs", json={"scenario": "nope"}),
            httpx.post(f"{server}/api/runs", content=b"garbage"),
        ]
        for refused in invalid:
            assert refused.status_code == 429, refused.text
            assert "already in progress" in refused.json()["error"]
        # the run's process has the server's memory cap
        deadline = time.monotonic() + 60  # the cap is set once the process has started
        while not (caps := run_memory_caps(server)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert caps == [RUN_MEMORY_GIB * 1024**3]
    finally:
        httpx.delete(f"{server}/api/runs/{run_id}")
        wait_stopped(lambda path: httpx.get(server + path), run_id)


def run_memory_caps(url: str) -> list[int]:
    """RLIMIT_AS of the server's child processes that have one (the runs in progress)."""
    psutil = pytest.importorskip("psutil")
    import resource

    server = psutil.Process(SERVER_PIDS[url])
    caps = []
    for child in server.children(recursive=True):
        try:
            soft, _ = child.rlimit(resource.RLIMIT_AS)
        except psutil.Error:
            continue
        if soft != resource.RLIM_INFINITY:
            caps.append(soft)
    return caps


def test_a_run_process_beyond_its_memory_cap_fails_alone() -> None:
    """limit_memory in a child process: an allocation beyond the cap is a MemoryError there."""
    code = (
        "import numpy as np\n"
        "from tmpsim.web.jobs import limit_memory\n"
        "limit_memory(1024**3)\n"
        "try:\n"
        "    np.ones(2 * 1024**3, dtype=np.uint8)\n"
        "except MemoryError:\n"
        "    print('refused')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "refused"


def slow_upload_text() -> str:
    """A YAML file under the upload limit that takes seconds to read: 120,000 aliases."""
    return "a: &a [1]\nb: [" + ", ".join(["*a"] * 120_000) + "]\n"


def test_uploads_are_parsed_off_the_event_loop(server: str) -> None:
    """While slow uploads are being read, other requests are answered; a third is refused."""
    text = slow_upload_text()
    assert len(text.encode()) < 512 * 1024
    finished: dict[str, float] = {}
    results: list[httpx.Response] = []

    def send(tag: str) -> None:
        results.append(upload(server, f"{tag}.yaml", text))
        finished[tag] = time.monotonic()

    threads = [threading.Thread(target=send, args=(f"slow{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # both uploads are being parsed now
    extra = upload(server, "third.yaml", text)
    t0 = time.monotonic()
    options = httpx.get(f"{server}/api/options", timeout=30)
    answered = time.monotonic()
    for t in threads:
        t.join(120)
    assert options.status_code == 200
    if all(f > answered for f in finished.values()):
        # the parse was still going when the options came back: the loop was free
        assert extra.status_code == 429, extra.text
    assert answered - t0 < 5
    for response in results:
        assert response.status_code == 422  # not a scenario; a clean message either way
        assert "Traceback" not in response.json()["error"]
    json.dumps(results[0].json())
