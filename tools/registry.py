"""The tool registry: one :class:`ToolSpec` per tool, and everything derived from it.

A spec names the tool (:class:`ToolName`), its input model, its result model, its handler and, for a
side-effecting tool, the builder of the proposal safety judges first. From the specs come the
schemas each SDK wants, the tool descriptions (the input model's docstring and a "Returns" line built
from the result model, so a tool cannot promise what it does not return), the JSON of every result,
and :data:`SIDE_EFFECT_TOOLS`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any, get_args

from pydantic import BaseModel

from core.types import DecisionRequest, ToolCallRecord
from exchange.symbols import MarketType as MarketType  # noqa: PLC0414 -- re-exported for agent/, which may not import exchange
from safety.proposals import Proposal
from safety.verdicts import Approved
from tools import handlers as h
from tools.inputs import (
    AdjustStop,
    ClosePosition,
    GetLearnerWeights,
    GetMarketSnapshot,
    GetPortfolio,
    GetRegime,
    PlaceOrder,
    ScheduleNextCheck,
    SpotPlaceOrder,
    UpdateMemory,
)
from tools.results import (
    ActionResult,
    LearnerWeightsResult,
    MemoryResult,
    PortfolioResult,
    RegimeResult,
    ScheduleResult,
    SnapshotResult,
)
from tools.schema import MAX_OPTIONAL_PARAMS, MAX_STRICT_TOOLS, MAX_UNION_PARAMS, count_budget, strict_schema

Handler = Callable[[h.HandlerContext, Any, Approved | None], Awaitable[BaseModel]]
ProposalBuilder = Callable[[Any, DecisionRequest, str], Proposal]
"""(validated arguments, the decision's request, the tool call id) -> the proposal safety judges."""

MCP_SERVER_NAME = "trading"


class ToolName(StrEnum):
    """Every tool's name: what call sites use instead of a string."""

    GET_MARKET_SNAPSHOT = "get_market_snapshot"
    GET_REGIME = "get_regime"
    GET_PORTFOLIO = "get_portfolio"
    GET_LEARNER_WEIGHTS = "get_learner_weights"
    PLACE_ORDER = "place_order"
    CLOSE_POSITION = "close_position"
    ADJUST_STOP = "adjust_stop"
    UPDATE_MEMORY = "update_memory"
    SCHEDULE_NEXT_CHECK = "schedule_next_check"


FINAL_TOOL = ToolName.SCHEDULE_NEXT_CHECK
"""The call that ends a decision."""


@dataclass(frozen=True)
class ToolSpec:
    name: ToolName
    input_model: type[BaseModel]
    result_model: type[BaseModel]
    handler: Handler
    proposal: ProposalBuilder | None = None
    """Set for side-effecting tools: the call becomes a proposal the safety veto judges first."""
    spot_input_model: type[BaseModel] | None = None
    """A narrower input offered to a spot account (only what spot can do); the schema only: calls are still
    validated against ``input_model`` and judged by the veto."""

    def offered_model(self, market_type: MarketType) -> type[BaseModel]:
        """The input model whose schema the model is given on a ``market_type`` account."""
        if market_type == "spot" and self.spot_input_model is not None:
            return self.spot_input_model
        return self.input_model

    @property
    def side_effect(self) -> bool:
        return self.proposal is not None

    @property
    def description(self) -> str:
        """What the model reads about the tool: what it does, then what it returns."""
        return inspect.cleandoc(self.input_model.__doc__ or self.name) + "\n\n" + returns_help(self.result_model)

    @property
    def mcp_name(self) -> str:
        """The name the Claude Code CLI gives our in-process MCP tool."""
        return f"mcp__{MCP_SERVER_NAME}__{self.name}"

    def result_json(self, result: BaseModel) -> dict[str, Any]:
        """The JSON the model reads back (a handler returning another model is a bug, not a result)."""
        if not isinstance(result, self.result_model):
            raise TypeError(f"{self.name} returned {type(result).__name__}, not {self.result_model.__name__}")
        return result.model_dump(mode="json")


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(ToolName.GET_MARKET_SNAPSHOT, GetMarketSnapshot, SnapshotResult, h.get_market_snapshot),
    ToolSpec(ToolName.GET_REGIME, GetRegime, RegimeResult, h.get_regime),
    ToolSpec(ToolName.GET_PORTFOLIO, GetPortfolio, PortfolioResult, h.get_portfolio),
    ToolSpec(ToolName.GET_LEARNER_WEIGHTS, GetLearnerWeights, LearnerWeightsResult, h.get_learner_weights),
    ToolSpec(ToolName.PLACE_ORDER, PlaceOrder, ActionResult, h.act, h.entry_proposal, SpotPlaceOrder),
    ToolSpec(ToolName.CLOSE_POSITION, ClosePosition, ActionResult, h.act, h.close_proposal),
    ToolSpec(ToolName.ADJUST_STOP, AdjustStop, ActionResult, h.act, h.stop_proposal),
    ToolSpec(ToolName.UPDATE_MEMORY, UpdateMemory, MemoryResult, h.update_memory),
    ToolSpec(FINAL_TOOL, ScheduleNextCheck, ScheduleResult, h.schedule_next_check),
)
BY_NAME: Mapping[str, ToolSpec] = {spec.name: spec for spec in TOOLS}
BY_MCP_NAME: Mapping[str, ToolSpec] = {spec.mcp_name: spec for spec in TOOLS}

SIDE_EFFECT_TOOLS: frozenset[ToolName] = frozenset(spec.name for spec in TOOLS if spec.side_effect)
"""The tools that act on the account (each goes through the safety veto first)."""


def spec_for(name: str) -> ToolSpec | None:
    """Look a tool up by its own name or by the MCP name the Claude Code CLI uses."""
    return BY_NAME.get(name) or BY_MCP_NAME.get(name)


def side_effects(calls: Iterable[ToolCallRecord]) -> int:
    """How many side-effecting calls were carried out (not vetoed, not refused)."""
    return sum(1 for call in calls if call.name in SIDE_EFFECT_TOOLS and not call.is_error)


# ---------------------------------------------------------------- descriptions and schemas


def returns_help(model: type[BaseModel]) -> str:
    """``Returns`` and the result's fields, with the fields of a model a field holds in braces: read off the
    result model, so the description lists exactly what comes back (names only: the tools block is sent
    with every request)."""
    parts = []
    for name, field in model.model_fields.items():
        nested = _model_in(field.annotation)
        parts.append(f"{name} {{{', '.join(nested.model_fields)}}}" if nested is not None else name)
    return "Returns " + "; ".join(parts) + "."


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The one pydantic model a field holds (directly, optionally, or as the items of a tuple or list);
    ``None`` for plain values and for a union of several models."""
    found = set(_models(annotation))
    return found.pop() if len(found) == 1 else None


def _models(annotation: Any) -> Iterable[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in get_args(annotation):
        yield from _models(arg)


MARKET_TYPES: tuple[MarketType, ...] = get_args(MarketType)
DEFAULT_MARKET_TYPE: MarketType = "spot"
"""The settings' default (``exchange.market_type``): what a caller that names no market type is offered."""


@cache
def input_schema(name: str, market_type: MarketType = DEFAULT_MARKET_TYPE) -> dict[str, Any]:
    """The strict JSON schema of one tool's input as a ``market_type`` account offers it (a spot account is
    offered only long entries). Cached: the tools block must be byte-stable to cache."""
    return strict_schema(BY_NAME[name].offered_model(market_type))


def anthropic_tools(market_type: MarketType = DEFAULT_MARKET_TYPE) -> list[dict[str, Any]]:
    """The Messages API ``tools=[...]`` for a ``market_type`` account (a spot account is offered only long
    entries): strict schemas, byte-stable. No cache breakpoint here: the prefix order is tools -> system ->
    messages, so the anthropic backend's breakpoint on the system block covers the tools too."""
    tools: list[dict[str, Any]] = [
        {
            "name": s.name.value,
            "description": s.description,
            "input_schema": input_schema(s.name, market_type),
            "strict": True,
        }
        for s in TOOLS
    ]
    return tools


def check_budget() -> None:
    """Fail at start-up (not at the first API call) if the tool set of any market type outgrows strict mode's
    limits."""
    budgets = [count_budget(input_schema(s.name, market) for s in TOOLS) for market in MARKET_TYPES]
    optional, unions = max(b[0] for b in budgets), max(b[1] for b in budgets)
    if len(TOOLS) > MAX_STRICT_TOOLS or optional > MAX_OPTIONAL_PARAMS or unions > MAX_UNION_PARAMS:
        raise ValueError(
            f"strict tool budget exceeded: {len(TOOLS)} tools (max {MAX_STRICT_TOOLS}), "
            f"{optional} optional params (max {MAX_OPTIONAL_PARAMS}), {unions} unions (max {MAX_UNION_PARAMS})"
        )
