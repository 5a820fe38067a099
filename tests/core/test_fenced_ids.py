"""Issue 21 item 2: client order ids carry the symbol's fencing token (``tw.17-p3f9a1c07e2-s4``) and stay what
Binance accepts (36 characters of its alphabet); reconciliation and the foreign-order check still know them as
ours by the run prefix, and nothing else passes for ours."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.ids import PositionId, fence_token, fenced_prefix, has_prefix
from exchange.order_memory import OrderMemory
from safety.order_ids import OrderRole, order_id, parse_order_id, role_of

BINANCE_CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
"""The pattern Binance documents for ``newClientOrderId`` (spot and futures)."""

prefixes = st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True)
position_ids = st.from_regex(r"p[0-9a-f]{10}", fullmatch=True).map(PositionId)


@given(prefixes, position_ids, st.sampled_from(OrderRole), st.integers(0, 9999), st.integers(0, 99_999))
def test_a_fenced_id_is_binance_shaped_ours_and_parses_back(
    prefix: str, pid: PositionId, role: OrderRole, seq: int, token: int
) -> None:
    cid = order_id(fenced_prefix(prefix, token), pid, role, seq)
    assert BINANCE_CLIENT_ID.match(cid) and len(cid) <= 36
    assert has_prefix(cid, prefix) and OrderMemory(prefix, futures=False).is_ours(cid)
    assert fence_token(cid, prefix) == token
    parsed = parse_order_id(cid, prefix)
    assert parsed is not None and (parsed.position_id, parsed.role, parsed.seq) == (pid, role, seq)
    assert role_of(cid) is role


def test_the_default_prefix_leaves_room_for_any_realistic_token() -> None:
    """A 12-character prefix fits tokens up to 99,999 with 9,999 replacements (above); ``tw`` any token of up to 12 digits."""
    cid = order_id(fenced_prefix("tw", 10**12 - 1), PositionId("p3f9a1c07e2"), OrderRole.STOP, 9999)
    assert len(cid) == 33 and fence_token(cid, "tw") == 10**12 - 1


def test_an_unfenced_id_carries_no_token_and_is_unchanged() -> None:
    cid = order_id("tw", PositionId("p3f9a1c07e2"), OrderRole.STOP, 4)
    assert cid == "tw-p3f9a1c07e2-s4" and fence_token(cid, "tw") is None
    assert order_id(fenced_prefix("tw", 17), PositionId("p3f9a1c07e2"), OrderRole.STOP, 4) == "tw.17-p3f9a1c07e2-s4"


@pytest.mark.parametrize("cid", [
    "twx-p3f9a1c07e2-s4",       # another prefix that starts like ours
    "tw.x7-p3f9a1c07e2-s4",     # not a token
    "tw.-p3f9a1c07e2-s4",       # an empty token
    "tw.17p3f9a1c07e2-s4",      # no dash after the token
    "t.17-p3f9a1c07e2-s4",      # a shorter prefix
    "x-tw.17-p3f9a1c07e2-s4",   # ours only inside
    "web_1234567",              # a human's order
])
def test_an_id_that_only_looks_like_ours_is_foreign(cid: str) -> None:
    assert not has_prefix(cid, "tw") and fence_token(cid, "tw") is None
    assert parse_order_id(cid, "tw") is None and not OrderMemory("tw", futures=False).is_ours(cid)


def test_a_fence_needs_a_plain_prefix_and_a_token() -> None:
    with pytest.raises(ValueError):
        fenced_prefix("tw.3", 4)
    with pytest.raises(ValueError):
        fenced_prefix("tw", -1)
