"""The alert inbox the process tests share keeps each alert with the path it came to: a fleet reads one
runner's alerts of a kind (``of``), the soak counts them all (``alerts``)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from tests.chaos.alert_inbox import AlertInbox


@pytest.fixture
def inbox() -> Iterator[AlertInbox]:
    served = AlertInbox()
    yield served
    served.close()


def post(url: str, alert: dict[str, str]) -> int:
    request = urllib.request.Request(url, json.dumps(alert).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(answer.status)


def test_alerts_are_kept_by_path_and_kind_in_the_order_they_came(inbox: AlertInbox) -> None:
    assert post(inbox.url_for("r1"), {"kind": "lease_lost", "message": "refused"}) == 204
    post(inbox.url_for("r2"), {"kind": "lease_lost", "message": "at renewal"})
    post(inbox.url_for("r1"), {"kind": "feed_stale"})
    assert inbox.of("r1", "lease_lost") == [{"kind": "lease_lost", "message": "refused"}]
    assert inbox.of("r2", "lease_lost") == [{"kind": "lease_lost", "message": "at renewal"}]
    assert inbox.of("r3", "lease_lost") == []
    assert [a["kind"] for a in inbox.alerts] == ["lease_lost", "lease_lost", "feed_stale"]


def test_an_empty_body_is_kept_as_an_empty_alert(inbox: AlertInbox) -> None:
    request = urllib.request.Request(inbox.url_for("alerts"), b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 204
    assert inbox.received == [("alerts", {})]
