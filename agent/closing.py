"""Closing what a backend holds open when the run ends: the anthropic SDK client's connection pool.

A backend that holds a connection defines ``async aclose()``; a wrapper (the router, the cassette recorder)
forwards it to what it wraps. A backend without one holds nothing (rules, replay, a scripted test agent).
``Engine.close`` calls :func:`aclose_backend` on its agent.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class ClosableBackend(Protocol):
    async def aclose(self) -> None: ...


async def aclose_backend(backend: object) -> None:
    """Close ``backend``'s connections if it holds any (twice is harmless: the SDK's close is idempotent)."""
    if isinstance(backend, ClosableBackend):
        await backend.aclose()
