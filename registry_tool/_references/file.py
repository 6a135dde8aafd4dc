"""``file://`` references: a local file or directory, proved by the SHA-256 of its bytes."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from registry_tool._hashing import Advance, copy_and_hash, hash_file
from registry_tool._model.manifest import Entry, file_digest
from registry_tool._references.common import (
    base_folder,
    changed,
    checked_name,
    join,
    landing,
    too_many,
)
from registry_tool.errors import ArtifactError, UsageError, VerificationError


def _file_path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise UsageError(f"file reference {uri!r}: only local paths (file:///...) are supported")
    return Path(unquote(parsed.path))


def check(uri: str) -> None:
    """Nothing to refuse before the path is read."""


def default_name(uri: str) -> str:
    return _file_path(uri).name or "reference"


def expand(uri: str, name: str | None, max_objects: int | None) -> list[Entry]:
    path = _file_path(uri)
    if path.is_file():
        entry_name = checked_name(uri, name if name is not None else path.name)
        return [Entry(entry_name, file_digest(hash_file(path)), path.stat().st_size, ref=uri)]
    if not path.is_dir():
        raise ArtifactError(f"reference {uri!r}: {path} does not exist")
    entries: list[Entry] = []
    base = base_folder(name, path.name)
    for folder, dirs, filenames in os.walk(path):
        dirs.sort()
        for filename in sorted(filenames):
            if max_objects is not None and len(entries) >= max_objects:
                raise too_many(uri, max_objects)
            full = Path(folder) / filename
            rel = full.relative_to(path).as_posix()
            entries.append(
                Entry(
                    checked_name(uri, join(base, rel)),
                    file_digest(hash_file(full)),
                    full.stat().st_size,
                    ref="file://" + quote(str(full)),
                )
            )
    return entries


def fetch(entry: Entry, target: Path, advance: Advance) -> None:
    assert entry.ref is not None
    source = _file_path(entry.ref)
    if source.is_dir():
        raise VerificationError(
            f"{entry.path}: {entry.ref} is a directory; it was logged with checksum=False, "
            "so its files were not listed (log it with checksum=True to download them)"
        )
    with landing(target) as tmp:
        try:
            with open(source, "rb", buffering=0) as src, open(tmp, "wb") as dst:
                got, _ = copy_and_hash(src, dst, advance)
        except FileNotFoundError:
            raise VerificationError(
                f"{entry.path}: the referenced file {entry.ref} is gone"
            ) from None
        if entry.digest.startswith("sha256:") and file_digest(got) != entry.digest:
            raise changed(entry, f"recorded {entry.digest}, now sha256:{got}")
        os.replace(tmp, target)
