"""Prompt caching as the Messages API documents it, for the local Messages server (pure; no I/O, no clock).

What is modelled (../shared/notes/claude-sdks.md "Prompt caching, checked"; [PC] = the API docs):

- The prompt is a sequence of blocks in prefix order: every tool, then every system block, then every
  content block of every message. A ``cache_control`` on a block is a breakpoint; a top-level
  ``cache_control`` adds one on the last block. More than 4 breakpoints is a 400; a 1-hour breakpoint after
  a 5-minute one is a 400 (1h entries must come first).
- At each breakpoint the prefix up to it is a cache entry, keyed by its exact content, per model.
- A request reads the longest live entry that one of its breakpoints finds within 20 blocks before it
  (the lookback only finds entries earlier requests *wrote* at their breakpoints); the read refreshes
  that entry's TTL. Every breakpoint after the read is written, with its own TTL (5m or 1h).
- A prefix shorter than the model's minimum cacheable length is neither read nor written (no error; both
  counters stay 0).
- TTLs run on the request clock the caller passes (``now``): a simulated clock makes a backtest's gaps real.
- Usage: ``input_tokens`` is what follows the last cached or written block; ``cache_creation_input_tokens``
  with its ``ephemeral_5m`` / ``ephemeral_1h`` split; ``cache_read_input_tokens``.

Token counts per block use ``agent.prompting``'s documented estimator (the tool-use system overhead is
counted in the first system block), so the totals agree with ``count_tokens`` to within rounding.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agent.pricing import price_for
from agent.prompting import TOOL_USE_OVERHEAD_TOKENS, estimate_tokens
from core.errors import ConfigError

MAX_BREAKPOINTS = 4
LOOKBACK_BLOCKS = 20
TTL = {"5m": timedelta(minutes=5), "1h": timedelta(hours=1)}
DEFAULT_MINIMUM = 1024


class CacheRequestError(ValueError):
    """A request the API refuses with 400 (too many breakpoints, TTLs out of order, an unknown TTL)."""


@dataclass(frozen=True)
class Block:
    tokens: int
    key: str
    """SHA-256 of the model and every block up to and including this one (the prefix's identity)."""
    ttl: str | None
    """The TTL of a breakpoint on this block, ``None`` when it is not one."""


@dataclass(frozen=True)
class CacheUsage:
    input_tokens: int
    cache_read_input_tokens: int
    cache_creation_5m: int
    cache_creation_1h: int

    @property
    def cache_creation_input_tokens(self) -> int:
        return self.cache_creation_5m + self.cache_creation_1h

    def as_json(self, output_tokens: int) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation_5m,
                "ephemeral_1h_input_tokens": self.cache_creation_1h,
            },
        }


@dataclass
class PromptCache:
    """Every model's cache entries: prefix key -> expiry time."""

    entries: dict[str, dict[str, datetime]] = field(default_factory=dict)

    def apply(self, request: dict[str, Any], now: datetime) -> CacheUsage:
        """Read and write the cache for one request at ``now``; the usage the API would report."""
        model = str(request.get("model", ""))
        blocks = request_blocks(request)
        breakpoints = [i for i, b in enumerate(blocks) if b.ttl is not None]
        _check(blocks, breakpoints)
        store = self.entries.setdefault(model, {})
        minimum = minimum_tokens(model)
        prefix = _running_sums([b.tokens for b in blocks])
        usable = [i for i in breakpoints if prefix[i] >= minimum]
        hit = self._read(store, blocks, usable, now)
        written = [i for i in usable if i > hit]
        write_5m = write_1h = 0
        last = hit
        for i in written:
            ttl = blocks[i].ttl or "5m"
            tokens = prefix[i] - (prefix[last] if last >= 0 else 0)
            if ttl == "1h":
                write_1h += tokens
            else:
                write_5m += tokens
            store[blocks[i].key] = now + TTL[ttl]
            last = i
        read = prefix[hit] if hit >= 0 else 0
        total = prefix[-1] if prefix else 0
        return CacheUsage(total - read - write_5m - write_1h, read, write_5m, write_1h)

    @staticmethod
    def _read(store: dict[str, datetime], blocks: list[Block], usable: list[int], now: datetime) -> int:
        """The furthest block holding a live entry that a breakpoint finds (refreshed), or -1."""
        best = -1
        for bp in usable:
            for j in range(bp, max(-1, bp - LOOKBACK_BLOCKS), -1):
                expiry = store.get(blocks[j].key)
                if expiry is not None and expiry > now:
                    best = max(best, j)
                    break
        if best >= 0:
            ttl = blocks[best].ttl or _ttl_of(store[blocks[best].key], now)
            store[blocks[best].key] = now + TTL[ttl]
        return best


def _ttl_of(expiry: datetime, now: datetime) -> str:
    return "1h" if expiry - now > TTL["5m"] else "5m"


def minimum_tokens(model: str) -> int:
    try:
        return price_for(model).min_cacheable_tokens
    except ConfigError:
        return DEFAULT_MINIMUM


def request_blocks(request: dict[str, Any]) -> list[Block]:
    """The request's blocks in prefix order (tools -> system -> messages), each with its prefix key."""
    raw: list[tuple[dict[str, Any], int]] = [(tool, 0) for tool in request.get("tools", [])]
    system = request.get("system", [])
    system_blocks = [{"type": "text", "text": system}] if isinstance(system, str) else list(system)
    overhead = TOOL_USE_OVERHEAD_TOKENS if request.get("tools") else 0
    for index, block in enumerate(system_blocks):
        raw.append((block, overhead if index == 0 else 0))
    for message in request.get("messages", []):
        content = message.get("content", "")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
        raw.extend(({"role": message.get("role"), **part}, 0) for part in parts)
    top: Any = request.get("cache_control")
    blocks: list[Block] = []
    running = hashlib.sha256(str(request.get("model", "")).encode())
    for index, (block, extra) in enumerate(raw):
        marker: Any = block.get("cache_control")
        if index == len(raw) - 1 and marker is None and isinstance(top, dict):
            marker = top
        bare = {k: v for k, v in block.items() if k != "cache_control"}
        text = json.dumps(bare, sort_keys=True, separators=(",", ":"))
        running.update(text.encode())
        ttl = None if marker is None else str(marker.get("ttl", "5m"))
        blocks.append(Block(estimate_tokens(text) + extra, running.hexdigest(), ttl))
    return blocks


def _check(blocks: list[Block], breakpoints: list[int]) -> None:
    if len(breakpoints) > MAX_BREAKPOINTS:
        raise CacheRequestError(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {len(breakpoints)}."
        )
    ttls = [blocks[i].ttl for i in breakpoints]
    for ttl in ttls:
        if ttl not in TTL:
            raise CacheRequestError(f"cache_control.ttl: Input should be '5m' or '1h', got {ttl!r}")
    if "5m" in ttls and "1h" in ttls[ttls.index("5m"):]:
        raise CacheRequestError("a ttl='1h' cache_control block must not come after a ttl='5m' block")


def _running_sums(values: list[int]) -> list[int]:
    out, total = [], 0
    for value in values:
        total += value
        out.append(total)
    return out
