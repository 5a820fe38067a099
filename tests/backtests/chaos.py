"""A scripted agent that does a bit of everything the tools allow, at random but reproducibly: market and limit
entries (long and short on futures) with take-profits and trailing stops, partial closes, tightened stops, and a
schedule with every kind of wake condition. Its choices depend only on the seed and the decision (time and
symbol), so two runs that wake it at the same moments make the same calls: what the fast-path test needs to
exercise every band, deadline and condition the skipping driver reads."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from agent.records import build_record
from agent.signals import last_price
from core.decisions import RequestPart
from core.types import Alert, DecisionRecord, DecisionRequest
from tools.context import DecisionSession, JournalSink, TradingDesk
from tools.executor import ToolExecutor
from tools.registry import ToolName


@dataclass
class ChaosAgent:
    desk: TradingDesk
    journal: JournalSink
    seed: int
    futures: bool
    name: str = "chaos"
    reads: frozenset[RequestPart] = frozenset({RequestPart.SNAPSHOT})

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        rng = random.Random(f"{self.seed}:{request.as_of.isoformat()}:{request.symbol}")
        session = DecisionSession(request=request, memory_max_chars=200)
        tools = ToolExecutor(self.desk, self.journal, session)
        call = f"{request.as_of.isoformat()}-{request.symbol}"
        price = last_price(request.snapshot)
        outcome = await tools.call(ToolName.GET_PORTFOLIO, {}, f"{call}-p")
        portfolio = json.loads(outcome.content).get("portfolio", {})
        held = [p for p in portfolio.get("positions", []) if p.get("symbol") == request.symbol]
        if price is not None:
            await self._act(tools, rng, call, price, held)
            await tools.call(ToolName.SCHEDULE_NEXT_CHECK, self._schedule(rng, request, price), f"{call}-s")
        return build_record(session, backend=self.name, prompt_version="chaos-v1", reasoning="chaos")

    def drain_alerts(self) -> list[Alert]:
        return []

    async def _act(self, tools: ToolExecutor, rng: random.Random, call: str, price: float,
                   held: list[dict[str, Any]]) -> None:  # fmt: skip
        roll = rng.random()
        if not held and roll < 0.5:
            await tools.call(ToolName.PLACE_ORDER, self._entry(rng, price), f"{call}-e")
        elif held and roll < 0.2:
            args = {"fraction": rng.choice([0.5, 1.0]), "reason": "chaos close"}
            await tools.call(ToolName.CLOSE_POSITION, args, f"{call}-c")
        elif held and roll < 0.4:
            side = held[0].get("side")
            stop = price * (1 - rng.uniform(0.005, 0.02)) if side == "long" else price * (1 + rng.uniform(0.005, 0.02))
            args = {"stop_price": round(stop, 2), "reason": "chaos tighten"}
            await tools.call(ToolName.ADJUST_STOP, args, f"{call}-a")

    def _entry(self, rng: random.Random, price: float) -> dict[str, Any]:
        long = not self.futures or rng.random() < 0.6
        sign = 1 if long else -1
        args: dict[str, Any] = {
            "side": "long" if long else "short",
            "size_pct": rng.choice([5.0, 10.0, 20.0]),
            "order_type": "market",
            "stop_loss_price": _round(price * (1 - sign * rng.uniform(0.01, 0.05))),
            "signals": ["momentum"],
            "confidence": 0.5,
            "thesis": "chaos entry",
        }
        if rng.random() < 0.3:
            args["order_type"] = "limit"
            args["limit_price"] = _round(price * (1 - sign * rng.uniform(0.0, 0.01)))
        if rng.random() < 0.4:
            args["take_profit_price"] = _round(price * (1 + sign * rng.uniform(0.005, 0.04)))
        if rng.random() < 0.4:
            args["trailing_activation_pct"] = round(rng.uniform(0.2, 2.0), 2)
            args["trailing_distance_pct"] = round(rng.uniform(0.3, 2.0), 2)
        return args

    def _schedule(self, rng: random.Random, request: DecisionRequest, price: float) -> dict[str, Any]:
        conditions: list[dict[str, Any]] = []
        for _ in range(rng.randint(0, 2)):
            kind = rng.choice(["price_above", "price_below", "move_pct", "volume_z_above", "position_pnl_below",
                               "position_pnl_above", "at_time", "regime_change"])  # fmt: skip
            conditions.append(_condition(kind, rng, request, price))
        return {"seconds": rng.choice([900, 3600, 4 * 3600, 12 * 3600]), "wake_conditions": conditions}


def _condition(kind: str, rng: random.Random, request: DecisionRequest, price: float) -> dict[str, Any]:
    match kind:
        case "price_above":
            return {"kind": kind, "price": _round(price * (1 + rng.uniform(0.002, 0.03)))}
        case "price_below":
            return {"kind": kind, "price": _round(price * (1 - rng.uniform(0.002, 0.03)))}
        case "move_pct":
            return {"kind": kind, "pct": round(rng.uniform(0.3, 3.0), 2), "direction": rng.choice(["up", "down", "either"])}
        case "volume_z_above":
            return {"kind": kind, "z": round(rng.uniform(1.0, 4.0), 2)}
        case "position_pnl_below":
            return {"kind": kind, "pct": round(-rng.uniform(0.2, 2.0), 2)}
        case "position_pnl_above":
            return {"kind": kind, "pct": round(rng.uniform(0.2, 2.0), 2)}
        case "at_time":
            return {"kind": kind, "at": (request.as_of + timedelta(seconds=rng.choice([1800, 5400, 20000]))).isoformat()}
        case _:
            return {"kind": kind}


def _round(value: float) -> float:
    return round(value, 6) if value < 100 else round(value, 2)
