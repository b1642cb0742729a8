"""The ``recommender-training`` pipeline: generate, rank, assemble, train, evaluate, gate, ship.

Users and courses are generated in parallel; ranking, assembly, training and evaluation
follow; a ``dsl.If`` gate lets publish -> promote -> index -> deploy run only when the
candidate beats the registry's champion. Kubernetes specifics (Secrets as env, GPU nodes,
shared memory, caching) are set here with ``kfp-kubernetes``; the local runner ignores them.

Parameter conventions: ``0``/``""`` keep the base config's value (``-1`` where ``0`` means
something, e.g. ``ray_workers=0`` is in-process training). See docs/pipelines.md.
"""

# no `from __future__ import annotations`: KFP reads the real annotation objects

from dataclasses import dataclass
from pathlib import Path

from kfp import compiler, dsl
from kfp import kubernetes as k8s

from components import stages
from components.stages import DEFAULT_IMAGE

NAME = "recommender-training"
COMPILED = Path(__file__).resolve().parent / "compiled" / f"{NAME}.yaml"


@dataclass(frozen=True)
class ClusterSettings:
    """Compile-time Kubernetes settings (KFP fixes these in the IR, not per run)."""

    image: str = DEFAULT_IMAGE
    gpu_node_selector: tuple[str, str] = ("nvidia.com/gpu.present", "true")
    gpu_toleration: str = "nvidia.com/gpu"
    accelerator: str = "nvidia.com/gpu"
    shm_size: str = "2Gi"
    scratch_size: str = "20Gi"


def _gpu_step(task: dsl.PipelineTask, gpus, cs: ClusterSettings) -> dsl.PipelineTask:
    """GPU nodes, accelerator limit, and a memory-backed /dev/shm for PyTorch's workers."""
    task.set_accelerator_type(cs.accelerator).set_accelerator_limit(gpus)
    k8s.add_node_selector(task, *cs.gpu_node_selector)
    k8s.add_toleration(task, key=cs.gpu_toleration, operator="Exists", effect="NoSchedule")
    k8s.empty_dir_mount(
        task, volume_name="dshm", mount_path="/dev/shm", medium="Memory", size_limit=cs.shm_size
    )
    return task


def _scratch(task: dsl.PipelineTask, cs: ClusterSettings) -> dsl.PipelineTask:
    # run folders are laid out under /tmp: give it a volume sized for models and datasets
    k8s.empty_dir_mount(task, volume_name="scratch", mount_path="/tmp", size_limit=cs.scratch_size)
    return task


def _s3_env(task: dsl.PipelineTask, s3_secret, s3_config) -> dsl.PipelineTask:
    # optional: with IRSA / workload identity there is no key pair to mount
    k8s.use_secret_as_env(
        task,
        secret_name=s3_secret,
        secret_key_to_env={
            "AWS_ACCESS_KEY_ID": "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY",
        },
        optional=True,
    )
    k8s.use_config_map_as_env(
        task,
        config_map_name=s3_config,
        config_map_key_to_env={
            "AWS_ENDPOINT_URL": "AWS_ENDPOINT_URL",
            "AWS_DEFAULT_REGION": "AWS_DEFAULT_REGION",
        },
        optional=True,
    )
    return task


def _llm_env(task: dsl.PipelineTask, llm_secret) -> dsl.PipelineTask:
    # the roster's api_key_env (default OPENAI_API_KEY); procedural/rules runs need none
    k8s.use_secret_as_env(
        task,
        secret_name=llm_secret,
        secret_key_to_env={"OPENAI_API_KEY": "OPENAI_API_KEY"},
        optional=True,
    )
    return task


def build_pipeline(cs: ClusterSettings = ClusterSettings()):
    """The pipeline function for these cluster settings (the image is also a parameter)."""

    @dsl.pipeline(
        name=NAME,
        description="Synthetic users and courses -> teacher rankings -> bi-encoder training "
        "-> evaluation -> (if it beats the champion) registry, Milvus index, KServe.",
    )
    def recommender_training(
        config_yaml: str = "",
        overrides: list = [],  # noqa: B006 - KFP reads the default from the signature
        n_users: int = 0,
        n_courses: int = 0,
        seed: int = -1,
        synth_backend: str = "",
        synth_roster: str = "",
        teacher_backend: str = "",
        teacher_roster: str = "",
        base_model: str = "",
        loss: str = "",
        epochs: float = 0.0,
        batch_size: int = 0,
        gen_gpus: int = 0,
        train_gpus: int = 0,
        ray_mode: str = "local",
        ray_workers: int = -1,
        ray_gpus_per_worker: int = 0,
        ray_cluster: str = "",
        ray_namespace: str = "",
        ray_staging_uri: str = "",
        ray_template: str = "",
        ray_cleanup: str = "always",
        registry_uri: str = "s3://urtraining-models/registry",
        min_improvement: float = 0.0,
        milvus_uri: str = "",
        milvus_collection: str = "",
        deploy_target: str = "kserve",
        isvc_name: str = "recommender",
        namespace: str = "",
        image: str = cs.image,
        s3_secret: str = "urtraining-s3",
        s3_config: str = "urtraining-s3",
        llm_secret: str = "urtraining-llm",
        milvus_secret: str = "urtraining-milvus",
    ):
        def step(task: dsl.PipelineTask, name: str, cache: bool) -> dsl.PipelineTask:
            task.set_display_name(name).set_caching_options(cache)
            task.set_container_image(image)
            return _scratch(task, cs)

        cfg = step(
            stages.configure(
                config_yaml=config_yaml,
                overrides=overrides,
                n_users=n_users,
                n_courses=n_courses,
                seed=seed,
                synth_backend=synth_backend,
                synth_roster=synth_roster,
                teacher_backend=teacher_backend,
                teacher_roster=teacher_roster,
                base_model=base_model,
                loss=loss,
                epochs=epochs,
                batch_size=batch_size,
                train_gpus=train_gpus,
                ray_mode=ray_mode,
                ray_workers=ray_workers,
                ray_gpus_per_worker=ray_gpus_per_worker,
                ray_cluster=ray_cluster,
                ray_namespace=ray_namespace,
                ray_staging_uri=ray_staging_uri,
                ray_template=ray_template,
                ray_cleanup=ray_cleanup,
                image=image,
                s3_secret=s3_secret,
                llm_secret=llm_secret,
                milvus_uri=milvus_uri,
                milvus_collection=milvus_collection,
            ),
            "configure",
            cache=True,
        )
        config, ray = cfg.outputs["config"], cfg.outputs["ray"]

        # Generation and ranking are cached: same config and seed, same data (LLM calls cost).
        users = step(stages.generate_users(config=config, ray=ray), "generate users", True)
        courses = step(stages.generate_courses(config=config, ray=ray), "generate courses", True)
        ranked = step(
            stages.rank(
                config=config,
                ray=ray,
                users=users.outputs["users"],
                courses=courses.outputs["courses"],
            ),
            "rank (teacher)",
            True,
        )
        for task in (users, courses, ranked):
            _gpu_step(task, gen_gpus, cs)
            _llm_env(task, llm_secret)
            _s3_env(task, s3_secret, s3_config)  # RayJob staging

        data = {
            "users": users.outputs["users"],
            "metadata": ranked.outputs["metadata"],
            "courses": courses.outputs["courses"],
            "rankings": ranked.outputs["rankings"],
        }
        assembled = step(stages.assemble(config=config, **data), "assemble dataset", True)
        dataset = assembled.outputs["dataset"]

        trained = step(stages.train(config=config, ray=ray, dataset=dataset), "train", True)
        _gpu_step(trained, train_gpus, cs)
        _s3_env(trained, s3_secret, s3_config)
        model = trained.outputs["model"]

        evaluated = step(
            stages.evaluate(config=config, model=model, dataset=dataset, **data), "evaluate", True
        )
        metrics_json = evaluated.outputs["metrics_json"]

        # The champion moves between runs: the gate and everything after it never cache.
        decided = step(
            stages.gate(
                metrics_json=metrics_json,
                registry_uri=registry_uri,
                min_improvement=min_improvement,
            ),
            "gate: beats champion?",
            False,
        )
        _s3_env(decided, s3_secret, s3_config)

        with dsl.If(decided.output == "promote", name="candidate-beats-champion"):
            published = step(
                stages.publish(
                    config=config,
                    registry_uri=registry_uri,
                    model=model,
                    metrics_json=metrics_json,
                    dataset=dataset,
                    **data,
                ),
                "publish (registry)",
                False,
            )
            promoted = step(
                stages.promote(registry_uri=registry_uri, version=published.output),
                "promote",
                False,
            )
            indexed = step(
                stages.index(config=config, model=model, courses=data["courses"]),
                "index (Milvus)",
                False,
            ).after(promoted)
            k8s.use_secret_as_env(
                indexed,
                secret_name=milvus_secret,
                secret_key_to_env={"token": "MILVUS_TOKEN"},
                optional=True,
            )
            deployed = step(
                stages.deploy(
                    registry_uri=registry_uri,
                    version=promoted.output,
                    deploy_target=deploy_target,
                    isvc_name=isvc_name,
                    namespace=namespace,
                ),
                "deploy (KServe)",
                False,
            ).after(indexed)
            for task in (published, promoted, deployed):
                _s3_env(task, s3_secret, s3_config)

    return recommender_training


recommender_training = build_pipeline()


def compile_pipeline(path: str | Path = COMPILED, cs: ClusterSettings = ClusterSettings()) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(build_pipeline(cs), str(path))
    return path
