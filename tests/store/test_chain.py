"""The hash-chain rule and its verifier, on plain values (no backend)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.canonical import GENESIS_HASH, canonical_json, sha256_hex
from core.errors import OperationalError
from core.ports import NewEvent
from store.chain import EMPTY_HEAD, ChainVerifier, Head, StoredLink, at_text, build_links, head_after, link_hash

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def events(n: int) -> list[NewEvent]:
    return [NewEvent(kind=f"k{i % 3}", at=T0 + timedelta(seconds=i), payload={"i": i, "px": "1.5"}) for i in range(n)]


def verify(links: list[StoredLink], head: Head | None = None) -> tuple[bool, int | None, str]:
    verifier = ChainVerifier()
    for link in links:
        if not verifier.feed(link):
            break
    report = verifier.finish(head if head is not None else head_after(EMPTY_HEAD, links))
    return report.ok, report.first_bad_seq, (report.problem or "").split(":")[0]


def test_the_link_rule_is_sha256_of_prev_hash_and_canonical_body() -> None:
    links = build_links(EMPTY_HEAD, events(2))
    body = {"seq": 1, "at": "2024-03-01T00:00:00+00:00", "kind": "k0", "payload": {"i": 0, "px": "1.5"}}
    assert links[0].hash == sha256_hex(GENESIS_HASH + canonical_json(body))
    assert links[0].prev_hash == GENESIS_HASH
    assert links[1].prev_hash == links[0].hash
    assert [link.seq for link in links] == [1, 2]


def test_links_continue_from_a_head() -> None:
    first = build_links(EMPTY_HEAD, events(3))
    rest = build_links(head_after(EMPTY_HEAD, first), events(5)[3:])
    assert first + rest == build_links(EMPTY_HEAD, events(5))


def test_times_are_hashed_as_utc_text() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert at_text(datetime(2024, 3, 1, 9, 0, tzinfo=tokyo)) == "2024-03-01T00:00:00+00:00"
    with pytest.raises(ValueError):
        at_text(datetime(2024, 3, 1))


def test_payload_is_stored_canonically_and_read_back_as_stored() -> None:
    link = build_links(EMPTY_HEAD, [NewEvent(kind="k", at=T0, payload={"b": 1, "a": [1.0, None]})])[0]
    assert link.payload == '{"a":[1.0,null],"b":1}'
    assert link.to_event().payload == {"a": [1.0, None], "b": 1}


def test_an_unreadable_row_is_an_operational_error() -> None:
    link = dataclasses.replace(build_links(EMPTY_HEAD, events(1))[0], payload="{not json")
    with pytest.raises(OperationalError, match="seq 1 is unreadable"):
        link.to_event()


def test_a_clean_chain_verifies() -> None:
    assert verify([]) == (True, None, "")
    assert verify(build_links(EMPTY_HEAD, events(6))) == (True, None, "")


FIELDS = ("at", "kind", "payload", "prev_hash", "hash")


@given(n=st.integers(1, 12), data=st.data())
def test_any_single_edit_is_caught_at_the_edited_event(n: int, data: st.DataObject) -> None:
    links = build_links(EMPTY_HEAD, events(n))
    index = data.draw(st.integers(0, n - 1))
    field = data.draw(st.sampled_from(FIELDS))
    original = getattr(links[index], field)
    edited = {
        "at": "2030-01-01T00:00:00+00:00",
        "kind": original + "x",
        "payload": canonical_json({**json.loads(links[index].payload), "i": -1}),
        "prev_hash": "f" * 64,
        "hash": "e" * 64,
    }[field]
    tampered = [*links[:index], dataclasses.replace(links[index], **{field: edited}), *links[index + 1 :]]
    problem = "prev_hash_mismatch" if field == "prev_hash" else "hash_mismatch"
    # The head still names the true last hash, as the store's head record would.
    assert verify(tampered, head_after(EMPTY_HEAD, links)) == (False, index + 1, problem)


@given(n=st.integers(2, 12), data=st.data())
def test_an_edit_with_its_own_hash_recomputed_breaks_the_next_link(n: int, data: st.DataObject) -> None:
    links = build_links(EMPTY_HEAD, events(n))
    index = data.draw(st.integers(0, n - 1))
    victim = links[index]
    payload = {"i": 999}
    forged = dataclasses.replace(
        victim,
        payload=canonical_json(payload),
        hash=link_hash(victim.prev_hash, victim.seq, victim.at, victim.kind, payload),
    )
    tampered = [*links[:index], forged, *links[index + 1 :]]
    expected = (False, index + 2, "prev_hash_mismatch") if index < n - 1 else (False, n, "head_mismatch")
    assert verify(tampered, head_after(EMPTY_HEAD, links)) == expected


@given(n=st.integers(1, 12), data=st.data())
def test_a_deleted_event_is_reported_missing(n: int, data: st.DataObject) -> None:
    links = build_links(EMPTY_HEAD, events(n))
    index = data.draw(st.integers(0, n - 1))
    remaining = links[:index] + links[index + 1 :]
    assert verify(remaining, head_after(EMPTY_HEAD, links)) == (False, index + 1, "missing_seq")


def test_events_out_of_order_are_reported() -> None:
    links = build_links(EMPTY_HEAD, events(4))
    assert verify([links[0], links[1], links[1], links[2], links[3]]) == (False, 2, "out_of_order")


def test_events_beyond_the_head_are_reported() -> None:
    links = build_links(EMPTY_HEAD, events(4))
    assert verify(links, head_after(EMPTY_HEAD, links[:2])) == (False, 3, "head_mismatch")


def test_verification_stops_at_the_first_problem() -> None:
    links = build_links(EMPTY_HEAD, events(5))
    verifier = ChainVerifier()
    bad = dataclasses.replace(links[1], hash="0" * 64)
    assert verifier.feed(links[0]) is True
    assert verifier.feed(bad) is False
    assert verifier.feed(links[2]) is False
    report = verifier.finish(Head(99, "x"))
    assert (report.ok, report.events_checked, report.first_bad_seq) == (False, 1, 2)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@given(payload=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=6), kind=st.text(min_size=1, max_size=10),
       seq=st.integers(1, 10**9))
def test_build_links_hashes_exactly_the_link_rule(payload: dict[str, object], kind: str, seq: int) -> None:
    """``build_links`` splices the body's canonical JSON from the payload's text instead of parsing it back;
    the hash is the link rule's, for any JSON payload (unicode, big integers, floats that print oddly)."""
    head = Head(seq - 1, "ab" * 32)
    (link,) = build_links(head, [NewEvent(kind=kind, at=T0, payload=payload)])
    assert link.hash == link_hash(head.hash, seq, link.at, kind, json.loads(link.payload))
