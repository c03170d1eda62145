"""The dashboard's HTTP API: validation at the server, run lifecycle, downloads, limits."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from helpers import FLAGSHIP, RUN_FIGURES, TINY_RUN, flagship_text, wait_stopped  # noqa: E402

from tmpsim.scenario import ScenarioError, load_scenario  # noqa: E402
from tmpsim.web.app import Settings, create_app  # noqa: E402
from tmpsim.web.controls import lever_module  # noqa: E402
from tmpsim.web.jobs import LOCK_FILE  # noqa: E402

TINY = TINY_RUN


def wait_done(client: TestClient, run_id: str) -> dict:
    """Poll a run of the test client until it stops."""
    return wait_stopped(client.get, run_id)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    app = create_app(
        Settings(runs_dir=tmp_path_factory.mktemp("runs"), max_scale=0.01, max_active_runs=2)
    )
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture(scope="module")
def done_run(client: TestClient) -> dict:
    response = client.post("/api/runs", json={**TINY, "label": "tiny"})
    assert response.status_code == 202, response.text
    status = wait_done(client, response.json()["id"])
    assert status["state"] == "done", status
    return status


def broken_flagship_text() -> str:
    text = flagship_text()
    assert "grace_days: 30" in text
    return text.replace("grace_days: 30", "grace_dayz: 30")


# ---- options and scenarios ----------------------------------------------------------------


def test_options_list_shipped_scenarios_limits_and_levers(client: TestClient) -> None:
    body = client.get("/api/options").json()
    assert FLAGSHIP in [s["name"] for s in body["scenarios"]]
    assert body["limits"]["max_scale"] == 0.01
    assert body["limits"]["max_active_runs"] == 2
    if lever_module() is not None:
        names = {lv["name"] for lv in body["levers"]}
        assert "welfare_eligible" in names
        assert all(lv["label"] for lv in body["levers"])


def test_scenario_description_has_window_and_parameters_with_its_values(client) -> None:
    body = client.get(f"/api/scenarios/{FLAGSHIP}").json()
    assert (body["start"], body["end"]) == ("2017-01-01", "2025-12-31")
    params = {p["name"]: p for p in body["parameters"]}
    assert params["programme.grace_days"]["default"] == 30
    assert params["money.wage_per_month"]["default"] == 160000
    assert params["behaviour.dismissal_labour_need.elasticity"]["default"] == 1.5
    gulf = {p["name"] for p in client.get("/api/scenarios/gulf-kafala").json()["parameters"]}
    assert "behaviour.dismissal_labour_need.elasticity" not in gulf  # no such rule there
    shelters = [p for p in params if p.startswith("shelters.")]
    assert shelters and all(params[p]["label"].startswith("Shelter places") for p in shelters)


def test_every_shipped_scenario_can_be_chosen(client: TestClient) -> None:
    from tmpsim.scenario import shipped_scenarios

    for name in shipped_scenarios():
        response = client.get(f"/api/scenarios/{name}")
        assert response.status_code == 200, (name, response.text)
        assert response.json()["parameters"], name


def test_unknown_scenario_name_is_404(client: TestClient) -> None:
    response = client.get("/api/scenarios/no-such-programme")
    assert response.status_code == 404
    assert "not a shipped scenario" in response.json()["error"]


# ---- bounds on a run request ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"scale": 0.5}, "scale must be between"),
        ({"scale": 0}, "scale"),
        ({"scale": -1}, "scale"),
        ({"scale": 0.00001}, "scale must be between"),
        ({"seed": -1}, "seed"),
        ({"end": "2030-01-01"}, "must lie between"),
        ({"end": "2017-01-05"}, "must lie between"),
        ({"end": "next year"}, "not a date"),
        ({"scenario": "../../etc/passwd"}, "not a shipped scenario"),
        ({"scenario": "upload:deadbeef"}, "no longer on the server"),
        ({"parameters": {"recruitment.demand": {}}}, "not a parameter the dashboard can change"),
        ({"parameters": {"../../x": 1}}, "not a parameter the dashboard can change"),
        ({"parameters": {"programme.grace_days": 9999}}, "above the maximum"),
        ({"parameters": {"programme.grace_days": 1.5}}, "whole number"),
        ({"parameters": {"money.wage_per_month": "lots"}}, "expected a number"),
        ({"parameters": {"programme.job_change.mode": "sometimes"}}, "expected one of"),
        ({"levers": {"teleportation": True}}, "not a policy lever"),
        ({"unexpected": 1}, "unexpected"),
        ({"seed": "1"}, "seed: Input should be a valid integer"),
        ({"seed": True}, "seed: Input should be a valid integer"),
        ({"seed": 3.0}, "seed: Input should be a valid integer"),
        ({"scale": "0.001"}, "scale: Input should be a valid number"),
        ({"scale": True}, "scale: Input should be a valid number"),
    ],
)
def test_invalid_run_requests_are_refused_with_a_message(client, change, words) -> None:
    response = client.post("/api/runs", json={**TINY, **change})
    assert response.status_code == 422, response.text
    assert words in response.json()["error"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_scale_that_is_not_finite_is_refused_as_such(client, number: str) -> None:
    body = f'{{"scenario": "japan-titp-covid", "scale": {number}}}'
    response = client.post("/api/runs", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "scale: Input should be a finite number"


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b"garbage", "application/json", "request: not valid JSON (Expecting value"),
        (b"", "application/json", "request: the body is empty"),
        (b"[1, 2]", "application/json", "request: expected a JSON object"),
        (b"[" * 100_000, "application/json", "request: nested too deeply"),
        (b'{"scenario": "x", "scale": 0.001}', "text/plain", "Content-Type: application/json"),
        (b'{"scenario": "x", "scale": 0.001}', None, "Content-Type: application/json"),
    ],
)
def test_a_run_request_that_is_not_a_json_object_is_refused(client, body, content_type, words):
    """Only a JSON body is read: a cross-site form cannot post one without a preflight."""
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/api/runs", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert words in response.json()["error"]


def test_a_lever_and_a_parameter_it_sets_are_not_given_together(client) -> None:
    """The lever would silently override the parameter: refused, naming both."""
    if lever_module() is None:
        pytest.skip("tmpsim.policy is not installed")
    from tmpsim.web.controls import build_scenario, shipped_base

    mode = {"programme.job_change.mode": "forbidden"}
    response = client.post(
        "/api/runs", json={**TINY, "parameters": mode, "levers": {"free_job_change": True}}
    )
    assert response.status_code == 422, response.text
    message = response.json()["error"]
    assert "free_job_change" in message and "programme.job_change.mode" in message
    # a parameter only a lever sets names the lever
    response = client.post(
        "/api/runs", json={**TINY, "parameters": {"programme.welfare_eligible": True}}
    )
    assert response.status_code == 422, response.text
    assert "lever welfare_eligible" in response.json()["error"]
    # a lever at its default changes nothing, so the parameter stands
    scenario, _ = build_scenario(shipped_base(FLAGSHIP), mode, {"free_job_change": False})
    assert scenario.programme.job_change.mode == "forbidden"


# ---- uploads --------------------------------------------------------------------------------


def test_broken_upload_gives_the_cli_message_for_the_same_file(client, tmp_path: Path) -> None:
    text = broken_flagship_text()
    on_disk = tmp_path / "broken.yaml"
    on_disk.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as cli_error:
        load_scenario(on_disk)
    response = client.post(
        "/api/uploads", files={"file": ("broken.yaml", text.encode(), "text/yaml")}
    )
    assert response.status_code == 422
    message = response.json()["error"]
    assert "grace_dayz" in message and "unknown key" in message
    assert message == str(cli_error.value).replace(str(on_disk), "broken.yaml")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"name: [unclosed", "not valid YAML"),
        (b"- just\n- a list\n", "must be a mapping"),
        (b"", "empty"),
        (b"\xff\xfe\x00bad", "save it as UTF-8"),
        (b"name: x\n", "start"),
    ],
)
def test_invalid_uploads_are_refused(client, content: bytes, words: str) -> None:
    response = client.post("/api/uploads", files={"file": ("s.yaml", content, "text/yaml")})
    assert response.status_code == 422
    assert words in response.json()["error"]


def test_upload_filename_is_reduced_to_a_harmless_name(client) -> None:
    response = client.post(
        "/api/uploads", files={"file": ("../../etc/<b>x.yaml", b"[1]", "text/yaml")}
    )
    assert response.status_code == 422
    assert response.json()["error"].startswith("_b_x.yaml: ")


def test_oversized_upload_is_refused_before_parsing(client) -> None:
    big = b"#" * (2 * 1024 * 1024)
    response = client.post("/api/uploads", files={"file": ("big.yaml", big, "text/yaml")})
    assert response.status_code == 413
    assert "too large" in response.json()["error"]


def test_valid_upload_can_be_run_by_its_server_made_key(client) -> None:
    text = broken_flagship_text().replace("grace_dayz: 30", "grace_days: 45")
    response = client.post(
        "/api/uploads", files={"file": ("mine.yaml", text.encode(), "text/yaml")}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["key"].startswith("upload:")
    assert {p["name"]: p["default"] for p in body["parameters"]}["programme.grace_days"] == 45
    started = client.post("/api/runs", json={**TINY, "scenario": body["key"]})
    assert started.status_code == 202, started.text
    status = wait_done(client, started.json()["id"])
    assert status["state"] == "done"
    assert status["config"]["scenario"] == "mine.yaml (uploaded)"


# ---- run ids, files and paths ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/runs/0123456789abcdef0123456789abcdef",
        "/api/runs/not-a-run",
        "/api/runs/..%2F..%2Fetc%2Fpasswd/series.csv",
        "/api/runs/../../etc/passwd",
        "/api/runs/0123456789abcdef0123456789abcdef/series.csv",
        "/static/..%2Fapp.py",
        "/static/index.html",
        "/static/../controls.py",
        "/api/compare?a=../x&b=../y",
    ],
)
def test_unknown_run_ids_and_files_are_not_found(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (404, 422)
    assert "root:" not in response.text and "def " not in response.text


def test_downloads_before_a_run_is_done_are_refused(tmp_path: Path) -> None:
    app = create_app(Settings(runs_dir=tmp_path, max_scale=0.01, max_active_runs=1))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        started = c.post("/api/runs", json={**TINY, "end": "2023-12-31", "scale": 0.002})
        assert started.status_code == 202
        run_id = started.json()["id"]
        assert c.get(f"/api/runs/{run_id}/series.csv").status_code == 409
        # the cap on runs in progress
        second = c.post("/api/runs", json=TINY)
        assert second.status_code == 429
        assert "already in progress" in second.json()["error"]
        stopped = c.delete(f"/api/runs/{run_id}").json()
        assert stopped["state"] == "cancelled"
        third = c.post("/api/runs", json=TINY)
        assert third.status_code == 202, third.text
        c.delete(f"/api/runs/{third.json()['id']}")


def test_the_cap_on_runs_is_checked_before_the_request_is_read(tmp_path: Path) -> None:
    """At the cap even a request that is not a run request at all gets 429."""
    app = create_app(Settings(runs_dir=tmp_path, max_scale=0.01, max_active_runs=1))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        started = c.post("/api/runs", json={**TINY, "end": "2023-12-31", "scale": 0.002})
        assert started.status_code == 202, started.text
        json_type = {"Content-Type": "application/json"}
        try:
            refused = [
                c.post("/api/runs", json={"scenario": "nope"}),
                c.post("/api/runs", content=b"garbage", headers=json_type),
                c.post("/api/runs", content=b"", headers=json_type),
                c.post("/api/runs", content=b"{}", headers={"Content-Type": "text/plain"}),
            ]
            for response in refused:
                assert response.status_code == 429, response.text
                assert "already in progress" in response.json()["error"]
        finally:
            c.delete(f"/api/runs/{started.json()['id']}")


def test_a_run_stopped_before_it_started_leaves_no_folder(tmp_path: Path) -> None:
    app = create_app(Settings(runs_dir=tmp_path, max_scale=0.01, max_active_runs=1))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        started = c.post("/api/runs", json=TINY)
        assert started.status_code == 202, started.text
        stopped = c.delete(f"/api/runs/{started.json()['id']}").json()
        assert stopped["state"] == "cancelled"
        assert [p.name for p in tmp_path.iterdir() if p.is_dir() and not any(p.iterdir())] == []
        assert c.get("/api/runs").json()["runs"][0]["state"] == "cancelled"


# ---- a finished run -----------------------------------------------------------------------------


def test_finished_run_reports_progress_and_summary(done_run: dict) -> None:
    assert done_run["fraction"] == 1.0
    assert done_run["total"] == 90  # 2017-01-01..2017-03-31
    assert done_run["summary"]["new_entries"] > 0
    assert "later event(s) left out" in " ".join(done_run["notes"])


def test_charts_have_data_for_every_figure(client, done_run: dict) -> None:
    body = client.get(f"/api/runs/{done_run['id']}/charts").json()
    figures = body["figures"]
    # the run's figures and the sending market's (the flagship has origins_market)
    market = {"origins_departures", "origins_fees", "origins_debt"}
    assert set(figures) == set(RUN_FIGURES) | market
    for fig in figures.values():  # every figure says what it shows the result of
        assert "Scenario japan-titp-covid" in fig["layout"]["meta"]["caption"]
    states = figures["states"]
    assert len(states["data"]) >= 5
    assert all(len(t["x"]) == 90 for t in states["data"])
    assert states["layout"]["yaxis"]["title"]["text"] == "people"
    employed = next(t for t in states["data"] if t["name"] == "employed")
    assert min(employed["y"]) > 100_000  # the 2017 stock, scaled back to the full population
    labels = dict(body["summary"])
    assert labels["New entries"].endswith("people")


def test_csv_and_parquet_downloads_hold_the_tidy_series(client, done_run: dict) -> None:
    run_id = done_run["id"]
    csv = client.get(f"/api/runs/{run_id}/series.csv")
    assert csv.status_code == 200
    assert csv.text.splitlines()[0] == "date,metric,origin,value"
    assert "attachment" in csv.headers["content-disposition"]
    parquet = client.get(f"/api/runs/{run_id}/series.parquet")
    frame = pd.read_parquet(io.BytesIO(parquet.content))
    assert list(frame.columns) == ["date", "metric", "origin", "value"]
    from_csv = pd.read_csv(io.StringIO(csv.text))
    assert len(from_csv) == len(frame)


def test_resolved_scenario_download_loads_back_with_the_window(client, done_run, tmp_path):
    text = client.get(f"/api/runs/{done_run['id']}/scenario.yaml").text
    path = tmp_path / "resolved.yaml"
    path.write_text(text, encoding="utf-8")
    sc = load_scenario(path)
    assert str(sc.end) == "2017-03-31"
    assert all(str(e.date) <= "2017-03-31" for e in sc.events)


def test_parameter_and_lever_changes_reach_the_run(client, tmp_path: Path) -> None:
    levers = {"welfare_eligible": True} if lever_module() is not None else {}
    response = client.post(
        "/api/runs",
        json={
            **TINY,
            "end": "2020-06-30",  # the shelters open in April 2020 (later ones are left out)
            "parameters": {"programme.grace_days": 60, "shelters.0.capacity": 1234},
            "levers": levers,
            "label": "changed",
        },
    )
    assert response.status_code == 202, response.text
    status = wait_done(client, response.json()["id"])
    assert status["state"] == "done" and status["label"] == "changed"
    data = yaml.safe_load(client.get(f"/api/runs/{status['id']}/scenario.yaml").text)
    assert data["programme"]["grace_days"] == 60
    assert data["shelters"][0]["capacity"] == 1234
    if levers:
        assert data["programme"]["welfare_eligible"] is True


def test_compare_two_runs(client, done_run: dict) -> None:
    other = client.post("/api/runs", json={**TINY, "seed": 4})
    assert other.status_code == 202
    status = wait_done(client, other.json()["id"])
    body = client.get(f"/api/compare?a={done_run['id']}&b={status['id']}").json()
    rows = {r["figure"]: r for r in body["rows"]}
    assert "New entries" in rows and rows["New entries"]["a"].endswith("people")
    fig = body["figures"]["stranded"]
    assert [t["name"][:2] for t in fig["data"]] == ["A:", "B:"]


def test_report_download_is_self_contained_html(client, done_run: dict) -> None:
    response = client.get(f"/api/runs/{done_run['id']}/report.html")
    assert response.status_code == 200
    assert response.text.startswith("<!doctype html>")
    assert "tmpsim-figures" in response.text


# ---- page and CLI defaults --------------------------------------------------------------------


def test_page_and_its_assets_are_served_locally(client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'src="/static/plotly.min.js"' in page.text
    assert "http://" not in page.text and "https://" not in page.text
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert client.get("/static/app.js").status_code == 200


def test_serve_binds_loopback_by_default() -> None:
    import inspect

    from tmpsim.web.cli import serve

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"


def test_serve_refuses_bad_options() -> None:
    from typer.testing import CliRunner

    from tmpsim.cli import app

    result = CliRunner().invoke(app, ["serve", "--max-runs", "0"])
    assert result.exit_code != 0
    assert "--max-runs" in result.output


def test_cutting_the_window_keeps_event_sources_on_their_events() -> None:
    from tmpsim.scenario.paths import get_path
    from tmpsim.web.controls import build_scenario, shipped_base

    base = shipped_base(FLAGSHIP)
    full = base.data
    scenario, notes = build_scenario(base, end="2020-09-30")
    data = scenario.model_dump(mode="json")
    assert data["end"] == "2020-09-30" and "later event(s) left out" in notes[0]
    assert all(e["date"] <= "2020-09-30" for e in data["events"])
    for key, text in data["sources"].items():
        parts = key.split(".")
        if parts[0] == "events" and len(parts) > 2:
            event = get_path(data, ".".join(parts[:2]))  # by position or by name
            assert parts[2] in event
            # the same source text sat on an event of the same type and date in the full file
            same = [
                get_path(full, ".".join(k.split(".")[:2]))
                for k, t in full["sources"].items()
                if k.startswith("events.") and k.split(".")[2:] == parts[2:] and t == text
            ]
            assert any(
                str(e["date"]) == event["date"] and e["type"] == event["type"] for e in same
            ), key


def test_monthly_csv_and_workbook_downloads(client, done_run: dict, tmp_path: Path) -> None:
    base = f"/api/runs/{done_run['id']}"
    csv = client.get(f"{base}/monthly.csv")
    assert csv.status_code == 200, csv.text
    assert "attachment" in csv.headers["content-disposition"]
    monthly = pd.read_csv(io.StringIO(csv.content.decode("utf-8-sig")))
    assert list(monthly.columns[:2]) == ["month", "origin"]
    book = client.get(f"{base}/monthly.xlsx")
    assert book.status_code == 200, book.text
    assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
    (tmp_path / "m.xlsx").write_bytes(book.content)
    sheets = pd.read_excel(tmp_path / "m.xlsx", sheet_name=None)
    assert "Notes and sources" in sheets
    column = "stranded (cannot return home) (monthly mean, people)"
    hardship = sheets["Hardship"].set_index(["month", "origin"])[column]
    assert hardship.to_dict() == pytest.approx(
        monthly.set_index(["month", "origin"])[column].to_dict()
    )


# ---- a run that fails -------------------------------------------------------------------------


class ThreadProcess:
    """A worker 'process' run in a thread of the test (so the test's monkeypatches reach it)."""

    def __init__(self, target, args, daemon, name) -> None:
        import threading

        self.exitcode = None
        self._thread = threading.Thread(target=self._run, args=(target, args), daemon=daemon)

    def _run(self, target, args) -> None:
        try:
            target(*args)
            self.exitcode = 0
        except SystemExit as exc:
            self.exitcode = exc.code

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout=None) -> None:
        self._thread.join(timeout)

    terminate = kill = lambda self: None


def test_a_run_that_fills_the_disk_says_so_and_logs_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An OSError is shown by its plain reason and the file in the runs folder, not a log that
    lacks it; the traceback does go to the server's log."""
    import errno
    import logging
    import re
    import types

    import pyarrow.parquet as pq

    runs = tmp_path / "runs"

    def full_disk(table, where, *args, **kwargs) -> None:
        Path(where).write_bytes(b"PAR1 half")
        raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] ...")

    monkeypatch.setattr(pq, "write_table", full_disk)
    app = create_app(
        Settings(runs_dir=runs, max_scale=0.01, max_active_runs=1, max_run_memory=None)
    )
    app.state.manager._ctx = types.SimpleNamespace(Process=ThreadProcess)
    with caplog.at_level(logging.ERROR, logger="tmpsim.web"):
        with TestClient(app, base_url="http://127.0.0.1") as c:
            started = c.post("/api/runs", json=TINY)
            assert started.status_code == 202, started.text
            run_id = started.json()["id"]
            status = wait_done(c, run_id)
    assert status["state"] == "failed"
    error = status["error"]
    assert re.fullmatch(
        rf"the run failed: No space left on device \({run_id}/\w+\.parquet\)", error
    ), error
    assert str(tmp_path) not in error and "server's log" not in error
    logged = [r for r in caplog.records if r.name == "tmpsim.web" and run_id in r.getMessage()]
    assert len(logged) == 1  # once, however often the page asks
    assert "Traceback" in logged[0].getMessage() and "full_disk" in logged[0].getMessage()
    assert not (runs / run_id).exists()  # nothing half-written is left as the run


def test_the_page_is_told_an_os_error_without_paths_outside_the_runs_folder(
    tmp_path: Path,
) -> None:
    import errno

    from tmpsim.web.jobs import public_error

    runs = tmp_path / "runs"
    staged = runs / f".{'a' * 32}.partial-123-x1y2" / "series.parquet"
    full = OSError(errno.ENOSPC, "Error writing bytes to file", str(staged))
    assert public_error(full, runs) == (
        f"the run failed: No space left on device ({'a' * 32}/series.parquet)"
    )
    outside = OSError(errno.EACCES, "Permission denied", "/home/server/.cache/tmpsim/x.pickle")
    assert public_error(outside, runs) == "the run failed: Permission denied"
    escaping = OSError(errno.EROFS, "Read-only", str(runs / ".." / "secret"))
    assert public_error(escaping, runs) == "the run failed: Read-only file system"
    assert "server's log" in public_error(RuntimeError("boom"), runs)


# ---- runs kept across restarts, stopped runs ----------------------------------------------------

LONG = {**TINY, "end": "2023-12-31", "scale": 0.002}


def serve_on(runs: Path, **settings) -> TestClient:
    """A test client of a new dashboard server on the runs folder ``runs``."""
    app = create_app(Settings(runs_dir=runs, max_scale=0.01, **settings))
    return TestClient(app, base_url="http://127.0.0.1")


def wait_running(client: TestClient, run_id: str) -> dict:
    """Poll a run until its worker has written its first progress."""
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/api/runs/{run_id}").json()
        if status["state"] != "starting":
            return status
        time.sleep(0.1)
    pytest.fail(f"run {run_id} did not start")


def test_a_restarted_server_lists_and_serves_the_runs_it_kept(tmp_path: Path) -> None:
    import shutil

    runs = tmp_path / "runs"
    with serve_on(runs) as first:
        started = first.post(
            "/api/runs",
            json={**TINY, "label": "kept", "parameters": {"programme.grace_days": 45}},
        )
        assert started.status_code == 202, started.text
        kept = wait_done(first, started.json()["id"])
        assert kept["state"] == "done", kept
        csv = first.get(f"/api/runs/{kept['id']}/series.csv").content
        cut = first.post("/api/runs", json={**LONG, "label": "cut short"}).json()
        wait_running(first, cut["id"])
    # the first server stopped its run in progress on the way out

    # an older server's run kept without the dashboard's record, one killed while it ran (its
    # staged folder left), and what is not a run of the dashboard
    derived, killed, foreign, damaged = "b" * 32, "c" * 32, "d" * 32, "e" * 32
    shutil.copytree(runs / kept["id"], runs / derived)
    (runs / derived / "dashboard.json").unlink(missing_ok=True)
    (runs / f"{killed}.state").mkdir()
    (runs / f"{killed}.state" / "progress.json").write_text('{"done": 5, "total": 90}')
    (runs / f".{killed}.partial-999999999-x1y2").mkdir()
    (runs / foreign).mkdir()
    (runs / foreign / "notes.txt").write_text("mine")
    shutil.copytree(runs / kept["id"], runs / damaged)
    (runs / damaged / "summary.json").write_text("{}")
    shutil.copytree(runs / kept["id"], runs / ("F" * 32))  # not a run id: upper case
    # a complete run folder with a link among its files: served, it would serve what it points to
    linked = "1" * 32
    shutil.copytree(runs / kept["id"], runs / linked)
    (tmp_path / "secret.txt").write_text("not the dashboard's")
    (runs / linked / "report.html").symlink_to(tmp_path / "secret.txt")
    (runs / ("a" * 32)).symlink_to(runs / kept["id"])
    (runs / ("9" * 32)).write_text("a file")
    (runs / "stray.txt").write_text("a file")
    before = sorted(p.name for p in runs.iterdir())

    with serve_on(runs) as second:
        listed = {s["id"]: s for s in second.get("/api/runs").json()["runs"]}
        assert sorted(listed) == sorted([kept["id"], derived, cut["id"], killed])
        again = listed[kept["id"]]
        for key in ("label", "config", "notes", "state", "done", "total", "summary"):
            assert again[key] == kept[key], key
        assert second.get(f"/api/runs/{kept['id']}/series.csv").content == csv
        assert second.get(f"/api/runs/{kept['id']}/charts").status_code == 200
        assert second.get(f"/api/runs/{kept['id']}/report.html").status_code == 200

        recovered = listed[derived]
        assert recovered["state"] == "done" and recovered["summary"] == kept["summary"]
        assert recovered["label"] == f"{FLAGSHIP}, seed 3, scale 0.001"
        config = recovered["config"]
        assert (config["scenario"], config["seed"], config["scale"]) == (FLAGSHIP, 3, 0.001)
        assert (config["start"], config["end"], config["recovered"]) == (
            "2017-01-01",
            "2017-03-31",
            True,
        )
        assert "without the dashboard's record" in recovered["notes"][0]
        compared = second.get(f"/api/compare?a={kept['id']}&b={derived}")
        assert compared.status_code == 200, compared.text

        for run_id, label in ((cut["id"], "cut short"), (killed, f"run {killed[:8]}")):
            status = listed[run_id]
            assert (status["state"], status["label"]) == ("failed", label)
            assert status["error"].startswith("the run was interrupted"), status
        for run_id in (foreign, damaged, "a" * 32, "9" * 32, linked):
            assert second.get(f"/api/runs/{run_id}").status_code == 404
            assert second.get(f"/api/runs/{run_id}/series.csv").status_code == 404
        assert second.get(f"/api/runs/{linked}/report.html").status_code == 404
    # what is not the dashboard's is left as it was; the killed run's staged folder is gone
    assert sorted(p.name for p in runs.iterdir()) == [
        n for n in before if n != f".{killed}.partial-999999999-x1y2"
    ]
    assert (runs / foreign / "notes.txt").read_text() == "mine"
    assert not (runs / derived / "dashboard.json").exists()  # not made up on its behalf
    # a finished run: its run folder with the dashboard's record; a stopped one: its state
    assert {kept["id"], f"{cut['id']}.state"} <= set(before)
    assert f"{kept['id']}.state" not in before
    assert (runs / kept["id"] / "dashboard.json").is_file()


def test_a_restarted_server_keeps_at_most_its_cap_oldest_removed_first(
    client: TestClient, done_run: dict, tmp_path: Path
) -> None:
    import json
    import shutil

    source = client.app.state.runs_dir / done_run["id"]
    record = {key: done_run[key] for key in ("label", "config", "notes")}
    ids = [f"{k:032x}" for k in (3, 1, 2)]
    for created, run_id in zip((300.0, 100.0, 200.0), ids, strict=True):
        shutil.copytree(source, tmp_path / run_id)
        (tmp_path / run_id / "dashboard.json").write_text(
            json.dumps({**record, "label": run_id[-1], "created": created})
        )
    # the record of a run whose server stopped before it saw the run finish is in its state
    (tmp_path / ids[0] / "dashboard.json").rename(tmp_path / "record.json")
    (tmp_path / f"{ids[0]}.state").mkdir()
    (tmp_path / "record.json").rename(tmp_path / f"{ids[0]}.state" / "dashboard.json")

    with serve_on(tmp_path, max_kept_runs=2) as c:
        listed = c.get("/api/runs").json()["runs"]
        assert [(s["label"], s["state"]) for s in listed] == [("2", "done"), ("3", "done")]
        assert c.get(f"/api/runs/{ids[1]}").status_code == 404
    assert not (tmp_path / ids[1]).exists()  # the oldest, removed from the disk
    # the record now in the run folder, the state folder gone
    assert json.loads((tmp_path / ids[0] / "dashboard.json").read_text())["label"] == "3"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([LOCK_FILE, *ids[0::2]])


def test_a_stopped_run_leaves_no_files(tmp_path: Path) -> None:
    with serve_on(tmp_path) as c:
        started = c.post("/api/runs", json=LONG)
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        assert wait_running(c, run_id)["state"] == "running"
        # as a worker stopped while it writes its run folder leaves it
        pid = c.app.state.manager.get(run_id).process.pid
        staged = tmp_path / f".{run_id}.partial-{pid}-x1y2"
        staged.mkdir()
        (staged / "series.parquet").write_bytes(b"PAR1 half")
        assert c.delete(f"/api/runs/{run_id}").json()["state"] == "cancelled"
        assert [p.name for p in tmp_path.iterdir()] == [LOCK_FILE]  # the server's, not the run's
        assert c.get(f"/api/runs/{run_id}").json()["state"] == "cancelled"
    with serve_on(tmp_path) as c:
        assert c.get("/api/runs").json()["runs"] == []
