"""The dashboard's HTTP API and page (FastAPI).

Routes (all JSON unless stated):

- ``GET /`` the page; ``GET /static/{name}`` its script, style and plotly.js (from the installed
  ``plotly`` package, so the dashboard works offline).
- ``GET /api/options`` shipped scenarios, the uploads kept, limits, policy levers.
- ``GET /api/scenarios/{name}`` a shipped scenario's window and key parameters.
- ``POST /api/uploads`` (multipart ``file``) check an uploaded scenario with the scenario schema;
  one that passes is kept in the runs folder (``tmpsim.web.uploads``), for a restarted server too.
- ``POST /api/runs`` start a run; ``GET /api/runs`` list them; ``GET /api/runs/{id}`` progress;
  ``DELETE /api/runs/{id}`` stop it; ``GET /api/runs/{id}/charts`` figures;
  ``GET /api/runs/{id}/series.csv|series.parquet|monthly.csv|monthly.xlsx|scenario.yaml|
  report.html`` downloads (the monthly tables a spreadsheet opens).
- ``GET /api/compare?a=ID&b=ID`` differences of two runs, with overlaid figures.

Every run id is checked against the server's registry (the runs it created, and those it took
back from its runs folder when it started, see ``tmpsim.web.jobs``); nothing else becomes a path.
Requests must name a trusted host (``Host:`` header; 127.0.0.1 and localhost by default), which
stops DNS-rebinding pages from driving the dashboard. Limits, cheapest first: the request's stated
size, the cap on runs in progress (before the body is read), the scale, the run's days and agents
(``tmpsim.web.limits``), and the memory of each run's process (``tmpsim.web.jobs``). Uploads are
parsed in a worker thread, at most ``MAX_PARSING`` at once, so a slow file never stalls the other
endpoints.
"""

from __future__ import annotations

import asyncio
import email.message
import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import yaml
from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from tmpsim.api import DEFAULT_SCENARIO
from tmpsim.reports import charts
from tmpsim.reports.context import load_observed_safe
from tmpsim.reports.glossary import ScenarioWords, format_value, summary_items, summary_rows
from tmpsim.results import read_series
from tmpsim.scenario import ScenarioError, shipped_scenarios
from tmpsim.scenario.bounds import MIN_SCALE
from tmpsim.web.controls import (
    MAX_UPLOAD_BYTES,
    BaseScenario,
    RequestError,
    build_scenario,
    lever_controls,
    parse_upload,
    shipped_base,
)
from tmpsim.web.jobs import CapacityError, Job, JobManager
from tmpsim.web.limits import DEFAULT_MAX_DAYS, RunLimits
from tmpsim.web.uploads import KEY_PREFIX, UploadStore

log = logging.getLogger("tmpsim.web")

STATIC_FILES = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
COMPARE_METRICS = ["stranded", "destitute", "unmet_shelter_need", "programme_stock"]
MAX_UPLOADS = 20
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 64 * 1024  # an upload plus its multipart envelope
MAX_PARSING = 2
"""Uploads parsed at once; more are refused (429) rather than queued."""
DEFAULT_HOSTS = ("127.0.0.1", "localhost")
GIB = 1024**3


@dataclass
class Settings:
    """Limits and places of one dashboard server."""

    runs_dir: Path | None = None  # None: a temporary folder removed at shutdown
    max_scale: float = 1.0
    min_scale: float = MIN_SCALE  # the same floor as the command line
    max_active_runs: int = 2
    max_kept_runs: int = 40
    keep_runs: bool = False
    max_days: int = DEFAULT_MAX_DAYS
    max_agents: int | None = None  # None: twice the largest shipped scenario at max_scale
    max_run_memory: int | None = 4 * GIB  # address space of each run's process (RLIMIT_AS)
    allowed_hosts: list[str] = field(default_factory=lambda: list(DEFAULT_HOSTS))
    extra: dict[str, Any] = field(default_factory=dict)


class RunRequest(BaseModel):
    """What the page sends to start a run (strict: text for a number is refused)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    scenario: str = Field(min_length=1, max_length=200, description="Shipped name or upload id.")
    seed: int = Field(1, ge=0, le=2**31 - 1)
    scale: float = Field(gt=0, le=100, allow_inf_nan=False)
    end: str | None = Field(None, max_length=10)
    parameters: dict[str, Any] = Field(default_factory=dict)
    levers: dict[str, Any] = Field(default_factory=dict)
    label: str = Field("", max_length=120)


def error(status: int, message: str) -> JSONResponse:
    """Return a JSON error that the page shows as is."""
    return JSONResponse({"error": message}, status_code=status)


def describe_errors(errors: Sequence[dict[str, Any]]) -> str:
    """Join pydantic's errors into one message, each naming its field."""
    parts = []
    for e in errors:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{loc or 'request'}: {e.get('msg')}")
    return "; ".join(parts)


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type is JSON (``application/json`` or ``application/*+json``)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def parse_run_request(content_type: str | None, body: bytes) -> RunRequest:
    """Read a run request's body as RunRequest; RequestError with the message otherwise.

    Only a JSON body is read, as FastAPI does: a form on another site cannot post one without
    the browser asking first.
    """
    if not is_json(content_type):
        raise RequestError("request: send the run request as JSON (Content-Type: application/json)")
    if not body.strip():
        raise RequestError("request: the body is empty; send a JSON object")
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise RequestError(
            f"request: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except ValueError:  # bytes in no encoding JSON allows
        raise RequestError("request: not valid JSON (save it as UTF-8)") from None
    except RecursionError:
        raise RequestError("request: nested too deeply to be a run request") from None
    if not isinstance(data, dict):
        raise RequestError("request: expected a JSON object of the run's settings")
    try:
        return RunRequest.model_validate(data)
    except ValidationError as exc:
        raise RequestError(describe_errors(exc.errors())) from None


def static_dir() -> Path:
    """Return the folder of the page's files inside the package."""
    return Path(str(resources.files("tmpsim.web") / "static"))


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the dashboard application with its own run registry and limits."""
    settings = settings or Settings()
    own_tmp = settings.runs_dir is None
    runs_dir = Path(tempfile.mkdtemp(prefix="tmpsim-serve-")) if own_tmp else settings.runs_dir
    manager = JobManager(
        runs_dir, settings.max_active_runs, settings.max_kept_runs, settings.max_run_memory
    )
    try:  # read with the folder's lock held, which the manager took
        uploads = UploadStore(runs_dir, MAX_UPLOADS)
    except BaseException:
        manager.close()
        raise
    limits = RunLimits(settings.max_scale, settings.max_days, settings.max_agents)
    parsing = asyncio.Semaphore(MAX_PARSING)
    cache: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            yield
        finally:  # the runs stopped, then the folder's lock let go for the next server
            manager.close()
            if own_tmp and not settings.keep_runs:
                shutil.rmtree(runs_dir, ignore_errors=True)

    app = FastAPI(
        title="tmpsim dashboard", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.manager = manager
    app.state.settings = settings
    app.state.runs_dir = runs_dir
    app.state.uploads = uploads
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))

    @app.middleware("http")
    async def _limit_body(request: Request, call_next: Any) -> Response:
        if request.method in ("POST", "PUT", "PATCH"):
            length = request.headers.get("content-length")
            if length is None or not length.isdigit():
                return error(411, "the request must state its length")
            if int(length) > MAX_BODY_BYTES:
                return error(
                    413, f"request too large ({int(length):,} bytes; at most {MAX_BODY_BYTES:,})"
                )
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, describe_errors(exc.errors()))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        # The details go to the server's log, never to the client.
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error(500, "internal error; the server's log has the details")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    def observed(host: str | None) -> tuple[pd.DataFrame | None, str]:
        key = f"observed:{host}"
        if key not in cache:
            cache[key] = load_observed_safe(host)
        return cache[key]

    def job_words(job: Job) -> ScenarioWords:
        path = job.dir / "scenario.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
        return ScenarioWords.of(data)

    def job_run_info(job: Job) -> dict[str, Any]:
        path = job.dir / "run.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def job_or_404(run_id: str) -> Job:
        job = manager.get(run_id)
        if job is None:
            raise HTTPException(404, "no such run on this server")
        return job

    def done_job(run_id: str) -> Job:
        job = job_or_404(run_id)
        state = job.status()["state"]
        if state != "done":
            raise HTTPException(409, f"run {run_id} is {state}, not done")
        return job

    def base_for(key: str) -> BaseScenario:
        if key.startswith(KEY_PREFIX):
            base = uploads.get(key)
            if base is None:
                raise RequestError(
                    "that uploaded scenario is no longer on the server; upload it again"
                )
            return base
        return shipped_base(key)

    # ---- page and static files ---------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse((static_dir() / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/plotly.min.js")
    def plotly_js() -> Response:
        if "plotly" not in cache:
            from plotly.offline import get_plotlyjs

            cache["plotly"] = get_plotlyjs().encode("utf-8")
        return Response(
            cache["plotly"],
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "max-age=86400"},
        )

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC_FILES:  # a fixed list: no path ever comes from the request
            raise HTTPException(404, "no such file")
        return FileResponse(static_dir() / name, media_type=STATIC_FILES[name])

    # ---- scenarios -------------------------------------------------------------------------

    @app.get("/api/options")
    def options() -> dict[str, Any]:
        return {
            "scenarios": [{"name": k, "description": v} for k, v in shipped_scenarios().items()],
            "default_scenario": DEFAULT_SCENARIO,
            "uploads": uploads.listing(),
            "levers": [c.to_json() for c in lever_controls()],
            "levers_note": ""
            if lever_controls()
            else (
                "Policy levers are not available in this installation (tmpsim.policy missing); "
                "the key parameters below still apply."
            ),
            "limits": {
                "min_scale": settings.min_scale,
                "max_scale": settings.max_scale,
                "max_active_runs": settings.max_active_runs,
                "max_seed": 2**31 - 1,
                "max_days": settings.max_days,
            },
        }

    @app.get("/api/scenarios/{name}")
    def scenario_info(name: str) -> Any:
        try:
            return base_for(name).describe()
        except RequestError as exc:
            return error(404, str(exc))

    @app.post("/api/uploads")
    async def upload(file: Annotated[UploadFile, File()]) -> Any:
        if parsing.locked():
            return error(429, f"{MAX_PARSING} uploads are being checked already; try again")
        async with parsing:
            content = await file.read(MAX_UPLOAD_BYTES + 1)
            try:  # off the event loop: other requests are served meanwhile
                name, data = await run_in_threadpool(parse_upload, file.filename, content)
            except (ScenarioError, RequestError) as exc:
                return error(422, str(exc))
            except RecursionError:
                return error(422, f"{file.filename}: nested too deeply to be a scenario")
        # kept in the runs folder (a file written and synced) off the event loop too
        base = await run_in_threadpool(uploads.add, name, content, data)
        return base.describe()

    # ---- runs ------------------------------------------------------------------------------

    @app.post("/api/runs", status_code=202)
    async def start_run(request: Request) -> Any:
        if manager.full():  # first, before the body is read: a refused request costs nothing
            return error(
                429,
                f"{settings.max_active_runs} run(s) already in progress (the limit); wait for "
                "one to finish or stop it",
            )
        content_type, body = request.headers.get("content-type"), await request.body()
        return await run_in_threadpool(launch, content_type, body)

    def launch(content_type: str | None, body: bytes) -> Any:
        """Check a run request and start it (in a worker thread: validation takes a while)."""
        try:
            req = parse_run_request(content_type, body)
        except RequestError as exc:
            return error(422, str(exc))
        if not settings.min_scale <= req.scale <= settings.max_scale:
            return error(
                422,
                f"scale must be between {settings.min_scale:g} and "
                f"{settings.max_scale:g} on this server, got {req.scale:g}",
            )
        try:
            base = base_for(req.scenario)
            scenario, notes = build_scenario(base, req.parameters, req.levers, req.end)
            limits.check(scenario, req.scale)
        except (RequestError, ScenarioError) as exc:
            return error(422, str(exc))
        config = {
            "scenario": base.label,
            "seed": req.seed,
            "scale": req.scale,
            "currency": scenario.currency,
            "host": scenario.host,
            "start": str(scenario.start),
            "end": str(scenario.end),
            "parameters": req.parameters,
            "levers": req.levers,
        }
        label = req.label.strip() or _auto_label(base.label, req)
        try:
            job = manager.submit(
                scenario.model_dump(mode="json"), req.seed, req.scale, label, config, notes
            )
        except CapacityError as exc:
            return error(429, str(exc))
        return job.status()

    @app.get("/api/runs")
    def list_runs() -> dict[str, Any]:
        return {"runs": [job_or_404(j.id).status() for j in manager.jobs()]}

    @app.get("/api/runs/{run_id}")
    def run_status(run_id: str) -> dict[str, Any]:
        return job_or_404(run_id).status()

    @app.delete("/api/runs/{run_id}")
    def cancel_run(run_id: str) -> dict[str, Any]:
        job = job_or_404(run_id)
        manager.cancel(run_id)
        return job.status()

    @app.get("/api/runs/{run_id}/charts")
    def run_charts(run_id: str) -> Response:
        job = done_job(run_id)
        path = job.dir / "charts.json"
        if not path.is_file():
            series = read_series(job.dir)
            words = job_words(job)
            obs, note = observed(words.host)
            caption = charts.run_caption(job_run_info(job), words)
            figures = charts.run_figures(series, words, obs, caption)
            figures.update(charts.origins_figures_of(job.dir, caption))
            body = {
                "figures": figures,
                "summary": summary_rows(job.status().get("summary", {}), words),
                "observed_note": note,
            }
            text = json.dumps(body, separators=(",", ":"), allow_nan=False, default=str)
            from tmpsim.results import atomic_write_bytes

            atomic_write_bytes(path, text.encode())
        return FileResponse(path, media_type="application/json")

    def download(run_id: str, name: str, media_type: str, make=None) -> Response:
        """A finished run's file ``name``, made on first request by ``make(job, path)``."""
        job = done_job(run_id)
        path = job.dir / name
        if make is not None and not path.is_file():
            make(job, path)
        return FileResponse(path, media_type=media_type, filename=f"tmpsim-{run_id[:8]}-{name}")

    def _series_csv(job, path: Path) -> None:
        from tmpsim.results import atomic_write_bytes

        atomic_write_bytes(path, read_series(job.dir).to_csv(index=False).encode())

    def _monthly_csv(job, path: Path) -> None:
        from tmpsim.reports.export import write_monthly_csv

        write_monthly_csv(read_series(job.dir), job_words(job), path)

    def _monthly_xlsx(job, path: Path) -> None:
        from tmpsim.reports.export import export_run

        export_run(job.dir, job.dir, xlsx=True)

    @app.get("/api/runs/{run_id}/series.parquet")
    def series_parquet(run_id: str) -> Response:
        return download(run_id, "series.parquet", "application/vnd.apache.parquet")

    @app.get("/api/runs/{run_id}/series.csv")
    def series_csv(run_id: str) -> Response:
        return download(run_id, "series.csv", "text/csv; charset=utf-8", _series_csv)

    @app.get("/api/runs/{run_id}/monthly.csv")
    def monthly_csv(run_id: str) -> Response:
        return download(run_id, "monthly.csv", "text/csv; charset=utf-8", _monthly_csv)

    @app.get("/api/runs/{run_id}/monthly.xlsx")
    def monthly_xlsx(run_id: str) -> Response:
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return download(run_id, "monthly.xlsx", xlsx, _monthly_xlsx)

    @app.get("/api/runs/{run_id}/scenario.yaml")
    def scenario_yaml(run_id: str) -> Response:
        return download(run_id, "scenario.yaml", "application/x-yaml")

    @app.get("/api/runs/{run_id}/report.html")
    def report(run_id: str) -> Response:
        job = done_job(run_id)
        path = job.dir / "report.html"
        if not path.is_file():
            from tmpsim.reports.build import build_report

            build_report(job.dir, path)
        return FileResponse(
            path, media_type="text/html; charset=utf-8", filename=f"tmpsim-{run_id[:8]}-report.html"
        )

    @app.get("/api/compare")
    def compare(a: str = Query(max_length=64), b: str = Query(max_length=64)) -> dict[str, Any]:
        ja, jb = done_job(a), done_job(b)
        sa, sb = ja.status(), jb.status()
        words = job_words(ja)
        rows = []
        for key, label, unit in summary_items(sa["summary"], words):
            va, vb = sa["summary"].get(key), sb["summary"].get(key)
            if va is None or vb is None:
                continue
            row = {
                "figure": label,
                "a": format_value(va, unit, words.currency),
                "b": format_value(vb, unit, words.currency),
                "difference": "",
                "percent": "",
            }
            if unit != "date":
                row["difference"], row["percent"] = difference(va, vb)
            rows.append(row)
        series_a = read_series(ja.dir, COMPARE_METRICS)
        series_b = read_series(jb.dir, COMPARE_METRICS)
        figures = {
            metric: charts.compare_figure(
                series_a, series_b, metric, "A: " + sa["label"], "B: " + sb["label"], words
            )
            for metric in COMPARE_METRICS
        }
        return {"a": sa, "b": sb, "rows": rows, "figures": figures}

    return app


def difference(a: float, b: float) -> tuple[str, str]:
    """Format B - A and the relative change (blank when A is 0)."""
    diff = b - a
    if diff == 0:
        return "0", "0%" if a else ""
    text = f"{diff:+,.0f}" if abs(diff) >= 100 else f"{diff:+,.2f}"
    return text, f"{diff / a * 100:+.1f}%" if a else ""


def _auto_label(base: str, req: RunRequest) -> str:
    changes = [f"{k.split('.')[-1]}={v}" for k, v in {**req.parameters, **req.levers}.items()]
    text = f"{base}, seed {req.seed}, scale {req.scale:g}"
    if req.end:
        text += f", to {req.end}"
    if changes:
        text += "; " + ", ".join(changes)
    return text[:120]
