"""One contract for every blob store: local directory, memory, and S3 (SeaweedFS)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool._blobs import BlobStore, LocalBlobStore, MemoryBlobStore
from registry_tool._blobs.s3 import S3BlobStore
from registry_tool._cache import BlobCache
from registry_tool._model.records import StorageConfig
from registry_tool._store import init_registry
from registry_tool.errors import CorruptBlobError
from tests.helpers import clone_bare, git, write


@pytest.fixture(params=["local", "memory", "s3", "s3-botocore-only"])
def store(request, tmp_path, monkeypatch):
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    if request.param == "memory":
        return MemoryBlobStore()
    if request.param == "s3-botocore-only":
        monkeypatch.setenv("REGISTRY_TOOL_S3_FAST", "0")
    server = request.getfixturevalue("s3_env")
    bucket = request.getfixturevalue("bucket")
    s3 = S3BlobStore(StorageConfig(url=f"s3://{bucket}/pre/fix", endpoint_url=server.endpoint))
    # The fast path (signed requests on a urllib3 pool) takes the GETs and small PUTs
    # where it applies; with it off, botocore makes every request.
    assert (s3.fast is None) == (request.param == "s3-botocore-only")
    return s3


def corrupt(store, hexdigest: str) -> None:
    path = store.local_path(hexdigest)
    if path is not None:
        path.chmod(0o644)
        path.write_bytes(b"rotten")
    elif store.remote:
        store.client.put_object(Bucket=store.bucket, Key=store.key(hexdigest), Body=b"rotten")
    else:
        store.blobs[hexdigest] = b"rotten"


def test_every_store_meets_the_protocol_and_says_where_its_bytes_are(tmp_path):
    digest = "ab" * 32
    local = LocalBlobStore(tmp_path / "blobs")
    memory = MemoryBlobStore()
    s3 = S3BlobStore(StorageConfig(url="s3://bucket/pre"))  # no request is made
    stores: list[BlobStore] = [local, memory, s3]
    for store in stores:
        assert isinstance(store, BlobStore)
    assert [store.remote for store in stores] == [False, False, True]
    assert local.local_path(digest) == tmp_path / "blobs/sha256/ab" / digest
    assert memory.local_path(digest) is None and s3.local_path(digest) is None
    assert not isinstance(object(), BlobStore)


def test_put_then_fetch_returns_the_bytes(store, tmp_path):
    src = write(tmp_path / "src.bin", b"\x00hello\xff" * 1000)
    expected = hashlib.sha256(src.read_bytes()).hexdigest()
    seen = []
    digest, written = store.ingest(src, None, seen.append)
    assert (digest, written) == (expected, True)
    assert sum(seen) == src.stat().st_size
    if isinstance(store, S3BlobStore):
        key = f"pre/fix/sha256/{digest[:2]}/{digest}"
        assert store.client.head_object(Bucket=store.bucket, Key=key)["ContentLength"] == 7000
    assert store.has(digest) and not store.has("0" * 64)
    assert store.ingest(src, digest, lambda n: None) == (digest, False)
    store.fetch(digest, tmp_path / "out.bin", lambda n: None)
    assert (tmp_path / "out.bin").read_bytes() == src.read_bytes()
    assert list(store.iter_digests()) == [digest]
    if isinstance(store, S3BlobStore) and store.fast is not None:
        assert store.fast.requests == 3  # the PUT, the conditional PUT (412) and the GET


def test_fetch_refuses_missing_and_corrupted_blobs(store, tmp_path):
    with pytest.raises(CorruptBlobError, match=r"0{64} is missing"):
        store.fetch("0" * 64, tmp_path / "none", lambda n: None)
    digest, _ = store.ingest(write(tmp_path / "a", "abc"), None, lambda n: None)
    corrupt(store, digest)
    with pytest.raises(CorruptBlobError, match=f"{digest}.*corrupt"):
        store.fetch(digest, tmp_path / "bad", lambda n: None)


def test_local_blobs_are_read_only_and_leave_no_temp_files(tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    digest, _ = store.ingest(write(tmp_path / "a", "abc"), None, lambda n: None)
    assert store.path_for(digest).stat().st_mode & 0o222 == 0
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []


def test_cache_fetches_once_and_verifies(tmp_path):
    store = MemoryBlobStore()
    digest, _ = store.ingest(write(tmp_path / "a", "payload"), None, lambda n: None)
    cache = BlobCache(tmp_path / "cache")
    first = cache.get(store, digest, lambda n: None)
    assert first.read_text() == "payload"
    store.blobs.clear()  # a second get is served from the cache
    assert cache.get(store, digest, lambda n: None) == first
    other, _ = MemoryBlobStore().ingest(write(tmp_path / "b", "x"), None, lambda n: None)
    with pytest.raises(CorruptBlobError):
        cache.get(store, other, lambda n: None)
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []


def test_a_registry_on_the_memory_store_downloads_through_the_cache(tmp_path, monkeypatch):
    reg = init_registry(tmp_path / "reg", storage="memory://cache-test")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(reg.root))
    write("a.txt", "through the cache")
    with wandb.init(project="p") as run:
        art = wandb.Artifact("a", type="t")
        art.add_file("a.txt")
        run.log_artifact(art)
    got = wandb.Api().artifact("p/a:v0")
    assert Path(got.download(root="out"), "a.txt").read_text() == "through the cache"
    hexdigest = got.files()[0].digest.removeprefix("sha256:")
    cached = Path(tmp_path / "home/.cache/registry-tool/blobs/sha256") / hexdigest[:2] / hexdigest
    assert cached.is_file()


def test_registry_given_as_a_git_url_is_kept_as_a_managed_clone(tmp_path, monkeypatch):
    seed = init_registry(tmp_path / "seed", name="team", storage=str(tmp_path / "blobs"))
    bare = tmp_path / "remote.git"
    clone_bare(seed.root, bare)
    monkeypatch.setenv("REGISTRY_TOOL_DIR", bare.as_uri())
    write("a.txt", "x")
    with wandb.init(project="p") as run:
        art = wandb.Artifact("a", type="t")
        art.add_file("a.txt")
        run.log_artifact(art)
    log = git(bare, "log", "--format=%s", "main")
    assert "log p/a:v0 +latest" in log
    clones = list((tmp_path / "home/.local/share/registry-tool/clones").iterdir())
    assert len(clones) == 1 and (clones[0] / "projects/p/a/versions/v0.yaml").is_file()
