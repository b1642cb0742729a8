"""The components' glue: parameters -> config, artifacts <-> run folder, gate, deploy, and a
step's RayJob round trip (staging in a local-folder store, the Kubernetes API faked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from components import glue
from urtraining.config import load_config
from urtraining.registry import ModelRegistry
from urtraining.store import open_store

SMOKE = Path(__file__).resolve().parents[2] / "configs" / "smoke.yaml"


def test_parameters_become_overrides_and_zero_keeps_the_config():
    assert glue.pipeline_overrides({"n_users": 0, "loss": "", "ray_workers": -1, "seed": -1}) == []
    sets = glue.pipeline_overrides(
        {
            "n_users": 50,
            "synth_backend": "openai",
            "synth_roster": '[{"backend": "openai", "model": "m", "base_url": "http://x/v1"}]',
            "loss": "cached_mnrl",
            "epochs": 2.0,
            "ray_workers": 0,
            "ray_mode": "rayjob",
            "ray_gpus_per_worker": 1,
            "milvus_uri": "http://milvus:19530",
            "overrides": ["dataset.hard_negatives=2"],
        }
    )
    cfg = load_config(SMOKE, sets)
    assert cfg.synth.n_users == 50 and cfg.synth.n_courses == 40  # 40: from smoke.yaml
    assert cfg.synth.backend == "openai" and cfg.synth.roster[0].base_url == "http://x/v1"
    assert cfg.train.loss == "cached_mnrl" and cfg.train.epochs == 2.0
    assert cfg.train.workers == 0 and cfg.train.use_gpu is True
    assert cfg.index.uri == "http://milvus:19530" and cfg.dataset.hard_negatives == 2


def test_configure_writes_the_resolved_config(tmp_path):
    out = tmp_path / "a" / "config"
    text = glue.configure(SMOKE.read_text(), {"n_courses": 12, "train_gpus": 0}, str(out))
    data = yaml.safe_load(out.read_text())
    assert text == out.read_text()
    assert data["name"] == "smoke" and data["synth"]["n_courses"] == 12
    assert data["train"]["use_gpu"] is False
    # an empty base is the embedded defaults
    glue.configure("", {}, str(out))
    assert yaml.safe_load(out.read_text())["synth"]["n_users"] == 1000


def test_bad_parameter_fails_with_the_field_named(tmp_path):
    with pytest.raises(Exception, match="train.loss"):
        glue.configure("", {"loss": "hinge"}, str(tmp_path / "c"))


def test_layout_and_collect(tmp_path):
    a = tmp_path / "artifacts"
    (a / "ds").mkdir(parents=True)
    (a / "ds" / "train.jsonl").write_text("{}\n")
    (a / "users").write_text("u\n")
    run = glue.layout(tmp_path / "run", {"dataset": str(a / "ds"), "users.jsonl": str(a / "users")})
    assert (run / "dataset" / "train.jsonl").read_text() == "{}\n"
    assert (run / "users.jsonl").is_symlink()
    (run / "model").mkdir()
    (run / "model" / "w.bin").write_bytes(b"w")
    (run / "index.json").write_text("{}")
    glue.collect(
        run,
        {str(a / "model"): "model", str(a / "index"): ["index.json", "milvus.db"]},
    )
    assert (a / "model" / "w.bin").read_bytes() == b"w"
    assert sorted(p.name for p in (a / "index").iterdir()) == ["index.json"]  # optional skipped
    with pytest.raises(FileNotFoundError, match="did not produce"):
        glue.collect(run, {str(a / "x"): "metrics.json"})
    with pytest.raises(FileNotFoundError, match="input artifact"):
        glue.layout(tmp_path / "run2", {"courses.jsonl": str(a / "missing")})


def test_metric_scalars(tmp_path):
    m = tmp_path / "metrics.json"
    m.write_text(
        json.dumps(
            {
                "split": "test",
                "models": {"finetuned": {"ndcg@10": 0.5, "recall@10": 0.25}},
                "cold_courses": {"models": {"bm25": {"ndcg@10": 0.1}}},
            }
        )
    )
    assert glue.metric_scalars(str(m)) == {
        "finetuned/ndcg@10": 0.5,
        "finetuned/recall@10": 0.25,
        "cold/bm25/ndcg@10": 0.1,
    }


# -- gate / registry / deploy --------------------------------------------------------------------
def fake_run(root: Path, ndcg: float) -> Path:
    import tempfile

    run = Path(tempfile.mkdtemp(prefix=f"run-{ndcg}-", dir=root))
    (run / "model").mkdir(parents=True)
    (run / "model" / "config.json").write_text("{}")
    (run / "model" / "modules.json").write_text("[]")
    (run / "metrics.json").write_text(json.dumps({"models": {"finetuned": {"ndcg@10": ndcg}}}))
    return run


def test_gate(tmp_path):
    reg_dir = tmp_path / "registry"
    cand = fake_run(tmp_path, 0.6)
    metrics = str(cand / "metrics.json")
    assert glue.gate(metrics, "")[0] == "keep"
    decision, reason = glue.gate(metrics, str(reg_dir))
    assert decision == "promote" and "no champion" in reason
    registry = ModelRegistry(open_store(reg_dir))
    registry.promote(registry.publish(fake_run(tmp_path, 0.6)))
    assert glue.gate(metrics, str(reg_dir))[0] == "keep"  # equal is not better
    better = fake_run(tmp_path, 0.7)
    assert glue.gate(str(better / "metrics.json"), str(reg_dir))[0] == "promote"
    assert glue.gate(str(better / "metrics.json"), str(reg_dir), 0.2)[0] == "keep"


def test_publish_promote_and_deploy(tmp_path, monkeypatch):
    reg_dir = str(tmp_path / "registry")
    run = fake_run(tmp_path, 0.6)
    (run / "config.yaml").write_text(load_config(SMOKE).to_yaml())
    inputs = {"model": str(run / "model"), "metrics.json": str(run / "metrics.json")}
    version = glue.publish(reg_dir, str(run / "config.yaml"), inputs)
    assert version == "v0001"
    assert glue.promote(reg_dir, version) == version
    with pytest.raises(RuntimeError, match="declined"):
        glue.promote(reg_dir, glue.publish(reg_dir, str(run / "config.yaml"), {
            **inputs, "metrics.json": str(fake_run(tmp_path, 0.1) / "metrics.json")
        }))  # fmt: skip

    assert glue.deploy(reg_dir, version, "none", "recommender", "ml") == (
        "skipped: deploy_target=none"
    )
    from urtraining import rayjob

    def no_cluster():
        raise rayjob.KubeUnavailable("no Kubernetes configuration found")

    monkeypatch.setattr(rayjob, "kube_clients", no_cluster)
    assert glue.deploy(reg_dir, version, "auto", "recommender", "ml").startswith(
        "skipped: deploy_target=auto and no Kubernetes"
    )
    with pytest.raises(rayjob.KubeUnavailable):
        glue.deploy(reg_dir, version, "kserve", "recommender", "ml")
    with pytest.raises(ValueError, match="none\\|auto\\|kserve"):
        glue.deploy(reg_dir, version, "helm", "recommender", "ml")

    class Custom:
        patched: list = []

        def patch_namespaced_custom_object(self, group, version, namespace, plural, name, body):
            self.patched.append((group, version, namespace, plural, name, body))

    custom = Custom()
    out = glue.deploy(reg_dir, version, "kserve", "recommender", "ml", custom=custom)
    group, ver, ns, plural, name, body = custom.patched[0]
    assert (group, ver, ns, plural, name) == (
        "serving.kserve.io", "v1beta1", "ml", "inferenceservices", "recommender"
    )  # fmt: skip
    uri = body["spec"]["predictor"]["model"]["storageUri"]
    assert uri.endswith("models/recommender/v0001/model") and uri in out
    assert (Path(uri) / "config.json").is_file()


# -- a step on a RayJob: stage, submit, "run" remotely, fetch back --------------------------------
class RemoteRunningCustom:
    """Fake CustomObjectsApi whose RayJob runs its entrypoint in-process on first poll."""

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.created: list[dict] = []
        self.deleted: list[str] = []

    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        self.created.append(body)

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        if self.fail:
            return {"status": {"jobDeploymentStatus": "Failed", "message": "OOMKilled"}}
        from components import remote

        cmd = self.created[-1]["spec"]["entrypoint"].split()
        assert cmd[:3] == ["python", "-m", "components.remote"]
        assert remote.main(cmd[3:]) == 0
        return {"status": {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}}

    def delete_namespaced_custom_object(self, group, version, namespace, plural, name, **kw):
        self.deleted.append(name)


def test_step_on_a_rayjob_round_trip(tmp_path, monkeypatch):
    from urtraining import rayjob

    api = RemoteRunningCustom()
    monkeypatch.setattr(rayjob, "kube_clients", lambda: (api, None))
    config = tmp_path / "config.yaml"
    glue.configure(SMOKE.read_text(), {"n_courses": 8}, str(config))
    staging = tmp_path / "staging"
    ray = {
        "mode": "rayjob",
        "image": "registry.local/urt:1",
        "namespace": "ml",
        "workers": 2,
        "gpus_per_worker": 0,
        "staging_uri": str(staging),
        "secrets": ["urtraining-s3", ""],
        "poll_s": 0,
    }
    out = tmp_path / "courses"
    stats = glue.run_step("courses", str(config), outputs={str(out): "courses.jsonl"}, ray=ray)
    assert stats["courses"] == 8
    assert len(out.read_text().splitlines()) == 8
    body = api.created[0]
    assert body["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] == 2
    assert api.deleted == [body["metadata"]["name"]]
    assert not any(staging.rglob("*.jsonl"))  # staging cleaned up

    api.fail = True
    with pytest.raises(rayjob.RayJobFailed, match="OOMKilled"):
        glue.run_step("courses", str(config), outputs={str(out): "courses.jsonl"}, ray=ray)
    assert len(api.deleted) == 2


def test_rayjob_mode_needs_a_staging_uri(tmp_path):
    config = tmp_path / "config.yaml"
    glue.configure("", {}, str(config))
    with pytest.raises(ValueError, match="ray_staging_uri"):
        glue.run_step("users", str(config), ray={"mode": "rayjob", "image": "x"})
    with pytest.raises(ValueError, match="local or rayjob"):
        glue.run_step("users", str(config), ray={"mode": "cluster"})
