"""``urtraining pipeline compile|run-local|submit``: the recommender-training KFP pipeline.

``compile`` writes the IR YAML (committed under pipelines/compiled/; ``--check`` fails when it
is stale), ``run-local`` runs the very same pipeline with KFP's local SubprocessRunner on
this machine, ``submit`` sends it to a Kubeflow Pipelines API with ``kfp.Client``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import typer
import yaml

from urtraining.errors import UsageError

app = typer.Typer(
    help="The recommender-training Kubeflow pipeline: compile, run locally, submit.",
    no_args_is_help=True,
)

DEFAULT_CONFIG = Path("configs/local.yaml")
ParamOpt = typer.Option(
    [], "--param", "-p", help="pipeline parameter name=value (value parsed as YAML)"
)
SetOpt = typer.Option([], "--set", help="run config override section.key=value")


def _settings(image: str | None, gpu_node_selector: str | None, gpu_toleration: str | None):
    from pipelines.recommender_training import ClusterSettings

    cs = ClusterSettings()
    changes: dict = {}
    if image:
        changes["image"] = image
    if gpu_node_selector:
        key, sep, value = gpu_node_selector.partition("=")
        if not sep or not key:
            raise UsageError(f"--gpu-node-selector {gpu_node_selector!r}: expected label=value")
        changes["gpu_node_selector"] = (key, value)
    if gpu_toleration:
        changes["gpu_toleration"] = gpu_toleration
    return ClusterSettings(**{**cs.__dict__, **changes})


@app.command("compile")
def compile_cmd(
    out: Path | None = typer.Option(None, "--out", help="default: pipelines/compiled/<name>.yaml"),
    image: str | None = typer.Option(None, help="default of the `image` parameter"),
    gpu_node_selector: str | None = typer.Option(None, help="label=value of GPU nodes"),
    gpu_toleration: str | None = typer.Option(None, help="taint key GPU nodes carry"),
    check: bool = typer.Option(False, "--check", help="fail if the file differs (stale)"),
) -> None:
    """Compile the pipeline to KFP IR YAML."""
    from pipelines.recommender_training import COMPILED, compile_pipeline

    target = out or COMPILED
    cs = _settings(image, gpu_node_selector, gpu_toleration)
    if check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = compile_pipeline(Path(tmp) / target.name, cs).read_text()
        if not target.is_file() or target.read_text() != fresh:
            raise UsageError(f"{target} is stale: run `urtraining pipeline compile`")
        typer.echo(f"{target}: up to date", err=True)
        return
    compile_pipeline(target, cs)
    typer.echo(str(target))


def parse_params(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {pair!r}: expected name=value")
        out[key.strip()] = yaml.safe_load(raw) if raw != "" else ""
    return out


def pipeline_arguments(config: Path | None, sets: list[str], params: list[str]) -> dict:
    """Pipeline arguments: the config file's text, ``--set`` overrides, and ``--param``s."""
    from pipelines.recommender_training import recommender_training

    known = set(recommender_training.component_spec.inputs or {})
    args = parse_params(params)
    unknown = sorted(set(args) - known)
    if unknown:
        raise UsageError(f"unknown pipeline parameter(s) {', '.join(unknown)}")
    if config is not None:
        if not config.is_file():
            raise UsageError(f"config file not found: {config}")
        from urtraining.config import load_config

        load_config(config, sets)  # fail here, with the field named, not inside a step
        args.setdefault("config_yaml", config.read_text())
    if sets:
        args["overrides"] = [*args.get("overrides", []), *sets]
    return args


@app.command("run-local")
def run_local(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="run config (default: configs/local.yaml if present)"
    ),
    sets: list[str] = SetOpt,
    params: list[str] = ParamOpt,
    root: Path = typer.Option(Path("runs/pipeline"), help="pipeline root for artifacts"),
    registry: str | None = typer.Option(
        None, help="registry folder or s3:// URI (default: <root>/registry)"
    ),
    cache: bool = typer.Option(False, help="reuse results of unchanged tasks (local cache)"),
) -> None:
    """Run the pipeline on this machine with KFP's local SubprocessRunner."""
    if config is None and DEFAULT_CONFIG.is_file():
        config = DEFAULT_CONFIG
    args = pipeline_arguments(config, sets, params)
    args.setdefault("registry_uri", str((root / "registry").resolve()))
    if registry:
        args["registry_uri"] = registry
    args.setdefault("deploy_target", "none")  # no cluster here unless asked for
    summary = run_local_pipeline(args, root, cache=cache)
    print(json.dumps(summary, indent=2))


def run_local_pipeline(args: dict, root: Path, cache: bool = False) -> dict:
    """Run the pipeline locally; returns where its artifacts are and what the gate decided."""
    import kfp.local

    from pipelines.recommender_training import NAME, recommender_training

    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in root.glob(f"{NAME}-*")}
    # use_venv=False: the steps run with this interpreter, which has urtraining installed
    kfp.local.init(
        runner=kfp.local.SubprocessRunner(use_venv=False),
        pipeline_root=str(root),
        enable_caching=cache,
        cache_root=str(root / ".cache"),
    )
    recommender_training(**args)
    runs = sorted(
        (p for p in root.glob(f"{NAME}-*") if p.name not in before),
        key=lambda p: p.stat().st_mtime,
    )
    if not runs:
        raise UsageError(f"the local runner left no run folder under {root}")
    return summarize(runs[-1])


def summarize(run_root: Path) -> dict:
    """Paths of the run's main artifacts (missing ones are left out)."""
    wanted = {
        "config": "configure/config",
        "model": "train/model",
        "metrics": "evaluate/metrics_json",
        "report": "evaluate/report",
        "index": "index/index",
    }
    out: dict = {"pipeline_root": str(run_root)}
    out.update({k: str(run_root / v) for k, v in wanted.items() if (run_root / v).exists()})
    index_json = run_root / "index" / "index" / "index.json"
    if index_json.is_file():
        out["index_info"] = json.loads(index_json.read_text())
    return out


@app.command()
def submit(
    host: str = typer.Option(..., "--host", help="KFP API URL, e.g. https://kubeflow.example"),
    experiment: str = typer.Option("urtraining", "--experiment"),
    run_name: str | None = typer.Option(None, "--run-name"),
    namespace: str | None = typer.Option(None, "--namespace", help="Kubeflow profile namespace"),
    package: Path | None = typer.Option(
        None, "--package", help="compiled YAML (default: compile now)"
    ),
    config: Path | None = typer.Option(None, "--config", "-c", help="run config file"),
    sets: list[str] = SetOpt,
    params: list[str] = ParamOpt,
    service_account: str | None = typer.Option(None, "--service-account"),
    cache: bool | None = typer.Option(
        None, "--cache/--no-cache", help="override every step's caching setting for this run"
    ),
) -> None:
    """Submit a run to Kubeflow Pipelines (token from KFP_TOKEN, or the client's own auth)."""
    args = pipeline_arguments(config, sets, params)
    with tempfile.TemporaryDirectory() as tmp:
        if package is None:
            from pipelines.recommender_training import compile_pipeline

            package = compile_pipeline(Path(tmp) / "pipeline.yaml")
        elif not package.is_file():
            raise UsageError(f"--package {package}: file not found")
        result = submit_run(host, package, args, experiment, run_name, namespace, service_account)
    print(json.dumps(result, indent=2))


def submit_run(
    host: str,
    package: Path,
    args: dict,
    experiment: str,
    run_name: str | None = None,
    namespace: str | None = None,
    service_account: str | None = None,
    enable_caching: bool | None = None,
    client=None,
) -> dict:
    if client is None:
        import kfp

        # a bearer token from the environment (never from the command line: it would land in
        # shell history); without it kfp.Client falls back to its own in-cluster/Dex auth.
        client = kfp.Client(
            host=host,
            existing_token=os.environ.get("KFP_TOKEN") or None,
            **({"namespace": namespace} if namespace else {}),
        )
    run = client.create_run_from_pipeline_package(
        str(package),
        arguments=args,
        run_name=run_name,
        experiment_name=experiment,
        namespace=namespace,
        service_account=service_account,
        enable_caching=enable_caching,
    )
    return {"run_id": getattr(run, "run_id", None), "host": host, "experiment": experiment}


def main() -> None:  # pragma: no cover - `python -m urtraining.pipeline_cli`
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
