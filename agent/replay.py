"""Replay cassettes: record every decision, replay it with no model.

A cassette is a JSON-lines file, one canonical line per decision: the lookup key (symbol, decision
time, snapshot digest, prompt version) and the full ``DecisionRecord`` (tool calls with arguments,
final text, usage, latency). :class:`RecordingBackend` appends to it; :class:`ReplayBackend`
re-drives the recorded tool calls through the choke point against the current desk, so the
replayed backtest gets the same orders, and checks that every result matches the recording. Same
inputs and the same cassette give a byte-identical record; a world that diverged from the recording
raises :class:`ReplayDivergence` rather than continuing on a different path.

A miss (no recorded decision for this key) raises :class:`CassetteMiss` or, with
``cassette_miss = "rules"``, lets the rules backend decide (recorded in ``fallback_reason``).
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from agent.closing import aclose_backend
from agent.records import build_record
from agent.rules import RulesBackend
from core.canonical import canonical_json, sha256_hex
from core.errors import ConfigError, TradewakeError
from core.ports import AgentBackend
from core.settings import LLMSettings
from core.types import Alert, DecisionRecord, DecisionRequest
from tools.context import DecisionSession, JournalSink, TradingDesk
from tools.executor import ToolExecutor
from tools.wake_args import parse_wake_conditions


class CassetteMiss(TradewakeError):
    """No recorded decision for this request (different data, time or prompt version)."""


class ReplayDivergence(TradewakeError):
    """Re-running a recorded tool call gave a different result: the world differs from the recording."""


def cassette_key(request: DecisionRequest, prompt_version: str) -> str:
    body = {
        "symbol": request.symbol,
        "as_of": request.as_of.isoformat(),
        "snapshot_digest": request.snapshot_digest,
        "prompt_version": prompt_version,
    }
    return sha256_hex(canonical_json(body))


def cassette_line(key: str, record: DecisionRecord) -> str:
    return canonical_json({"key": key, "record": record.model_dump(mode="json")})


class RecordingBackend:
    """Wraps any backend and appends each decision it makes to a cassette."""

    def __init__(self, inner: AgentBackend, path: Path, prompt_version: str) -> None:
        self.inner = inner
        self.path = path
        self.prompt_version = prompt_version
        self.name = inner.name

    def drain_alerts(self) -> list[Alert]:
        return self.inner.drain_alerts()

    async def aclose(self) -> None:
        await aclose_backend(self.inner)

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        record = await self.inner.decide(request)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(cassette_line(cassette_key(request, self.prompt_version), record) + "\n")
        return record


def load_cassette(path: Path) -> dict[str, deque[DecisionRecord]]:
    """Recorded decisions by key, in recording order (a key seen twice replays in order)."""
    if not path.is_file():
        raise ConfigError(f"cassette not found: {path}")
    entries: dict[str, deque[DecisionRecord]] = defaultdict(deque)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cassette {path} is unreadable ({exc})") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            entries[data["key"]].append(DecisionRecord.model_validate(data["record"]))
        except (ValueError, KeyError, TypeError) as exc:  # not JSON, not an object, missing or wrong fields
            why = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
            raise ConfigError(f"{path}:{number}: not a cassette line ({why})") from exc
    return entries


class ReplayBackend:
    name = "replay"

    def __init__(
        self,
        *,
        cassette: Path,
        llm: LLMSettings,
        desk: TradingDesk,
        journal: JournalSink,
        prompt_version: str,
        rules: RulesBackend | None = None,
    ) -> None:
        if llm.cassette_miss == "rules" and rules is None:
            raise ConfigError("cassette_miss = 'rules' needs a rules backend")
        self.entries = load_cassette(cassette)
        self.llm = llm
        self.desk = desk
        self.journal = journal
        self.prompt_version = prompt_version
        self.rules = rules

    async def decide(self, request: DecisionRequest) -> DecisionRecord:
        key = cassette_key(request, self.prompt_version)
        queue = self.entries.get(key)
        if not queue:
            return await self._miss(request)
        recorded = queue.popleft()
        session = DecisionSession(request=request, memory_max_chars=self.llm.memory_max_chars)
        executor = ToolExecutor(self.desk, self.journal, session)
        for index, call in enumerate(recorded.tool_calls):
            outcome = await executor.call(call.name, call.arguments, call.tool_call_id)
            recorded_call, replayed_call = call.model_dump(mode="json"), outcome.record.model_dump(mode="json")
            if canonical_json(replayed_call) != canonical_json(recorded_call):
                raise ReplayDivergence(_divergence(index, recorded_call, replayed_call))
        session.memory_update = recorded.memory_update
        session.next_check_seconds = recorded.next_check_seconds
        session.wake_conditions = parse_wake_conditions(recorded.wake_conditions)
        return build_record(
            session,
            backend=recorded.backend,
            prompt_version=recorded.prompt_version,
            model=recorded.model,
            reasoning=recorded.reasoning,
            usage=recorded.usage,
            latency_ms=recorded.latency_ms,
            error=recorded.error,
            fallback_reason=recorded.fallback_reason,
        )

    def drain_alerts(self) -> list[Alert]:
        """A replay calls no service: nothing to tell a human."""
        return []

    async def _miss(self, request: DecisionRequest) -> DecisionRecord:
        where = f"{request.symbol} at {request.as_of.isoformat()} (digest {request.snapshot_digest[:12]})"
        if self.llm.cassette_miss == "rules" and self.rules is not None:
            return await self.rules.decide_as_fallback(request, "cassette_miss")
        raise CassetteMiss(f"no recorded decision for {where} with prompt {self.prompt_version}")


def _divergence(index: int, recorded: dict[str, Any], replayed: dict[str, Any]) -> str:
    return (
        f"tool call {index} ({recorded.get('name')}) diverged from the cassette: "
        f"recorded {canonical_json(recorded.get('result'))[:200]}, "
        f"replayed {canonical_json(replayed.get('result'))[:200]}"
    )
