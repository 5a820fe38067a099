"""What the choke point takes as a tool call's arguments, and the form they are recorded in.

Arguments arrive from a model (through an SDK's JSON parser or the Claude Code CLI), from a cassette or
from a Python caller: anything at all. Validation needs a JSON object of bounded size and depth; what is
recorded (the decision record, the journal, the error the model reads) is that object made safe:

- every key and every string scrubbed of secrets (:func:`tools.scrub.scrub_values`): a secret the model
  puts in a key name is as leaked as one in a value;
- lone surrogates escaped (they cannot be encoded to UTF-8, so the journal could not hash them);
- values JSON cannot hold as numbers (NaN, infinities, integers beyond 64 bits, Decimals, other
  objects) turned into strings, which validation then refuses (or, for a Decimal price, reads exactly);
- keys in canonical order, so a replayed record prints byte for byte like the original.

Anything that is no such object is recorded as ``{}``, and the problem, naming only its type and size
(never its content), is the error the model reads.

Most calls (every one the rules agent makes, most of a model's) are a small flat object of plain JSON values
(``_plain``): they are recorded the same way without the walk and the JSON round trip (scrubbed, keys sorted).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import Any

from core.canonical import canonical_json
from tools.scrub import scrub, scrub_values

MAX_ARGUMENT_CHARS = 64_000
"""About 16k tokens: more than any model turn of ours can write, far less than would bloat a journal."""
MAX_DEPTH = 8
"""Our deepest input is three levels (``wake_conditions[i].price``)."""
_MAX_INT_BITS = 63
_PLAIN_MAX_ITEMS = 32
_PLAIN_MAX_CHARS = 4_096
"""A plain object's bounds: far inside ``MAX_ARGUMENT_CHARS`` and ``MAX_DEPTH``, so no limit can be crossed."""


@dataclass(frozen=True, slots=True)
class CallArguments:
    """A call's arguments as recorded, and why they cannot be validated (``None`` when they can)."""

    recorded: dict[str, Any]
    problem: str | None = None


def take_arguments(raw: object, secrets: Iterable[str] = ()) -> CallArguments:
    """``raw`` checked for shape and made safe to record (see the module docstring); ``secrets`` are the
    configured secret values. Never raises."""
    if not isinstance(raw, Mapping):
        return CallArguments({}, f"arguments must be a JSON object, got {_kind(raw)}")
    plain = _plain(raw, secrets)
    return CallArguments(plain) if plain is not None else walked_arguments(raw, secrets)


def walked_arguments(raw: Mapping[Any, Any], secrets: Iterable[str] = ()) -> CallArguments:
    """The general path: any mapping walked for its limits, made plain JSON, scrubbed and round-tripped through
    canonical JSON (what ``_plain`` must equal: ``tests/tools/test_arguments.py``)."""
    problem = _oversized(raw)
    if problem is not None:
        return CallArguments({}, problem)
    safe = scrub_values(_json(raw), secrets)
    recorded: dict[str, Any] = json.loads(canonical_json(safe))
    return CallArguments(recorded)


def _plain(raw: Mapping[Any, Any], secrets: Iterable[str]) -> dict[str, Any] | None:
    """``raw`` as :func:`take_arguments` records it, when it is a small flat ``dict`` of ASCII strings, booleans,
    ``None``, 64-bit integers, finite floats and lists of those, and no key scrubs to another name: the canonical
    JSON round trip of such an object only sorts its keys (ASCII has no lone surrogate; a float prints as its
    repr and reads back as itself). ``None`` otherwise: the general path decides."""
    if type(raw) is not dict or len(raw) > _PLAIN_MAX_ITEMS:
        return None
    known = tuple(secrets)
    chars = 0
    recorded: dict[str, Any] = {}
    for key in sorted(raw) if all(type(k) is str for k in raw) else ():
        value = raw[key]
        if not key.isascii() or scrub(key, known)[0] != key:
            return None
        chars += len(key)
        if type(value) is list:
            if len(value) > _PLAIN_MAX_ITEMS or not all(_plain_scalar(item) for item in value):
                return None
            chars += sum(len(item) for item in value if type(item) is str)
            recorded[key] = [scrub(item, known)[0] if type(item) is str else item for item in value]
        elif _plain_scalar(value):
            chars += len(value) if type(value) is str else 0
            recorded[key] = scrub(value, known)[0] if type(value) is str else value
        else:
            return None
        if chars > _PLAIN_MAX_CHARS:
            return None
    return recorded if len(recorded) == len(raw) else None


def _plain_scalar(value: object) -> bool:
    """An ASCII ``str``, a ``bool``, ``None``, a finite ``float`` or a 64-bit ``int`` (exact types: a subclass may
    print differently)."""
    if isinstance(value, str):
        return type(value) is str and value.isascii()
    if isinstance(value, bool):
        return type(value) is bool
    if isinstance(value, float):
        return type(value) is float and math.isfinite(value)
    if isinstance(value, int):
        return type(value) is int and value.bit_length() <= _MAX_INT_BITS
    return value is None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, (list, tuple)):
        return f"an array of {len(value)} items"
    return f"a {type(value).__name__}"


def _oversized(arguments: Mapping[Any, Any]) -> str | None:
    """Why ``arguments`` are too deep or too large, walking them without recursion (a value nested a
    million levels deep must not exhaust the stack) and stopping at the first limit crossed."""
    size = 0
    stack: list[tuple[object, int]] = [(arguments, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"arguments nest deeper than {MAX_DEPTH} levels"
        children: Iterable[object] = ()
        if isinstance(value, Mapping):
            size += 2 + 4 * len(value) + sum(len(_key(key)) for key in islice(value, MAX_ARGUMENT_CHARS))
            children = value.values()
        elif isinstance(value, (list, tuple)):
            size += 2 + len(value)
            children = value
        else:
            size += _scalar_size(value)
        if size > MAX_ARGUMENT_CHARS:  # checked before the children are queued: a huge list is never copied
            return f"arguments are larger than {MAX_ARGUMENT_CHARS} characters"
        stack.extend((item, depth + 1) for item in children)
    return None


def _scalar_size(value: object) -> int:
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, int) and not isinstance(value, bool):
        return max(1, value.bit_length() * 3 // 10)  # about its decimal digits, without printing it
    if isinstance(value, Decimal):
        return len(value.as_tuple().digits) + 8
    return 8


def _json(value: Any) -> Any:
    """``value`` as plain JSON with string keys (bounded depth: :func:`_oversized` ran first)."""
    if isinstance(value, Mapping):
        return {_key(key): _json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(item) for item in value]
    return _scalar(value)


def _scalar(value: object) -> str | int | float | bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _encodable(value)
    if isinstance(value, int):
        return value if value.bit_length() <= _MAX_INT_BITS else f"<integer of about {_scalar_size(value)} digits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)  # exact (and short: 1E+1000000 stays 10 characters), for validation to read
    return f"<{type(value).__name__}>"


def _key(key: object) -> str:
    """A key as a string (JSON's are; a Python caller's need not be)."""
    return _encodable(key) if isinstance(key, str) else str(_scalar(key))  # a tuple key is "<tuple>"


def _encodable(text: str) -> str:
    """``text`` with lone surrogates (valid in a JSON escape, not in UTF-8) written as their escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
