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
    """``value`` (JSON-like) with every string scrubbed: tool arguments go through this at the choke
    point, so a secret the model echoes never reaches a record, the journal, a cassette or memory."""
    if isinstance(value, str):
        return scrub(value, secrets)[0]
    if isinstance(value, Mapping):
        return {key: scrub_values(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_values(item, secrets) for item in value]
    return value
