"""What of the settings is secret, stated once: :func:`redacted` for display (``config show``) and
:func:`secret_values` for the scrubbers that keep secrets out of memory, tool arguments and reasoning.

Secrets are every ``SecretStr`` and the credentials URLs carry: the password in the store URL, any user
information or query in ``llm.base_url``, and the path of ``alerts.webhook_url`` (webhook URLs are
bearer tokens).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from core.settings import Settings

MASK = "**********"


def redacted(settings: Settings) -> dict[str, Any]:
    """The effective settings as JSON-able data, every secret shown as ``**********`` or ``null``.

    URLs can carry credentials too: the password in the store URL (``redis://user:pw@host``), any user
    information or query in ``llm.base_url``, and everything after the host of ``alerts.webhook_url``
    (webhook URLs are bearer tokens) are masked.
    """
    data = settings.model_dump(mode="json")
    data["store"]["url"] = mask_url(data["store"]["url"], keep_user=True)
    if data["llm"]["base_url"]:
        data["llm"]["base_url"] = mask_url(data["llm"]["base_url"], keep_user=False)
    if data["alerts"]["webhook_url"]:
        data["alerts"]["webhook_url"] = mask_url(data["alerts"]["webhook_url"], keep_user=False, keep_path=False)
    return data


def secret_values(settings: Settings) -> tuple[str, ...]:
    """Every secret the settings hold, for the scrubbers: each ``SecretStr``, the credentials inside the
    LLM base URL and the store URL, and the path and query of the webhook URL (its bearer token).
    Values shorter than 6 characters are left out: scrubbing them would mangle ordinary words."""
    values = [s.get_secret_value() for s in (settings.llm.api_key, settings.llm.oauth_token,
                                              settings.exchange.api_key, settings.exchange.api_secret,
                                              settings.alerts.telegram_token) if s is not None]
    for url in (settings.llm.base_url, settings.store.url):
        values.extend(_url_credentials(url or ""))
    if settings.alerts.webhook_url:
        values.extend(_url_path_parts(settings.alerts.webhook_url))
    return tuple(dict.fromkeys(v for v in values if len(v) >= 6))


def _url_credentials(url: str) -> list[str]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    userinfo, at, _host = parts.netloc.rpartition("@")
    return [*userinfo.split(":", 1), parts.query] if at else [parts.query]


def _url_path_parts(url: str) -> list[str]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    tokens = [seg for seg in parts.path.split("/") if len(seg) >= 16 or (len(seg) >= 8 and _has_digit(seg))]
    return [*tokens, parts.query, *_url_credentials(url)]


def _has_digit(text: str) -> bool:
    return any(char.isdigit() for char in text)


def mask_url(url: str, *, keep_user: bool, keep_path: bool = True) -> str:
    """``url`` with its password (and the user name unless ``keep_user``), its query and fragment and,
    unless ``keep_path``, its path replaced by the mask. A URL that does not parse is masked whole."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    userinfo, at, host = parts.netloc.rpartition("@")
    path = parts.path if keep_path or parts.path in ("", "/") else f"/{MASK}"
    if not at and path == parts.path and not parts.query and not parts.fragment:
        return url
    if at:
        user, colon, _password = userinfo.partition(":")
        userinfo = f"{user}:{MASK}" if keep_user and colon else (user if keep_user else MASK)
        host = f"{userinfo}@{host}"
    query = f"?{MASK}" if parts.query else ""
    fragment = f"#{MASK}" if parts.fragment else ""
    return f"{parts.scheme}://{host}{path}{query}{fragment}" if parts.scheme else MASK
