"""Render the Helm chart and check every object the way a cluster would, offline.

`make k8s-check` runs this. Steps:
1. `helm lint --strict` with each environment's values file;
2. `helm template` into build/k8s/<env>.yaml;
3. every object of those files and of k8s/*.yaml is validated: core kinds with
   kubernetes-validate (strict: unknown fields are errors), custom resources against the
   openAPIV3Schema of their CRD in ../shared/crds with jsonschema, made strict the same way
   (`kubectl apply --validate=strict` rejects fields a structural schema does not declare);
4. checkov scans the rendered files. Checkov only knows core kinds, so the pods that KServe
   and KubeRay will create from our custom resources are written out as plain Pods beside them
   (build/k8s/scan/), carrying the resource's checkov skip annotations, and scanned too.
   Every skip needs a reason in the chart (`checkov.io/skipN: CKV_K8S_X=why`).

Exit status 0 only when every step passes. Needs build/tools/bin/{helm,checkov}
(`make k8s-tools`) and no network.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm" / "urtraining"
TOOLS = ROOT / "build" / "tools" / "bin"
# Release namespace per environment (also what README's install commands use).
ENVIRONMENTS = {"staging": "urtraining-staging", "production": "urtraining"}
RELEASE = "urtraining"
# Oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest the validator knows.
KUBE_VERSIONS = ("1.29.0", "1.37.0")
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def default_crd_dir() -> Path:
    # In CI the repository is a fresh clone with shared/ beside it.
    return Path(os.environ.get("URTRAINING_CRDS", ROOT.parent / "shared" / "crds"))


def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        sys.exit(f"k8s-check: {path} missing; run `make k8s-tools` first")
    return str(path)


def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


# ---------------------------------------------------------------------------- helm


def helm_template(
    values_files: list[Path], namespace: str, sets: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [tool("helm"), "template", RELEASE, str(CHART), "--namespace", namespace]
    for f in values_files:
        cmd += ["-f", str(f)]
    for s in sets or []:
        cmd += ["--set", s]
    return run(cmd)


def env_values(env: str) -> list[Path]:
    return [CHART / f"values-{env}.yaml"]


# libyaml's loader: the CRD files are ~4.6 MB, 20 s with the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(text, Loader=_LOADER) if d]


# ---------------------------------------------------------------------------- validation


def _strict(schema: Any) -> Any:
    """A copy of a CRD schema that rejects undeclared fields, as strict field validation does."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def load_crd_schemas(crd_dir: Path) -> dict[tuple[str, str], Any]:
    """(apiVersion, kind) -> a jsonschema validator for every served version of every CRD."""
    validators = {}
    files = sorted(crd_dir.glob("*.yaml"))
    if not files:
        sys.exit(f"k8s-check: no CRDs in {crd_dir}")
    for path in files:
        for crd in load_docs(path.read_text()):
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if not version.get("served", True):
                    continue
                schema = _strict(version["schema"]["openAPIV3Schema"])
                # The API server checks metadata itself; the CRD schema only says `object`.
                schema["properties"]["metadata"] = {"type": "object"}
                cls = jsonschema.validators.validator_for(schema, jsonschema.Draft7Validator)
                validators[(f"{group}/{version['name']}", kind)] = cls(schema)
    return validators


def describe(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind')}/{meta.get('name')}"


def validate_doc(doc: dict[str, Any], crds: dict[tuple[str, str], Any]) -> list[str]:
    errors = []
    meta = doc.get("metadata") or {}
    name = meta.get("name", "")
    if not DNS1123.match(name) or len(name) > 253:
        errors.append(f"metadata.name {name!r} is not a DNS-1123 name")
    key = (doc.get("apiVersion", ""), doc.get("kind", ""))
    if key in crds:
        for err in sorted(crds[key].iter_errors(doc), key=lambda e: list(e.absolute_path)):
            where = ".".join(str(p) for p in err.absolute_path) or "(root)"
            errors.append(f"{where}: {err.message}")
        return errors
    if "/" in key[0] and not key[0].split("/")[0].endswith(".k8s.io") and key[0].count(".") > 0:
        # A custom resource whose CRD we do not have: nothing to check it against.
        return [*errors, f"no CRD schema for {key[0]} {key[1]}"]
    for version in KUBE_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            where = ".".join(str(p) for p in err.path) or "(root)"
            errors.append(f"[k8s {version}] {where}: {err.message}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"[k8s {version}] no schema for {key[0]} {key[1]}")
    return errors


def validate_docs(
    docs: list[dict[str, Any]], crds: dict[tuple[str, str], Any], source: str
) -> list[str]:
    problems = []
    for doc in docs:
        for err in validate_doc(doc, crds):
            problems.append(f"{source}: {describe(doc)}: {err}")
    return problems


# ---------------------------------------------------------------------------- pods for checkov


def _skips(doc: dict[str, Any]) -> dict[str, str]:
    ann = (doc.get("metadata") or {}).get("annotations") or {}
    return {k: v for k, v in ann.items() if k.startswith("checkov.io/skip")}


def _pod(
    name: str, namespace: str, spec: dict[str, Any], skips: dict[str, str], labels: dict
) -> dict:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if skips:
        meta["annotations"] = skips
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


_POD_FIELDS = (
    "securityContext",
    "serviceAccountName",
    "automountServiceAccountToken",
    "nodeSelector",
    "tolerations",
    "affinity",
    "imagePullSecrets",
    "topologySpreadConstraints",
    "priorityClassName",
)


def _isvc_pods(isvc: dict[str, Any], runtimes: dict[str, dict[str, Any]]) -> list[dict]:
    """The predictor pods KServe makes: runtime container + the model's overrides (like KServe)."""
    pods = []
    ns = isvc["metadata"].get("namespace", "default")
    for component in ("predictor", "transformer"):
        comp = isvc["spec"].get(component)
        if not comp:
            continue
        spec: dict[str, Any] = {k: comp[k] for k in _POD_FIELDS if k in comp}
        volumes = list(comp.get("volumes", []))
        skips = _skips(isvc)
        if "model" in comp:
            model = comp["model"]
            runtime = runtimes.get(model.get("runtime", ""))
            if runtime is None:
                raise ValueError(f"{describe(isvc)}: runtime {model.get('runtime')!r} not rendered")
            containers = copy.deepcopy(runtime["spec"]["containers"])
            main = containers[0]
            main["args"] = main.get("args", []) + model.get("args", [])
            main["env"] = main.get("env", []) + model.get("env", [])
            for field in ("resources", "readinessProbe", "livenessProbe", "securityContext"):
                if field in model:
                    main[field] = model[field]
            volumes += runtime["spec"].get("volumes", [])
            skips = {**_skips(runtime), **skips}
        else:
            containers = copy.deepcopy(comp["containers"])
        spec["containers"] = containers
        if volumes:
            spec["volumes"] = volumes
        # The labels KServe puts on the pods, which the chart's NetworkPolicies select.
        labels = {
            **comp.get("labels", {}),
            "serving.kserve.io/inferenceservice": isvc["metadata"]["name"],
            "component": component,
        }
        pods.append(_pod(f"{isvc['metadata']['name']}-{component}", ns, spec, skips, labels))
    return pods


def _ray_pods(doc: dict[str, Any]) -> list[dict]:
    cluster = doc["spec"] if doc["kind"] == "RayCluster" else doc["spec"]["rayClusterSpec"]
    ns = doc["metadata"].get("namespace", "default")
    name = doc["metadata"]["name"]
    groups = [("head", cluster["headGroupSpec"])]
    groups += [(g["groupName"], g) for g in cluster.get("workerGroupSpecs", [])]
    pods = []
    for group, spec in groups:
        template = spec["template"]
        labels = {**(template.get("metadata") or {}).get("labels", {}), "ray.io/cluster": name}
        pods.append(_pod(f"{name}-{group}", ns, template["spec"], _skips(doc), labels))
    return pods


def pods_for_scan(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    runtimes = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "ServingRuntime"}
    pods = []
    for doc in docs:
        kind = doc.get("kind")
        if kind == "InferenceService":
            pods += _isvc_pods(doc, runtimes)
        elif kind in ("RayCluster", "RayJob"):
            pods += _ray_pods(doc)
    return pods


# ---------------------------------------------------------------------------- checkov


def checkov(files: list[Path]) -> tuple[list[str], list[str]]:
    """Run checkov offline on the files; returns (failures, explained skips)."""
    # Not --quiet: it would drop the skipped checks, whose reasons we check and print.
    cmd = [tool("checkov"), "--framework", "kubernetes", "--skip-download", "--compact"]
    cmd += ["--output", "json"]
    for f in files:
        cmd += ["--file", str(f)]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    proc = run(cmd, env=env)
    try:
        reports = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return [f"checkov did not produce a report (exit {proc.returncode}): {proc.stderr}"], []
    if isinstance(reports, dict):
        reports = [reports]
    failures, skipped = [], []
    for report in reports:
        if "results" not in report:  # an empty report: nothing checkov knew
            continue
        for check in report["results"].get("failed_checks", []):
            failures.append(
                f"{check['check_id']} {check['check_name']}: {check['resource']} "
                f"({Path(check['file_path']).name})"
            )
        for check in report["results"].get("skipped_checks", []):
            reason = (check.get("check_result") or {}).get("suppress_comment", "")
            if not reason.strip() or reason.strip() == "No comment provided":
                failures.append(
                    f"{check['check_id']} skipped without a reason: {check['resource']}"
                )
            skipped.append(f"{check['check_id']}: {reason}")
    # One line per accepted finding, however many pods it applies to.
    counts: dict[str, int] = {}
    for s in skipped:
        counts[s] = counts.get(s, 0) + 1
    return failures, [f"{s} [{n} pod(s)]" for s, n in sorted(counts.items())]


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "k8s")
    parser.add_argument("--crds", type=Path, default=default_crd_dir())
    parser.add_argument("--no-checkov", action="store_true", help="skip the security scan")
    args = parser.parse_args(argv)

    t0 = time.monotonic()
    problems: list[str] = []
    args.out.mkdir(parents=True, exist_ok=True)
    scan_dir = args.out / "scan"
    scan_dir.mkdir(exist_ok=True)
    crds = load_crd_schemas(args.crds)

    scan_files: list[Path] = []
    all_docs: dict[str, list[dict[str, Any]]] = {}
    for env, namespace in ENVIRONMENTS.items():
        values = env_values(env)
        lint = run(
            [tool("helm"), "lint", "--strict", str(CHART), "--namespace", namespace]
            + [a for f in values for a in ("-f", str(f))]
        )
        if lint.returncode != 0:
            problems.append(f"helm lint --strict ({env}):\n{lint.stdout}{lint.stderr}")
        rendered = helm_template(values, namespace)
        if rendered.returncode != 0:
            problems.append(f"helm template ({env}): {rendered.stderr.strip()}")
            continue
        out = args.out / f"{env}.yaml"
        out.write_text(rendered.stdout)
        docs = load_docs(rendered.stdout)
        all_docs[env] = docs
        problems += validate_docs(docs, crds, out.name)
        pods = pods_for_scan(docs)
        pods_file = scan_dir / f"{env}-pods.yaml"
        pods_file.write_text(yaml.safe_dump_all(pods, sort_keys=False))
        problems += validate_docs(pods, crds, pods_file.name)
        scan_files += [out, pods_file]
        kinds = sorted({d["kind"] for d in docs})
        print(f"k8s-check: {env}: {len(docs)} objects ({', '.join(kinds)}) -> {out}")

    for path in sorted((ROOT / "k8s").glob("*.yaml")):
        docs = load_docs(path.read_text())
        problems += validate_docs(docs, crds, f"k8s/{path.name}")
        pods = pods_for_scan(docs)
        pods_file = scan_dir / f"k8s-{path.stem}-pods.yaml"
        pods_file.write_text(yaml.safe_dump_all(pods, sort_keys=False))
        problems += validate_docs(pods, crds, pods_file.name)
        scan_files += [path, pods_file]
        print(f"k8s-check: k8s/{path.name}: {len(docs)} objects")

    print(f"k8s-check: lint, render and schema validation took {time.monotonic() - t0:.1f} s")
    if not args.no_checkov:
        t1 = time.monotonic()
        failures, skipped = checkov([f for f in scan_files if f.stat().st_size])
        problems += [f"checkov: {f}" for f in failures]
        for s in skipped:
            print(f"k8s-check: checkov skip {s}")
        print(f"k8s-check: checkov took {time.monotonic() - t1:.1f} s")

    if problems:
        print(f"k8s-check: FAILED, {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"k8s-check: OK in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
