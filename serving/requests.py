"""Pydantic models and checks for what a client sends; every failure names its field.

Instances are validated here, once, whatever protocol carried them; the field path is the
protocol's own (``instances.2.age`` for v1, ``inputs.profile.2.age`` for v2).
"""

from __future__ import annotations

import binascii
from typing import Any, TypeVar

from kserve.errors import InvalidInput
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from urtraining.config import first_error
from urtraining.domain import CourseType
from urtraining.errors import PayloadTooLarge

M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecommendParams(_Strict):
    k: int = Field(default=10, ge=1)
    type: CourseType | None = None


class TrackerParams(_Strict):
    #: tracker pages (the app's page objects) instead of bare entries
    pages: bool = False


class TrackerInstance(_Strict):
    image_b64: str = Field(min_length=1)


def validate(model: type[M], obj: Any, where: str) -> M:
    if not isinstance(obj, dict):
        raise InvalidInput(f"{where}: expected a JSON object")
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise InvalidInput(f"{where}.{first_error(exc)}") from exc


def parameters(model: type[M], params: dict[str, Any], where: str = "parameters") -> M:
    # KServe's own v2 client may add binary_data_* switches: protocol, not model, parameters.
    params = {k: v for k, v in params.items() if not str(k).startswith("binary_data")}
    return validate(model, params, where)


def decode_base64_image(text: str, where: str, max_bytes: int) -> bytes:
    """Base64 (optionally a ``data:image/...;base64,`` URL) -> bytes, size-checked first."""
    if text.startswith("data:"):
        _, sep, text = text.partition(",")
        if not sep:
            raise InvalidInput(f"{where}: data URL without a comma")
    # a base64 text of n characters holds about 3n/4 bytes: refuse before decoding
    if len(text) * 3 // 4 > max_bytes + 2:
        raise PayloadTooLarge(
            f"{where}: image is about {len(text) * 3 // 4} bytes, the limit is {max_bytes}"
        )
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise InvalidInput(f"{where}: not valid base64 ({exc})") from exc
