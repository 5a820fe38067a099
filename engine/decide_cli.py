"""``tradewake decide``: one decision on a candle file at a given time, printed as its record.

It runs the real engine (the same wiring, safety service, desk, gate and learner as a backtest) over the
simulated parts: the simulated exchange holding ``--equity`` in cash, a throwaway SQLite store, a simulated
clock. The engine sees the last price before ``--at`` when it was the last price (the close of the last
candle closed by then, at its close time), then the clock moves on to ``--at`` and one engine step with an
operator wake decides: safety goes first, then the agent, and every tool call goes through the veto and
the guard exactly as it would live, staleness limit included (an entry at a ``--at`` more than
``risk.stale_data_s`` after the last close is refused as stale data). Nothing is kept afterwards.
Alerts are printed on stderr (never sent), the tool journal with ``--journal``.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

from core.clock import SimClock
from core.errors import ConfigError
from core.settings import AlertSettings, Settings, load_settings
from core.types import DecisionRecord, WakeKind, WakeReason
from engine.events import PriceTick, TimerTick
from engine.wiring import AgentChoice, Core, build_engine, sim_exchange, sim_markets
from exchange.sim import MarketFill, SimBroker
from market.builder import Market, SnapshotBuilder
from store.sqlite_store import SqliteStore
from tools.snapshots import DEFAULT_DATA, snapshot_builder

AGENTS = ("rules", "replay", "anthropic", "claude-code")
TOOL_JOURNAL = frozenset({"tool_call", "tool_result", "tool_error", "tool_vetoed", "llm_breaker"})
"""The journal kinds of the tools' choke point and the LLM router (what ``--journal`` prints)."""


def decide_cmd(  # noqa: PLR0917 - typer maps each option to one parameter
    at: Annotated[str, typer.Option("--at", help=(
        "Decision time, ISO 8601 (UTC when no offset is given). The price is the last close before it: an "
        "entry more than risk.stale_data_s (default 600 s) after that close is refused as stale data."))],
    data: Annotated[
        str, typer.Option("--data", help=f"Candle CSV, or a bundled file name (default {DEFAULT_DATA}).")
    ] = DEFAULT_DATA,
    agent: Annotated[str, typer.Option("--agent", help="rules | replay | anthropic | claude-code.")] = "rules",
    symbol: Annotated[str | None, typer.Option("--symbol", help="Default: from the file name.")] = None,
    equity: Annotated[str, typer.Option("--equity", help="Account equity in quote currency.")] = "10000",
    cassette: Annotated[Path | None, typer.Option("--cassette", help="Cassette to replay (--agent replay).")] = None,
    record: Annotated[Path | None, typer.Option("--record", help="Append the decision to this cassette.")] = None,
    journal_out: Annotated[bool, typer.Option("--journal", help="Also print the tool journal.")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")] = None,
) -> None:
    """Run one agent decision on bundled or given candles at --at, through the engine over the simulated
    exchange, and print the decision record (JSON)."""
    if agent not in AGENTS:
        raise typer.BadParameter(f"--agent must be one of {', '.join(AGENTS)}")
    when, cash = parse_time(at), parse_equity(equity)
    overrides: dict[str, Any] = {"backend": agent}
    if cassette is not None:
        overrides["cassette"] = cassette
    base = load_settings(config)
    settings = base.model_copy(update={"llm": base.llm.model_copy(update=overrides), "alerts": AlertSettings()})
    outcome = asyncio.run(one_decision(settings, snapshot_builder(data, symbol), when, cash, record))
    typer.echo(outcome.decision.model_dump_json(indent=2))
    for message in outcome.alerts:
        typer.echo(f"alert: {message}", err=True)
    if journal_out:
        typer.echo(json.dumps(outcome.tool_journal, indent=2, default=str))


@dataclass(frozen=True)
class DecisionOutcome:
    decision: DecisionRecord
    alerts: list[str]
    """What the engine would have told a human, in order."""
    tool_journal: list[dict[str, Any]]


async def one_decision(
    settings: Settings, builder: SnapshotBuilder, at: datetime, equity: Decimal, record_to: Path | None
) -> DecisionOutcome:
    """One engine step at ``at`` with an operator wake, over the simulated exchange and a throwaway store."""
    rules = sim_markets(settings)
    if builder.symbol not in rules:
        raise ConfigError(f"the simulated exchange has no market {builder.symbol}; it lists {', '.join(rules)}")
    last = builder.build(at).last_price  # the close of the last candle closed by ``at``, stamped with its close
    price = last.price
    clock = SimClock(last.at)
    venue = sim_exchange(settings, clock, rules, fill=MarketFill.IMMEDIATE, initial_cash=float(equity),
                         slippage_bps=settings.backtest.slippage_bps)
    venue.on_price(Decimal(str(price)), last.at, symbol=builder.symbol)
    with tempfile.TemporaryDirectory(prefix="tradewake-decide-") as tmp:
        store = SqliteStore(Path(tmp) / "decide.sqlite3", durable=False)
        try:
            core = Core(settings=settings, clock=clock, broker=SimBroker(venue), store=store,
                        market=Market({builder.symbol: builder}), rules=venue.markets(), initial_equity=equity,
                        seed=settings.backtest.seed)
            engine = await build_engine(core, AgentChoice(record_to=record_to))
            seen = await engine.step(PriceTick(at=last.at, symbol=builder.symbol, price=price))
            if seen.wake is not None:  # a fresh gate's first timer is a full interval away: never expected
                raise ConfigError(f"the engine woke on the last price itself ({seen.wake.detail}); nothing decided")
            clock.advance_to(at)
            wake = WakeReason(kind=WakeKind.OPERATOR, detail="tradewake decide", at=at, symbol=builder.symbol)
            report = await engine.step(TimerTick(at=at), wake=wake)
            await engine.close()
            events = store.read_journal()
        finally:
            store.close()
    if report.decision is None:
        raise ConfigError(f"no decision was made: {report.blocked or 'the agent was not asked'}")
    return DecisionOutcome(
        decision=report.decision,
        alerts=[str(e.payload["alert"]["message"]) for e in events if e.kind == "alert.raised"],
        tool_journal=[{"kind": e.kind, **e.payload} for e in events if e.kind in TOOL_JOURNAL],
    )


def parse_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"--at {text!r} is not an ISO 8601 time (e.g. 2018-04-20T12:00:00Z)") from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def parse_equity(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise typer.BadParameter(f"--equity {text!r} is not a number") from exc
    if value <= 0:
        raise typer.BadParameter("--equity must be positive")
    return value
