"""One decision over the real engine on simulated parts (what ``tradewake decide`` runs).

The simulated exchange holds ``equity`` in cash at the last price before ``at`` (market orders fill at once),
the store is a throwaway SQLite file, the clock stands at ``at``. One engine step on that price with an
operator wake: safety goes first, then the agent decides, and every tool call goes through the veto and the
guard exactly as it would live. Nothing is kept afterwards.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.clock import SimClock
from core.errors import ConfigError
from core.settings import Settings
from core.types import DecisionRecord, WakeKind, WakeReason
from engine.events import PriceTick, TimerTick
from engine.wiring import AgentChoice, Core, build_engine, sim_exchange, sim_markets
from exchange.sim import MarketFill, SimBroker
from market.builder import Market, SnapshotBuilder
from store.sqlite_store import SqliteStore

TOOL_JOURNAL = frozenset({"tool_call", "tool_result", "tool_error", "tool_vetoed", "llm_breaker"})
"""The journal kinds of the tools' choke point and the LLM router (what ``--journal`` prints)."""


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
            engine = await build_engine(core, AgentChoice(record_to=record_to), alerts=False)
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
