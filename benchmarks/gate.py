"""Gate throughput and quality on the bundled real BTC/USDT 5m and 1m series, default settings, no agent.

Throughput is printed as a ratio against two references measured in the same run on the same candles:

- ``bare loop``: the floor of any per-candle Python work (read the close, one EWMA variance update);
- ``window std``: the per-event rolling-window alternative the gate avoids (numpy std of the last 288
  returns recomputed on every candle), measured on a slice because it is slow.

Then the table the issue asks for: candles, wakes, wake rate, anomaly recall, wakes by kind, events/s.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from core.settings import GateSettings, LLMSettings
from core.types import Candle
from engine.gate_cli import load_candles
from gate.budget import BudgetLimits
from gate.replay import ReplayReport, replay

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SERIES = ("binance_BTC-USDT_5m.csv.gz", "binance_BTC-USDT_1m.csv.gz")
WINDOW = 288
WINDOW_SLICE = 20_000


def bare_loop(candles: list[Candle]) -> float:
    """Seconds for the minimal O(1) per-candle loop (one exponentially weighted variance update)."""
    decay, weight, mean, m2, previous = 0.999, 0.0, 0.0, 0.0, candles[0].close
    began = time.perf_counter()
    for candle in candles:
        value = math.log(candle.close / previous)
        previous = candle.close
        weight = decay * weight + 1.0
        delta = value - mean
        mean += delta / weight
        m2 = decay * m2 + delta * (value - mean)
    return time.perf_counter() - began


def window_std_loop(candles: list[Candle]) -> float:
    """Seconds for recomputing a 288-return rolling z-score on every candle (ring buffer + numpy std)."""
    ring = np.zeros(WINDOW)
    previous = candles[0].close
    began = time.perf_counter()
    for index, candle in enumerate(candles):
        value = math.log(candle.close / previous)
        previous = candle.close
        std = float(ring.std())
        _ = (value - float(ring.mean())) / std if std > 0 else 0.0
        ring[index % WINDOW] = value
    return time.perf_counter() - began


def _print_table(reports: list[ReplayReport]) -> None:
    kinds = sorted({kind for report in reports for kind in report.wakes_by_kind})
    header = [
        "series",
        "candles",
        "wakes",
        "wake rate",
        "recall",
        *[f"{k}" for k in kinds],
        "fallback",
        "suppr",
        "ev/s",
    ]
    print(" | ".join(header))
    for r in reports:
        cells = [
            f"{r.symbol} {r.timeframe}",
            f"{r.scored:,}",
            f"{r.wakes:,}",
            f"{r.wake_rate:.2%}",
            f"{r.recall:.2%} ({r.recalled}/{r.top_candles})",
            *[f"{r.wakes_by_kind.get(k, 0):,}" for k in kinds],
            f"{r.fallback_wakes:,}",
            f"{r.suppressed:,}",
            f"{r.events_per_s:,.0f}",
        ]
        print(" | ".join(cells))


def main() -> None:
    settings = GateSettings()
    limits = BudgetLimits.from_settings(LLMSettings())
    reports = []
    for name in SERIES:
        candles = load_candles(DATA / name)
        report = replay(candles, settings, limits, data=name)
        reports.append(report)
        scored = candles[288:]
        bare_s = bare_loop(scored)
        window_slice = scored[:WINDOW_SLICE]
        window_per_event = window_std_loop(window_slice) / len(window_slice)
        gate_per_event = report.seconds / report.scored
        bare_per_event = bare_s / len(scored)
        print(
            f"{name}: gate {report.events_per_s:,.0f} events/s; "
            f"bare loop {1 / bare_per_event:,.0f} events/s (gate costs {gate_per_event / bare_per_event:.1f}x "
            f"the floor); window std {1 / window_per_event:,.0f} events/s "
            f"(gate is {window_per_event / gate_per_event:.1f}x faster)"
        )
    _print_table(reports)


if __name__ == "__main__":
    main()
