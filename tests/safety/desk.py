"""The real safety stack over any broker (the ccxt broker on the recorded-payload fake or on the local venue,
or the simulated exchange's), a real SQLite store and a recording notifier: issue 16's safety-level tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.ids import PositionId, Symbol
from core.ports import Broker, Clock
from core.settings import RiskSettings, RunMode
from core.types import Signal
from safety.alerts import AlertDispatcher
from safety.book import SafetyBook
from safety.proposals import CloseProposal, EntryProposal
from safety.service import EntryResult, SafetyConfig, SafetyService
from safety.verdicts import Approved
from store.sqlite_store import SqliteStore
from tests.safety.simworld import RecordingNotifier


@dataclass
class Desk:
    safety: SafetyService
    store: SqliteStore
    notifier: RecordingNotifier
    clock: Clock

    def journal(self, kind: str) -> list[dict[str, Any]]:
        return [e.payload for e in self.store.read_journal() if e.kind == kind]

    def alerts(self, kind: str) -> list[str]:
        return [a.message for a in self.notifier.alerts if a.kind == kind]

    async def enter(self, symbol: Symbol, *, stop: Decimal, size_pct: float = 10, key: str = "k1",
                    side: str = "long") -> EntryResult:
        proposal = EntryProposal.model_validate({
            "symbol": symbol, "side": side, "size_pct": size_pct, "stop_loss": stop,
            "signals": (Signal.MOMENTUM,), "idempotency_key": key,
        })
        verdict = self.safety.check(proposal, self.clock.now())
        assert isinstance(verdict, Approved), verdict
        result = await self.safety.execute(verdict, self.clock.now())
        assert isinstance(result, EntryResult)
        return result

    async def close(self, symbol: Symbol, position_id: PositionId) -> None:
        proposal = CloseProposal.model_validate({"symbol": symbol, "position_id": position_id})
        verdict = self.safety.check(proposal, self.clock.now())
        assert isinstance(verdict, Approved), verdict
        await self.safety.execute(verdict, self.clock.now())


async def open_desk(
    broker: Broker,
    path: Path,
    clock: Clock,
    prices: Mapping[Symbol, Decimal],
    *,
    market_type: str,
    equity: Decimal = Decimal(10_000),
    risk: RiskSettings | None = None,
    **config: Any,
) -> Desk:
    """Safety over ``broker``, reconciled, with ``prices`` marked now."""
    store = SqliteStore(path, namespace="tw")
    notifier = RecordingNotifier()
    rules = dict(await broker.load_markets())
    book = SafetyBook.load(store, equity, clock.now())
    alerts = AlertDispatcher([notifier], store, clock, min_interval_s=0)
    settings = SafetyConfig(rules, risk or RiskSettings(), RunMode.TESTNET, "tw", market_type=market_type, **config)
    safety = SafetyService.assemble(broker, store, book, alerts, settings, equity)
    for symbol, price in prices.items():
        safety.mark(symbol, price, clock.now())
    report = await safety.reconcile(clock.now())
    assert report.ok, report.error
    return Desk(safety, store, notifier, clock)


def marked_at(desk: Desk, prices: Mapping[Symbol, Decimal], now: datetime) -> None:
    for symbol, price in prices.items():
        desk.safety.mark(symbol, price, now)
