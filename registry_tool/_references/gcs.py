"""``gs://`` references through the GCS JSON API over plain HTTP, proved by the MD5 (else
the CRC32C) and pinned to the generation. ``STORAGE_EMULATOR_HOST`` overrides the
endpoint, as Google's clients allow; an object that cannot be read there is recorded as
``checksum=False`` would record it, with a ``ReferenceWarning``."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from registry_tool._hashing import Advance
from registry_tool._model.manifest import Entry
from registry_tool._references.common import (
    ReferenceWarning,
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
    read_chunks,
    split_bucket,
    too_many,
    unchecked_entry,
)
from registry_tool._references.http import open_url
from registry_tool.errors import ArtifactError, StorageError

GCS_HOST = "https://storage.googleapis.com"
ENV_GCS_EMULATOR = "STORAGE_EMULATOR_HOST"
# How many objects a download fetches at once (``REGISTRY_TOOL_WORKERS`` overrides):
# each request opens its own connection and mostly waits on the storage API.
PARALLEL = 16


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
    with open_url(request) as response:
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
        check_digest(uri, digest),
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


def check(uri: str) -> None:
    """Nothing more to refuse before the store is asked: a URI with credentials
    (``KEY:SECRET@bucket``, a signed query string) never gets here (``common.check_uri``)."""


default_name = bucket_default_name


def expand(uri: str, name: str | None, max_objects: int | None) -> list[Entry]:
    bucket, obj = split_bucket(uri)
    host = gcs_host()
    try:
        if obj and not obj.endswith("/"):
            meta = _gcs_get(_gcs_object_url(host, bucket, obj))
            if meta is not None:
                entry_name = checked_name(uri, name if name is not None else last_segment(obj))
                return [_gcs_entry(uri, entry_name, meta)]
            prefix = obj + "/"
        else:
            prefix = obj
        base = base_folder(name)
        entries: list[Entry] = []
        for item in _gcs_list(host, bucket, prefix):
            if max_objects is not None and len(entries) >= max_objects:
                raise too_many(uri, max_objects)
            key = str(item["name"])
            entry_name = checked_name(uri, join(base, key[len(prefix) :]))
            entries.append(_gcs_entry(f"gs://{bucket}/{key}", entry_name, item))
    except _Unreadable as exc:
        warnings.warn(
            f"reference {uri}: the object could not be read through {host} ({exc}); "
            "it is recorded without a checksum (checksum=False)",
            ReferenceWarning,
            stacklevel=4,
        )
        return [unchecked_entry(uri, name, default_name)]
    if not entries:
        raise ArtifactError(f"reference {uri!r}: no object at that name and none under it")
    return entries


def fetch(entry: Entry, target: Path, advance: Advance) -> None:
    assert entry.ref is not None
    bucket, obj = split_bucket(entry.ref)
    checked = entry.digest != entry.ref
    url = _gcs_object_url(gcs_host(), bucket, obj, media=True)
    generation = entry.extra.get("generation") if checked else None
    if generation is not None:
        url += "&" + urlencode({"generation": generation})
    md5 = hashlib.md5(usedforsecurity=False)
    with landing(target) as tmp:
        try:
            with open_url(urllib.request.Request(url)) as response:
                with open(tmp, "wb") as dst:
                    got = copy_chunks(read_chunks(response), dst, advance, md5)
                sent_hash = response.headers.get("x-goog-hash") or ""
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 404 and generation is not None:
                raise changed(
                    entry,
                    f"generation {generation} no longer exists: it was overwritten or deleted",
                ) from None
            if exc.code in (404, 410):
                raise gone(entry) from None
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
                    raise changed(entry, f"recorded {entry.digest}, the bytes hash to md5:{now}")
            elif entry.digest.startswith("crc32c:"):
                sent = dict(
                    part.strip().partition("=")[::2] for part in sent_hash.split(",") if "=" in part
                )
                if "crc32c" in sent and f"crc32c:{sent['crc32c']}" != entry.digest:
                    raise changed(entry, f"recorded {entry.digest}, now crc32c:{sent['crc32c']}")
            check_size(entry, got)
        os.replace(tmp, target)
