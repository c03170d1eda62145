"""``tmpsim serve``: start the local web dashboard (127.0.0.1 by default)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from tmpsim.web.limits import DEFAULT_MAX_DAYS


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the top-level CLI."""
    app.command(name="serve")(serve)


def serve(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    host: Annotated[
        str, typer.Option(help="Address to bind; other than 127.0.0.1 exposes the dashboard.")
    ] = "127.0.0.1",
    max_scale: Annotated[float, typer.Option(help="Largest scale a run may ask for.")] = 1.0,
    max_runs: Annotated[int, typer.Option(help="Runs allowed in progress at once.")] = 2,
    max_days: Annotated[int, typer.Option(help="Longest window a run may simulate, in days.")] = (
        DEFAULT_MAX_DAYS
    ),
    max_agents: Annotated[
        int | None,
        typer.Option(
            help="Most agents a run may make room for (default: twice the largest shipped "
            "scenario at --max-scale)."
        ),
    ] = None,
    max_run_memory: Annotated[
        float, typer.Option(help="Memory (address space) of each run's process, in GiB.")
    ] = 4.0,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Host name the dashboard answers to (repeatable; default 127.0.0.1, localhost "
            "and --host)."
        ),
    ] = None,
    runs_dir: Annotated[
        Path | None,
        typer.Option(
            help="Keep run folders and uploaded scenarios here; a server started again on it "
            "lists those kept there, and one server at a time may serve it (default: a "
            "temporary folder, removed on exit)."
        ),
    ] = None,
) -> None:
    """Start the web dashboard: pick or upload a scenario, move levers, run, compare, download."""
    from tmpsim.cli import console, fail

    try:
        import uvicorn

        from tmpsim.web.app import DEFAULT_HOSTS, GIB, Settings, create_app
        from tmpsim.web.jobs import RunsFolderError
    except ImportError as exc:
        fail(
            f"the dashboard needs the web extras ({exc.name} is missing): pip install 'tmpsim[web]'"
        )
    if not 0 < port < 65536:
        fail(f"--port must be in 1..65535, got {port}")
    if not 0 < max_scale <= 100:
        fail(f"--max-scale must be in (0, 100], got {max_scale}")
    if max_runs < 1:
        fail(f"--max-runs must be at least 1, got {max_runs}")
    if max_days < 31:
        fail(f"--max-days must be at least 31, got {max_days}")
    if max_agents is not None and max_agents < 1:
        fail(f"--max-agents must be at least 1, got {max_agents}")
    if not 0.25 <= max_run_memory <= 1024:
        fail(f"--max-run-memory must be between 0.25 and 1024 GiB, got {max_run_memory}")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            fail(f"--host must be an IP address or localhost, got {host!r}")
        address = ipaddress.ip_address("127.0.0.1")
    if not address.is_loopback:
        console.print(
            f"[bold yellow]warning:[/] listening on {host}: anyone who can reach this "
            "address can start runs."
        )
    hosts = list(dict.fromkeys([*DEFAULT_HOSTS, host, *(allowed_host or [])]))
    settings = Settings(
        runs_dir=runs_dir,
        max_scale=max_scale,
        max_active_runs=max_runs,
        keep_runs=runs_dir is not None,
        max_days=max_days,
        max_agents=max_agents,
        max_run_memory=int(max_run_memory * GIB),
        allowed_hosts=hosts,
    )
    try:  # takes the runs folder's lock: a second server on it is refused here
        dashboard = create_app(settings)
    except RunsFolderError as exc:
        fail(str(exc))
    console.print(
        f"tmpsim dashboard on [bold]http://{host}:{port}/[/] (Ctrl+C stops it)", highlight=False
    )
    uvicorn.run(dashboard, host=host, port=port, log_level="warning")
