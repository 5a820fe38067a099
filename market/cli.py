"""``tradewake data ...`` (download, inspect) and ``tradewake snapshot``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console

from core.clock import WallClock
from core.ids import Symbol
from core.json_output import print_json
from core.timeframes import timeframe_seconds

if TYPE_CHECKING:  # pandas and ccxt load when a command runs, not when the CLI starts
    from core.errors import TemporaryError
    from market.cache import CacheState
    from market.download import DownloadRequest, DownloadResult

app = typer.Typer(help="Market data: download candles into a local cache, inspect candle files.", no_args_is_help=True)
console = Console()
_BUNDLED_HINT = "binance_BTC-USDT_5m.csv.gz (2025-08-18..2025-10-16) or binance_BTC-USDT_1h.csv.gz (2023..2025-10-14)."


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def parse_time(value: str, option: str) -> datetime:
    """ISO-8601 date or date-time from 1970 to 2200; without a zone it is read as UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(
            f"{option}: {value!r} is not an ISO 8601 date or date-time, e.g. 2024-05-01T12:00"
        ) from exc
    try:
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59-14:00 is past the last representable instant
        parsed = LATEST
    if not EARLIEST <= parsed < LATEST:
        raise typer.BadParameter(f"{option}: {value!r} is outside 1970..2200")
    return parsed


def _check_timeframe(timeframe: str) -> str:
    try:
        timeframe_seconds(timeframe)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return timeframe


def one_spelling(value: str | None, old: str | None, flag: str, old_flag: str) -> tuple[str | None, str]:
    """``--from``/``--to`` everywhere; an old spelling (``--since``, ``--until``, the venue's ``--start``) still
    works, hidden, but not both at once.
    Returns the value and the spelling used (an error names the flag the user typed)."""
    if value is not None and old is not None:
        raise typer.BadParameter(f"{old_flag} is the old spelling of {flag}: give one of them")
    return (old, old_flag) if old is not None else (value, flag)


@app.command("download")
def download_cmd(
    symbol: Annotated[str, typer.Argument(help="Unified symbol, e.g. BTC/USDT (spot) or BTC/USDT:USDT (futures).")],
    timeframe: Annotated[str, typer.Argument(help="Candle timeframe, e.g. 1m, 5m, 1h, 4h, 1d.")],
    *,
    start: Annotated[
        str | None, typer.Option("--from", help="First candle open time (UTC ISO date/date-time); required.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End (exclusive, UTC); default: now. Forming candles are never kept.")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", hidden=True, help="Old spelling of --from.")] = None,
    until: Annotated[str | None, typer.Option("--until", hidden=True, help="Old spelling of --to.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Cache directory (append-only CSV + progress file).")] = Path(
        "var/candles"
    ),
    market_type: Annotated[str, typer.Option("--market", help="spot or future (USDT-M perpetuals).")] = "spot",
) -> None:
    """Download closed Binance candles with paging, rate limiting and backoff; re-run to resume."""
    if market_type not in ("spot", "future"):
        raise typer.BadParameter("--market must be spot or future")
    (first, first_flag), (last, last_flag) = (
        one_spelling(start, since, "--from", "--since"), one_spelling(end, until, "--to", "--until")
    )
    if first is None:
        raise typer.BadParameter("give the first candle with --from, e.g. --from 2024-01-01")
    from market.download import DownloadRequest

    now = WallClock().now()
    request = DownloadRequest(
        exchange="binance",
        symbol=symbol,
        timeframe=_check_timeframe(timeframe),
        since=parse_time(first, first_flag),
        until=parse_time(last, last_flag) if last else now,
        out_dir=out,
    )
    result = asyncio.run(_download(request, "spot" if market_type == "spot" else "future", now))
    console.print(f"{result.csv_path}: +{result.rows_added} candles", markup=False)
    console.print(result.report.summary(), markup=False)
    if result.state.first_available_ms is not None:
        console.print(f"note: the exchange has no candles before {result.report.first_open_at}", markup=False)


async def _download(request: DownloadRequest, market_type: Literal["spot", "future"], now: datetime) -> DownloadResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from market.ccxt_rest import CcxtRest, make_exchange
    from market.download import download_candles

    step = timeframe_seconds(request.timeframe) * 1000
    total = max(1, int((request.until - request.since).total_seconds() * 1000) // step)
    rest = CcxtRest(make_exchange(market_type))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(f"{request.symbol} {request.timeframe}", total=total)

            def on_progress(state: CacheState) -> None:
                progress.update(task, completed=min(total, (state.next_ms - state.since_ms) // step))

            def on_retry(attempt: int, delay: float, error: TemporaryError) -> None:
                progress.console.print(f"retry {attempt} in {delay:.1f}s: {error}", markup=False)

            return await download_candles(rest, request, now=now, on_progress=on_progress, on_retry=on_retry)
    finally:
        await rest.close()


@app.command("inspect")
def inspect_cmd(
    file: Annotated[str, typer.Argument(help="Candle CSV (.csv or .csv.gz) or a bundled file name.")],
    timeframe: Annotated[str | None, typer.Option("--timeframe", help="Default: from the file name.")] = None,
) -> None:
    """Validate a candle file and list its gaps (missing candles are reported, never filled)."""
    from market.bundled import resolve_data_path
    from market.candles import read_candles

    _, report = read_candles(resolve_data_path(file), timeframe)
    console.print(report.summary(), markup=False)
    for gap in report.gaps:
        console.print(f"  missing {gap.first_missing.isoformat()} .. {gap.last_missing.isoformat()} ({gap.count})",
                      markup=False)


def snapshot_cmd(
    data: Annotated[str, typer.Option("--data", help="Candle CSV, or a bundled file name: " + _BUNDLED_HINT)],
    at: Annotated[str, typer.Option("--at", help="as_of time (UTC ISO); only candles closed by then are used.")],
    symbol: Annotated[str | None, typer.Option("--symbol", help="Default: from the file name.")] = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="Regime reference candles; default: --data if BTC/USDT, else bundled BTC 1h."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON form (the tool result) instead.")] = False,
) -> None:
    """Print the market snapshot the agent would see at --at, and its token count."""
    from market.builder import SnapshotBuilder
    from market.bundled import BTC_1H, bundled_path, resolve_data_path
    from market.candles import read_candles, symbol_from_name
    from market.prompt import estimate_tokens, estimate_tokens_chars4
    from market.regime import tracker_from_candles

    path = resolve_data_path(data)
    frame, report = read_candles(path)
    sym = Symbol(symbol) if symbol else symbol_from_name(path.name)
    if sym is None:
        raise typer.BadParameter("--symbol is required when the file name does not say it")
    ref_path = resolve_data_path(reference) if reference else (path if sym == "BTC/USDT" else bundled_path(BTC_1H))
    ref_frame, ref_report = (frame, report) if ref_path == path else read_candles(ref_path)
    regime = tracker_from_candles(Symbol("BTC/USDT"), ref_frame, ref_report.timeframe)
    builder = SnapshotBuilder(sym, frame, report.timeframe, regime=regime)
    snapshot = builder.build(parse_time(at, "--at"))
    if as_json:
        print_json(console, snapshot.model_dump(mode="json"))
        return
    text = snapshot.to_prompt()
    typer.echo(text)
    typer.echo(
        f"\n[{len(text)} chars; ~{estimate_tokens(text)} tokens (chars/3, the budget estimate), "
        f"~{estimate_tokens_chars4(text)} (chars/4); digest {snapshot.digest()[:16]}]"
    )
