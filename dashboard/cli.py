"""``tradewake dashboard``: serve the dashboard on 127.0.0.1 until Ctrl-C.

Imports of the web stack happen inside the command, so the CLI starts as fast without it.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from core.errors import ConfigError, OperationalError

if TYPE_CHECKING:
    from core.settings import Settings
    from dashboard.auth import Token


def dashboard_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to bind; loopback unless you mean it.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8700,
    runs_dir: Annotated[
        Path | None, typer.Option("--runs-dir", help="Where backtest runs are (default: backtest.runs_dir).")
    ] = None,
    heartbeat: Annotated[
        Path | None, typer.Option("--heartbeat", help="The live runner's --heartbeat file, to show its age.")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file (names the store).")] = None,
) -> None:
    """A local web dashboard: live state and operator actions (halt, resume, sleep, flatten) over the configured
    store, and every backtest run (list, compare, one run's charts, trades and decisions).

    Actions need the dashboard token: set TRADEWAKE_DASHBOARD_TOKEN, or use the one printed at start."""
    from core.settings import load_inert_settings
    from dashboard.auth import Token

    settings = load_inert_settings(config)  # it only queues commands, as `tradewake halt`: no mainnet confirmation
    if runs_dir is not None and runs_dir.exists() and not runs_dir.is_dir():
        raise ConfigError(f"--runs-dir {runs_dir} is a file, not a directory of backtest runs")
    try:
        token = Token.from_environment()
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    _check_host(host)
    serve(
        host, port, runs_dir=runs_dir or settings.backtest.runs_dir, heartbeat=heartbeat, settings=settings, token=token
    )


def _check_host(host: str) -> None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError as exc:
        if host != "localhost":
            raise ConfigError(f"--host {host!r} is not an IP address") from exc
        return
    if not address.is_loopback:
        typer.echo(f"warning: binding {host}: anyone who can reach it can read the dashboard; actions still need "
                   "the token", err=True)  # fmt: skip


def serve(host: str, port: int, *, runs_dir: Path, heartbeat: Path | None, settings: Settings, token: Token) -> None:
    from dashboard.app import DashboardConfig
    from dashboard.server import StoppableServer

    config = DashboardConfig(settings=settings, runs_dir=runs_dir, token=token, heartbeat=heartbeat)
    shown = "localhost" if host in ("127.0.0.1", "::1", "localhost") else host

    def announce() -> None:
        """Once listening: the URLs printed are reachable (a port in use prints none, only the error)."""
        typer.echo(f"tradewake dashboard: http://{shown}:{port}/  (read-only)")
        if token.from_env:
            typer.echo(f"operator actions: log in at http://{shown}:{port}/login?token=<TRADEWAKE_DASHBOARD_TOKEN>")
        else:
            typer.echo(f"operator actions: open http://{shown}:{port}/login?token={token.value}")
        typer.echo("Ctrl-C stops it.")

    server = StoppableServer.for_app(config, host=host, port=port, on_listening=announce)
    server.run()
    if server.interrupted:
        raise KeyboardInterrupt  # exit 130 like every command, whatever SIGINT disposition the process inherited
    if not server.started:
        raise OperationalError(f"the dashboard could not listen on {host}:{port} (in use, or not allowed)")

