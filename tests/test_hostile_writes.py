"""The write path under hostile conditions: nothing lost, nothing corrupt, nothing
half-written.

Each test drives a real registry (real git repos, bare remotes, real processes, a real
SeaweedFS behind the fault proxy where S3 is concerned) into a state a writer meets in
practice -- an unfinished merge, a version deleted by a teammate, a corrupt blob, a
garbage collection running alongside, a manifest too large, a number no reader can
hold, a read-only disk, years of loose objects -- and asserts that the write is either
refused before anything is stored, with one clear error, or completes with everything
it names in place. Inputs a case file can describe live in ``tests/data/hostile/``
(``writes-*`` and ``metadata-*``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool import errors
from registry_tool._blobs import LocalBlobStore, MemoryBlobStore
from registry_tool._blobs import s3 as s3_module
from registry_tool._blobs.s3 import S3BlobStore
from registry_tool._engine import Context
from registry_tool._model.records import StorageConfig
from registry_tool._store import RegistryStore, init_registry
from registry_tool._store.git import Git
from registry_tool._store.trees import TreeEntry
from registry_tool._yamlio import MAX_BYTES
from tests.faultproxy import FaultProxy
from tests.helpers import (
    CLI_SCRIPT,
    clone_bare,
    clone_registry,
    git,
    init_s3_registry,
    invoke,
    write,
)
from tests.s3server import SeaweedFS

# --- a small registry: p/data v0 (a.txt) and v1, model-registry/models ---------------


def _seed(root: Path) -> RegistryStore:
    store = init_registry(root, name="test-registry")
    write("a.txt", "alpha\n")
    for content in ("alpha\n", "alpha2\n"):
        Path("a.txt").write_text(content)
        with wandb.init(project="p", id=f"seed{len(content)}") as run:
            art = wandb.Artifact("data", type="dataset")
            art.add_file("a.txt")
            run.log_artifact(art)
    assert invoke("link", "p/data:v0", "model-registry/models").exit_code == 0
    return store


@pytest.fixture
def reg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RegistryStore:
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(tmp_path / "registry"))
    return _seed(tmp_path / "registry")


def _blobs(root: Path) -> set[str]:
    return {p.name for p in (root / ".blobs" / "sha256").glob("*/*")}


def _refs(root: Path) -> str:
    return git(root, "for-each-ref", "--format=%(refname) %(objectname)")


def _stderr(*args: str, code: int = 1) -> str:
    result = invoke(*args)
    assert "Traceback" not in result.output + result.stderr
    assert result.exit_code == code, (args, result.output, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- 1. writes while a git operation is unfinished ------------------------------------


def _conflict(root: Path) -> None:
    """Two branches that change the same line of a file next to the registry."""
    write(root / "NOTES.md", "base\n")
    git(root, "add", "NOTES.md")
    git(root, "commit", "-q", "-m", "notes")
    git(root, "branch", "side")
    write(root / "NOTES.md", "ours\n")
    git(root, "commit", "-q", "-am", "ours")
    git(root, "checkout", "-q", "side")
    write(root / "NOTES.md", "theirs\n")
    git(root, "commit", "-q", "-am", "theirs")
    git(root, "checkout", "-q", "main")


UNFINISHED = {
    "merge": (
        ["merge", "side"],
        "a merge is in progress: finish it (git commit) or abort it (git merge --abort)",
    ),
    "rebase": (
        ["rebase", "--merge", "side"],
        "a rebase is in progress: finish it (git rebase --continue) or abort it "
        "(git rebase --abort)",
    ),
    "rebase-apply": (
        ["rebase", "--apply", "side"],
        "a rebase is in progress: finish it (git rebase --continue) or abort it "
        "(git rebase --abort)",
    ),
    "cherry-pick": (
        ["cherry-pick", "side"],
        "a cherry-pick is in progress: finish it (git cherry-pick --continue) or abort it "
        "(git cherry-pick --abort)",
    ),
    "revert": (
        ["revert", "--no-edit", "HEAD~1"],
        "a revert is in progress: finish it (git revert --continue) or abort it "
        "(git revert --abort)",
    ),
    "bisect": (["bisect", "start"], "a bisect is in progress: end it (git bisect reset)"),
}


@pytest.mark.parametrize("operation", sorted(UNFINISHED))
def test_no_write_lands_under_an_unfinished_git_operation(
    operation: str, reg: RegistryStore
) -> None:
    """A log, an alias move or a delete during a conflicted merge (rebase, cherry-pick,
    revert, bisect) would commit under it, and the user's merge commit would then drop
    the version or alias: each is refused, before any blob is stored."""
    root = reg.root
    _conflict(root)
    args, how = UNFINISHED[operation]
    if operation == "revert":
        write(root / "NOTES.md", "again\n")
        git(root, "commit", "-q", "-am", "again")
    git(root, *args, check=False)
    write("new.txt", "never stored\n")
    refs, status, blobs = _refs(root), git(root, "status", "--porcelain"), _blobs(root)
    expected = f"error: {root}: {how}, then write again"
    assert _stderr("log", "new.txt", "--name", "p/new", "--type", "dataset") == expected
    assert _stderr("alias", "set", "p/data:v0", "best") == expected
    assert _stderr("delete", "p/data:v0") == expected
    assert _stderr("link", "p/data:v1", "model-registry/models") == expected
    assert (_refs(root), git(root, "status", "--porcelain"), _blobs(root)) == (refs, status, blobs)


def test_a_log_on_a_detached_head_stores_no_blob(reg: RegistryStore) -> None:
    root = reg.root
    git(root, "checkout", "-q", "--detach", "HEAD")
    write("new.txt", "never stored\n")
    blobs = _blobs(root)
    message = _stderr("log", "new.txt", "--name", "p/new", "--type", "dataset")
    assert message == f"error: {root} has a detached HEAD: check out a branch to write"
    assert _blobs(root) == blobs


# --- 2. writes racing a delete -------------------------------------------------------------


@pytest.fixture
def stale(reg: RegistryStore, tmp_path: Path) -> tuple[Path, Path, Path]:
    """(a clone that deleted p/data:v0 and pushed, a stale clone that has not fetched
    since, the bare remote), the registry selected being the stale clone."""
    bare = clone_bare(reg.root, tmp_path / "remote.git")
    fresh = clone_registry(bare, tmp_path / "fresh").root
    old = clone_registry(bare, tmp_path / "old").root
    for clone in (fresh, old):
        shutil.copytree(reg.root / ".blobs", clone / ".blobs", dirs_exist_ok=True)
    result = invoke("--registry", str(fresh), "delete", "p/data:v0", "--delete-aliases")
    assert result.exit_code == 0, result.output
    return fresh, old, bare


@pytest.mark.parametrize(
    "args",
    [
        ["alias", "set", "p/data:v0", "best"],
        ["link", "p/data:v0", "model-registry/models", "--alias", "candidate"],
    ],
    ids=["alias-set", "link"],
)
def test_a_stale_clone_cannot_alias_or_link_a_version_deleted_upstream(
    args: list[str], stale: tuple[Path, Path, Path]
) -> None:
    """The write is rebuilt on the remote's tip after its push is rejected: there the
    version is deleted, so the rebuilt write is refused and nothing is pushed."""
    _fresh, old, bare = stale
    remote_before = git(bare, "rev-parse", "main")
    local_before = git(old, "rev-parse", "main")
    message = _stderr("--registry", str(old), *args)
    assert message.startswith("error: p/data:v0 was deleted on "), message
    assert message.endswith("; it can no longer be used")
    assert git(bare, "rev-parse", "main") == remote_before
    assert git(old, "rev-parse", "main") == local_before
    assert git(old, "status", "--porcelain") == ""


def _process(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLI_SCRIPT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_alias_set_and_link_racing_delete_never_leave_a_name_on_a_deleted_version(
    reg: RegistryStore,
) -> None:
    """Three processes on one clone, each round: alias set, link and delete of the
    same new version. Whoever wins, no alias or stage is left on a deleted version
    (``check`` says so), and a command that lost says why in one line."""
    rounds = 6
    for i in range(rounds):
        write("a.txt", f"round {i}\n")
        assert invoke("log", "a.txt", "--name", "p/data", "--type", "dataset").exit_code == 0
        version = f"p/data:v{i + 2}"
        procs = [
            _process("alias", "set", version, f"best{i}"),
            _process("link", version, "model-registry/models", "--alias", f"stage{i}"),
            _process("delete", version, "--delete-aliases"),
        ]
        for proc in procs:
            _out, err = proc.communicate(timeout=120)
            assert proc.returncode in (0, 1), err
            if proc.returncode == 1:
                assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    result = invoke("check")
    assert result.exit_code == 0, result.output + result.stderr


# --- 3. a corrupt blob is repaired by a log that has the bytes ------------------------------


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    if request.param == "memory":
        return MemoryBlobStore()
    server = request.getfixturevalue("s3_env")
    bucket = request.getfixturevalue("bucket")
    return S3BlobStore(StorageConfig(url=f"s3://{bucket}/pre", endpoint_url=server.endpoint))


def _corrupt(store, hexdigest: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    path = store.local_path(hexdigest)
    if path is not None:
        path.chmod(0o644)
        path.write_bytes(data)
    elif store.remote:
        store.client.put_object(Bucket=store.bucket, Key=store.key(hexdigest), Body=data)
    else:
        store.blobs[hexdigest] = data


def _stored(store, hexdigest: str, tmp_path: Path) -> bytes:  # type: ignore[no-untyped-def]
    target = tmp_path / f"out-{time.monotonic_ns()}"
    store.fetch(hexdigest, target, lambda _n: None)
    return target.read_bytes()


@pytest.mark.parametrize("rot", ["other-size", "same-size"])
def test_storing_the_good_bytes_over_a_corrupt_blob_repairs_it(store, rot, tmp_path):  # type: ignore[no-untyped-def]
    data = b"precious bytes\n" * 100
    src = write(tmp_path / "src.bin", data)
    digest, written = store.ingest(src, None, lambda _n: None)
    assert written
    _corrupt(store, digest, b"rotten" if rot == "other-size" else b"x" * len(data))
    with pytest.raises(errors.CorruptBlobError):
        _stored(store, digest, tmp_path)
    again = write(tmp_path / "again.bin", data)  # the same bytes, not known to any cache
    assert store.ingest(again, None, lambda _n: None) == (digest, True)
    assert _stored(store, digest, tmp_path) == data
    # A sound blob is left as it is.
    assert store.ingest(again, None, lambda _n: None) == (digest, False)


@pytest.mark.parametrize("rot", ["other-size", "same-size-in-parts"])
def test_storing_a_large_file_over_its_corrupt_multipart_blob_repairs_it(
    rot: str, tmp_path: Path, s3_env: SeaweedFS, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large files go up in parts; S3 then keeps a checksum of the parts' checksums,
    which is what a stored large blob is judged by."""
    monkeypatch.setattr(s3_module, "MULTIPART_FROM", 1024 * 1024)
    monkeypatch.setattr(s3_module, "MIN_PART", 5 * 1024 * 1024)
    store = S3BlobStore(StorageConfig(url=f"s3://{bucket}/pre", endpoint_url=s3_env.endpoint))
    data = hashlib.sha256(b"large").digest() * (6 * 1024 * 1024 // 32)
    digest, written = store.ingest(write(tmp_path / "big.bin", data), None, lambda _n: None)
    assert written
    if rot == "other-size":
        _corrupt(store, digest, b"rotten")
    else:  # other bytes of the same size, uploaded in checksummed parts as the store does
        client, key, part = store.client, store.key(digest), 5 * 1024 * 1024
        upload = client.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")[
            "UploadId"
        ]
        parts = []
        for number, start in enumerate(range(0, len(data), part), 1):
            body = b"x" * len(data[start : start + part])
            checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
            sent = client.upload_part(
                Bucket=bucket,
                Key=key,
                UploadId=upload,
                PartNumber=number,
                Body=body,
                ChecksumSHA256=checksum,
            )
            parts.append({"ETag": sent["ETag"], "PartNumber": number, "ChecksumSHA256": checksum})
        client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
        )
        head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ContentLength"] == len(data) and "-" in head["ChecksumSHA256"]
    with pytest.raises(errors.CorruptBlobError):
        _stored(store, digest, tmp_path)
    again = write(tmp_path / "again.bin", data)
    assert store.ingest(again, None, lambda _n: None) == (digest, True)
    assert _stored(store, digest, tmp_path) == data
    assert store.ingest(again, None, lambda _n: None) == (digest, False)


def test_a_log_over_a_corrupt_blob_repairs_it_and_downloads_work_again(
    reg: RegistryStore, tmp_path: Path
) -> None:
    hexdigest = hashlib.sha256(b"alpha\n").hexdigest()
    blob = reg.root / ".blobs" / "sha256" / hexdigest[:2] / hexdigest
    blob.chmod(0o644)
    blob.write_bytes(b"rotten")
    write("copy/a.txt", "alpha\n")
    assert invoke("log", "copy/a.txt", "--name", "p/copy", "--type", "dataset").exit_code == 0
    assert blob.read_bytes() == b"alpha\n" and blob.stat().st_mode & 0o222 == 0
    assert invoke("get", "p/data:v0", "--root", str(tmp_path / "out")).exit_code == 0
    assert (tmp_path / "out" / "a.txt").read_text() == "alpha\n"


# --- 4. gc racing a log ---------------------------------------------------------------------


@pytest.fixture
def proxy(s3_env: SeaweedFS) -> Iterator[FaultProxy]:
    with FaultProxy(s3_env.endpoint) as running:
        yield running


@pytest.fixture
def proxied(
    tmp_path: Path, proxy: FaultProxy, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> RegistryStore:
    store = init_s3_registry(
        tmp_path / "proxied-registry", name="proxied", bucket=bucket, endpoint=proxy.endpoint
    )
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(store.root))
    monkeypatch.setenv("REGISTRY_TOOL_WORKERS", "1")  # one PUT after the other
    return store


def _log_while_gc_runs(
    proxy: FaultProxy, s3: SeaweedFS, bucket: str, *, change_first: Path | None = None
) -> tuple[int, str]:
    """Start ``log d`` in a process (every request slowed by the proxy); stop it with
    SIGSTOP once its first blob is in the bucket, run ``gc --grace 0`` to completion
    (which takes that blob: no commit names it yet), and let the log go on. Returns
    its exit code and stderr."""
    first = hashlib.sha256(Path("d/a.bin").read_bytes()).hexdigest()
    key = f"blobs/sha256/{first[:2]}/{first}"
    client = s3.client()
    proxy.set(delay=1.5)
    log = _process("log", "d", "--name", "p/data", "--type", "dataset")
    deadline = time.monotonic() + 60
    while not client.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"):
        assert time.monotonic() < deadline and log.poll() is None, log.communicate()
        time.sleep(0.01)
    os.kill(log.pid, signal.SIGSTOP)
    try:
        proxy.heal()
        if change_first is not None:
            change_first.write_bytes(b"changed while the log ran\n")
        result = invoke("gc", "--grace", "0", "--force")
        assert result.exit_code == 0, result.output
        assert ": removed 0 blobs" not in result.output, result.output
        assert not client.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount")
    finally:
        os.kill(log.pid, signal.SIGCONT)
    _out, err = log.communicate(timeout=120)
    return log.returncode, err


def test_a_log_that_gc_robbed_of_a_blob_stores_it_again_before_committing(
    proxied: RegistryStore, proxy: FaultProxy, s3_env: SeaweedFS, bucket: str
) -> None:
    write("d/a.bin", b"first\n")
    write("d/b.bin", b"second\n")
    code, err = _log_while_gc_runs(proxy, s3_env, bucket)
    assert code == 0, err
    client = s3_env.client()
    for data in (b"first\n", b"second\n"):
        hexdigest = hashlib.sha256(data).hexdigest()
        key = f"blobs/sha256/{hexdigest[:2]}/{hexdigest}"
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    assert invoke("verify", "--all").exit_code == 0


def test_a_log_robbed_of_a_blob_whose_file_changed_commits_nothing(
    proxied: RegistryStore, proxy: FaultProxy, s3_env: SeaweedFS, bucket: str
) -> None:
    write("d/a.bin", b"first\n")
    write("d/b.bin", b"second\n")
    head = proxied.git.rev_parse("HEAD")
    code, err = _log_while_gc_runs(proxy, s3_env, bucket, change_first=Path("d/a.bin"))
    assert code == 1, err
    assert err.strip().splitlines() == [
        f"error: {Path('d/a.bin').resolve()} changed while it was being logged; log again"
    ]
    assert proxied.git.rev_parse("HEAD") == head


# --- 5. a manifest too large for a registry file ----------------------------------------------

# Entry paths of 994 bytes in segments of 246 (a segment may have 255): each entry takes
# at least 1,095 bytes of YAML.
LONG = "/".join(letter * 246 for letter in "wxyz")
PER_ENTRY = len(LONG) + len("/000000") + 101
TOO_MANY = MAX_BYTES // PER_ENTRY + 1


def _names(count: int) -> list[str]:
    return [f"{LONG}/{i:06d}" for i in range(count)]


def test_a_manifest_too_large_is_refused_before_any_blob_is_stored(reg: RegistryStore) -> None:
    write("one.txt", "the same bytes under many names\n")
    art = wandb.Artifact("huge", type="dataset")
    for name in _names(TOO_MANY):
        art.add_file("one.txt", name=name)
    blobs, refs = _blobs(reg.root), _refs(reg.root)
    started = time.monotonic()
    with pytest.raises(errors.UsageError) as caught, wandb.init(project="p") as run:
        run.log_artifact(art)
    assert str(caught.value) == (
        f"artifact p/huge: {TOO_MANY:,} files make a manifest of at least 64 MiB, more than "
        "the 64 MiB a registry file may be; split them into several artifacts"
    )
    assert time.monotonic() - started < 30
    assert (_blobs(reg.root), _refs(reg.root)) == (blobs, refs)


def test_the_manifest_size_check_at_its_boundary(reg: RegistryStore) -> None:
    ctx = Context.open(reg.root)

    def precheck(count: int) -> None:
        ctx.precheck_log(
            project="p",
            name="huge",
            type="dataset",
            paths=_names(count),
            refs=[],
            description=None,
            metadata={},
            aliases=[],
        )

    precheck(TOO_MANY - 1)
    with pytest.raises(errors.UsageError, match=f"^artifact p/huge: {TOO_MANY:,} files make"):
        precheck(TOO_MANY)


# --- 6. numbers no reader can hold, bad run fields, a read-only disk -----------------------


@pytest.mark.parametrize("value", [2**64 - 1, -(2**63), 10**18], ids=["2^64-1", "-2^63", "10^18"])
def test_integers_within_64_bits_are_logged_and_read_back(reg: RegistryStore, value: int) -> None:
    write("f.txt", f"{value}\n")
    with wandb.init(project="p") as run:
        art = wandb.Artifact("nums", type="dataset", metadata={"n": value})
        art.add_file("f.txt")
        run.log_artifact(art)
    assert wandb.Api().artifact("p/nums:latest").metadata == {"n": value}
    assert invoke("check").exit_code == 0
    assert str(value) in invoke("show", "p/nums:latest").output


@pytest.mark.parametrize(
    "value", [2**64, -(2**63) - 1, 10**5000], ids=["2^64", "-2^63-1", "10^5000"]
)
def test_a_run_config_integer_beyond_64_bits_is_refused_before_any_blob(
    reg: RegistryStore, value: int
) -> None:
    write("f.txt", "config\n")
    blobs, refs = _blobs(reg.root), _refs(reg.root)
    config = {"seed": value}
    with (
        pytest.raises(errors.DocumentError) as caught,
        wandb.init(project="p", id="cfg", config=config) as run,
    ):
        art = wandb.Artifact("cfg", type="dataset")
        art.add_file("f.txt")
        run.log_artifact(art)
    assert str(caught.value) == (
        "projects/p/runs/cfg.yaml: $.config.seed: an integer beyond the 64-bit range "
        "-2**63..2**64-1"
    )
    assert (_blobs(reg.root), _refs(reg.root)) == (blobs, refs)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"job_type": "train\nReviewed-by: boss"}, "job_type: " + "may not contain a line"),
        ({"name": "nice\x1b[2Jrun"}, "name: may not contain a line"),
        ({"job_type": 3}, "job_type: must be a string, not int"),
        ({"name": "n" * 257}, "name: longer than 256 characters"),
        ({"job_type": "j" * 129}, "job_type: longer than 128 characters"),
    ],
)
def test_run_fields_are_checked_when_the_run_starts(
    reg: RegistryStore, fields: dict[str, object], message: str
) -> None:
    refs = _refs(reg.root)
    with pytest.raises(errors.UsageError) as caught:
        wandb.init(project="p", **fields)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message), str(caught.value)
    assert _refs(reg.root) == refs


def _read_only(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with ``root`` mounted read-only, in a user and mount namespace of its own."""
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", str(root), CLI_SCRIPT, *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [["alias", "set", "p/data:v0", "best"], ["delete", "p/data:v1"]],
    ids=["alias", "delete"],
)
def test_a_write_on_a_read_only_file_system_is_one_clear_error(
    reg: RegistryStore, args: list[str]
) -> None:
    probe = _read_only(reg.root, "ls") if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        pytest.skip(f"no user and mount namespaces here: {probe and probe.stderr.strip()}")
    refs = _refs(reg.root)
    proc = _read_only(reg.root, *args)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {reg.root} is on a read-only file system: nothing was written"
    ]
    assert _refs(reg.root) == refs


# --- 7. loose objects are packed now and then -------------------------------------------------


def _loose(root: Path) -> int:
    counts = dict(line.split(": ") for line in git(root, "count-objects", "-v").splitlines())
    return int(counts["count"])


def test_loose_objects_are_packed_now_and_then_not_on_every_write(reg: RegistryStore) -> None:
    root = reg.root
    for i in range(5):
        assert invoke("alias", "set", f"p/data:v{i % 2}", f"a{i}").exit_code == 0
    assert not list((root / ".git/objects/pack").glob("*.pack"))
    # Years of writes, as loose objects a commit reaches (written as each write does).
    repo = Git(root)
    names = {f"{i:05d}": repo.write_object("blob", b"%d\n" % i) for i in range(12_000)}
    tree = repo.write_tree({n: TreeEntry(n, b"100644", sha) for n, sha in names.items()})
    commit = git(root, "commit-tree", tree, "-m", "history")
    git(root, "update-ref", "refs/heads/history", commit)
    assert _loose(root) > 12_000
    assert invoke("alias", "set", "p/data:v1", "packed").exit_code == 0
    assert _loose(root) < 1_000
    assert list((root / ".git/objects/pack").glob("*.pack"))
    assert invoke("check").exit_code == 0
