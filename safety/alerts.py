"""Alerts to humans: a webhook and Telegram (send-only), deduplicated, rate-limited, never lost.

HTTP goes through ``httpx2`` (already a dependency: the anthropic SDK's transport), one short-lived
``AsyncClient`` per delivery; alerts are rare and this keeps no connection bound to an event loop.

Telegram is **send-only**: ``sendMessage`` and nothing else. No ``getUpdates`` polling, so two
running instances never fight over the bot's update queue. The bot token lives in the URL path,
so no error message that could contain the URL is ever passed on: failures are described by
status code and exception type only.

``httpx2`` logs every request URL at INFO; a filter on its logger (installed when this module is
imported) rewrites ``/bot<token>/`` to ``/bot***/`` so the token cannot reach a log either.

The :class:`AlertDispatcher` suppresses an alert whose dedup key was sent less than
``alerts.min_interval_s`` ago, and journals every alert it cannot deliver (``alert.undelivered``);
when even the journal is unavailable (the store is what failed) it logs at CRITICAL. Nothing is
dropped silently.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx2
from pydantic import SecretStr

from core.errors import ConflictError, OperationalError, TemporaryError
from core.ports import Clock, NewEvent, Notifier, Store
from core.settings import AlertSettings
from core.types import Alert

log = logging.getLogger(__name__)

_BOT_TOKEN_IN_PATH = re.compile(r"/bot[^/\s]+/")


class RedactBotToken(logging.Filter):
    """Rewrites any Telegram bot token in a URL path of a log record to ``***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _BOT_TOKEN_IN_PATH.sub("/bot***/", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


for _name in ("httpx2", "httpcore2"):
    if not any(isinstance(f, RedactBotToken) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(RedactBotToken())

TELEGRAM_API = "https://api.telegram.org"
TELEGRAM_MAX_CHARS = 4096


class AlertKind(StrEnum):
    BREAKER_OPENED = "breaker_opened"
    UNPROTECTED_POSITION = "unprotected_position"
    SAVE_FAILED = "save_failed"
    RECONCILIATION_MISMATCH = "reconciliation_mismatch"
    REPEATED_VETOES = "repeated_vetoes"
    HALT = "halt"
    GUARD_WARNING = "guard_warning"
    FEED_STALE = "feed_stale"
    ACCOUNT_SETTINGS = "account_settings"
    """The futures account's leverage or margin type is not what the run set (changed by hand)."""
    FOREIGN_ORDER = "foreign_order"
    """An open order that is not ours (the Binance app, a person, another bot) on a traded symbol."""
    IP_BAN = "ip_ban"
    """Binance banned the IP (418): nothing is sent until the ban ends."""
    LEASE_LOST = "lease_lost"
    """Another runner took a symbol over (a newer fencing token): this runner's write was refused."""
    COMMAND_FAILED = "command_failed"


class AlertDeliveryError(OperationalError):
    """A notifier could not deliver; the message never contains a secret."""


class AlertSink(Protocol):
    """What the safety layer raises alerts through (the dispatcher, or anything that journals them)."""

    async def raise_alert(self, alert: Alert) -> None: ...


def make_alert(kind: AlertKind, message: str, at: datetime, *, severity: str = "critical", key: str = "") -> Alert:
    return Alert(severity=severity, kind=kind.value, message=message, at=at, dedup_key=f"{kind.value}:{key or message}")


# ------------------------------------------------------------------ notifiers


class WebhookNotifier:
    """POSTs the alert as JSON (``Alert`` fields) to a URL; any non-2xx answer is a failure."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        self._url = url
        self._where = urlsplit(url).netloc or "webhook"  # the path may hold a secret (chat webhooks do)
        self._timeout_s = timeout_s

    async def notify(self, alert: Alert) -> None:
        try:
            async with httpx2.AsyncClient(timeout=self._timeout_s) as client:
                response = await client.post(self._url, json=alert.model_dump(mode="json"))
        except httpx2.HTTPError as exc:
            raise AlertDeliveryError(f"webhook {self._where}: {type(exc).__name__}") from None
        if not 200 <= response.status_code < 300:
            raise AlertDeliveryError(f"webhook {self._where}: HTTP {response.status_code}")


class TelegramNotifier:
    """Bot API ``sendMessage`` to one chat. Send-only: never polls for updates."""

    def __init__(self, token: SecretStr, chat_id: str, *, api_base: str = TELEGRAM_API, timeout_s: float = 5.0) -> None:
        if not token.get_secret_value() or not chat_id:
            raise ValueError("telegram needs a bot token and a chat id")
        self._token = token
        self._chat_id = chat_id
        self._api_base = api_base.rstrip("/")
        self._timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"TelegramNotifier(chat_id={self._chat_id!r}, token=**********)"

    async def notify(self, alert: Alert) -> None:
        url = f"{self._api_base}/bot{self._token.get_secret_value()}/sendMessage"
        body = {"chat_id": self._chat_id, "text": format_text(alert), "disable_web_page_preview": True}
        try:
            async with httpx2.AsyncClient(timeout=self._timeout_s) as client:
                response = await client.post(url, json=body)
        except httpx2.HTTPError as exc:  # its text may contain the URL, hence the token: never pass it on
            raise AlertDeliveryError(f"telegram sendMessage: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise AlertDeliveryError(f"telegram sendMessage: HTTP {response.status_code}")
        if not _telegram_ok(response):
            raise AlertDeliveryError("telegram sendMessage: answer without ok=true")


def _telegram_ok(response: httpx2.Response) -> bool:
    try:
        answer = response.json()
    except ValueError:
        return False
    return isinstance(answer, dict) and answer.get("ok") is True


def format_text(alert: Alert) -> str:
    text = f"[{alert.severity.upper()}] tradewake {alert.kind}\n{alert.message}\n{alert.at.isoformat()}"
    return text[:TELEGRAM_MAX_CHARS]


ALERTS_OFF = "alerts.off"
"""Journaled once when a run is built without notifiers (a backtest): its alerts are journaled, never sent."""


def offline_notifiers(settings: AlertSettings, store: Store, at: datetime) -> list[Notifier]:
    """No notifier, for a run on recorded data (a backtest, ``decide``): nothing it raises pages a human (an
    unreachable API once posted 413 alerts stamped 2024 to the configured webhook). Its alerts are still journaled
    (``alert.raised``); ``alerts.off`` records which configured notifiers were left out (their kind, never a URL
    or a token)."""
    kinds = {"WebhookNotifier": "webhook", "TelegramNotifier": "telegram"}
    configured = [kinds.get(type(n).__name__, "other") for n in notifiers_from(settings)]
    payload = {"reason": "a run on recorded data: alerts are journaled, never sent", "configured": configured}
    store.append(NewEvent(kind=ALERTS_OFF, at=at, payload=payload))
    return []


def notifiers_from(settings: AlertSettings) -> list[Notifier]:
    """The notifiers the settings configure (none is a valid choice: alerts are then only journaled)."""
    found: list[Notifier] = []
    if settings.webhook_url:
        found.append(WebhookNotifier(settings.webhook_url))
    if settings.telegram_token is not None and settings.telegram_chat_id:
        found.append(TelegramNotifier(settings.telegram_token, settings.telegram_chat_id))
    return found


# ------------------------------------------------------------------ dispatcher


@dataclass
class AlertDispatcher:
    """Deduplicate, rate-limit, deliver, and journal what could not be delivered."""

    notifiers: Sequence[Notifier]
    store: Store
    clock: Clock
    min_interval_s: int = 60
    _last_sent: dict[str, datetime] = field(default_factory=dict)
    suppressed: int = 0
    undelivered: int = 0

    async def raise_alert(self, alert: Alert) -> None:
        key = alert.dedup_key or f"{alert.kind}:{alert.message}"
        now = self.clock.now()
        last = self._last_sent.get(key)
        if last is not None and now - last < timedelta(seconds=self.min_interval_s):
            self.suppressed += 1
            return
        self._last_sent[key] = now
        self._journal("alert.raised", alert, {})
        for notifier in self.notifiers:
            try:
                await notifier.notify(alert)
            except AlertDeliveryError as exc:
                self.undelivered += 1
                self._journal("alert.undelivered", alert, {"notifier": type(notifier).__name__, "error": str(exc)})

    def _journal(self, kind: str, alert: Alert, extra: dict[str, Any]) -> None:
        payload = {"alert": alert.model_dump(mode="json"), **extra}
        try:
            self.store.append(NewEvent(kind=kind, at=self.clock.now(), payload=payload))
        except (OperationalError, ConflictError, TemporaryError) as exc:
            # The journal is down too (often the very failure being alerted): the log is the last resort.
            log.critical("%s (journal unavailable: %s): %s", kind, exc, payload)


@dataclass
class VetoStreak:
    """Counts consecutive vetoes; at ``threshold`` the agent may be stuck in a loop: alert once per streak."""

    threshold: int
    count: int = 0

    def observe(self, vetoed: bool, code: str, at: datetime) -> Alert | None:
        self.count = self.count + 1 if vetoed else 0
        if self.count != self.threshold:
            return None
        return make_alert(
            AlertKind.REPEATED_VETOES,
            f"{self.count} consecutive vetoes, last: {code}",
            at,
            severity="warning",
            key=code,
        )
