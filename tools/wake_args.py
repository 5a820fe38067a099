"""The model-facing shape of one wake condition, and its validation against the gate's typed conditions.

The gate owns wake conditions (:mod:`gate.conditions`: a union of eight models discriminated on
``kind``). That union is valid strict JSON Schema, but it does not fit strict mode's per-request
budget: every member repeats its optional ``symbol`` and ``note`` (and ``kind`` has a default), 27
optional parameters for this one field against a budget of 24 for all tools together. So the tool
takes one *flat* object per condition: ``kind`` (an enum of the gate's kinds, required) and every
field any kind uses, optional (9 optional parameters). The field descriptions and enums are built from
the gate's own models, so the model reads one definition; the gate then validates each object against
the member its ``kind`` names (a field the kind does not take, a missing threshold, a level already
crossed) and every problem goes back to the model as one line it can act on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from core.conditions import CONDITION_KINDS, WAKE_CONDITIONS, WakeCondition
from tools.values import Number, SymbolArg

_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength")


def condition_models() -> tuple[type[BaseModel], ...]:
    """The members of the gate's ``WakeCondition`` union, in its order."""
    union = get_args(WakeCondition)[0]
    return tuple(get_args(union))


@cache
def _member_schemas() -> tuple[tuple[str, Mapping[str, Any]], ...]:
    return tuple((model.model_fields["kind"].default, model.model_json_schema()) for model in condition_models())


@cache
def kinds_help() -> str:
    """One line per kind: what it waits for (the gate model's docstring)."""
    lines = [f"{kind}: {_one_line(schema.get('description', ''))}" for kind, schema in _member_schemas()]
    return "What wakes you. " + " ".join(lines)


@cache
def field_help(name: str) -> str:
    """The gate's description of ``name`` with its bounds, per group of kinds that share it."""
    groups: dict[str, list[str]] = {}
    for kind, schema in _member_schemas():
        prop = schema["properties"].get(name)
        if prop is not None:
            groups.setdefault(_described(prop), []).append(kind)
    if not groups:
        raise ValueError(f"no wake condition kind has a field {name!r}")
    if len(groups) == 1 and len(next(iter(groups.values()))) == len(CONDITION_KINDS):
        return next(iter(groups))
    return " ".join(f"[{', '.join(kinds)}] {text}" for text, kinds in groups.items())


@cache
def field_enum(name: str) -> list[JsonValue]:
    """The values the gate allows for an enumerated field (strict mode then holds the model to them)."""
    for _, schema in _member_schemas():
        prop = schema["properties"].get(name)
        if prop is not None and "enum" in prop:
            return list(prop["enum"])
    raise ValueError(f"no wake condition kind has an enumerated field {name!r}")


def _one_line(text: str) -> str:
    return " ".join(text.replace("``", "`").split())


def _described(prop: Mapping[str, Any]) -> str:
    """The description with the bounds appended (of an optional field: its non-null variant's)."""
    variants = [prop, *(v for v in prop.get("anyOf", ()) if v.get("type") != "null")]
    bounds = [f"{key}={variant[key]}" for variant in variants for key in _BOUNDS if key in variant]
    return str(prop.get("description", "")) + (f" ({', '.join(bounds)})" if bounds else "")


class WakeConditionArgs(BaseModel):
    """One wake condition: its kind, and the fields that kind takes (omit the others)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(description=kinds_help(), json_schema_extra={"enum": list(CONDITION_KINDS)})
    symbol: SymbolArg | None = Field(default=None, description=field_help("symbol"))
    note: str | None = Field(default=None, description=field_help("note"))
    price: Number | None = Field(default=None, description=field_help("price"))
    pct: Number | None = Field(default=None, description=field_help("pct"))
    direction: str | None = Field(
        default=None, description=field_help("direction"), json_schema_extra={"enum": field_enum("direction")}
    )
    reference_price: Number | None = Field(default=None, description=field_help("reference_price"))
    z: Number | None = Field(default=None, description=field_help("z"))
    from_regime: str | None = Field(default=None, description=field_help("from_regime"))
    at: str | None = Field(default=None, description=field_help("at"), json_schema_extra={"format": "date-time"})

    def as_condition(self) -> dict[str, Any]:
        """The object the gate validates: the fields given (an omitted one takes the gate's default)."""
        return self.model_dump(exclude_none=True)


def parse_wake_conditions(conditions: Sequence[Mapping[str, Any]]) -> tuple[WakeCondition, ...]:
    """The gate's typed conditions for ``conditions`` (raises ``pydantic.ValidationError``)."""
    return tuple(WAKE_CONDITIONS.validate_python(list(conditions)))

