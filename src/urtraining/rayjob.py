"""Run one pipeline step on Ray via a KubeRay ``RayJob``: build, create, wait, clean up.

A KFP component that should not run Ray in-process builds a RayJob from a template
(``components/rayjob.yaml``, or ``k8s/rayjob-train.yaml``), creates it, polls its status and
logs every change, and returns when the job has succeeded. A failed, stopped, rejected or
timed-out job fails the step with the job's own message (and, when the Kubernetes API allows
it, the tail of the submitter's log). The RayJob is deleted afterwards unless told otherwise,
so a cancelled pipeline run does not leave a GPU cluster behind.

Everything that talks to Kubernetes goes through two small objects (the ``CustomObjectsApi``
and ``CoreV1Api`` of the ``kubernetes`` client, or fakes with the same methods in tests).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from urtraining.errors import UsageError

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "ray.io", "v1", "rayjobs"
GPU = "nvidia.com/gpu"
#: KubeRay derives cluster and submitter names from the RayJob's; keep it well under 63
MAX_NAME = 40

# jobStatus values (Ray's JobStatus) and jobDeploymentStatus values (KubeRay's state machine)
SUCCEEDED = "SUCCEEDED"
FAILED_JOB = {"FAILED", "STOPPED"}
FAILED_DEPLOYMENT = {"Failed", "ValidationFailed"}

Cleanup = Literal["always", "on_success", "never"]


class KubeUnavailable(UsageError):
    """No in-cluster service account and no kube config: there is no cluster to talk to."""


class RayJobFailed(RuntimeError):
    """The RayJob ended without success; the message is the job's own error."""


# -- Kubernetes clients ------------------------------------------------------------------------
def kube_clients() -> tuple[Any, Any]:
    """(CustomObjectsApi, CoreV1Api) from the in-cluster service account, else ~/.kube/config."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        try:
            config.load_kube_config()
        except (config.ConfigException, FileNotFoundError, TypeError) as exc:
            raise KubeUnavailable(f"no Kubernetes configuration found ({exc})") from None
    return client.CustomObjectsApi(), client.CoreV1Api()


def current_namespace(default: str = "default") -> str:
    """The pod's own namespace (in a cluster), else ``default``."""
    path = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    try:
        return path.read_text().strip() or default
    except OSError:
        return default


# -- the manifest -------------------------------------------------------------------------------
def load_template(path: str | Path | None = None) -> dict:
    """A RayJob template; the default is the one packaged with the components."""
    if path is None or str(path) == "":
        from importlib import resources

        text = resources.files("components").joinpath("rayjob.yaml").read_text()
    else:
        path = Path(path)
        if not path.is_file():
            raise UsageError(f"RayJob template not found: {path}")
        text = path.read_text()
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or data.get("kind") != "RayJob":
        raise UsageError(f"{path or 'components/rayjob.yaml'}: not a RayJob manifest")
    # YAML anchors load as shared objects: a round trip makes every container its own copy,
    # so setting the head's env cannot silently change the workers' too.
    return json.loads(json.dumps(data))


def job_name(step: str) -> str:
    """A fresh, DNS-safe name per submission (a retry never collides with a dying job)."""
    stem = "".join(c if c.isalnum() else "-" for c in f"urt-{step}".lower()).strip("-")
    return f"{stem[: MAX_NAME - 7]}-{secrets.token_hex(3)}"


@dataclass
class RayJobOptions:
    """How a step's RayJob looks. ``cluster`` names an existing RayCluster to submit to
    (clusterSelector); empty means a cluster of its own, built from the template."""

    namespace: str
    image: str
    entrypoint: str
    name: str = ""
    workers: int = 1
    gpus_per_worker: int = 0
    cluster: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    #: Secrets whose keys all become env variables in every Ray container (envFrom)
    env_from_secrets: Sequence[str] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    active_deadline_s: int | None = None


def build_manifest(template: Mapping, opts: RayJobOptions) -> dict:
    """The RayJob to create: the template with name, image, entrypoint, sizes and env set."""
    body = json.loads(json.dumps(template))
    meta = body.setdefault("metadata", {})
    meta["name"] = opts.name or job_name("step")
    meta["namespace"] = opts.namespace
    meta["labels"] = {**meta.get("labels", {}), **opts.labels}
    spec = body.setdefault("spec", {})
    spec["entrypoint"] = opts.entrypoint
    if opts.active_deadline_s:
        spec["activeDeadlineSeconds"] = int(opts.active_deadline_s)
    if opts.cluster:
        # An existing cluster is shared: the job must neither carry a cluster spec nor
        # shut that cluster down when it ends (KubeRay rejects both combinations).
        spec.pop("rayClusterSpec", None)
        spec["clusterSelector"] = {"ray.io/cluster": opts.cluster}
        spec["shutdownAfterJobFinishes"] = False
        spec.pop("ttlSecondsAfterFinished", None)
        return body
    cluster = spec.get("rayClusterSpec")
    if not cluster or "headGroupSpec" not in cluster:
        raise UsageError("RayJob template has no spec.rayClusterSpec.headGroupSpec")
    groups = cluster.get("workerGroupSpecs") or []
    if not groups:
        raise UsageError("RayJob template has no spec.rayClusterSpec.workerGroupSpecs")
    workers = max(1, int(opts.workers))
    group = groups[0]
    group["replicas"] = group["minReplicas"] = group["maxReplicas"] = workers
    pod_specs = [cluster["headGroupSpec"]["template"]["spec"]]
    pod_specs += [g["template"]["spec"] for g in groups]
    for pod in pod_specs:
        for container in pod.get("containers", []):
            _set_container(container, opts)
    for container in group["template"]["spec"].get("containers", []):
        _set_gpus(container, int(opts.gpus_per_worker))
    if opts.gpus_per_worker <= 0:
        # No GPU asked: do not hold the job to GPU nodes either.
        group["template"]["spec"].pop("tolerations", None)
    return body


def _set_container(container: dict, opts: RayJobOptions) -> None:
    container["image"] = opts.image
    env = [e for e in container.get("env", []) if e.get("name") not in opts.env]
    env += [{"name": k, "value": str(v)} for k, v in opts.env.items()]
    container["env"] = env
    if opts.env_from_secrets:
        have = {e.get("secretRef", {}).get("name") for e in container.get("envFrom", [])}
        container["envFrom"] = [*container.get("envFrom", [])] + [
            {"secretRef": {"name": s, "optional": True}}
            for s in opts.env_from_secrets
            if s and s not in have
        ]


def _set_gpus(container: dict, gpus: int) -> None:
    resources = container.setdefault("resources", {})
    for kind in ("requests", "limits"):
        block = resources.setdefault(kind, {})
        if gpus > 0:
            block[GPU] = str(gpus)
        else:
            block.pop(GPU, None)


# -- running it ---------------------------------------------------------------------------------
@dataclass
class RayJobResult:
    name: str
    job_id: str | None
    status: dict
    seconds: float


class RayJobRunner:
    """Create a RayJob, follow it to the end, clean up.

    ``custom`` is a ``CustomObjectsApi`` (or a fake); ``core`` an optional ``CoreV1Api`` for
    the submitter's log tail on failure. ``clock``/``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        custom,
        core=None,
        poll_s: float = 10.0,
        timeout_s: float = 24 * 3600,
        cleanup: Cleanup = "always",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_status: Callable[[dict], None] | None = None,
    ):
        if cleanup not in ("always", "on_success", "never"):
            raise UsageError(f"cleanup must be always|on_success|never, not {cleanup!r}")
        self.custom, self.core = custom, core
        self.poll_s, self.timeout_s, self.cleanup = poll_s, timeout_s, cleanup
        self.clock, self.sleep, self.on_status = clock, sleep, on_status

    def run(self, manifest: dict) -> RayJobResult:
        name = manifest["metadata"]["name"]
        namespace = manifest["metadata"]["namespace"]
        started = self.clock()
        self.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
        log.info("RayJob %s/%s created", namespace, name)
        ok = False
        try:
            status = self.wait(namespace, name, started)
            ok = True
            return RayJobResult(name, status.get("jobId"), status, self.clock() - started)
        finally:
            # Also on KeyboardInterrupt/SystemExit: a cancelled KFP step must not leave a
            # GPU cluster running.
            if self.cleanup == "always" or (self.cleanup == "on_success" and ok):
                self.delete(namespace, name)

    def wait(self, namespace: str, name: str, started: float | None = None) -> dict:
        """Poll until the job succeeds (returns its status) or ends otherwise (raises)."""
        started = self.clock() if started is None else started
        last: tuple | None = None
        while True:
            obj = self._get(namespace, name)
            status = obj.get("status") or {}
            state = (
                status.get("jobDeploymentStatus"),
                status.get("jobStatus"),
                status.get("message"),
            )
            if state != last:
                log.info(
                    "RayJob %s: deployment=%s job=%s%s",
                    name,
                    state[0] or "-",
                    state[1] or "-",
                    f" ({state[2]})" if state[2] else "",
                )
                if self.on_status:
                    self.on_status(dict(status))
                last = state
            if status.get("jobStatus") == SUCCEEDED:
                return status
            if status.get("jobStatus") in FAILED_JOB or (
                status.get("jobDeploymentStatus") in FAILED_DEPLOYMENT
            ):
                raise RayJobFailed(self._failure(namespace, name, status))
            elapsed = self.clock() - started
            if elapsed > self.timeout_s:
                raise RayJobFailed(
                    f"RayJob {name}: no result after {elapsed:.0f} s "
                    f"(deployment={status.get('jobDeploymentStatus') or '-'}, "
                    f"job={status.get('jobStatus') or '-'})"
                )
            self.sleep(self.poll_s)

    def _get(self, namespace: str, name: str) -> dict:
        try:
            return self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                raise RayJobFailed(
                    f"RayJob {name} disappeared (deleted by someone else?)"
                ) from None
            raise

    def _failure(self, namespace: str, name: str, status: dict) -> str:
        parts = [
            f"RayJob {name} failed:",
            f"deployment={status.get('jobDeploymentStatus') or '-'}",
            f"job={status.get('jobStatus') or '-'}",
        ]
        if status.get("reason"):
            parts.append(f"reason={status['reason']}")
        if status.get("message"):
            parts.append(f"message={status['message']}")
        tail = self.submitter_log(namespace, name)
        return " ".join(parts) + (f"\n--- submitter log (tail) ---\n{tail}" if tail else "")

    def submitter_log(self, namespace: str, name: str, lines: int = 40) -> str:
        """The last lines of the K8sJobMode submitter pod (the driver's output), if readable."""
        if self.core is None:
            return ""
        try:
            pods = self.core.list_namespaced_pod(namespace, label_selector=f"job-name={name}")
            items = sorted(
                getattr(pods, "items", []) or [],
                key=lambda p: str(getattr(p.metadata, "creation_timestamp", "") or ""),
            )
            if not items:
                return ""
            return self.core.read_namespaced_pod_log(
                items[-1].metadata.name, namespace, tail_lines=lines
            ).rstrip()
        except Exception as exc:  # the log is a courtesy: never hide the job's own error
            log.debug("no submitter log for %s: %s", name, exc)
            return ""

    def delete(self, namespace: str, name: str) -> None:
        try:
            self.custom.delete_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, propagation_policy="Foreground"
            )
            log.info("RayJob %s/%s deleted", namespace, name)
        except Exception as exc:
            if getattr(exc, "status", None) != 404:
                log.warning("could not delete RayJob %s/%s: %s", namespace, name, exc)
