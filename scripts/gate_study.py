"""Reproduce the measurements behind the gate's defaults (docs/gate.md): ``python scripts/gate_study.py``.

Part 1 compares anomaly *baselines* offline (vectorised, causal: the baseline at a candle uses only the
candles before it) at equal flag rates: for 1 % and 2 % of candles flagged, which share of the top-1 %
absolute-return candles is flagged at that candle or the next.

Part 2 runs the real gate (``gate.replay``) over whole series with the defaults and with one setting
changed at a time, and a small model of the gate for cooldown policies the gate does not offer
(a cooldown that also holds back anomalies).

Reads the shared real series (``$TRADEWAKE_SHARED_DATA``, default ``../shared/data`` beside the repo).
Prints markdown tables; takes about a minute on one core. Not part of the test run.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.settings import GateSettings, LLMSettings  # noqa: E402
from engine.gate_cli import load_candles  # noqa: E402
from gate.budget import BudgetLimits  # noqa: E402
from gate.replay import replay  # noqa: E402
from market.candles import load_candles as load_frame  # noqa: E402
from market.candles import open_ms  # noqa: E402

DATA = Path(os.environ.get("TRADEWAKE_SHARED_DATA", ROOT.parent / "shared" / "data"))
WARMUP = 288
RATES = (0.01, 0.02)


def _prev(values: np.ndarray) -> np.ndarray:
    return np.concatenate([[np.nan], values[:-1]])


def ew_moments(x: np.ndarray, halflife: float) -> tuple[np.ndarray, np.ndarray]:
    """Causal exponentially weighted mean and std (weights normalised by their sum), as the gate keeps them."""
    decay = 0.5 ** (1.0 / halflife)
    mean_out, std_out = np.full(len(x), np.nan), np.full(len(x), np.nan)
    weight = mean = m2 = 0.0
    for i, value in enumerate(x.tolist()):
        if weight > 0:
            mean_out[i], std_out[i] = mean, math.sqrt(max(m2 / weight, 0.0))
        weight = decay * weight + 1.0
        delta = value - mean
        mean += delta / weight
        m2 = decay * m2 + delta * (value - mean)
    return mean_out, std_out


def recall_at_rate(score: np.ndarray, top: np.ndarray, rate: float) -> float:
    scored = np.nan_to_num(score, nan=-np.inf, posinf=-np.inf)
    scored[:WARMUP] = -np.inf
    threshold = np.quantile(scored[WARMUP:], 1 - rate)
    flag = scored >= threshold
    covered = flag | np.concatenate([flag[1:], [False]])
    return float(covered[top].mean())


def baselines(frame: pd.DataFrame, step_s: int) -> dict[str, np.ndarray]:
    close, high, low = frame["close"].to_numpy(), frame["high"].to_numpy(), frame["low"].to_numpy()
    r = np.concatenate([[0.0], np.diff(np.log(close))])
    a = np.abs(r)
    day = 86400 / step_s
    out: dict[str, np.ndarray] = {}
    for window in (288, 2016, 8640):
        roll = pd.Series(r).rolling(window, min_periods=20)
        roll_mean, roll_std = _prev(roll.mean().to_numpy()), _prev(roll.std().to_numpy())
        out[f"rolling std z, {window} candles"] = np.abs(r - roll_mean) / roll_std
    for days in (1, 7, 30, 90):
        mean, std = ew_moments(r, days * day)
        out[f"EWMA z, half-life {days} d"] = np.abs(r - mean) / std
    mean_abs, _ = ew_moments(a, 30 * day)
    out["|r| / EWMA |r|, half-life 30 d"] = a / mean_abs
    for window in (288, 2016):
        out[f"|r| / rolling median |r| (MAD-like), {window}"] = a / _prev(
            pd.Series(a).rolling(window, min_periods=20).median().to_numpy()
        )
    rng = np.log(high / low)
    mean_rng, _ = ew_moments(rng, 30 * day)
    out["range / EWMA range (ATR-like), 30 d"] = rng / mean_rng
    log_volume = np.log1p(frame["volume"].to_numpy())
    vmean, vstd = ew_moments(log_volume, day)
    out["volume z, half-life 1 d (alone)"] = (log_volume - vmean) / vstd
    return out


def part1(name: str, step_s: int) -> None:
    frame = load_frame(DATA / name)
    r = np.abs(np.concatenate([[0.0], np.diff(np.log(frame["close"].to_numpy()))]))
    top = np.zeros(len(r), dtype=bool)
    top[WARMUP:] = r[WARMUP:] >= np.quantile(r[WARMUP:], 0.99)
    print(f"\n### {name}: recall at equal flag rates\n")
    print("| baseline | " + " | ".join(f"recall @ {rate:.0%} flagged" for rate in RATES) + " |")
    print("|---|" + "---|" * len(RATES))
    with np.errstate(divide="ignore", invalid="ignore"):
        for label, score in baselines(frame, step_s).items():
            print(f"| {label} | " + " | ".join(f"{recall_at_rate(score, top, rate):.1%}" for rate in RATES) + " |")


def part2(name: str) -> None:
    candles = load_candles(DATA / name)
    limits = BudgetLimits.from_settings(LLMSettings())
    variants: list[tuple[str, dict[str, object]]] = [
        ("defaults", {}),
        ("return_z_threshold 2.75", {"return_z_threshold": 2.75}),
        ("return_z_threshold 3.0", {"return_z_threshold": 3.0}),
        ("return_baseline_halflife_h 24 (1 d)", {"return_baseline_halflife_h": 24.0}),
        ("return_baseline_halflife_h 168 (7 d)", {"return_baseline_halflife_h": 168.0}),
        ("return_baseline_halflife_h 2160 (90 d)", {"return_baseline_halflife_h": 2160.0}),
        ("cooldown_s 3600", {"cooldown_s": 3600}),
        ("candle_close_timeframes ()", {"candle_close_timeframes": ()}),
        ("candle_close_timeframes (1h)", {"candle_close_timeframes": ("1h",)}),
    ]
    print(f"\n### {name}: the real gate, one setting changed at a time\n")
    print("| settings | wake rate | recall | anomaly | candle_close | timer | fallback | suppressed |")
    print("|---|---|---|---|---|---|---|---|")
    for label, change in variants:
        report = replay(candles, GateSettings.model_validate(change), limits)
        kinds = report.wakes_by_kind
        counts = [kinds.get(kind, 0) for kind in ("anomaly", "candle_close", "timer")]
        cells = [label, f"{report.wake_rate:.2%}", f"{report.recall:.1%}", *map(str, counts)]
        cells += [str(report.fallback_wakes), str(report.suppressed)]
        print("| " + " | ".join(cells) + " |")


def cooldown_model(name: str, step_s: int) -> None:
    """The gate's layers in a few lines, to measure cooldown policies it does not implement."""
    frame = load_frame(DATA / name)
    ts = open_ms(frame) // 1000 + step_s
    close = frame["close"].to_numpy()
    r = np.concatenate([[0.0], np.diff(np.log(close))])
    mean, std = ew_moments(r, 720 * 3600 / step_s)
    with np.errstate(divide="ignore", invalid="ignore"):  # the first candle has no baseline yet
        z = np.abs(r - mean) / std
    top = np.zeros(len(r), dtype=bool)
    top[WARMUP:] = np.abs(r[WARMUP:]) >= np.quantile(np.abs(r[WARMUP:]), 0.99)
    print(f"\n### {name}: cooldown policies (model of the gate, threshold 2.5, 4h closes, 4h timer)\n")
    print("| cooldown 900 s applies to | wake rate | recall |")
    print("|---|---|---|")
    for policy in ("candle close only (the gate)", "anomalies unless stronger than the last wake", "every layer"):
        woke = np.zeros(len(r), dtype=bool)
        last, last_z, deadline = -1e18, 0.0, ts[WARMUP - 1] + 14400
        for i in range(WARMUP, len(r)):
            anomaly = bool(z[i] >= 2.5)
            routine = ts[i] % 14400 == 0 or ts[i] >= deadline
            if not (anomaly or routine):
                continue
            cooling = ts[i] - last < 900
            if policy.startswith("candle"):
                grant = anomaly or not cooling or ts[i] >= deadline
            elif policy.startswith("anomalies"):
                grant = not cooling or (anomaly and z[i] > last_z)
            else:
                grant = not cooling
            if grant:
                woke[i], last, last_z, deadline = True, ts[i], float(z[i]) if anomaly else 0.0, ts[i] + 14400
        covered = woke | np.concatenate([woke[1:], [False]])
        print(f"| {policy} | {woke[WARMUP:].mean():.2%} | {covered[top].mean():.1%} |")


def main() -> None:
    for name, step_s in (("binance_BTC-USDT_5m.csv.gz", 300), ("binance_BTC-USDT_1m.csv.gz", 60)):
        part1(name, step_s)
        cooldown_model(name, step_s)
    for name in (
        "binance_BTC-USDT_5m.csv.gz",
        "binance_BTC-USDT_1m.csv.gz",
        "binance_ETH-USDT_5m.csv.gz",
        "binance_ETH-USDT_1m.csv.gz",
    ):
        part2(name)


if __name__ == "__main__":
    main()
