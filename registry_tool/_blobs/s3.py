"""Blobs in S3 or an S3-compatible store (SeaweedFS, MinIO, R2, Ceph) through boto3.

Keys are ``<prefix>/sha256/<2 hex>/<64 hex>``. A blob is written once: ``HEAD`` first,
then ``put_object(IfNoneMatch="*")`` (a 412 means another writer stored it first), with
``ChecksumSHA256`` so the server refuses bytes that were damaged on the way. Large
files go up by multipart, parts in parallel, each part checksummed. Reads are verified
against the digest before they are handed over. Credentials come from the standard
AWS chain (environment, profile, instance role) and are never written anywhere.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from registry_tool import _settings
from registry_tool._blobs.base import FRESH_FOR, BlobInfo, blob_key
from registry_tool._blobs.s3http import FastS3
from registry_tool._hashing import Advance, hash_file
from registry_tool._model.records import StorageConfig
from registry_tool.errors import CorruptBlobError, StorageError, UsageError

if TYPE_CHECKING:
    from botocore.client import BaseClient

MiB = 1024 * 1024
MULTIPART_FROM = 64 * MiB
PART_GET = 8 * MiB
MIN_PART = 8 * MiB
MAX_PARTS = 10_000
PART_WORKERS = 8
BODY_ATTEMPTS = 3  # reads of a GET's body cut half-way, after the fast path's one

ENV_PATH_STYLE = "REGISTRY_TOOL_S3_PATH_STYLE"
ENV_CHECKSUM = "REGISTRY_TOOL_S3_CHECKSUM"
ENV_RETRY_MODE = "REGISTRY_TOOL_S3_RETRY_MODE"
ENV_MAX_ATTEMPTS = "REGISTRY_TOOL_S3_MAX_ATTEMPTS"


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ("bucket", "some/prefix")."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise UsageError(f"storage url {url!r}: expected s3://bucket[/prefix]")
    return parsed.netloc, parsed.path.strip("/")


def part_size_for(size: int) -> int:
    """A part size that keeps a multipart upload within S3's 10,000 parts."""
    part = MIN_PART
    while size / part > MAX_PARTS:
        part *= 2
    return part


def _total_size(response: dict[str, Any]) -> int:
    """The object's size from a ranged GET's Content-Range (``bytes 0-9/1234``)."""
    content_range = response.get("ContentRange") or ""
    if "/" in content_range:
        return int(content_range.rsplit("/", 1)[1])
    return int(response["ContentLength"])


def _composite(path: Path, part: int) -> str:
    """The checksum S3 keeps of a file's multipart upload in parts of ``part`` bytes:
    the SHA-256 of the parts' SHA-256s, base64, ``-<parts>``."""
    parts = []
    with open(path, "rb") as f:
        while data := f.read(part):
            parts.append(hashlib.sha256(data).digest())
    return f"{_b64(hashlib.sha256(b''.join(parts)).digest())}-{len(parts)}"


class _Missing(Exception):
    """The fast path's 404 NoSuchKey."""


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def make_session(config: StorageConfig) -> Any:
    """A boto3 session on the standard credential chain (``AWS_PROFILE`` or the
    registry's ``profile`` first)."""
    import boto3  # deferred: boto3 is heavy

    return boto3.session.Session(profile_name=os.environ.get("AWS_PROFILE") or config.profile)


def make_client(config: StorageConfig, *, max_pool: int = 32, session: Any = None) -> BaseClient:
    """A boto3 S3 client for a storage config: endpoint, region, profile, addressing
    style and checksum policy from ``registry.yaml``, overridable by the environment
    (``AWS_ENDPOINT_URL_S3``, ``AWS_PROFILE``, ``REGISTRY_TOOL_S3_PATH_STYLE``,
    ``REGISTRY_TOOL_S3_CHECKSUM``, ``REGISTRY_TOOL_S3_RETRY_MODE``,
    ``REGISTRY_TOOL_S3_MAX_ATTEMPTS``). Throttling and 5xx answers are retried with
    backoff by botocore's standard (or adaptive) retry mode."""
    import botocore.config  # deferred: botocore is heavy

    endpoint = (
        os.environ.get("AWS_ENDPOINT_URL_S3")
        or config.endpoint_url
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    path_style = _settings.s3_path_style()
    use_path = config.path_style if path_style is None else path_style not in ("0", "false", "")
    if use_path is None:
        use_path = endpoint is not None  # most S3-compatible servers want path style
    checksum = _settings.s3_checksum() or config.checksum
    if checksum is None:
        # boto3 >= 1.36 sends CRC checksums by default, which some S3-compatible servers
        # refuse; our own ChecksumSHA256 is sent either way.
        checksum = "when_required" if endpoint else "when_supported"
    botocore_config = botocore.config.Config(
        retries={
            "mode": _settings.s3_retry_mode(),
            "max_attempts": _settings.s3_max_attempts(),
        },
        s3={"addressing_style": "path" if use_path else "auto"},
        request_checksum_calculation=checksum,
        response_checksum_validation="when_required",
        max_pool_connections=max_pool,
        connect_timeout=10,
        read_timeout=60,
    )
    session = session or make_session(config)
    return session.client(
        "s3",
        endpoint_url=endpoint,
        region_name=config.region or session.region_name or "us-east-1",
        config=botocore_config,
    )


# -- the botocore boundary: every botocore error of the package is read here ---------


def error_status(exc: BaseException) -> tuple[int | None, str]:
    """The HTTP status and S3 error code of a botocore ``ClientError`` (None, "" for
    any other exception).

    >>> error_status(ValueError("not botocore"))
    (None, '')
    """
    response = getattr(exc, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status, str(response.get("Error", {}).get("Code", ""))


def is_not_found(exc: BaseException) -> bool:
    """Whether a botocore error says the object is not there (404 or NoSuchKey)."""
    status, code = error_status(exc)
    return status == 404 or code in ("404", "NoSuchKey", "NotFound")


def is_precondition_failed(exc: BaseException) -> bool:
    """Whether a conditional write (``IfNoneMatch="*"``) found the object already there."""
    return error_status(exc)[1] == "PreconditionFailed"


def translate(exc: Exception, what: str) -> StorageError:
    """One clear StorageError for a botocore failure (never echoing credentials), with
    ``exc`` as its ``__cause__``; raise it ``from exc``."""
    from botocore.exceptions import (  # deferred: botocore is heavy
        ClientError,
        NoCredentialsError,
    )

    if isinstance(exc, NoCredentialsError):
        error = StorageError(
            f"{what}: no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, or use an instance role)"
        )
    elif isinstance(exc, ClientError):
        code = error_status(exc)[1] or "?"
        message = exc.response.get("Error", {}).get("Message", "")
        if code in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "403"):
            error = StorageError(f"{what}: access denied ({code}): check the AWS credentials")
        elif code in ("NoSuchBucket",):
            error = StorageError(f"{what}: the bucket does not exist")
        else:
            error = StorageError(f"{what}: {code} {message}".rstrip())
    else:
        error = StorageError(f"{what}: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


class S3BlobStore:
    """``s3://bucket/prefix`` behind the BlobStore protocol."""

    parallel = 16
    remote = True

    def __init__(self, config: StorageConfig, client: Any = None) -> None:
        self.config = config
        self.url = config.url
        self.bucket, self.prefix = split_url(config.url)
        self.parallel = config.parallel or S3BlobStore.parallel
        self._client = client
        self._fast: FastS3 | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    pool = max(32, self.parallel * 2)
                    session = make_session(self.config)
                    client = make_client(self.config, max_pool=pool, session=session)
                    self._fast = FastS3.for_client(
                        client, self.bucket, session.get_credentials(), pool
                    )
                    self._client = client
        return self._client

    @property
    def fast(self) -> FastS3 | None:
        """Signed requests without botocore's per-call overhead, where they apply."""
        _ = self.client
        return self._fast

    def key(self, hexdigest: str) -> str:
        return blob_key(hexdigest, self.prefix)

    def local_path(self, hexdigest: str) -> Path | None:
        return None

    def has(self, hexdigest: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError  # deferred: botocore is heavy

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(hexdigest))
            return True
        except (ClientError, BotoCoreError) as exc:
            if is_not_found(exc):
                return False
            raise translate(exc, f"checking {self.url} for sha256:{hexdigest}") from exc

    def ingest(self, path: Path, hexdigest: str | None, advance: Advance) -> tuple[str, bool]:
        """Small files: read once, hashed, one conditional PUT (a 412 means the blob is
        there already: no HEAD first). Large files: HEAD, then parallel multipart. A blob
        found there already is checked against what is in hand (``_sound``) and stored
        again, over the old object, when it fails: that is what repairs a corrupt blob."""
        from botocore.exceptions import BotoCoreError, ClientError  # deferred: botocore is heavy

        size = path.stat().st_size
        what = f"uploading {path} to {self.url}"
        try:
            if size < MULTIPART_FROM:
                data = path.read_bytes()
                digest = hashlib.sha256(data).hexdigest()
                if hexdigest is not None and digest != hexdigest:
                    raise StorageError(f"{path} changed while it was being logged; log again")
                return digest, self._put_small(data, digest, advance)
            if hexdigest is None:
                hexdigest = hash_file(path)
            sound = self._sound(hexdigest, size, None, None, path)
            if sound:
                return hexdigest, False
            return hexdigest, self._put_multipart(
                path, hexdigest, size, advance, over=sound is False
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, what) from exc

    def _put_small(self, data: bytes, hexdigest: str, advance: Advance) -> bool:
        from botocore.exceptions import ClientError  # deferred: botocore is heavy

        fast = self.fast
        checksum = _b64(bytes.fromhex(hexdigest))
        status = None
        if fast is not None:
            status = fast.put(self.key(hexdigest), data, hexdigest, checksum)
        if status is None:
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self.key(hexdigest),
                    Body=data,
                    ChecksumSHA256=checksum,
                    IfNoneMatch="*",
                )
                status = 200
            except ClientError as exc:
                if not is_precondition_failed(exc):
                    raise  # translated by ingest
                status = 412  # another writer stored the same blob first
        if status == 412:
            if self._sound(hexdigest, len(data), checksum, data):
                return False
            # Corrupt (or gone since): stored over, unconditionally, with its checksum.
            self.client.put_object(
                Bucket=self.bucket, Key=self.key(hexdigest), Body=data, ChecksumSHA256=checksum
            )
        advance(len(data))
        return True

    def _sound(
        self,
        hexdigest: str,
        size: int,
        checksum: str | None,
        data: bytes | None,
        path: Path | None = None,
    ) -> bool | None:
        """Whether the stored object is the blob (None: there is none), told by what
        ``verify --all`` would find, as cheaply as it can be: its size, then the SHA-256
        checksum S3 keeps of what it was sent (every PUT here sends one: a plain one for
        a single PUT, ``<checksum of the parts' checksums>-<parts>`` for a multipart
        upload, computed from the file at ``path`` only when the object has one) when
        it is of the kind of ``checksum``; else, when the bytes are in hand (``data``, a
        small blob), the object read back; else the size alone."""
        from botocore.exceptions import ClientError  # deferred: botocore is heavy

        key = self.key(hexdigest)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise  # translated by ingest
        if int(head["ContentLength"]) != size:
            return False
        stored = head.get("ChecksumSHA256")
        if stored and "-" in stored and path is not None:
            checksum = _composite(path, part_size_for(size))  # the file, read once more
        if stored and checksum and ("-" in stored) == ("-" in checksum):
            return bool(stored == checksum)
        if data is not None:
            try:
                _, body = self._get_range(key, 0, size - 1) if size else (0, b"")
            except _Missing:
                return None
            return hashlib.sha256(body).hexdigest() == hexdigest
        return True

    def _put_multipart(
        self, path: Path, hexdigest: str, size: int, advance: Advance, *, over: bool = False
    ) -> bool:
        """Parts are read in order (hashing the whole on the way) and sent in parallel;
        ``over``: replace the object there (a corrupt one), not only store a new one."""
        from botocore.exceptions import ClientError  # deferred: botocore is heavy

        key = self.key(hexdigest)
        part = part_size_for(size)
        upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256"
        )["UploadId"]
        lock = threading.Lock()
        in_flight = threading.Semaphore(PART_WORKERS + 2)  # bounds memory to ~10 parts

        def send(number: int, data: bytes, checksum: str) -> dict[str, Any]:
            try:
                response = self.client.upload_part(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=data,
                    ChecksumSHA256=checksum,
                )
            finally:
                in_flight.release()
            with lock:
                advance(len(data))
            return {"ETag": response["ETag"], "PartNumber": number, "ChecksumSHA256": checksum}

        whole = hashlib.sha256()
        try:
            with (
                ThreadPoolExecutor(PART_WORKERS, thread_name_prefix="registry-tool-part") as pool,
                open(path, "rb") as f,
            ):
                futures = []
                number = 0
                while data := f.read(part):
                    number += 1
                    whole.update(data)
                    in_flight.acquire()
                    checksum = _b64(hashlib.sha256(data).digest())
                    futures.append(pool.submit(send, number, data, checksum))
                parts = [future.result() for future in futures]
            if whole.hexdigest() != hexdigest:
                raise StorageError(f"{path} changed while it was being uploaded; log again")
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                **({} if over else {"IfNoneMatch": "*"}),
            )
        except ClientError as exc:
            self._abort(key, upload_id)
            if is_precondition_failed(exc):
                return False  # another writer stored the same blob first
            raise  # translated by ingest
        except BaseException:
            self._abort(key, upload_id)
            raise
        return True

    def _abort(self, key: str, upload_id: str) -> None:
        # Best effort: a bucket lifecycle rule cleans up whatever is left.
        with contextlib.suppress(Exception):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def fetch(self, hexdigest: str, dest: Path, advance: Advance) -> None:
        """Download to ``dest`` (ranged and parallel when large), then verify."""
        from botocore.exceptions import BotoCoreError, ClientError  # deferred: botocore is heavy

        key = self.key(hexdigest)
        what = f"downloading sha256:{hexdigest} from {self.url}"
        try:
            # The first range is also the whole of a small blob: one request for most.
            total, head = self._get_range(key, 0, PART_GET - 1)
            got = self._get_ranged(key, total, dest, advance, head)
        except _Missing:
            raise CorruptBlobError(f"blob sha256:{hexdigest} is missing from {self.url}") from None
        except (ClientError, BotoCoreError) as exc:
            if is_not_found(exc):  # the 404 adds nothing to "missing"
                raise CorruptBlobError(
                    f"blob sha256:{hexdigest} is missing from {self.url}"
                ) from None
            raise translate(exc, what) from exc
        if got != hexdigest:
            raise CorruptBlobError(
                f"blob sha256:{hexdigest} in {self.url} is corrupt (its bytes hash to {got})"
            )

    def _get_range(self, key: str, first: int, last: int) -> tuple[int, bytes]:
        """(the object's total size, bytes ``first``..``last``), fast path first."""
        fast = self.fast
        answer = fast.get(key, first, last) if fast is not None else None
        if answer is not None:
            if answer.status == 404:
                raise _Missing
            content_range = answer.headers.get("Content-Range") or ""
            if "/" in content_range:
                return int(content_range.rsplit("/", 1)[1]), answer.body
            return len(answer.body), answer.body
        from botocore.exceptions import (  # deferred: botocore is heavy
            ClientError,
            ConnectionClosedError,
            IncompleteReadError,
            ReadTimeoutError,
            ResponseStreamingError,
        )

        # botocore retries a request, not the reading of its body: a connection cut
        # half-way through the bytes is read again, a bounded number of times.
        for attempt in range(1, BODY_ATTEMPTS + 1):
            try:
                response = self.client.get_object(
                    Bucket=self.bucket, Key=key, Range=f"bytes={first}-{last}"
                )
            except ClientError as exc:
                # Only an empty object has no byte 0: S3 refuses the range (416).
                if first == 0 and error_status(exc)[1] == "InvalidRange":
                    return 0, b""
                raise
            try:
                return _total_size(response), response["Body"].read()
            except (
                ResponseStreamingError,
                IncompleteReadError,
                ReadTimeoutError,
                ConnectionClosedError,
            ):
                if attempt == BODY_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _get_ranged(self, key: str, size: int, dest: Path, advance: Advance, head: bytes) -> str:
        """The ranges after ``head`` fetched in parallel (none for a small blob), written
        and hashed in order: one pass, no re-read."""
        starts = list(range(PART_GET, size, PART_GET))

        def get(start: int) -> bytes:
            end = min(start + PART_GET, size) - 1
            _, data = self._get_range(key, start, end)
            if len(data) != end - start + 1:
                raise StorageError(f"short read of {key} at bytes {start}-{end}")
            return data

        h = hashlib.sha256()
        with (
            open(dest, "xb") as f,
            ThreadPoolExecutor(PART_WORKERS, thread_name_prefix="registry-tool-range") as pool,
        ):
            h.update(head)
            f.write(head)
            advance(len(head))
            pending = [pool.submit(get, start) for start in starts[: PART_WORKERS * 2]]
            queued = len(pending)
            while pending:
                data = pending.pop(0).result()
                if queued < len(starts):
                    pending.append(pool.submit(get, starts[queued]))
                    queued += 1
                h.update(data)
                f.write(data)
                advance(len(data))
        return h.hexdigest()

    def iter_digests(self) -> Iterator[str]:
        return (blob.hexdigest for blob in self.iter_blobs())

    def iter_blobs(self) -> Iterator[BlobInfo]:
        from botocore.exceptions import BotoCoreError, ClientError  # deferred: botocore is heavy

        base = f"{self.prefix}/sha256/" if self.prefix else "sha256/"
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base
            )
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"].rpartition("/")[2]
                    if len(name) == 64:
                        yield BlobInfo(name, int(item["Size"]), item["LastModified"].timestamp())
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"listing {self.url}") from exc

    def refresh(self, hexdigest: str) -> bool:
        """A HEAD, and for a blob older than ``FRESH_FOR`` a copy of the object onto
        itself, which gives it a new LastModified (objects over 5 GB cannot be copied in
        one request: those are only checked present)."""
        from botocore.exceptions import BotoCoreError, ClientError  # deferred: botocore is heavy

        key = self.key(hexdigest)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
            if head["LastModified"].timestamp() > time.time() - FRESH_FOR:
                return True
            self.client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": key},
                MetadataDirective="REPLACE",
            )
        except (ClientError, BotoCoreError) as exc:
            if is_not_found(exc):
                return False
            if error_status(exc)[1] in ("InvalidRequest", "AccessDenied"):
                return self.has(hexdigest)  # too big to copy, or not allowed
            raise translate(exc, f"refreshing sha256:{hexdigest} in {self.url}") from exc
        return True

    def delete(self, hexdigest: str, older_than: float | None = None) -> bool:
        """One DELETE per blob (DeleteObjects needs Content-MD5, which some S3-compatible
        servers and botocore's checksum settings disagree on); callers run them in
        parallel. With ``older_than``, a HEAD first: a blob a log refreshed since the
        listing stays (the window left is the HEAD-to-DELETE round trip)."""
        from botocore.exceptions import BotoCoreError, ClientError  # deferred: botocore is heavy

        key = self.key(hexdigest)
        try:
            if older_than is not None:
                head = self.client.head_object(Bucket=self.bucket, Key=key)
                if head["LastModified"].timestamp() > older_than:
                    return False
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            if is_not_found(exc):
                return False
            raise translate(exc, f"removing sha256:{hexdigest} from {self.url}") from exc
        return True
