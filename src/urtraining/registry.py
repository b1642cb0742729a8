"""Model registry on an artifact store (a local folder or ``s3://bucket/prefix``).

Layout under the store root::

    models/recommender/
      v0001/                  one published version (visible once its MANIFEST.json exists)
        model/                the sentence-transformers folder, as trained
        metrics.json          the run's test metrics (DESIGN.md §4)
        config.yaml           the resolved run config
        data_hashes.json      SHA-256 of the data the model was trained and evaluated on
        code_version.json     package version, git commit, library versions
        run_manifest.json     the run's own manifest.json, when it has one
        MANIFEST.json         files + digests; written last (the commit record)
      champion.json           the pointer serving follows: {"version", "ndcg@10", "history", ...}
      promotions/             one JSON record per pointer move (an audit log)
      .claims/v0001           version numbers taken (even by publishes that died halfway)

A candidate becomes champion only if its test NDCG@10 is at least the champion's; ``force``
overrides that for humans and is logged.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from urtraining.errors import UsageError
from urtraining.io import file_sha256, tree_sha256, write_json
from urtraining.store import AlreadyExists, ArtifactStore, NotFound, join, tree_files

log = logging.getLogger(__name__)

METRIC = "ndcg@10"
VERSION_RE = re.compile(r"^v(\d{4,})$")
#: run files whose hashes identify the data a model saw (DESIGN.md §4)
DATA_FILES = ("users.jsonl", "metadata.jsonl", "courses.jsonl", "rankings.jsonl", "dataset")


@dataclass
class PromotionResult:
    promoted: bool
    action: str  # "promote" | "rollback"
    candidate: str
    champion_before: str | None
    candidate_score: float | None
    champion_score: float | None
    forced: bool = False
    reason: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def test_score(metrics: dict, model: str = "finetuned") -> float:
    """The promotion metric: test NDCG@10 of the fine-tuned model in a metrics.json."""
    try:
        return float(metrics["models"][model][METRIC])
    except (KeyError, TypeError, ValueError):
        raise UsageError(f"metrics.json has no models.{model}.{METRIC}") from None


def code_version() -> dict:
    """What produced a model: package and library versions, and the git commit if any."""
    import platform
    import subprocess
    from importlib import metadata

    def version_of(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    info: dict = {
        "urtraining": version_of("urtraining"),
        "python": platform.python_version(),
        **{d: version_of(d) for d in ("torch", "sentence-transformers", "transformers", "ray")},
    }
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=here,
                capture_output=True,
                text=True,
                timeout=10,
            )
            info["git_dirty"] = bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass  # an installed package has no git: the versions above still identify it
    return info


def data_hashes(run_dir: Path) -> dict[str, str]:
    return {
        name: (
            tree_sha256(run_dir / name)
            if (run_dir / name).is_dir()
            else file_sha256(run_dir / name)
        )
        for name in DATA_FILES
        if (run_dir / name).exists()
    }


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ModelRegistry:
    def __init__(self, store: ArtifactStore, model_name: str = "recommender"):
        self.store = store
        self.name = model_name
        self.prefix = join("models", model_name)

    # -- reading ---------------------------------------------------------------------------
    def versions(self) -> list[str]:
        """Published (complete) versions, oldest first."""
        names = [v for v in self.store.list_children(self.prefix) if VERSION_RE.match(v)]
        names.sort(key=lambda v: int(VERSION_RE.match(v).group(1)))
        return [v for v in names if self.store.is_published(join(self.prefix, v))]

    def latest(self) -> str | None:
        versions = self.versions()
        return versions[-1] if versions else None

    def require(self, version: str) -> str:
        if not VERSION_RE.match(version) or not self.store.is_published(join(self.prefix, version)):
            known = ", ".join(self.versions()) or "none"
            raise NotFound(f"{self.store.describe(self.prefix)}: no version {version!r} ({known})")
        return version

    def metrics(self, version: str) -> dict:
        return self.store.get_json(join(self.prefix, self.require(version), "metrics.json"))

    def score(self, version: str) -> float:
        return test_score(self.metrics(version))

    def champion(self) -> dict | None:
        try:
            return self.store.get_json(join(self.prefix, "champion.json"))
        except NotFound:
            return None

    def fetch_model(self, version: str, dest: Path) -> Path:
        """Download a version's model folder to ``dest``, every file checked."""
        self.store.fetch_tree(join(self.prefix, self.require(version)), Path(dest), only="model")
        return Path(dest)

    # -- publishing ------------------------------------------------------------------------
    def publish(self, run_dir: str | Path) -> str:
        """Upload a run's model, metrics, config, data hashes and code version as a new version."""
        run_dir = Path(run_dir)
        model_dir = run_dir / "model"
        if not (model_dir / "config.json").is_file() and not (model_dir / "modules.json").is_file():
            raise UsageError(f"{run_dir}: no trained model folder (run the train stage first)")
        metrics_file = run_dir / "metrics.json"
        if not metrics_file.is_file():
            raise UsageError(f"{run_dir}: no metrics.json (run the evaluate stage first)")
        import json

        score = test_score(json.loads(metrics_file.read_text()))

        with tempfile.TemporaryDirectory(prefix="publish-") as tmp:
            tmp_dir = Path(tmp)
            write_json(tmp_dir / "data_hashes.json", data_hashes(run_dir))
            write_json(tmp_dir / "code_version.json", code_version())
            files = {f"model/{rel}": path for rel, path in tree_files(model_dir).items()}
            files["metrics.json"] = metrics_file
            files["data_hashes.json"] = tmp_dir / "data_hashes.json"
            files["code_version.json"] = tmp_dir / "code_version.json"
            for name, target in (
                ("config.yaml", "config.yaml"),
                ("manifest.json", "run_manifest.json"),
            ):
                if (run_dir / name).is_file():
                    files[target] = run_dir / name
            version = self._claim_version()
            info = {"version": version, "source_run": run_dir.name, METRIC: score}
            self.store.publish_tree(join(self.prefix, version), files, info=info)
        log.info("published %s as %s (%s=%.4f)", run_dir, self._where(version), METRIC, score)
        return version

    def _claim_version(self, attempts: int = 50) -> str:
        """Take the next free version number; a claim is never reused, even if its publish died."""
        claims = join(self.prefix, ".claims")
        taken = [
            int(m.group(1))
            for name in self.store.list_children(self.prefix)
            + [k.rsplit("/", 1)[-1] for k in self.store.list_keys(claims)]
            if (m := VERSION_RE.match(name))
        ]
        number = max(taken, default=0) + 1
        for _ in range(attempts):
            version = f"v{number:04d}"
            try:
                self.store.put_bytes(join(claims, version), _now().encode(), if_absent=True)
                return version
            except AlreadyExists:
                number += 1  # another publisher got there first
        raise UsageError(f"{self.store.describe(self.prefix)}: could not claim a version number")

    # -- promotion -------------------------------------------------------------------------
    def promote(
        self,
        version: str | None = None,
        force: bool = False,
        before_switch: Callable[[str], dict | None] | None = None,
    ) -> PromotionResult:
        """Make ``version`` (default: the latest) champion if it scores at least as well.

        ``before_switch(version)`` runs after the decision and before the pointer moves (the
        index rebuild); if it fails, the pointer stays where it was.
        """
        candidate = self.require(version) if version else self.latest()
        if candidate is None:
            raise NotFound(f"{self.store.describe(self.prefix)}: no published versions")
        current = self.champion()
        cand_score = self.score(candidate)
        champ_version = current["version"] if current else None
        champ_score = self.score(champ_version) if champ_version else None
        result = PromotionResult(
            promoted=False,
            action="promote",
            candidate=candidate,
            champion_before=champ_version,
            candidate_score=cand_score,
            champion_score=champ_score,
        )
        if champ_version == candidate:
            result.reason = f"{candidate} is already champion"
            return result
        if champ_score is not None and cand_score < champ_score:
            if not force:
                result.reason = (
                    f"{candidate} {METRIC}={cand_score:.4f} is below champion "
                    f"{champ_version} {METRIC}={champ_score:.4f}"
                )
                return result
            result.forced = True
            log.warning(
                "FORCED promotion by %s: %s (%s=%.4f) replaces %s (%s=%.4f)",
                _actor(),
                candidate,
                METRIC,
                cand_score,
                champ_version,
                METRIC,
                champ_score,
            )
        history = ([*current.get("history", []), champ_version]) if current else []
        self._switch(candidate, cand_score, history, result, before_switch)
        result.reason = result.reason or (
            "first champion"
            if champ_version is None
            else f"{METRIC} {cand_score:.4f} >= {champ_score:.4f}"
            if not result.forced
            else "forced"
        )
        return result

    def rollback(
        self, before_switch: Callable[[str], dict | None] | None = None
    ) -> PromotionResult:
        """Move the champion pointer back to the version it replaced."""
        current = self.champion()
        if not current or not current.get("history"):
            raise UsageError(
                f"{self.store.describe(self.prefix)}: no earlier champion to roll back to"
            )
        *history, previous = current["history"]
        result = PromotionResult(
            promoted=False,
            action="rollback",
            candidate=self.require(previous),
            champion_before=current["version"],
            candidate_score=self.score(previous),
            champion_score=current.get(METRIC),
            forced=True,
            reason=f"rollback from {current['version']}",
        )
        log.warning("ROLLBACK by %s: %s -> %s", _actor(), current["version"], previous)
        self._switch(previous, result.candidate_score, history, result, before_switch)
        return result

    def _switch(self, version, score, history, result, before_switch) -> None:
        if before_switch is not None:
            result.extra = before_switch(version) or {}
        pointer = {
            "version": version,
            METRIC: score,
            "promoted_at": _now(),
            "action": result.action,
            "forced": result.forced,
            "by": _actor(),
            "history": history,
        }
        # One PUT (S3) or one rename (folder): readers see the old pointer or the new one.
        self.store.put_json(join(self.prefix, "champion.json"), pointer)
        result.promoted = True
        event = {**pointer, "from": result.champion_before, "result": result.to_json()}
        stamp = pointer["promoted_at"].replace(":", "")
        self.store.put_json(join(self.prefix, "promotions", f"{stamp}-{version}.json"), event)
        log.info("champion of %s is now %s", self._where(""), version)

    def _where(self, version: str) -> str:
        return self.store.describe(join(self.prefix, version) if version else self.prefix)


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
