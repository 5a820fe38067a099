"""Backtest throughput: candles per second through the whole engine, next to backtesting.py, in one run.

Series: the real Binance BTC/USDT 5m (337,677 candles, 2022-08 to 2025-10) and 1h (71,401 candles,
2017-08 to 2025-10) files in ``../shared/data`` (``--limit N`` keeps the last N candles of each). On
the same candles, in the same process, one after the other:

- **engine, rules agent**: ``run_backtest`` as ``tradewake backtest --agent rules`` runs it: every candle
  through the simulated exchange and ``Engine.step`` (commands, the safety guard, the gate; on a wake a
  market snapshot and the rules agent's tool calls through the veto; the learner; the journal in a
  SQLite run store), then the reports (metrics, trades, charts, HTML) are written;
- **engine, SMA agent**: the scripted SMA(20)/SMA(50) crossover through the same engine, woken on every
  candle by design; it declares the candles where its averages cross (``engine.request.DeclaresActions``),
  so the skipping path decides its other wakes in bulk as holds and steps the engine at the crosses and
  wherever else something can happen (``docs/performance.md``);
- **reference**: backtesting.py running the same SMA(20)/SMA(50) crossover (``backtests.peer``).

Candles per second are candles / CPU seconds of this process (``time.process_time``: other work on a
shared machine slows the wall clock, not this count); wall seconds are printed beside them. The ratio
is reference / engine: how many times faster the vectorised peer is. The issue's targets: rules agent
ratio <= 1.0, SMA agent >= 10,000 candles/s.

Beside each engine run's rate: its fixed costs, those that do not grow with its decisions (data load, set-up,
HMM fits, metrics, CSV, charts, HTML; ``benchmarks.phases``), in CPU seconds, what is left per decision, and the
ratio the fixed costs alone leave (reference rate / (candles / fixed seconds)): the best any run that fits its
regime models and writes its reports could reach, were its steps and decisions free.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backtests.cli import _agent_choice
from backtests.data import BacktestData, select_data
from backtests.peer import sma_cross_backtesting_py
from backtests.runner import BacktestRequest, BacktestResult, run_backtest
from backtests.scripted import sma_settings
from benchmarks.phases import FIXED_PHASES, PhaseClock
from core.settings import Settings, load_settings
from engine.wiring import AgentChoice

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SERIES = {"5m": "binance_BTC-USDT_5m.csv.gz", "1h": "binance_BTC-USDT_1h.csv"}
RUNNERS = ("rules", "sma", "peer")
SMA_TARGET = 10_000.0
WARM_UP_CANDLES = 400


@dataclass(frozen=True)
class Measured:
    name: str
    candles: int
    cpu_s: float
    wall_s: float
    decisions: int | None = None
    """The agent's decisions in an engine run (each a full decision: the cost the skipping cannot remove)."""
    fixed: PhaseClock | None = None
    """An engine run's costs that do not grow with its decisions (set-up, HMM fits, reports), CPU s per phase."""

    @property
    def per_s(self) -> float:
        return self.candles / self.cpu_s


PROFILE_ROWS = 25


def timed(name: str, candles: int, work: Callable[[], object], profile: bool = False) -> Measured:
    print(f"  running {name} on {candles:,} candles{' under cProfile' if profile else ''} ...", flush=True)
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU: other load does not count
    phases = PhaseClock()
    with phases.instrument():
        cpu, wall = time.process_time(), time.perf_counter()
        result = profiler.runcall(work) if profiler is not None else work()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if isinstance(result, BacktestResult):
        measured = Measured(name, candles, cpu, wall, result.agent.decisions, phases)
    else:
        measured = Measured(name, candles, cpu, wall)
    if profiler is not None:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(PROFILE_ROWS)
        print(f"  profile of {name} (top {PROFILE_ROWS} by own CPU time; the profiler itself slows the run):")
        print("\n".join("    " + line for line in stream.getvalue().splitlines() if line.strip()))
    return measured


def engine_run(settings: Settings, data: BacktestData, agent: AgentChoice, out: Path) -> Callable[[], object]:
    return lambda: asyncio.run(run_backtest(BacktestRequest(settings, data, out, agent, warmup=0)))


def peer_run(data: BacktestData) -> Callable[[], object]:
    return lambda: sma_cross_backtesting_py(data.candles, fast=20, slow=50, fee=0.001, cash=10_000.0, size=0.95)


def load(name: str, limit: int | None) -> tuple[BacktestData, int]:
    """The series (its last ``limit`` candles when given) and the file's full length."""
    full = select_data(data=DATA / name)
    if limit is None or limit >= len(full.candles):
        return full, len(full.candles)
    start = full.candles.index[-limit].to_pydatetime()
    return select_data(data=DATA / name, start=start), len(full.candles)


def load_cost(name: str, data: BacktestData) -> float:
    """CPU seconds to read the series as ``tradewake backtest`` reads it (the file, then the window): a run's
    first fixed cost, paid before the engine starts (the measured runs share one load)."""
    cpu = time.process_time()
    select_data(data=DATA / name, start=data.start)
    return time.process_time() - cpu


def warm_up(data: BacktestData, runners: tuple[str, ...]) -> None:
    """Run each runner once, untimed, on the first few hundred candles: imports (backtesting.py, the
    chart and report modules) and first-call caches are paid here, not by the first timed run."""
    head = BacktestData(data.symbol, data.timeframe, data.candles.iloc[:WARM_UP_CANDLES], data.history.iloc[:0],
                        data.source, data.digest)
    print(f"  warming up on {len(head.candles)} candles (untimed) ...", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = load_settings(None)
        if "rules" in runners:
            engine_run(base, head, AgentChoice(), Path(tmp) / "rules")()
        if "sma" in runners:
            engine_run(sma_settings(base, head.timeframe), head, _agent_choice("sma", head, None), Path(tmp) / "sma")()
    if "peer" in runners:
        peer_run(head)()


def measure(data: BacktestData, runners: tuple[str, ...], profile: bool = False) -> dict[str, Measured]:
    warm_up(data, runners)
    base = load_settings(None)
    found: dict[str, Measured] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if "rules" in runners:
            found["rules"] = timed("engine, rules agent", len(data.candles),
                                   engine_run(base, data, AgentChoice(), Path(tmp) / "rules"), profile)
        if "sma" in runners:
            sma = sma_settings(base, data.timeframe)
            found["sma"] = timed("engine, SMA agent", len(data.candles),
                                 engine_run(sma, data, _agent_choice("sma", data, None), Path(tmp) / "sma"), profile)
    if "peer" in runners:
        found["peer"] = timed("backtesting.py SMA", len(data.candles), peer_run(data))
    return found


def report_floor(labels: dict[str, str], found: dict[str, Measured], load_s: float) -> None:
    """Per engine run: the costs that do not grow with the decisions, and the best ratio they leave: the
    reference's rate against the candles over those costs alone (a run whose decisions cost nothing)."""
    peer = found.get("peer")
    for key, row in found.items():
        if row.fixed is None:
            continue
        fixed = load_s + row.fixed.total
        parts = ", ".join(f"{phase} {row.fixed.seconds.get(phase, 0.0):.2f}" for phase in FIXED_PHASES)
        print(f"  {labels[key]} fixed costs: {fixed:.2f} s CPU (data load {load_s:.2f}, {parts})")
        rest = row.cpu_s - row.fixed.total
        per = f", {1000 * rest / row.decisions:.2f} ms per decision" if row.decisions else ""
        print(f"    the rest (the steps, the decisions): {rest:.2f} s CPU{per}")
        if peer is not None:
            print(f"    ratio reference / (fixed costs alone): {peer.per_s * fixed / row.candles:8.2f}x "
                  f"(<= 1.0 needs the decisions and steps to cost nothing at all)")


def report(data: BacktestData, total: int, found: dict[str, Measured], load_s: float) -> None:
    labels = {"rules": "engine, rules agent", "sma": "engine, SMA agent", "peer": "backtesting.py SMA (reference)"}
    taken = "every candle" if len(data.candles) == total else f"the last {len(data.candles):,} of {total:,} candles"
    print(f"{data.source} {data.symbol} {data.timeframe}: {taken}, {data.start:%Y-%m-%d} to {data.end:%Y-%m-%d}")
    for key, row in found.items():
        decided = "" if row.decisions is None else f", {row.decisions:,} decisions"
        print(f"  {labels[key]:<31} {row.per_s:12,.0f} candles/s   ({row.cpu_s:8.1f} s CPU, {row.wall_s:8.1f} s wall"
              f"{decided})")
    peer = found.get("peer")
    if peer is not None:
        for key in ("rules", "sma"):
            if key in found:
                print(f"  ratio reference/engine ({key}): {peer.per_s / found[key].per_s:8.1f}x")
    if "rules" in found and peer is not None:
        ok = peer.per_s / found["rules"].per_s <= 1.0
        print(f"  target rules ratio <= 1.0: {'met' if ok else 'not met'}")
    if "sma" in found:
        met = found["sma"].per_s >= SMA_TARGET
        print(f"  target SMA >= {SMA_TARGET:,.0f} candles/s: {'met' if met else 'not met'}")
    report_floor(labels, found, load_s)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks backtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="only the last N candles of each series (a full engine run takes minutes)")
    parser.add_argument("--series", default="5m,1h", help="comma-separated: 5m, 1h (default both)")
    parser.add_argument("--only", default=",".join(RUNNERS), help="comma-separated: rules, sma, peer (default all)")
    parser.add_argument("--profile", action="store_true",
                        help="run the engine under cProfile and print its top entries (the rates are then slower)")
    args = parser.parse_args([] if argv is None else argv)
    series = [s.strip() for s in args.series.split(",") if s.strip()]
    runners = tuple(r.strip() for r in args.only.split(",") if r.strip())
    if not set(series) <= set(SERIES) or not set(runners) <= set(RUNNERS) or (args.limit or WARM_UP_CANDLES) < 60:
        parser.error(f"--series from {', '.join(SERIES)}; --only from {', '.join(RUNNERS)}; --limit at least 60")
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          "engine runs: warm-up 0, reports written; candles/s = candles / CPU seconds of this process", flush=True)
    for key in series:
        data, total = load(SERIES[key], args.limit)
        report(data, total, measure(data, runners, args.profile), load_cost(SERIES[key], data))


if __name__ == "__main__":
    main(sys.argv[1:])
