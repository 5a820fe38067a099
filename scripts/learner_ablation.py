"""The learner's ablation (docs/learner.md): the rules agent with the learner against fixed equal weights.

    python scripts/learner_ablation.py [--start 2023-06-01] [--end 2024-06-01] [--symbols BTC,ETH]
                                       [--seeds 42,7] [--json results.json]

Each arm is one continuous backtest per symbol on the bundled real Binance 5m series (``../shared/data``, or
``$TRADEWAKE_SHARED_DATA``) through the whole engine, default settings otherwise. The learner learns online,
from the trades closed so far only, so the run is a walk-forward: every month is traded with what the
earlier months taught. Reported per arm: return, max drawdown, trades, win rate, and the realized P&L of
each month and of the first and second half (the second half is where a learner that learns should differ).

Arms:
- ``equal``: every signal weighs 0.5 (``llm.rules_weights = "equal"``); the learner still records trades.
- ``learner-R``: the default learner (rewards in R multiples, ``learner.discount`` as configured), per seed.
- ``learner-R@0.98``: the same with another discount.
- ``learner-win/loss``: the learner before issue 15 (a whole win or loss per trade, no discount).

Not part of the test run. Prints markdown; takes about 4 minutes per arm, symbol and year of 5m candles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backtests.data import select_data  # noqa: E402
from backtests.runner import BacktestRequest, BacktestResult, run_backtest  # noqa: E402
from core.settings import Settings, load_settings  # noqa: E402

DATA = Path(os.environ.get("TRADEWAKE_SHARED_DATA", ROOT.parent / "shared" / "data"))
FILES = {"BTC": "binance_BTC-USDT_5m.csv.gz", "ETH": "binance_ETH-USDT_5m.csv.gz"}


@dataclass
class ArmResult:
    arm: str
    symbol: str
    seed: int
    return_pct: float
    max_drawdown_pct: float
    trades: int
    win_rate_pct: float | None
    monthly_pnl: dict[str, float] = field(default_factory=dict)
    first_half_pnl: float = 0.0
    second_half_pnl: float = 0.0
    seconds: float = 0.0


def arm_settings(base: Settings, arm: str, seed: int) -> Settings:
    backtest = base.backtest.model_copy(update={"seed": seed})
    learner = base.learner.model_copy(update={"seed": seed})
    llm = base.llm
    if arm == "equal":
        llm = llm.model_copy(update={"rules_weights": "equal"})
    elif arm == "learner-win/loss":
        learner = learner.model_copy(update={"reward": "win_loss", "discount": 1.0})
    elif arm.startswith("learner-R@"):
        learner = learner.model_copy(update={"reward": "r_multiple", "discount": float(arm.split("@", 1)[1])})
    elif arm != "learner-R":
        raise SystemExit(f"unknown arm {arm!r}: equal, learner-R, learner-R@<discount>, learner-win/loss")
    return base.model_copy(update={"backtest": backtest, "learner": learner, "llm": llm})


def summarize(  # noqa: PLR0917 - one arm's identity, its result and the window
    arm: str, symbol: str, seed: int, result: BacktestResult, start: datetime, end: datetime, seconds: float
) -> ArmResult:
    perf = result.performance
    monthly: dict[str, Decimal] = defaultdict(Decimal)
    middle = start + (end - start) / 2
    halves = [Decimal(0), Decimal(0)]
    for trade in result.trades:
        monthly[f"{trade.closed_at:%Y-%m}"] += trade.net_pnl
        halves[trade.closed_at >= middle] += trade.net_pnl
    return ArmResult(
        arm=arm, symbol=symbol, seed=seed, return_pct=round(perf.total_return_pct, 2),
        max_drawdown_pct=round(perf.max_drawdown_pct, 2), trades=perf.trades,
        win_rate_pct=round(perf.win_rate_pct, 1) if perf.win_rate_pct is not None else None,
        monthly_pnl={k: round(float(v), 2) for k, v in sorted(monthly.items())},
        first_half_pnl=round(float(halves[0]), 2), second_half_pnl=round(float(halves[1]), 2),
        seconds=round(seconds, 1),
    )


def run_arm(  # noqa: PLR0917 - one arm's identity and the window
    arm: str, symbol: str, seed: int, start: datetime, end: datetime, out: Path
) -> ArmResult:
    data = select_data(data=DATA / FILES[symbol], start=start, end=end)
    settings = arm_settings(load_settings(None), arm, seed)
    started = time.perf_counter()
    run_dir = out / f"{symbol}-{arm.replace('/', '-')}-{seed}"
    result = asyncio.run(run_backtest(BacktestRequest(settings, data, run_dir)))
    return summarize(arm, symbol, seed, result, start, end, time.perf_counter() - started)


def table(results: list[ArmResult]) -> str:
    head = "| symbol | arm | seed | return % | max DD % | trades | win rate % | P&L 1st half | P&L 2nd half | run s |"
    rows = [head, "|" + "---|" * 10]
    for r in results:
        rows.append(
            f"| {r.symbol} | {r.arm} | {r.seed} | {r.return_pct:+.2f} | {r.max_drawdown_pct:.2f} | {r.trades} | "
            f"{r.win_rate_pct if r.win_rate_pct is not None else '-'} | {r.first_half_pnl:+.2f} | "
            f"{r.second_half_pnl:+.2f} | {r.seconds:.0f} |"
        )
    return "\n".join(rows)


def monthly_table(results: list[ArmResult]) -> str:
    months = sorted({m for r in results for m in r.monthly_pnl})
    rows = ["| symbol | arm | seed | " + " | ".join(months) + " |", "|" + "---|" * (len(months) + 3)]
    for r in results:
        cells = " | ".join(f"{r.monthly_pnl.get(m, 0.0):+.0f}" for m in months)
        rows.append(f"| {r.symbol} | {r.arm} | {r.seed} | {cells} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2023-06-01")
    parser.add_argument("--end", default="2024-06-01")
    parser.add_argument("--symbols", default="BTC,ETH")
    parser.add_argument("--seeds", default="42,7", help="Seeds for the learner arms (equal weights need one).")
    parser.add_argument("--arms", default="equal,learner-R,learner-win/loss")
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args(argv)
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    end = datetime.fromisoformat(args.end).replace(tzinfo=UTC)
    seeds = [int(s) for s in args.seeds.split(",")]
    results: list[ArmResult] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for symbol in args.symbols.split(","):
            for arm in args.arms.split(","):
                for seed in seeds[:1] if arm == "equal" else seeds:
                    results.append(run_arm(arm, symbol, seed, start, end, Path(tmp)))
                    print(f"done {symbol} {arm} seed {seed}: {results[-1].seconds:.0f} s", file=sys.stderr, flush=True)
    print(f"walk-forward {args.start} .. {args.end}, 5m, default settings; total {time.perf_counter() - began:.0f} s\n")
    print(table(results))
    print("\nRealized P&L per month (quote currency, by the month a trade closed):\n")
    print(monthly_table(results))
    if args.json is not None:
        payload: dict[str, Any] = {"start": args.start, "end": args.end, "results": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
