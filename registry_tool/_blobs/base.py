"""The Protocol every blob store implements, and what they share.

A blob is the bytes of one file, stored once under its SHA-256 at the key
``<prefix>/sha256/<2 hex>/<64 hex>``. Stores write a blob atomically and never
overwrite one; readers verify what they read against the digest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from registry_tool._hashing import Advance
from registry_tool.errors import ArtifactError, StorageError


def blob_key(hexdigest: str, prefix: str = "") -> str:
    key = f"sha256/{hexdigest[:2]}/{hexdigest}"
    return f"{prefix.rstrip('/')}/{key}" if prefix else key


@dataclass(frozen=True)
class BlobInfo:
    """One stored blob as a listing sees it: what garbage collection weighs."""

    hexdigest: str
    size: int
    modified: float  # POSIX seconds: when the blob was written (mtime, LastModified)


FRESH_FOR = 3600.0  # a blob this young needs no refresh: a gc's grace must outlast a log


@runtime_checkable
class BlobStore(Protocol):
    """Where artifact bytes live. Digests here are bare SHA-256 hex strings."""

    url: str
    parallel: int  # how many files to store or fetch at once
    remote: bool  # whether the bytes are across a network (reads then go through the cache)

    def local_path(self, hexdigest: str) -> Path | None:
        """Where the blob's bytes are on this machine's disk, for a store that keeps
        them there (a local directory, which is its own cache); None for any other."""
        ...

    def has(self, hexdigest: str) -> bool:
        """Whether the blob is present."""
        ...

    def ingest(self, path: Path, hexdigest: str | None, advance: Advance) -> tuple[str, bool]:
        """Store the file at ``path``; return (hexdigest, whether bytes were written).

        ``hexdigest`` is the digest when the caller already knows it (stat cache); a
        store that copies the file anyway may ignore it and hash while copying.
        """
        ...

    def fetch(self, hexdigest: str, dest: Path, advance: Advance) -> None:
        """Write the blob to ``dest`` (a new file), verifying its digest."""
        ...

    def iter_digests(self) -> Iterator[str]:
        """Every blob's digest (for sync and garbage collection)."""
        ...

    def iter_blobs(self) -> Iterator[BlobInfo]:
        """Every blob with its size and when it was written (for garbage collection)."""
        ...

    def refresh(self, hexdigest: str) -> bool:
        """Make a blob count as written just now, so that a garbage collection's grace
        period protects it again (a log reusing it calls this); False when it is gone.
        A blob written within ``FRESH_FOR`` seconds is left as it is."""
        ...

    def delete(self, hexdigest: str, older_than: float | None = None) -> bool:
        """Remove a blob (only if written before ``older_than``, POSIX seconds, checked
        as it goes); whether it was removed. Only garbage collection calls this."""
        ...


def restore(store: BlobStore, gone: dict[str, str], sources: dict[str, str]) -> None:
    """Store again the blobs in ``gone`` (hex digest -> the entry path naming it) from
    the files they were ingested from (``sources``), each of which must still hold the
    same bytes; raise when one cannot be. A log calls this just before it commits, for
    the blobs a garbage collection with a short grace took meanwhile."""
    for hexdigest, entry in gone.items():
        source = sources.get(hexdigest)
        if source is None:
            raise StorageError(
                f"blob sha256:{hexdigest} of {entry!r} is missing from {store.url} (a "
                "garbage collection removed it?): nothing was committed; log it again"
            )
        if store.ingest(Path(source), None, lambda _n: None)[0] != hexdigest:
            raise ArtifactError(f"{source} changed while it was being logged; log again")
