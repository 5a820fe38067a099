"""Webhook and Telegram notifiers against a real local HTTP server; dedup, rate limit, journaling."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from core.clock import SimClock
from core.settings import AlertSettings
from safety.alerts import (
    AlertDeliveryError,
    AlertDispatcher,
    AlertKind,
    TelegramNotifier,
    VetoStreak,
    WebhookNotifier,
    make_alert,
    notifiers_from,
)
from store.sqlite_store import SqliteStore
from tests.safety.builders import T0

TOKEN = "123456:SECRET-bot-token-do-not-leak"


class Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.status = 200
        self.body: bytes = b'{"ok": true, "result": {}}'


@pytest.fixture
def server() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            recorder.requests.append((self.path, json.loads(self.rfile.read(length))))
            self.send_response(recorder.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(recorder.body)

        def do_GET(self) -> None:  # getUpdates or anything else: a send-only client never asks
            recorder.requests.append((self.path, {"method": "GET"}))
            self.send_response(405)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", recorder
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "alerts.sqlite3")
    yield s
    s.close()


ALERT = make_alert(AlertKind.UNPROTECTED_POSITION, "p1 has no live stop", T0, key="p1")


async def test_webhook_posts_the_alert_as_json(server: tuple[str, Recorder]) -> None:
    url, rec = server
    await WebhookNotifier(url + "/hook/abc").notify(ALERT)
    path, body = rec.requests[0]
    assert path == "/hook/abc"
    assert body["kind"] == "unprotected_position" and body["severity"] == "critical"
    assert body["message"] == "p1 has no live stop" and body["dedup_key"] == "unprotected_position:p1"


async def test_webhook_failure_raises_without_the_path(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.status = 500
    with pytest.raises(AlertDeliveryError, match="HTTP 500") as exc:
        await WebhookNotifier(url + "/hook/secret-path").notify(ALERT)
    assert "secret-path" not in str(exc.value)


async def test_telegram_sends_only_send_message(server: tuple[str, Recorder]) -> None:
    url, rec = server
    await TelegramNotifier(SecretStr(TOKEN), "-10042", api_base=url).notify(ALERT)
    assert len(rec.requests) == 1
    path, body = rec.requests[0]
    assert path == f"/bot{TOKEN}/sendMessage"
    assert body["chat_id"] == "-10042"
    assert "unprotected_position" in body["text"] and "p1 has no live stop" in body["text"]


async def test_telegram_errors_never_show_the_token(server: tuple[str, Recorder]) -> None:
    url, rec = server
    notifier = TelegramNotifier(SecretStr(TOKEN), "-100", api_base=url)
    assert TOKEN not in repr(notifier)
    rec.status = 401
    with pytest.raises(AlertDeliveryError) as exc:
        await notifier.notify(ALERT)
    assert TOKEN not in str(exc.value) and "401" in str(exc.value)
    rec.status, rec.body = 200, b'{"ok": false}'
    with pytest.raises(AlertDeliveryError, match="ok=true"):
        await notifier.notify(ALERT)
    dead = TelegramNotifier(SecretStr(TOKEN), "-100", api_base="http://127.0.0.1:9")
    with pytest.raises(AlertDeliveryError) as exc:
        await dead.notify(ALERT)
    assert TOKEN not in str(exc.value) and exc.value.__cause__ is None


async def test_dispatcher_dedups_within_the_interval(server: tuple[str, Recorder], store: SqliteStore) -> None:
    url, rec = server
    clock = SimClock(T0)
    dispatcher = AlertDispatcher([WebhookNotifier(url)], store, clock, min_interval_s=60)
    await dispatcher.raise_alert(ALERT)
    clock.advance_by(59)
    await dispatcher.raise_alert(ALERT)
    other = make_alert(AlertKind.UNPROTECTED_POSITION, "p2 has no live stop", T0, key="p2")
    await dispatcher.raise_alert(other)
    assert [b["message"] for _, b in rec.requests] == ["p1 has no live stop", "p2 has no live stop"]
    assert dispatcher.suppressed == 1
    clock.advance_by(1)
    await dispatcher.raise_alert(ALERT)
    assert len(rec.requests) == 3
    assert [e.kind for e in store.read_journal()] == ["alert.raised"] * 3


async def test_undeliverable_alerts_are_journaled_without_secrets(
    server: tuple[str, Recorder], store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    url, rec = server
    rec.status = 502
    clock = SimClock(T0)
    notifiers = [TelegramNotifier(SecretStr(TOKEN), "-1", api_base=url), WebhookNotifier(url)]
    dispatcher = AlertDispatcher(notifiers, store, clock)
    with caplog.at_level(logging.DEBUG):
        await dispatcher.raise_alert(ALERT)
    events = store.read_journal()
    assert [e.kind for e in events] == ["alert.raised", "alert.undelivered", "alert.undelivered"]
    assert events[1].payload["notifier"] == "TelegramNotifier" and "502" in events[1].payload["error"]
    assert events[1].payload["alert"]["message"] == "p1 has no live stop"
    dump = json.dumps([e.payload for e in events]) + caplog.text
    assert TOKEN not in dump
    assert dispatcher.undelivered == 2


async def test_when_the_journal_is_down_the_alert_is_logged(
    server: tuple[str, Recorder], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url, rec = server
    rec.status = 500
    broken = SqliteStore(tmp_path / "x.sqlite3")
    broken.close()
    dispatcher = AlertDispatcher([WebhookNotifier(url)], broken, SimClock(T0))
    with caplog.at_level(logging.CRITICAL):
        await dispatcher.raise_alert(ALERT)
    assert "alert.undelivered" in caplog.text and "p1 has no live stop" in caplog.text


def test_notifiers_from_settings() -> None:
    assert notifiers_from(AlertSettings()) == []
    both = notifiers_from(AlertSettings(webhook_url="http://x", telegram_token=SecretStr("t"), telegram_chat_id="1"))
    assert [type(n).__name__ for n in both] == ["WebhookNotifier", "TelegramNotifier"]


def test_veto_streak_alerts_once_per_streak() -> None:
    streak = VetoStreak(threshold=3)
    results = [streak.observe(v, "stale_data", T0 + timedelta(seconds=i)) for i, v in enumerate([1, 1, 1, 1, 0, 1])]
    assert [r is not None for r in results] == [False, False, True, False, False, False]
    assert results[2] is not None and results[2].kind == "repeated_vetoes"
