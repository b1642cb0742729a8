"""The compiled recommender-training pipeline: stages, gate, Kubernetes settings, staleness."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.recommender_training import COMPILED, ClusterSettings, compile_pipeline

STAGES = {"configure", "generate-users", "generate-courses", "rank", "assemble", "train",
          "evaluate", "gate"}  # fmt: skip
GATED = {"publish", "promote", "index", "deploy"}
GPU_STEPS = {"generate-users", "generate-courses", "rank", "train"}
S3_STEPS = {"generate-users", "generate-courses", "rank", "train", "gate", "publish", "promote",
            "deploy"}  # fmt: skip


@pytest.fixture(scope="module")
def ir(tmp_path_factory) -> tuple[dict, dict]:
    path = compile_pipeline(tmp_path_factory.mktemp("ir") / "p.yaml")
    spec, platform = yaml.safe_load_all(path.read_text())
    return spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


def _deps(task: dict) -> set[str]:
    deps = set(task.get("dependentTasks", []))
    for inp in task.get("inputs", {}).get("artifacts", {}).values():
        if "taskOutputArtifact" in inp:
            deps.add(inp["taskOutputArtifact"]["producerTask"])
    for inp in task.get("inputs", {}).get("parameters", {}).values():
        if "taskOutputParameter" in inp:
            deps.add(inp["taskOutputParameter"]["producerTask"])
    return deps


def test_every_stage_and_the_gate(ir):
    spec, _ = ir
    assert spec["pipelineInfo"]["name"] == "recommender-training"
    root = spec["root"]["dag"]["tasks"]
    conditions = [n for n, t in root.items() if "triggerPolicy" in t]
    assert len(conditions) == 1
    cond = root[conditions[0]]
    assert set(root) == STAGES | {conditions[0]}
    assert "gate" in _deps(cond)
    expr = cond["triggerPolicy"]["condition"]
    assert "gate-Output" in expr and "'promote'" in expr and "==" in expr
    inner = spec["components"][cond["componentRef"]["name"]]["dag"]["tasks"]
    assert set(inner) == GATED
    # the order under the gate: publish -> promote -> index -> deploy
    assert "publish" in _deps(inner["promote"])
    assert "promote" in _deps(inner["index"])
    assert {"promote", "index"} <= _deps(inner["deploy"])


def test_wiring_users_and_courses_in_parallel(ir):
    spec, _ = ir
    t = spec["root"]["dag"]["tasks"]
    assert _deps(t["generate-users"]) == {"configure"}
    assert _deps(t["generate-courses"]) == {"configure"}
    assert {"generate-users", "generate-courses"} <= _deps(t["rank"])
    assert {"rank", "generate-users", "generate-courses"} <= _deps(t["assemble"])
    assert _deps(t["train"]) == {"configure", "assemble"}
    assert {"train", "assemble", "rank"} <= _deps(t["evaluate"])
    assert _deps(t["gate"]) == {"evaluate"}


def test_artifact_types(ir):
    spec, _ = ir
    comps = spec["components"]

    def out_type(comp: str, name: str) -> str:
        return comps[comp]["outputDefinitions"]["artifacts"][name]["artifactType"]["schemaTitle"]

    assert out_type("comp-train", "model") == "system.Model"
    assert out_type("comp-generate-users", "users") == "system.Dataset"
    assert out_type("comp-assemble", "dataset") == "system.Dataset"
    assert out_type("comp-evaluate", "metrics") == "system.Metrics"
    assert out_type("comp-evaluate", "report") == "system.Markdown"
    assert comps["comp-gate"]["outputDefinitions"]["parameters"]["Output"]["parameterType"] == (
        "STRING"
    )


def test_parameters(ir):
    spec, _ = ir
    params = spec["root"]["inputDefinitions"]["parameters"]
    for name in ("n_users", "n_courses", "synth_backend", "synth_roster", "teacher_backend",
                 "teacher_roster", "loss", "epochs", "ray_workers", "train_gpus", "gen_gpus",
                 "ray_mode", "registry_uri", "milvus_uri", "deploy_target", "image"):  # fmt: skip
        assert name in params, name
    assert params["image"]["defaultValue"] == ClusterSettings().image
    assert params["deploy_target"]["defaultValue"] == "kserve"


def test_every_task_runs_the_image_parameter(ir):
    spec, _ = ir
    for name, ex in spec["deploymentSpec"]["executors"].items():
        container = ex["container"]
        assert container["image"] == "{{$.inputs.parameters['pipelinechannel--image']}}", name
        # nothing is pip-installed when a step starts: the image carries everything
        assert "pip install" not in " ".join(container["command"]), name


def test_kubernetes_settings_on_the_right_steps(ir):
    spec, k8s = ir
    execs = spec["deploymentSpec"]["executors"]
    for step in GPU_STEPS:
        ex = k8s[f"exec-{step}"]
        assert ex["nodeSelector"]["labels"] == {"nvidia.com/gpu.present": "true"}
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in ex[
            "tolerations"
        ]
        shm = [m for m in ex["emptyDirMounts"] if m["mountPath"] == "/dev/shm"]
        assert shm and shm[0]["medium"] == "Memory"
        accel = execs[f"exec-{step}"]["container"]["resources"]["accelerator"]
        assert accel["resourceType"] == "nvidia.com/gpu"
        want = "train_gpus" if step == "train" else "gen_gpus"
        assert want in accel["resourceCount"]
    for step in {"configure", "assemble", "evaluate", "gate", *GATED}:
        ex = k8s[f"exec-{step}"]
        assert "nodeSelector" not in ex and "tolerations" not in ex, step
        assert "resources" not in execs[f"exec-{step}"]["container"], step
    for step in S3_STEPS:
        envs = {e["envVar"] for s in k8s[f"exec-{step}"]["secretAsEnv"] for e in s["keyToEnv"]}
        assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= envs, step
        names = [str(s["secretNameParameter"]) for s in k8s[f"exec-{step}"]["secretAsEnv"]]
        assert any("s3_secret" in n for n in names), step
    for step in ("generate-users", "generate-courses", "rank"):
        envs = {e["envVar"] for s in k8s[f"exec-{step}"]["secretAsEnv"] for e in s["keyToEnv"]}
        assert "OPENAI_API_KEY" in envs
    assert "OPENAI_API_KEY" not in str(k8s["exec-train"])
    assert "MILVUS_TOKEN" in str(k8s["exec-index"])


def test_caching_per_step(ir):
    spec, _ = ir
    root = spec["root"]["dag"]["tasks"]
    for step in STAGES - {"gate"}:
        assert root[step]["cachingOptions"].get("enableCache") is True, step
    assert not root["gate"]["cachingOptions"].get("enableCache")
    cond = next(t for t in root.values() if "triggerPolicy" in t)
    inner = spec["components"][cond["componentRef"]["name"]]["dag"]["tasks"]
    for step in GATED:
        assert not inner[step]["cachingOptions"].get("enableCache"), step


def test_committed_yaml_is_current():
    """`urtraining pipeline compile` after any change to components/ or pipelines/."""
    proc = subprocess.run(
        [sys.executable, "-m", "urtraining.cli", "pipeline", "compile", "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    assert COMPILED.is_file()


def test_compile_settings(tmp_path):
    cs = ClusterSettings(image="registry.local/urt:9", gpu_node_selector=("pool", "a100"))
    spec, platform = yaml.safe_load_all(compile_pipeline(tmp_path / "p.yaml", cs).read_text())
    assert spec["root"]["inputDefinitions"]["parameters"]["image"]["defaultValue"] == (
        "registry.local/urt:9"
    )
    ex = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-train"]
    assert ex["nodeSelector"]["labels"] == {"pool": "a100"}


def test_submit_sends_the_package_and_arguments(tmp_path, monkeypatch):
    from urtraining import pipeline_cli

    calls = {}

    class FakeClient:
        def create_run_from_pipeline_package(self, pipeline_file, **kw):
            calls["file"] = Path(pipeline_file).read_text()
            calls.update(kw)
            return type("Run", (), {"run_id": "r-1"})()

    config = Path(__file__).resolve().parents[2] / "configs" / "smoke.yaml"
    args = pipeline_cli.pipeline_arguments(
        config, ["train.epochs=2"], ["n_users=500", "deploy_target=none", "ray_mode=rayjob"]
    )
    assert args["n_users"] == 500 and args["config_yaml"] == config.read_text()
    assert args["overrides"] == ["train.epochs=2"]
    out = pipeline_cli.submit_run(
        "http://kfp.local", COMPILED, args, "exp", "run-a", "team", client=FakeClient()
    )
    assert out == {"run_id": "r-1", "host": "http://kfp.local", "experiment": "exp"}
    assert calls["arguments"] is args and calls["experiment_name"] == "exp"
    assert calls["namespace"] == "team" and "recommender-training" in calls["file"]
    with pytest.raises(pipeline_cli.UsageError, match="expected name=value"):
        pipeline_cli.parse_params(["n_users"])
