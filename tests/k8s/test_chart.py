"""Assertions on what the Helm chart renders, through a real Helm, validated like an API server."""

from __future__ import annotations

import copy

import pytest
import yaml

ENVS = ["staging", "production"]
ISVCS = ["recommender", "tracker", "tracker-vlm"]
# Features off in both environments' files, switched on to check they render valid objects.
ALL_FEATURES = (
    "ray.cluster.enabled=true",
    "ray.job.enabled=true",
    "kserve.autoscaler=keda",
    "recommender.autoscaling.kedaQuery=sum(rate(revision_request_count[1m]))",
    "tracker.autoscaling.kedaQuery=sum(rate(revision_request_count[1m]))",
    "tracker.vlm.autoscaling.kedaQuery=sum(vllm:num_requests_waiting)",
    "milvus.tokenSecret.name=milvus-token",
    "image.digest=sha256:" + "a" * 64,
)


def _pod_specs(checker, docs):
    return [p["spec"] for p in checker.pods_for_scan(docs)]


# ------------------------------------------------------------------ validity


@pytest.mark.parametrize("env", ENVS)
def test_every_object_validates_against_its_schema(env, render, checker, crds):
    docs = render(env)
    assert {d["kind"] for d in docs} >= {"InferenceService", "ServingRuntime", "NetworkPolicy"}
    assert checker.validate_docs(docs, crds, env) == []


def test_all_optional_features_render_valid_objects(render, checker, crds):
    docs = render("staging", *ALL_FEATURES)
    assert docs.of("RayJob") and docs.of("RayCluster")
    assert checker.validate_docs(docs, crds, "all-features") == []


def test_ocr_backend_deploys_no_vlm(render, checker, crds):
    docs = render("production", "tracker.backend=ocr")
    names = [d["metadata"]["name"] for d in docs.of("InferenceService")]
    assert names == ["recommender", "tracker"]
    args = docs.get("InferenceService", "tracker")["spec"]["predictor"]["containers"][0]["args"]
    assert "--backend=ocr" in args and not any(a.startswith("--vlm") for a in args)
    assert not docs.of("ServingRuntime") or all("vllm" not in d["metadata"]["name"] for d in docs)
    assert checker.validate_docs(docs, crds, "ocr") == []


def test_plain_manifests_validate(checker, crds):
    for path in sorted((checker.ROOT / "k8s").glob("*.yaml")):
        docs = checker.load_docs(path.read_text())
        assert docs, path
        assert checker.validate_docs(docs, crds, path.name) == []


def test_validation_is_strict_like_the_api_server(render, checker, crds):
    isvc = copy.deepcopy(render("production").get("InferenceService", "recommender"))
    isvc["spec"]["predictor"]["minReplica"] = 1  # a typo the API server would reject
    isvc["spec"]["predictor"]["scaleMetric"] = "latency"  # not in the CRD's enum
    errors = checker.validate_doc(isvc, crds)
    assert any("minReplica" in e for e in errors), errors
    assert any("latency" in e for e in errors), errors
    pdb = copy.deepcopy(render("production").get("PodDisruptionBudget", "recommender"))
    pdb["spec"]["maxUnavaliable"] = 1
    assert checker.validate_doc(pdb, crds)


# ------------------------------------------------------------------ environments


def test_production_never_scales_to_zero_and_has_pdbs(render):
    docs = render("production")
    isvcs = docs.of("InferenceService")
    assert sorted(d["metadata"]["name"] for d in isvcs) == sorted(ISVCS)
    for isvc in isvcs:
        assert isvc["spec"]["predictor"]["minReplicas"] >= 1
    pdbs = {
        d["spec"]["selector"]["matchLabels"]["serving.kserve.io/inferenceservice"]
        for d in docs.of("PodDisruptionBudget")
    }
    assert pdbs == set(ISVCS)


def test_staging_scales_to_zero_with_knative(render):
    docs = render("staging")
    assert not docs.of("PodDisruptionBudget")
    for isvc in docs.of("InferenceService"):
        assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Serverless"
        assert isvc["spec"]["predictor"]["minReplicas"] == 0
        assert isvc["spec"]["predictor"]["scaleMetric"] == "concurrency"


def test_production_autoscaling_is_raw_deployment(render):
    docs = render("production")
    rec = docs.get("InferenceService", "recommender")
    assert rec["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "hpa"
    assert rec["spec"]["predictor"]["scaleMetric"] == "cpu"
    vlm = docs.get("InferenceService", "tracker-vlm")
    assert vlm["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    (metric,) = vlm["spec"]["predictor"]["autoScaling"]["metrics"]
    assert "vllm:num_requests_waiting" in metric["external"]["metric"]["query"]


def test_environments_differ_only_through_values_files(checker):
    """Templates never branch on the environment name; only validate.yaml reads it."""
    for tpl in (checker.CHART / "templates").iterdir():
        if tpl.name not in ("validate.yaml", "_helpers.tpl", "NOTES.txt"):
            assert ".Values.environment" not in tpl.read_text(), tpl.name


# ------------------------------------------------------------------ wiring


def test_recommender_runs_the_champion_from_s3(render):
    docs = render("production")
    rec = docs.get("InferenceService", "recommender")["spec"]["predictor"]
    assert rec["model"]["storageUri"].startswith("s3://")
    runtime = docs.get("ServingRuntime", rec["model"]["runtime"])
    args = runtime["spec"]["containers"][0]["args"] + rec["model"]["args"]
    assert args[:2] == ["serve", "recommender"] and "/mnt/models" in args
    assert any(a.startswith("--milvus-uri=") for a in args)
    assert rec["model"]["readinessProbe"]["httpGet"]["path"] == "/v2/models/recommender/ready"


def test_tracker_calls_the_vlm_service(render):
    docs = render("staging")
    args = docs.get("InferenceService", "tracker")["spec"]["predictor"]["containers"][0]["args"]
    url = "http://tracker-vlm-predictor.urtraining-staging.svc.cluster.local/v1"
    assert f"--vlm-base-url={url}" in args
    vlm = docs.get("InferenceService", "tracker-vlm")["spec"]["predictor"]
    assert vlm["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    runtime = docs.get("ServingRuntime", vlm["model"]["runtime"])["spec"]["containers"][0]
    served = [a for a in runtime["args"] if a.startswith("--served-model-name=")][0]
    assert f"--vlm-model={served.split('=', 1)[1]}" in args


def test_s3_secret_is_referenced_not_inlined(render):
    for env in ENVS:
        docs = render(env)
        assert not docs.of("Secret"), "the chart must not carry any Secret"
        text = yaml.safe_dump_all(list(docs))
        assert "AWS_SECRET_ACCESS_KEY" not in text and "AWS_ACCESS_KEY_ID" not in text
        (sa,) = docs.of("ServiceAccount")
        for key in ("s3-endpoint", "s3-usehttps", "s3-region"):
            assert f"serving.kserve.io/{key}" in sa["metadata"]["annotations"]
        for name in ("recommender", "tracker-vlm"):
            isvc = docs.get("InferenceService", name)
            assert isvc["spec"]["predictor"]["serviceAccountName"] == sa["metadata"]["name"]
    assert render("staging").of("ServiceAccount")[0]["secrets"] == [{"name": "urtraining-s3"}]
    # Production uses IRSA: an IAM role on the account, no key Secret at all.
    prod_sa = render("production").of("ServiceAccount")[0]
    assert "secrets" not in prod_sa
    assert "eks.amazonaws.com/role-arn" in prod_sa["metadata"]["annotations"]


def test_milvus_token_comes_from_a_secret(render):
    rec = render("production").get("InferenceService", "recommender")["spec"]["predictor"]
    (env,) = rec["model"]["env"]
    assert env["name"] == "MILVUS_TOKEN" and "secretKeyRef" in env["valueFrom"]


# ------------------------------------------------------------------ security


@pytest.mark.parametrize("env", ENVS)
def test_every_container_is_locked_down(env, render, checker):
    specs = _pod_specs(checker, render(env, "ray.cluster.enabled=true"))
    assert len(specs) >= 5
    for spec in specs:
        assert spec["securityContext"]["runAsNonRoot"] is True
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"], c["name"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert c["resources"]["limits"], c["name"]
            assert c["image"].split(":")[-1] != "latest"


def test_network_policies_cover_every_predictor(render):
    docs = render("production")
    policies = docs.of("NetworkPolicy")

    def selected(name, policy_type):
        for p in policies:
            sel = p["spec"]["podSelector"]
            hit = sel.get("matchLabels", {}).get("serving.kserve.io/inferenceservice") == name
            hit |= any(name in e["values"] for e in sel.get("matchExpressions", []))
            if hit and policy_type in p["spec"]["policyTypes"]:
                yield p

    for name in ISVCS:
        assert list(selected(name, "Ingress")), f"nothing limits who reaches {name}"
        assert list(selected(name, "Egress")), f"nothing limits what {name} reaches"
    (ingress,) = selected("recommender", "Ingress")
    allowed = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in ingress["spec"]["ingress"]
        for peer in rule["from"]
    }
    assert allowed == {"urtraining-app", "istio-system", "knative-serving", "monitoring"}
    (egress,) = selected("recommender", "Egress")
    ports = {p["port"] for rule in egress["spec"]["egress"] for p in rule["ports"]}
    assert ports == {53, 19530, 443}  # DNS, Milvus, S3 and nothing else


# ------------------------------------------------------------------ bad values


@pytest.mark.parametrize(
    ("env", "sets", "message"),
    [
        (
            "production",
            ["recommender.autoscaling.minReplicas=0"],
            "/recommender/autoscaling/minReplicas",
        ),
        ("production", ["image.tag=latest"], "/image/tag"),
        ("production", ["podDisruptionBudget.enabled=false"], "/podDisruptionBudget/enabled"),
        ("staging", ["milvus.uri=milvus:19530"], "/milvus/uri"),
        ("staging", ["kserve.autoscaler=kpa"], "/kserve/autoscaler"),
        ("staging", ["recommender.storageUri=/models/champion"], "/recommender/storageUri"),
        ("staging", ["image.digest=sha256:abc"], "/image/digest"),
        # Rules across values, from templates/validate.yaml:
        ("staging", ["kserve.autoscaler=hpa"], "the hpa autoscaler cannot scale to zero"),
        (
            "production",
            ["recommender.autoscaling.metric=concurrency"],
            'recommender.autoscaling.metric "concurrency" does not work with the hpa autoscaler',
        ),
        ("staging", ["tracker.vlm.enabled=false"], "tracker.backend is vlm but no VLM"),
        ("staging", ["recommender.autoscaling.minReplicas=5"], "is above maxReplicas"),
    ],
)
def test_bad_values_are_rejected_with_a_clear_message(env, sets, message, render_error):
    assert message in render_error(env, *sets)


def test_a_bad_values_file_is_rejected(tmp_path, render_error):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                # a typo'd key and a secret pasted into values: neither is accepted
                "recomender": {"name": "x"},
                "s3": {"secretAccessKey": "hunter2"},
            }
        )
    )
    err = render_error("staging", values_file=bad)
    assert "additional properties 'recomender' not allowed" in err
    assert "additional properties 'secretAccessKey' not allowed" in err


# ------------------------------------------------------------------ security scan


def test_checkov_fails_an_insecure_override_and_reads_skip_reasons(render, checker, tmp_path):
    if not (checker.TOOLS / "checkov").exists():
        pytest.skip("checkov is not installed: run `make k8s-tools`")
    docs = render("production", "containerSecurityContext.allowPrivilegeEscalation=true")
    pods = tmp_path / "pods.yaml"
    pods.write_text(yaml.safe_dump_all(checker.pods_for_scan(docs)))
    failures, skipped = checker.checkov([pods])
    assert any(f.startswith("CKV_K8S_20 ") for f in failures), failures  # privilege escalation
    assert any(s.startswith("CKV_K8S_40: uid 1000") for s in skipped), skipped
