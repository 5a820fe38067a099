"""The decision request for one wake, built with only the parts its agent reads (``core.decisions.RequestPart``).

A full request costs milliseconds: the snapshot of four timeframes, its canonical JSON and digest, its prompt
text, the account's view and the learner's posteriors. An LLM needs all of it; a scripted agent reads less
(the rules agent: the snapshot and its digest; the SMA crossover: nothing but the time and the symbol), and a
backtest wakes it thousands of times. What an agent does not read is not built; what the tools read of the
request (the snapshot's regime, which ``place_order`` records with the trade) is always there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np

from core.canonical import canonical_json, sha256_hex
from core.decisions import LLMHealth, RequestPart
from core.ids import Symbol
from core.types import DecisionRequest, WakeReason
from engine.book import DecisionLog, book_view
from learning.service import Learner
from market.builder import Market
from market.regime import RegimeTracker
from safety.service import SafetyService


@runtime_checkable
class DeclaresActions(Protocol):
    """An agent that is a pure function of data the backtest already has, and says in bulk where it may act.

    ``acts_at(symbol)``: the close times (ns since the epoch, sorted) of ``symbol``'s candles at whose wake it may
    call any tool at all. At every other wake its decision is a hold: no tool call, no usage, no memory, no
    schedule, no fallback reason; a record with ``backend=name`` and nothing else that any count reads. A backtest
    (``engine/replay.py``) decides those wakes in bulk as holds instead of stepping the engine for them; the
    declaration must be a superset of where the per-candle agent calls a tool (``--exact`` is the oracle,
    ``tests/backtests/test_fast_path.py``)."""

    name: str

    def acts_at(self, symbol: str) -> np.ndarray: ...


def decision_request(
    wake: WakeReason, symbol: Symbol, now: datetime, reads: frozenset[RequestPart], *,
    market: Market, safety: SafetyService, learner: Learner, decisions: DecisionLog, regime_on_demand: bool = False,
) -> DecisionRequest:  # fmt: skip
    """The request for ``wake`` as of ``now``; the parts outside ``reads`` are left empty (documented on
    ``DecisionRequest``). Every value is built here from checked models, so it is constructed, not validated.

    ``regime_on_demand`` (a backtest, where the regime's candles never change under a decision): an agent that
    reads no snapshot gets the regime document read when a tool first asks for it (``_RegimeOnDemand``)."""
    prompt = ""
    document: Mapping[str, Any]
    if RequestPart.SNAPSHOT in reads or RequestPart.PROMPT in reads:
        snapshot, document = market.snapshot_document(symbol, now)
        digest = sha256_hex(canonical_json(document))  # MarketSnapshot.digest() without a second dump
        regime = snapshot.regime.label if snapshot.regime is not None else None
        if RequestPart.PROMPT in reads:
            prompt = snapshot.to_prompt()
    elif regime_on_demand and RequestPart.BOOK not in reads:
        document, digest, regime = _RegimeOnDemand(market.builder(symbol).regime, now), "", None
    else:
        document, digest = _regime_only(market, symbol, now), ""
        regime = document["regime"]["label"] if "regime" in document else None
    book = None
    if RequestPart.BOOK in reads:
        book = book_view(safety.portfolio_view(now), learner.evidence(regime), decisions)
    return DecisionRequest.model_construct(
        wake=wake,
        symbol=symbol,
        as_of=now,
        snapshot=cast("dict[str, Any]", document),  # on demand: a Mapping, and its readers use only get/[]/in
        snapshot_prompt=prompt,
        snapshot_digest=digest,
        llm=LLMHealth(),
        book=book,
    )


def _regime_only(market: Market, symbol: Symbol, now: datetime) -> dict[str, Any]:
    """The part of the snapshot the tools read when the agent reads none of it: the regime, as the snapshot would
    carry it (the same tracker, the same moment)."""
    tracker = market.builder(symbol).regime
    reading = tracker.at(now) if tracker is not None else None
    return {} if reading is None else {"regime": reading.model_dump(mode="json")}


class _RegimeOnDemand(Mapping[str, Any]):
    """``_regime_only``'s document, read on first use. Only ``place_order`` reads it (the regime it records with
    the trade), so a decision that places nothing never asks the tracker, and a week in which nothing is placed
    never fits its model (``RegimeTracker`` fits on the first reading of each refit period)."""

    def __init__(self, tracker: RegimeTracker | None, now: datetime) -> None:
        self._tracker = tracker
        self._now = now
        self._document: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        if self._document is None:
            reading = self._tracker.at(self._now) if self._tracker is not None else None
            self._document = {} if reading is None else {"regime": reading.model_dump(mode="json")}
        return self._document

    def __getitem__(self, key: str) -> Any:
        return self._read()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())
