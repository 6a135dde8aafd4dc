"""A registry whose blobs live in S3 — tested against a real SeaweedFS on 127.0.0.1."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool._blobs import s3 as s3_module
from registry_tool._blobs import s3http
from registry_tool.errors import CorruptBlobError, StorageError
from tests.helpers import cli_out, write


class PutCounter:
    """Counts the object writes registry-tool sends, by botocore or by its fast path."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        self.stored: list[str] = []  # writes the server answered with 2xx
        real = s3_module.make_client

        def counting(*args, **kwargs):
            client = real(*args, **kwargs)
            for op in ("PutObject", "UploadPart", "CompleteMultipartUpload"):
                client.meta.events.register(f"before-call.s3.{op}", self._count(op))
                client.meta.events.register(f"after-call.s3.{op}", self._stored(op))
            return client

        real_put = s3http.FastS3.put

        def fast_put(fast, *args, **kwargs):
            self._count("PutObject")()
            status = real_put(fast, *args, **kwargs)
            if status == 200:
                self.stored.append("PutObject")
            return status

        monkeypatch.setattr(s3_module, "make_client", counting)
        monkeypatch.setattr(s3http.FastS3, "put", fast_put)

    def _count(self, op: str):
        def handler(**kwargs):
            self.calls.append(op)

        return handler

    def _stored(self, op: str):
        def handler(http_response=None, **kwargs):
            if http_response is not None and 200 <= http_response.status_code < 300:
                self.stored.append(op)

        return handler

    def count(self, op: str = "PutObject") -> int:
        return self.calls.count(op)


def log_dir(path: str, name: str = "data", aliases: list[str] | None = None) -> wandb.Artifact:
    with wandb.init(project="p") as run:
        art = wandb.Artifact(name, type="dataset")
        art.add_dir(path)
        run.log_artifact(art, aliases=aliases or [])
    return art


def test_log_and_download_through_s3(s3_registry, s3_env, bucket, tmp_path):
    for i in range(30):
        write(f"d/{i:02d}.bin", f"payload {i}".encode() * 100)
    art = log_dir("d")
    keys = {
        o["Key"]
        for o in s3_env.client().list_objects_v2(Bucket=bucket, Prefix="blobs/sha256/")["Contents"]
    }
    for entry in art.files():
        hexdigest = entry.digest.removeprefix("sha256:")
        assert f"blobs/sha256/{hexdigest[:2]}/{hexdigest}" in keys
    got = wandb.Api().artifact("p/data:latest")
    root = Path(got.download(root=str(tmp_path / "out")))
    assert (root / "07.bin").read_bytes() == b"payload 7" * 100
    assert got.verify(root).ok
    assert not (s3_registry.root / ".blobs").exists()


def test_relogging_a_changed_artifact_uploads_only_the_changed_files(s3_registry, monkeypatch):
    counter = PutCounter(monkeypatch)
    for i in range(20):
        write(f"d/{i:02d}.txt", f"file {i}")
    log_dir("d")
    assert counter.count() == 20
    write("d/03.txt", "changed")
    write("d/new.txt", "new")
    art = log_dir("d")
    assert art.version == "v1"
    assert counter.count() == 22
    log_dir("d")  # unchanged: nothing uploaded
    assert counter.count() == 22


def test_a_large_file_goes_up_by_multipart_and_comes_back_by_ranges(
    s3_registry, monkeypatch, tmp_path
):
    monkeypatch.setattr(s3_module, "MULTIPART_FROM", 1024 * 1024)
    monkeypatch.setattr(s3_module, "MIN_PART", 5 * 1024 * 1024)
    counter = PutCounter(monkeypatch)
    data = hashlib.sha256(b"seed").digest() * (12 * 1024 * 1024 // 32 + 7)
    write("big/model.bin", data)
    art = log_dir("big", name="model")
    assert counter.count("UploadPart") == 3 and counter.count("CompleteMultipartUpload") == 1
    root = Path(wandb.Api().artifact("p/model:v0").download(root=str(tmp_path / "out")))
    assert (root / "model.bin").read_bytes() == data
    assert art.files()[0].digest == "sha256:" + hashlib.sha256(data).hexdigest()


def test_part_size_respects_the_part_limit():
    assert s3_module.part_size_for(10 * 1024**2) == s3_module.MIN_PART
    for size in (80 * 1024**3, 5 * 1024**4):
        part = s3_module.part_size_for(size)
        assert size / part <= s3_module.MAX_PARTS


def test_a_blob_corrupted_on_the_server_is_refused(s3_registry, s3_env, bucket, tmp_path):
    write("d/a.txt", "precious")
    art = log_dir("d")
    hexdigest = art.files()[0].digest.removeprefix("sha256:")
    s3_env.client().put_object(
        Bucket=bucket, Key=f"blobs/sha256/{hexdigest[:2]}/{hexdigest}", Body=b"tampered"
    )
    with pytest.raises(CorruptBlobError) as caught:
        wandb.Api().artifact("p/data:v0").download(root=str(tmp_path / "out"))
    message = str(caught.value)
    assert "p/data:v0" in message and "'a.txt'" in message and hexdigest in message
    assert not (tmp_path / "out" / "a.txt").exists()


def test_wrong_credentials_are_one_clear_error_and_nothing_is_written(s3_registry, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    head = s3_registry.git.rev_parse("HEAD")
    write("d/a.txt", "x")
    with pytest.raises(StorageError, match="access denied"):
        log_dir("d")
    assert s3_registry.git.rev_parse("HEAD") == head
    assert "not-the-secret" not in (s3_registry.root / "registry.yaml").read_text()


@pytest.fixture
def own_s3(tmp_path, monkeypatch):
    """A SeaweedFS of this test's own, which the test may stop and start."""
    from tests.s3server import ACCESS_KEY, SECRET_KEY, SeaweedFS

    server = SeaweedFS(tmp_path / "own-seaweedfs").start()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    yield server
    server.stop()


@pytest.mark.slow
def test_a_server_that_dies_mid_log_leaves_no_version_and_a_rerun_uploads_the_rest(
    own_s3, tmp_path, monkeypatch
):
    from registry_tool._store import init_registry

    own_s3.client().create_bucket(Bucket="fault")
    reg = init_registry(
        tmp_path / "reg",
        storage="s3://fault/blobs",
        storage_options={"endpoint_url": own_s3.endpoint, "region": "us-east-1"},
    )
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(reg.root))
    monkeypatch.setenv("REGISTRY_TOOL_S3_MAX_ATTEMPTS", "2")
    for i in range(60):
        write(f"d/{i:02d}.txt", f"file {i}")
    counter = PutCounter(monkeypatch)
    real_count = counter._count

    stopped = []

    def stop_after_25(op):
        handler = real_count(op)

        def maybe_stop(**kwargs):
            handler(**kwargs)
            if counter.count() == 25 and not stopped:
                stopped.append(True)
                own_s3.stop()

        return maybe_stop

    monkeypatch.setattr(counter, "_count", stop_after_25)
    head = reg.git.rev_parse("HEAD")
    with pytest.raises(StorageError, match="uploading"):
        log_dir("d")
    assert reg.git.rev_parse("HEAD") == head
    assert not (reg.root / "projects/p/data").exists()

    own_s3.restart()
    stored_before = own_s3.client().list_objects_v2(Bucket="fault", Prefix="blobs/sha256/").get("KeyCount", 0)
    assert 0 < stored_before < 60
    counter.calls.clear()
    counter.stored.clear()
    art = log_dir("d")
    assert art.version == "v0"
    # Exactly the missing blobs are stored by the rerun. A write the server finished
    # while the client lost the answer is sent again and refused with 412 (it is
    # present): at most one per upload thread that was in flight when it died.
    assert counter.stored.count("PutObject") == 60 - stored_before
    assert 60 - stored_before <= counter.count() <= 60 - stored_before + 16
    assert own_s3.client().list_objects_v2(Bucket="fault", Prefix="blobs/sha256/")["KeyCount"] == 60


def test_cli_init_with_s3_storage_then_log_and_get(s3_env, bucket, tmp_path, monkeypatch):
    run = cli_out
    reg = tmp_path / "cli-s3"
    run(
        "init",
        str(reg),
        "--storage",
        f"s3://{bucket}/team",
        "--endpoint-url",
        s3_env.endpoint,
        "--region",
        "us-east-1",
    )
    config = (reg / "registry.yaml").read_text()
    assert f"url: s3://{bucket}/team" in config and "endpoint_url" in config
    assert "secret" not in config.lower()
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(reg))
    write("m/model.bin", b"weights")
    run("log", "m", "--name", "p/model", "--type", "model")
    run("get", "p/model:v0", "--root", str(tmp_path / "got"))
    assert (tmp_path / "got" / "model.bin").read_bytes() == b"weights"


class _Canned:
    """A loopback HTTP server giving every request the same answer."""

    def __init__(self, status: int, body: bytes = b"") -> None:
        import http.server
        import threading

        self.seen: list[str] = []
        canned = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                canned.seen.append(f"{self.command} {self.path}")
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("status", "body", "taken"),
    [
        (503, b"<Error><Code>SlowDown</Code></Error>", False),
        (500, b"", False),
        (301, b"<Error><Code>PermanentRedirect</Code></Error>", False),
        (403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>", False),
        (404, b"<Error><Code>NoSuchBucket</Code></Error>", False),
        (404, b"<Error><Code>NoSuchKey</Code></Error>", True),
        (206, b"0123456789", True),
    ],
)
def test_the_fast_path_takes_only_the_answers_it_knows(status, body, taken):
    from botocore.credentials import Credentials

    server = _Canned(status, body)
    try:
        fast = s3http.FastS3(server.endpoint, "bkt", "us-east-1", Credentials("k", "s"), 2)
        got = fast.get("sha256/ab/key with space", 0, 9)
        assert (got is not None) == taken
        assert server.seen == ["GET /bkt/sha256/ab/key%20with%20space"]
        # A PUT takes 200 (stored) and 412 (present) only.
        assert fast.put("k", b"x", hashlib.sha256(b"x").hexdigest(), "eA==") is None
    finally:
        server.close()


def test_the_fast_path_gives_up_on_a_dead_server_and_botocore_says_why(tmp_path, monkeypatch):
    from tests.s3server import free_ports

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("REGISTRY_TOOL_S3_MAX_ATTEMPTS", "1")
    (port,) = free_ports(1)
    store = s3_module.S3BlobStore(
        s3_module.StorageConfig(url="s3://bkt/p", endpoint_url=f"http://127.0.0.1:{port}")
    )
    assert store.fast is not None
    for attempt in range(5):
        with pytest.raises(StorageError, match=r"uploading .*: EndpointConnectionError"):
            store.ingest(write(tmp_path / "a", f"abc {attempt}"), None, lambda n: None)
    # After 3 failures in a row the fast path stops trying: botocore alone goes on.
    assert store.fast.requests == s3http.GIVE_UP_AFTER


def test_the_fast_path_leaves_a_proxied_endpoint_to_botocore(s3_env, bucket, monkeypatch):
    store = s3_module.S3BlobStore(
        s3_module.StorageConfig(url=f"s3://{bucket}/p", endpoint_url=s3_env.endpoint)
    )
    assert store.fast is not None
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    proxied = s3_module.S3BlobStore(
        s3_module.StorageConfig(url=f"s3://{bucket}/p", endpoint_url="http://example.invalid:8333")
    )
    assert proxied.fast is None
