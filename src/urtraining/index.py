"""Course vectors in Milvus: versioned collections behind an alias, filtered search.

A new index is built as a new collection (``<alias>_v<n>``) and becomes visible only when the
alias is switched to it, in one call, after every row is in: readers never see a half-built
index. The same code talks to a Milvus Lite file and to a Milvus server.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from urtraining.domain import Course, CourseType, Equipment, UserProfile
from urtraining.synth.rules import effective_equipment

log = logging.getLogger(__name__)

OUTPUT_FIELDS = ["course_id", "title", "type", "sport", "level"]
_INSERT_BATCH = 512


def resolve_uri(uri: str, base_dir: Path | None) -> str:
    """A bare file name is a Milvus Lite file relative to the run folder."""
    if "://" in uri or base_dir is None or Path(uri).is_absolute():
        return uri
    return str(Path(base_dir) / uri)


def connect(uri: str, token: str | None = None):
    from pymilvus import MilvusClient

    if "://" not in uri:
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    return MilvusClient(uri=uri, token=token or "")


def disconnect(client, uri: str) -> None:
    """Close ``client``; for a Milvus Lite file also stop the in-process server pymilvus
    started for it, which otherwise holds the file's lock until this process exits."""
    client.close()
    if "://" not in uri:
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)


def _schema(dim: int):
    from pymilvus import DataType, MilvusClient

    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("course_id", DataType.VARCHAR, is_primary=True, max_length=128)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    s.add_field("title", DataType.VARCHAR, max_length=512)
    for name in ("type", "sport", "level"):
        s.add_field(name, DataType.VARCHAR, max_length=32)
    for name in ("equipment", "contraindications"):
        s.add_field(
            name, DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=16, max_length=32
        )
    return s


def _rows(courses: Sequence[Course], vectors: np.ndarray) -> Iterable[dict]:
    for c, v in zip(courses, vectors, strict=True):
        yield {
            "course_id": c.course_id,
            "vector": v.astype(np.float32).tolist(),
            "title": c.title[:500],
            "type": c.type.value,
            "sport": c.sport.value,
            "level": c.level.value,
            "equipment": [e.value for e in c.equipment],
            "contraindications": [a.value for a in c.contraindications],
        }


def versions(client, alias: str) -> list[str]:
    prefix = f"{alias}_v"
    names = [n for n in client.list_collections() if n.startswith(prefix)]
    return sorted(names, key=lambda n: int(n[len(prefix) :]) if n[len(prefix) :].isdigit() else 0)


def current_version(client, alias: str) -> str | None:
    # describe_alias on a missing alias logs a traceback before raising: ask the list first
    if alias not in client.list_aliases().get("aliases", []):
        return None
    return client.describe_alias(alias)["collection_name"]


def publish_vectors(
    client,
    alias: str,
    courses: Sequence[Course],
    vectors: np.ndarray,
    index_type: str = "FLAT",
    keep_versions: int = 2,
) -> str:
    """Write ``vectors`` into a new collection and switch ``alias`` to it; returns its name."""
    name = f"{alias}_v{time.time_ns() // 1_000_000}"
    params = client.prepare_index_params()
    params.add_index("vector", index_type=index_type, metric_type="COSINE")
    client.create_collection(name, schema=_schema(vectors.shape[1]), index_params=params)
    try:
        rows = list(_rows(courses, vectors))
        for i in range(0, len(rows), _INSERT_BATCH):
            client.insert(name, rows[i : i + _INSERT_BATCH])
        client.load_collection(name)
        count = client.query(name, filter='course_id != ""', output_fields=["count(*)"])
        n = count[0]["count(*)"]
        if n != len(rows):
            raise RuntimeError(f"index {name}: {n} rows visible, expected {len(rows)}")
    except BaseException:
        client.drop_collection(name)  # a half-built version must not linger
        raise
    if current_version(client, alias) is None:
        client.create_alias(name, alias)
    else:
        client.alter_alias(name, alias)
    old = [v for v in versions(client, alias) if v != name]
    for stale in old[: max(0, len(old) - (keep_versions - 1))]:
        client.drop_collection(stale)
    log.info("alias %s -> %s (%d courses)", alias, name, len(rows))
    return name


def build_index(model_dir: Path, courses: Sequence[Course], cfg, base_dir: Path) -> str:
    """Embed ``courses`` with the model at ``model_dir``; publish under ``cfg.collection``."""
    import os

    from urtraining.dataset import render_course
    from urtraining.train.trainer import load_encoder

    model = load_encoder(model_dir)
    vectors = model.encode_document(
        [render_course(c) for c in courses],
        batch_size=64,
        normalize_embeddings=True,
        convert_to_numpy=True,
    )
    uri = resolve_uri(cfg.uri, base_dir)
    client = connect(uri, os.environ.get(cfg.token_env))
    try:
        return publish_vectors(
            client, cfg.collection, courses, vectors, cfg.index_type, cfg.keep_versions
        )
    finally:
        disconnect(client, uri)


def _str_list(values: Iterable[str]) -> str:
    return json.dumps(sorted(values))


def safety_filter(
    user: UserProfile,
    course_type: CourseType | None = None,
    exclude_ids: Sequence[str] = (),
) -> str:
    """The Milvus boolean expression that keeps only courses safe and possible for ``user``:
    no contraindication among the user's injuries, no equipment the user lacks."""
    parts = []
    if course_type is not None:
        parts.append(f'type == "{CourseType(course_type).value}"')
    if user.injuries:
        parts.append(
            "not array_contains_any(contraindications, "
            f"{_str_list(a.value for a in user.injuries)})"
        )
    lacking = set(Equipment) - effective_equipment(user.equipment)
    if lacking:
        parts.append(f"not array_contains_any(equipment, {_str_list(e.value for e in lacking)})")
    if exclude_ids:
        parts.append(f"course_id not in {_str_list(exclude_ids)}")
    return " and ".join(parts)


def search(client, collection: str, vectors: np.ndarray, filters: Sequence[str], k: int):
    """One filtered search per query vector (filters differ per user)."""
    out = []
    for vec, expr in zip(vectors, filters, strict=True):
        hits = client.search(
            collection,
            data=[vec.astype(np.float32).tolist()],
            limit=k,
            filter=expr,
            output_fields=OUTPUT_FIELDS,
            search_params={"metric_type": "COSINE"},
        )[0]
        out.append([{"score": float(h["distance"]), **h["entity"]} for h in hits])
    return out


def count(client, collection: str) -> int:
    res = client.query(collection, filter='course_id != ""', output_fields=["count(*)"])
    return int(res[0]["count(*)"])


def lookup(client, collection: str, ids: Sequence[str], fields: Sequence[str]) -> list[dict]:
    if not ids:
        return []
    return client.query(
        collection, filter=f"course_id in {_str_list(ids)}", output_fields=list(fields)
    )
