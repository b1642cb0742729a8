"""JSON schemas for LLM answers, derived from the pydantic contracts in ``urtraining.domain``.

Nothing here restates a field: we take ``Model.model_json_schema()``, inline its refs, drop
what we assign ourselves (ids, provenance), pin the sampled structured attributes with
``const`` (so the distributions stay ours) and add the bounds a small model needs to stop
(``maxItems``, ``maxLength``). The same schema drives constrained decoding and the prompt's
field list (``describe``), and pydantic validates the answer against the original model.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

#: cap on list lengths the contracts leave open (equipment, injuries, ...)
DEFAULT_MAX_ITEMS = 4


def _inline(node: Any, defs: dict, in_props: bool = False) -> Any:
    """Resolve ``$ref``s and drop pydantic's titles and defaults (noise in a prompt)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = defs[node["$ref"].rsplit("/", 1)[-1]]
            merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            return _inline(merged, defs)
        if in_props:  # keys are field names here, "title" included
            return {k: _inline(v, defs) for k, v in node.items()}
        return {
            k: _inline(v, defs, in_props=(k == "properties"))
            for k, v in node.items()
            if k not in ("title", "default")
        }
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _bound(node: Any, max_items: int, max_chars: int) -> None:
    """Add maxItems/maxLength wherever the contract leaves a list or string open."""
    if isinstance(node, dict):
        if node.get("type") == "array":
            node.setdefault("maxItems", max_items)
        if node.get("type") == "string" and "enum" not in node and "const" not in node:
            node["maxLength"] = min(node.get("maxLength", max_chars), max_chars)
        for v in node.values():
            _bound(v, max_items, max_chars)
    elif isinstance(node, list):
        for v in node:
            _bound(v, max_items, max_chars)


def schema_for(
    model: type[BaseModel],
    *,
    drop: tuple[str, ...] = ("provenance",),
    pin: dict[str, Any] | None = None,
    overrides: dict[str, dict] | None = None,
    require_all: bool = True,
    max_items: int = DEFAULT_MAX_ITEMS,
    max_chars: int = 240,
) -> dict:
    """The answer schema for ``model``.

    ``pin``: field -> value the model must write (JSON ``const``).
    ``overrides``: dotted path -> keys merged into that sub-schema; ``[]`` steps into array
    items, e.g. ``{"program[].exercises": {"maxItems": 3}}``.
    """
    raw = model.model_json_schema()
    schema = _inline({k: v for k, v in raw.items() if k != "$defs"}, raw.get("$defs", {}))
    props: dict = schema["properties"]
    for name in drop:
        props.pop(name, None)
    for name, value in (pin or {}).items():
        props[name] = {"const": value}
    required = list(props) if require_all else [r for r in schema.get("required", []) if r in props]
    schema["required"] = required
    schema["additionalProperties"] = False
    _bound(schema, max_items, max_chars)
    for path, extra in (overrides or {}).items():
        _at(schema, path).update(extra)
    return schema


def _at(schema: dict, path: str) -> dict:
    node = schema
    for step in path.split("."):
        items = step.endswith("[]")
        node = _nonnull(node["properties"][step.removesuffix("[]")])
        if items:
            node = _nonnull(node["items"])
    return node


def _nonnull(node: dict) -> dict:
    """``X | None`` is ``anyOf [X, null]``: step into X."""
    for option in node.get("anyOf", ()):
        if option.get("type") != "null":
            return option
    return node


def object_schema(properties: dict[str, dict]) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def describe(schema: dict, indent: str = "") -> str:
    """The schema as a short field list for the prompt (small models read this better than
    raw JSON Schema; large ones get the schema itself through structured output)."""
    lines = []
    required = set(schema.get("required", ()))
    for name, sub in schema.get("properties", {}).items():
        sub = _nonnull(sub)
        opt = "" if name in required else ", optional"
        if "const" in sub:
            lines.append(f"{indent}- {name}: exactly {_fmt(sub['const'])}")
        elif sub.get("type") == "object" and "properties" in sub:
            lines.append(f"{indent}- {name}: object{opt} with")
            lines.append(describe(sub, indent + "  "))
        elif sub.get("type") == "array":
            items = _nonnull(sub.get("items", {}))
            n = f"{sub.get('minItems', 0)}-{sub.get('maxItems', '')} items"
            if items.get("type") == "object":
                lines.append(f"{indent}- {name}: list of objects ({n}{opt}), each with")
                lines.append(describe(items, indent + "  "))
            else:
                lines.append(f"{indent}- {name}: list ({n}{opt}) of {_kind(items)}")
        else:
            lines.append(f"{indent}- {name}: {_kind(sub)}{opt}")
    return "\n".join(lines)


def _kind(s: dict) -> str:
    if "enum" in s:
        return "one of " + "|".join(str(v) for v in s["enum"])
    t = s.get("type", "value")
    lo = s.get("minimum", s.get("exclusiveMinimum"))
    hi = s.get("maximum", s.get("exclusiveMaximum"))
    if lo is not None or hi is not None:
        return f"{t} {'' if lo is None else _fmt(lo)}..{'' if hi is None else _fmt(hi)}"
    if t == "string" and "maxLength" in s:
        return f"text (at most {s['maxLength']} characters)"
    return str(t)


def _fmt(v: Any) -> str:
    import json

    return json.dumps(v) if not isinstance(v, float) else f"{v:g}"


def deepcopy_schema(schema: dict) -> dict:
    return copy.deepcopy(schema)
