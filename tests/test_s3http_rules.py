"""The lean S3 path's requests, byte for byte, against a loopback server that records them.

SeaweedFS (the test S3 server) checks neither ``x-amz-content-sha256`` against the body
nor the service a request was signed for, so what the lean path sends is observed here
instead: a stdlib HTTP server on 127.0.0.1 records each request's method, path, headers
and body, and answers as each test tells it. A signature is checked by signing the
recorded request again with botocore's own SigV4 signer. What ``FastS3.for_client``
reads from a client (addressing style, endpoint, region, proxies) is checked on clients
built to miss one thing each.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import socket
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from registry_tool._blobs import s3http

CREDS = Credentials("AKIDEXAMPLE", "secret-example")
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class Recorder:
    """A loopback HTTP/1.1 server recording every request; ``answer`` picks the reply.

    ``answer(method, path)`` returns (status, headers, body, cut): with ``cut`` the reply
    announces ``body`` but sends only its first ten bytes, then closes the connection.
    """

    def __init__(self) -> None:
        self.seen: list[SimpleNamespace] = []
        self.answer: Callable[[str, str], tuple[int, dict[str, str], bytes, bool]] = (
            lambda method, path: (200, {}, b"", False)
        )
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.seen.append(
                    SimpleNamespace(
                        method=self.command,
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                    )
                )
                status, headers, payload, cut = recorder.answer(self.command, self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                if cut:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload[:10] if cut else payload)
                self.wfile.flush()
                if cut:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)

            do_GET = do_PUT = handle_one

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def server() -> Iterator[Recorder]:
    made = Recorder()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy, no CA bundle, the lean path on: whatever the machine running the tests."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("REGISTRY_TOOL_S3_FAST", raising=False)


def authorization(headers: dict[str, str]) -> dict[str, str]:
    """The parts of a SigV4 Authorization header: Credential, SignedHeaders, Signature."""
    scheme, _, rest = headers["authorization"].partition(" ")
    assert scheme == "AWS4-HMAC-SHA256"
    return dict(part.strip().split("=", 1) for part in rest.split(","))


def signature_again(seen: SimpleNamespace, endpoint: str, region: str) -> str:
    """The signature botocore's own S3 SigV4 signer gives the recorded request."""
    signed = authorization(seen.headers)["SignedHeaders"].split(";")
    request = AWSRequest(
        seen.method,
        endpoint + seen.path,
        data=seen.body,
        headers={name: seen.headers[name] for name in signed if name != "host"},
    )
    request.context["timestamp"] = seen.headers["x-amz-date"]
    auth = S3SigV4Auth(CREDS.get_frozen_credentials(), "s3", region)
    canonical = auth.canonical_request(request)
    return str(auth.signature(auth.string_to_sign(request, canonical), request))


# -- the request a PUT and a GET send ----------------------------------------------------


def test_a_put_sends_the_bytes_to_the_quoted_key_signed_for_s3_in_the_region(server):
    fast = s3http.FastS3(server.endpoint, "bkt", "eu-west-3", CREDS, 2)
    data = b"some bytes\x00\xff" * 50
    key = "sha256/ab/a b+c~d/é%&?#"
    assert fast.put(key, data, sha(data), b64sha(data)) == 200
    (seen,) = server.seen
    assert seen.method == "PUT"
    # "/" and "~" stay as they are; everything else outside the unreserved set is quoted.
    assert seen.path == "/bkt/sha256/ab/a%20b%2Bc~d/%C3%A9%25%26%3F%23"
    assert seen.body == data
    assert seen.headers["content-length"] == str(len(data))
    assert seen.headers["x-amz-content-sha256"] == sha(data)
    assert seen.headers["x-amz-checksum-sha256"] == b64sha(data)
    assert seen.headers["if-none-match"] == "*"
    parts = authorization(seen.headers)
    access, day, region, service, terminal = parts["Credential"].split("/")
    assert (access, region, service, terminal) == ("AKIDEXAMPLE", "eu-west-3", "s3", "aws4_request")
    assert day == seen.headers["x-amz-date"][:8]
    signed = parts["SignedHeaders"].split(";")
    assert {"host", "x-amz-content-sha256", "x-amz-date", "x-amz-checksum-sha256"} <= set(signed)
    assert parts["Signature"] == signature_again(seen, server.endpoint, "eu-west-3")
    assert fast.requests == 1


def test_a_get_sends_no_body_the_range_and_the_empty_digest_signed(server):
    server.answer = lambda method, path: (206, {"Content-Range": "bytes 0-9/20"}, b"0" * 10, False)
    fast = s3http.FastS3(server.endpoint, "bkt", "us-east-1", CREDS, 2)
    answer = fast.get("k~/x y", 0, 9)
    assert answer is not None and (answer.status, answer.body) == (206, b"0" * 10)
    assert answer.headers["content-range"] == "bytes 0-9/20"
    (seen,) = server.seen
    assert (seen.method, seen.path, seen.body) == ("GET", "/bkt/k~/x%20y", b"")
    assert "content-length" not in seen.headers
    assert seen.headers["range"] == "bytes=0-9"
    assert seen.headers["x-amz-content-sha256"] == s3http.EMPTY_SHA256 == sha(b"")
    assert authorization(seen.headers)["Credential"].endswith("/us-east-1/s3/aws4_request")
    assert authorization(seen.headers)["Signature"] == signature_again(
        seen, server.endpoint, "us-east-1"
    )


def test_without_a_digest_given_the_signer_hashes_the_body_itself(server):
    fast = s3http.FastS3(server.endpoint, "bkt", "r1", CREDS, 2)
    data = b"hash me, nobody did"
    assert fast.put("k", data, "", b64sha(data)) == 200
    (seen,) = server.seen
    assert seen.body == data
    assert seen.headers["x-amz-content-sha256"] == sha(data)
    assert authorization(seen.headers)["Signature"] == signature_again(seen, server.endpoint, "r1")


def test_the_signer_takes_the_digest_given_else_botocores_own():
    signer_class = s3http._signer_class()
    assert issubclass(signer_class, S3SigV4Auth)
    signer = signer_class(CREDS.get_frozen_credentials(), "s3", "r")
    request = AWSRequest("PUT", "http://127.0.0.1:1/b/k", data=b"abc")
    assert signer.payload(request) == sha(b"abc")  # over plain HTTP S3 hashes the body
    request.context["payload_sha256"] = "f" * 64
    assert signer.payload(request) == "f" * 64  # given: not hashed again
    request.context["payload_sha256"] = ""
    assert signer.payload(request) == sha(b"abc")


# -- what the lean path leaves to botocore ---------------------------------------------------


def test_a_redirect_is_not_followed_but_handed_to_botocore(server):
    def answer(method: str, path: str) -> tuple[int, dict[str, str], bytes, bool]:
        if path == "/bkt/k":
            return 307, {"Location": server.endpoint + "/bkt/elsewhere"}, b"", False
        return 200, {}, b"", False

    server.answer = answer
    fast = s3http.FastS3(server.endpoint, "bkt", "r", CREDS, 2)
    assert fast.put("k", b"x", sha(b"x"), b64sha(b"x")) is None
    assert fast.get("k", 0, 0) is None
    assert [(s.method, s.path) for s in server.seen] == [("PUT", "/bkt/k"), ("GET", "/bkt/k")]
    assert fast._failures == 0  # an answer, not a connection failure


def test_a_body_cut_short_is_a_connection_failure_not_an_error(server):
    server.answer = lambda method, path: (200, {}, bytes(100), True)
    fast = s3http.FastS3(server.endpoint, "bkt", "r", CREDS, 2)
    assert fast.get("k", 0, 99) is None
    assert fast._failures == 1 and fast.requests == 1
    server.answer = lambda method, path: (200, {}, bytes(100), False)
    answer = fast.get("k", 0, 99)
    assert answer is not None and answer.body == bytes(100)
    assert fast._failures == 0


# -- FastS3.for_client: what it reads from the client ----------------------------------------


def stub_client(endpoint: Any, region: Any = "r", **config: Any) -> Any:
    return SimpleNamespace(
        meta=SimpleNamespace(
            config=SimpleNamespace(**config), endpoint_url=endpoint, region_name=region
        )
    )


PATH = {"s3": {"addressing_style": "path"}}


def test_for_client_needs_path_style_an_http_endpoint_and_credentials():
    ok = s3http.FastS3.for_client(stub_client("http://127.0.0.1:1/", "eu-1", **PATH), "b", CREDS, 3)
    assert ok is not None
    assert (ok._region, ok._base, ok.url("a/b")) == (
        "eu-1",
        "http://127.0.0.1:1/b/",
        "http://127.0.0.1:1/b/a/b",
    )
    assert ok._http.connection_pool_kw["maxsize"] == 3
    assert ok._credentials is CREDS
    https = s3http.FastS3.for_client(stub_client("https://h.example:1", **PATH), "b", CREDS, 1)
    assert https is not None and https._base == "https://h.example:1/b/"
    # A config without an "s3" or a "proxies" attribute at all: neither is required.
    assert s3http.FastS3.for_client(stub_client("http://127.0.0.1:1"), "b", CREDS, 2) is None
    assert s3http.FastS3.for_client(stub_client("http://h", s3=None), "b", CREDS, 2) is None
    virtual = stub_client("http://h", s3={"addressing_style": "virtual"})
    assert s3http.FastS3.for_client(virtual, "b", CREDS, 2) is None
    for endpoint in (None, "", "ftp://127.0.0.1:1", "127.0.0.1:1", "HTTP://127.0.0.1:1"):
        assert s3http.FastS3.for_client(stub_client(endpoint, **PATH), "b", CREDS, 2) is None
    assert s3http.FastS3.for_client(stub_client("http://h", **PATH), "b", None, 2) is None


def test_for_client_takes_us_east_1_when_the_client_has_no_region():
    for region in (None, ""):
        fast = s3http.FastS3.for_client(stub_client("http://h", region, **PATH), "b", CREDS, 2)
        assert fast is not None and fast._region == "us-east-1"


def test_for_client_leaves_a_proxy_to_botocore(monkeypatch):
    for proxies in ({"http": "http://127.0.0.1:9"}, {"https": "http://127.0.0.1:9"}):
        client = stub_client("http://h", proxies=proxies, **PATH)
        assert s3http.FastS3.for_client(client, "b", CREDS, 2) is None
    for proxies in (None, {}):
        client = stub_client("http://h", proxies=proxies, **PATH)
        assert s3http.FastS3.for_client(client, "b", CREDS, 2) is not None
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert s3http.FastS3.for_client(stub_client("http://h", **PATH), "b", CREDS, 2) is None
    monkeypatch.setenv("REGISTRY_TOOL_S3_FAST", "0")
    monkeypatch.delenv("HTTP_PROXY")
    assert s3http.FastS3.for_client(stub_client("http://h", **PATH), "b", CREDS, 2) is None


def test_for_client_reads_a_real_boto3_client():
    import boto3
    import botocore.config

    def client(**config: Any) -> Any:
        return boto3.client(
            "s3",
            endpoint_url="http://127.0.0.1:1",
            region_name="ap-south-2",
            aws_access_key_id="k",
            aws_secret_access_key="s",
            config=botocore.config.Config(**config),
        )

    fast = s3http.FastS3.for_client(client(**PATH), "b", CREDS, 2)
    assert fast is not None and fast._region == "ap-south-2"
    assert fast.url("x") == "http://127.0.0.1:1/b/x"
    assert s3http.FastS3.for_client(client(), "b", CREDS, 2) is None  # addressing: auto
    proxied = client(proxies={"http": "http://127.0.0.1:9"}, **PATH)
    assert s3http.FastS3.for_client(proxied, "b", CREDS, 2) is None


def test_the_pool_verifies_with_the_ca_bundle_when_set(monkeypatch, tmp_path):
    bundle = str(tmp_path / "ca.pem")
    monkeypatch.setenv("AWS_CA_BUNDLE", bundle)
    fast = s3http.FastS3.for_client(stub_client("https://h", **PATH), "b", CREDS, 2)
    assert fast is not None and fast._http.connection_pool_kw["ca_certs"] == bundle
    monkeypatch.setenv("AWS_CA_BUNDLE", "")
    fast = s3http.FastS3("https://h", "b", "r", CREDS, 2)
    assert fast._http.connection_pool_kw["ca_certs"] is None


# -- _proxied ------------------------------------------------------------------------------


def test_proxied_by_scheme_by_all_and_bypassed_by_no_proxy(monkeypatch):
    assert not s3http._proxied("http://127.0.0.1:1")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert s3http._proxied("http://h.example:1")
    assert not s3http._proxied("https://h.example:1")  # no proxy for that scheme
    monkeypatch.setenv("NO_PROXY", "h.example")
    assert not s3http._proxied("http://h.example:1")
    assert s3http._proxied("http://other.example:1")
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    assert s3http._proxied("https://other.example:1")
    assert not s3http._proxied("https://h.example:1")


def test_proxied_an_endpoint_without_a_host_is_bypassed_by_no_name(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "xxxx,XXXX,localhost")
    # No host name: nothing in NO_PROXY names it, so the proxy applies.
    assert s3http._proxied("http://:9000")
    assert s3http._proxied("http://")
