"""The live view's state, read from the store that live runners write: the "dashboard store reader".

Every read goes through the ``Store`` port and the owners' own readers (``SafetyBook.load`` for positions,
controls and breakers, ``open_gate`` for the schedule, armed conditions and the LLM budget), so SQLite and
Redis stores read the same (``tests/dashboard/test_live_state.py`` runs against both). ``build_live_state``
is pure; ``read_live_state`` does the reading. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from backtests.report.timeline import DecisionLine, decision_line
from core.clock import SimClock
from core.ports import JournalEvent, Store
from core.settings import Settings
from core.types import DecisionRecord, Position, PositionSide
from dashboard.holdings import HoldingRow, read_holdings
from gate.budget import BudgetStatus
from gate.gate import Gate
from gate.persistence import STATE_KEY as GATE_KEY
from gate.persistence import open_gate
from gate.tracker import SymbolTracker
from safety.operator import BreakerBoard, PendingEntry, read_stored_safety

RECENT_EVENTS = 400
"""How far back in the journal the live view looks for the latest decisions and activity."""
RECENT_DECISIONS = 12


@dataclass(frozen=True, slots=True)
class LivePosition:
    position: Position
    last_price: Decimal | None
    unrealized_pnl: Decimal | None
    """At ``last_price``, net of the entry fee."""
    held_s: float


@dataclass(frozen=True, slots=True)
class Budget:
    status: BudgetStatus
    usd_per_day: float
    wakes_per_day: int
    tokens_per_day: int


@dataclass(frozen=True)
class LiveState:
    now: datetime
    board: BreakerBoard | None
    """``None`` until an engine has run against the store."""
    positions: list[LivePosition] = field(default_factory=list)
    entries: list[PendingEntry] = field(default_factory=list)
    pending_commands: list[dict[str, object]] = field(default_factory=list)
    next_check_at: datetime | None = None
    conditions: list[str] = field(default_factory=list)
    budget: Budget | None = None
    decisions: list[DecisionLine] = field(default_factory=list)
    last_event_at: datetime | None = None
    heartbeat_at: datetime | None = None
    holdings: list[HoldingRow] = field(default_factory=list)
    """Managed holdings: every asset with a record, its open proposal, the operator's actions now."""

    @property
    def halted(self) -> bool:
        return self.board is not None and self.board.controls.halted

    @property
    def sleeping(self) -> bool:
        return self.board is not None and self.board.controls.sleeping(self.now)

    @property
    def unrealized(self) -> Decimal:
        return sum((p.unrealized_pnl or Decimal(0) for p in self.positions), Decimal(0))

    @property
    def equity_estimate(self) -> Decimal | None:
        """Day-start equity + today's realized + the open positions' unrealized P&L."""
        if self.board is None:
            return None
        return self.board.trading.day_start_equity + self.board.trading.realized_pnl + self.unrealized

    def age_s(self, at: datetime | None) -> float | None:
        return None if at is None else (self.now - at).total_seconds()


def read_live_state(store: Store, settings: Settings, now: datetime, heartbeat: Path | None = None) -> LiveState:
    """What a live runner has persisted, as of ``now`` (the wall clock: the dashboard is a live viewer)."""
    stored = read_stored_safety(store, now)
    gate = _gate(store, settings)
    tail = store.tail_journal(RECENT_EVENTS)
    return build_live_state(
        now,
        board=stored.board if stored else None,
        positions=list(stored.positions) if stored else [],
        entries=list(stored.entries) if stored else [],
        pending=[r.command.model_dump(mode="json") for r in store.pending_commands()],
        gate=gate,
        prices=_last_prices(store, settings),
        tail=tail,
        settings=settings,
        heartbeat_at=read_heartbeat(heartbeat),
        holdings=read_holdings(store),
    )


def build_live_state(
    now: datetime, *, board: BreakerBoard | None, positions: list[Position], entries: list[PendingEntry],
    pending: list[dict[str, object]], gate: Gate | None, prices: dict[str, Decimal], tail: list[JournalEvent],
    settings: Settings, heartbeat_at: datetime | None, holdings: list[HoldingRow] | None = None,
) -> LiveState:  # fmt: skip
    decisions = [decision_line(e.seq, DecisionRecord.model_validate(e.payload)) for e in tail if e.kind == "decision"]
    llm = settings.llm
    return LiveState(
        now=now,
        board=board,
        positions=[_live_position(p, prices.get(p.symbol), now) for p in positions],
        entries=entries,
        pending_commands=pending,
        next_check_at=gate.next_check_at if gate else None,
        conditions=[c.describe() for c in gate.armed_conditions] if gate else [],
        budget=Budget(gate.budget_status(now), llm.max_usd_per_day, llm.max_wakes_per_day, llm.max_tokens_per_day)
        if gate else None,
        decisions=decisions[-RECENT_DECISIONS:][::-1],
        last_event_at=tail[-1].at if tail else None,
        heartbeat_at=heartbeat_at,
        holdings=holdings or [],
    )  # fmt: skip


def _live_position(position: Position, price: Decimal | None, now: datetime) -> LivePosition:
    pnl = None
    if price is not None:
        direction = 1 if position.side is PositionSide.LONG else -1
        pnl = (price - position.entry_price) * position.quantity * direction - position.entry_fee
    return LivePosition(position, price, pnl, (now - position.opened_at).total_seconds())


def _gate(store: Store, settings: Settings) -> Gate | None:
    doc = store.get(GATE_KEY)
    if doc is None:
        return None
    symbols = tuple(str(s) for s in doc.value.get("symbols", ()))
    return open_gate(settings.gate, settings.llm, store, SimClock(_epoch()), symbols=symbols)


def _last_prices(store: Store, settings: Settings) -> dict[str, Decimal]:
    """The last price the gate saw per symbol (the live runner saves the gate's state every step)."""
    doc = store.get(GATE_KEY)
    if doc is None:
        return {}
    prices = {}
    for symbol, state in doc.value.get("trackers", {}).items():
        tracker = SymbolTracker.from_state(symbol, state, settings.gate)
        if tracker.last_price is not None:
            prices[symbol] = Decimal(str(tracker.last_price))
    return prices


def read_heartbeat(path: Path | None) -> datetime | None:
    """The time the live runner last wrote into its ``--heartbeat`` file (``None`` without one)."""
    if path is None or not path.is_file():
        return None
    text = path.read_text(encoding="utf-8").strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _epoch() -> datetime:
    """``open_gate`` needs a clock only to start a fresh gate, which never happens here (the state exists)."""
    from datetime import UTC

    return datetime(1970, 1, 1, tzinfo=UTC)
