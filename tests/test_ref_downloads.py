"""Downloading many references: they are fetched several at a time (S3, GCS and HTTP
alike, whatever the blob store), each checked against what was logged before it lands,
under the download's one progress bar; the first failure is one error naming its entry,
stops what has not started, and leaves only whole, verified files.

Overlap is proved by the servers, never by a clock: each holds every download until as
many are in flight as the client should send at once (or ``HOLD`` seconds pass, which
only a client sending fewer ever waits), and counts the most it saw at once.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import registry_tool as wandb
from registry_tool import _progress as progress
from registry_tool._references import s3 as s3_scheme
from registry_tool.errors import VerificationError
from tests.helpers import cli_error, cli_out, write
from tests.refservers import FileServer, GcsEmulator

HOLD = 10.0  # seconds a server holds a download waiting for company (only if too few come)
MANY = 300  # references for the correctness tests


@pytest.fixture(autouse=True)
def plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy between the client and the local servers, and the default worker count."""
    for key in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("REGISTRY_TOOL_WORKERS", raising=False)


# -- servers that count the downloads in flight -----------------------------------------


class Gate:
    """Holds each request until ``width`` are in flight, and counts the most in flight
    at once. Once that many were in flight, or one request waited ``HOLD`` seconds in
    vain, every request passes: a client sending too few waits once, not per request."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.cond = threading.Condition()
        self.now = 0
        self.most = 0
        self.passed = 0
        self.opened = False

    def __enter__(self) -> None:
        with self.cond:
            self.now += 1
            self.most = max(self.most, self.now)
            if self.now >= self.width:
                self.opened = True
                self.cond.notify_all()
            self.cond.wait_for(lambda: self.opened, timeout=HOLD)
            self.opened = True

    def __exit__(self, *exc: object) -> None:
        with self.cond:
            self.now -= 1
            self.passed += 1


class GatedFileServer(FileServer):
    """``FileServer`` whose GETs go through ``gate``; a path in ``slow`` is held that
    many seconds before it is answered."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.gate = Gate(width)
        self.slow: dict[str, float] = {}

    class handler(FileServer.handler):  # type: ignore[name-defined,misc]
        def do_GET(self) -> None:
            owner = self.server_owner
            time.sleep(owner.slow.get(self.path, 0.0))
            with owner.gate:
                super().do_GET()


class GatedGcs(GcsEmulator):
    """``GcsEmulator`` whose media downloads go through ``gate``."""

    def __init__(self, width: int) -> None:
        super().__init__(page_size=100)
        self.gate = Gate(width)

    class handler(GcsEmulator.handler):  # type: ignore[name-defined,misc]
        def do_GET(self) -> None:
            if not self.path.startswith("/download/"):
                super().do_GET()
                return
            with self.server_owner.gate:
                super().do_GET()


_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


class S3Proxy:
    """Forwards every request verbatim (``Host`` too, so signatures hold) to SeaweedFS
    on 127.0.0.1; object GETs go through ``gate``. Stopped by the test."""

    def __init__(self, upstream_port: int, width: int) -> None:
        self.gate = Gate(width)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                try:
                    conn.request(self.command, self.path, body or None, headers)
                    answer = conn.getresponse()
                    data = answer.read()
                finally:
                    conn.close()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in _HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def do_GET(self) -> None:
                with proxy.gate:
                    self._forward()

            do_HEAD = do_PUT = do_POST = do_DELETE = _forward

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


# -- helpers ----------------------------------------------------------------------------


def payload(i: int) -> bytes:
    return f"object {i}\n".encode() * (1 + i % 7)


def put_many(s3_env: Any, bucket: str, count: int, prefix: str = "data/") -> dict[str, bytes]:
    """``count`` objects under ``prefix``: entry name (``data/part-0007``) -> bytes."""
    client = s3_env.client()
    objects = {f"{prefix}part-{i:04d}": payload(i) for i in range(count)}
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda kv: client.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), objects.items()
            )
        )
    return objects


def log(art: wandb.Artifact, project: str = "refs") -> wandb.Artifact:
    run = wandb.init(project=project)
    run.log_artifact(art)
    run.finish()
    return wandb.Api().artifact(f"{project}/{art.collection_name}:latest")


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@contextmanager
def recorded_progress() -> Iterator[list[tuple[str, int, list[int]]]]:
    """Every progress task opened: (description, total, the advances it got)."""
    tasks: list[tuple[str, int, list[int]]] = []

    @contextmanager
    def sink(description: str, total: int) -> Iterator[Callable[[int], None]]:
        advances: list[int] = []
        tasks.append((description, total, advances))
        yield advances.append

    progress.set_sink(sink)
    try:
        yield tasks
    finally:
        progress.set_sink(None)


# -- correctness with many S3 references ------------------------------------------------


@pytest.fixture(params=["lean", "botocore"])
def s3_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways an S3 reference is fetched: the lean signed GET (small unversioned
    objects on an S3-compatible endpoint) and botocore (``REGISTRY_TOOL_S3_FAST=0``)."""
    monkeypatch.setenv("REGISTRY_TOOL_S3_FAST", "1" if request.param == "lean" else "0")
    return str(request.param)


def test_hundreds_of_s3_references_all_land_verified(registry, s3_refs, bucket, tmp_path, s3_path):
    objects = put_many(s3_refs, bucket, MANY)
    s3_refs.client().put_object(Bucket=bucket, Key="data/empty", Body=b"")
    objects["data/empty"] = b""
    art = wandb.Artifact("many", type="dataset")
    art.add_reference(f"s3://{bucket}/data/", name="data")
    got = log(art)

    with recorded_progress() as tasks:
        out = Path(got.download(str(tmp_path / "out")))
    assert files_under(out) == objects
    assert got.verify(out).ok
    (bar,) = [t for t in tasks if t[0].startswith("downloading")]
    assert bar[0] == f"downloading {MANY + 1} files"
    assert bar[1] == sum(len(b) for b in objects.values()) == sum(bar[2])
    fast = s3_scheme.s3_fast(bucket)
    if s3_path == "lean":  # every object but the empty one (no byte range to ask for)
        assert fast is not None and fast.requests == MANY
    else:
        assert fast is None


def test_a_changed_object_among_hundreds_fails_naming_its_entry(
    registry, s3_refs, bucket, tmp_path, s3_path
):
    objects = put_many(s3_refs, bucket, MANY)
    art = wandb.Artifact("many", type="dataset")
    art.add_reference(f"s3://{bucket}/data/", name="data")
    got = log(art)
    s3_refs.client().put_object(Bucket=bucket, Key="data/part-0150", Body=b"overwritten\n")

    out = tmp_path / "out"
    with pytest.raises(VerificationError) as info:
        got.download(str(out))
    message = str(info.value)
    assert "'data/part-0150'" in message
    assert "changed since it was logged" in message
    assert f"s3://{bucket}/data/part-0150" in message
    assert "\n" not in message
    landed = files_under(out)
    assert "part-0150" not in {Path(p).name for p in landed}  # never a checked-and-failed file
    assert all(objects[path] == data for path, data in landed.items())  # only whole files
    assert not [p for p in out.rglob(".*part*")]


def test_an_emptied_object_fails_as_changed(registry, s3_refs, bucket, tmp_path, s3_path):
    """Its recorded size is no longer a byte range of it: the lean path steps aside and
    botocore's conditional GET is refused."""
    put_many(s3_refs, bucket, 5)
    art = wandb.Artifact("few", type="dataset")
    art.add_reference(f"s3://{bucket}/data/", name="data")
    got = log(art)
    s3_refs.client().put_object(Bucket=bucket, Key="data/part-0003", Body=b"")
    with pytest.raises(VerificationError, match=r"'data/part-0003'.*changed since it was logged"):
        got.download(str(tmp_path / "out"))
    assert not (tmp_path / "out" / "data" / "part-0003").exists()


def test_get_of_a_changed_s3_reference_is_one_cli_error(registry, s3_refs, bucket, tmp_path):
    put_many(s3_refs, bucket, 40)
    art = wandb.Artifact("many", type="dataset")
    art.add_reference(f"s3://{bucket}/data/", name="data")
    log(art)
    s3_refs.client().delete_object(Bucket=bucket, Key="data/part-0031")

    line = cli_error("get", "refs/many:v0", "--root", str(tmp_path / "out"))
    assert "'data/part-0031'" in line and "is gone" in line
    out = cli_out("get", "refs/many:v0", "--root", str(tmp_path / "out"), code=1)
    assert "Downloaded" not in out


# -- fetches overlap ------------------------------------------------------------------


def test_s3_reference_fetches_overlap_in_a_registry_with_local_blobs(
    registry, s3_refs, bucket, tmp_path, monkeypatch
):
    """The blob store is a local folder (one worker suits it); the references are S3
    objects, fetched ``PARALLEL`` at a time, never more."""
    objects = put_many(s3_refs, bucket, 3 * s3_scheme.PARALLEL)
    art = wandb.Artifact("many", type="dataset")
    art.add_reference(f"s3://{bucket}/data/", name="data")
    got = log(art)

    proxy = S3Proxy(s3_refs.port, width=s3_scheme.PARALLEL)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint)
        out = Path(got.download(str(tmp_path / "out")))
    finally:
        proxy.stop()
    assert files_under(out) == objects
    assert proxy.gate.passed == len(objects)
    assert proxy.gate.most == s3_scheme.PARALLEL


def test_http_reference_fetches_overlap(registry, tmp_path):
    from registry_tool._references import http as http_scheme

    with GatedFileServer(width=http_scheme.PARALLEL) as web:
        for i in range(3 * http_scheme.PARALLEL):
            web.put(f"/d/{i:03d}.bin", payload(i))
        art = wandb.Artifact("web", type="dataset")
        for i in range(3 * http_scheme.PARALLEL):
            art.add_reference(web.url(f"/d/{i:03d}.bin"), name=f"d/{i:03d}.bin")
        got = log(art)
        out = Path(got.download(str(tmp_path / "out")))
    assert files_under(out) == {
        f"d/{i:03d}.bin": payload(i) for i in range(3 * http_scheme.PARALLEL)
    }
    assert web.gate.most == http_scheme.PARALLEL


def test_gcs_reference_fetches_overlap(registry, tmp_path, monkeypatch):
    from registry_tool._references import gcs as gcs_scheme

    count = 3 * gcs_scheme.PARALLEL
    with GatedGcs(width=gcs_scheme.PARALLEL) as gcs:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.host)
        for i in range(count):
            gcs.put("bkt", f"data/{i:03d}", payload(i))
        art = wandb.Artifact("g", type="dataset")
        art.add_reference("gs://bkt/data/", name="data")
        got = log(art)
        out = Path(got.download(str(tmp_path / "out")))
    assert files_under(out) == {f"data/{i:03d}": payload(i) for i in range(count)}
    assert gcs.gate.most == gcs_scheme.PARALLEL


@pytest.mark.parametrize("workers", [1, 3])
def test_the_workers_setting_bounds_reference_fetches(registry, tmp_path, monkeypatch, workers):
    monkeypatch.setenv("REGISTRY_TOOL_WORKERS", str(workers))
    with GatedFileServer(width=workers) as web:
        for i in range(12):
            web.put(f"/d/{i:02d}", payload(i))
        art = wandb.Artifact("web", type="dataset")
        for i in range(12):
            art.add_reference(web.url(f"/d/{i:02d}"), name=f"d/{i:02d}")
        out = Path(log(art).download(str(tmp_path / "out")))
    assert len(files_under(out)) == 12
    assert web.gate.most == workers  # reached, and never more


def test_stored_files_and_references_share_one_progress_bar(registry, tmp_path):
    with GatedFileServer(width=1) as web:
        for i in range(20):
            web.put(f"/d/{i:02d}", payload(i))
        art = wandb.Artifact("mixed", type="dataset")
        art.add_file(str(write(tmp_path / "local.txt", "stored bytes\n")))
        for i in range(20):
            art.add_reference(web.url(f"/d/{i:02d}"), name=f"d/{i:02d}")
        got = log(art)
        with recorded_progress() as tasks:
            out = Path(got.download(str(tmp_path / "out")))
    assert files_under(out)["local.txt"] == b"stored bytes\n"
    assert len(files_under(out)) == 21
    (bar,) = [t for t in tasks if t[0].startswith("downloading")]
    assert bar[0] == "downloading 21 files"
    assert bar[1] == len(b"stored bytes\n") + sum(len(payload(i)) for i in range(20))
    assert sum(bar[2]) == bar[1]


# -- the first failure stops what has not started ---------------------------------------


def test_a_failure_stops_the_fetches_not_yet_started(registry, tmp_path, monkeypatch):
    """Four at a time; the first entry has changed and fails at once while the three
    beside it are held: the rest are never asked for, the three land whole."""
    monkeypatch.setenv("REGISTRY_TOOL_WORKERS", "4")
    count = 200
    with GatedFileServer(width=1) as web:
        for i in range(count):
            web.put(f"/d/{i:03d}", payload(i))
        art = wandb.Artifact("web", type="dataset")
        for i in range(count):
            art.add_reference(web.url(f"/d/{i:03d}"), name=f"d/{i:03d}")
        got = log(art)
        web.put("/d/000", b"changed\n")
        web.slow = {f"/d/{i:03d}": 3.0 for i in range(1, count)}
        out = tmp_path / "out"
        with pytest.raises(VerificationError, match=r"'d/000'.*changed since it was logged"):
            got.download(str(out))
        served = [p for m, p in web.requests if m == "GET"]
    assert len(served) <= 4
    landed = files_under(out)
    assert "d/000" not in landed
    assert landed == {p: payload(int(p[2:])) for p in landed}
    assert not [p for p in out.rglob(".*part*")]
