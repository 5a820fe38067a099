"""How many of the rules agent's decisions a bound on its signal votes proves to be holds (issue 18, speed item 2).

The rules agent (``agent/rules.py``) enters only when ``|score| >= llm.rules_min_score``, and its score is a
weighted mean of the non-zero votes with weights in [0, 1], so it lies between the smallest and the largest
vote: flat, a decision can enter only if some vote reaches the threshold on either side. In a position it closes
only when the score against the held side reaches the threshold, which needs a vote that far against it. A
decision where neither can happen is a hold whatever the learner's weights.

This runs the rules agent through ``run_backtest`` on the real BTC/USDT 5m series of ``../shared/data`` (the last
``--limit`` candles; ``--limit 0``: every candle) and reads every ``decision`` event back: its votes (the reasoning
prints them as ``signal=+0.50x0.73``, two decimals, so each comparison is widened by 0.005 towards "may act"), the
position it held (``holding``/``closed``: in a position; the side of the last ``entered long|short``), whether it
called ``place_order`` or ``close_position``. It prints the share the bound proves to be holds, and checks that no
decision the bound calls a hold called a side-effecting tool.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from backtests.runner import BacktestRequest, run_backtest
from benchmarks.backtest import SERIES, load
from core.settings import load_settings
from engine.wiring import AgentChoice
from store.sqlite_store import SqliteStore

VOTE = re.compile(r"=([+-]\d+\.\d+)x")
ENTERED = re.compile(r"; entered (long|short)$")
PRINTED = 0.005
"""Half the last printed digit of a vote: every comparison gives the vote this much room towards acting."""
ACTING = ("place_order", "close_position")


def may_act(reasoning: str, side: str | None, threshold: float) -> tuple[bool, bool]:
    """(in a position, the bound says the decision may enter or close)."""
    votes = [v for v in (float(x) for x in VOTE.findall(reasoning)) if v != 0]
    holding = reasoning.endswith("; holding") or "; closed" in reasoning or "; close refused" in reasoning
    if holding:
        against = [-v for v in votes] if side == "long" else votes if side == "short" else [abs(v) for v in votes]
        return True, any(a >= threshold - PRINTED for a in against)
    return False, bool(votes) and (max(votes) >= threshold - PRINTED or min(votes) <= -threshold + PRINTED)


def count(store: SqliteStore, threshold: float) -> Counter[str]:
    seen: Counter[str] = Counter()
    side: str | None = None
    for event in store.read_journal_kinds(["decision"]):
        payload = event.payload
        reasoning = str(payload["reasoning"])
        acted = any(call["name"] in ACTING for call in payload["tool_calls"])
        holding, could = may_act(reasoning, side, threshold)
        entered = ENTERED.search(reasoning)
        side = entered.group(1) if entered else side
        seen.update(decisions=1, acted=acted, in_position=holding, may_act=could, unsound=acted and not could)
    return seen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks rules_holds", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--limit", type=int, default=8640, metavar="N", help="the last N 5m candles (0: every one)")
    args = parser.parse_args([] if argv is None else argv)
    data, total = load(SERIES["5m"], args.limit or None)
    settings = load_settings(None)
    print(f"  running the rules agent on {len(data.candles):,} of {total:,} candles ...", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run_backtest(BacktestRequest(settings, data, Path(tmp) / "rules", AgentChoice())))
        store = SqliteStore(result.run.store_path, namespace=settings.store.namespace)
        try:
            seen = count(store, settings.llm.rules_min_score)
        finally:
            store.close()
    holds = seen["decisions"] - seen["may_act"]
    print(f"  {seen['decisions']:,} decisions ({seen['in_position']:,} in a position), {seen['acted']:,} entered or "
          f"closed; the vote bound proves {holds:,} holds ({100 * holds / max(1, seen['decisions']):.1f} %)")
    if seen["unsound"]:
        print(f"  UNSOUND: {seen['unsound']} decisions the bound calls holds entered or closed", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
