"""``http(s)://`` references, proved by the ETag, else by the size and Last-Modified;
a server that sends neither gets the reference recorded without a checksum."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import warnings
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from registry_tool._hashing import Advance
from registry_tool._model.manifest import Entry
from registry_tool._references.common import (
    ReferenceWarning,
    changed,
    check_digest,
    check_size,
    checked_name,
    copy_chunks,
    gone,
    landing,
    last_segment,
    read_chunks,
    strip_quotes,
)
from registry_tool.errors import ArtifactError, StorageError

HTTP_TIMEOUT = 60  # seconds without an answer before a request gives up
# How many URLs a download fetches at once (``REGISTRY_TOOL_WORKERS`` overrides): each
# request opens its own connection and mostly waits on the server.
PARALLEL = 16


def open_url(request: urllib.request.Request) -> Any:
    """``urlopen`` with the references' timeout (the one place HTTP requests start)."""
    return urllib.request.urlopen(request, timeout=HTTP_TIMEOUT)


def _http_failed(uri: str, exc: Exception) -> ArtifactError:
    if isinstance(exc, urllib.error.HTTPError):
        return ArtifactError(f"reference {uri!r}: the server answered {exc.code} {exc.reason}")
    reason = getattr(exc, "reason", exc)
    return ArtifactError(f"reference {uri!r}: cannot reach the server ({reason})")


def _head(uri: str) -> Message:
    """The headers of ``uri``: HEAD, or a GET that reads no body where HEAD is refused."""
    try:
        with open_url(urllib.request.Request(uri, method="HEAD")) as response:
            headers: Message = response.headers
            return headers
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code not in (405, 501):
            raise
    with open_url(urllib.request.Request(uri, method="GET")) as response:
        headers = response.headers
        return headers


def _http_digest(uri: str, headers: Message) -> tuple[str, int | None, dict[str, Any]] | None:
    length = headers.get("Content-Length")
    size = int(length) if length is not None and length.strip().isdigit() else None
    etag = headers.get("ETag")
    if etag:
        return f"etag:{strip_quotes(etag)}", size, {"etag": etag.strip()}
    modified = headers.get("Last-Modified")
    if modified and size is not None:
        return f"size-mtime:{size}:{modified.strip()}", size, {"last_modified": modified.strip()}
    return None


def check(uri: str) -> None:
    """Nothing more to refuse: credentials in any reference's URI (user:password@, a
    presigned query string) are refused by ``common.check_uri`` before this runs."""


def default_name(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(last_segment(parsed.path)) or parsed.hostname or "reference"


def expand(uri: str, name: str | None, max_objects: int | None) -> list[Entry]:
    """One entry: a URL names one object (``max_objects`` does not apply)."""
    try:
        headers = _head(uri)
    except (urllib.error.URLError, OSError) as exc:
        raise _http_failed(uri, exc) from exc
    entry_name = checked_name(uri, name if name is not None else default_name(uri))
    found = _http_digest(uri, headers)
    if found is None:
        warnings.warn(
            f"reference {uri}: the server sends neither an ETag nor a size and "
            "Last-Modified, so it is recorded without a checksum (checksum=False)",
            ReferenceWarning,
            stacklevel=4,
        )
        return [Entry(entry_name, uri, None, ref=uri)]
    digest, size, extra = found
    return [Entry(entry_name, check_digest(uri, digest), size, ref=uri, extra=extra)]


def fetch(entry: Entry, target: Path, advance: Advance) -> None:
    assert entry.ref is not None
    uri = entry.ref
    checked = entry.digest != uri
    with landing(target) as tmp:
        try:
            with open_url(urllib.request.Request(uri)) as response:
                if checked:
                    found = _http_digest(uri, response.headers)
                    now = found[0] if found else "no ETag, size or Last-Modified"
                    if now != entry.digest:
                        raise changed(entry, f"recorded {entry.digest}, now {now}")
                with open(tmp, "wb") as dst:
                    got = copy_chunks(read_chunks(response), dst, advance)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in (404, 410):
                raise gone(entry) from None
            raise StorageError(
                f"{entry.path}: downloading {uri}: the server answered {exc.code} {exc.reason}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StorageError(f"{entry.path}: downloading {uri}: {reason}") from exc
        if checked:
            check_size(entry, got)
        os.replace(tmp, target)
