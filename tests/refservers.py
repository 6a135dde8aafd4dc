"""Servers for reference tests, on 127.0.0.1 with a random port, stopped by the test:

- ``FileServer``: a threaded ``http.server`` serving in-memory files with ETag and
  Last-Modified (each optional) and HEAD (optional), whose files can be changed.
- ``GcsEmulator``: the three endpoints of the GCS JSON API that references use
  (object metadata, listing with pages, media download) over an in-memory dict.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

BASE_TIME = 1_700_000_000.0


class _Server:
    handler: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self.httpd: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self.httpd is not None
        return int(self.httpd.server_address[1])

    def start(self) -> Any:
        handler = type("Handler", (self.handler,), {"server_owner": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        if self.thread is not None:
            self.thread.join(timeout=10)
            self.thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    server_owner: Any

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def send_body(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


# -- plain HTTP ------------------------------------------------------------------------


class _FileHandler(_Handler):
    def _serve(self) -> None:
        owner: FileServer = self.server_owner
        path = unquote(urlsplit(self.path).path)
        with owner.lock:
            owner.requests.append((self.command, path))
            found = owner.files.get(path)
        if self.command == "HEAD" and not owner.head:
            self.send_body(405, b"", {"Allow": "GET"})
            return
        if found is None:
            self.send_body(404, b"not found\n", {"Content-Type": "text/plain"})
            return
        data, version = found
        headers = {"Content-Type": "application/octet-stream"}
        if owner.etag:
            headers["ETag"] = '"' + hashlib.sha1(data).hexdigest()[:20] + '"'
        if owner.last_modified:
            headers["Last-Modified"] = formatdate(BASE_TIME + 60 * version, usegmt=True)
        self.send_body(200, data, headers)

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()


class FileServer(_Server):
    """``put("/data.zip", b"...")``, then ``url("/data.zip")``. Every ``put`` moves the
    file's Last-Modified one minute on."""

    handler = _FileHandler

    def __init__(self, *, etag: bool = True, last_modified: bool = True, head: bool = True):
        super().__init__()
        self.etag = etag
        self.last_modified = last_modified
        self.head = head
        self.files: dict[str, tuple[bytes, int]] = {}

    def put(self, path: str, data: bytes) -> None:
        with self.lock:
            version = self.files[path][1] + 1 if path in self.files else 0
            self.files[path] = (data, version)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


# -- GCS JSON API ---------------------------------------------------------------------


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> str:
    """Base64 of the big-endian CRC32C, as the GCS JSON API reports it."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return base64.b64encode((crc ^ 0xFFFFFFFF).to_bytes(4, "big")).decode()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class _GcsHandler(_Handler):
    def _json(self, status: int, doc: Any) -> None:
        self.send_body(status, json.dumps(doc).encode(), {"Content-Type": "application/json"})

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": {"code": status, "message": message}})

    def do_GET(self) -> None:
        owner: GcsEmulator = self.server_owner
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        parts = [unquote(p) for p in split.path.split("/")]
        with owner.lock:
            owner.requests.append(("GET", self.path))
        media = parts[1:2] == ["download"]
        if media:
            parts = parts[1:]
        # ["", "storage", "v1", "b", bucket, "o"(, object)]
        if parts[1:4] != ["storage", "v1", "b"] or len(parts) < 6 or parts[5] != "o":
            self._error(404, "no such endpoint")
            return
        bucket = parts[4]
        if bucket not in owner.buckets:
            self._error(404, "The specified bucket does not exist.")
            return
        if len(parts) == 6 and not media:
            self._list(owner, bucket, query)
            return
        if len(parts) != 7:
            self._error(404, "no such endpoint")
            return
        with owner.lock:
            found = owner.objects.get((bucket, parts[6]))
        if found is None or (
            "generation" in query and query["generation"] != str(found.generation)
        ):
            self._error(404, "No such object")
            return
        if media:
            if query.get("alt") != "media":
                self._error(400, "alt=media is required")
                return
            hashes = [f"crc32c={crc32c(found.data)}"]
            if found.with_md5:
                hashes.append(f"md5={md5_b64(found.data)}")
            self.send_body(
                200,
                found.data,
                {
                    "Content-Type": "application/octet-stream",
                    "x-goog-generation": str(found.generation),
                    "x-goog-hash": ",".join(hashes),
                },
            )
        else:
            self._json(200, found.metadata(bucket, parts[6]))

    def _list(self, owner: GcsEmulator, bucket: str, query: dict[str, str]) -> None:
        prefix = query.get("prefix", "")
        with owner.lock:
            names = sorted(n for b, n in owner.objects if b == bucket and n.startswith(prefix))
            start = int(query.get("pageToken", "0"))
            page = names[start : start + owner.page_size]
            items = [owner.objects[(bucket, n)].metadata(bucket, n) for n in page]
        doc: dict[str, Any] = {"kind": "storage#objects"}
        if items:
            doc["items"] = items
        if start + owner.page_size < len(names):
            doc["nextPageToken"] = str(start + owner.page_size)
        self._json(200, doc)


class GcsObject:
    def __init__(self, data: bytes, generation: int, with_md5: bool) -> None:
        self.data = data
        self.generation = generation
        self.with_md5 = with_md5

    def metadata(self, bucket: str, name: str) -> dict[str, Any]:
        doc = {
            "kind": "storage#object",
            "bucket": bucket,
            "name": name,
            "size": str(len(self.data)),
            "generation": str(self.generation),
            "crc32c": crc32c(self.data),
        }
        if self.with_md5:
            doc["md5Hash"] = md5_b64(self.data)
        return doc


class GcsEmulator(_Server):
    """Buckets of objects; a new ``put`` of an object gives it a new generation and the
    old generation is gone (a bucket without object versioning). Listings come in pages
    of ``page_size`` items."""

    handler = _GcsHandler

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.buckets: set[str] = set()
        self.objects: dict[tuple[str, str], GcsObject] = {}
        self._generation = 1_700_000_000_000_000

    def put(self, bucket: str, name: str, data: bytes, *, with_md5: bool = True) -> int:
        with self.lock:
            self.buckets.add(bucket)
            self._generation += 1
            self.objects[(bucket, name)] = GcsObject(data, self._generation, with_md5)
            return self._generation

    @property
    def host(self) -> str:
        """What ``STORAGE_EMULATOR_HOST`` is set to: host and port, no scheme."""
        return f"127.0.0.1:{self.port}"
