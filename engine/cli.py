"""The ``tradewake`` command line.

Each package that has commands exposes a ``typer.Typer`` named ``app`` in its own ``cli.py``;
this module mounts them. A user mistake prints one clear line and exits 2; an operational
failure exits 1; neither prints a traceback.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from core.errors import ConfigError, OperationalError, TradewakeError
from core.json_output import print_json

if TYPE_CHECKING:
    from core.settings import Settings, StoreSettings

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
RunOption = Annotated[
    str | None,
    typer.Option("--run", help="A backtest run (id or directory) to read instead of the configured store."),
]


def settings_from(config: Path | None, **overrides: Any) -> Settings:
    """Load settings for a command that cannot trade (no mainnet confirmation needed); explicit flags
    (``overrides``) win over env and file."""
    from core.settings import load_inert_settings

    return load_inert_settings(config, **{k: v for k, v in overrides.items() if v is not None})


@app.command("version")
def version_cmd() -> None:
    """Print the installed tradewake version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        console.print(version("tradewake"))
    except PackageNotFoundError:
        console.print("tradewake (not installed; running from a source tree)")


@app.command("init")
def init_cmd(
    out: Annotated[Path, typer.Option("--out", help="Settings file to write.")] = Path("tradewake.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented tradewake.toml: every setting with its default and what it means.

    Every setting is commented out (a later default still applies): uncomment what you change. Commands
    read ./tradewake.toml from the working directory; --config or $TRADEWAKE_CONFIG name another file."""
    from core.settings_toml import settings_toml

    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory; name the settings file, e.g. {out / 'tradewake.toml'}")
    if out.exists() and not force:
        raise ConfigError(f"{out} already exists; pass --force to overwrite it (your changes there would be lost)")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: directory {out.parent} does not exist")
    out.write_text(settings_toml(), encoding="utf-8")
    console.print(f"wrote {out}: every setting at its default, commented out; uncomment what you change "
                  "(tradewake config show prints what a run will use)", markup=False, soft_wrap=True)


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print the effective settings (file + environment + defaults), secrets redacted."""
    from core.settings import redacted

    settings = settings_from(config)
    print_json(console, redacted(settings))


def _inspected_store(config: Path | None, run: str | None) -> StoreSettings:
    """The configured store, or the store of the backtest run ``--run`` names (never a new one)."""
    from store.runs import inspected_store

    settings = settings_from(config)
    return inspected_store(settings.store, run, settings.backtest.runs_dir)


PAYLOAD_CHARS = 160
"""``journal tail`` shows this much of each event's payload (one event, one line); ``--json`` shows all."""


@journal_app.command("tail")
def journal_tail(
    n: Annotated[int, typer.Option("-n", help="How many of the latest events to show.", min=1, max=100_000)] = 20,
    run: RunOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the latest journal events."""
    from store.factory import open_store

    store = open_store(_inspected_store(config, run), create=False)
    try:
        events = store.tail_journal(n)
    finally:
        store.close()
    if as_json:
        print_json(console, [e.model_dump(mode="json") for e in events])
        return
    for event in events:
        payload = json.dumps(event.payload, sort_keys=True)
        if len(payload) > PAYLOAD_CHARS:
            payload = payload[: PAYLOAD_CHARS - 1] + "…"
        line = f"{event.seq:>6}  {event.at:%Y-%m-%d %H:%M:%S}  {event.kind:<20} {payload}"
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if any(len(json.dumps(e.payload)) > PAYLOAD_CHARS for e in events):
        console.print("(long payloads cut: --json for the full events)", style="dim", markup=False)


@journal_app.command("verify")
def journal_verify(run: RunOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Recompute the hash chain; exit 1 and name the first tampered or missing event if it breaks."""
    from store.factory import open_store

    store = open_store(_inspected_store(config, run), create=False)
    try:
        report = store.verify_journal()
    finally:
        store.close()
    if as_json:
        print_json(console, report.model_dump(mode="json"))
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
    """Console-script entry point: run the app, turn every failure into one line on stderr and an exit code.

    2: a user mistake (bad option, settings, input file); 1: an operational failure; 130: interrupted.
    An unexpected exception is a bug: one line names it (``TRADEWAKE_DEBUG=1`` shows the traceback).
    """
    try:
        _mount_package_apps()
        code = app(args=argv, prog_name="tradewake", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except BaseException as exc:
        if isinstance(exc, BrokenPipeError):
            _detach_stdout()
        if type(exc).__name__ == "NoArgsIsHelpError":  # `tradewake data` alone: show its help, not an error
            typer.echo(exc.format_message() if hasattr(exc, "format_message") else "")
            sys.exit(0)
        message, exit_code = describe_failure(exc)
        if exit_code == INTERNAL_ERROR and os.environ.get("TRADEWAKE_DEBUG") == "1":
            raise
        _fail(message, exit_code)
    finally:
        gc.freeze()  # exiting needs no final collection of a large heap (it took seconds after a long backtest)
    if code == INTERRUPTED:  # typer turns Ctrl-C into a silent exit code 130
        _fail("interrupted", INTERRUPTED)
    if isinstance(code, int) and code != 0:
        sys.exit(code)


INTERRUPTED = 130
INTERNAL_ERROR = 70
"""Exit code of a bug (an exception we did not expect), distinct from 1 and 2 so tests and probes can tell."""

_OUR_ERRORS: tuple[tuple[type[BaseException], str, int], ...] = (
    (ConfigError, "error", 2),
    (OperationalError, "operational error", 1),
    (TradewakeError, "error", 1),
)


def describe_failure(exc: BaseException) -> tuple[str, int]:
    """The one line and the exit code for a failure (pure, so each kind is unit-tested).

    An error with a ``cli_exit_code`` attribute says its own line and code (a backtest stopped by Ctrl-C:
    130 and what was kept).
    """
    own_code = getattr(exc, "cli_exit_code", None)
    if isinstance(exc, TradewakeError) and isinstance(own_code, int):
        return str(exc), own_code
    for kind, prefix, code in _OUR_ERRORS:
        if isinstance(exc, kind):
            return f"{prefix}: {exc}", code
    if isinstance(exc, (KeyboardInterrupt, typer.Abort)):
        return "interrupted", INTERRUPTED
    click = _click_exceptions()
    if isinstance(exc, click.ClickException):
        hint = _help_hint(exc) if isinstance(exc, click.UsageError) else ""
        return f"error: {exc.format_message()}{hint}", int(getattr(exc, "exit_code", 1))
    if isinstance(exc, (OSError, MemoryError)):
        return _resource_failure(exc), 1
    return (
        f"internal error: {type(exc).__name__}: {exc} (a bug in tradewake; set TRADEWAKE_DEBUG=1 for the traceback)",
        INTERNAL_ERROR,
    )


def _resource_failure(exc: OSError | MemoryError) -> str:
    if isinstance(exc, MemoryError):
        return "operational error: out of memory"
    if isinstance(exc, BrokenPipeError):
        return "error: the output was closed before the command finished"
    where = f": {exc.filename}" if exc.filename else ""
    return f"operational error: {exc.strerror or exc}{where}"


def _click_exceptions() -> Any:
    from typer._click import exceptions

    return exceptions


def _help_hint(exc: Any) -> str:
    ctx = getattr(exc, "ctx", None)
    return f" (see: {ctx.command_path} --help)" if ctx is not None else ""


def _detach_stdout() -> None:
    """The reader of our output went away (``| head``): point stdout at /dev/null so the interpreter's
    final flush does not print a second error."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _fail(message: str, code: int) -> None:
    """One line on stderr, no wrapping, no traceback; then exit."""
    line = " ".join(message.split())
    if line:
        with contextlib.suppress(OSError, ValueError):  # stderr itself is gone: the exit code still says it
            print(line, file=sys.stderr, flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
