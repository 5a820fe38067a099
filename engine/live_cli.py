"""``tradewake run``: the live runner (paper, testnet or mainnet), until Ctrl-C, SIGTERM or ``--candles``.

A thin driver: ``engine.wiring.build_run`` assembles the run (store, venue access check, candle history,
the gate's warm-up, reconciliation of the safety book with the exchange); this module runs its loop and
closes it. Any failure before the loop stops with one line. SIGTERM and Ctrl-C let the step in progress
finish, save and exit 0.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from core.errors import ConfigError
from core.timeframes import timeframe_seconds

if TYPE_CHECKING:  # settings and the engine load when a run starts, not when the CLI starts
    from core.settings import Settings
    from engine.runs import LiveFeed

console = Console()


def run_cmd(  # noqa: PLR0917 - typer maps each option to one parameter
    mode: Annotated[str | None, typer.Option("--mode", help="paper | testnet | mainnet (default: settings).")] = None,
    venue: Annotated[str | None, typer.Option(
        "--venue", help="Base URL of a Binance-compatible venue to use instead of Binance's hosts, e.g. "
                        "http://127.0.0.1:8765 from `tradewake venue serve` (sets exchange.venue_url).")] = None,
    timeframe: Annotated[str, typer.Option("--timeframe", help="Candle timeframe the engine steps on.")] = "5m",
    candles: Annotated[int | None, typer.Option("--candles", min=1, help="Stop after N closed candles.")] = None,
    safety_interval_s: Annotated[float, typer.Option(
        "--safety-interval", min=0.1, help="Seconds (exchange time) between two safety passes at most.")] = 30.0,
    heartbeat: Annotated[Path | None, typer.Option(
        "--heartbeat", help="File rewritten with the time whenever market data arrives (a silent feed ages it).")]
    = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")] = None,
    allow_fallback: Annotated[
        bool,
        typer.Option("--allow-fallback", help="With an LLM backend and no usable key, let the rules backend decide "
                     "instead of refusing to start."),
    ] = False,
) -> None:
    """Run the agent live: paper (simulated fills at live prices), Binance testnet/demo, or mainnet.

    Candles, trades and the account's fills arrive by websocket (REST fills the gaps); the safety guard runs on
    every price tick while a position is open and never waits for an agent decision to finish.
    """
    from core.settings import load_settings
    from engine.startup import StartupTrace

    trace = StartupTrace()
    trace.mark("interpreter and CLI")
    overrides: dict[str, object] = {"mode": mode} if mode else {}
    if venue is not None:
        overrides["exchange"] = {"venue_url": venue}
    settings = load_settings(config, **overrides)
    trace.mark("settings")
    if not allow_fallback:
        from agent.llm_ready import refuse_without_llm

        refuse_without_llm(settings)
        trace.mark("LLM key check")
    try:
        timeframe_seconds(timeframe)
    except ValueError as exc:
        raise ConfigError(f"--timeframe: {exc}") from exc
    from engine.runs import LiveFeed  # the engine's imports wait until a run starts (fast --help)

    trace.mark("imports: engine")
    feed = LiveFeed(timeframe, heartbeat=heartbeat, safety_interval_s=safety_interval_s, trace=trace)
    asyncio.run(_run(settings, feed, candles))


async def _run(settings: Settings, feed: LiveFeed, candles: int | None) -> None:
    from engine.wiring import build_run

    if feed.trace is not None:
        feed.trace.mark("imports: wiring")
    run = await build_run(settings, feed)
    try:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        console.print(f"tradewake {run.description}; Ctrl-C stops (state is saved)", markup=False)
        done = await run.feed.run(stop, candles)
        stepped = run.feed.stepped
        console.print(f"stopped after {done} candles ({stepped['guard_pass']} safety passes, "
                      f"{stepped['stream_drop']} stream drops); state saved", markup=False)
    finally:
        await run.close()
