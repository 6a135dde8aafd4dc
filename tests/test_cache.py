"""The bounded local blob cache: size parsing, LRU eviction, automatic cleanup, the
cache commands, and several processes fetching and evicting at once."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from registry_tool import _cache as cache_module
from registry_tool import _verbs as ops
from registry_tool._blobs import MemoryBlobStore
from registry_tool._cache import (
    DEFAULT_MAX_SIZE,
    BlobCache,
    CleanupReport,
    configured_max_size,
    parse_size,
)
from registry_tool._store import init_registry
from registry_tool.errors import CorruptBlobError, UsageError
from tests.helpers import cli_out, invoke, write


def noop(_n: int) -> None:
    return None


def store_with(count: int, size: int = 100) -> tuple[MemoryBlobStore, list[str]]:
    """A memory store holding ``count`` distinct blobs of ``size`` bytes."""
    store = MemoryBlobStore()
    digests = []
    for i in range(count):
        data = (f"blob {i} ".encode() * size)[:size]
        digest = hashlib.sha256(data).hexdigest()
        store.blobs[digest] = data
        digests.append(digest)
    return store, digests


def age(cache: BlobCache, digest: str, seconds_ago: float) -> None:
    when = time.time() - seconds_ago
    os.utime(cache.path_for(digest), (when, when))


# -- sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1048576", 1048576),
        ("0", 0),
        ("20GB", 20 * 1000**3),
        ("20gb", 20 * 1000**3),
        ("512MiB", 512 * 1024**2),
        ("1.5 GB", 1_500_000_000),
        ("1.1GB", 1_100_000_000),
        ("10k", 10_000),
        ("2KiB", 2048),
        (" 7 B ", 7),
        ("3TiB", 3 * 1024**4),
        (".5MB", 500_000),
        (42, 42),
    ],
)
def test_sizes_parse(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "abc", "-1", "10XB", "1e3", "1,000", "GB", "1 2GB", -5, "9" * 25, "1." + "9" * 25,
     "9" * 5000, "." + "9" * 5000],
)  # fmt: skip
def test_bad_sizes_are_one_clear_usage_error(text):
    with pytest.raises(UsageError, match="--max-size") as info:
        parse_size(text, "--max-size")
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_the_longest_sizes_parse():
    assert parse_size("9" * 24) == int("9" * 24)
    assert parse_size("1." + "5" * 24 + "KB") == 1555
    assert parse_size("." + "9" * 24 + "GiB") == 1024**3 - 1


def test_the_bound_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(cache_module.ENV_MAX_SIZE, raising=False)
    assert configured_max_size() == DEFAULT_MAX_SIZE == 20 * 1024**3
    monkeypatch.setenv(cache_module.ENV_MAX_SIZE, "512MiB")
    assert BlobCache(tmp_path).max_size == 512 * 1024**2
    assert BlobCache(tmp_path, max_size=10).max_size == 10  # explicit wins
    monkeypatch.setenv(cache_module.ENV_MAX_SIZE, "lots")
    with pytest.raises(UsageError, match=r"\$REGISTRY_TOOL_CACHE_MAX_SIZE: 'lots' is not a size"):
        BlobCache(tmp_path)


# -- eviction ------------------------------------------------------------------------


def test_cleanup_evicts_least_recently_used_first(tmp_path):
    store, digests = store_with(5)
    cache = BlobCache(tmp_path / "cache", max_size=10_000)
    for i, digest in enumerate(digests):
        cache.get(store, digest, noop)
        age(cache, digest, 1000 - i)  # 0 is the oldest, 4 the newest
    cache.get(store, digests[0], noop)  # a read makes 0 the most recently used
    assert cache.path_for(digests[0]).stat().st_mtime > time.time() - 60

    report = cache.cleanup(max_size=300)
    assert isinstance(report, CleanupReport)
    assert report.removed == (digests[1], digests[2])
    assert (report.freed, report.blobs, report.bytes, report.ok) == (200, 3, 300, True)
    assert [d for d in digests if cache.path_for(d).exists()] == [digests[0], *digests[3:]]
    assert cache.estimate() == 300
    info = cache.info()
    assert (info.blobs, info.bytes, info.max_size) == (3, 300, 10_000)

    emptied = cache.cleanup(max_size=0)
    assert emptied is not None and len(emptied.removed) == 3 and emptied.bytes == 0
    assert cache.info().blobs == 0
    # Evicted blobs come back from the store on the next read.
    assert cache.get(store, digests[2], noop).read_bytes() == store.blobs[digests[2]]


def test_adding_past_the_bound_cleans_up_without_rescanning_on_each_get(tmp_path, monkeypatch):
    store, digests = store_with(6)
    cache = BlobCache(tmp_path / "cache", max_size=250)
    scans = []
    real_scan = BlobCache._scan

    def counting_scan(self: BlobCache):  # type: ignore[no-untyped-def]
        scans.append(1)
        return real_scan(self)

    monkeypatch.setattr(BlobCache, "_scan", counting_scan)
    for i, digest in enumerate(digests[:2]):
        cache.get(store, digest, noop)
        age(cache, digest, 100 - i)
    assert len(scans) == 1  # the first blob ever starts the running estimate
    assert cache.estimate() == 200
    for _ in range(5):  # reads of cached blobs never scan
        cache.get(store, digests[0], noop)
        age(cache, digests[0], 100)
    assert len(scans) == 1

    cache.get(store, digests[2], noop)  # 300 > 250: the oldest goes
    assert len(scans) == 2
    assert not cache.path_for(digests[0]).exists()
    assert cache.path_for(digests[1]).exists() and cache.path_for(digests[2]).exists()
    assert cache.estimate() == 200

    for digest in digests[3:]:
        path = cache.get(store, digest, noop)
        assert path.read_bytes() == store.blobs[digest]  # never the blob just fetched
    assert cache.info().bytes <= 250
    assert cache.estimate() == cache.info().bytes


def test_a_blob_bigger_than_the_bound_is_still_handed_over(tmp_path):
    store, digests = store_with(2, size=1000)
    cache = BlobCache(tmp_path / "cache", max_size=10)
    for digest in digests:
        assert cache.get(store, digest, noop).read_bytes() == store.blobs[digest]
        with cache.open_blob(store, digest, noop) as f:
            assert f.read() == store.blobs[digest]


def test_cleanup_removes_stale_temp_files_only(tmp_path):
    cache = BlobCache(tmp_path / "cache", max_size=1000)
    tmp = tmp_path / "cache" / "tmp"
    stale = write(tmp / ".fetch-old", "x")
    fresh = write(tmp / ".fetch-new", "y")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    report = cache.cleanup()
    assert report is not None and report.tmp_removed == 1
    assert not stale.exists() and fresh.exists()


def test_a_blob_evicted_between_check_and_use_is_fetched_again(tmp_path, monkeypatch):
    store, digests = store_with(1)
    digest = digests[0]
    cache = BlobCache(tmp_path / "cache", max_size=1000)
    path = cache.get(store, digest, noop)
    real_utime = os.utime

    def evicting_utime(target, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Another process evicts the blob right after this one opened it.
        if Path(target) == path and path.exists():
            os.unlink(path)
        return real_utime(target, *args, **kwargs)

    monkeypatch.setattr(cache_module.os, "utime", evicting_utime)
    with cache.open_blob(store, digest, noop) as f:  # the open handle still reads
        assert f.read() == store.blobs[digest]
    assert not path.exists()
    assert cache.get(store, digest, noop).read_bytes() == store.blobs[digest]
    assert path.exists()


def test_a_corrupt_cached_blob_is_removed_and_fetched_again(tmp_path, monkeypatch):
    reg = init_registry(tmp_path / "reg", storage="memory://corrupt-cache")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(reg.root))
    write("d/a.txt", "the real bytes")
    ops.log_path("d", "p/data", "dataset")
    ops.download("p/data:v0", "first")
    digest = hashlib.sha256(b"the real bytes").hexdigest()
    cached = tmp_path / "home/.cache/registry-tool/blobs/sha256" / digest[:2] / digest
    os.chmod(cached, 0o644)
    cached.write_bytes(b"bit rot here!!")
    with pytest.raises(CorruptBlobError, match="was corrupt; removed it"):
        ops.download("p/data:v0", "second")
    assert not cached.exists()
    _, root = ops.download("p/data:v0", "third")
    assert Path(root, "a.txt").read_text() == "the real bytes"


# -- the commands --------------------------------------------------------------------


def _fill_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: int) -> None:
    reg = init_registry(tmp_path / "reg", storage=f"memory://cli-{tmp_path.name}")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(reg.root))
    for i in range(files):
        write(f"d/f{i}.txt", f"file number {i}\n" * 10)
    ops.log_path("d", "p/data", "dataset")
    ops.download("p/data:v0", "out")


def test_cache_info_and_cleanup_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_TOOL_CACHE_DIR", str(tmp_path / "my-cache"))
    monkeypatch.setenv("REGISTRY_TOOL_CACHE_MAX_SIZE", "1MB")
    _fill_cache(tmp_path, monkeypatch, 3)
    info = json.loads(cli_out("cache", "info", "--json"))
    assert info["path"] == str(tmp_path / "my-cache")
    assert (info["blobs"], info["max_size"]) == (3, 1_000_000)
    assert info["bytes"] == sum(len(f"file number {i}\n" * 10) for i in range(3))
    text = cli_out("cache", "info")
    assert "blobs:    3" in text and "1.0 MB" in text

    assert "removed 0 blobs" in cli_out("cache", "cleanup")  # under the bound already
    out = json.loads(cli_out("cache", "cleanup", "--max-size", "0", "--json"))
    assert out["ok"] is True and out["removed"] == 3 and out["blobs"] == 0
    assert out["freed"] == info["bytes"] and out["max_size"] == 0
    assert json.loads(cli_out("cache", "info", "--json"))["blobs"] == 0
    # Downloads work after the cache was emptied.
    _, root = ops.download("p/data:v0", "again")
    assert Path(root, "f1.txt").read_text() == "file number 1\n" * 10


def test_cache_command_errors(tmp_path, monkeypatch):
    result = invoke(*["cache", "cleanup", "--max-size", "ten gigs"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: --max-size: 'ten gigs' is not a size (plain bytes, or a number with a unit: "
        "KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), "
        "e.g. 20GB or 512MiB)"
    )
    monkeypatch.setenv("REGISTRY_TOOL_CACHE_MAX_SIZE", "big")
    result = invoke(*["cache", "info"])  # a bad setting is a usage error, as a bad option
    assert result.exit_code == 2 and "REGISTRY_TOOL_CACHE_MAX_SIZE: 'big'" in result.stderr
    # Every setting is checked before a command runs, even one an option would override.
    result = invoke(*["cache", "cleanup", "--max-size", "1GB"])
    assert result.exit_code == 2 and "REGISTRY_TOOL_CACHE_MAX_SIZE: 'big'" in result.stderr
    monkeypatch.delenv("REGISTRY_TOOL_CACHE_MAX_SIZE")
    assert "removed 0 blobs" in cli_out("cache", "cleanup", "--max-size", "1GB")


def test_cleanup_exits_1_when_a_blob_cannot_be_removed(tmp_path, monkeypatch):
    _fill_cache(tmp_path, monkeypatch, 2)
    real_remove = cache_module._remove
    stuck: list[Path] = []

    def remove(path: Path) -> None:
        if not stuck:
            stuck.append(path)
            raise PermissionError(13, "Permission denied")
        real_remove(path)

    monkeypatch.setattr(cache_module, "_remove", remove)
    result = invoke(*["cache", "cleanup", "--max-size", "0", "--json"])
    assert result.exit_code == 1
    out = json.loads(result.output)
    assert out["ok"] is False and out["removed"] == 1 and out["blobs"] == 1
    assert out["failed"] == [f"sha256:{stuck[0].name}: Permission denied"]
    result = invoke(*["cache", "cleanup", "--max-size", "0"])
    assert result.exit_code == 0  # the patched remover fails only once
    assert "removed 1 blob " in result.output


# -- several processes ---------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from registry_tool._blobs import open_blob_store
    from registry_tool._cache import open_cache
    from registry_tool._model.records import StorageConfig
    from registry_tool import _verbs as ops

    reg, files, name, rounds = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    # This process's own memory store, holding the same blobs as the parent's.
    store = open_blob_store(StorageConfig(url="memory://two-procs"), Path(reg))
    for f in sorted(files.iterdir()):
        store.ingest(f, None, lambda n: None)
    for i in range(rounds):
        _, root = ops.download("p/data:v0", f"{name}-{i}", registry=reg)
        for f in files.iterdir():
            assert Path(root, f.name).read_bytes() == f.read_bytes(), f.name
        if i % 3 == 2:
            open_cache(0).cleanup()  # evict everything, under the other one's feet
    print("ok", name)
    """
)


def test_two_processes_fetching_and_evicting_at_once(tmp_path, monkeypatch):
    files = tmp_path / "files"
    for i in range(16):
        write(files / f"f{i:02}.bin", os.urandom(4096 + i))
    reg = init_registry(tmp_path / "reg", storage="memory://two-procs")
    ops.log_path(files, "p/data", "dataset", registry=reg.root)
    env = {
        **os.environ,
        "REGISTRY_TOOL_CACHE_DIR": str(tmp_path / "shared-cache"),
        "REGISTRY_TOOL_CACHE_MAX_SIZE": "12KiB",  # about 3 of the 16 blobs
        "REGISTRY_TOOL_WORKERS": "4",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(reg.root), str(files), name, "13"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("one", "two")
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.startswith("ok"), out + err
    cache = BlobCache(tmp_path / "shared-cache", max_size=12 * 1024)
    left = cache.info()
    assert left.bytes <= 12 * 1024  # the last cleanup saw every add
    assert left.tmp_files == 0
