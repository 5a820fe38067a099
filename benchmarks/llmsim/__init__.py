"""A local stand-in for the Anthropic Messages API (real HTTP, JSON and SSE) with prompt caching modelled as
documented: what tests and the ``llm_cost`` benchmark run the real SDKs against. Not a production path."""

from benchmarks.llmsim.cache import CacheRequestError, CacheUsage, PromptCache
from benchmarks.llmsim.server import (
    LoggedRequest,
    MessagesServer,
    Reply,
    fail,
    hang,
    malformed,
    raw,
    sse_events,
    text,
    tool_use,
)

__all__ = [
    "CacheRequestError",
    "CacheUsage",
    "LoggedRequest",
    "MessagesServer",
    "PromptCache",
    "Reply",
    "fail",
    "hang",
    "malformed",
    "raw",
    "sse_events",
    "text",
    "tool_use",
]
