"""Run configuration: YAML file < URTRAINING_* environment < ``--set key=value``.

Environment variables use ``__`` between levels: ``URTRAINING_TRAIN__EPOCHS=2``.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

PACKAGED_MINILM = "packaged:all-MiniLM-L6-v2"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMEndpoint(_Section):
    """One model of a roster: which backend runs it and how much of the work it gets."""

    backend: Literal["local", "openai", "vllm"] = "local"
    model: str = "SmolLM2-135M-Instruct"
    base_url: str | None = None
    weight: float = Field(default=1.0, gt=0)
    api_key_env: str = "OPENAI_API_KEY"
    max_tokens: int = Field(default=768, ge=16)
    temperature: float = Field(default=0.8, ge=0, le=2)
    concurrency: int = Field(default=8, ge=1)
    timeout_s: float = Field(default=120, gt=0)
    max_retries: int = Field(default=3, ge=0)
    #: how the output is constrained: JSON-schema response_format / structured outputs, plain
    #: JSON mode, or nothing (the prompt's schema and validation with retries carry it alone)
    structured_output: Literal["json_schema", "json_object", "none"] = "json_schema"
    #: a reasoning model (DeepSeek-R1 style) that writes ``<think>...</think>`` before its JSON
    reasoning: bool = False


class LLMRunOptions(_Section):
    """How the LLM backends run a task (users, courses, coaches, ranking)."""

    #: per-task rosters overriding ``roster``; keys: users, courses, coaches, ranking
    task_rosters: dict[str, list[LLMEndpoint]] = Field(default_factory=dict)
    #: "ray": a Ray Data pipeline (local, or the cluster at ray_address); "threads": in-process
    executor: Literal["ray", "threads"] = "ray"
    #: Ray actors per task (each holds its own backends, e.g. one local model or vLLM engine)
    workers: int = Field(default=1, ge=1)
    #: records per Ray batch: results reach the resume cache one batch at a time
    batch_size: int = Field(default=4, ge=1)
    #: tries per record (the first plus retries with the validation errors fed back)
    max_attempts: int = Field(default=3, ge=1)
    #: MinHash Jaccard above which two records count as near-duplicates; null disables
    dedup_threshold: float | None = Field(default=0.85, gt=0, le=1)
    max_program_days: int = Field(default=3, ge=1, le=7)
    max_exercises_per_day: int = Field(default=4, ge=1, le=12)
    max_text_chars: int = Field(default=240, ge=20, le=2000)


class SynthConfig(_Section):
    backend: Literal["procedural", "local", "openai", "vllm"] = "procedural"
    n_users: int = Field(default=1000, ge=1)
    n_courses: int = Field(default=300, ge=3)
    seed: int = 13
    #: models for the LLM backends; empty means one local SmolLM2
    roster: list[LLMEndpoint] = Field(default_factory=list)
    ray_address: str | None = None
    max_tokens_budget: int | None = Field(default=None, ge=1)
    llm: LLMRunOptions = LLMRunOptions()


class TeacherConfig(_Section):
    backend: Literal["rules", "local", "openai", "vllm"] = "rules"
    roster: list[LLMEndpoint] = Field(default_factory=list)
    #: a reasoning teacher sees only this many candidates, pre-selected by the rules
    candidates: int = Field(default=20, ge=2)
    ray_address: str | None = None
    max_tokens_budget: int | None = Field(default=None, ge=1)
    llm: LLMRunOptions = LLMRunOptions()


class DatasetConfig(_Section):
    val_fraction: float = Field(default=0.1, ge=0, lt=0.5)
    test_fraction: float = Field(default=0.2, gt=0, lt=0.5)
    #: share of courses kept out of training entirely (the cold-start evaluation)
    cold_course_fraction: float = Field(default=0.2, ge=0, lt=0.5)
    positive_min_relevance: int = Field(default=2, ge=1, le=3)
    max_positives_per_user: int = Field(default=8, ge=1)
    hard_negatives: int = Field(default=1, ge=0, le=8)
    seed: int = 7


class TrainConfig(_Section):
    base_model: str = PACKAGED_MINILM
    loss: Literal["mnrl", "cached_mnrl", "triplet", "margin_mse", "contrastive"] = "mnrl"
    epochs: float = Field(default=1.0, gt=0)
    batch_size: int = Field(default=32, ge=2)
    learning_rate: float = Field(default=1e-4, gt=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    max_seq_length: int = Field(default=160, ge=16)
    user_prompt: str = "query: "
    course_prompt: str = "passage: "
    max_examples: int | None = Field(default=None, ge=1)
    seed: int = 42
    threads: int | None = Field(default=None, ge=1)
    #: Ray Train: 0 trains in-process
    workers: int = Field(default=0, ge=0)
    use_gpu: bool = False
    ray_address: str | None = None
    storage_path: str | None = None
    #: Ray Train: resources of one worker, e.g. {"CPU": 4, "GPU": 1}; default 1 CPU (+1 GPU)
    resources_per_worker: dict[str, float] | None = None
    #: Ray Train: worker-group restarts from the latest checkpoint before the run fails
    max_failures: int = Field(default=2, ge=0)


class EvaluateConfig(_Section):
    k: int = Field(default=10, ge=1)
    batch_size: int = Field(default=64, ge=1)


class IndexConfig(_Section):
    #: a Milvus Lite file (relative to the run folder) or a server URI
    uri: str = "milvus.db"
    token_env: str = "MILVUS_TOKEN"
    collection: str = "courses"
    index_type: Literal["FLAT", "HNSW", "IVF_FLAT", "AUTOINDEX"] = "FLAT"
    keep_versions: int = Field(default=2, ge=1)


class RunConfig(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="URTRAINING_", env_nested_delimiter="__", extra="forbid"
    )

    name: str = "local"
    synth: SynthConfig = SynthConfig()
    teacher: TeacherConfig = TeacherConfig()
    dataset: DatasetConfig = DatasetConfig()
    train: TrainConfig = TrainConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    index: IndexConfig = IndexConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _yaml_file.get()
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)

    def section_hash(self, *sections: str) -> str:
        """Content hash of the named sections: a stage reruns only when its own ones change."""
        payload = {s: getattr(self, s).model_dump(mode="json") for s in sections}
        blob = json.dumps(payload, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


_yaml_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar("_yaml_file", default=None)


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message names the field."""


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["train.epochs=2", "synth.n_users=50"]`` -> nested dict; values parsed as YAML."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair!r}: expected key=value")
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(raw) if raw != "" else ""
    return out


def load_config(
    path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> RunConfig:
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc.__class__.__name__})") from exc
        if data is not None and not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
    token = _yaml_file.set(path)
    try:
        return RunConfig(**parse_overrides(overrides))
    except ValidationError as exc:
        raise ConfigError(f"config: {first_error(exc)}") from exc
    finally:
        _yaml_file.reset(token)


def first_error(exc: ValidationError) -> str:
    """One line naming the failing field, for CLI exits and HTTP 400s."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(root)"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{loc}: {err['msg']}{more}"
