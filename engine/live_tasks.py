"""The live loop's task plumbing: waiting for the first of two events, a failed task's error, a bounded stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)


def wall() -> float:
    """Seconds of the event loop's monotonic clock (pacing requests; never a timestamp)."""
    return asyncio.get_running_loop().time()


async def first(news: asyncio.Event, stop: asyncio.Event, *, timeout: float) -> None:
    """Wait until ``news`` or ``stop`` is set, or ``timeout`` wall seconds."""
    waiters = [asyncio.ensure_future(news.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def raise_failed(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """A task that died of an unexpected error takes the run down with it (loudly)."""
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def done_or_stopped(task: asyncio.Task[Any], stop: asyncio.Event) -> bool:
    """Wait until ``task`` is done (True) or ``stop`` is set first (False; the task runs on)."""
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    return task.done()


async def settle(tasks: Sequence[asyncio.Task[Any]], grace_s: float) -> list[str]:
    """Let ``tasks`` finish what they are doing for up to ``grace_s`` wall seconds, then cancel the rest and
    wait for them; returns the names of the cancelled ones (a stop must not wait on a hung request)."""
    if not tasks:
        return []
    _, pending = await asyncio.wait(tasks, timeout=grace_s)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
        log.warning("stopping: cancelled after %.1f s: %s", grace_s, ", ".join(t.get_name() for t in pending))
    return sorted(t.get_name() for t in pending)
