"""Blobs in a dict: for unit tests and dry runs, never the only test."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

from registry_tool._blobs.base import FRESH_FOR, BlobInfo
from registry_tool._hashing import Advance
from registry_tool.errors import CorruptBlobError


class MemoryBlobStore:
    parallel = 1
    remote = False

    def __init__(self) -> None:
        self.url = "memory://"
        self.blobs: dict[str, bytes] = {}
        self.writes = 0
        self.modified: dict[str, float] = {}  # digest -> when it was stored

    def local_path(self, hexdigest: str) -> Path | None:
        return None

    def has(self, hexdigest: str) -> bool:
        return hexdigest in self.blobs

    def ingest(self, path: Path, hexdigest: str | None, advance: Advance) -> tuple[str, bool]:
        if hexdigest is not None and hexdigest in self.blobs:
            return hexdigest, False
        data = path.read_bytes()
        advance(len(data))
        digest = hashlib.sha256(data).hexdigest()
        held = self.blobs.get(digest)
        if held is not None and hashlib.sha256(held).hexdigest() == digest:
            return digest, False  # (bytes that fail their digest are replaced, as on disk)
        self.blobs[digest] = data
        self.modified[digest] = time.time()
        self.writes += 1
        return digest, True

    def fetch(self, hexdigest: str, dest: Path, advance: Advance) -> None:
        if hexdigest not in self.blobs:
            raise CorruptBlobError(f"blob sha256:{hexdigest} is missing from memory://")
        data = self.blobs[hexdigest]
        if hashlib.sha256(data).hexdigest() != hexdigest:
            raise CorruptBlobError(f"blob sha256:{hexdigest} in memory:// is corrupt")
        with open(dest, "xb") as f:
            f.write(data)
        advance(len(data))

    def iter_digests(self) -> Iterator[str]:
        yield from sorted(self.blobs)

    def iter_blobs(self) -> Iterator[BlobInfo]:
        for digest in sorted(self.blobs):
            # A blob put in ``blobs`` directly (tests) counts as stored just now.
            modified = self.modified.setdefault(digest, time.time())
            yield BlobInfo(digest, len(self.blobs[digest]), modified)

    def refresh(self, hexdigest: str) -> bool:
        if hexdigest not in self.blobs:
            return False
        if self.modified.get(hexdigest, 0.0) <= time.time() - FRESH_FOR:
            self.modified[hexdigest] = time.time()
        return True

    def delete(self, hexdigest: str, older_than: float | None = None) -> bool:
        if older_than is not None and self.modified.get(hexdigest, 0.0) > older_than:
            return False
        self.modified.pop(hexdigest, None)
        return self.blobs.pop(hexdigest, None) is not None
