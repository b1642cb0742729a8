"""v1/v2 request decoding and response encoding, kept apart from the predictors.

Both protocols reduce to the same thing: a list of JSON-like instances plus request
parameters. A predictor validates those once, whatever protocol they came in by, and hands
back one JSON-able result per instance, which is encoded here for the protocol asked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kserve import InferOutput, InferRequest, InferResponse
from kserve.errors import InvalidInput

from serving.limits import Limits
from urtraining.errors import PayloadTooLarge


@dataclass
class Decoded:
    instances: list[Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    v2: bool = False
    request_id: str | None = None


def _flatten(data: Any) -> list[Any]:
    # v2 tensors may arrive nested by shape ([[a], [b]] for shape [2, 1]); elements are flat.
    if isinstance(data, list | tuple):
        out: list[Any] = []
        for item in data:
            out.extend(_flatten(item))
        return out
    return [data]


def decode(
    payload: dict | InferRequest,
    input_name: str,
    element: Callable[[str, int], Any],
    limits: Limits,
) -> Decoded:
    """Instances and parameters of a v1 dict or a v2 InferRequest.

    ``element(text, i)`` turns one v2 BYTES element into the instance v1 would have carried.
    """
    if isinstance(payload, InferRequest):
        return _decode_v2(payload, input_name, element, limits)
    if not isinstance(payload, dict):
        raise InvalidInput("body: expected a JSON object with 'instances'")
    unknown = set(payload) - {"instances", "parameters", "id"}
    if unknown:
        first = sorted(unknown)[0]
        raise InvalidInput(f"{first}: unexpected field (v1 takes instances, parameters)")
    instances = payload.get("instances")
    if not isinstance(instances, list):
        raise InvalidInput("instances: field required, a list")
    _check_count(len(instances), "instances", limits)
    parameters = payload.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInput("parameters: expected an object")
    return Decoded(instances=instances, parameters=parameters, v2=False)


def _decode_v2(
    request: InferRequest, input_name: str, element: Callable[[str, int], Any], limits: Limits
) -> Decoded:
    names = [i.name for i in request.inputs]
    if names != [input_name]:
        raise InvalidInput(f"inputs: expected exactly one input named {input_name!r}, got {names}")
    tensor = request.inputs[0]
    if tensor.datatype != "BYTES":
        raise InvalidInput(f"inputs.{input_name}.datatype: expected BYTES, got {tensor.datatype}")
    data = _flatten(tensor.data if tensor.data is not None else [])
    _check_count(len(data), f"inputs.{input_name}", limits)
    instances = []
    for i, raw in enumerate(data):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInput(f"inputs.{input_name}.{i}: not UTF-8") from exc
        if not isinstance(raw, str):
            raise InvalidInput(f"inputs.{input_name}.{i}: expected a string element")
        instances.append(element(raw, i))
    parameters = dict(request.parameters or {})
    return Decoded(instances=instances, parameters=parameters, v2=True, request_id=request.id)


def _check_count(n: int, where: str, limits: Limits) -> None:
    if n == 0:
        raise InvalidInput(f"{where}: at least one instance required")
    if n > limits.max_instances:
        raise PayloadTooLarge(f"{where}: {n} instances, the limit is {limits.max_instances}")


def json_element(text: str, i: int, input_name: str = "profile") -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"inputs.{input_name}.{i}: not valid JSON ({exc.msg})") from exc


def encode(
    decoded: Decoded, model_name: str, output_name: str, results: list[Any]
) -> dict | InferResponse:
    """v1: ``{"predictions": results}``; v2: one BYTES output, one JSON document per instance."""
    if not decoded.v2:
        return {"predictions": results}
    data = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in results]
    output = InferOutput(name=output_name, shape=[len(data)], datatype="BYTES", data=data)
    return InferResponse(
        response_id=decoded.request_id or "",
        model_name=model_name,
        infer_outputs=[output],
    )
