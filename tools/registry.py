"""The tool registry: one :class:`ToolSpec` per tool, and the schemas each SDK wants."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from core.types import DecisionRequest
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
FINAL_TOOL = "schedule_next_check"


@dataclass(frozen=True)
class ToolSpec:
    name: str
    input_model: type[BaseModel]
    result_model: type[BaseModel]
    handler: Handler
    proposal: ProposalBuilder | None = None
    """Set for side-effecting tools: the call becomes a proposal the safety veto judges first."""

    @property
    def side_effect(self) -> bool:
        return self.proposal is not None

    @property
    def description(self) -> str:
        return inspect.cleandoc(self.input_model.__doc__ or self.name)

    @property
    def mcp_name(self) -> str:
        """The name the Claude Code CLI gives our in-process MCP tool."""
        return f"mcp__{MCP_SERVER_NAME}__{self.name}"


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("get_market_snapshot", GetMarketSnapshot, SnapshotResult, h.get_market_snapshot),
    ToolSpec("get_regime", GetRegime, RegimeResult, h.get_regime),
    ToolSpec("get_portfolio", GetPortfolio, PortfolioResult, h.get_portfolio),
    ToolSpec("get_learner_weights", GetLearnerWeights, LearnerWeightsResult, h.get_learner_weights),
    ToolSpec("place_order", PlaceOrder, ActionResult, h.act, h.entry_proposal),
    ToolSpec("close_position", ClosePosition, ActionResult, h.act, h.close_proposal),
    ToolSpec("adjust_stop", AdjustStop, ActionResult, h.act, h.stop_proposal),
    ToolSpec("update_memory", UpdateMemory, MemoryResult, h.update_memory),
    ToolSpec(FINAL_TOOL, ScheduleNextCheck, ScheduleResult, h.schedule_next_check),
)
BY_NAME: Mapping[str, ToolSpec] = {spec.name: spec for spec in TOOLS}
BY_MCP_NAME: Mapping[str, ToolSpec] = {spec.mcp_name: spec for spec in TOOLS}


def spec_for(name: str) -> ToolSpec | None:
    """Look a tool up by its own name or by the MCP name the Claude Code CLI uses."""
    return BY_NAME.get(name) or BY_MCP_NAME.get(name)


@cache
def input_schema(name: str) -> dict[str, Any]:
    """The strict JSON schema of one tool's input (cached: the tools block must be byte-stable to cache)."""
    return strict_schema(BY_NAME[name].input_model)


def anthropic_tools(*, cache_control: bool = True) -> list[dict[str, Any]]:
    """The Messages API ``tools=[...]``: strict schemas; the last tool carries the cache breakpoint
    so the whole tools block (and the system prompt before it) is cached."""
    tools: list[dict[str, Any]] = [
        {"name": s.name, "description": s.description, "input_schema": input_schema(s.name), "strict": True}
        for s in TOOLS
    ]
    if cache_control:
        tools[-1] = {**tools[-1], "cache_control": {"type": "ephemeral"}}
    return tools


def check_budget() -> None:
    """Fail at start-up (not at the first API call) if the tool set outgrows strict mode's limits."""
    optional, unions = count_budget(input_schema(s.name) for s in TOOLS)
    if len(TOOLS) > MAX_STRICT_TOOLS or optional > MAX_OPTIONAL_PARAMS or unions > MAX_UNION_PARAMS:
        raise ValueError(
            f"strict tool budget exceeded: {len(TOOLS)} tools (max {MAX_STRICT_TOOLS}), "
            f"{optional} optional params (max {MAX_OPTIONAL_PARAMS}), {unions} unions (max {MAX_UNION_PARAMS})"
        )
