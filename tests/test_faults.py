"""Fault tests: the registry against an S3 server that fails, stalls, drops connections
or is gone, a git remote out of reach, and a disk that fills up.

Real parts only: a real SeaweedFS behind a fault-injecting proxy on 127.0.0.1
(tests/faultproxy.py), real bare git remotes, the CLI in real processes. Each test
prints its figures (requests, faults injected, retries, seconds) on a ``FAULTS`` line:
``pytest tests/test_faults.py -s`` shows them.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool._blobs import s3 as s3_module
from registry_tool._store import RegistryStore, init_registry
from registry_tool.errors import StorageError
from tests.faultproxy import FaultProxy
from tests.helpers import cli_process, cli_run, git, init_s3_registry, team_clone, write
from tests.s3server import SeaweedFS

MiB = 1024 * 1024


def figures(name: str, **values: object) -> None:
    """One line of figures, to quote in RELIABILITY.md."""
    print(f"\nFAULTS {name}: {json.dumps(values, sort_keys=True)}")


@pytest.fixture
def proxy(s3_env: SeaweedFS) -> Iterator[FaultProxy]:
    with FaultProxy(s3_env.endpoint) as running:
        yield running


@pytest.fixture
def proxied(
    tmp_path: Path, proxy: FaultProxy, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> RegistryStore:
    """A registry whose blobs live in SeaweedFS, reached through the fault proxy."""
    store = init_s3_registry(
        tmp_path / "proxied-registry", name="proxied", bucket=bucket, endpoint=proxy.endpoint
    )
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(store.root))
    return store


def log_dir(path: str, name: str = "data") -> wandb.Artifact:
    with wandb.init(project="p") as run:
        art = wandb.Artifact(name, type="dataset")
        art.add_dir(path)
        run.log_artifact(art)
    return art


def make_files(folder: str, count: int, *, salt: str = "") -> dict[str, bytes]:
    """``count`` small files of 1-4 KiB, each different."""
    files = {}
    for i in range(count):
        data = hashlib.sha256(f"{salt}{i}".encode()).digest() * (32 + 32 * (i % 4))
        write(f"{folder}/{i:03d}.bin", data)
        files[f"{i:03d}.bin"] = data
    return files


def server_blobs(s3: SeaweedFS, bucket: str) -> dict[str, bytes]:
    """Every blob in the bucket, read straight from SeaweedFS (not through the proxy)."""
    client = s3.client()
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            if "/sha256/" not in item["Key"]:
                continue  # the store's own files (who uses it), not blobs
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            out[item["Key"].rsplit("/", 1)[-1]] = body
    return out


def assert_stored(s3: SeaweedFS, bucket: str, files: dict[str, bytes]) -> None:
    """Every file's blob is in the bucket with exactly its bytes; nothing else is."""
    blobs = server_blobs(s3, bucket)
    for hexdigest, data in blobs.items():
        assert hashlib.sha256(data).hexdigest() == hexdigest
    assert set(blobs) == {hashlib.sha256(d).hexdigest() for d in files.values()}


def cache_root() -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "registry-tool"


def assert_cache_clean(root: Path | None = None) -> int:
    """No temp file in the cache, and every cached blob hashes to its name; returns
    how many blobs it holds."""
    root = root or cache_root()
    tmp = root / "tmp"
    leftovers = list(tmp.iterdir()) if tmp.exists() else []
    assert leftovers == []
    blobs = [p for p in (root / "blobs" / "sha256").glob("*/*") if p.is_file()]
    for blob in blobs:
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    return len(blobs)


def assert_no_partials(folder: Path) -> None:
    if folder.exists():
        assert [p.name for p in folder.rglob("*") if ".part-" in p.name] == []


# -- 1. S3 answering 500/503 to a third of the requests -------------------------------


@pytest.mark.slow
def test_intermittent_5xx_log_and_download_complete_with_bounded_retries(
    proxied, proxy, s3_env, bucket, tmp_path, monkeypatch
):
    # Multipart from 1 MiB (5 MiB parts) and 1 MiB download ranges: a 12 MiB file is
    # a 3-part upload and a 12-range download.
    monkeypatch.setattr(s3_module, "MULTIPART_FROM", 1 * MiB)
    monkeypatch.setattr(s3_module, "MIN_PART", 5 * MiB)
    monkeypatch.setattr(s3_module, "PART_GET", 1 * MiB)
    files = make_files("d", 100)
    big = hashlib.sha256(b"big").digest() * (12 * MiB // 32)
    write("d/big.bin", big)
    files["big.bin"] = big

    # A transient fault: no one request fails more than 3 times in a row.
    proxy.set(status=503, rate=0.3, seed=7, max_in_a_row=3)
    started = time.monotonic()
    art = log_dir("d")
    log_seconds = time.monotonic() - started
    up = proxy.stats()
    assert art.version == "v0"
    assert_stored(s3_env, bucket, files)
    # What reached the server is exactly the work: 100 PUTs, and for the big file a
    # HEAD, a create, 3 parts and a complete; before the commit one HEAD per blob (all
    # 101 still there, a gc may not have taken one); and the store's marker of who uses
    # it (three requests). Every fault cost one more request, no more.
    assert up["forwarded"] == 100 + 1 + 1 + 3 + 1 + 101 + 3
    assert up["faults"] >= 20
    assert up["requests"] == up["forwarded"] + up["faults"]

    proxy.reset_counts()
    proxy.set(status=500, rate=0.3, seed=11, max_in_a_row=3)
    started = time.monotonic()
    got = wandb.Api().artifact("p/data:v0")
    root = Path(got.download(root=str(tmp_path / "out")))
    down_seconds = time.monotonic() - started
    down = proxy.stats()
    for name, data in files.items():
        assert (root / name).read_bytes() == data
    assert got.verify(root).ok
    assert down["forwarded"] == 100 + 12  # 100 small GETs, 12 ranges of the big one
    assert down["faults"] >= 20
    assert down["requests"] == down["forwarded"] + down["faults"]
    assert assert_cache_clean() == 101
    figures(
        "5xx",
        rate=0.3,
        files=101,
        log_requests=up["requests"],
        log_faults=up["faults"],
        log_retries=up["requests"] - up["forwarded"],
        log_seconds=round(log_seconds, 2),
        get_requests=down["requests"],
        get_faults=down["faults"],
        get_retries=down["requests"] - down["forwarded"],
        get_seconds=round(down_seconds, 2),
    )


def test_a_500_after_the_server_stored_the_blob_is_retried_and_taken_as_present(
    proxied, proxy, s3_env, bucket, monkeypatch
):
    """The nastier 5xx: the server did the work, the client heard a failure. The retried
    conditional PUT (or multipart complete) finds the blob there, and that is success."""
    monkeypatch.setattr(s3_module, "MULTIPART_FROM", 1 * MiB)
    monkeypatch.setattr(s3_module, "MIN_PART", 5 * MiB)
    files = make_files("d", 40, salt="after")
    big = hashlib.sha256(b"big after").digest() * (6 * MiB // 32)
    write("d/big.bin", big)
    files["big.bin"] = big
    proxy.set(status=500, after=True, every=3, methods=["PUT", "POST"], max_in_a_row=2)
    started = time.monotonic()
    art = log_dir("d")
    seconds = time.monotonic() - started
    stats = proxy.stats()
    assert art.version == "v0"
    assert_stored(s3_env, bucket, files)
    assert stats["faults_by_kind"].get("500 after", 0) >= 10
    figures("5xx-after-work", files=41, seconds=round(seconds, 2), **stats)


# -- 2. S3 slow ------------------------------------------------------------------------


def test_a_slow_s3_only_makes_log_and_download_slower(proxied, proxy, s3_env, bucket, tmp_path):
    files = make_files("d", 40, salt="slow")
    proxy.set(delay=0.2)
    started = time.monotonic()
    art = log_dir("d")
    log_seconds = time.monotonic() - started
    got = wandb.Api().artifact("p/data:v0")
    started = time.monotonic()
    root = Path(got.download(root=str(tmp_path / "out")))
    get_seconds = time.monotonic() - started
    assert art.version == "v0"
    assert_stored(s3_env, bucket, files)
    assert all((root / n).read_bytes() == d for n, d in files.items())
    stats = proxy.stats()
    # 40 PUTs, 40 HEADs before the commit, the marker's 3 requests, 40 GETs.
    assert stats["faults"] == 0 and stats["requests"] == stats["forwarded"] == 40 + 40 + 3 + 40
    # 40 requests of 0.2 s on 16 threads: three rounds each way, not forty.
    assert log_seconds >= 0.4 and get_seconds >= 0.4
    assert log_seconds < 5 and get_seconds < 5
    figures(
        "slow",
        delay=0.2,
        files=40,
        requests=stats["requests"],
        log_seconds=round(log_seconds, 2),
        get_seconds=round(get_seconds, 2),
    )


def test_a_read_timeout_shorter_than_the_delay_is_one_clear_error(proxy, bucket, tmp_path):
    """registry.yaml and the environment set no read timeout (botocore's and the fast
    path's are fixed at 60 s, connect at 10 s); a client built with a short one, as the
    store's constructor accepts, shows what a timeout looks like to the user."""
    import botocore.config

    from registry_tool._model.records import StorageConfig

    config = StorageConfig(url=f"s3://{bucket}/blobs", endpoint_url=proxy.endpoint)
    session = s3_module.make_session(config)
    client = session.client(
        "s3",
        endpoint_url=proxy.endpoint,
        region_name="us-east-1",
        config=botocore.config.Config(
            read_timeout=0.3,
            connect_timeout=1,
            retries={"mode": "standard", "max_attempts": 2},
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
        ),
    )
    store = s3_module.S3BlobStore(config, client=client)
    proxy.set(delay=1.0)
    started = time.monotonic()
    with pytest.raises(StorageError) as caught:
        store.ingest(write(tmp_path / "a.bin", b"slow bytes"), None, lambda n: None)
    seconds = time.monotonic() - started
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"uploading {tmp_path / 'a.bin'} to s3://{bucket}/blobs: ")
    assert "Read timeout" in message and proxy.endpoint in message
    assert seconds < 5
    with pytest.raises(StorageError, match=r"^downloading sha256:\w+ from .*Read timeout"):
        store.fetch("0" * 64, tmp_path / "out.bin", lambda n: None)
    assert not (tmp_path / "out.bin").exists()
    figures(
        "read-timeout",
        delay=1.0,
        read_timeout=0.3,
        max_attempts=2,
        requests=proxy.stats()["requests"],
        seconds_to_fail=round(seconds, 2),
        error=message,
    )


# -- 3. S3 refusing everything ---------------------------------------------------------


def _status(root: Path) -> str:
    return git(root, "status", "--porcelain", "--untracked-files=all")


@pytest.mark.slow
def test_s3_going_down_mid_log_is_one_clear_error_and_a_rerun_uploads_only_what_is_missing(
    proxied, proxy, s3_env, bucket, monkeypatch
):
    files = make_files("d", 60, salt="down")
    head = git(proxied.root, "rev-parse", "HEAD")
    # The first 20 uploads get through; from then on every connection is cut unanswered.
    proxy.set(reset=True, start=20)
    started = time.monotonic()
    code, output = cli_run("log", "d", "--name", "p/data", "--type", "dataset")
    seconds = time.monotonic() - started
    refused = proxy.stats()
    assert code == 1
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: uploading "), output
    assert "Traceback" not in output
    # No version, no commit, nothing half-written in the clone.
    assert git(proxied.root, "rev-parse", "HEAD") == head
    assert _status(proxied.root) == ""
    assert not (proxied.root / "projects").exists()
    stored_before = len(server_blobs(s3_env, bucket))
    assert 0 < stored_before < 60

    proxy.heal()
    proxy.reset_counts()
    code, output = cli_run("log", "d", "--name", "p/data", "--type", "dataset")
    assert code == 0, output
    healed = proxy.stats()
    assert_stored(s3_env, bucket, files)
    # The rerun stores exactly the missing blobs. Blobs the stat cache learned from the
    # failed run are checked (HEAD), not sent again.
    assert proxy.stored("PUT") == 60 - stored_before
    assert healed["by_method"].get("PUT", 0) <= 60 - stored_before + 16
    assert git(proxied.root, "rev-list", "--count", f"{head}..HEAD") == "1"
    assert _status(proxied.root) == ""
    figures(
        "s3-down",
        files=60,
        stored_before_failure=stored_before,
        failed_run_requests=refused["requests"],
        failed_run_faults=refused["faults"],
        failed_run_seconds=round(seconds, 2),
        rerun_puts=healed["by_method"].get("PUT", 0),
        rerun_heads=healed["by_method"].get("HEAD", 0),
        rerun_stored=proxy.stored("PUT"),
        error=lines[0],
    )


def test_s3_down_before_a_download_is_one_clear_error_and_leaves_nothing(proxied, proxy, tmp_path):
    files = make_files("d", 5, salt="refused")
    log_dir("d")
    proxy.down()  # connections refused
    started = time.monotonic()
    code, output = cli_run("get", "p/data:v0", "--root", str(tmp_path / "out"))
    seconds = time.monotonic() - started
    lines = output.strip().splitlines()
    assert code == 1 and len(lines) == 1, output
    assert lines[0].startswith("error: proxied/p/data:v0: file ")
    assert "Could not connect to the endpoint URL" in lines[0]
    assert list((tmp_path / "out").iterdir()) == []
    assert assert_cache_clean() == 0
    proxy.up()
    code, output = cli_run("get", "p/data:v0", "--root", str(tmp_path / "out"))
    assert code == 0, output
    assert all((tmp_path / "out" / n).read_bytes() == d for n, d in files.items())
    figures("s3-refused-get", files=5, seconds_to_fail=round(seconds, 2), error=lines[0])


# -- 4. A connection dropped in the middle of a download ------------------------------


def test_a_connection_dropped_mid_download_fails_clearly_and_leaves_no_partial_file(
    proxied, proxy, tmp_path, monkeypatch
):
    monkeypatch.setattr(s3_module, "PART_GET", 256 * 1024)
    files = make_files("d", 10, salt="drop")
    big = hashlib.sha256(b"big drop").digest() * (2 * MiB // 32)
    write("d/big.bin", big)
    files["big.bin"] = big
    log_dir("d")
    out = tmp_path / "out"

    # Every answer to a GET is cut half-way through its body.
    proxy.set(drop=True, methods=["GET"])
    started = time.monotonic()
    code, output = cli_run("get", "p/data:v0", "--root", str(out))
    seconds = time.monotonic() - started
    dropped = proxy.stats()
    lines = output.strip().splitlines()
    assert code == 1 and len(lines) == 1, output
    assert lines[0].startswith("error: proxied/p/data:v0: file ")
    assert list(out.iterdir()) == []  # no file, no temp file
    assert assert_cache_clean() == 0

    # A third of the GETs cut (never the same one twice in a row): it completes.
    proxy.reset_counts()
    proxy.set(drop=True, rate=0.3, seed=3, methods=["GET"], max_in_a_row=1)
    started = time.monotonic()
    code, output = cli_run("get", "p/data:v0", "--root", str(out))
    flaky_seconds = time.monotonic() - started
    flaky = proxy.stats()
    assert code == 0, output
    assert all((out / n).read_bytes() == d for n, d in files.items())
    assert_no_partials(out)
    assert assert_cache_clean() == 11
    assert flaky["faults"] >= 3

    # The same GET cut twice running (the fast path's try and a read of the body through
    # botocore, or two reads once the fast path has stepped aside): the body is read
    # again, and it still completes. (One GET per blob here: parallel ranges of one
    # blob would share the proxy's count.)
    monkeypatch.setattr(s3_module, "PART_GET", 8 * MiB)
    shutil.rmtree(out)
    shutil.rmtree(cache_root())
    proxy.reset_counts()
    proxy.set(drop=True, rate=1.0, seed=4, methods=["GET"], max_in_a_row=2)
    code, output = cli_run("get", "p/data:v0", "--root", str(out))
    assert code == 0, output
    assert all((out / n).read_bytes() == d for n, d in files.items())
    assert proxy.stats()["faults"] >= 2 * 11
    figures(
        "dropped-connection",
        files=11,
        all_dropped_requests=dropped["requests"],
        all_dropped_faults=dropped["faults"],
        all_dropped_seconds=round(seconds, 2),
        error=lines[0],
        third_dropped_requests=flaky["requests"],
        third_dropped_faults=flaky["faults"],
        third_dropped_seconds=round(flaky_seconds, 2),
    )


# -- 5. The git remote out of reach ----------------------------------------------------


@pytest.fixture
def cloned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[RegistryStore, Path]:
    """A registry cloned from a bare remote (local blob store), selected by env."""
    store, bare = team_clone(init_registry(tmp_path / "seed", name="team"), tmp_path)
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(store.root))
    return store, bare


def test_an_unreachable_git_remote_is_one_clear_bounded_error_and_the_next_log_recovers(
    cloned, tmp_path
):
    store, bare = cloned
    write("d/a.txt", "first")
    log_dir("d")
    assert git(bare, "rev-parse", "main") == git(store.root, "rev-parse", "HEAD")
    away = tmp_path / "remote-away.git"
    bare.rename(away)  # the remote is gone

    write("d/a.txt", "second")
    head = git(store.root, "rev-parse", "HEAD")
    started = time.monotonic()
    code, output = cli_run("log", "d", "--name", "p/data", "--type", "dataset")
    seconds = time.monotonic() - started
    lines = output.strip().splitlines()
    assert code == 1 and len(lines) == 1, output
    assert "could not push to 'origin'" in lines[0] and "Traceback" not in output
    assert seconds < 10  # three tries, no endless retry
    # The clone is consistent: nothing half-synced, and the check passes. The write is
    # kept as one local commit ("committed ... locally"), which the next push carries.
    assert _status(store.root) == ""
    kept = git(store.root, "rev-list", "--count", f"{head}..HEAD")
    assert kept == ("1" if "locally" in lines[0] else "0")
    code, check_output = cli_run("check")
    assert code == 0, check_output

    away.rename(bare)  # the remote is back
    write("d/a.txt", "third")
    code, output = cli_run("log", "d", "--name", "p/data", "--type", "dataset")
    assert code == 0, output
    assert git(bare, "rev-parse", "main") == git(store.root, "rev-parse", "HEAD")
    assert _status(store.root) == ""
    versions = git(bare, "ls-tree", "--name-only", "main", "projects/p/data/versions/")
    assert len(versions.splitlines()) == 2 + int(kept)
    figures(
        "git-remote-gone",
        seconds_to_fail=round(seconds, 2),
        kept_local_commits=int(kept),
        error=lines[0],
    )


def _black_hole() -> socket.socket:
    """A listening socket that never accepts: connections hang, unanswered."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    return hole


@pytest.mark.slow
def test_a_git_remote_that_never_answers_fails_in_bounded_time(cloned, tmp_path):
    store, _ = cloned
    hole = _black_hole()
    try:
        git(
            store.root,
            "remote",
            "set-url",
            "origin",
            f"http://127.0.0.1:{hole.getsockname()[1]}/r.git",
        )
        write("d/a.txt", "hangs")
        started = time.monotonic()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "registry_tool.cli.main",
                "log",
                "d",
                "--name",
                "p/data",
                "--type",
                "dataset",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "REGISTRY_TOOL_GIT_TIMEOUT": "1"},
            start_new_session=True,  # its git children too, stopped by this group's id
        )
        try:
            _, stderr = proc.communicate(timeout=8)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail(f"still pushing after {time.monotonic() - started:.0f} s")
        assert proc.returncode == 1 and "could not push" in stderr
    finally:
        hole.close()


# -- 6. The disk filling up during a download -----------------------------------------


def _cli_with_file_limit(limit: int | None, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a process that may write no file past ``limit`` bytes (RLIMIT_FSIZE),
    with SIGXFSZ ignored so that such a write fails with EFBIG, as on a full disk."""

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return cli_process(*args, env={"PYTHONDONTWRITEBYTECODE": "1"}, timeout=60, preexec_fn=limited)


@pytest.mark.parametrize("store", ["local", "s3"])
def test_a_full_disk_during_a_download_is_one_clear_error_naming_the_file(store, request, tmp_path):
    reg = request.getfixturevalue("registry" if store == "local" else "s3_registry")
    files = make_files("d", 5, salt="disk")
    big = hashlib.sha256(b"big disk").digest() * (2 * MiB // 32)
    write("d/big.bin", big)
    files["big.bin"] = big
    log_dir("d")
    out = tmp_path / "out"
    started = time.monotonic()
    proc = _cli_with_file_limit(1 * MiB, "get", "p/data:v0", "--root", str(out))
    seconds = time.monotonic() - started
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"error: {reg.name}/p/data:v0: file 'big.bin': ")
    assert "File too large" in lines[0]
    assert not (out / "big.bin").exists()
    assert_no_partials(out)
    # The blob cache (remote stores only) holds no half-written blob.
    assert_cache_clean()
    proc = _cli_with_file_limit(None, "get", "p/data:v0", "--root", str(out))
    assert proc.returncode == 0, proc.stderr
    assert all((out / n).read_bytes() == d for n, d in files.items())
    assert_no_partials(out)
    assert_cache_clean()
    figures(f"disk-full-{store}", seconds_to_fail=round(seconds, 2), error=lines[0])
