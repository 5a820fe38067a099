"""What a backtest counts besides P&L: the agent's cost and behaviour, step by step (pure, no I/O)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from backtests.metrics import OpenPosition, mark_to_market
from core.types import ClosedTrade, DecisionRecord, Position, WakeKind
from engine.engine import StepReport

LLM_BACKENDS = frozenset({"anthropic", "claude-code", "replay"})


class AgentStats(BaseModel):
    """The agent side of a run's metrics."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: int
    wakes: int
    wake_rate_pct: float
    wakes_by_kind: dict[str, int]
    blocked_wakes: int
    decisions: int
    decided_by: dict[str, int]
    """Decisions per backend that actually made them (e.g. ``anthropic`` and ``rules`` when it fell back)."""
    llm_calls: int
    fallback_decisions: dict[str, int]
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    cached_input_share_pct: float | None
    """Cache reads as % of every input token sent (uncached + written + read); ``None`` without LLM input."""
    prompt_cache_check: dict[str, object] | None = None
    """The LLM backend's start-up check of its stable prefix against the model's cache minimum."""
    cost_usd: float
    tool_calls: dict[str, int]
    vetoes_by_code: dict[str, int]
    breaker_openings: int
    guard_errors: int


@dataclass
class RunRecorder:
    """Accumulates per-step facts; equity and exposure per bar, and every count the metrics report."""

    times: list[datetime] = field(default_factory=list)
    equity: list[float] = field(default_factory=list)
    closes: list[float] = field(default_factory=list)
    trades: list[ClosedTrade] = field(default_factory=list)
    bars_in_position: int = 0
    steps: int = 0
    wakes: Counter[str] = field(default_factory=Counter)
    blocked: int = 0
    decisions: int = 0
    decided_by: Counter[str] = field(default_factory=Counter)
    llm_calls: int = 0
    fallbacks: Counter[str] = field(default_factory=Counter)
    tokens: Counter[str] = field(default_factory=Counter)
    cost_usd: float = 0.0
    tool_calls: Counter[str] = field(default_factory=Counter)
    vetoes: Counter[str] = field(default_factory=Counter)
    guard_errors: int = 0
    open_at_end: tuple[Position, ...] = ()
    """The positions the safety book still held after the last bar."""
    last_closes: dict[str, float] = field(default_factory=dict)
    """Each market's last close (a portfolio marks each position at its own market's)."""

    def open_positions(self) -> list[OpenPosition]:
        """``open_at_end`` marked to its market's last close."""
        if not self.closes:
            return []
        return [mark_to_market(p, self._mark(p.symbol), self.times[-1]) for p in self.open_at_end]

    def _mark(self, symbol: str) -> Decimal:
        return Decimal(str(self.last_closes.get(symbol, self.closes[-1])))

    def step(self, report: StepReport) -> None:
        """What one engine step did: trades closed, the wake and what came of it."""
        self.steps += 1
        self.trades.extend(report.closed)
        self.guard_errors += len(report.guard_errors)
        if report.wake is not None:
            self.wakes[report.wake.kind.value] += 1
        if report.blocked is not None:
            self.blocked += 1
        if report.decision is not None:
            self.decision(report.decision)

    def holds(self, kinds: Mapping[WakeKind, int], backend: str) -> None:
        """Wakes a backtest decided in bulk as holds (``engine.request.DeclaresActions``): counted as ``step`` and
        ``decision`` count a stepped wake whose decision called nothing and used nothing (the step itself is
        counted with the skipped candles)."""
        for kind, count in kinds.items():
            self.wakes[kind.value] += count
            self.decisions += count
            self.decided_by[backend] += count
            if backend in LLM_BACKENDS:
                self.llm_calls += count

    def decision(self, record: DecisionRecord) -> None:
        self.decisions += 1
        self.decided_by[record.backend] += 1
        if record.backend in LLM_BACKENDS and record.fallback_reason is None:
            self.llm_calls += 1
        if record.fallback_reason is not None:
            self.fallbacks[_reason_class(record.fallback_reason)] += 1
        usage = record.usage
        self.tokens.update(
            {
                "input": usage.input_tokens,
                "output": usage.output_tokens,
                "cache_read": usage.cache_read_input_tokens,
                "cache_write": usage.cache_creation_input_tokens,
                "cache_write_1h": usage.cache_creation_1h_input_tokens,
            }
        )
        self.cost_usd += usage.cost_usd
        for call in record.tool_calls:
            self.tool_calls[call.name] += 1
            if call.veto is not None:
                self.vetoes[call.veto.code] += 1

    def agent_stats(self, breaker_openings: int, cache_check: dict[str, object] | None = None) -> AgentStats:
        wakes = sum(self.wakes.values())
        sent = self.tokens["input"] + self.tokens["cache_write"] + self.tokens["cache_read"]
        return AgentStats(
            steps=self.steps,
            wakes=wakes,
            wake_rate_pct=round(100 * wakes / self.steps, 6) if self.steps else 0.0,
            wakes_by_kind=dict(sorted(self.wakes.items())),
            blocked_wakes=self.blocked,
            decisions=self.decisions,
            decided_by=dict(sorted(self.decided_by.items())),
            llm_calls=self.llm_calls,
            fallback_decisions=dict(sorted(self.fallbacks.items())),
            input_tokens=self.tokens["input"],
            output_tokens=self.tokens["output"],
            cache_read_tokens=self.tokens["cache_read"],
            cache_write_tokens=self.tokens["cache_write"],
            cache_write_1h_tokens=self.tokens["cache_write_1h"],
            cached_input_share_pct=round(100 * self.tokens["cache_read"] / sent, 4) if sent else None,
            prompt_cache_check=cache_check,
            cost_usd=round(self.cost_usd, 6),
            tool_calls=dict(sorted(self.tool_calls.items())),
            vetoes_by_code=dict(sorted(self.vetoes.items())),
            breaker_openings=breaker_openings,
            guard_errors=self.guard_errors,
        )


def _reason_class(reason: str) -> str:
    """``llm_failure: overloaded`` -> ``llm_failure``: count by kind, not by message."""
    return reason.split(":", 1)[0].strip()
