"""Fixtures for the Helm chart tests: the checker module and rendering through real Helm."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_checker():
    spec = importlib.util.spec_from_file_location("k8s_check", ROOT / "scripts" / "k8s_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


K8S_CHECK = _load_checker()


@pytest.fixture(scope="session")
def checker():
    if not (K8S_CHECK.TOOLS / "helm").exists():
        pytest.skip("helm is not installed: run `make k8s-tools`")
    if not K8S_CHECK.default_crd_dir().is_dir():
        pytest.skip(f"no CRD schemas at {K8S_CHECK.default_crd_dir()}")
    return K8S_CHECK


@pytest.fixture(scope="session")
def crds(checker):
    return checker.load_crd_schemas(checker.default_crd_dir())


class Rendered(list):
    """The objects of one render, with lookups by kind."""

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self if d["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [d for d in self.of(kind) if d["metadata"]["name"] == name]
        assert found, f"no {kind}/{name} in {[(d['kind'], d['metadata']['name']) for d in self]}"
        return found[0]


@pytest.fixture(scope="session")
def render(checker):
    """render(env, *--set values) -> Rendered; raises on a Helm error."""
    cache: dict[tuple, Rendered] = {}

    def _render(env: str, *sets: str) -> Rendered:
        key = (env, sets)
        if key not in cache:
            proc = checker.helm_template(
                checker.env_values(env), checker.ENVIRONMENTS[env], list(sets)
            )
            if proc.returncode:
                raise RenderError(proc.stderr)
            cache[key] = Rendered(checker.load_docs(proc.stdout))
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def render_error(checker):
    """render_error(env, *--set values, values_file=None) -> Helm's error message."""

    def _render_error(env: str, *sets: str, values_file: Path | None = None) -> str:
        files = checker.env_values(env) + ([values_file] if values_file else [])
        proc = checker.helm_template(files, checker.ENVIRONMENTS[env], list(sets))
        assert proc.returncode != 0, "Helm accepted values that should have been rejected"
        return proc.stderr

    return _render_error


class RenderError(Exception):
    pass


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(K8S_CHECK.TOOLS / "helm"), *args], capture_output=True, text=True)
