"""A decision request holds exactly the parts its agent reads (``core.decisions.RequestPart``): the parts it
reads are the values a full request carries, the parts it does not read are empty, and what the tools read
(the snapshot's regime, for ``place_order``) is always there. On real BTC/USDT 1h candles (2024 Q1)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.records import build_record
from agent.rules import RulesBackend
from backtests.data import select_data
from backtests.runner import BacktestRequest, run_backtest
from backtests.scripted import SmaCrossAgent
from core.decisions import EVERY_PART, RequestPart, parts_read
from core.ids import Symbol
from core.ports import Clock
from core.settings import load_settings
from core.types import Alert, DecisionRecord, DecisionRequest, WakeKind, WakeReason
from engine.request import decision_request
from engine.wiring import AgentChoice
from tests.engine.helpers import build_world
from tools.context import DecisionSession, JournalSink, TradingDesk

AT_CANDLE = 300
"""Far enough into 2024 Q1 for every timeframe, the indicators and the regime to have data."""


def _request(tmp_path: Path, reads: frozenset[RequestPart]) -> tuple[DecisionRequest, Any]:
    world = build_world(tmp_path / f"r{len(reads)}.sqlite3", {})
    engine = world.engine
    at = world.candles[AT_CANDLE].open_at + timedelta(hours=1)
    symbol = Symbol(world.candles[0].symbol)
    wake = WakeReason(kind=WakeKind.OPERATOR, detail="test", at=at, symbol=symbol)
    request = decision_request(wake, symbol, at, reads, market=engine.market, safety=engine.safety,
                               learner=engine.learner, decisions=engine.decisions)
    snapshot = engine.market.snapshot(symbol, at)
    world.store.close()
    return request, snapshot


def test_a_request_for_every_part_is_the_full_request(tmp_path: Path) -> None:
    request, snapshot = _request(tmp_path, EVERY_PART)
    assert request.snapshot == snapshot.model_dump(mode="json")
    assert request.snapshot_digest == snapshot.digest()
    assert request.snapshot_prompt == snapshot.to_prompt() != ""
    assert request.book is not None and request.book.portfolio.positions == ()
    assert DecisionRequest.model_validate(request.model_dump()) == request, "constructed values are valid ones"


def test_the_snapshot_alone_has_the_same_snapshot_and_digest_and_no_prompt_or_book(tmp_path: Path) -> None:
    request, snapshot = _request(tmp_path, frozenset({RequestPart.SNAPSHOT}))
    assert request.snapshot == snapshot.model_dump(mode="json")
    assert request.snapshot_digest == snapshot.digest()
    assert request.snapshot_prompt == ""
    assert request.book is None


def test_an_agent_that_reads_nothing_gets_the_regime_the_tools_record_and_nothing_else(tmp_path: Path) -> None:
    request, snapshot = _request(tmp_path, frozenset())
    assert snapshot.regime is not None, "the test needs a moment with a regime"
    assert request.snapshot == {"regime": snapshot.regime.model_dump(mode="json")}
    assert request.snapshot_digest == "" and request.snapshot_prompt == "" and request.book is None


def test_what_each_agent_declares_it_reads() -> None:
    assert parts_read(object()) == EVERY_PART, "an agent that declares nothing gets everything (LLM, router)"
    assert RulesBackend.reads == frozenset({RequestPart.SNAPSHOT})
    assert SmaCrossAgent.reads == frozenset()
    with pytest.raises(ValueError):
        parts_read(type("Odd", (), {"reads": frozenset({"tea leaves"})})())


@dataclass
class Recorder:
    """An agent reading only what ``reads`` names, keeping every request it was given."""

    reads: frozenset[RequestPart]
    requests: list[DecisionRequest] = field(default_factory=list)
    name: str = "recorder"

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        self.requests.append(request)
        return build_record(DecisionSession(request=request, memory_max_chars=0), backend=self.name,
                            prompt_version="test")

    def drain_alerts(self) -> list[Alert]:
        return []


@pytest.mark.parametrize("reads", [frozenset(), EVERY_PART])
def test_the_engine_builds_what_the_agent_declares(tmp_path: Path, reads: frozenset[RequestPart]) -> None:
    agents: list[Recorder] = []

    def factory(desk: TradingDesk, journal: JournalSink, clock: Clock) -> Recorder:
        agents.append(Recorder(reads))
        return agents[0]

    data = select_data(start=datetime(2025, 1, 1, tzinfo=UTC), end=datetime(2025, 1, 8, tzinfo=UTC))
    asyncio.run(run_backtest(BacktestRequest(load_settings(None), data, tmp_path / "run", AgentChoice(factory))))
    requests = agents[0].requests
    assert requests, "the gate woke the agent in the first week of 2025"
    for request in requests:
        assert (request.snapshot_prompt != "") is (RequestPart.PROMPT in reads)
        assert (request.book is not None) is (RequestPart.BOOK in reads)
        assert (len(request.snapshot_digest) == 64) is (RequestPart.SNAPSHOT in reads)
        assert ("timeframes" in request.snapshot) is (RequestPart.SNAPSHOT in reads)
