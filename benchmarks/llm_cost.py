"""What an LLM agent costs per symbol-day, and how much of its input the prompt cache serves.

One month of real BTC/USDT 5m candles (``../shared/data``, March 2024) through the whole engine with the
anthropic backend (the real SDK) against the local Messages server (``benchmarks.llmsim``), whose prompt
cache works as the API documents it, on the backtest's own clock: the decision time each request carries, so
the gaps between decisions expire entries exactly as they would live. Default settings, the pinned
Sonnet-class model (``llm.model``), the look-ahead guard on (anonymized).

The scripted model: every decision takes two turns, ``get_portfolio`` first (a position tool on half its
turns), then two sentences and ``schedule_next_check``, asking to look again in 50 minutes (a trader that
keeps an eye on its book; the gate's candle closes and anomalies wake it earlier).

Printed, with the arithmetic: decisions per day, the share of gaps between decisions above five minutes and
above an hour, the cached share of input tokens, dollars per symbol-day. The reference measured in the
same run is the same month with the default 5-minute TTL on the stable prefix (``llm.cache_ttl = "5m"``),
then a model that only looks every 4 hours (the gate's candle closes): what the 1-hour TTL buys, and what it
cannot.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from backtests.anonymize import anonymize
from backtests.data import select_data
from backtests.runner import BacktestRequest, BacktestResult, run_backtest
from benchmarks.llmsim import MessagesServer, Reply, tool_use
from core.settings import load_settings
from store.sqlite_store import SqliteStore

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "binance_BTC-USDT_5m.csv.gz"
WINDOW = (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
CLOSING = ("Flat book, no edge worth the fees in this regime; the guard holds nothing. Looking again within the "
           "hour, sooner if the 4h candle or an anomaly says so.")
_DECISION_TIME = re.compile(r"Decision time: (\S+)\.\n")


def decision_time(body: dict[str, Any]) -> datetime:
    """The request clock of a backtest: the decision time in the conversation's first message."""
    content = body["messages"][0]["content"]
    text = content if isinstance(content, str) else "".join(b.get("text", "") for b in content)
    found = _DECISION_TIME.search(text)
    if found is None:
        raise ValueError("no decision time in the first message")
    return datetime.fromisoformat(found.group(1))


@dataclass
class ScriptedModel:
    """Turn 1: get_portfolio. Turn 2: two sentences and schedule_next_check in ``next_check_s``."""

    next_check_s: int = 3000

    def __call__(self, body: dict[str, Any]) -> Reply:
        if len(body["messages"]) == 1:
            return tool_use(("get_portfolio", {}))
        schedule = {"seconds": self.next_check_s, "wake_conditions": []}
        return tool_use(("schedule_next_check", schedule), text=CLOSING)


@dataclass(frozen=True)
class Figures:
    label: str
    days: float
    decisions: int
    llm_calls: int
    gaps_over_5m: float
    gaps_over_1h: float
    uncached: int
    written: int
    read: int
    output: int
    cost_usd: float
    seconds: float

    @property
    def cached_share(self) -> float:
        return self.read / (self.uncached + self.written + self.read)

    @property
    def usd_per_day(self) -> float:
        return self.cost_usd / self.days


def measure(label: str, cache_ttl: str, next_check_s: int, out: Path) -> Figures:
    base = load_settings(None)
    server = MessagesServer(responder=ScriptedModel(next_check_s), request_clock=decision_time).start()
    try:
        llm = base.llm.model_copy(update={
            "backend": "anthropic", "api_key": SecretStr("sk-ant-benchmark-local-only"), "base_url": server.base_url,
            "max_retries": 0, "cache_ttl": cache_ttl,
        })
        settings = base.model_copy(update={"llm": llm})
        data, disguise = anonymize(select_data(data=DATA, start=WINDOW[0], end=WINDOW[1]))
        started = time.perf_counter()
        result = asyncio.run(run_backtest(BacktestRequest(settings, data, out / label, disguise=disguise)))
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    # The run's SDK client sits in a reference cycle; collected during the next run's event loop, its __del__
    # would schedule a close of a transport bound to this (closed) loop and print a traceback. Collected here,
    # with no loop running, it is simply dropped.
    gc.collect()
    return figures(label, result, seconds)


def figures(label: str, result: BacktestResult, seconds: float) -> Figures:
    agent = result.agent
    times = decision_times(result)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    days = (result.performance.end - result.performance.start).total_seconds() / 86400
    return Figures(
        label=label, days=days, decisions=agent.decisions, llm_calls=agent.llm_calls,
        gaps_over_5m=sum(g > 300 for g in gaps) / len(gaps), gaps_over_1h=sum(g > 3600 for g in gaps) / len(gaps),
        uncached=agent.input_tokens, written=agent.cache_write_tokens, read=agent.cache_read_tokens,
        output=agent.output_tokens, cost_usd=agent.cost_usd, seconds=seconds,
    )


def decision_times(result: BacktestResult) -> list[datetime]:
    store = SqliteStore(result.run.store_path)
    try:
        return [e.at for e in store.read_journal() if e.kind == "decision"]
    finally:
        store.close()


def report(f: Figures) -> None:
    sent = f.uncached + f.written + f.read
    print(f"-- {f.label}")
    print(f"   {f.decisions} decisions ({f.llm_calls} by the model) in {f.days:.1f} days = "
          f"{f.decisions / f.days:.1f} decisions/day; gaps between decisions > 5 min: {f.gaps_over_5m:.0%}, "
          f"> 1 h: {f.gaps_over_1h:.0%}")
    print(f"   input tokens: uncached {f.uncached:,} + cache writes {f.written:,} + cache reads {f.read:,} = {sent:,}")
    print(f"   cached share = {f.read:,} / {sent:,} = {f.cached_share:.1%}")
    print(f"   cost = ${f.cost_usd:.4f} / {f.days:.1f} days = ${f.usd_per_day:.3f} per symbol-day "
          f"(output {f.output:,} tokens); run {f.seconds:.0f} s")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        ours = measure("1h prefix TTL (default), model looks again in 50 min", "1h", 3000, out)
        five = measure("reference: 5m prefix TTL, same model", "5m", 3000, out)
        slow = measure("a model that looks again in 4 h, 1h prefix TTL", "1h", 14_400, out)
    print(f"series: {DATA.name}, {WINDOW[0]:%Y-%m-%d} to {WINDOW[1]:%Y-%m-%d}, anonymized; model "
          f"{load_settings(None).llm.model} (price table: agent/pricing.py)")
    for f in (ours, five, slow):
        report(f)
    print(f"ratio 5m-TTL cost / 1h-TTL cost: {five.usd_per_day / ours.usd_per_day:.2f}x; "
          f"targets: cached share >= 70 % ({'met' if ours.cached_share >= 0.70 else 'MISSED'}), "
          f"<= $1 per symbol-day ({'met' if ours.usd_per_day <= 1.0 else 'MISSED'})")


if __name__ == "__main__":
    main()
