"""Switching a registry's storage: ``storage set`` commits the new store (keeping the
old one as previous_storage) and ``storage sync`` copies the blobs, idempotently and
resumably, into a real S3 server (SeaweedFS)."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from pathlib import Path

import pytest
import yaml

from registry_tool import _schemas as schemas
from registry_tool import _verbs as ops
from registry_tool._blobs import LocalBlobStore
from registry_tool._model.records import RegistryConfig, StorageConfig
from registry_tool.errors import StorageError
from tests.helpers import cli_out, git_log, invoke, write


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def log_versions() -> set[str]:
    """Three versions over two collections, sharing one file; returns their blobs."""
    write("a/x.txt", "x one")
    write("a/shared.txt", "shared")
    ops.log_path("a", "p/data", "dataset")
    write("a/x.txt", "x two")
    write("a/sub/y.txt", "y")
    ops.log_path("a", "p/data", "dataset")
    write("m/model.bin", "weights")
    write("m/shared.txt", "shared")
    ops.log_path("m", "p/model", "model")
    return {sha(t) for t in ("x one", "x two", "shared", "y", "weights")}


def bucket_digests(s3_env, bucket: str, prefix: str = "moved") -> set[str]:  # type: ignore[no-untyped-def]
    listed = s3_env.client().list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/sha256/")
    return {o["Key"].rsplit("/", 1)[-1] for o in listed.get("Contents", [])}


def set_s3(s3_env, bucket: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return json.loads(  # type: ignore[no-any-return]
        cli_out(
            "storage",
            "set",
            f"s3://{bucket}/moved",
            "--endpoint-url",
            s3_env.endpoint,
            "--region",
            "us-east-1",
            "--json",
        )
    )


def test_set_then_sync_copies_every_blob_once(registry, s3_env, bucket, tmp_path):
    blobs = log_versions()
    out = set_s3(s3_env, bucket)
    assert out["changed"] is True and out["previous_storage"] == {"url": ".blobs"}
    assert out["storage"] == {
        "url": f"s3://{bucket}/moved",
        "endpoint_url": s3_env.endpoint,
        "region": "us-east-1",
    }
    doc = yaml.safe_load((registry.root / "registry.yaml").read_text())
    assert doc["previous_storage"] == {"url": ".blobs"}
    assert doc["storage"]["url"] == f"s3://{bucket}/moved"
    assert git_log(registry.root)[0] == f"storage set s3://{bucket}/moved"
    assert json.loads(cli_out("check", "--json"))["ok"] is True
    # The same storage again is no change and no commit.
    commits = len(git_log(registry.root))
    again = set_s3(s3_env, bucket)
    assert again["changed"] is False and again["commit"] is None
    assert len(git_log(registry.root)) == commits

    report = json.loads(cli_out("storage", "sync", "--json"))
    assert report["ok"] is True
    assert (report["blobs"], report["versions"], report["present"], report["copied"]) == (
        5,
        3,
        0,
        5,
    )
    assert report["bytes_copied"] == sum(
        len(t) for t in ("x one", "x two", "shared", "y", "weights")
    )
    assert report["source"] == ".blobs" and report["target"] == f"s3://{bucket}/moved"
    assert bucket_digests(s3_env, bucket) == blobs

    second = json.loads(cli_out("storage", "sync", "--json"))
    assert (second["present"], second["copied"], second["ok"]) == (5, 0, True)
    text = cli_out("storage", "sync")
    assert "5 blobs named by 3 versions; 5 already there, 0 copied" in text

    # With the old store gone, downloads come from the new one.
    shutil.rmtree(registry.root / ".blobs")
    _, root = ops.download("p/data:v1", str(tmp_path / "out"))
    assert Path(root, "x.txt").read_text() == "x two"
    assert Path(root, "sub/y.txt").read_text() == "y"
    assert Path(root, "shared.txt").read_text() == "shared"


def test_an_interrupted_sync_resumes_where_it_stopped(registry, s3_env, bucket, monkeypatch):
    blobs = log_versions()
    set_s3(s3_env, bucket)
    monkeypatch.setenv("REGISTRY_TOOL_WORKERS", "1")
    real_fetch = LocalBlobStore.fetch
    lock = threading.Lock()
    fetched: list[str] = []

    def failing_fetch(self, hexdigest, dest, advance):  # type: ignore[no-untyped-def]
        with lock:
            if len(fetched) >= 2:
                raise StorageError("the old disk went away")
            fetched.append(hexdigest)
        return real_fetch(self, hexdigest, dest, advance)

    monkeypatch.setattr(LocalBlobStore, "fetch", failing_fetch)
    result = invoke(*["storage", "sync"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: the old disk went away"
    assert bucket_digests(s3_env, bucket) == set(fetched)
    assert len(fetched) == 2

    monkeypatch.setattr(LocalBlobStore, "fetch", real_fetch)
    report = json.loads(cli_out("storage", "sync", "--json"))
    assert (report["present"], report["copied"]) == (2, 3)
    assert bucket_digests(s3_env, bucket) == blobs
    assert list((Path.home() / ".cache/registry-tool/tmp").iterdir()) == []


def test_a_blob_missing_from_the_source_fails_the_sync_naming_it(
    registry, s3_env, bucket, tmp_path
):
    blobs = log_versions()
    set_s3(s3_env, bucket)
    gone = sha("shared")
    blob = registry.root / ".blobs/sha256" / gone[:2] / gone
    kept = tmp_path / "elsewhere"
    LocalBlobStore(kept).put_bytes(b"shared")
    blob.unlink()

    result = invoke(*["storage", "sync"])
    assert result.exit_code == 1
    assert (
        f"sha256:{gone} is missing from .blobs (needed by p/data:v0, p/data:v1, p/model:v0)"
        in result.stderr
    )
    assert "4 copied" in result.output and "1 missing in the source" in result.output
    assert bucket_digests(s3_env, bucket) == blobs - {gone}

    result = invoke(*["storage", "sync", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False and report["copied"] == 0 and report["present"] == 4
    assert report["missing"] == [
        {"digest": f"sha256:{gone}", "versions": ["p/data:v0", "p/data:v1", "p/model:v0"]}
    ]

    # Another copy of the old store fills the gap.
    report = json.loads(cli_out("storage", "sync", "--from", str(kept), "--json"))
    assert (report["ok"], report["copied"], report["source"]) == (True, 1, str(kept))
    assert bucket_digests(s3_env, bucket) == blobs


def test_sync_from_s3_back_to_a_local_directory(s3_registry, s3_env, bucket, tmp_path):
    write("d/a.txt", "alpha")
    write("d/b.txt", "beta")
    ops.log_path("d", "p/data", "dataset")
    target = tmp_path / "local-blobs"
    out = json.loads(cli_out("storage", "set", str(target), "--json"))
    assert out["previous_storage"]["url"] == f"s3://{bucket}/blobs"
    assert out["previous_storage"]["endpoint_url"] == s3_env.endpoint
    report = json.loads(cli_out("storage", "sync", "--json"))
    assert (report["copied"], report["ok"]) == (2, True)
    assert sorted(LocalBlobStore(target).iter_digests()) == sorted([sha("alpha"), sha("beta")])
    for digest in (sha("alpha"), sha("beta")):
        assert not (target / "sha256" / digest[:2] / digest).stat().st_mode & 0o222


def test_storage_command_errors(registry):
    result = invoke(*["storage", "sync"])
    assert result.exit_code == 1
    assert "nothing to sync from: registry.yaml has no previous_storage" in result.stderr
    result = invoke(*["storage", "set", "other-dir", "--endpoint-url", "http://x"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: --endpoint-url: only for s3:// storage, not 'other-dir'"
    result = invoke(*["storage", "set", "gs://bucket/x"])
    assert result.exit_code == 1 and "storage scheme 'gs' is not supported" in result.stderr
    result = invoke(*["storage", "set", "s3://"])
    assert result.exit_code == 1 and "expected s3://bucket[/prefix]" in result.stderr
    result = invoke(*["storage", "sync", "--from", ".blobs"])
    assert result.exit_code == 1 and "the source and the target are the same store" in result.stderr
    assert "storage set" not in "\n".join(git_log(registry.root))

    assert "storage: other-dir (was .blobs)" in cli_out("storage", "set", "other-dir")
    assert "storage is already other-dir" in cli_out("storage", "set", "other-dir")
    assert "0 blobs named by 0 versions" in cli_out("storage", "sync")


@pytest.mark.parametrize(
    "previous",
    [None, StorageConfig(url="s3://b/p", endpoint_url="http://127.0.0.1:9", path_style=True)],
)
def test_registry_config_round_trips_previous_storage(previous):
    config = RegistryConfig(
        name="reg",
        storage=StorageConfig(url="s3://new/blobs", region="eu-west-1"),
        created_at="2024-05-01T12:00:00Z",
        previous_storage=previous,
    )
    doc = config.to_doc()
    schemas.validate(doc, "registry", "registry.yaml")
    assert ("previous_storage" in doc) == (previous is not None)
    assert RegistryConfig.from_doc(doc) == config


def test_previous_storage_is_validated_like_storage():
    doc = RegistryConfig(
        name="reg", storage=StorageConfig(url="x"), created_at="2024-05-01T12:00:00Z"
    ).to_doc()
    doc["previous_storage"] = {"url": "y", "bucket": "z"}
    with pytest.raises(Exception, match=r"\$.previous_storage: Additional properties"):
        schemas.validate(doc, "registry", "registry.yaml")
