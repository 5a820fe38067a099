"""The data the run's charts draw (lightweight-charts series as plain JSON), built from the run's files.

Times are UNIX seconds of bar closes (the chart shows UTC). Every marker and stop point sits on a bar
time (snapped to the bar at or before it), because the chart places markers on its series' points.
A series longer than ``MAX_POINTS`` is thinned to every n-th bar (the last one kept) so that a year of
5m candles still makes a report a browser opens quickly; markers snap to the bars that remain.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backtests.report.files import Bars, TradeRow
from backtests.report.journal import StopChange
from backtests.report.timeline import DecisionLine

MAX_POINTS = 20_000
ENTRY_COLOURS = {"long": "#15935a", "short": "#d0463b"}
EXIT_STYLES: dict[str, tuple[str, str]] = {
    "stop_loss": ("#d0463b", "stop"),
    "take_profit": ("#15935a", "take-profit"),
    "trailing_stop": ("#e0891b", "trailing"),
    "agent": ("#2f6fdb", "agent"),
    "operator": ("#8a4fd6", "operator"),
    "watchdog": ("#6b7280", "watchdog"),
    "closed_externally": ("#6b7280", "external"),
    "liquidation": ("#7f1d1d", "liquidation"),
}
WAKE_COLOURS = {
    "candle_close": "#b8c0cc", "timer": "#7aa2e3", "anomaly": "#e0891b", "condition": "#8a4fd6",
    "position": "#15935a", "operator": "#d0463b", "feed_stale": "#d0463b", "startup": "#b8c0cc",
}  # fmt: skip
Point = dict[str, Any]


def _ts(at: datetime) -> int:
    return int(at.timestamp())


class _Axis:
    """The (possibly thinned) bar times, and snapping of any time onto them."""

    def __init__(self, times: Sequence[datetime]) -> None:
        stride = max(1, -(-len(times) // MAX_POINTS))
        keep = list(range(0, len(times), stride))
        if keep and keep[-1] != len(times) - 1:
            keep.append(len(times) - 1)
        self.indexes = keep
        self.seconds = [_ts(times[i]) for i in keep]

    def snap(self, at: datetime) -> int:
        position = max(0, bisect_right(self.seconds, _ts(at)) - 1)
        return self.seconds[position]


def chart_data(bars: Bars, trades: Sequence[TradeRow], stops: Sequence[StopChange],
               decisions: Sequence[DecisionLine]) -> dict[str, Any]:  # fmt: skip
    """Price with trade markers, stop levels and wakes; equity with buy-and-hold and drawdown."""
    axis = _Axis(bars.times)
    closes = [bars.closes[i] for i in axis.indexes]
    equity = [bars.equity[i] for i in axis.indexes]
    return {
        "price": _line(axis.seconds, closes),
        "markers": _markers(axis, trades),
        "stops": _stops(axis, stops),
        "wakes": _wakes(axis, decisions),
        "equity": _line(axis.seconds, equity),
        "buy_hold": _line(axis.seconds, [equity[0] * c / closes[0] for c in closes] if closes and closes[0] else []),
        "drawdown": _line(axis.seconds, _drawdown_pct(equity)),
    }


def _line(times: Sequence[int], values: Sequence[float]) -> list[Point]:
    return [{"time": t, "value": round(v, 8)} for t, v in zip(times, values, strict=True)]


def _drawdown_pct(equity: Sequence[float]) -> list[float]:
    peak, out = float("-inf"), []
    for value in equity:
        peak = max(peak, value)
        out.append((value / peak - 1.0) * 100 if peak > 0 else 0.0)
    return out


def _markers(axis: _Axis, trades: Sequence[TradeRow]) -> list[Point]:
    markers: list[Point] = []
    several = len({t.symbol for t in trades}) > 1  # a portfolio: say which market each marker is about
    for trade in trades:
        long = trade.side == "long"
        markers.append({
            "time": axis.snap(trade.opened_at), "position": "belowBar" if long else "aboveBar",
            "shape": "arrowUp" if long else "arrowDown", "color": ENTRY_COLOURS.get(trade.side, "#6b7280"),
            "text": (f"{trade.symbol.split('/')[0]} " if several else "") + trade.side
            + (" (open)" if trade.is_open else ""),
        })  # fmt: skip
        if trade.closed_at is not None:
            colour, label = EXIT_STYLES.get(trade.exit_reason, ("#6b7280", trade.exit_reason))
            markers.append({
                "time": axis.snap(trade.closed_at), "position": "aboveBar" if long else "belowBar",
                "shape": "circle", "color": colour, "text": label,
            })  # fmt: skip
    return sorted(markers, key=lambda m: m["time"])


def _stops(axis: _Axis, changes: Sequence[StopChange]) -> list[Point]:
    """The active stop at every bar: a stepped line while a position is open, gaps (whitespace) otherwise."""
    ordered = sorted(changes, key=lambda c: c.at)
    active: dict[str, float] = {}
    points: list[Point] = []
    cursor = 0
    for t in axis.seconds:
        while cursor < len(ordered) and _ts(ordered[cursor].at) <= t:
            change = ordered[cursor]
            if change.stop_price is None:
                active.pop(change.position_id, None)
            else:
                active[change.position_id] = float(change.stop_price)
            cursor += 1
        points.append({"time": t, "value": next(iter(active.values()))} if active else {"time": t})
    return points


def _wakes(axis: _Axis, decisions: Sequence[DecisionLine]) -> list[Point]:
    by_time: dict[int, Point] = {}
    for line in decisions:
        t = axis.snap(line.at)
        by_time[t] = {"time": t, "value": 1, "color": WAKE_COLOURS.get(line.wake, "#b8c0cc")}
    return [by_time[t] for t in sorted(by_time)]
