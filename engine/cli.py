"""The ``tradewake`` command line.

Each package that has commands exposes a ``typer.Typer`` named ``app`` in its own ``cli.py``;
this module mounts them. A user mistake prints one clear line and exits 2; an operational
failure exits 1; neither prints a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from core.errors import ConfigError, OperationalError, TradewakeError

if TYPE_CHECKING:
    from core.settings import Settings

app = typer.Typer(
    name="tradewake",
    help="An LLM-agent crypto trading system: adaptive gate, safety layer, Thompson-sampling learner.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the effective settings.", no_args_is_help=True)
journal_app = typer.Typer(help="Read and verify the hash-chained journal.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(journal_app, name="journal")

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML settings file (default: $TRADEWAKE_CONFIG or ./tradewake.toml)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def settings_from(config: Path | None, **overrides: Any) -> Settings:
    """Load settings for a command; explicit flags (``overrides``) win over env and file."""
    from core.settings import load_settings

    return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})


@app.command("version")
def version_cmd() -> None:
    """Print the installed tradewake version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        console.print(version("tradewake"))
    except PackageNotFoundError:
        console.print("tradewake (not installed; running from a source tree)")


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print the effective settings (file + environment + defaults), secrets redacted."""
    from core.settings import redacted

    settings = settings_from(config)
    console.print_json(json.dumps(redacted(settings)))


@journal_app.command("tail")
def journal_tail(
    n: Annotated[int, typer.Option("-n", help="How many of the latest events to show.", min=1)] = 20,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the latest journal events."""
    from store.factory import open_store

    store = open_store(settings_from(config).store)
    try:
        events = store.tail_journal(n)
    finally:
        store.close()
    if as_json:
        console.print_json(json.dumps([e.model_dump(mode="json") for e in events]))
        return
    for event in events:
        payload = json.dumps(event.payload, sort_keys=True)
        console.print(f"{event.seq:>6}  {event.at.isoformat()}  {event.kind:<20} {payload}", markup=False)


@journal_app.command("verify")
def journal_verify(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Recompute the hash chain; exit 1 and name the first tampered or missing event if it breaks."""
    from store.factory import open_store

    store = open_store(settings_from(config).store)
    try:
        report = store.verify_journal()
    finally:
        store.close()
    if as_json:
        console.print_json(report.model_dump_json())
    elif report.ok:
        console.print(f"journal ok: {report.events_checked} events, hash chain intact")
    else:
        err_console.print(f"journal BROKEN at seq {report.first_bad_seq}: {report.problem}", markup=False)
    if not report.ok:
        raise typer.Exit(1)


def _mount_package_apps() -> None:
    """Mount the sub-commands other packages provide (each in its own ``<package>/cli.py``)."""
    from engine import commands

    commands.mount(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, turn our errors into one line and an exit code."""
    _mount_package_apps()
    try:
        code = app(args=argv, standalone_mode=False)
    except ConfigError as exc:
        _fail(f"error: {exc}", 2)
    except OperationalError as exc:
        _fail(f"operational error: {exc}", 1)
    except TradewakeError as exc:
        _fail(f"error: {exc}", 1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except typer.TyperException as exc:  # usage errors and bad parameters (typer's vendored click)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"error: {exc}", file=sys.stderr)
        sys.exit(int(getattr(exc, "exit_code", 2)))
    if isinstance(code, int) and code != 0:
        sys.exit(code)


def _fail(message: str, code: int) -> None:
    """One line on stderr, no wrapping, no traceback; then exit."""
    print(" ".join(message.split()), file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
