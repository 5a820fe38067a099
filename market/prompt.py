"""Render a ``MarketSnapshot`` as compact, stable text for the model's context.

Stable: the same snapshot always renders to the same bytes (fixed section order, fixed number
formats, sorted keys). Compact: one table row per timeframe; the whole text stays within
``max_tokens`` (default 1,500) by dropping the oldest recent decisions (keeping the last three),
then cutting the tail of the agent's memory (marked ``[memory truncated]``), then the rest.

Token estimate: no tokenizer is available offline, so :func:`estimate_tokens` uses
``ceil(characters / 3)``. The common rule of thumb is ~4 characters per token for English prose;
this text is mostly digits and punctuation, which tokenise worse, so /3 is the conservative bound the
budget is enforced with. :func:`estimate_tokens_chars4` gives the rule-of-thumb figure for comparison.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from market.features import FeatureConfig
from market.hmm import LABELS

if TYPE_CHECKING:
    from market.snapshot import DerivativesView, FormingBar, MarketSnapshot, TimeframeSummary

TABLE_HEADER = "tf  closed_at    close  ret%  ret_z vol_z  rsi  atr%  rv%  ema_f  ema_s  vwap%  hi%  lo%"
_D = FeatureConfig()
LEGEND = (
    f"(ret% last candle; *_z vs previous {_D.zscore_n}; rsi{_D.rsi_n}; atr{_D.atr_n}%; rv% = std of "
    f"{_D.realized_vol_n} log returns; ema {_D.ema_fast_n}/{_D.ema_slow_n}; vwap% from VWAP (base tf: since "
    f"00:00 UTC, else {_D.vwap_n} candles); hi%/lo% from {_D.high_low_n}-candle high/low)"
)
DECISION_CHARS = 240
KEEP_DECISIONS = 3
MEMORY_CUT = " ... [memory truncated]"


def estimate_tokens(text: str) -> int:
    """Conservative token estimate used for the budget: ``ceil(chars / 3)``."""
    return math.ceil(len(text) / 3)


def estimate_tokens_chars4(text: str) -> int:
    """The ~4 characters per token rule of thumb."""
    return math.ceil(len(text) / 4)


def render_prompt(snapshot: MarketSnapshot, max_tokens: int = 1500) -> str:
    market = _market_lines(snapshot)
    context = _context_lines(snapshot)
    decisions = [_decision_line(d) for d in snapshot.recent_decisions]
    memory = snapshot.memory.strip()
    text = _compose(market, context, decisions, memory)
    while estimate_tokens(text) > max_tokens and (memory or decisions):
        memory, decisions = _trim(text, max_tokens, memory, decisions)
        text = _compose(market, context, decisions, memory)
    return text


def _trim(text: str, max_tokens: int, memory: str, decisions: list[str]) -> tuple[str, list[str]]:
    """One trimming step: oldest decisions beyond the last three, then the memory's tail, then the rest."""
    if len(decisions) > KEEP_DECISIONS:
        return memory, decisions[1:]
    if memory and not memory.endswith(MEMORY_CUT):
        excess_chars = (estimate_tokens(text) - max_tokens) * 3 + len(MEMORY_CUT) + 8
        return memory[: max(0, len(memory) - excess_chars)].rstrip() + MEMORY_CUT, decisions
    if decisions:
        return memory, decisions[1:]
    return "", decisions


def _compose(market: list[str], context: list[str], decisions: list[str], memory: str) -> str:
    lines = [*market, *context]
    if decisions:
        lines.append("recent decisions (oldest first):")
        lines.extend(f"- {d}" for d in decisions)
    if memory:
        lines.append("memory: " + memory)
    return "\n".join(lines)


# ---------------------------------------------------------------- market sections


def _market_lines(s: MarketSnapshot) -> list[str]:
    lp = s.last_price
    what = (
        f"close of the last closed {s.base_timeframe} candle ({_hm(lp.at)})"
        if lp.source == "closed_candle"
        else f"live price at {_hm(lp.at)} inside the still-forming {s.base_timeframe} candle (not closed)"
    )
    lines = [
        f"MARKET SNAPSHOT {s.symbol} as_of {_iso(s.as_of)}",
        f"last price {_p(lp.price)}: {what}; data age {s.data_age_s}s",
        _regime_line(s),
        "closed candles (indicators on closed candles only):",
        LEGEND,
        TABLE_HEADER,
        *(_row(t) for t in s.timeframes),
    ]
    forming = [_forming(t.timeframe, t.forming) for t in s.timeframes if t.forming is not None]
    if forming:
        lines.append("forming (NOT closed, will change): " + "; ".join(forming))
    if s.derivatives is not None:
        lines.append(_derivatives_line(s.derivatives))
    if s.warnings:
        lines.append("warnings: " + "; ".join(s.warnings))
    return lines


def _regime_line(s: MarketSnapshot) -> str:
    r = s.regime
    if r is None:
        return "regime: unavailable (not enough history to fit)"
    probs = ", ".join(f"{k} {r.probabilities[k]:.2f}" for k in LABELS if k in r.probabilities)
    return (
        f"regime: {r.label} ({probs}) filtered HMM on {r.symbol} {r.timeframe}, "
        f"last bar {_hm(r.bar_closed_at)}, fitted {_day(r.fitted_at)}"
    )


def _row(t: TimeframeSummary) -> str:
    i, z, b = t.indicators, t.zscores, t.last_closed
    gap = f" gap {b.base_candles}/{b.expected_base_candles}" if b.base_candles < b.expected_base_candles else ""
    cells = [
        t.timeframe,
        _mdhm(b.closed_at),
        _p(b.close),
        _f(t.return_pct, 2, signed=True),
        _f(z.return_z, 1, signed=True),
        _f(z.volume_z, 1, signed=True),
        _f(i.rsi, 0),
        _f(i.atr_pct, 2),
        _f(i.realized_vol_pct, 2),
        _p(i.ema_fast),
        _p(i.ema_slow),
        _f(i.vwap_dist_pct, 2, signed=True),
        _f(i.dist_high_pct, 1),
        _f(i.dist_low_pct, 1, signed=True),
    ]
    return " ".join(cells) + gap


def _forming(tf: str, f: FormingBar) -> str:
    return (
        f"{tf} since {_hm(f.open_at)} ({f.elapsed_pct:.0f}% elapsed) o {_p(f.open)} h {_p(f.high)} "
        f"l {_p(f.low)} last {_p(f.last)} {_f(f.change_pct, 2, signed=True)}%"
    )


def _derivatives_line(d: DerivativesView) -> str:
    parts = []
    if d.funding_rate is not None:
        nxt = f" next {_hm(d.next_funding_at)}" if d.next_funding_at else ""
        parts.append(f"funding {d.funding_rate * 100:+.4f}%{nxt}")
    if d.open_interest is not None:
        change_pct = d.open_interest_change_pct
        change = f" ({_f(change_pct, 2, signed=True)}%)" if change_pct is not None else ""
        parts.append(f"open interest {_p(d.open_interest)}{change}")
    if d.long_short_ratio is not None:
        parts.append(f"long/short accounts {d.long_short_ratio:.2f}")
    if d.mark_price is not None:
        parts.append(f"mark {_p(d.mark_price)}")
    return f"derivatives {d.symbol} at {_hm(d.at)}: " + (", ".join(parts) or "no values")


# ---------------------------------------------------------------- context sections


def _context_lines(s: MarketSnapshot) -> list[str]:
    lines = [
        "position: " + (_kv(s.position) if s.position else "none"),
        "portfolio: " + (_kv(s.portfolio) if s.portfolio else "n/a"),
    ]
    if s.learner_weights:
        weights = sorted(s.learner_weights.items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append("learner signal weights: " + ", ".join(f"{k} {v:.2f}" for k, v in weights))
    return lines


def _decision_line(decision: dict[str, Any]) -> str:
    text = _kv(decision)
    return text if len(text) <= DECISION_CHARS else text[: DECISION_CHARS - 3] + "..."


def _kv(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_value(values[k])}" for k in sorted(values))


def _value(value: Any) -> str:
    if isinstance(value, float):
        return _p(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


# ---------------------------------------------------------------- number and time formats


def _p(value: float | None) -> str:
    """Prices and other levels: 8 significant digits, no trailing zeros."""
    return "-" if value is None else format(value, ".8g")


def _f(value: float | None, decimals: int, *, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hm(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%m-%d %H:%MZ")


def _mdhm(at: datetime) -> str:
    return at.strftime("%m-%d %H:%M")


def _day(at: datetime) -> str:
    return at.strftime("%Y-%m-%d")
