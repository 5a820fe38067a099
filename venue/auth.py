"""Request authentication exactly as Binance checks it (HMAC-SHA256 keys only), as pure functions.

REST ``SIGNED`` endpoints: the ``X-MBX-APIKEY`` header names the key; ``signature`` is the hex
HMAC-SHA256, keyed by the secret, of *totalParams*: the query string concatenated with the request
body, both without the ``signature`` parameter (Binance's "mixed query string and request body"
rule). ``timestamp`` is mandatory and must satisfy ``timestamp < now + 1000`` and
``now - timestamp <= recvWindow`` (default 5000 ms, at most 60000), where ``now`` is the server's
*wall* clock: like Binance, the venue checks freshness against real time, not the replayed market
time (so ccxt's ``adjustForTimeDifference`` must stay off, its default).

WebSocket API (spot user data, ``userDataStream.subscribe.signature``): the signature is over the
request's params except ``signature``, sorted by name, as ``name=value`` pairs joined by ``&``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from venue import errors
from venue.errors import BinanceError

DEFAULT_RECV_WINDOW_MS = 5_000
MAX_RECV_WINDOW_MS = 60_000
FUTURE_TOLERANCE_MS = 1_000


@dataclass(frozen=True)
class Credentials:
    """The one API key the venue accepts, and its secret (test credentials, never a real key)."""

    api_key: str
    api_secret: str

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(api_key={self.api_key!r}, api_secret=***)"


def sign(payload: str, secret: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def strip_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` (a query string or form body) without its ``signature`` parameter, and that signature."""
    kept, signature = [], None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = part.removeprefix("signature=")
        else:
            kept.append(part)
    return "&".join(kept), signature


def check_api_key(headers: Mapping[str, str], credentials: Credentials) -> None:
    """USER_STREAM and SIGNED endpoints: the key header must name the venue's key."""
    key = headers.get("X-MBX-APIKEY")
    if not key:
        raise errors.key_format()
    if not hmac.compare_digest(key, credentials.api_key):
        raise errors.key_rejected()


def check_signed(
    query: str,
    body: str,
    *,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    credentials: Credentials,
    now_ms: int,
) -> None:
    """Key, signature and timestamp of a SIGNED REST request; raises the ``BinanceError`` Binance answers."""
    check_api_key(headers, credentials)
    signed_query, query_signature = strip_signature(query)
    signed_body, body_signature = strip_signature(body)
    signature = body_signature or query_signature
    if not signature:
        raise errors.mandatory("signature")
    if not hmac.compare_digest(signature.lower(), sign(signed_query + signed_body, credentials.api_secret)):
        raise errors.bad_signature()
    check_timestamp(params, now_ms)


def check_timestamp(params: Mapping[str, str], now_ms: int) -> None:
    timestamp = _integer(params, "timestamp", required=True)
    window = _integer(params, "recvWindow", required=False)
    recv_window = DEFAULT_RECV_WINDOW_MS if window is None else window
    if recv_window <= 0 or recv_window > MAX_RECV_WINDOW_MS:
        raise errors.recv_window_too_large()
    assert timestamp is not None
    if timestamp >= now_ms + FUTURE_TOLERANCE_MS:
        raise errors.ahead_of_server()
    if now_ms - timestamp > recv_window:
        raise errors.outside_recv_window()


def check_ws_api_signature(params: Mapping[str, object], credentials: Credentials, now_ms: int) -> None:
    """A WebSocket API request signed with an HMAC key (``apiKey``, ``timestamp``, ``signature`` in params)."""
    key = params.get("apiKey")
    if not isinstance(key, str) or not hmac.compare_digest(key, credentials.api_key):
        raise errors.key_rejected()
    signature = params.get("signature")
    if not isinstance(signature, str):
        raise errors.mandatory("signature")
    payload = "&".join(f"{k}={_text(v)}" for k, v in sorted(params.items()) if k != "signature")
    if not hmac.compare_digest(signature.lower(), sign(payload, credentials.api_secret)):
        raise errors.bad_signature()
    check_timestamp({k: _text(v) for k, v in params.items()}, now_ms)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _integer(params: Mapping[str, str], name: str, *, required: bool) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise errors.mandatory(name)
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise BinanceError(
            -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
        ) from exc
