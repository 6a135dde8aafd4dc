"""The two S3 requests that many small files make, without botocore's per-call work.

A botocore call costs about a millisecond of client CPU before a byte is sent
(endpoint rules, event hooks, serialising, parsing), which is most of the time of
uploading or downloading ten thousand small blobs. For a whole-blob PUT and a GET,
this module builds the request itself, signs it with botocore's own SigV4 signer and
the session's own credentials (refreshed as botocore refreshes them), and sends it on
a urllib3 connection pool.

Only the answers it expects are taken: 2xx, 412 for a conditional PUT, 404 for a GET.
Anything else (a redirect, a throttle, a 5xx, a refused signature, a dropped
connection) returns None and the caller makes the same request through botocore,
which retries, follows redirects and explains errors; after three connection failures
in a row (a TLS set-up or proxy only botocore knows, say) it steps aside for the rest of
the process. It verifies TLS with ``AWS_CA_BUNDLE`` when set. Used with path-style addressing
only (an ``endpoint_url``, i.e. an S3-compatible server); elsewhere, botocore as is.
``REGISTRY_TOOL_S3_FAST=0`` turns it off.
"""

from __future__ import annotations

import os
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from registry_tool import _settings

ENV_FAST = "REGISTRY_TOOL_S3_FAST"
GIVE_UP_AFTER = 3  # connection failures in a row after which botocore does all the work
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Any  # urllib3's HTTPHeaderDict
    body: bytes


class FastS3:
    """Signed GET and PUT of whole objects in one bucket, on a urllib3 pool."""

    def __init__(self, endpoint: str, bucket: str, region: str, credentials: Any, pool: int):
        import urllib3  # deferred: comes with botocore, heavy (ssl), only for S3

        self._base = f"{endpoint.rstrip('/')}/{quote(bucket, safe='')}/"
        self._region = region
        self._credentials = credentials
        self._signer = _signer_class()
        self._http = urllib3.PoolManager(
            maxsize=pool,
            retries=False,
            timeout=urllib3.Timeout(connect=10, read=60),
            # The CA bundle botocore would use for a server with a private CA.
            ca_certs=os.environ.get("AWS_CA_BUNDLE") or None,
        )
        self.requests = 0  # sent, whatever came back (for tests and benchmarks)
        self._failures = 0  # connection failures in a row

    @classmethod
    def for_client(cls, client: Any, bucket: str, credentials: Any, pool: int) -> FastS3 | None:
        """A fast path for ``client``'s endpoint, or None where it does not apply."""
        if not _settings.s3_fast():
            return None
        if credentials is None:
            return None  # botocore says why, in its own words
        s3_config = getattr(client.meta.config, "s3", None) or {}
        if s3_config.get("addressing_style") != "path":
            return None
        endpoint = client.meta.endpoint_url
        if not endpoint or not endpoint.startswith(("http://", "https://")):
            return None
        if _proxied(endpoint) or getattr(client.meta.config, "proxies", None):
            return None  # botocore knows the way through the proxy; this pool does not
        return cls(endpoint, bucket, client.meta.region_name or "us-east-1", credentials, pool)

    def url(self, key: str) -> str:
        return self._base + quote(key, safe="/~")

    def put(self, key: str, data: bytes, sha256_hex: str, checksum_b64: str) -> int | None:
        """PUT ``data`` if ``key`` is absent: 200 stored, 412 present, None ask botocore."""
        answer = self._send(
            "PUT",
            key,
            data,
            sha256_hex,
            {"x-amz-checksum-sha256": checksum_b64, "If-None-Match": "*"},
        )
        if answer is None or answer.status not in (200, 412):
            return None
        return answer.status

    def get(self, key: str, first: int, last: int) -> Answer | None:
        """GET bytes ``first``..``last`` of ``key``: 206/200 with the bytes, 404, or None."""
        answer = self._send("GET", key, b"", EMPTY_SHA256, {"Range": f"bytes={first}-{last}"})
        if answer is None or answer.status not in (200, 206, 404):
            return None
        if answer.status == 404 and b"NoSuchKey" not in answer.body:
            return None  # no bucket, say: botocore words it
        return answer

    def _send(
        self, method: str, key: str, body: bytes, sha256_hex: str, headers: dict[str, str]
    ) -> Answer | None:
        from botocore.awsrequest import AWSRequest  # deferred: botocore is heavy

        if self._failures >= GIVE_UP_AFTER:
            return None  # this path cannot reach the server (TLS, proxy...): botocore only
        url = self.url(key)
        request = AWSRequest(method, url, data=body, headers=headers)
        request.context["payload_sha256"] = sha256_hex
        try:
            frozen = self._credentials.get_frozen_credentials()
        except Exception:
            return None
        self._signer(frozen, "s3", self._region).add_auth(request)
        self.requests += 1
        try:
            response = self._http.request(
                method,
                url,
                body=body or None,
                headers=dict(request.headers.items()),
                preload_content=True,
                redirect=False,
            )
        except Exception:
            self._failures += 1
            return None  # connection trouble: botocore's retries take it from here
        self._failures = 0
        return Answer(response.status, response.headers, response.data)


def _proxied(endpoint: str) -> bool:
    """Whether the environment sends requests to ``endpoint`` through a proxy."""
    parts = urlsplit(endpoint)
    proxies = urllib.request.getproxies()
    if parts.scheme not in proxies and "all" not in proxies:
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def _signer_class() -> type:
    from botocore.auth import S3SigV4Auth  # deferred: botocore is heavy

    class Signer(S3SigV4Auth):  # type: ignore[misc]
        """Signs with the payload digest the caller already has, not hashing again."""

        def payload(self, request: Any) -> str:
            given: str | None = request.context.get("payload_sha256")
            return given or str(super().payload(request))

    return Signer
