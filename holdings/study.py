"""How the risk model would have fared on real candles: ``python -m holdings.study --data FILE``.

Every day at 12:00 UTC (once 20 days of history exist) a testnet proposal is made for a holding worth
10 % of equity, exactly as the service makes one (no regime: it changes the confidence, not the levels).
Then the following candles, up to the proposal's TTL (7 days), are read:

- per variant, whether the price reached the **stop** or the **take-profit** first, or **neither** (a
  candle that touches both counts as the stop: the pessimistic reading);
- whether a close left the **drift band** (price +/- 2 ATR), which would have put a managed holding on
  drift alert.

The output is the table in ``docs/holdings.md``. Nothing here decides anything; it measures.
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import track
from rich.table import Table

from core.ids import Symbol
from core.money import MarketRules
from holdings.config import default_policy
from holdings.entry_source import EntrySource
from holdings.market_facts import NotEnoughMarketData, market_facts
from holdings.proposal import Proposal
from holdings.risk_model import RISK_MODEL_V1, ProposalInputs, propose
from market.builder import SnapshotBuilder
from market.candles import load_candles, open_ms

EQUITY = Decimal(100_000)
TTL = timedelta(days=7)
WARM_UP = timedelta(days=20)


@dataclass
class StudyResult:
    proposals: int = 0
    skipped: int = 0
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    stop_distance_pct: dict[str, list[float]] = field(default_factory=dict)
    band_exits: int = 0

    def add(self, variant: str, outcome: str, distance_pct: float) -> None:
        self.outcomes.setdefault(variant, Counter())[outcome] += 1
        self.stop_distance_pct.setdefault(variant, []).append(distance_pct)


def study(candles: pd.DataFrame, rules: MarketRules, *, progress: bool = False) -> StudyResult:
    builder = SnapshotBuilder(rules.symbol, candles, timeframes=("1h", "4h", "1d"))
    times = open_ms(candles)
    ttl_ms = int(TTL.total_seconds() * 1000)
    lows, highs, closes = (candles[c].to_numpy() for c in ("low", "high", "close"))
    first = candles.index[0].to_pydatetime() + WARM_UP
    start = datetime(first.year, first.month, first.day, 12, tzinfo=UTC)
    end = candles.index[-1].to_pydatetime() - TTL
    days = [start + timedelta(days=d) for d in range(max((end - start).days, 0))]
    result = StudyResult()
    for at in track(days, description="proposals") if progress else days:
        proposal = _proposal(builder, rules, at)
        if proposal is None:
            result.skipped += 1
            continue
        result.proposals += 1
        at_ms = int(at.timestamp() * 1000)
        window = slice(int(np.searchsorted(times, at_ms)), int(np.searchsorted(times, at_ms + ttl_ms)))
        _score(result, proposal, lows[window], highs[window], closes[window])
    return result


def _proposal(builder: SnapshotBuilder, rules: MarketRules, at: datetime) -> Proposal | None:
    try:
        facts = market_facts(builder.build(at))
    except NotEnoughMarketData:
        return None
    price = Decimal(repr(facts.price))
    x = ProposalInputs(
        proposal_id="STUDY-1", seq=1, asset=rules.base, facts=facts, rules=rules,
        holding_quantity=rules.quantity(EQUITY * Decimal("0.1") / price), equity=EQUITY,
        open_exposure=Decimal(0), open_symbols=(), correlations={}, breaker_notes=(),
        entry_source=EntrySource.CURRENT, entry_price=None, policy=default_policy(),
        now=at, ttl=TTL, requested_by="study", request_key="study",
    )  # fmt: skip
    made = propose(x, RISK_MODEL_V1)
    return made if isinstance(made, Proposal) else None


def _score(result: StudyResult, p: Proposal, lows: np.ndarray, highs: np.ndarray, closes: np.ndarray) -> None:
    for v in p.variants:
        stop_hit = _first(lows <= float(v.stop))
        tp_hit = _first(highs >= float(v.take_profit))
        if stop_hit is None and tp_hit is None:
            outcome = "neither"
        elif tp_hit is None or (stop_hit is not None and stop_hit <= tp_hit):
            outcome = "stop"
        else:
            outcome = "take_profit"
        result.add(v.name.value, outcome, v.stop_distance_pct)
    outside = (closes < float(p.market.band_low)) | (closes > float(p.market.band_high))
    result.band_exits += int(bool(outside.any()))


def _first(hits: np.ndarray) -> int | None:
    found = np.flatnonzero(hits)
    return int(found[0]) if len(found) else None


def table(result: StudyResult, title: str) -> Table:
    out = Table(
        "variant", "proposals", "stop first", "take-profit first", "neither (7 d)", "median stop %", title=title
    )
    for variant, counts in result.outcomes.items():
        n = sum(counts.values())
        out.add_row(
            variant,
            str(n),
            *(f"{100 * counts[k] / n:.1f} %" for k in ("stop", "take_profit", "neither")),
            f"{statistics.median(result.stop_distance_pct[variant]):.2f}",
        )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m holdings.study", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="1h candle CSV (bundled format)")
    parser.add_argument("--symbol", default="BTC/USDT")
    parser.add_argument("--tick", default="0.01", help="the market's price tick")
    parser.add_argument("--step", default="0.00001", help="the market's quantity step")
    args = parser.parse_args(argv)
    base, quote = args.symbol.split("/")
    rules = MarketRules(
        symbol=Symbol(args.symbol), base=base, quote=quote, tick_size=Decimal(args.tick), step_size=Decimal(args.step),
        min_notional=Decimal(5),
    )  # fmt: skip
    result = study(load_candles(args.data), rules, progress=True)
    console = Console()
    console.print(table(result, f"{args.symbol}: {RISK_MODEL_V1.version}, {result.proposals} daily proposals"))
    band = 100 * result.band_exits / max(result.proposals, 1)
    console.print(f"a close left the 2-ATR drift band within 7 days after {band:.1f} % of proposals", soft_wrap=True)


if __name__ == "__main__":
    main()
