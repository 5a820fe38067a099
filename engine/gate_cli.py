"""``tradewake gate-report``: replay a candle file through the gate with the configured settings and print
candles, wakes, wake rate, anomaly recall, wakes by kind and events per second."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.errors import ConfigError
from core.json_output import print_json

if TYPE_CHECKING:
    from core.types import Candle
    from gate.replay import ReplayReport

console = Console()

DataOption = Annotated[
    Path,
    typer.Option(
        "--data", "-d", help="Candle CSV (timestamp,open,high,low,close,volume; ms open times, UTC; .csv.gz ok) "
        "or a bundled file name."
    ),
]
TimeframeOption = Annotated[
    str,
    typer.Option(
        "--timeframe", "-t", help="Candle timeframe (e.g. 5m); 'auto': from the file name, else the most common step."
    ),
]
SymbolOption = Annotated[
    str | None, typer.Option("--symbol", help="Symbol to label the candles with; default: from the file name.")
]
WarmupOption = Annotated[
    int, typer.Option("--warmup", min=1, help="Candles that only feed the baselines before scoring starts.")
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML settings file (default: $TRADEWAKE_CONFIG or ./tradewake.toml)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def gate_report(
    data: DataOption,
    *,
    timeframe: TimeframeOption = "auto",
    symbol: SymbolOption = None,
    warmup: WarmupOption = 288,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replay candles through the gate (no agent: the timer runs at its maximum interval) and report wake
    rate and anomaly recall (top-1 % absolute-return candles with a wake at them or the next).

    Defaults and the measured table: docs/gate.md.
    """
    from core.settings import load_inert_settings
    from gate.budget import BudgetLimits
    from gate.replay import replay

    settings = load_inert_settings(config)
    if timeframe != "auto":
        _check_timeframe(timeframe)
    data = _data_file(data)
    try:
        candles = load_candles(data, symbol=symbol, timeframe=None if timeframe == "auto" else timeframe)
        report = replay(candles, settings.gate, BudgetLimits.from_settings(settings.llm), data=str(data), warmup=warmup)
    except (ValueError, ConfigError) as exc:  # unusable file contents (CandleDataError) or too few candles
        raise typer.BadParameter(str(exc), param_hint="--data") from exc
    rows = _rows(report)
    if as_json:
        print_json(console, {key: value for key, value, _ in rows})
        return
    table = Table(title=f"gate report: {data.name}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, _, shown in rows:
        table.add_row(key, shown)
    console.print(table)


def _data_file(data: Path) -> Path:
    """A candle file, or a bundled file's name (as ``backtest --data`` and ``venue serve --data`` take)."""
    from market.bundled import resolve_data_path

    try:
        return resolve_data_path(data)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--data") from exc


def load_candles(path: Path, *, symbol: str | None = None, timeframe: str | None = None) -> list[Candle]:
    """A bundled-format candle file (``.csv`` or ``.csv.gz``, ms open times) as validated candles.

    Reading and validation are ``market.candles.read_candles`` (timeframe from the file name, else the
    most common step; a malformed file raises ``CandleDataError``, a ``ConfigError``). The symbol is
    ``symbol``, else the file name's (``binance_BTC-USDT_5m.csv.gz`` -> ``BTC/USDT``), else the file
    name without suffixes. Gaps stay gaps: the gate sees what a live feed would have delivered.

    This command module is the one place in ``gate/`` that imports ``market`` (an entry point composing
    two packages, imported lazily); the gate's logic depends on core only.
    """
    from core.ids import Symbol
    from market.candles import frame_to_candles, read_candles, symbol_from_name

    frame, report = read_candles(path, timeframe)
    label = Symbol(symbol) if symbol else symbol_from_name(path.name) or Symbol(path.name.split(".")[0])
    return frame_to_candles(frame, label, report.timeframe)


def _rows(report: ReplayReport) -> list[tuple[str, object, str]]:
    rows: list[tuple[str, object, str]] = [
        ("symbol", report.symbol, report.symbol),
        ("timeframe", report.timeframe, report.timeframe),
        ("candles", report.candles, f"{report.candles:,}"),
        ("scored candles", report.scored, f"{report.scored:,} (after {report.candles - report.scored} warm-up)"),
        ("wakes", report.wakes, f"{report.wakes:,}"),
        ("wake rate", report.wake_rate, f"{report.wake_rate:.2%}"),
        ("anomaly recall", report.recall, f"{report.recall:.2%} ({report.recalled} of {report.top_candles})"),
    ]
    rows += [(f"wakes: {kind}", count, f"{count:,}") for kind, count in report.wakes_by_kind.items()]
    rows += [
        ("fallback wakes (budget)", report.fallback_wakes, f"{report.fallback_wakes:,}"),
        ("suppressed (cooldown)", report.suppressed, f"{report.suppressed:,}"),
        ("events/s", round(report.events_per_s), f"{report.events_per_s:,.0f}"),
    ]
    return rows


def _check_timeframe(timeframe: str) -> None:
    from core.timeframes import timeframe_seconds

    try:
        timeframe_seconds(timeframe)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--timeframe") from exc
