"""The Protocol every blob store implements, and what they share.

A blob is the bytes of one file, stored once under its SHA-256 at the key
``<prefix>/sha256/<2 hex>/<64 hex>``. Stores write a blob atomically and never
overwrite one; readers verify what they read against the digest.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from registry_tool.hashing import Advance


def blob_key(hexdigest: str, prefix: str = "") -> str:
    key = f"sha256/{hexdigest[:2]}/{hexdigest}"
    return f"{prefix.rstrip('/')}/{key}" if prefix else key


@runtime_checkable
class BlobStore(Protocol):
    """Where artifact bytes live. Digests here are bare SHA-256 hex strings."""

    url: str
    parallel: int  # how many files to store or fetch at once

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
