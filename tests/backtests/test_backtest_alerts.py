"""A backtest never pages a human (issue 22, item 5): an LLM-backed backtest with the API unreachable once
posted 413 alerts stamped 2024 to the configured webhook. Notifiers are off in backtests: the alerts are
journaled in the run's store, ``alerts.off`` records that the configured notifiers were left out, and the
metrics and the summary count them.

A real local HTTP server stands in for the webhook and counts what reaches it; the Messages API is a closed
loopback port (connection refused), as an unreachable API is.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import SecretStr

from backtests.cli import print_summary
from backtests.data import select_data
from backtests.runner import BacktestRequest, run_backtest
from core.settings import AlertSettings, LLMSettings, load_settings
from core.types import Alert
from safety.alerts import ALERTS_OFF, WebhookNotifier
from store.sqlite_store import SqliteStore


class Webhook:
    """A real HTTP server on a free loopback port that answers 200 and counts every request."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                outer.requests.append(self.rfile.read(length).decode("utf-8", "replace"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.stop()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed when the block ends: connecting is refused


def test_an_llm_backtest_with_the_api_unreachable_sends_no_alert(
    webhook: Webhook, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(WebhookNotifier(webhook.url).notify(
        Alert(severity="info", kind="probe", message="the webhook works", at=datetime(2025, 1, 1, tzinfo=UTC))
    ))
    assert len(webhook.requests) == 1, "the stand-in webhook receives what a notifier sends"

    llm = LLMSettings.model_validate({
        "backend": "anthropic", "api_key": "sk-ant-test-not-a-real-key-000000",
        "base_url": f"http://127.0.0.1:{closed_port()}", "max_retries": 0, "timeout_s": 2.0,
        "breaker_failures": 2, "breaker_probe_after_s": 3600,
    })
    alerts = AlertSettings(webhook_url=webhook.url, telegram_token=SecretStr("123456:telegram-secret-token"),
                           telegram_chat_id="42", min_interval_s=0)
    settings = load_settings(None).model_copy(update={"llm": llm, "alerts": alerts})
    data = select_data(start=datetime(2025, 2, 1, tzinfo=UTC), end=datetime(2025, 2, 4, tzinfo=UTC))
    result = asyncio.run(run_backtest(BacktestRequest(settings, data, tmp_path / "run", warmup=48)))

    assert webhook.requests[1:] == [], "nothing of the backtest reached the webhook"
    store = SqliteStore(result.run.store_path, durable=False)
    try:
        journal = store.read_journal()
    finally:
        store.close()
    raised = [e for e in journal if e.kind == "alert.raised"]
    assert result.agent.breaker_openings >= 2 and len(raised) >= 2, "the unreachable API raised alerts"
    assert not [e for e in journal if e.kind == "alert.undelivered"], "no notifier was even tried (Telegram included)"
    [off] = [e for e in journal if e.kind == ALERTS_OFF]
    assert off.payload["configured"] == ["webhook", "telegram"] and off.at.year == 2025
    assert "telegram-secret" not in json.dumps(off.payload) and webhook.url not in json.dumps(off.payload)
    assert result.metrics["alerts"] == {"raised": len(raised), "sent": 0}
    assert json.loads(result.run.metrics_path.read_text())["alerts"] == {"raised": len(raised), "sent": 0}
    print_summary(result)
    assert f"alerts {len(raised)} (journaled, not sent" in capsys.readouterr().out
