"""Keep secrets out of anything the agent writes (memory) or reads (prompts).

Two nets: exact configured secret values, and shapes that look like credentials (API keys, bearer
tokens, ``key=value`` pairs with secret-ish names, long hex or base64 runs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"

_PATTERNS = (
    re.compile(r"sk-[A-Za-z0-9_-]{16,}"),  # Anthropic/OpenAI style keys (sk-ant-...)
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}"),
    re.compile(r"(?i)\b(api[_-]?key|api[_-]?secret|secret|token|password|passwd)\b\s*[:=]\s*\S+"),
    re.compile(r"\b[A-Fa-f0-9]{32,}\b"),
    re.compile(r"\b(?=[A-Za-z0-9+/]*\d)(?=[A-Za-z0-9+/]*[A-Za-z])[A-Za-z0-9+/]{40,}={0,2}"),  # base64-ish, mixed
)


def scrub(text: str, secrets: Iterable[str] = ()) -> tuple[str, bool]:
    """``text`` with every secret-looking run replaced by ``[redacted]``; the flag says if any was."""
    cleaned = text
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        cleaned = cleaned.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        cleaned = pattern.sub(REDACTED, cleaned)
    return cleaned, cleaned != text


def scrub_values(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` (JSON-like) with every string scrubbed, keys included: tool arguments go through this at
    the choke point, so a secret the model echoes, in a value or as a key name, never reaches a record,
    the journal, a cassette, memory or the validation error the model reads back."""
    known = tuple(secrets)
    if isinstance(value, str):
        return scrub(value, known)[0]
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            name = _distinct(scrub(key, known)[0], out) if isinstance(key, str) else key
            out[name] = scrub_values(item, known)
        return out
    if isinstance(value, list):
        return [scrub_values(item, known) for item in value]
    return value


def _distinct(name: str, taken: Mapping[Any, Any]) -> str:
    """``name``, or ``name#2``, ``name#3`` ... when keys that differed scrub alike (two redacted keys stay two)."""
    if name not in taken:
        return name
    n = 2
    while f"{name}#{n}" in taken:
        n += 1
    return f"{name}#{n}"
