"""RayJob manifests (checked against KubeRay's CRD schema) and the submit/wait/clean-up loop
against a fake Kubernetes API (there is no cluster in the test environment)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
import yaml

from urtraining import rayjob
from urtraining.rayjob import RayJobFailed, RayJobOptions, RayJobRunner, build_manifest

ROOT = Path(__file__).resolve().parents[2]
# the same CRD folder scripts/k8s_check.py uses
CRD = (
    Path(os.environ.get("URTRAINING_CRDS", ROOT.parent / "shared" / "crds")) / "ray.io_rayjobs.yaml"
)
TEMPLATES = [None, ROOT / "k8s" / "rayjob-train.yaml"]


@pytest.fixture(scope="module")
def schema() -> dict:
    if not CRD.is_file():
        pytest.skip("KubeRay CRD not available")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRD is large
    crd = yaml.load(CRD.read_text(), Loader=loader)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    return version["schema"]["openAPIV3Schema"]


def opts(**kw) -> RayJobOptions:
    base = dict(
        name="urt-train-abc123",
        namespace="ml",
        image="registry.local/urt:7",
        entrypoint="python -m components.remote train s3://b/staging/urt-train-abc123",
        workers=3,
        gpus_per_worker=2,
        env={"AWS_ENDPOINT_URL": "http://s3:9000"},
        env_from_secrets=["urtraining-s3"],
        labels={"urtraining.io/step": "train"},
    )
    base.update(kw)
    return RayJobOptions(**base)


def containers(body: dict) -> list[dict]:
    cluster = body["spec"]["rayClusterSpec"]
    pods = [cluster["headGroupSpec"]["template"]["spec"]]
    pods += [g["template"]["spec"] for g in cluster["workerGroupSpecs"]]
    return [c for p in pods for c in p["containers"]]


@pytest.mark.parametrize("template", TEMPLATES, ids=["packaged", "k8s-train"])
def test_manifest_is_valid_and_filled_in(schema, template):
    if template is not None and not template.is_file():
        pytest.skip(f"{template} not present")
    body = build_manifest(rayjob.load_template(template), opts())
    jsonschema.validate(body, schema)
    assert body["metadata"]["name"] == "urt-train-abc123"
    assert body["metadata"]["namespace"] == "ml"
    assert body["metadata"]["labels"]["urtraining.io/step"] == "train"
    assert body["spec"]["entrypoint"].startswith("python -m components.remote train ")
    assert body["spec"]["shutdownAfterJobFinishes"] is True
    group = body["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]
    assert group["replicas"] == group["minReplicas"] == group["maxReplicas"] == 3
    for c in containers(body):
        assert c["image"] == "registry.local/urt:7"
        assert {"name": "AWS_ENDPOINT_URL", "value": "http://s3:9000"} in c["env"]
        assert {"secretRef": {"name": "urtraining-s3", "optional": True}} in c["envFrom"]
        assert c["securityContext"]["runAsNonRoot"] is True
    worker = group["template"]["spec"]["containers"][0]
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "2"
    head = body["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in head["resources"].get("limits", {})


def test_yaml_anchors_do_not_leak_between_containers():
    template = rayjob.load_template()
    body = build_manifest(template, opts())
    head, worker = containers(body)[0], containers(body)[1]
    assert head["env"] is not worker["env"]
    head["env"].append({"name": "ONLY_HEAD", "value": "1"})
    assert "ONLY_HEAD" not in str(worker["env"])
    # and the template itself is untouched
    assert "urtraining-s3" not in str(template)


def test_cpu_only_job_drops_gpu_requests_and_tolerations(schema):
    body = build_manifest(rayjob.load_template(), opts(gpus_per_worker=0, workers=0))
    jsonschema.validate(body, schema)
    group = body["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]
    assert group["replicas"] == 1  # at least one worker
    assert "tolerations" not in group["template"]["spec"]
    assert "nvidia.com/gpu" not in str(group["template"]["spec"]["containers"][0]["resources"])


def test_existing_cluster_uses_a_selector(schema):
    body = build_manifest(rayjob.load_template(), opts(cluster="urtraining-ray"))
    jsonschema.validate(body, schema)
    assert "rayClusterSpec" not in body["spec"]
    assert body["spec"]["clusterSelector"] == {"ray.io/cluster": "urtraining-ray"}
    assert body["spec"]["shutdownAfterJobFinishes"] is False


def test_job_names_are_dns_safe_and_fresh():
    a, b = rayjob.job_name("Train_Step"), rayjob.job_name("Train_Step")
    assert a != b and len(a) <= rayjob.MAX_NAME
    assert a.startswith("urt-train-step-") and a == a.lower()


def test_bad_template(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("kind: Pod\n")
    with pytest.raises(rayjob.UsageError, match="not a RayJob"):
        rayjob.load_template(bad)
    with pytest.raises(rayjob.UsageError, match="not found"):
        rayjob.load_template(tmp_path / "missing.yaml")


# -- the state machine against a fake API ----------------------------------------------------------
class ApiError(Exception):
    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.status = status


class FakeCustom:
    """CustomObjectsApi stand-in: replays a scripted sequence of RayJob statuses."""

    def __init__(self, statuses: list[dict | Exception]):
        self.statuses = list(statuses)
        self.created: list[dict] = []
        self.deleted: list[tuple] = []
        self.gets = 0

    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        assert (group, version, plural) == ("ray.io", "v1", "rayjobs")
        self.created.append(body)
        return body

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        self.gets += 1
        item = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if isinstance(item, Exception):
            raise item
        return {"metadata": {"name": name}, "status": item}

    def delete_namespaced_custom_object(self, group, version, namespace, plural, name, **kw):
        self.deleted.append((namespace, name, kw.get("propagation_policy")))


class FakeCore:
    def __init__(self, log: str = "Traceback ...\nValueError: bad batch"):
        self.log = log
        self.asked: list[str] = []

    def list_namespaced_pod(self, namespace, label_selector):
        self.asked.append(label_selector)
        meta = SimpleNamespace(name="urt-train-abc123-xyz", creation_timestamp="t1")
        return SimpleNamespace(items=[SimpleNamespace(metadata=meta)])

    def read_namespaced_pod_log(self, name, namespace, tail_lines):
        return self.log


class Clock:
    def __init__(self):
        self.t = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def manifest() -> dict:
    return build_manifest(rayjob.load_template(), opts())


def runner(api, core=None, **kw) -> tuple[RayJobRunner, Clock, list]:
    clock, seen = Clock(), []
    r = RayJobRunner(
        api, core, poll_s=5, clock=clock, sleep=clock.sleep, on_status=seen.append, **kw
    )
    return r, clock, seen


def test_success_streams_each_status_change_once_and_cleans_up(caplog):
    api = FakeCustom(
        [
            {},
            {"jobDeploymentStatus": "Initializing"},
            {"jobDeploymentStatus": "Initializing"},
            {"jobDeploymentStatus": "Running", "jobStatus": "PENDING"},
            {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING", "jobId": "raysubmit_1"},
            {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED", "jobId": "raysubmit_1"},
        ]
    )
    r, clock, seen = runner(api)
    with caplog.at_level("INFO", logger="urtraining.rayjob"):
        result = r.run(manifest())
    assert result.job_id == "raysubmit_1" and result.status["jobStatus"] == "SUCCEEDED"
    assert [s.get("jobStatus") for s in seen] == [None, None, "PENDING", "RUNNING", "SUCCEEDED"]
    assert api.created[0]["metadata"]["name"] == "urt-train-abc123"
    assert api.deleted == [("ml", "urt-train-abc123", "Foreground")]
    assert clock.sleeps == [5] * 5
    assert sum("deployment=Running job=RUNNING" in m for m in caplog.messages) == 1


def test_failure_raises_the_jobs_error_with_the_submitter_log():
    api = FakeCustom(
        [
            {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"},
            {
                "jobDeploymentStatus": "Failed",
                "jobStatus": "FAILED",
                "reason": "AppFailed",
                "message": "Job entrypoint command failed with exit code 1",
            },
        ]
    )
    core = FakeCore()
    r, _, _ = runner(api, core)
    with pytest.raises(RayJobFailed) as err:
        r.run(manifest())
    text = str(err.value)
    assert "exit code 1" in text and "reason=AppFailed" in text and "job=FAILED" in text
    assert "ValueError: bad batch" in text
    assert core.asked == ["job-name=urt-train-abc123"]
    assert api.deleted  # cleanup=always


@pytest.mark.parametrize(
    "status",
    [
        {"jobDeploymentStatus": "ValidationFailed", "message": "spec.rayClusterSpec is invalid"},
        {"jobDeploymentStatus": "Complete", "jobStatus": "STOPPED"},
    ],
)
def test_other_terminal_states_fail(status):
    r, _, _ = runner(FakeCustom([status]))
    with pytest.raises(RayJobFailed, match="failed"):
        r.run(manifest())


def test_on_success_cleanup_keeps_a_failed_job_for_debugging():
    api = FakeCustom([{"jobDeploymentStatus": "Failed", "jobStatus": "FAILED"}])
    r, _, _ = runner(api, cleanup="on_success")
    with pytest.raises(RayJobFailed):
        r.run(manifest())
    assert api.deleted == []
    ok = FakeCustom([{"jobStatus": "SUCCEEDED"}])
    runner(ok, cleanup="on_success")[0].run(manifest())
    assert ok.deleted


def test_never_cleanup():
    api = FakeCustom([{"jobStatus": "SUCCEEDED"}])
    runner(api, cleanup="never")[0].run(manifest())
    assert api.deleted == []


def test_timeout():
    api = FakeCustom([{"jobDeploymentStatus": "Initializing"}])
    r, clock, _ = runner(api, timeout_s=60)
    with pytest.raises(RayJobFailed, match="no result after .*deployment=Initializing"):
        r.run(manifest())
    assert 60 <= clock.t <= 70 and api.deleted


def test_job_deleted_underneath():
    api = FakeCustom([{"jobStatus": "RUNNING"}, ApiError(404)])
    with pytest.raises(RayJobFailed, match="disappeared"):
        runner(api)[0].run(manifest())


def test_cancelled_step_still_deletes_the_job():
    api = FakeCustom([{"jobStatus": "RUNNING"}])

    def interrupted(_s):
        raise KeyboardInterrupt  # what a cancelled KFP pod's SIGTERM handler surfaces as

    r = RayJobRunner(api, poll_s=1, sleep=interrupted)
    with pytest.raises(KeyboardInterrupt):
        r.run(manifest())
    assert api.deleted == [("ml", "urt-train-abc123", "Foreground")]


def test_api_errors_other_than_404_propagate_and_delete_tolerates_404():
    api = FakeCustom([ApiError(500)])
    api.delete_namespaced_custom_object = lambda *a, **k: (_ for _ in ()).throw(ApiError(404))
    with pytest.raises(ApiError):
        runner(api)[0].run(manifest())


def test_bad_cleanup_value():
    with pytest.raises(rayjob.UsageError):
        RayJobRunner(FakeCustom([{}]), cleanup="sometimes")


def test_no_kube_config_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(rayjob.KubeUnavailable):
        rayjob.kube_clients()
