"""``tradewake venue serve``: run the local Binance-compatible venue until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from core.errors import ConfigError, OperationalError
from core.timeframes import timeframe_seconds

app = typer.Typer(
    help="A local Binance-compatible venue (REST + websockets over the simulated exchange) for offline live runs.",
    no_args_is_help=True,
)
console = Console()
KEY_ENV, SECRET_ENV = "TRADEWAKE_VENUE_API_KEY", "TRADEWAKE_VENUE_API_SECRET"


@app.command("serve")
def serve_cmd(  # noqa: PLR0917 - typer maps each option to one parameter
    data: Annotated[list[Path], typer.Option("--data", help="Candle file (CSV or .csv.gz, timestamp,o,h,l,c,v); "
                                             "repeat for more symbols; a bundled file name works too.")],
    symbol: Annotated[list[str] | None, typer.Option("--symbol", help="Symbol of each --data file, e.g. BTC/USDT "
                                                     "(default: read from the file name).")] = None,
    market: Annotated[str, typer.Option("--market", help="spot or future (USDT-M perpetuals).")] = "spot",
    speed: Annotated[float, typer.Option("--speed", min=0, help="Venue seconds per wall second: 300 plays one 5m "
                                         "candle per second; 0 starts paused (POST /_venue/advance).")] = 300.0,
    start: Annotated[str | None, typer.Option("--from", help="Venue time to start at (UTC ISO), as a backtest's "
                                              "--from; default: after --warmup candles.")] = None,
    start_old: Annotated[str | None, typer.Option("--start", hidden=True, help="Old spelling of --from.")] = None,
    warmup: Annotated[int, typer.Option("--warmup", min=1, help="Candles of history served before the replay "
                                        "starts.")] = 2000,
    host: Annotated[str, typer.Option("--host", help="Address to bind (keep it on loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port for REST, websockets and "
                                      "/_venue/*; 0 picks a free one.")] = 8765,
    balance: Annotated[list[str] | None, typer.Option("--balance", help="Starting balance ASSET=AMOUNT, repeatable "
                                                      "(default USDT=10000).")] = None,
    leverage: Annotated[int, typer.Option("--leverage", min=1, max=125, help="Futures leverage until a client "
                                          "sets it.")] = 20,
    slippage_bps: Annotated[float, typer.Option("--slippage-bps", min=0, help="Taker fills this many basis points "
                                                "worse.")] = 0.0,
    funding_rate: Annotated[str, typer.Option("--funding-rate", help="Futures funding rate settled every 8 h of "
                                              "venue time.")] = "0.0001",
    faults: Annotated[Path | None, typer.Option("--faults", help="Fault config file (TOML or JSON, see "
                                                "docs/venue.md).")] = None,
    fault: Annotated[list[str] | None, typer.Option("--fault", help="One fault rule KIND[=RATE][@PATH], e.g. "
                                                    "'timeout_after_accept=0.05@POST /fapi/v1/order'; "
                                                    "repeatable.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the fault draws (overrides the file's).")] = None,
    ledger: Annotated[Path | None, typer.Option("--ledger", help="Also append every ledger record to this JSONL "
                                                "file.")] = None,
    weight_limit: Annotated[int | None, typer.Option("--weight-limit", min=1, help="Request weight per minute "
                                                     "before 429 (default: Binance's).")] = None,
) -> None:
    """Serve Binance spot or USDT-M REST and websockets on one port, prices replayed from real candles.

    Point unmodified ccxt at the printed URL (docs/venue.md says how). Requests must be signed with the
    printed API key and secret (made for this run unless TRADEWAKE_VENUE_API_KEY and
    TRADEWAKE_VENUE_API_SECRET are set). Ctrl-C or SIGTERM stops it.
    """
    from venue.config import VenueConfig

    if market not in ("spot", "future"):
        raise typer.BadParameter("--market must be spot or future")
    fields: dict[str, Any] = {
        "market": market, "data": tuple(_data_path(p) for p in data), "symbols": tuple(symbol or ()),
        "speed": speed, "warmup": warmup, "host": host, "port": port, "leverage": leverage,
        "slippage_bps": Decimal(str(slippage_bps)), "funding_rate": _decimal(funding_rate, "--funding-rate"),
        "balances": _balances(balance or ["USDT=10000"]), "faults": _faults(faults, fault or [], seed),
        "ledger": _ledger(ledger), "weight_limit": weight_limit, **_credentials(),
    }
    from market.cli import one_spelling

    first, first_flag = one_spelling(start, start_old, "--from", "--start")
    if first is not None:
        from market.cli import parse_time

        fields["start"] = parse_time(first, first_flag)
    try:
        config = VenueConfig(**fields)
    except ValidationError as exc:
        from venue.faults import validation_message

        raise ConfigError(validation_message(exc)) from exc
    asyncio.run(_serve(config, generated=fields.get("api_key") is None))


def _ledger(path: Path | None) -> Path | None:
    """A ``--ledger`` that cannot be a file is said at once (not as "File exists" once the server is up)."""
    if path is None:
        return None
    if path.is_dir():
        raise typer.BadParameter(f"--ledger {path} is a directory; name a JSONL file")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise typer.BadParameter(f"--ledger {path}: {parent} is a file, not a directory")
    return path


def _data_path(value: Path) -> Path:
    from market.bundled import resolve_data_path

    return resolve_data_path(value)


def _decimal(value: str, option: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise typer.BadParameter(f"{option}: {value!r} is not a number") from exc


MAX_BALANCE = Decimal(10) ** 12
"""As much as a backtest's ``initial_cash`` may be: a starting balance, not a number to overflow the ledger."""


def _balances(values: list[str]) -> dict[str, Decimal]:
    balances = {}
    for value in values:
        asset, _, amount = value.partition("=")
        if not asset or not amount:
            raise typer.BadParameter(f"--balance {value!r}: write ASSET=AMOUNT, e.g. USDT=10000")
        quantity = _decimal(amount, "--balance")
        if not quantity.is_finite() or not 0 <= quantity <= MAX_BALANCE:
            raise typer.BadParameter(f"--balance {value!r}: the amount must be a number from 0 to {MAX_BALANCE:,}")
        balances[asset.strip().upper()] = quantity
    return balances


def _faults(path: Path | None, specs: list[str], seed: int | None) -> Any:
    from venue.faults import FaultConfig, parse_spec

    config = FaultConfig()
    if path is not None:
        if not path.is_file():
            raise typer.BadParameter(f"--faults: no such file {path}")
        try:
            config = FaultConfig.load(path)
        except (ValueError, ValidationError) as exc:
            raise typer.BadParameter(f"--faults {path}: {exc}") from exc
    try:
        config = config.with_rules(*(parse_spec(s) for s in specs))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return config if seed is None else config.model_copy(update={"seed": seed})


def _credentials() -> dict[str, Any]:
    key, secret = os.environ.get(KEY_ENV), os.environ.get(SECRET_ENV)
    if (key is None) != (secret is None):
        raise ConfigError(f"set both {KEY_ENV} and {SECRET_ENV}, or neither (test credentials are then made)")
    return {"api_key": key, "api_secret": secret} if key is not None else {}


async def _serve(config: Any, *, generated: bool) -> None:
    from venue.server import Venue

    venue = Venue(config)
    try:
        await venue.start()
    except OSError as exc:
        raise OperationalError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        _announce(venue, generated=generated)
        await _until_stopped(venue, stop)
    finally:
        await venue.stop()
    info = venue.info()
    orders = sum(1 for r in venue.ledger.records if r["kind"] == "order")
    fills = sum(1 for r in venue.ledger.records if r["kind"] == "fill")
    console.print(f"stopped at venue time {info['now']}: {orders} orders, {fills} fills, "
                  f"{len(venue.faults.fired)} faults" + (f"; ledger {config.ledger}" if config.ledger else ""),
                  markup=False)


def _announce(venue: Any, *, generated: bool) -> None:
    info = venue.info()
    label = "Binance spot" if info["market"] == "spot" else "Binance USDT-M futures"
    pace = (f"speed {venue.speed:g}x (one {info['timeframe']} candle per "
            f"{timeframe_seconds(info['timeframe']) / venue.speed:.2f} s)" if venue.speed > 0 else "paused")
    lines = [
        f"{label} venue: {', '.join(info['symbols'])} {info['timeframe']} from {info['now']}, {pace}",
        f"REST + websockets: {venue.url}   (admin: {venue.url}/_venue/info)",
        f"API key:    {venue.credentials.api_key}",
        f"API secret: {venue.credentials.api_secret if generated else '(from ' + SECRET_ENV + ')'}"
        + ("   (test credentials made for this run)" if generated else ""),
        "point ccxt at it: docs/venue.md; Ctrl-C stops",
    ]
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)


async def _until_stopped(venue: Any, stop: asyncio.Event) -> None:
    with Progress(TextColumn("replay {task.fields[now]}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("candles"), console=console, disable=not console.is_terminal) as progress:
        played, total = venue.market.replay.progress()
        task = progress.add_task("replay", total=total, completed=played, now=venue.info()["now"])
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                played, _ = venue.market.replay.progress()
                progress.update(task, completed=played, now=venue.info()["now"])
