"""The rules backend: a deterministic fallback that decides without a model.

It scores the snapshot's signal evidence with the learner's weights and acts through the same
tools (and so the same veto and journal) as the LLM backends. Used when no key is configured,
when the LLM budget is spent, while the LLM breaker is open, and on a cassette miss if so set.

It reads the snapshot's JSON form: votes per signal from ``agent.signals`` (indicators of the
slowest timeframe, regime, funding), ``last_price``, ATR % for the stop distance, and the
``learner_weights`` slot (the learner's JSON, ``{signal: weight}``, or ``{signal: {"alpha", "beta"}}``;
when empty the ``get_learner_weights`` tool is asked).
Weights are Thompson samples from the Beta posteriors with an RNG seeded by the learner seed and
the snapshot digest, so the same snapshot always gives the same decision.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agent.records import build_record
from agent.signals import atr_pct, last_price, signal_votes
from core.decisions import RequestPart
from core.portfolio import PortfolioView, PositionView
from core.settings import LLMSettings, RiskSettings
from core.types import Alert, DecisionRecord, DecisionRequest, PositionSide, Signal
from tools.context import DecisionSession, JournalSink, TradingDesk
from tools.executor import ToolExecutor
from tools.registry import ToolName
from tools.results import PortfolioResult

RULES_PROMPT_VERSION = "rules-v1"
EQUAL_WEIGHT = 0.5
"""Every signal's weight with ``llm.rules_weights = "equal"`` (the learner's ablation baseline)."""
DEFAULT_ATR_PCT = 1.5
FLAT_CHECK_S = 4 * 3600
IN_POSITION_CHECK_S = 3600
_SIGNAL_NAMES = frozenset(signal.value for signal in Signal)
"""The closed list's names (a ``Signal`` equals and hashes as its name): a set lookup, not a scan of the enum."""


@dataclass(frozen=True)
class Score:
    value: float
    """Weighted mean vote in [-1, 1]."""
    contributions: tuple[tuple[Signal, float, float], ...]
    """(signal, vote, weight), strongest first."""

    def supporting(self, side: PositionSide, limit: int = 3) -> tuple[Signal, ...]:
        sign = 1 if side is PositionSide.LONG else -1
        agreeing = [s for s, vote, weight in self.contributions if vote * sign > 0 and weight > 0]
        return tuple(agreeing[:limit])

    def explain(self) -> str:
        parts = ", ".join(f"{s.value}={vote:+.2f}x{weight:.2f}" for s, vote, weight in self.contributions)
        return f"weighted signal score {self.value:+.3f} ({parts or 'no signals'})"


def score_signals(votes: Mapping[str, Any], weights: Mapping[str, Any], rng: random.Random) -> Score:
    """Pure: the weighted mean of the non-zero signal votes (unknown names and non-numbers are ignored)."""
    rows: list[tuple[Signal, float, float]] = []
    for name in sorted(votes):
        vote = votes[name]
        if name not in _SIGNAL_NAMES or not isinstance(vote, (int, float)):
            continue
        clipped = max(-1.0, min(1.0, float(vote)))
        rows.append((Signal(name), clipped, signal_weight(weights.get(name), rng)))
    voting = [(v, w) for _, v, w in rows if v != 0]  # a neutral signal abstains rather than dilutes
    total = sum(w for _, w in voting)
    value = sum(v * w for v, w in voting) / total if total > 0 else 0.0
    rows.sort(key=lambda r: (-abs(r[1] * r[2]), r[0].value))
    return Score(value=round(value, 6), contributions=tuple(rows))


def normalize_weights(raw: Any) -> dict[str, Any]:
    """Accept the learner's ``LearnerWeights`` JSON (``{"signals": [{"signal": ..., "alpha", "beta",
    "mean", "sample"}, ...]}``), a ``{"signals": {name: posterior}}`` wrapper, or ``{name: posterior}``."""
    if not isinstance(raw, Mapping):
        return {}
    inner = raw.get("signals", raw)
    if isinstance(inner, list):
        return {str(e["signal"]): e for e in inner if isinstance(e, Mapping) and "signal" in e}
    return dict(inner) if isinstance(inner, Mapping) else {}


def signal_weight(posterior: Any, rng: random.Random) -> float:
    """The learner's own Thompson ``sample`` if given, else a seeded draw from ``alpha``/``beta``, else
    ``mean``, else the flat prior's 0.5."""
    if isinstance(posterior, Mapping) and isinstance(posterior.get("sample"), (int, float)):
        return max(0.0, min(1.0, float(posterior["sample"])))
    if isinstance(posterior, Mapping):
        alpha, beta = posterior.get("alpha"), posterior.get("beta")
        if isinstance(alpha, (int, float)) and isinstance(beta, (int, float)) and alpha > 0 and beta > 0:
            return rng.betavariate(float(alpha), float(beta))
        mean = posterior.get("mean")
        if isinstance(mean, (int, float)):
            return max(0.0, min(1.0, float(mean)))
    if isinstance(posterior, (int, float)):
        return max(0.0, min(1.0, float(posterior)))
    return 0.5


def stop_distance_pct(atr_pct: float, risk: RiskSettings) -> float:
    """Two ATRs, kept safely inside the veto's stop bounds."""
    low = risk.stop_min_distance_pct * 1.2
    high = risk.stop_max_distance_pct * 0.9
    return round(max(low, min(high, 2 * atr_pct)), 4)


class RulesBackend:
    name = "rules"
    reads = frozenset({RequestPart.SNAPSHOT})
    """The snapshot (signals, last price, ATR, regime) and its digest; never the prompt or the book."""

    def __init__(
        self,
        *,
        llm: LLMSettings,
        risk: RiskSettings,
        desk: TradingDesk,
        journal: JournalSink,
        seed: int = 7,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.llm = llm
        self.risk = risk
        self.desk = desk
        self.journal = journal
        self.seed = seed
        self.secrets = secrets

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        return await self.decide_as_fallback(request, None)

    def drain_alerts(self) -> list[Alert]:
        """Rules call no service: nothing to tell a human."""
        return []

    async def decide_as_fallback(self, request: DecisionRequest, reason: str | None) -> DecisionRecord:
        session = DecisionSession(request=request, memory_max_chars=self.llm.memory_max_chars, secrets=self.secrets)
        executor = ToolExecutor(self.desk, self.journal, session)
        reasoning = await self._act(request, executor)
        return build_record(
            session, backend=self.name, prompt_version=RULES_PROMPT_VERSION, reasoning=reasoning,
            fallback_reason=reason,
        )

    async def _act(self, request: DecisionRequest, executor: ToolExecutor) -> str:
        snapshot = request.snapshot
        portfolio = await _portfolio(executor, request)
        weights = normalize_weights(snapshot.get("learner_weights"))
        if self.llm.rules_weights == "equal":
            weights = {signal.value: EQUAL_WEIGHT for signal in Signal}
        elif not weights:
            regime = _mapping(snapshot.get("regime")).get("label")
            args = {"regime": regime} if isinstance(regime, str) else {}
            result = (await executor.call(ToolName.GET_LEARNER_WEIGHTS, args, rules_call_id(request, 2))).record.result
            weights = normalize_weights(_mapping(result).get("weights"))
        rng = random.Random(f"{self.seed}:{request.snapshot_digest}")
        score = score_signals(signal_votes(snapshot), weights, rng)
        position = portfolio.position_in(request.symbol) if portfolio is not None else None
        action = await self._trade(request, executor, score, position, portfolio)
        seconds = IN_POSITION_CHECK_S if position or action.startswith("entered") else FLAT_CHECK_S
        schedule = {"seconds": seconds, "wake_conditions": []}
        await executor.call(ToolName.SCHEDULE_NEXT_CHECK, schedule, rules_call_id(request, 9))
        return f"rules: {score.explain()}; {action}"

    async def _trade(
        self, request: DecisionRequest, executor: ToolExecutor, score: Score,
        position: PositionView | None, portfolio: PortfolioView | None,
    ) -> str:
        threshold = self.llm.rules_min_score
        if position is not None:
            held = position.side
            against = -score.value if held is PositionSide.LONG else score.value
            if against >= threshold:
                args = {"fraction": 1, "reason": f"rules: signals turned against the {held.value} ({score.value:+.2f})"}
                outcome = await executor.call(ToolName.CLOSE_POSITION, args, rules_call_id(request, 3))
                return "closed" if not outcome.is_error else f"close refused ({outcome.record.result})"
            return "holding"
        if abs(score.value) < threshold:
            return f"no entry (|score| below {threshold})"
        side = PositionSide.LONG if score.value > 0 else PositionSide.SHORT
        if side is PositionSide.SHORT and portfolio is not None and portfolio.account.market_type == "spot":
            return "no entry (short signal on a spot account)"
        return await self._enter(request, executor, score, side)

    async def _enter(self, request: DecisionRequest, executor: ToolExecutor, score: Score, side: PositionSide) -> str:
        snapshot = request.snapshot
        last = last_price(snapshot)
        if last is None:
            return "no entry (the snapshot has no last price)"
        price = Decimal(str(last))
        distance = stop_distance_pct(atr_pct(snapshot) or DEFAULT_ATR_PCT, self.risk)
        factor = Decimal(str(1 - distance / 100 if side is PositionSide.LONG else 1 + distance / 100))
        signals = score.supporting(side)
        if not signals:
            return "no entry (no signal with weight supports the side)"
        args = {
            "side": side.value,
            "size_pct": round(self.risk.max_position_pct * min(1.0, abs(score.value)), 2),
            "order_type": "market",
            "stop_loss_price": float((price * factor).quantize(Decimal("0.00000001"))),
            "signals": [s.value for s in signals],
            "confidence": round(min(1.0, abs(score.value)), 3),
            "thesis": f"rules: score {score.value:+.2f} from {', '.join(s.value for s in signals)}",
        }
        outcome = await executor.call(ToolName.PLACE_ORDER, args, rules_call_id(request, 4))
        return f"entered {side.value}" if not outcome.is_error else f"entry refused ({outcome.record.result})"


def rules_call_id(request: DecisionRequest, step: int) -> str:
    """The id of the rules backend's call ``step`` in this decision. An entry's id is its idempotency key
    (safety derives the position id from it), so it names the decision (snapshot digest), not only the step."""
    return f"rules-{request.snapshot_digest[:16]}-{step}"


async def _portfolio(executor: ToolExecutor, request: DecisionRequest) -> PortfolioView | None:
    """The account as ``get_portfolio`` returns it; ``None`` when the call failed (then: no position known)."""
    outcome = await executor.call(ToolName.GET_PORTFOLIO, {}, rules_call_id(request, 1))
    if outcome.is_error:
        return None
    result = outcome.value  # the handler's model: its JSON form (the record) need not be read back
    return (result if isinstance(result, PortfolioResult) else PortfolioResult.model_validate(outcome.record.result)
            ).portfolio  # fmt: skip


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
