"""Versioned prompt templates, shipped as package data.

A template's version is its name plus the first 12 hex digits of the SHA-256 of its text, so any
edit changes the version that goes into every decision record (and into replay cassette keys).
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources


@cache
def load_prompt(name: str) -> tuple[str, str]:
    """``(text, version)`` of ``prompts/<name>.md``; raises ``FileNotFoundError`` for an unknown name."""
    text = resources.files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return text, f"{name}-{digest}"


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{{name}}`` placeholders; a placeholder without a value is an error, not a silent blank."""
    out = template
    for key, value in values.items():
        out = out.replace("{{" + key + "}}", value)
    if "{{" in out:
        start = out.index("{{")
        raise KeyError(f"unfilled placeholder near {out[start:start + 40]!r}")
    return out
