"""``tradewake run``: the live runner (paper, testnet or mainnet), until Ctrl-C or ``--rounds``.

A thin driver: ``engine.wiring.build_run`` assembles the run (store, venue access check, candle history,
the gate's warm-up, reconciliation of the safety book with the exchange); this module runs its loop and
closes it. Any failure before the loop stops with one line.
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
    timeframe: Annotated[str, typer.Option("--timeframe", help="Candle timeframe the engine steps on.")] = "5m",
    rounds: Annotated[int | None, typer.Option("--rounds", min=1, help="Stop after N polling rounds.")] = None,
    poll_s: Annotated[float, typer.Option("--poll", min=1, help="Seconds between polls.")] = 10.0,
    heartbeat: Annotated[Path | None, typer.Option("--heartbeat", help="File rewritten every round.")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")] = None,
    allow_fallback: Annotated[
        bool,
        typer.Option("--allow-fallback", help="With an LLM backend and no usable key, let the rules backend decide "
                     "instead of refusing to start."),
    ] = False,
) -> None:
    """Run the agent live: paper (simulated fills at live prices), Binance testnet/demo, or mainnet."""
    from core.settings import load_settings

    settings = load_settings(config, **({"mode": mode} if mode else {}))
    if not allow_fallback:
        from agent.factory import refuse_without_llm

        refuse_without_llm(settings)
    try:
        timeframe_seconds(timeframe)
    except ValueError as exc:
        raise ConfigError(f"--timeframe: {exc}") from exc
    from engine.runs import LiveFeed  # the engine's imports wait until a run starts (fast --help)

    asyncio.run(_run(settings, LiveFeed(timeframe, heartbeat=heartbeat, poll_interval_s=poll_s), rounds))


async def _run(settings: Settings, feed: LiveFeed, rounds: int | None) -> None:
    from engine.wiring import build_run

    run = await build_run(settings, feed)
    try:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        console.print(f"tradewake {run.description}; Ctrl-C stops (state is saved)", markup=False)
        done = await run.feed.run(stop, rounds)
        console.print(f"stopped after {done} rounds")
    finally:
        await run.close()
