"""Request limits of the predictors (413 above them), overridable from the environment.

Environment variables: ``URTRAINING_SERVE_MAX_BODY_BYTES`` and so on, so a Helm value can
change a limit without a new image.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Limits(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="URTRAINING_SERVE_", extra="ignore")

    #: whole request body; base64 images are 4/3 of their bytes, so this must exceed
    #: max_instances * max_image_bytes * 4/3 for the tracker to reach its own image check
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    #: profiles or images per request
    max_instances: int = Field(default=64, ge=1)
    #: one decoded image
    max_image_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    #: width * height of one decoded image (decompression bombs pass the byte limit)
    max_pixels: int = Field(default=40_000_000, ge=1024)
    #: largest k a client may ask the recommender for
    max_k: int = Field(default=100, ge=1)
