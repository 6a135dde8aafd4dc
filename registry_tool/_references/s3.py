"""``s3://`` references through boto3, proved by the ETag (and the version id where the
bucket keeps versions). The endpoint comes from ``AWS_ENDPOINT_URL_S3`` /
``AWS_ENDPOINT_URL``, credentials from the standard AWS chain.

A download fetches ``PARALLEL`` objects at a time; a small unversioned object on an
S3-compatible endpoint comes whole in one lean signed GET (the blob store's, from
``_blobs.s3http``), its answer's ETag checked against the recorded one, and anything
else (a version, a large object, an answer the lean path does not take) through
botocore with ``VersionId`` or ``If-Match``."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from registry_tool import _settings
from registry_tool._blobs.s3 import (
    PART_GET,
    error_status,
    is_not_found,
    make_client,
    make_session,
    translate,
)
from registry_tool._blobs.s3http import FastS3
from registry_tool._hashing import CHUNK, Advance
from registry_tool._model.manifest import Entry
from registry_tool._model.records import StorageConfig
from registry_tool._references.common import (
    base_folder,
    bucket_default_name,
    changed,
    check_digest,
    check_size,
    checked_name,
    copy_chunks,
    gone,
    join,
    landing,
    last_segment,
    split_bucket,
    strip_quotes,
    too_many,
    utc,
)
from registry_tool.errors import ArtifactError, VerificationError

# How many objects a download fetches at once (``REGISTRY_TOOL_WORKERS`` overrides):
# what the S3 blob store fetches at once; each GET mostly waits on the network.
PARALLEL = 16
# Objects up to this size are fetched whole in one request on the lean path (its body
# is held in memory); larger ones stream through botocore.
FAST_MAX = PART_GET

_s3_clients: dict[str, tuple[Any, Any]] = {}  # environment -> client, its session
_s3_fast: dict[tuple[str, str], FastS3 | None] = {}  # (environment, bucket) -> lean path
_s3_lock = threading.Lock()


def _client_key() -> tuple[str, int]:
    """The cache key of this process's AWS environment, and the connections to keep."""
    pool = max(32, _settings.workers() or PARALLEL)
    env = (os.getpid(), pool, _settings.s3_environment())
    return hashlib.sha256(repr(env).encode()).hexdigest(), pool


def _client_for(key: str, pool: int, bucket: str) -> tuple[Any, Any]:
    with _s3_lock:
        found = _s3_clients.get(key)
        if found is None:
            config = StorageConfig(url=f"s3://{bucket}")
            session = make_session(config)
            found = (make_client(config, max_pool=pool, session=session), session)
            _s3_clients[key] = found
        return found


def s3_client(bucket: str) -> Any:
    """One boto3 client per process and AWS environment (clients are thread-safe),
    with a connection for every thread a download runs (else connections are dropped
    and opened again as threads take turns)."""
    return _client_for(*_client_key(), bucket)[0]


def s3_fast(bucket: str) -> FastS3 | None:
    """The blob store's lean signed GET for ``bucket`` (``_blobs.s3http``), where it
    applies: a botocore call costs about a millisecond of CPU before a byte is sent,
    most of the time of fetching thousands of small objects."""
    key, pool = _client_key()
    client, session = _client_for(key, pool, bucket)
    with _s3_lock:
        if (key, bucket) not in _s3_fast:
            fast = FastS3.for_client(client, bucket, session.get_credentials(), pool)
            _s3_fast[(key, bucket)] = fast
        return _s3_fast[(key, bucket)]


def _s3_failed(uri: str, exc: Exception) -> ArtifactError:
    return ArtifactError(f"reference {uri!r}: {translate(exc, 'reading the object store')}")


def _s3_entry(
    uri: str, entry_name: str, etag: str, size: int, version: Any, modified: Any
) -> Entry:
    etag = strip_quotes(etag)
    extra: dict[str, Any] = {
        "etag": etag,
        "version_id": None if version in (None, "", "null") else str(version),
    }
    if isinstance(modified, datetime):
        extra["last_modified"] = utc(modified)
    return Entry(entry_name, check_digest(uri, f"etag:{etag}"), int(size), ref=uri, extra=extra)


def check(uri: str) -> None:
    """Nothing more to refuse before the store is asked: a URI with credentials
    (``KEY:SECRET@bucket``, a signed query string) never gets here (``common.check_uri``)."""


default_name = bucket_default_name


def expand(uri: str, name: str | None, max_objects: int | None) -> list[Entry]:
    from botocore.exceptions import BotoCoreError, ClientError  # deferred: boto3 is heavy

    bucket, key = split_bucket(uri)
    client = s3_client(bucket)
    if key and not key.endswith("/"):
        try:
            head = client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if not is_not_found(exc):
                raise _s3_failed(uri, exc) from exc
        except BotoCoreError as exc:
            raise _s3_failed(uri, exc) from exc
        else:
            entry_name = checked_name(uri, name if name is not None else last_segment(key))
            return [
                _s3_entry(
                    uri,
                    entry_name,
                    head["ETag"],
                    head["ContentLength"],
                    head.get("VersionId"),
                    head.get("LastModified"),
                )
            ]
        prefix = key + "/"  # not an object: a prefix if there are objects under key/
    else:
        prefix = key
    base = base_folder(name)
    entries: list[Entry] = []
    try:
        for obj_key, etag, size, version, modified in _s3_list(client, bucket, prefix):
            if max_objects is not None and len(entries) >= max_objects:
                raise too_many(uri, max_objects)
            entry_name = checked_name(uri, join(base, obj_key[len(prefix) :]))
            ref = f"s3://{bucket}/{obj_key}"
            entries.append(_s3_entry(ref, entry_name, etag, size, version, modified))
    except (ClientError, BotoCoreError) as exc:
        raise _s3_failed(uri, exc) from exc
    if not entries:
        raise ArtifactError(f"reference {uri!r}: no object at that key and none under it")
    return entries


def _s3_list(client: Any, bucket: str, prefix: str) -> Iterator[tuple[str, str, int, Any, Any]]:
    """(key, etag, size, version id, last modified) of the live objects under ``prefix``,
    with version ids when the bucket keeps versions and we may see them."""
    from botocore.exceptions import ClientError  # deferred: boto3 is heavy

    versioned = False
    try:
        status = client.get_bucket_versioning(Bucket=bucket).get("Status")
        versioned = status in ("Enabled", "Suspended")
    except ClientError as exc:
        _status, code = error_status(exc)
        if code not in ("AccessDenied", "403", "NotImplemented", "MethodNotAllowed"):
            raise
    if versioned:
        listed = 0
        try:
            pages = client.get_paginator("list_object_versions").paginate(
                Bucket=bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Versions", []):
                    if item.get("IsLatest") and not item["Key"].endswith("/"):
                        listed += 1
                        yield (
                            item["Key"],
                            item["ETag"],
                            item["Size"],
                            item.get("VersionId"),
                            item.get("LastModified"),
                        )
            return
        except ClientError as exc:
            _status, code = error_status(exc)
            if listed or code not in ("AccessDenied", "403", "NotImplemented"):
                raise
            # no permission to list versions: plain listing, ETags only
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):  # "folder" placeholders hold no data
                yield item["Key"], item["ETag"], item["Size"], None, item.get("LastModified")


def fetch(entry: Entry, target: Path, advance: Advance) -> None:
    from botocore.exceptions import BotoCoreError, ClientError  # deferred: boto3 is heavy

    assert entry.ref is not None
    bucket, key = split_bucket(entry.ref)
    version = entry.extra.get("version_id")
    etag = entry.extra.get("etag")
    if etag is None and entry.digest.startswith("etag:"):
        etag = entry.digest[5:]
    checked = entry.digest != entry.ref
    args: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if checked and version:
        args["VersionId"] = version
    elif checked and etag:
        args["IfMatch"] = f'"{etag}"'
    what = f"{entry.path}: downloading {entry.ref}"
    with landing(target) as tmp:
        if checked and etag and not version and _fetch_fast(entry, bucket, key, etag, tmp, advance):
            os.replace(tmp, target)
            return
        try:
            response = s3_client(bucket).get_object(**args)
            got_etag = strip_quotes(str(response.get("ETag", "")))
            if checked and etag and got_etag != etag:
                raise changed(entry, f"recorded ETag {etag}, now {got_etag}")
            with open(tmp, "wb") as dst:
                got = copy_chunks(response["Body"].iter_chunks(CHUNK), dst, advance)
        except ClientError as exc:
            status, code = error_status(exc)
            if code == "PreconditionFailed" or status == 412:
                raise changed(entry, f"its ETag is no longer {etag}") from None
            if code == "NoSuchVersion":
                raise VerificationError(
                    f"{entry.path}: version {version} of the referenced object {entry.ref} is gone"
                ) from None
            if is_not_found(exc):
                raise gone(entry) from None
            raise translate(exc, what) from exc
        except BotoCoreError as exc:
            raise translate(exc, what) from exc
        if checked:
            check_size(entry, got)
        os.replace(tmp, target)


def _fetch_fast(
    entry: Entry, bucket: str, key: str, etag: str, tmp: Path, advance: Advance
) -> bool:
    """Fetch a small unversioned object whole by the lean path into ``tmp``, checked:
    the answer's ETag is the recorded one (what ``If-Match`` asks of botocore's GET,
    judged here on the very answer whose bytes are kept) and the object's size the
    recorded size. False where the lean path does not apply or the server's answer is
    not one it takes (botocore then asks, retries and explains)."""
    size = entry.size
    if size is None or not 0 < size <= FAST_MAX:
        return False  # an empty object has no byte range; a large one streams
    fast = s3_fast(bucket)
    answer = fast.get(key, 0, size - 1) if fast is not None else None
    if answer is None:
        return False
    if answer.status == 404:
        raise gone(entry)
    got_etag = strip_quotes(str(answer.headers.get("ETag") or ""))
    if got_etag != etag:
        raise changed(entry, f"recorded ETag {etag}, now {got_etag}")
    whole = str(answer.headers.get("Content-Range") or "").rpartition("/")[2]
    total = int(whole) if whole.isdigit() else len(answer.body)
    check_size(entry, total)
    check_size(entry, len(answer.body))
    with open(tmp, "wb") as dst:
        dst.write(answer.body)
    advance(len(answer.body))
    return True
