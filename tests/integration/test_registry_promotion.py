"""Publish / promote / rollback on both store kinds: a folder and real S3 (SeaweedFS)."""

from __future__ import annotations

import json
import logging

import pytest

from urtraining.errors import UsageError
from urtraining.registry import ModelRegistry
from urtraining.store import LocalStore, NotFound, open_store


@pytest.fixture(params=["local", "s3"])
def registry(request, tmp_path) -> ModelRegistry:
    if request.param == "local":
        return ModelRegistry(LocalStore(tmp_path / "registry"))
    request.getfixturevalue("s3_env")
    bucket = request.getfixturevalue("s3_bucket")
    return ModelRegistry(open_store(f"s3://{bucket}/team/registry"))


def test_publish_layout(registry, make_run, tmp_path):
    run = make_run(0.40)
    version = registry.publish(run)
    assert version == "v0001" and registry.versions() == ["v0001"]

    keys = set(registry.store.list_keys("models/recommender/v0001"))
    base = "models/recommender/v0001/"
    for name in (
        "model/config.json",
        "model/1_Pooling/config.json",
        "model/model.safetensors",
        "metrics.json",
        "config.yaml",
        "data_hashes.json",
        "code_version.json",
        "MANIFEST.json",
    ):
        assert base + name in keys
    hashes = registry.store.get_json(base + "data_hashes.json")
    assert set(hashes) == {"courses.jsonl", "dataset"}
    code = registry.store.get_json(base + "code_version.json")
    assert code["torch"] and code["python"]

    fetched = registry.fetch_model(version, tmp_path / "fetched")
    assert (fetched / "model.safetensors").read_bytes() == (
        run / "model" / "model.safetensors"
    ).read_bytes()


def test_promote_only_when_not_worse(registry, make_run):
    v1 = registry.publish(make_run(0.40))
    first = registry.promote()
    assert first.promoted and first.reason == "first champion"
    assert registry.champion()["version"] == v1

    v2 = registry.publish(make_run(0.35))  # worse: refused
    refused = registry.promote()
    assert not refused.promoted and refused.candidate == v2
    assert "below champion" in refused.reason
    assert registry.champion()["version"] == v1

    v3 = registry.publish(make_run(0.40))  # equal counts as "at least"
    assert registry.promote().promoted
    assert registry.champion()["version"] == v3
    assert registry.champion()["history"] == [v1]

    again = registry.promote(v3)
    assert not again.promoted and "already champion" in again.reason


def test_force_is_logged_and_rollback_restores(registry, make_run, caplog):
    v1 = registry.publish(make_run(0.50))
    registry.promote()
    v2 = registry.publish(make_run(0.10))
    with caplog.at_level(logging.WARNING, logger="urtraining.registry"):
        forced = registry.promote(v2, force=True)
    assert forced.promoted and forced.forced
    assert any("FORCED promotion" in r.message for r in caplog.records)
    champion = registry.champion()
    assert champion["version"] == v2 and champion["forced"] is True

    back = registry.rollback()
    assert back.promoted and back.candidate == v1 and back.champion_before == v2
    assert registry.champion()["version"] == v1 and registry.champion()["history"] == []
    with pytest.raises(UsageError, match="no earlier champion"):
        registry.rollback()
    # Every pointer move leaves an audit record.
    events = registry.store.list_keys("models/recommender/promotions")
    assert len(events) == 3


def test_failed_index_rebuild_keeps_old_champion(registry, make_run):
    v1 = registry.publish(make_run(0.40))
    registry.promote()
    registry.publish(make_run(0.60))

    def broken_reindex(version):
        raise RuntimeError("milvus down")

    with pytest.raises(RuntimeError):
        registry.promote(before_switch=broken_reindex)
    assert registry.champion()["version"] == v1


def test_interrupted_publish_is_invisible_and_skipped(registry, make_run, monkeypatch):
    registry.publish(make_run(0.40))
    store = registry.store
    real_put = type(store).put_file
    calls = {"n": 0}

    def dying_put(self, local, key):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process is stopped halfway through the upload
        return real_put(self, local, key)

    monkeypatch.setattr(type(store), "put_file", dying_put)
    with pytest.raises(KeyboardInterrupt):
        registry.publish(make_run(0.90))
    monkeypatch.setattr(type(store), "put_file", real_put)

    assert registry.versions() == ["v0001"] and registry.latest() == "v0001"
    with pytest.raises(NotFound):
        registry.require("v0002")
    # The dead publish's number is never reused, so its leftovers cannot mix into a version.
    assert registry.publish(make_run(0.30)) == "v0003"
    assert registry.versions() == ["v0001", "v0003"]


def test_publish_rejects_incomplete_runs(registry, make_run):
    run = make_run(0.4)
    (run / "metrics.json").write_text(json.dumps({"split": "test", "models": {}}))
    with pytest.raises(UsageError, match="ndcg@10"):
        registry.publish(run)
    (run / "metrics.json").unlink()
    with pytest.raises(UsageError, match="metrics.json"):
        registry.publish(run)
    with pytest.raises(UsageError, match="no trained model"):
        registry.publish(run.parent / "nothing")
