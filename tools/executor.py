"""The one choke point every tool call goes through, from every backend.

validate -> (side effects) safety veto -> journal -> handler -> journal the result.

Audiences (STYLE 7): bad arguments and refusals are ``is_error`` results the model reads and can
correct; an ``OperationalError`` from the desk is for a human and propagates (the decision aborts).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ValidationError

from core.canonical import canonical_json
from core.errors import OrderRejected, TemporaryError
from core.types import ToolCallRecord, Veto
from safety.verdicts import Approved
from tools.arguments import take_arguments
from tools.context import DecisionSession, JournalSink, TradingDesk
from tools.handlers import HandlerContext, ToolArgumentError
from tools.registry import BY_NAME, ToolSpec, spec_for
from tools.results import ApprovedView, ToolError
from tools.scrub import scrub

MAX_ERRORS_SHOWN = 5
MAX_LINE_CHARS = 300
"""A problem line is cut here: a 60,000-character key or value is not echoed back in full."""
MAX_NAME_SHOWN = 64


@dataclass(frozen=True)
class ToolOutcome:
    """One executed call: the record for the decision and the text the model reads back."""

    record: ToolCallRecord
    value: BaseModel | None = None
    """The handler's result model (``record.result`` is its JSON form): an in-process caller (the rules agent)
    reads it without a JSON round trip. ``None`` for an error."""

    @cached_property
    def content(self) -> str:
        """The result as the model reads it (canonical JSON), built on first read: the rules agent reads the record
        only, and a backtest makes thousands of its calls."""
        return canonical_json(self.record.result)

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

    async def call(self, name: str, arguments: object, call_id: str) -> ToolOutcome:
        """Execute one call; never raises for the model's mistakes or for refusals, whatever ``arguments`` hold."""
        judged = await self._judge(name, arguments, call_id)
        if isinstance(judged, ToolOutcome):
            return judged
        spec, args_dict, args, verdict = judged
        self._journal("tool_call", spec.name, call_id, args_dict, approved=_dump(verdict))
        return await self._run(spec, call_id, args_dict, args, verdict)

    async def precheck(self, name: str, arguments: object, call_id: str) -> ToolOutcome | None:
        """Validation and veto alone, for a PreToolUse hook (claude-code backend).

        An outcome means deny: it is already recorded and journaled (the handler will never run) and
        its ``content`` is the reason the model reads. ``None`` means let the call through to
        :meth:`call`, which validates and vetoes again before anything happens (defence in depth).
        """
        judged = await self._judge(name, arguments, call_id)
        return judged if isinstance(judged, ToolOutcome) else None

    async def _judge(
        self, name: str, arguments: object, call_id: str
    ) -> ToolOutcome | tuple[ToolSpec, dict[str, Any], BaseModel, Approved | None]:
        """Everything before the handler: the tool, the arguments' shape, validation, the veto. Either the
        recorded refusal, or what :meth:`_run` needs."""
        spec = spec_for(name)
        taken = take_arguments(arguments, self.session.secrets)
        if spec is None:
            shown = self._shown_name(name)
            message = f"no tool named {shown!r}; tools: {', '.join(BY_NAME)}"
            return self._error(shown, call_id, taken.recorded, "unknown_tool", message)
        if taken.problem is not None:
            return self._error(spec.name, call_id, taken.recorded, "invalid_arguments", taken.problem)
        args_dict = taken.recorded
        try:
            args = spec.input_model.model_validate(args_dict)
        except ValidationError as exc:
            return self._error(spec.name, call_id, args_dict, "invalid_arguments", explain(exc))
        verdict = await self._check(spec, call_id, args_dict, args)
        if isinstance(verdict, ToolOutcome):
            return verdict
        return spec, args_dict, args, verdict

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
        return self._keep(record, result)

    def _shown_name(self, name: str) -> str:
        """An unknown tool's name as recorded and echoed: scrubbed (a model can write a secret anywhere), lone
        surrogates escaped (the journal hashes UTF-8) and cut to a readable length."""
        shown = scrub(name, self.session.secrets)[0].encode("utf-8", "backslashreplace").decode("utf-8")
        return shown if len(shown) <= MAX_NAME_SHOWN else shown[:MAX_NAME_SHOWN] + "..."

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

    def _keep(self, record: ToolCallRecord, value: BaseModel | None = None) -> ToolOutcome:
        self.session.calls.append(record)
        return ToolOutcome(record=record, value=value)

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
        line = f"{where}: {err['msg']}"
        lines.append(line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + "...")
    more = len(exc.errors()) - MAX_ERRORS_SHOWN
    if more > 0:
        lines.append(f"... and {more} more")
    return "; ".join(lines)


def _dump(approved: Approved | None) -> dict[str, Any] | None:
    return None if approved is None else ApprovedView.of(approved).model_dump(mode="json")
