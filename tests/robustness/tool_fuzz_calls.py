"""What the tool fuzz feeds the choke point: random worlds and calls (see ``test_tool_fuzz``).

Hypothesis's own distributions crowd around zero and the ends of a range, which would make almost every
call invalid and leave the oracle nothing approved to judge; :func:`weighted` and :func:`spread` keep the
mix deliberate: mostly near-valid calls, with junk in every field some of the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from core.ids import Symbol
from core.settings import RiskSettings
from core.types import PositionSide, Signal
from tools.registry import TOOLS, ToolName

SECRET = "fuzz-secret-7f3a9c"
"""Configured as a secret in every fuzz session, and written into values, key names and tool names."""
SYMBOLS = {"spot": Symbol("BTC/USDT"), "future": Symbol("BTC/USDT:USDT")}


# ---------------------------------------------------------------- worlds


@dataclass(frozen=True)
class World:
    market_type: str
    price: int
    equity: int
    risk: RiskSettings
    held: PositionSide | None
    control: str  # "none", "halted" or "sleeping"
    stale_by_s: int  # how far the clock moves past the last price before the calls

    @property
    def symbol(self) -> Symbol:
        return SYMBOLS[self.market_type]


@st.composite
def risks(draw: st.DrawFn) -> RiskSettings:
    position = draw(st.sampled_from([5.0, 20.0, 50.0]))
    stop_min = draw(st.sampled_from([0.1, 0.3, 1.0]))
    return RiskSettings(
        max_position_pct=position,
        max_total_exposure_pct=position * draw(st.sampled_from([1, 1.5, 3])),
        reduce_oversize_to_cap=draw(st.booleans()),
        stop_min_distance_pct=stop_min,
        stop_max_distance_pct=stop_min + draw(st.sampled_from([1.0, 7.7])),
        allow_pyramiding=draw(st.booleans()),
        cooldown_after_exit_s=draw(st.sampled_from([0, 900])),
        fat_finger_band_pct=draw(st.sampled_from([0.5, 2.0])),
        max_orders_per_day=draw(weighted((4, st.just(60)), (1, st.sampled_from([1, 2])))),
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    market_type = draw(st.sampled_from(["spot", "future"]))
    sides = [PositionSide.LONG] + ([PositionSide.SHORT] if market_type == "future" else [])
    return World(
        market_type=market_type,
        price=draw(st.sampled_from([50_000, 61_234, 1_050])),
        equity=draw(weighted((4, st.just(10_000)), (1, st.sampled_from([250, 1_000_000])))),
        risk=draw(risks()),
        held=draw(weighted((3, st.none()), (2, st.sampled_from(sides)))),  # closes and stop moves need one
        control=draw(weighted((10, st.just("none")), (1, st.just("halted")), (1, st.just("sleeping")))),
        stale_by_s=draw(weighted((12, st.just(0)), (1, st.sampled_from([599, 600, 601, 86_400 * 60])))),
    )


# ---------------------------------------------------------------- calls

NUMERIC_JUNK = [True, False, None, "", "NaN", "inf", "-Infinity", "1E+1000000", "1e-1000000", "1E+999999999999999999",
                float("nan"), float("inf"), float("-inf"), 0, -1, -0.0, 1e308, 5e-324, 10**20, 2**63, 10**400,
                Decimal("1E+1000000"), Decimal("NaN"), "0x10", "1_000", " 5 ", "５", [], {}, [1], {"a": 1}]
TEXT = st.text(alphabet=st.characters(codec=None, categories=None), max_size=40)  # surrogates included
KEYS = st.one_of(TEXT, st.sampled_from([SECRET, f"api_key={SECRET}", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"]))
JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT, st.sampled_from(NUMERIC_JUNK[:12])),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
JUNK = st.one_of(st.sampled_from(NUMERIC_JUNK), JSONISH, st.just(SECRET))
ABSENT = object()


def weighted(*options: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of ``options``, each about as often as its weight says (``one_of`` would pick evenly).

    Hypothesis draws the ends of an integer range more often than the middle, so the first option (the
    common case) takes both ends and the rare ones sit in between."""
    head, *rest = options
    half = head[0] // 2
    options = ((half, head[1]), *rest, (head[0] - half, head[1]))
    total = sum(weight for weight, _ in options)

    def pick(n: int) -> st.SearchStrategy[Any]:
        for weight, strategy in options:
            if n < weight:
                return strategy
            n -= weight
        raise AssertionError(n)

    return st.integers(0, total - 1).flatmap(pick)


def maybe(good: st.SearchStrategy[Any], junk: st.SearchStrategy[Any] = JUNK) -> st.SearchStrategy[Any]:
    """Mostly a good value, sometimes junk, sometimes the field left out."""
    return weighted((98, good), (1, junk), (1, st.just(ABSENT)))


def sometimes(value: st.SearchStrategy[Any], weight: int = 1) -> st.SearchStrategy[Any]:
    """An optional field: usually left out."""
    return weighted((3, st.just(ABSENT)), (weight, value))


def rarely(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field that does not belong: almost always left out."""
    return weighted((30, st.just(ABSENT)), (1, value))


def spread(low: float, high: float) -> st.SearchStrategy[float]:
    """About uniform over ``[low, high]`` (``st.floats`` crowds around zero and the bounds): a grid of
    points, each jittered a little."""
    grid = [low + (high - low) * k / 24 for k in range(25)]
    return st.tuples(st.sampled_from(grid), st.floats(0, 1)).map(lambda p: min(high, p[0] + p[1] * (high - low) / 48))


def near(price: int, low_pct: float, high_pct: float) -> st.SearchStrategy[Any]:
    """A price ``low_pct``..``high_pct`` % away from ``price``, as a JSON number or a numeric string."""
    value = spread(low_pct, high_pct).map(lambda pct: round(price * (1 + pct / 100), 4))
    return weighted((3, value), (1, value.map(str)))


PROSE = weighted((6, st.just("trend and momentum agree")), (1, TEXT))


@st.composite
def place_order(draw: st.DrawFn, w: World) -> dict[str, Any]:
    """Mostly coherent (the side's stop on the protective side, a limit price with a limit order, both
    trailing fields or neither), each field sometimes junk or missing."""
    side = draw(weighted((3, st.just("long")), (1, st.just("short"))))
    low, high = w.risk.stop_min_distance_pct * 0.8, w.risk.stop_max_distance_pct * 1.1
    protective = near(w.price, -high, -low) if side == "long" else near(w.price, low, high)
    order_type = draw(weighted((3, st.just("market")), (1, st.just("limit"))))
    trailing = draw(weighted((3, st.just(False)), (1, st.just(True))))
    fields = {
        "side": maybe(st.just(side)),
        "size_pct": maybe(weighted((4, spread(0.05, w.risk.max_position_pct * 1.2)),
                                   (1, st.sampled_from([1, 5, 10, 20, 50, 100, "10"])))),
        "order_type": maybe(st.just(order_type)),
        "limit_price": maybe(near(w.price, -3, 3)) if order_type == "limit" else rarely(JUNK),
        "stop_loss_price": maybe(weighted((6, protective), (1, near(w.price, -12, 12)))),
        "take_profit_price": sometimes(maybe(near(w.price, -15, 15))),
        "trailing_activation_pct": maybe(spread(0.1, 55)) if trailing else rarely(JUNK),
        "trailing_distance_pct": maybe(spread(0.1, 55)) if trailing else st.just(ABSENT),
        "signals": maybe(st.lists(st.sampled_from([s.value for s in Signal]), min_size=1, max_size=3, unique=True)),
        "confidence": maybe(spread(0, 1)),
        "thesis": maybe(PROSE),
        "symbol": sometimes(maybe(symbols(w))),
    }
    return {name: draw(strategy) for name, strategy in fields.items()}


def stops(w: World) -> st.SearchStrategy[Any]:
    """Mostly between the held position's stop and the price (a tighter stop), sometimes anywhere."""
    low, mid = w.risk.stop_min_distance_pct, (w.risk.stop_min_distance_pct + w.risk.stop_max_distance_pct) / 2
    tighter = near(w.price, low, mid) if w.held is PositionSide.SHORT else near(w.price, -mid, -low)
    return weighted((3, tighter), (1, near(w.price, -10, 10)))


def symbols(w: World) -> st.SearchStrategy[str]:
    return st.sampled_from([w.symbol, "BTC/USDT", "BTC/USDT:USDT", "ETH/USDT", "X" * 40, ""])


def arguments(w: World, name: str) -> st.SearchStrategy[Any]:
    reason = maybe(PROSE)
    shapes: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        ToolName.PLACE_ORDER: place_order(w),
        ToolName.CLOSE_POSITION: st.fixed_dictionaries({
            "fraction": maybe(weighted((1, spread(0, 1.2)), (1, st.sampled_from([1, 0.5, 0.25])))),
            "reason": reason, "symbol": sometimes(maybe(symbols(w)))}),
        ToolName.ADJUST_STOP: st.fixed_dictionaries({"stop_price": maybe(stops(w)), "reason": reason}),
        ToolName.UPDATE_MEMORY: st.fixed_dictionaries({"text": maybe(st.one_of(TEXT, st.just(f"key {SECRET}")))}),
        ToolName.SCHEDULE_NEXT_CHECK: st.fixed_dictionaries({
            "seconds": maybe(st.integers(-5, 800_000)),
            "wake_conditions": maybe(st.lists(st.fixed_dictionaries({
                "kind": maybe(st.sampled_from(["price_above", "price_below", "move_pct", "volume_z_above", "x"])),
                "price": sometimes(maybe(near(w.price, -10, 10)), 3),
                "pct": sometimes(maybe(spread(-5, 50)), 2),
            }), max_size=3)),
            "final": sometimes(maybe(st.booleans()))}),
        ToolName.GET_LEARNER_WEIGHTS: st.fixed_dictionaries({"regime": sometimes(maybe(TEXT))}),
    }
    plain = shapes.get(name, st.fixed_dictionaries({"symbol": sometimes(maybe(symbols(w)))}))
    extra = st.dictionaries(KEYS, JSONISH, max_size=2)
    shaped = st.tuples(plain, weighted((19, st.just({})), (1, extra))).map(
        lambda parts: {**{k: v for k, v in parts[0].items() if v is not ABSENT}, **parts[1]}
    )
    oversized = st.integers(20_000, 70_000).map(lambda n: {"text": "x" * n})
    deep = st.integers(2, 60).map(_nested)
    not_an_object = st.sampled_from([None, [1, 2], "side=long", 7, True])
    return weighted((40, shaped), (2, JSONISH), (1, not_an_object), (1, oversized), (1, deep))


def _nested(depth: int) -> dict[str, Any]:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return {"junk": value}


TOOL_NAMES = weighted(
    (30, st.just(ToolName.PLACE_ORDER.value)),
    (12, st.sampled_from([ToolName.CLOSE_POSITION.value, ToolName.ADJUST_STOP.value])),
    (14, st.sampled_from([spec.name.value for spec in TOOLS])),
    (4, st.sampled_from([spec.mcp_name for spec in TOOLS])),
    (2, st.sampled_from(["", "Bash", f"tool_{SECRET}", "x" * 300])),
    (1, TEXT),
)


@dataclass(frozen=True)
class Call:
    name: str
    arguments: Any
    call_id: str
    hook_first: bool  # the claude-code path: precheck, then the call if the hook lets it through


@st.composite
def examples(draw: st.DrawFn) -> tuple[World, list[Call]]:
    world = draw(worlds())
    calls = []
    for i in range(draw(st.integers(1, 6))):
        name = draw(TOOL_NAMES)
        args = draw(arguments(world, name))
        call_id = draw(weighted((10, st.just(f"fuzz-{i}")), (1, st.just("fuzz-0")), (1, st.just("x" * 200))))
        calls.append(Call(name, args, call_id, draw(st.booleans())))
    return world, calls
