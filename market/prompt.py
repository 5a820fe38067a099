"""Render a ``MarketSnapshot`` as compact, stable text for the model's context.

Stable: the same snapshot always renders to the same bytes (fixed section order, fixed number
formats). Compact: one table row per timeframe, then the price path (the last closes of each timeframe),
the swing highs and lows, and every signal with its value. The whole text stays within ``max_tokens``
(default 1,500): the swings, then the path of the shortest timeframes are dropped first when it would not.
The snapshot is market data only; the account and the agent's memory are rendered by the agent package.

Token estimate: no tokenizer is available offline, so :func:`estimate_tokens` uses
``ceil(characters / 3)``. The common rule of thumb is ~4 characters per token for English prose;
this text is mostly digits and punctuation, which tokenise worse, so /3 is the conservative bound the
budget is enforced with. :func:`estimate_tokens_chars4` gives the rule-of-thumb figure for comparison.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING

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
SIGNALS_LEGEND = "(votes in [-1, 1], + favours long, - short, 0 neutral; volatility_squeeze: strength 0..1, no side)"


def estimate_tokens(text: str) -> int:
    """Conservative token estimate used for the budget: ``ceil(chars / 3)``."""
    return math.ceil(len(text) / 3)


def estimate_tokens_chars4(text: str) -> int:
    """The ~4 characters per token rule of thumb."""
    return math.ceil(len(text) / 4)


def render_prompt(snapshot: MarketSnapshot, max_tokens: int = 1500) -> str:
    market = _market_lines(snapshot)
    path = [_path_line(t) for t in snapshot.timeframes if t.recent_closes]
    swings = [line for t in snapshot.timeframes if (line := _swing_line(t))]
    signals = [_signals_line(snapshot)] if snapshot.signals else []
    text = _compose(market, path, swings, signals)
    while estimate_tokens(text) > max_tokens and (swings or path):
        if swings:
            swings = []
        else:
            path = path[1:]
        text = _compose(market, path, swings, signals)
    return text


def _compose(market: list[str], path: list[str], swings: list[str], signals: list[str]) -> str:
    lines = list(market)
    if path:
        lines.append("price path (last closes, oldest first):")
        lines.extend(path)
    if swings:
        lines.append("swings (pivot highs/lows, 2 bars each side, oldest first):")
        lines.extend(swings)
    lines.extend(signals)
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


# ---------------------------------------------------------------- path, swings, signals


def _path_line(t: TimeframeSummary) -> str:
    return f"{t.timeframe}: " + " ".join(_p(c) for c in t.recent_closes)


def _swing_line(t: TimeframeSummary) -> str:
    if not t.swing_highs and not t.swing_lows:
        return ""
    highs = ", ".join(f"{_p(p.price)} ({_mdhm(p.at)})" for p in t.swing_highs) or "-"
    lows = ", ".join(f"{_p(p.price)} ({_mdhm(p.at)})" for p in t.swing_lows) or "-"
    return f"{t.timeframe} highs {highs}; lows {lows}"


def _signals_line(s: MarketSnapshot) -> str:
    values = ", ".join(f"{k.value} {_f(v, 2, signed=True)}" for k, v in s.signals.items())
    return f"signals {SIGNALS_LEGEND}: {values}"


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
