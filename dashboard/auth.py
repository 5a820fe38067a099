"""The dashboard's token: whoever has it may queue operator commands; everyone else reads only.

The token comes from ``TRADEWAKE_DASHBOARD_TOKEN`` or is generated at start and printed once, inside the
URL to open (``/login?token=...`` sets an HttpOnly, SameSite=Strict cookie and redirects, so the token
leaves the address bar). A script may send ``Authorization: Bearer <token>``. Every state-changing
request must also carry ``X-Tradewake: 1`` (a page on another site cannot add it without CORS, which the
dashboard never grants) and, when the browser sends one, an ``Origin`` of the dashboard itself.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass

from starlette.requests import Request

TOKEN_ENV = "TRADEWAKE_DASHBOARD_TOKEN"
COOKIE = "tradewake_dashboard"
ACTION_HEADER = "x-tradewake"
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    from_env: bool

    @classmethod
    def from_environment(cls) -> Token:
        """The configured token, or a fresh random one (``ValueError`` for a configured one too short to guess)."""
        configured = os.environ.get(TOKEN_ENV, "")
        if configured:
            if len(configured) < MIN_TOKEN_CHARS:
                raise ValueError(f"{TOKEN_ENV} must be at least {MIN_TOKEN_CHARS} characters")
            return cls(configured, from_env=True)
        return cls(secrets.token_urlsafe(24), from_env=False)

    def matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.value.encode())


def presented(request: Request) -> str | None:
    """The token a request carries, in its cookie or as a bearer token."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def may_act(request: Request, token: Token) -> bool:
    return token.matches(presented(request))


def same_site(request: Request) -> bool:
    """A state-changing request comes from the dashboard's own page (or a script that says so)."""
    if request.headers.get(ACTION_HEADER) != "1":
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"
