"""Turn a pydantic input model into a JSON schema that Anthropic's strict tool mode accepts.

Strict tools are grammar-constrained, so the API accepts only a subset of JSON Schema:

- every object has ``"additionalProperties": false``;
- no numeric bounds (``minimum``, ``maximum``, ``exclusive*``, ``multipleOf``), no string bounds
  (``minLength``, ``maxLength``), no array bounds beyond ``minItems`` of 0 or 1, no ``maxItems``;
- ``enum`` of primitives, ``const``, ``anyOf``, local ``$ref``/``$defs``; no recursion;
- per request: at most 20 strict tools, 24 optional parameters, 16 parameters with a union type.

Unsupported keywords are not dropped silently: they are written into the field's description
(the model still reads them) and pydantic enforces them at the choke point, where a violation
comes back to the model as an ``is_error`` tool result it can correct.

Optional fields (``X | None = None``) become *optional properties of type X* rather than a
``anyOf [X, null]`` union, which keeps the union budget for real unions.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

MAX_STRICT_TOOLS = 20
MAX_OPTIONAL_PARAMS = 24
MAX_UNION_PARAMS = 16

_MOVED_TO_DESCRIPTION = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
    "uniqueItems",
    "pattern",
)
_UNSUPPORTED = (*_MOVED_TO_DESCRIPTION, "oneOf", "not", "if", "then", "else", "patternProperties", "$ref")
_DROPPED = ("title", "default", "discriminator", "examples")
_STRING_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The strict-mode input schema of ``model`` (a fresh dict; the model's own schema is untouched)."""
    raw = copy.deepcopy(model.model_json_schema())
    defs = raw.pop("$defs", {})
    raw.pop("description", None)  # the tool's own description already says it
    return _node(_inline(raw, defs))


def _inline(schema: Any, defs: Mapping[str, Any], depth: int = 0) -> Any:
    """Replace local ``$ref``s by their definitions, so every property carries its own description.

    Our tool inputs are small and not recursive; a recursive model is refused (strict mode has no recursion).
    """
    if depth > 20:
        raise ValueError("recursive schema: strict tools cannot express it")
    if isinstance(schema, list):
        return [_inline(item, defs, depth) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        target = dict(defs[schema["$ref"].rsplit("/", 1)[-1]])
        if "enum" in target:
            target.pop("description", None)  # an enum class docstring is for developers; the field says it
        return {**_inline(target, defs, depth + 1), **{k: v for k, v in schema.items() if k != "$ref"}}
    return {key: _inline(value, defs, depth) for key, value in schema.items()}


def _node(schema: Mapping[str, Any]) -> dict[str, Any]:
    node = dict(schema)
    for key in _DROPPED:
        node.pop(key, None)
    notes = [f"{key}={node.pop(key)}" for key in _MOVED_TO_DESCRIPTION if key in node]
    if node.get("format") and node["format"] not in _STRING_FORMATS:
        notes.append(f"format={node.pop('format')}")
    if "minItems" in node and node["minItems"] not in (0, 1):
        notes.append(f"minItems={node['minItems']}")
        node["minItems"] = 1
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    if "anyOf" in node:
        node["anyOf"] = [_node(variant) for variant in node["anyOf"]]
    if "allOf" in node:
        node["allOf"] = [_node(variant) for variant in node["allOf"]]
    if "items" in node:
        node["items"] = _node(node["items"])
    if node.get("type") == "object":
        _strict_object(node)
    if notes:
        node["description"] = (node.get("description", "") + f" ({', '.join(notes)})").strip()
    return node


def _strict_object(node: dict[str, Any]) -> None:
    required = set(node.get("required", ()))
    properties: dict[str, Any] = {}
    for name, prop in node.get("properties", {}).items():
        properties[name] = _node(prop if name in required else _drop_null_variant(prop))
    node["properties"] = properties
    node["additionalProperties"] = False
    if required:
        node["required"] = [name for name in properties if name in required]


def _drop_null_variant(prop: Mapping[str, Any]) -> Mapping[str, Any]:
    """``anyOf [X, null]`` of an optional property -> ``X`` (omitting the property means null)."""
    variants = prop.get("anyOf")
    if not variants:
        return prop
    non_null = [v for v in variants if v.get("type") != "null"]
    if len(non_null) != 1 or len(non_null) == len(variants):
        return prop
    merged = {k: v for k, v in prop.items() if k != "anyOf"}
    merged.update({k: v for k, v in non_null[0].items() if k != "description" or "description" not in prop})
    return merged


# ------------------------------------------------------------------ checks (used by tests and at start-up


def strict_problems(schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """Every way ``schema`` breaks the strict-mode subset, as ``path: problem`` lines (empty = fine)."""
    problems = [f"{path}: unsupported keyword {key!r}" for key in _UNSUPPORTED if key in schema]
    if "minItems" in schema and schema["minItems"] not in (0, 1):
        problems.append(f"{path}: minItems must be 0 or 1")
    if schema.get("format") and schema["format"] not in _STRING_FORMATS:
        problems.append(f"{path}: unsupported string format {schema['format']!r}")
    if "enum" in schema and not all(_is_primitive(v) for v in schema["enum"]):
        problems.append(f"{path}: enum values must be primitives")
    if schema.get("type") == "object":
        if schema.get("additionalProperties") is not False:
            problems.append(f"{path}: object without additionalProperties false")
        for name in schema.get("required", ()):
            if name not in schema.get("properties", {}):
                problems.append(f"{path}: required {name!r} is not a property")
    for child_path, child in _children(schema, path):
        problems.extend(strict_problems(child, child_path))
    return problems


def _children(schema: Mapping[str, Any], path: str) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for name, prop in schema.get("properties", {}).items():
        yield f"{path}.{name}", prop
    if isinstance(schema.get("items"), Mapping):
        yield f"{path}[]", schema["items"]
    for key in ("anyOf", "allOf"):
        for i, variant in enumerate(schema.get(key, ())):
            yield f"{path}.{key}[{i}]", variant


def _is_primitive(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def count_budget(schemas: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """(optional parameters, union-typed parameters) over all objects of all ``schemas``.

    Definitions under ``$defs`` count once per schema, the way the API compiles them.
    """
    optional = unions = 0
    for schema in schemas:
        for obj in _objects(schema):
            props = obj.get("properties", {})
            required = set(obj.get("required", ()))
            optional += sum(1 for name in props if name not in required)
            unions += sum(1 for prop in props.values() if _is_union(prop))
    return optional, unions


def _objects(schema: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    if schema.get("type") == "object":
        yield schema
    for _, child in _children(schema, "$"):
        yield from _objects(child)


def _is_union(prop: Mapping[str, Any]) -> bool:
    return "anyOf" in prop or isinstance(prop.get("type"), list)
