"""References: manifest entries whose bytes stay where they are (DESIGN.md "References").

A checksummed reference records what proves the bytes, never the bytes themselves:

=============  =====================================  ====================================
scheme         digest                                 ``extra``
=============  =====================================  ====================================
``file://``    ``sha256:<hex>`` of the content
``s3://``      ``etag:<etag>``                        ``etag``, ``version_id``,
                                                      ``last_modified``
``http(s)://`` ``etag:<etag>``, else                  ``etag`` or ``last_modified``
               ``size-mtime:<size>:<Last-Modified>``
``gs://``      ``md5:<base64>`` or ``crc32c:<base64>`` ``generation``
=============  =====================================  ====================================

``checksum=False`` records the URI itself as the digest and does not contact the
store. A prefix (``s3://bucket/data/``, ``gs://bucket/data/``, a directory) gives one
entry per object, named ``<name>/<key relative to the prefix>``; more objects than
``max_objects`` is an error, never a silent cut. Downloads check what was recorded
(S3: the version, else ``If-Match`` on the ETag; HTTP: the ETag or size and
Last-Modified; GCS: the generation and the MD5 of the bytes; files: the SHA-256) and
land by temp file and rename, so a changed object never leaves a file behind.

S3 goes through boto3 with the standard AWS credential chain; the endpoint comes from
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``. GCS goes through its JSON API over
plain HTTP (``STORAGE_EMULATOR_HOST`` overrides the endpoint, as Google's clients
allow); an object that cannot be read there is recorded as ``checksum=False`` would
record it, with a ``ReferenceWarning``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import threading
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote, urlencode, urlparse

from registry_tool import _settings
from registry_tool._hashing import CHUNK, copy_and_hash, hash_file
from registry_tool._model.manifest import Entry, file_digest
from registry_tool._model.names import validate_entry_path
from registry_tool.errors import (
    ArtifactError,
    InvalidNameError,
    StorageError,
    UsageError,
    VerificationError,
)

REMOTE_SCHEMES = ("s3", "gs", "http", "https")
MAX_URI = 4096  # the manifest schema's limit for a ref (and a digest)
HTTP_TIMEOUT = 60
GCS_HOST = "https://storage.googleapis.com"
ENV_GCS_EMULATOR = "STORAGE_EMULATOR_HOST"

Advance = Callable[[int], None]


class ReferenceWarning(UserWarning):
    """A reference was recorded without a checksum because its object could not be read."""


# -- shared helpers ------------------------------------------------------------------


def _has_control(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def _check_uri(uri: object) -> str:
    if not isinstance(uri, str) or not uri:
        raise UsageError(f"reference {uri!r}: expected a URI string such as s3://bucket/key")
    if _has_control(uri):
        raise UsageError(f"reference {uri!r}: the URI contains a control character")
    if len(uri) > MAX_URI:
        raise UsageError(f"reference {uri[:80]!r}...: the URI is longer than {MAX_URI} characters")
    return uri


def _check_digest(uri: str, digest: str) -> str:
    if not digest or _has_control(digest) or len(digest) > MAX_URI:
        raise ArtifactError(f"reference {uri!r}: the store reported an unusable digest {digest!r}")
    return digest


def _entry_name(uri: str, name: str) -> str:
    try:
        return validate_entry_path(name)
    except InvalidNameError as exc:
        raise InvalidNameError(f"reference {uri!r}: {exc}") from None


def _base(name: str | None, default: str) -> str:
    """The folder that a prefix's objects go under: ``name``, else ``default``."""
    return (name if name is not None else default).strip("/")


def _join(base: str, rel: str) -> str:
    return f"{base}/{rel}" if base else rel


def _last_segment(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2]


def _too_many(uri: str, max_objects: int) -> ArtifactError:
    return ArtifactError(
        f"reference {uri!r} holds more than max_objects={max_objects} objects; "
        "raise max_objects or reference a narrower prefix"
    )


def _strip_quotes(etag: str) -> str:
    etag = etag.strip()
    if len(etag) >= 2 and etag.startswith('"') and etag.endswith('"'):
        return etag[1:-1]
    return etag


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def _landing(target: Path) -> Iterator[Path]:
    """A temp file beside ``target``; the caller renames it into place once checked."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.part-")
    os.close(fd)
    try:
        yield Path(tmp)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _copy(chunks: Iterator[bytes], dst: IO[bytes], advance: Advance, *hashers: Any) -> int:
    size = 0
    for chunk in chunks:
        dst.write(chunk)
        for h in hashers:
            h.update(chunk)
        size += len(chunk)
        advance(len(chunk))
    return size


def _read_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _changed(entry: Entry, what: str) -> VerificationError:
    return VerificationError(
        f"{entry.path}: the referenced object {entry.ref} changed since it was logged ({what})"
    )


def _gone(entry: Entry) -> VerificationError:
    if entry.digest == entry.ref:
        return VerificationError(
            f"{entry.path}: there is no object at {entry.ref} (it was logged with "
            "checksum=False, so if it names a prefix its objects were never listed: log it "
            "with checksum=True to download them)"
        )
    return VerificationError(f"{entry.path}: the referenced object {entry.ref} is gone")


def _check_size(entry: Entry, got: int) -> None:
    if entry.size is not None and got != entry.size:
        raise _changed(entry, f"recorded {entry.size} bytes, now {got}")


# -- logging -------------------------------------------------------------------------


def expand_reference(
    uri: str, name: str | None, *, checksum: bool, max_objects: int | None
) -> list[Entry]:
    """Manifest entries for a reference URI (one per object under a prefix)."""
    uri = _check_uri(uri)
    if name is not None and not isinstance(name, str):
        raise UsageError(f"reference {uri!r}: name must be a string, not {type(name).__name__}")
    if max_objects is not None and (
        isinstance(max_objects, bool) or not isinstance(max_objects, int) or max_objects < 1
    ):
        raise UsageError(f"max_objects must be a positive integer, not {max_objects!r}")
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme not in (*REMOTE_SCHEMES, "file"):
        raise UsageError(
            f"reference {uri!r}: unknown scheme {scheme!r} (use s3://, gs://, https://, file://)"
        )
    if scheme in ("http", "https") and (parsed.username or parsed.password):
        raise UsageError(
            f"reference to {parsed.hostname}: credentials in the URI would be written to the "
            "registry; pass a URI without user:password@"
        )
    if not checksum:
        return [_unchecked_entry(uri, name)]
    if scheme == "file":
        return _file_entries(uri, name, max_objects)
    if scheme == "s3":
        return _s3_entries(uri, name, max_objects)
    if scheme == "gs":
        return _gcs_entries(uri, name, max_objects)
    return [_http_entry(uri, name)]


def _default_name(uri: str) -> str:
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme == "file":
        return _file_path(uri).name or "reference"
    if scheme in ("s3", "gs"):
        _bucket, key = _split_bucket(uri)
        return _last_segment(key) or _bucket
    return unquote(_last_segment(parsed.path)) or parsed.hostname or "reference"


def _unchecked_entry(uri: str, name: str | None) -> Entry:
    """``checksum=False``: the URI is the digest; nothing is read."""
    entry_name = name if name is not None else _default_name(uri)
    return Entry(_entry_name(uri, entry_name), uri, None, ref=uri)


# -- file:// -------------------------------------------------------------------------


def _file_path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise UsageError(f"file reference {uri!r}: only local paths (file:///...) are supported")
    return Path(unquote(parsed.path))


def _file_entries(uri: str, name: str | None, max_objects: int | None) -> list[Entry]:
    path = _file_path(uri)
    if path.is_file():
        entry_name = _entry_name(uri, name if name is not None else path.name)
        return [Entry(entry_name, file_digest(hash_file(path)), path.stat().st_size, ref=uri)]
    if not path.is_dir():
        raise ArtifactError(f"reference {uri!r}: {path} does not exist")
    entries: list[Entry] = []
    base = _base(name, path.name)
    for folder, dirs, filenames in os.walk(path):
        dirs.sort()
        for filename in sorted(filenames):
            if max_objects is not None and len(entries) >= max_objects:
                raise _too_many(uri, max_objects)
            full = Path(folder) / filename
            rel = full.relative_to(path).as_posix()
            entries.append(
                Entry(
                    _entry_name(uri, _join(base, rel)),
                    file_digest(hash_file(full)),
                    full.stat().st_size,
                    ref="file://" + quote(str(full)),
                )
            )
    return entries


def _fetch_file(entry: Entry, target: Path, advance: Advance) -> None:
    assert entry.ref is not None
    source = _file_path(entry.ref)
    if source.is_dir():
        raise VerificationError(
            f"{entry.path}: {entry.ref} is a directory; it was logged with checksum=False, "
            "so its files were not listed (log it with checksum=True to download them)"
        )
    with _landing(target) as tmp:
        try:
            with open(source, "rb", buffering=0) as src, open(tmp, "wb") as dst:
                got, _ = copy_and_hash(src, dst, advance)
        except FileNotFoundError:
            raise VerificationError(
                f"{entry.path}: the referenced file {entry.ref} is gone"
            ) from None
        if entry.digest.startswith("sha256:") and file_digest(got) != entry.digest:
            raise _changed(entry, f"recorded {entry.digest}, now sha256:{got}")
        os.replace(tmp, target)


# -- s3:// ---------------------------------------------------------------------------

_s3_clients: dict[str, Any] = {}
_s3_lock = threading.Lock()


def _split_bucket(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ("bucket", "some/key"); the key is taken verbatim."""
    scheme, _, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise UsageError(f"reference {uri!r}: expected {scheme}://bucket/key")
    return bucket, key


def s3_client(bucket: str) -> Any:
    """One boto3 client per process and AWS environment (clients are thread-safe)."""
    from registry_tool._blobs.s3 import make_client
    from registry_tool._model.records import StorageConfig

    key = hashlib.sha256(repr((os.getpid(), _settings.s3_environment())).encode()).hexdigest()
    with _s3_lock:
        client = _s3_clients.get(key)
        if client is None:
            client = make_client(StorageConfig(url=f"s3://{bucket}"))
            _s3_clients[key] = client
        return client


def _s3_status(exc: Any) -> tuple[int | None, str]:
    response = getattr(exc, "response", {}) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status, str(response.get("Error", {}).get("Code", ""))


def _s3_failed(uri: str, exc: Exception) -> ArtifactError:
    from registry_tool._blobs.s3 import translate

    return ArtifactError(f"reference {uri!r}: {translate(exc, 'reading the object store')}")


def _s3_entry(
    uri: str, entry_name: str, etag: str, size: int, version: Any, modified: Any
) -> Entry:
    etag = _strip_quotes(etag)
    extra: dict[str, Any] = {
        "etag": etag,
        "version_id": None if version in (None, "", "null") else str(version),
    }
    if isinstance(modified, datetime):
        extra["last_modified"] = _utc(modified)
    return Entry(entry_name, _check_digest(uri, f"etag:{etag}"), int(size), ref=uri, extra=extra)


def _s3_entries(uri: str, name: str | None, max_objects: int | None) -> list[Entry]:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = _split_bucket(uri)
    client = s3_client(bucket)
    if key and not key.endswith("/"):
        try:
            head = client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            status, code = _s3_status(exc)
            if status != 404 and code not in ("404", "NoSuchKey", "NotFound"):
                raise _s3_failed(uri, exc) from exc
        except BotoCoreError as exc:
            raise _s3_failed(uri, exc) from exc
        else:
            entry_name = _entry_name(uri, name if name is not None else _last_segment(key))
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
    base = _base(name, _last_segment(prefix) or bucket)
    entries: list[Entry] = []
    try:
        for obj_key, etag, size, version, modified in _s3_list(client, bucket, prefix):
            if max_objects is not None and len(entries) >= max_objects:
                raise _too_many(uri, max_objects)
            entry_name = _entry_name(uri, _join(base, obj_key[len(prefix) :]))
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
    from botocore.exceptions import ClientError

    versioned = False
    try:
        status = client.get_bucket_versioning(Bucket=bucket).get("Status")
        versioned = status in ("Enabled", "Suspended")
    except ClientError as exc:
        _status, code = _s3_status(exc)
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
            _status, code = _s3_status(exc)
            if listed or code not in ("AccessDenied", "403", "NotImplemented"):
                raise
            # no permission to list versions: plain listing, ETags only
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):  # "folder" placeholders hold no data
                yield item["Key"], item["ETag"], item["Size"], None, item.get("LastModified")


def _fetch_s3(entry: Entry, target: Path, advance: Advance) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from registry_tool._blobs.s3 import translate

    assert entry.ref is not None
    bucket, key = _split_bucket(entry.ref)
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
    with _landing(target) as tmp:
        try:
            response = s3_client(bucket).get_object(**args)
            got_etag = _strip_quotes(str(response.get("ETag", "")))
            if checked and etag and got_etag != etag:
                raise _changed(entry, f"recorded ETag {etag}, now {got_etag}")
            with open(tmp, "wb") as dst:
                got = _copy(response["Body"].iter_chunks(CHUNK), dst, advance)
        except ClientError as exc:
            status, code = _s3_status(exc)
            if code == "PreconditionFailed" or status == 412:
                raise _changed(entry, f"its ETag is no longer {etag}") from None
            if code == "NoSuchVersion":
                raise VerificationError(
                    f"{entry.path}: version {version} of the referenced object {entry.ref} is gone"
                ) from None
            if code in ("NoSuchKey", "404") or status == 404:
                raise _gone(entry) from None
            raise translate(exc, what) from exc
        except BotoCoreError as exc:
            raise translate(exc, what) from exc
        if checked:
            _check_size(entry, got)
        os.replace(tmp, target)


# -- http(s):// ----------------------------------------------------------------------


def _open(request: urllib.request.Request) -> Any:
    return urllib.request.urlopen(request, timeout=HTTP_TIMEOUT)


def _http_failed(uri: str, exc: Exception) -> ArtifactError:
    if isinstance(exc, urllib.error.HTTPError):
        return ArtifactError(f"reference {uri!r}: the server answered {exc.code} {exc.reason}")
    reason = getattr(exc, "reason", exc)
    return ArtifactError(f"reference {uri!r}: cannot reach the server ({reason})")


def _head(uri: str) -> Message:
    """The headers of ``uri``: HEAD, or a GET that reads no body where HEAD is refused."""
    try:
        with _open(urllib.request.Request(uri, method="HEAD")) as response:
            headers: Message = response.headers
            return headers
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code not in (405, 501):
            raise
    with _open(urllib.request.Request(uri, method="GET")) as response:
        headers = response.headers
        return headers


def _http_digest(uri: str, headers: Message) -> tuple[str, int | None, dict[str, Any]] | None:
    length = headers.get("Content-Length")
    size = int(length) if length is not None and length.strip().isdigit() else None
    etag = headers.get("ETag")
    if etag:
        return f"etag:{_strip_quotes(etag)}", size, {"etag": etag.strip()}
    modified = headers.get("Last-Modified")
    if modified and size is not None:
        return f"size-mtime:{size}:{modified.strip()}", size, {"last_modified": modified.strip()}
    return None


def _http_entry(uri: str, name: str | None) -> Entry:
    try:
        headers = _head(uri)
    except (urllib.error.URLError, OSError) as exc:
        raise _http_failed(uri, exc) from exc
    entry_name = _entry_name(uri, name if name is not None else _default_name(uri))
    found = _http_digest(uri, headers)
    if found is None:
        warnings.warn(
            f"reference {uri}: the server sends neither an ETag nor a size and "
            "Last-Modified, so it is recorded without a checksum (checksum=False)",
            ReferenceWarning,
            stacklevel=4,
        )
        return Entry(entry_name, uri, None, ref=uri)
    digest, size, extra = found
    return Entry(entry_name, _check_digest(uri, digest), size, ref=uri, extra=extra)


def _fetch_http(entry: Entry, target: Path, advance: Advance) -> None:
    assert entry.ref is not None
    uri = entry.ref
    checked = entry.digest != uri
    with _landing(target) as tmp:
        try:
            with _open(urllib.request.Request(uri)) as response:
                if checked:
                    found = _http_digest(uri, response.headers)
                    now = found[0] if found else "no ETag, size or Last-Modified"
                    if now != entry.digest:
                        raise _changed(entry, f"recorded {entry.digest}, now {now}")
                with open(tmp, "wb") as dst:
                    got = _copy(_read_chunks(response), dst, advance)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in (404, 410):
                raise _gone(entry) from None
            raise StorageError(
                f"{entry.path}: downloading {uri}: the server answered {exc.code} {exc.reason}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StorageError(f"{entry.path}: downloading {uri}: {reason}") from exc
        if checked:
            _check_size(entry, got)
        os.replace(tmp, target)


# -- gs:// ---------------------------------------------------------------------------


def gcs_host() -> str:
    """``STORAGE_EMULATOR_HOST`` (``http://`` added when it has no scheme), else Google."""
    host = os.environ.get(ENV_GCS_EMULATOR, "").strip()
    if not host:
        return GCS_HOST
    if "://" not in host:
        host = "http://" + host
    return host.rstrip("/")


def _gcs_object_url(host: str, bucket: str, obj: str, *, media: bool = False) -> str:
    path = f"/storage/v1/b/{quote(bucket, safe='')}/o/{quote(obj, safe='')}"
    return f"{host}/download{path}?alt=media" if media else host + path


def _gcs_json(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with _open(request) as response:
        return json.loads(response.read())


class _Unreadable(Exception):
    """A GCS request that failed for a reason other than "no such object"."""


def _gcs_get(url: str) -> Any:
    """JSON from ``url``; ``None`` for a 404; ``_Unreadable`` for any other failure."""
    try:
        return _gcs_json(url)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 404:
            return None
        raise _Unreadable(f"{exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise _Unreadable(str(getattr(exc, "reason", exc))) from exc


def _gcs_entry(uri: str, entry_name: str, meta: Any) -> Entry:
    if not isinstance(meta, dict):
        raise ArtifactError(f"reference {uri!r}: the storage API sent unexpected metadata")
    if meta.get("md5Hash"):
        digest = f"md5:{meta['md5Hash']}"
    elif meta.get("crc32c"):
        digest = f"crc32c:{meta['crc32c']}"
    else:
        raise ArtifactError(f"reference {uri!r}: the object has neither an MD5 nor a CRC32C")
    extra: dict[str, Any] = {}
    if meta.get("generation") is not None:
        extra["generation"] = str(meta["generation"])
    size = meta.get("size")
    return Entry(
        entry_name,
        _check_digest(uri, digest),
        int(size) if size is not None else None,
        ref=uri,
        extra=extra,
    )


def _gcs_list(host: str, bucket: str, prefix: str) -> Iterator[Any]:
    token: str | None = None
    while True:
        query = {"prefix": prefix}
        if token:
            query["pageToken"] = token
        page = _gcs_get(f"{host}/storage/v1/b/{quote(bucket, safe='')}/o?{urlencode(query)}")
        if page is None:
            raise ArtifactError(f"reference gs://{bucket}/{prefix}: the bucket does not exist")
        for item in page.get("items", []):
            if not str(item.get("name", "")).endswith("/"):
                yield item
        token = page.get("nextPageToken")
        if not token:
            return


def _gcs_entries(uri: str, name: str | None, max_objects: int | None) -> list[Entry]:
    bucket, obj = _split_bucket(uri)
    host = gcs_host()
    try:
        if obj and not obj.endswith("/"):
            meta = _gcs_get(_gcs_object_url(host, bucket, obj))
            if meta is not None:
                entry_name = _entry_name(uri, name if name is not None else _last_segment(obj))
                return [_gcs_entry(uri, entry_name, meta)]
            prefix = obj + "/"
        else:
            prefix = obj
        base = _base(name, _last_segment(prefix) or bucket)
        entries: list[Entry] = []
        for item in _gcs_list(host, bucket, prefix):
            if max_objects is not None and len(entries) >= max_objects:
                raise _too_many(uri, max_objects)
            key = str(item["name"])
            entry_name = _entry_name(uri, _join(base, key[len(prefix) :]))
            entries.append(_gcs_entry(f"gs://{bucket}/{key}", entry_name, item))
    except _Unreadable as exc:
        warnings.warn(
            f"reference {uri}: the object could not be read through {host} ({exc}); "
            "it is recorded without a checksum (checksum=False)",
            ReferenceWarning,
            stacklevel=4,
        )
        return [_unchecked_entry(uri, name)]
    if not entries:
        raise ArtifactError(f"reference {uri!r}: no object at that name and none under it")
    return entries


def _fetch_gs(entry: Entry, target: Path, advance: Advance) -> None:
    assert entry.ref is not None
    bucket, obj = _split_bucket(entry.ref)
    checked = entry.digest != entry.ref
    url = _gcs_object_url(gcs_host(), bucket, obj, media=True)
    generation = entry.extra.get("generation") if checked else None
    if generation is not None:
        url += "&" + urlencode({"generation": generation})
    md5 = hashlib.md5(usedforsecurity=False)
    with _landing(target) as tmp:
        try:
            with _open(urllib.request.Request(url)) as response:
                with open(tmp, "wb") as dst:
                    got = _copy(_read_chunks(response), dst, advance, md5)
                sent_hash = response.headers.get("x-goog-hash") or ""
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 404 and generation is not None:
                raise _changed(
                    entry,
                    f"generation {generation} no longer exists: it was overwritten or deleted",
                ) from None
            if exc.code in (404, 410):
                raise _gone(entry) from None
            raise StorageError(
                f"{entry.path}: downloading {entry.ref}: the storage API answered "
                f"{exc.code} {exc.reason}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StorageError(f"{entry.path}: downloading {entry.ref}: {reason}") from exc
        if checked:
            if entry.digest.startswith("md5:"):
                now = base64.b64encode(md5.digest()).decode()
                if f"md5:{now}" != entry.digest:
                    raise _changed(entry, f"recorded {entry.digest}, the bytes hash to md5:{now}")
            elif entry.digest.startswith("crc32c:"):
                sent = dict(
                    part.strip().partition("=")[::2] for part in sent_hash.split(",") if "=" in part
                )
                if "crc32c" in sent and f"crc32c:{sent['crc32c']}" != entry.digest:
                    raise _changed(entry, f"recorded {entry.digest}, now crc32c:{sent['crc32c']}")
            _check_size(entry, got)
        os.replace(tmp, target)


# -- downloading ---------------------------------------------------------------------


def fetch_reference(entry: Entry, target: Path, advance: Advance) -> None:
    """Write a referenced object to ``target`` (temp file and rename), checking what
    was recorded; a changed object raises ``VerificationError``."""
    assert entry.ref is not None
    scheme = urlparse(entry.ref).scheme.lower()
    if scheme == "file":
        _fetch_file(entry, target, advance)
    elif scheme == "s3":
        _fetch_s3(entry, target, advance)
    elif scheme in ("http", "https"):
        _fetch_http(entry, target, advance)
    elif scheme == "gs":
        _fetch_gs(entry, target, advance)
    else:
        raise ArtifactError(f"{entry.path}: cannot download a {scheme}:// reference")
