"""Shared fixtures: every test runs with an isolated HOME, XDG dirs and git identity,
on real git repositories in a temporary directory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from registry_tool._sdk import run as run_module
from registry_tool._store import RegistryStore, init_registry
from tests.helpers import GIT_ENV, init_s3_registry, launch_chromium, serve_folder
from tests.refservers import FileServer, GcsEmulator
from tests.s3server import ACCESS_KEY, SECRET_KEY, SeaweedFS


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fake HOME, XDG data/cache dirs and a fixed git author; cwd is a fresh work dir."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.delenv("REGISTRY_TOOL_DIR", raising=False)
    monkeypatch.delenv("REGISTRY_TOOL_CACHE_DIR", raising=False)
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    # No real AWS identity, and never the instance-metadata service (network).
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "no-aws-credentials"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield work
    for active in list(run_module._active_runs):
        active._finished = True
    run_module._active_runs.clear()
    run_module._current_run = None


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RegistryStore:
    """A fresh registry repo (local blob store), selected through REGISTRY_TOOL_DIR."""
    store = init_registry(tmp_path / "registry", name="test-registry")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(store.root))
    return store


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS per test process, on 127.0.0.1, stopped by its PID at the end."""
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs")).start()
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> SeaweedFS:
    """The test's AWS credentials, as a user would set them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    return s3_server


@pytest.fixture
def bucket(s3_env: SeaweedFS) -> str:
    """A fresh, empty bucket."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    s3_env.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_registry(
    tmp_path: Path, s3_env: SeaweedFS, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> RegistryStore:
    """A fresh registry whose blobs live in SeaweedFS."""
    store = init_s3_registry(
        tmp_path / "s3-registry", name="s3-registry", bucket=bucket, endpoint=s3_env.endpoint
    )
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(store.root))
    return store


os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")


# The showcase registry fixture (tests/showcase.py) for every test module.
pytest_plugins = ["tests.showcase"]

# The user scripts tests/test_workflows.py runs in fresh processes: not test modules
# (--doctest-modules would import, and so run, them).
collect_ignore_glob = ["workflows/*.py"]


# -- reference servers (tests/refservers.py, SeaweedFS) --------------------------------


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours proxy variables: the local servers must be reached directly."""
    for key in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)


@pytest.fixture
def s3_refs(s3_env: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> SeaweedFS:
    """SeaweedFS as the endpoint of s3:// references."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_env.endpoint)
    return s3_env


@pytest.fixture
def web() -> Iterator[FileServer]:
    """A plain HTTP file server on 127.0.0.1 (http:// references)."""
    with FileServer() as server:
        yield server


@pytest.fixture
def gcs(monkeypatch: pytest.MonkeyPatch) -> Iterator[GcsEmulator]:
    """The GCS JSON API on 127.0.0.1 (gs:// references), two objects a listing page."""
    with GcsEmulator(page_size=2) as server:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.host)
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for a module's browser tests (each opens its own context)."""
    with launch_chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The module's built ``site`` served on 127.0.0.1."""
    with serve_folder(site) as url:
        yield url
