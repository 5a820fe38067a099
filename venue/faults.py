"""Faults on the wire, configured at start (flags or a TOML/JSON file) and changed at run time.

Each rule names a fault kind, the requests it applies to and how often it fires; every draw comes
from one ``random.Random(seed)``, so the same requests in the same order meet the same faults. The
plan only decides; ``venue.server`` carries a fault out.

REST kinds, drawn once per request (admin endpoints excepted):

- ``server_error``: HTTP 5xx (default 503 with Binance's -1001 body, or an HTML page), request **not** applied;
- ``server_error_after``: the request **is** applied, then 5xx (Binance: "execution status unknown");
- ``timeout_before_accept``: the request is held for ``hold_s`` and the connection closed, not applied;
- ``timeout_after_accept``: the request is applied, then held and the connection closed: the order
  exists, the client never hears of it;
- ``rate_limit``: 429 with ``Retry-After`` and Binance's -1003 body, not applied;
- ``ban``: 418 with ``Retry-After`` and -1003 "IP banned until <ms>"; every request is answered 418
  until the ban (``retry_after_s`` of wall time) ends.

Order kind, drawn once per order placement: ``delay_fill``: an order that would fill at once rests
and fills at the next replay step instead.

Stream kinds, drawn once per replay step: ``ws_drop`` closes the websockets (``streams``: market,
user or all) without a close frame; ``ws_silence`` keeps them open but sends no market data for
``silence_s`` seconds of wall time.
"""

from __future__ import annotations

import json
import random
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class WireFault(StrEnum):
    SERVER_ERROR = "server_error"
    SERVER_ERROR_AFTER = "server_error_after"
    TIMEOUT_BEFORE_ACCEPT = "timeout_before_accept"
    TIMEOUT_AFTER_ACCEPT = "timeout_after_accept"
    RATE_LIMIT = "rate_limit"
    BAN = "ban"
    DELAY_FILL = "delay_fill"
    WS_DROP = "ws_drop"
    WS_SILENCE = "ws_silence"

    @property
    def scope(self) -> Literal["request", "order", "step"]:
        if self is WireFault.DELAY_FILL:
            return "order"
        if self in (WireFault.WS_DROP, WireFault.WS_SILENCE):
            return "step"
        return "request"


class FaultRule(BaseModel):
    """One kind of fault, where it applies and how often."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: WireFault
    rate: float = Field(default=1.0, ge=0, le=1)
    """Probability per matching request (per replay step for the stream kinds)."""
    paths: tuple[str, ...] = ()
    """``"POST /fapi/v1/order"``, ``"/fapi/v1/order"`` (any method) or a prefix ending in ``*``; empty: all."""
    after: int = Field(default=0, ge=0)
    """Let the first ``after`` matching requests (or steps) through."""
    times: int | None = Field(default=None, ge=1)
    """Fire at most this many times (None: no limit)."""
    status: int = Field(default=503, ge=500, le=599)
    body: Literal["json", "html"] = "json"
    retry_after_s: int = Field(default=5, ge=1)
    hold_s: float = Field(default=30.0, gt=0)
    """Timeouts: how long the request is held before its connection is closed (longer than the client's timeout)."""
    silence_s: float = Field(default=30.0, gt=0)
    streams: Literal["market", "user", "all"] = "all"

    def matches(self, method: str, path: str) -> bool:
        return not self.paths or any(_path_matches(p, method, path) for p in self.paths)


def _path_matches(pattern: str, method: str, path: str) -> bool:
    wanted_method, _, wanted_path = pattern.partition(" ") if " " in pattern else ("", "", pattern)
    if wanted_method and wanted_method.upper() != method:
        return False
    if wanted_path.endswith("*"):
        return path.startswith(wanted_path[:-1])
    return path == wanted_path


class FaultConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    rules: tuple[FaultRule, ...] = ()

    @classmethod
    def load(cls, path: Path) -> FaultConfig:
        """A JSON or TOML file: ``seed = 7`` and ``[[rules]] kind = "server_error" rate = 0.05 ...``."""
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        return cls.model_validate(data)

    def with_rules(self, *rules: FaultRule) -> FaultConfig:
        return self.model_copy(update={"rules": (*self.rules, *rules)})


def parse_spec(spec: str) -> FaultRule:
    """A command-line rule: ``KIND[=RATE][@PATH]``, e.g. ``timeout_after_accept=0.1@POST /fapi/v1/order``."""
    head, _, path = spec.partition("@")
    kind, _, rate = head.partition("=")
    try:
        return FaultRule(
            kind=WireFault(kind.strip()),
            rate=float(rate) if rate else 1.0,
            paths=(path.strip(),) if path.strip() else (),
        )
    except ValueError as exc:
        kinds = ", ".join(k.value for k in WireFault)
        raise ValueError(f"fault {spec!r}: expected KIND[=RATE][@PATH] with KIND one of {kinds} ({exc})") from exc


@dataclass(frozen=True)
class FiredFault:
    seq: int
    kind: WireFault
    target: str
    """``METHOD /path`` of the request, or ``step`` for the stream kinds."""


class FaultPlan:
    """Decides, per request, order or replay step, which fault (if any) happens."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.fired: list[FiredFault] = []
        self.banned_until_ms: int | None = None
        self.replace(config or FaultConfig())

    def replace(self, config: FaultConfig) -> None:
        """Start over with ``config`` (its seed restarts the random draws; what fired stays on record)."""
        self.config = config
        self._rng = random.Random(config.seed)
        self._seen = [0] * len(config.rules)
        self._left = [rule.times for rule in config.rules]

    def add(self, *rules: FaultRule) -> None:
        """More rules, keeping the draws and counters of the existing ones."""
        self.config = self.config.with_rules(*rules)
        self._seen.extend(0 for _ in rules)
        self._left.extend(rule.times for rule in rules)

    def draw_request(self, method: str, path: str) -> FaultRule | None:
        """The first request-kind rule that matches ``METHOD path`` and fires, if any."""
        return next(self._firing("request", method, path), None)

    def draw_order(self, method: str, path: str) -> bool:
        """Whether an order placed by ``METHOD path`` has its fill delayed."""
        return next(self._firing("order", method, path), None) is not None

    def draw_step(self) -> list[FaultRule]:
        """Every stream-kind rule that fires at this replay step (each draws independently)."""
        return list(self._firing("step", "", ""))

    def ban(self, now_ms: int, rule: FaultRule) -> int:
        """Start a ban of ``rule.retry_after_s`` seconds; returns when it ends (ms)."""
        self.banned_until_ms = now_ms + rule.retry_after_s * 1000
        return self.banned_until_ms

    def ban_active(self, now_ms: int) -> bool:
        return self.banned_until_ms is not None and now_ms < self.banned_until_ms

    def _firing(self, scope: str, method: str, path: str) -> Iterator[FaultRule]:
        """Rules of ``scope`` that fire, in configuration order (lazily: a caller taking the first
        one does not draw for the rules after it)."""
        for index, rule in enumerate(self.config.rules):
            if rule.kind.scope != scope or (scope != "step" and not rule.matches(method, path)):
                continue
            self._seen[index] += 1
            left = self._left[index]
            if self._seen[index] <= rule.after or left == 0:
                continue
            if self._rng.random() < rule.rate:
                if left is not None:
                    self._left[index] = left - 1
                target = "step" if scope == "step" else f"{method} {path}"
                self.fired.append(FiredFault(len(self.fired) + 1, rule.kind, target))
                yield rule

    def summary(self) -> dict[str, object]:
        counts: dict[str, int] = {}
        for fired in self.fired:
            counts[fired.kind] = counts.get(fired.kind, 0) + 1
        return {
            "config": self.config.model_dump(mode="json"),
            "fired": counts,
            "banned_until_ms": self.banned_until_ms,
        }


def validation_message(exc: ValidationError) -> str:
    """One line for a person from a pydantic error (CLI and admin answers)."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])
