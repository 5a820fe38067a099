"""A small flat object of plain values is recorded without the walk (``tools.arguments._plain``): for any arguments,
``take_arguments`` records exactly what the general path (``walked_arguments``) records, keys in the same order."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tools.arguments import _PLAIN_MAX_CHARS, CallArguments, _plain, take_arguments, walked_arguments

SECRET = "hunter2-secret-value"


class LoudStr(str):
    """A ``str`` subclass: not plain (its type is not exactly ``str``)."""


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["long", "short", "market", SECRET, f"key={SECRET}", "sk-" + "a" * 20, "\\ud800", "\ud800"]),
    st.builds(LoudStr, st.text(max_size=4)), st.decimals(allow_nan=False, allow_infinity=False),
)
keys = st.one_of(st.text(max_size=8), st.sampled_from(["side", "size_pct", SECRET, "token=abc", "\ud800"]),
                 st.integers(min_value=0, max_value=3))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                                                       st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                      max_leaves=8)


def same(raw: Any) -> None:
    taken, walked = take_arguments(raw, (SECRET,)), walked_arguments(raw, (SECRET,))
    assert taken == walked
    assert list(taken.recorded) == list(walked.recorded)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_any_arguments_are_recorded_as_the_general_path_records_them(raw: dict[Any, Any]) -> None:
    same(raw)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(alphabet="abcdefgh_", min_size=1, max_size=10),
                       st.one_of(st.none(), st.booleans(), st.integers(min_value=1 - 2**63, max_value=2**63 - 1),
                                 st.floats(allow_nan=False, allow_infinity=False), st.text(alphabet="az .,:+-0", max_size=30),
                                 st.lists(st.text(alphabet="abc_", max_size=8), max_size=4)),
                       max_size=8))  # fmt: skip
def test_plain_arguments_take_the_fast_path_and_agree(raw: dict[str, Any]) -> None:
    assert _plain(raw, (SECRET,)) is not None
    same(raw)


def test_what_the_rules_agent_passes_is_plain() -> None:
    entry = {"side": "long", "size_pct": 2.5, "order_type": "market", "stop_loss_price": 61234.56789,
             "signals": ["trend_follow", "momentum"], "confidence": 0.512, "thesis": "rules: score +0.51 from x"}  # fmt: skip
    for raw in (entry, {"seconds": 3600, "wake_conditions": []}, {}, {"regime": "low_vol"},
                {"fraction": 1, "reason": "rules: signals turned against the long (-0.40)"}):
        assert _plain(raw, ()) is not None
        same(raw)


def test_what_is_not_plain_goes_the_general_way() -> None:
    for raw in ({"a": float("nan")}, {"a": 2**64}, {"a": "é"}, {"a": {"b": 1}}, {"a": (1, 2)}, {1: "x"},
                {SECRET: 1}, {"a": LoudStr("x")}, {"a": True, "b": [[1]]}, {"a": "x" * (_PLAIN_MAX_CHARS + 1)}):
        assert _plain(raw, (SECRET,)) is None, raw
        same(raw)
    assert take_arguments({"note": f"my key is {SECRET}"}, (SECRET,)) == CallArguments({"note": "my key is [redacted]"})
