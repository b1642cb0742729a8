"""KFP v2 components of the recommender's training: one per stage, all from one image.

Each component is a Lightweight Python Component whose body only names its artifacts and
calls :mod:`components.glue`, which calls the same ``urtraining`` stage function as the CLI.
KFP embeds each body's source in the pipeline IR, so every import lives inside the body,
and the image already carries ``urtraining``, ``components`` and ``kfp`` (hence
``install_kfp_package=False``: nothing is pip-installed when a step starts, and the local
runner runs the bodies with the current interpreter).

The image named here is the default; the pipeline sets every task's image from its ``image``
parameter, so a new tag needs no recompile.
"""

# no `from __future__ import annotations`: KFP reads the real annotation objects

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Model, Output

DEFAULT_IMAGE = "ghcr.io/urtraining/components:0.1.0"

component = dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)


@component
def configure(
    config_yaml: str,
    overrides: list,
    n_users: int,
    n_courses: int,
    seed: int,
    synth_backend: str,
    synth_roster: str,
    teacher_backend: str,
    teacher_roster: str,
    base_model: str,
    loss: str,
    epochs: float,
    batch_size: int,
    train_gpus: int,
    ray_mode: str,
    ray_workers: int,
    ray_gpus_per_worker: int,
    ray_cluster: str,
    ray_namespace: str,
    ray_staging_uri: str,
    ray_template: str,
    ray_cleanup: str,
    image: str,
    s3_secret: str,
    llm_secret: str,
    milvus_uri: str,
    milvus_collection: str,
    config: Output[Artifact],
) -> NamedTuple("Outputs", ray=dict):
    """Resolve the run config (base YAML + parameters) and the Ray options of the steps."""
    params = dict(locals())  # first: only the parameters
    from collections import namedtuple

    from components.glue import configure as resolve

    resolve(config_yaml, params, config.path)
    ray = {
        "mode": ray_mode,
        "image": image,
        "namespace": ray_namespace,
        "cluster": ray_cluster,
        "workers": ray_workers,
        "gpus_per_worker": ray_gpus_per_worker,
        "staging_uri": ray_staging_uri,
        "template": ray_template,
        "cleanup": ray_cleanup,
        "secrets": [s3_secret, llm_secret],
    }
    return namedtuple("Outputs", ["ray"])(ray)


@component
def generate_users(config: Input[Artifact], ray: dict, users: Output[Dataset]):
    """User registration forms (profiles only: histories need the courses)."""
    from components.glue import run_step

    run_step("users", config.path, outputs={users.path: "users.jsonl"}, ray=ray)


@component
def generate_courses(config: Input[Artifact], ray: dict, courses: Output[Dataset]):
    """Courses, each with its coach's metadata form."""
    from components.glue import run_step

    run_step("courses", config.path, outputs={courses.path: "courses.jsonl"}, ray=ray)


@component
def rank(
    config: Input[Artifact],
    ray: dict,
    users: Input[Dataset],
    courses: Input[Dataset],
    metadata: Output[Dataset],
    rankings: Output[Dataset],
    diversity: Output[Artifact],
):
    """Interaction histories, then the teacher's ranking of every course for every user."""
    from components.glue import run_step

    run_step(
        "rank",
        config.path,
        inputs={"users.jsonl": users.path, "courses.jsonl": courses.path},
        outputs={
            metadata.path: "metadata.jsonl",
            rankings.path: "rankings.jsonl",
            diversity.path: "diversity.json",
        },
        ray=ray,
    )


@component
def assemble(
    config: Input[Artifact],
    users: Input[Dataset],
    metadata: Input[Dataset],
    courses: Input[Dataset],
    rankings: Input[Dataset],
    dataset: Output[Dataset],
):
    """Splits by user, rendered texts, training examples with hard negatives."""
    from components.glue import run_step

    run_step(
        "assemble",
        config.path,
        inputs={
            "users.jsonl": users.path,
            "metadata.jsonl": metadata.path,
            "courses.jsonl": courses.path,
            "rankings.jsonl": rankings.path,
        },
        outputs={dataset.path: "dataset"},
    )


@component
def train(config: Input[Artifact], ray: dict, dataset: Input[Dataset], model: Output[Model]):
    """Fine-tune the bi-encoder (in-process, Ray local, or a RayJob on the cluster)."""
    from components.glue import run_step

    run_step(
        "train",
        config.path,
        inputs={"dataset": dataset.path},
        outputs={model.path: "model"},
        ray=ray,
    )
    model.metadata["framework"] = "sentence-transformers"


@component
def evaluate(
    config: Input[Artifact],
    model: Input[Model],
    dataset: Input[Dataset],
    users: Input[Dataset],
    metadata: Input[Dataset],
    courses: Input[Dataset],
    rankings: Input[Dataset],
    metrics_json: Output[Artifact],
    metrics: Output[Metrics],
    report: Output[Markdown],
):
    """Test-split NDCG/Recall/MRR of BM25, the base and the fine-tuned model."""
    from components.glue import metric_scalars, run_step

    run_step(
        "evaluate",
        config.path,
        inputs={
            "model": model.path,
            "dataset": dataset.path,
            "users.jsonl": users.path,
            "metadata.jsonl": metadata.path,
            "courses.jsonl": courses.path,
            "rankings.jsonl": rankings.path,
        },
        outputs={metrics_json.path: "metrics.json", report.path: "metrics.md"},
    )
    for name, value in metric_scalars(metrics_json.path).items():
        metrics.log_metric(name, value)


@component
def gate(metrics_json: Input[Artifact], registry_uri: str, min_improvement: float) -> str:
    """ "promote" when the candidate beats the registry's champion, else "keep" (the reason is
    in the step's log). One plain output: what ``dsl.If`` compares, also in the local runner."""
    from components.glue import gate as decide

    return decide(metrics_json.path, registry_uri, min_improvement)[0]


@component
def publish(
    config: Input[Artifact],
    registry_uri: str,
    model: Input[Model],
    metrics_json: Input[Artifact],
    users: Input[Dataset],
    metadata: Input[Dataset],
    courses: Input[Dataset],
    rankings: Input[Dataset],
    dataset: Input[Dataset],
) -> str:
    """Upload the model with metrics, config and data hashes as a new registry version."""
    from components.glue import publish as upload

    return upload(
        registry_uri,
        config.path,
        {
            "model": model.path,
            "metrics.json": metrics_json.path,
            "users.jsonl": users.path,
            "metadata.jsonl": metadata.path,
            "courses.jsonl": courses.path,
            "rankings.jsonl": rankings.path,
            "dataset": dataset.path,
        },
    )


@component
def promote(registry_uri: str, version: str) -> str:
    """Move the registry's champion pointer to the new version."""
    from components.glue import promote as move

    return move(registry_uri, version)


@component
def index(
    config: Input[Artifact],
    model: Input[Model],
    courses: Input[Dataset],
    index: Output[Artifact],
):
    """Course vectors into a new Milvus collection, then the alias switch."""
    from components.glue import run_step

    run_step(
        "index",
        config.path,
        inputs={"model": model.path, "courses.jsonl": courses.path},
        # index.json always; the Milvus Lite file too when the index is a local file
        outputs={index.path: ["index.json", "milvus.db"]},
    )


@component
def deploy(
    registry_uri: str, version: str, deploy_target: str, isvc_name: str, namespace: str
) -> str:
    """Point the recommender InferenceService's storageUri at the new version."""
    from components.glue import deploy as point

    return point(registry_uri, version, deploy_target, isvc_name, namespace)
