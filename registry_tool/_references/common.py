"""What every reference scheme shares: URI checks, entry names, landing a download by
temp file, copying while hashing, and the errors for an object that changed or is gone.

The scheme modules (``file``, ``s3``, ``gcs``, ``http``) build on these; a new scheme
should too, so that its names, limits and error messages match the others'.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from registry_tool._hashing import CHUNK, Advance
from registry_tool._model.manifest import Entry
from registry_tool._model.names import validate_entry_path
from registry_tool._secret_scan import redact_url, url_findings
from registry_tool.errors import (
    ArtifactError,
    InvalidNameError,
    ReferenceGoneError,
    UsageError,
    VerificationError,
)

MAX_URI = 4096  # the manifest schema's limit for a ref (and a digest)


class ReferenceWarning(UserWarning):
    """A reference was recorded without a checksum because its object could not be read."""


# -- URIs and names ------------------------------------------------------------------


def has_control(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def check_uri(uri: object) -> str:
    """``uri`` if it is a non-empty string without control characters within ``MAX_URI``,
    holding no credential (checked first, so no other error quotes one)."""
    if not isinstance(uri, str) or not uri:
        raise UsageError(f"reference {uri!r}: expected a URI string such as s3://bucket/key")
    refuse_credentials(uri)
    if has_control(uri):
        raise UsageError(f"reference {uri!r}: the URI contains a control character")
    if len(uri) > MAX_URI:
        raise UsageError(f"reference {uri[:80]!r}...: the URI is longer than {MAX_URI} characters")
    return uri


def refuse_credentials(uri: str) -> None:
    """Refuse a URI that carries a credential: userinfo (``s3://KEY:SECRET@bucket``,
    ``https://user:pw@host``) or a signing or token query parameter (a presigned S3 or
    GCS URL, an Azure SAS, ``token=``). A reference's URI is written to the registry
    and shown on its site, for everyone who can read either; a presigned URL also
    stops working when it expires. Refused rather than stripped: a stripped presigned
    URL names an object the registry cannot read, which the user should hear now.
    What counts as a credential is ``_secret_scan``'s one definition."""
    found = url_findings(uri)
    if found:
        raise UsageError(
            f"reference {redact_url(uri)}: {', '.join(found)} would be written to the "
            "registry; a reference keeps no credentials: give the object's URI without them "
            "(s3://bucket/key, gs://bucket/object, or an https URL without a signature: a "
            "presigned URL also expires), and let s3:// references take credentials from "
            "the AWS credential chain (environment, AWS_PROFILE, an instance role)"
        )


def check_digest(uri: str, digest: str) -> str:
    """``digest`` if a store's answer is fit to be written to a manifest."""
    if not digest or has_control(digest) or len(digest) > MAX_URI:
        raise ArtifactError(f"reference {uri!r}: the store reported an unusable digest {digest!r}")
    return digest


def checked_name(uri: str, name: str) -> str:
    """``name`` as a valid entry path; the error names the reference."""
    try:
        return validate_entry_path(name)
    except InvalidNameError as exc:
        raise InvalidNameError(f"reference {uri!r}: {exc}") from None


def base_folder(name: str | None) -> str:
    """The folder that a prefix's or a directory's objects go under: ``name``, else
    none. As in W&B, ``s3://b/prefix/`` holding ``prefix/a.txt`` gives ``a.txt`` (and
    ``train/a.txt`` with ``name="train"``), so that a script's paths into a downloaded
    artifact are the ones it uses with W&B."""
    return (name or "").strip("/")


def join(base: str, rel: str) -> str:
    return f"{base}/{rel}" if base else rel


def last_segment(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2]


def split_bucket(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ("bucket", "some/key"); the key is taken verbatim."""
    scheme, _, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise UsageError(f"reference {uri!r}: expected {scheme}://bucket/key")
    return bucket, key


def unchecked_entry(uri: str, name: str | None, default_name: Callable[[str], str]) -> Entry:
    """``checksum=False``: the URI is the digest; nothing is read."""
    entry_name = name if name is not None else default_name(uri)
    return Entry(checked_name(uri, entry_name), uri, None, ref=uri)


def too_many(uri: str, max_objects: int) -> ArtifactError:
    return ArtifactError(
        f"reference {uri!r} holds more than max_objects={max_objects} objects; "
        "raise max_objects or reference a narrower prefix"
    )


def strip_quotes(etag: str) -> str:
    etag = etag.strip()
    if len(etag) >= 2 and etag.startswith('"') and etag.endswith('"'):
        return etag[1:-1]
    return etag


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- downloading ---------------------------------------------------------------------


@contextmanager
def landing(target: Path) -> Iterator[Path]:
    """A temp file beside ``target``; the caller renames it into place once checked."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    os.close(fd)
    try:
        yield Path(tmp)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def copy_chunks(chunks: Iterator[bytes], dst: IO[bytes], advance: Advance, *hashers: Any) -> int:
    """Write ``chunks`` to ``dst``, feeding each to ``hashers``; the bytes written."""
    size = 0
    for chunk in chunks:
        dst.write(chunk)
        for h in hashers:
            h.update(chunk)
        size += len(chunk)
        advance(len(chunk))
    return size


def read_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def changed(entry: Entry, what: str) -> VerificationError:
    return VerificationError(
        f"{entry.path}: the referenced object {entry.ref} changed since it was logged ({what})"
    )


def gone(entry: Entry) -> ReferenceGoneError:
    """The error for a reference whose object is not there any more: its own type, so
    that a download allowed to skip missing references tells it from a changed one."""
    if entry.digest == entry.ref:
        return ReferenceGoneError(
            f"{entry.path}: there is no object at {entry.ref} (it was logged with "
            "checksum=False, so if it names a prefix its objects were never listed: log it "
            "with checksum=True to download them)"
        )
    return ReferenceGoneError(f"{entry.path}: the referenced object {entry.ref} is gone")


def check_size(entry: Entry, got: int) -> None:
    if entry.size is not None and got != entry.size:
        raise changed(entry, f"recorded {entry.size} bytes, now {got}")


def bucket_default_name(uri: str) -> str:
    """A bucket store's entry name for ``scheme://bucket/key``: the key's last
    segment, else the bucket's name (``s3://`` and ``gs://`` alike)."""
    bucket, key = split_bucket(uri)
    return last_segment(key) or bucket
