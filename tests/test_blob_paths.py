"""The blob stores and the download path at their boundaries, run in-process.

The contract suite in test_blobs.py shows every store stores and returns bytes; these
tests pin what each operation does at its edges (a blob already there, a corrupt copy,
a refresh just inside or outside its age threshold, a failed write cleaned up), and
what a download does with files on disk, corrupt blobs, workers and references.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool import _progress as progress
from registry_tool._blobs import LocalBlobStore, MemoryBlobStore
from registry_tool._blobs.base import FRESH_FOR, BlobInfo
from registry_tool._engine import download as dl
from registry_tool._engine.context import Context
from registry_tool._model.manifest import Entry
from registry_tool._model.records import VersionRecord
from registry_tool._store import RegistryStore, init_registry
from registry_tool.errors import (
    ArtifactError,
    CorruptBlobError,
    RegistryError,
    StorageError,
    VerificationError,
)
from tests.helpers import write


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def nothing(_n: int) -> None:
    return None


def age(path: Path, seconds: float) -> float:
    """Set a file's mtime ``seconds`` in the past; return the new mtime."""
    when = time.time() - seconds
    os.utime(path, (when, when))
    return os.stat(path).st_mtime


# -- the local store ---------------------------------------------------------------


def test_local_store_names_its_paths_and_url(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    digest = "cd" * 32
    assert store.url == (tmp_path / "blobs").as_uri()
    assert store.path_for(digest) == tmp_path / "blobs" / "sha256" / "cd" / digest
    assert store.local_path(digest) == store.path_for(digest)
    assert (store.parallel, store.remote) == (1, False)


def test_local_has_is_true_only_for_a_file_at_the_exact_key(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    digest = store.put_bytes(b"here")
    assert store.has(digest)
    assert not store.has(digest[:-1] + ("0" if digest[-1] != "0" else "1"))
    folder = "ef" * 32
    store.path_for(folder).mkdir(parents=True)
    assert not store.has(folder)  # a folder at the key is not the blob


def test_local_put_bytes_writes_once_read_only_and_leaves_no_temp(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    digest = store.put_bytes(b"payload")
    path = store.path_for(digest)
    assert digest == sha(b"payload") and path.read_bytes() == b"payload"
    assert path.stat().st_mode & 0o777 == 0o444
    inode = path.stat().st_ino
    assert store.put_bytes(b"payload") == digest
    assert path.stat().st_ino == inode  # not written again
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []
    seen: list[int] = []
    # The source does not even exist: a known digest is answered from the listing.
    assert store.ingest(tmp_path / "absent", digest, seen.append) == (digest, False)
    assert seen == []


def test_local_ingest_hashes_what_it_copies_whatever_digest_it_was_told(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    src = write(tmp_path / "src", b"x" * 5000)
    seen: list[int] = []
    digest, written = store.ingest(src, "0" * 64, seen.append)
    assert (digest, written) == (sha(b"x" * 5000), True)
    assert sum(seen) == 5000
    assert store.path_for(digest).stat().st_mode & 0o777 == 0o444
    assert not store.has("0" * 64)
    # Stored again with no digest known: the sound copy stays and nothing is written.
    inode = store.path_for(digest).stat().st_ino
    assert store.ingest(src, None, nothing) == (digest, False)
    assert store.path_for(digest).stat().st_ino == inode
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []


def test_local_ingest_repairs_a_corrupt_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    src = write(tmp_path / "src", b"good bytes")
    digest, _ = store.ingest(src, None, nothing)
    path = store.path_for(digest)
    path.chmod(0o644)
    path.write_bytes(b"rotten")
    assert store.ingest(src, None, nothing) == (digest, True)
    assert path.read_bytes() == b"good bytes"
    assert path.stat().st_mode & 0o777 == 0o444
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []


def test_local_put_bytes_repairs_a_corrupt_blob_it_cannot_see_as_missing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    digest = sha(b"fresh")
    path = store.path_for(digest)
    path.parent.mkdir(parents=True)
    write(path, b"rotten")
    # has() says present, so put_bytes keeps it: only ingest reads and repairs.
    assert store.put_bytes(b"fresh") == digest and path.read_bytes() == b"rotten"
    assert store.ingest(write(tmp_path / "s", b"fresh"), None, nothing) == (digest, True)
    assert path.read_bytes() == b"fresh"
    with pytest.raises(FileNotFoundError):  # a failed copy leaves no temp file
        store.ingest(tmp_path / "absent", None, nothing)
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []
    assert list(store.iter_digests()) == [digest]


def test_local_temp_files_are_named_incoming_and_a_bad_root_is_named(tmp_path: Path) -> None:
    root = write(tmp_path / "blobs", "a file, not a folder")
    store = LocalBlobStore(root)
    with pytest.raises(StorageError, match=f"cannot write to blob store {root}: "):
        store.put_bytes(b"x")
    with pytest.raises(StorageError, match=f"cannot write to blob store {root}: "):
        store.ingest(write(tmp_path / "src", "x"), None, nothing)
    store = LocalBlobStore(tmp_path / "good")
    fd, name = store._tempfile()
    os.close(fd)
    assert Path(name).parent == tmp_path / "good" / "tmp"
    assert Path(name).name.startswith(".incoming-")


def test_local_fetch_refuses_an_existing_target_and_names_a_corrupt_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    digest = store.put_bytes(b"abc")
    seen: list[int] = []
    store.fetch(digest, tmp_path / "out", seen.append)
    assert (tmp_path / "out").read_bytes() == b"abc" and sum(seen) == 3
    with pytest.raises(FileExistsError):
        store.fetch(digest, tmp_path / "out", nothing)
    missing = "1" * 64
    with pytest.raises(CorruptBlobError) as info:
        store.fetch(missing, tmp_path / "m", nothing)
    assert str(info.value) == f"blob sha256:{missing} is missing from {store.root}"
    path = store.path_for(digest)
    path.chmod(0o644)
    path.write_bytes(b"rotten")
    with pytest.raises(CorruptBlobError) as info:
        store.fetch(digest, tmp_path / "bad", nothing)
    assert str(info.value) == (
        f"blob sha256:{digest} in {store.root} is corrupt (its bytes hash to {sha(b'rotten')})"
    )


def test_local_listing_is_sorted_with_sizes_and_times(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    assert list(store.iter_digests()) == [] and list(store.iter_blobs()) == []
    datas = [b"a", b"bb", b"ccc", b"dddd", b"eeeee"]
    digests = [store.put_bytes(d) for d in datas]
    assert list(store.iter_digests()) == sorted(digests)
    sizes = {sha(d): len(d) for d in datas}
    blobs = list(store.iter_blobs())
    assert [b.hexdigest for b in blobs] == sorted(digests)
    for blob in blobs:
        path = store.path_for(blob.hexdigest)
        assert blob == BlobInfo(blob.hexdigest, sizes[blob.hexdigest], path.stat().st_mtime)


def test_local_refresh_touches_only_a_blob_older_than_the_threshold(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    young = store.put_bytes(b"young")
    old = store.put_bytes(b"old")
    young_time = age(store.path_for(young), FRESH_FOR - 60)
    age(store.path_for(old), FRESH_FOR + 60)
    assert store.refresh(young) is True
    assert store.path_for(young).stat().st_mtime == young_time  # fresh enough: untouched
    assert store.refresh(old) is True
    assert store.path_for(old).stat().st_mtime > time.time() - 60
    assert store.refresh("2" * 64) is False
    write(tmp_path / "blobs" / "sha256" / "34", "a file where a folder should be")
    assert store.refresh("34" * 32) is False


def test_local_delete_moves_aside_then_judges_age(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    digest = store.put_bytes(b"gone")
    assert store.delete("5" * 64) is False
    assert store.delete(digest) is True and not store.has(digest)
    assert store.delete(digest) is False
    kept = store.put_bytes(b"kept")
    mtime = store.path_for(kept).stat().st_mtime
    assert store.delete(kept, older_than=mtime - 1) is False  # refreshed since: put back
    assert store.has(kept) and store.path_for(kept).read_bytes() == b"kept"
    assert store.delete(kept, older_than=mtime) is True  # exactly as old: removed
    assert not store.has(kept)
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []


def test_local_delete_that_cannot_move_says_so(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    digest = store.put_bytes(b"stuck")
    (tmp_path / "blobs" / "tmp").rmdir()
    write(tmp_path / "blobs" / "tmp", "a file where the scratch folder goes")
    with pytest.raises(StorageError, match=f"cannot remove blob sha256:{digest} from "):
        store.delete(digest)
    assert store.has(digest)


# -- the memory store --------------------------------------------------------------


def test_memory_store_ingests_counts_and_repairs(tmp_path: Path) -> None:
    store = MemoryBlobStore()
    assert (store.url, store.local_path("ab" * 32), store.remote) == ("memory://", None, False)
    src = write(tmp_path / "src", b"memory bytes")
    seen: list[int] = []
    before = time.time()
    digest, written = store.ingest(src, None, seen.append)
    assert (digest, written, seen, store.writes) == (sha(b"memory bytes"), True, [12], 1)
    assert before <= store.modified[digest] <= time.time()
    assert store.has(digest) and not store.has("6" * 64)
    # Known digest: the file is not read at all.
    assert store.ingest(tmp_path / "absent", digest, nothing) == (digest, False)
    # Sound copy held: nothing written.
    assert store.ingest(src, None, nothing) == (digest, False) and store.writes == 1
    store.blobs[digest] = b"rotten"
    assert store.ingest(src, None, nothing) == (digest, True)
    assert store.blobs[digest] == b"memory bytes" and store.writes == 2


def test_memory_fetch_writes_new_files_and_names_bad_blobs(tmp_path: Path) -> None:
    store = MemoryBlobStore()
    digest, _ = store.ingest(write(tmp_path / "src", b"abcd"), None, nothing)
    seen: list[int] = []
    store.fetch(digest, tmp_path / "out", seen.append)
    assert (tmp_path / "out").read_bytes() == b"abcd" and seen == [4]
    with pytest.raises(FileExistsError):
        store.fetch(digest, tmp_path / "out", nothing)
    with pytest.raises(CorruptBlobError) as info:
        store.fetch("7" * 64, tmp_path / "m", nothing)
    assert str(info.value) == f"blob sha256:{'7' * 64} is missing from memory://"
    store.blobs[digest] = b"rotten"
    with pytest.raises(CorruptBlobError) as info:
        store.fetch(digest, tmp_path / "bad", nothing)
    assert str(info.value) == f"blob sha256:{digest} in memory:// is corrupt"
    assert not (tmp_path / "bad").exists()


def test_memory_listing_is_sorted_and_dates_blobs_put_directly() -> None:
    store = MemoryBlobStore()
    store.blobs = {"b" * 64: b"22", "a" * 64: b"1", "c" * 64: b"333"}
    store.modified["c" * 64] = 5.0
    assert list(store.iter_digests()) == ["a" * 64, "b" * 64, "c" * 64]
    before = time.time()
    blobs = list(store.iter_blobs())
    assert [(b.hexdigest, b.size) for b in blobs] == [("a" * 64, 1), ("b" * 64, 2), ("c" * 64, 3)]
    assert before <= blobs[0].modified <= time.time() and blobs[2].modified == 5.0
    assert store.modified["a" * 64] == blobs[0].modified  # remembered, not re-dated


def test_memory_refresh_touches_only_an_old_blob() -> None:
    store = MemoryBlobStore()
    assert store.refresh("8" * 64) is False
    store.blobs = {"a" * 64: b"x", "b" * 64: b"y", "c" * 64: b"z"}
    young = time.time() - FRESH_FOR + 60
    store.modified = {"a" * 64: young, "b" * 64: time.time() - FRESH_FOR - 60}
    assert store.refresh("a" * 64) is True and store.modified["a" * 64] == young
    assert store.refresh("b" * 64) is True and store.modified["b" * 64] > time.time() - 60
    assert store.refresh("c" * 64) is True and store.modified["c" * 64] > time.time() - 60


def test_memory_delete_keeps_a_blob_younger_than_the_cutoff() -> None:
    store = MemoryBlobStore()
    store.blobs = {"a" * 64: b"x", "b" * 64: b"y", "c" * 64: b"z"}
    store.modified = {"a" * 64: 100.0, "b" * 64: 100.0}
    assert store.delete("a" * 64, older_than=99.0) is False and store.has("a" * 64)
    assert store.delete("a" * 64, older_than=100.0) is True and not store.has("a" * 64)
    assert "a" * 64 not in store.modified
    assert store.delete("b" * 64) is True and "b" * 64 not in store.modified
    assert store.delete("c" * 64, older_than=0.0) is True  # never dated: as old as can be
    assert store.delete("c" * 64) is False


Task = tuple[str, int, list[int]]


@pytest.fixture
def tasks() -> Iterator[list[Task]]:
    """Every progress task the library opens: its description, total and advances."""
    seen: list[Task] = []

    @contextmanager
    def sink(description: str, total: int) -> Iterator[Callable[[int], None]]:
        advances: list[int] = []
        seen.append((description, total, advances))
        yield advances.append

    progress.set_sink(sink)
    try:
        yield seen
    finally:
        progress.set_sink(None)


# -- downloading -------------------------------------------------------------------


def log_files(files: dict[str, bytes]) -> None:
    with wandb.init(project="p") as run:
        art = wandb.Artifact("a", type="t")
        for path, data in files.items():
            art.add_file(str(write(Path("src") / path, data)), name=path)
        run.log_artifact(art)


def record_of(ctx: Context) -> VersionRecord:
    return ctx.resolve("p/a:v0", project="p")


def logged(files: dict[str, bytes]) -> tuple[Context, VersionRecord]:
    """Log ``files`` as p/a:v0; the opened registry and the version's record."""
    log_files(files)
    ctx = Context.open()
    return ctx, record_of(ctx)


FILES = {f"d{i % 3}/f{i}.bin": f"content {i}".encode() * (i + 1) for i in range(8)}


def test_download_writes_every_file_verified_and_learns_them(registry: RegistryStore) -> None:
    ctx, record = logged(FILES)
    assert dl.download_version(ctx, record, "out") == "out"
    for path, data in FILES.items():
        assert Path("out", path).read_bytes() == data
    assert dl.verify_files(record, "out").ok
    # Every file is in the stat cache, so a second download opens none of them.
    inodes = {p: os.stat(Path("out", p)).st_ino for p in FILES}
    for path in FILES:
        target = Path("out", path).resolve()
        assert ctx.stat_cache.lookup(str(target), os.stat(target)) == sha(FILES[path])
    dl.download_version(ctx, record, "out")
    assert {p: os.stat(Path("out", p)).st_ino for p in FILES} == inodes
    assert not [n for n in os.listdir("out/d0") if n.startswith(".part-")]


def test_download_default_root_and_prefix(registry: RegistryStore) -> None:
    ctx, record = logged(FILES)
    assert dl.download_version(ctx, record, path_prefix="d1/") == str(Path("artifacts/a:v0"))
    assert {
        str(p.relative_to("artifacts/a:v0")) for p in Path("artifacts/a:v0").rglob("*.bin")
    } == {p for p in FILES if p.startswith("d1/")}
    with pytest.raises(VerificationError):  # the other files are missing
        dl.verify_files(record)
    dl.download_version(ctx, record)
    report = dl.verify_files(record)
    assert report.ok and report.root == str(Path("artifacts") / "a:v0")


def test_download_replaces_a_wrong_file_and_keeps_a_right_one(registry: RegistryStore) -> None:
    ctx, record = logged({"a.txt": b"right", "b.txt": b"also right"})
    dl.download_version(ctx, record, "out")
    kept = os.stat("out/a.txt").st_ino
    Path("out/b.txt").write_bytes(b"wrong!")
    dl.download_version(ctx, record, "out")
    assert os.stat("out/a.txt").st_ino == kept
    assert Path("out/b.txt").read_bytes() == b"also right"


def test_download_refuses_a_corrupt_blob_and_leaves_no_part_file(registry: RegistryStore) -> None:
    ctx, record = logged({"a.txt": b"original"})
    path = ctx.blobs.local_path(sha(b"original"))
    assert path is not None
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(CorruptBlobError, match=r"^p/a:v0: file 'a.txt': blob sha256:"):
        dl.download_version(ctx, record, "out", label="p/a:v0")
    assert os.listdir("out") == []
    with pytest.raises(CorruptBlobError, match=r"^p/a:v0: file 'a.txt': blob sha256:"):
        dl.download_version(ctx, record, "out")  # the label defaults to the version
    assert os.listdir("out") == []


def test_download_of_a_remote_store_goes_through_the_cache_and_rechecks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tasks: list[Task]
) -> None:
    reg = init_registry(tmp_path / "reg", storage="memory://dl")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(reg.root))
    ctx, record = logged({"a.txt": b"cached bytes"})
    hexdigest = sha(b"cached bytes")
    assert isinstance(ctx.blobs, MemoryBlobStore)
    ctx.blobs.blobs[hexdigest] = b"cached bytes"
    dl.download_version(ctx, record, "one")
    assert Path("one/a.txt").read_bytes() == b"cached bytes"
    cached = ctx.cache.path_for(hexdigest)
    assert cached.is_file()
    tasks.clear()
    dl.download_version(ctx, record, "two")  # a cache hit, hashed again
    assert [(t, sum(a)) for _d, t, a in tasks] == [(12, 12)]
    assert Path("two/a.txt").read_bytes() == b"cached bytes"
    cached.chmod(0o644)
    cached.write_bytes(b"damaged")
    with pytest.raises(CorruptBlobError, match=r"cached blob sha256:.* was corrupt; removed it"):
        dl.download_version(ctx, record, "three")
    assert not cached.exists() and not Path("three/a.txt").exists()
    dl.download_version(ctx, record, "three")  # fetched again from the store
    assert Path("three/a.txt").read_bytes() == b"cached bytes"


def test_download_refuses_a_deleted_version_and_a_file_for_a_folder(
    registry: RegistryStore,
) -> None:
    ctx, record = logged({"a.txt": b"x"})
    write("plain", "x")
    with pytest.raises(ArtifactError, match=r"^cannot download into plain: it is a "):
        dl.download_version(ctx, record, "plain")
    with pytest.raises(ArtifactError, match=r"^cannot download into plain/sub: plain is a "):
        dl.download_version(ctx, record, "plain/sub")
    wandb.Api().artifact("p/a:v0").delete()
    ctx = Context.open()
    record = ctx.resolve("p/a:v0", project="p", include_deleted=True)
    with pytest.raises(ArtifactError, match="deleted"):
        dl.download_version(ctx, record, "out")
    assert not Path("out").exists()


def test_run_cancels_what_has_not_started_after_the_first_failure() -> None:
    started: list[int] = []
    gate = threading.Event()

    def job(item: int) -> None:
        started.append(item)
        if item == 1:
            raise ValueError(f"item {item}")
        gate.wait(0.2)

    with pytest.raises(ValueError, match="item 1"):
        dl._run(list(range(40)), 2, job)
    assert len(started) < 10


def test_run_raises_the_earliest_failure_and_runs_in_threads() -> None:
    names: set[str] = set()

    def job(item: int) -> None:
        names.add(threading.current_thread().name)
        time.sleep(0.02)
        if item in (0, 1):
            time.sleep(0.05 if item == 0 else 0)
            raise ValueError(f"item {item}")

    with pytest.raises(ValueError, match="item 0"):
        dl._run([0, 1, 2], 3, job)
    assert all(n.startswith("registry-tool-get") for n in names)
    ran: list[int] = []
    dl._run([1, 2, 3], 1, ran.append)
    assert ran == [1, 2, 3]
    dl._run([], 4, ran.append)
    main: list[str] = []
    dl._run([1], 8, lambda _i: main.append(threading.current_thread().name))
    assert main == [threading.main_thread().name]  # one item: no pool
    two: list[str] = []
    dl._run([1, 2], 2, lambda _i: two.append(threading.current_thread().name))
    assert all(n.startswith("registry-tool-get") for n in two)  # two items: two threads


def test_reference_workers_follow_the_setting_then_the_schemes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REGISTRY_TOOL_WORKERS", raising=False)
    assert dl.reference_workers([]) == 1
    local = Entry(path="a", digest="md5:" + "0" * 32, size=1, ref="file:///tmp/a")
    assert dl.reference_workers([local]) == 1
    web = Entry(path="b", digest="md5:" + "0" * 32, size=1, ref="HTTPS://example.com/b")
    assert dl.reference_workers([local, web]) == 16
    monkeypatch.setenv("REGISTRY_TOOL_WORKERS", "3")
    assert dl.reference_workers([local, web]) == 3


def test_verify_report_lists_at_most_five_of_each(registry: RegistryStore) -> None:
    report = dl.VerifyReport("root")
    assert report.ok and str(report) == "root: every file matches"
    report.missing = [f"m{i}" for i in range(7)]
    report.extra = ["e"]
    assert not report.ok
    assert str(report) == "root: 7 missing: m0, m1, m2, m3, m4 (+2 more); 1 extra: e"
    report = dl.VerifyReport("r", changed=[f"c{i}" for i in range(5)])
    assert str(report) == "r: 5 changed: c0, c1, c2, c3, c4"
    report.changed.append("c5")
    assert str(report) == "r: 6 changed: c0, c1, c2, c3, c4 (+1 more)"


def test_verify_finds_missing_changed_extra_and_fifos(registry: RegistryStore) -> None:
    ctx, record = logged({"a.txt": b"a", "b.txt": b"b", "c.txt": b"c"})
    with pytest.raises(VerificationError) as info:
        dl.verify_files(record, "nowhere")
    assert info.value.report.missing == ["a.txt", "b.txt", "c.txt"]
    dl.download_version(ctx, record, "out")
    os.unlink("out/a.txt")
    Path("out/b.txt").write_bytes(b"changed")
    os.unlink("out/c.txt")
    os.mkfifo("out/c.txt")
    write("out/deep/er/x", "extra")
    with pytest.raises(VerificationError) as info:
        dl.verify_files(record, "out")
    report = info.value.report
    assert (report.missing, report.changed, report.extra) == (
        ["a.txt"],
        ["b.txt", "c.txt"],
        ["deep/er/x"],
    )
    write("afile", "x")
    with pytest.raises(ArtifactError, match=r"^cannot verify afile: it is a "):
        dl.verify_files(record, "afile")


def test_download_and_verify_report_their_bytes(registry: RegistryStore, tasks: list[Task]) -> None:
    ctx, record = logged({"a.txt": b"aaaa", "empty": b"", "b.txt": b"bbbbbbbbb"})
    tasks.clear()
    dl.download_version(ctx, record, "out")
    assert [(d, t, sum(a)) for d, t, a in tasks] == [("downloading 3 files", 13, 13)]
    tasks.clear()
    dl.download_version(ctx, record, "out")  # all present: nothing to fetch
    assert [(d, t, sum(a)) for d, t, a in tasks] == [("downloading 0 files", 0, 0)]
    tasks.clear()
    os.unlink("out/a.txt")
    with pytest.raises(VerificationError):
        dl.verify_files(record, "out")
    # The missing file is not counted; the empty one counts for nothing.
    assert [(d, t, sum(a)) for d, t, a in tasks] == [("verifying", 9, 9)]


def test_verify_lists_links_but_never_enters_linked_folders(registry: RegistryStore) -> None:
    ctx, record = logged({"a.txt": b"x"})
    dl.download_version(ctx, record, "out")
    write("elsewhere/inner.txt", "outside")
    os.symlink(Path("elsewhere").resolve(), "out/linked")
    os.symlink(Path("elsewhere/inner.txt").resolve(), "out/filelink")
    with pytest.raises(VerificationError) as info:
        dl.verify_files(record, "out")
    assert info.value.report.extra == ["filelink"]


def test_verify_checks_only_the_size_of_a_reference(registry: RegistryStore) -> None:
    log_files({"a.txt": b"x"})
    ctx = Context.open()
    md5 = "md5:" + "0" * 32
    sized = Entry(path="sized", digest=md5, size=3, ref="https://example.invalid/s")
    unsized = Entry(path="unsized", digest=md5, size=None, ref="https://example.invalid/u")
    record = replace(record_of(ctx), entries=(sized, unsized))
    write("out/sized", "abc")
    write("out/unsized", "any length at all")
    assert dl.verify_files(record, "out").ok
    write("out/sized", "abcd")
    os.unlink("out/unsized")
    os.mkfifo("out/unsized")
    with pytest.raises(VerificationError) as info:
        dl.verify_files(record, "out")
    assert info.value.report.changed == ["sized", "unsized"]


def test_download_refuses_to_write_through_a_link_out_of_the_folder(
    registry: RegistryStore,
) -> None:
    ctx, record = logged({"d/a.txt": b"x", "b.txt": b"y"})
    write("elsewhere/b.txt", "keep")
    Path("out").mkdir()
    os.symlink(Path("elsewhere").resolve(), "out/d")
    with pytest.raises(VerificationError, match=r"file 'd/a.txt' would land outside out"):
        dl.download_version(ctx, record, "out")
    os.unlink("out/d")
    os.symlink(Path("elsewhere/b.txt").resolve(), "out/b.txt")
    with pytest.raises(VerificationError, match=r"file 'b.txt' would land outside out"):
        dl.download_version(ctx, record, "out")
    assert Path("elsewhere/b.txt").read_text() == "keep"
    os.unlink("out/b.txt")
    write("out/other.txt", "other")
    os.symlink(Path("out/other.txt").resolve(), "out/b.txt")  # a link inside is replaced
    dl.download_version(ctx, record, "out")
    assert not Path("out/b.txt").is_symlink() and Path("out/other.txt").read_text() == "other"
    assert Path("out/d/a.txt").read_text() == "x" and Path("out/b.txt").read_text() == "y"


def test_download_fetches_file_references_in_parallel(
    registry: RegistryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = {f"r{i}.txt": f"referenced {i}".encode() for i in range(6)}
    for name, content in data.items():
        write(Path("refs") / name, content)
    with wandb.init(project="p") as run:
        art = wandb.Artifact("a", type="t")
        art.add_reference(Path("refs").resolve().as_uri(), name="refs")
        art.add_file(str(write("stored.txt", "stored")), name="stored.txt")
        run.log_artifact(art)
    monkeypatch.setenv("REGISTRY_TOOL_WORKERS", "3")
    ctx = Context.open()
    record = record_of(ctx)
    assert ctx.workers == 3
    dl.download_version(ctx, record, "out")
    for name, content in data.items():
        assert Path("out/refs", name).read_bytes() == content
    assert Path("out/stored.txt").read_text() == "stored"
    assert sorted(os.listdir("out/refs")) == sorted(data)
    assert dl.verify_files(record, "out").ok
    Path("refs/r0.txt").write_bytes(b"changed since")
    os.unlink("out/refs/r0.txt")
    with pytest.raises(RegistryError, match=r"^p/a:v0: file 'refs/r0.txt': "):
        dl.download_version(ctx, record, "out", label="p/a:v0")
    assert sorted(os.listdir("out/refs")) == sorted(data)[1:]


def test_download_writes_under_a_short_temp_name_then_renames(
    registry: RegistryStore, tasks: list[Task]
) -> None:
    long_name = "n" * 255
    ctx, record = logged({long_name: b"z" * 3000})
    seen: list[list[str]] = []

    @contextmanager
    def sink(description: str, total: int) -> Iterator[Callable[[int], None]]:
        yield lambda _n: seen.append(os.listdir("out"))

    progress.set_sink(sink)
    dl.download_version(ctx, record, "out")
    # While the bytes arrive only the temp file is there, named .part- and 16 hex digits.
    assert seen and all(len(names) == 1 for names in seen)
    temp = seen[0][0]
    assert temp.startswith(".part-") and len(temp) == len(".part-") + 16
    assert os.listdir("out") == [long_name]


def test_download_onto_a_folder_names_the_target_and_cleans_up(registry: RegistryStore) -> None:
    ctx, record = logged({"a.txt": b"x"})
    Path("out/a.txt").mkdir(parents=True)
    with pytest.raises(
        ArtifactError, match=r"^p/a:v0: file 'a.txt': cannot write .*a.txt: Is a directory$"
    ):
        dl.download_version(ctx, record, "out")
    assert os.listdir("out") == ["a.txt"] and os.listdir("out/a.txt") == []


def test_run_uses_exactly_the_workers_asked_for() -> None:
    running: list[int] = []
    peak: list[int] = []
    lock = threading.Lock()

    def job(_item: int) -> None:
        with lock:
            running.append(1)
            peak.append(len(running))
        time.sleep(0.03)
        with lock:
            running.pop()

    dl._run(list(range(8)), 2, job)
    assert max(peak) == 2


def test_download_root_is_made_or_its_failure_named(registry: RegistryStore) -> None:
    ctx, record = logged({"a.txt": b"x"})
    dl.download_version(ctx, record, "new/deeper/out", path_prefix="none/")
    assert Path("new/deeper/out").is_dir() and os.listdir("new/deeper/out") == []
    os.symlink("loop", "loop")
    with pytest.raises(ArtifactError, match=r"^cannot download into loop: Too many levels"):
        dl.download_version(ctx, record, "loop")
    with pytest.raises(ArtifactError, match=r"^cannot download into /proc/no-such-folder: "):
        dl.download_version(ctx, record, "/proc/no-such-folder")


def test_local_store_never_takes_a_folder_or_a_link_for_a_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    src = write(tmp_path / "src", b"the real bytes")
    digest = sha(b"the real bytes")
    store.path_for(digest).mkdir(parents=True)
    # A folder at the key is unreadable as a blob: not kept as a sound copy.
    with pytest.raises(IsADirectoryError):
        store.ingest(src, None, nothing)
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []
    store.path_for(digest).rmdir()
    big = write(tmp_path / "big", b"b" * 10_000)
    link = store.path_for("ab" * 32)
    link.parent.mkdir(parents=True)
    link.symlink_to(big)
    # A link is listed as itself (its own size), never followed to what it names.
    sizes = {b.hexdigest: b.size for b in store.iter_blobs()}
    assert sizes["ab" * 32] == len(str(big))
