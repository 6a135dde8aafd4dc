"""References: manifest entries whose bytes stay where they are (DESIGN.md "References").

``file://`` works today: a checksummed reference records the sha256 of the content
(directories are walked, one entry per file). ``s3://``, ``gs://`` and ``http(s)://``
need the object-storage support that is not in this version yet, and say so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from registry_tool.errors import ArtifactError, UsageError, VerificationError
from registry_tool.hashing import copy_and_hash, hash_file
from registry_tool.model.manifest import Entry, file_digest
from registry_tool.model.names import validate_entry_path

REMOTE_SCHEMES = ("s3", "gs", "http", "https")


def _file_path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise UsageError(f"file reference {uri!r}: only local paths (file:///...) are supported")
    return Path(unquote(parsed.path))


def expand_reference(
    uri: str, name: str | None, *, checksum: bool, max_objects: int | None
) -> list[Entry]:
    """Manifest entries for a reference URI."""
    scheme = urlparse(uri).scheme
    if scheme in REMOTE_SCHEMES:
        raise ArtifactError(
            f"references to {scheme}:// are not supported in this version of registry-tool "
            "yet (file:// references work)"
        )
    if scheme != "file":
        raise UsageError(f"reference {uri!r}: unknown scheme {scheme!r} (use file://, s3://, ...)")
    path = _file_path(uri)
    if not checksum:
        entry_name = validate_entry_path(name or path.name or "reference")
        return [Entry(entry_name, uri, None, ref=uri)]
    if path.is_file():
        entry_name = validate_entry_path(name or path.name)
        return [Entry(entry_name, file_digest(hash_file(path)), path.stat().st_size, ref=uri)]
    if not path.is_dir():
        raise ArtifactError(f"reference {uri!r}: {path} does not exist")
    entries = []
    base = name or path.name
    for folder, dirs, filenames in os.walk(path):
        dirs.sort()
        for filename in sorted(filenames):
            full = Path(folder) / filename
            rel = full.relative_to(path).as_posix()
            entry_name = validate_entry_path(f"{base}/{rel}" if base else rel)
            entries.append(
                Entry(
                    entry_name,
                    file_digest(hash_file(full)),
                    full.stat().st_size,
                    ref="file://" + quote(str(full)),
                )
            )
            if max_objects is not None and len(entries) > max_objects:
                raise ArtifactError(
                    f"reference {uri!r} holds more than max_objects={max_objects} files"
                )
    return entries


def fetch_reference(entry: Entry, target: Path, advance: Callable[[int], None]) -> None:
    """Copy a referenced file to ``target``, checking what was recorded."""
    assert entry.ref is not None
    scheme = urlparse(entry.ref).scheme
    if scheme != "file":
        raise ArtifactError(
            f"{entry.path}: downloading {scheme}:// references is not supported in this version yet"
        )
    source = _file_path(entry.ref)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part-{os.getpid()}")
    try:
        with open(source, "rb", buffering=0) as src, open(tmp, "wb") as dst:
            got, _ = copy_and_hash(src, dst, advance)
    except FileNotFoundError:
        raise VerificationError(f"{entry.path}: referenced file {source} is gone") from None
    try:
        if entry.digest.startswith("sha256:") and file_digest(got) != entry.digest:
            raise VerificationError(
                f"{entry.path}: referenced file {source} changed since it was logged "
                f"(recorded {entry.digest}, now sha256:{got})"
            )
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
