"""The one choke point every tool call goes through, from every backend.

validate -> (side effects) safety veto -> journal -> handler -> journal the result.

Audiences (STYLE 7): bad arguments and refusals are ``is_error`` results the model reads and can
correct; an ``OperationalError`` from the desk is for a human and propagates (the decision aborts).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from core.canonical import canonical_json
from core.errors import OrderRejected, TemporaryError
from core.types import ToolCallRecord, Veto
from safety.verdicts import Approved
from tools.context import DecisionSession, JournalSink, TradingDesk
from tools.handlers import HandlerContext, ToolArgumentError
from tools.registry import BY_NAME, ToolSpec, spec_for
from tools.results import ApprovedView, ToolError
from tools.scrub import scrub_values

MAX_ERRORS_SHOWN = 5


@dataclass(frozen=True)
class ToolOutcome:
    """One executed call: the record for the decision and the text the model reads back."""

    record: ToolCallRecord
    content: str

    @property
    def is_error(self) -> bool:
        return self.record.is_error


class ToolExecutor:
    """Runs tool calls for one decision against a desk, journaling every step."""

    def __init__(self, desk: TradingDesk, journal: JournalSink, session: DecisionSession) -> None:
        self.desk = desk
        self.journal = journal
        self.session = session
        self._ctx = HandlerContext(desk=desk, session=session)

    async def call(self, name: str, arguments: Mapping[str, Any], call_id: str) -> ToolOutcome:
        """Execute one call; never raises for the model's mistakes or for refusals."""
        spec = spec_for(name)
        args_dict = self._clean(arguments)
        if spec is None:
            known = ", ".join(BY_NAME)
            return self._error(name, call_id, args_dict, "unknown_tool", f"no tool named {name!r}; tools: {known}")
        try:
            args = spec.input_model.model_validate(args_dict)
        except ValidationError as exc:
            return self._error(spec.name, call_id, args_dict, "invalid_arguments", explain(exc))
        verdict = await self._check(spec, call_id, args_dict, args)
        if isinstance(verdict, ToolOutcome):
            return verdict
        self._journal("tool_call", spec.name, call_id, args_dict, approved=_dump(verdict))
        return await self._run(spec, call_id, args_dict, args, verdict)

    async def precheck(self, name: str, arguments: Mapping[str, Any], call_id: str) -> ToolOutcome | None:
        """Validation and veto alone, for a PreToolUse hook (claude-code backend).

        An outcome means deny: it is already recorded and journaled (the handler will never run) and
        its ``content`` is the reason the model reads. ``None`` means let the call through to
        :meth:`call`, which validates and vetoes again before anything happens (defence in depth).
        """
        spec = spec_for(name)
        args_dict = self._clean(arguments)
        if spec is None:
            return self._error(name, call_id, args_dict, "unknown_tool", f"{name!r} is not one of our tools")
        try:
            args = spec.input_model.model_validate(args_dict)
        except ValidationError as exc:
            return self._error(spec.name, call_id, args_dict, "invalid_arguments", explain(exc))
        verdict = await self._check(spec, call_id, args_dict, args)
        return verdict if isinstance(verdict, ToolOutcome) else None

    async def _check(
        self, spec: ToolSpec, call_id: str, args_dict: dict[str, Any], args: BaseModel
    ) -> Approved | ToolOutcome | None:
        """The safety verdict on a side-effecting call (``None`` for a read): its approval, or the
        recorded refusal (a veto, or arguments that make no valid proposal)."""
        if spec.proposal is None:
            return None
        try:
            proposal = spec.proposal(args, self.session.request, call_id)
        except ValidationError as exc:
            return self._error(spec.name, call_id, args_dict, "invalid_arguments", explain(exc))
        verdict = await self.desk.check(proposal)
        if isinstance(verdict, Veto):
            return self._vetoed(spec.name, call_id, args_dict, verdict)
        return verdict

    async def _run(
        self, spec: ToolSpec, call_id: str, args_dict: dict[str, Any], args: BaseModel, approved: Approved | None
    ) -> ToolOutcome:
        try:
            result = await spec.handler(self._ctx, args, approved)
        except ToolArgumentError as exc:
            return self._error(spec.name, call_id, args_dict, "invalid_arguments", str(exc))
        except OrderRejected as exc:
            return self._error(spec.name, call_id, args_dict, exc.code, exc.message, kind="rejected")
        except TemporaryError as exc:
            return self._error(spec.name, call_id, args_dict, "temporarily_unavailable", str(exc), kind="unavailable")
        payload = spec.result_json(result)
        record = ToolCallRecord(tool_call_id=call_id, name=spec.name, arguments=args_dict, result=payload)
        self._journal("tool_result", spec.name, call_id, args_dict, result=payload)
        return self._keep(record)

    def _clean(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Arguments as recorded: secrets scrubbed, keys in canonical order (a replayed record prints
        byte for byte like the original, whatever order the model wrote them in)."""
        scrubbed = _json_safe(scrub_values(dict(arguments), self.session.secrets))
        cleaned: dict[str, Any] = json.loads(canonical_json(scrubbed))
        return cleaned

    def _error(
        self, name: str, call_id: str, args: dict[str, Any], code: str, message: str, *, kind: str = "invalid"
    ) -> ToolOutcome:
        error = ToolError(error=kind, code=code, message=message).model_dump(mode="json")
        record = ToolCallRecord(tool_call_id=call_id, name=name, arguments=args, result=error, is_error=True)
        self._journal("tool_error", name, call_id, args, error=error)
        return self._keep(record)

    def _vetoed(self, name: str, call_id: str, args: dict[str, Any], veto: Veto) -> ToolOutcome:
        error = ToolError(error="vetoed", code=veto.code, message=veto.message).model_dump(mode="json")
        record = ToolCallRecord(tool_call_id=call_id, name=name, arguments=args, result=error, is_error=True, veto=veto)
        self._journal("tool_vetoed", name, call_id, args, veto=veto.model_dump(mode="json"))
        return self._keep(record)

    def _keep(self, record: ToolCallRecord) -> ToolOutcome:
        self.session.calls.append(record)
        return ToolOutcome(record=record, content=canonical_json(record.result))

    def _journal(self, kind: str, name: str, call_id: str, args: dict[str, Any], **extra: Any) -> None:
        request = self.session.request
        payload = {
            "symbol": request.symbol,
            "as_of": request.as_of.isoformat(),
            "snapshot_digest": request.snapshot_digest,
            "tool": name,
            "tool_call_id": call_id,
            "arguments": args,
            **extra,
        }
        self.journal.append(kind, payload)


def explain(exc: ValidationError) -> str:
    """Pydantic errors as one short line per problem, the way a model can act on them."""
    lines = []
    for err in exc.errors()[:MAX_ERRORS_SHOWN]:
        where = ".".join(str(part) for part in err["loc"]) or "arguments"
        lines.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - MAX_ERRORS_SHOWN
    if more > 0:
        lines.append(f"... and {more} more")
    return "; ".join(lines)


def _json_safe(value: Any) -> Any:
    """NaN, infinities and non-JSON values become strings, so records and the journal stay canonical JSON
    (validation then refuses them as the wrong type)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def _dump(approved: Approved | None) -> dict[str, Any] | None:
    return None if approved is None else ApprovedView.of(approved).model_dump(mode="json")
