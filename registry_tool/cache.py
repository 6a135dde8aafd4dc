"""The local content-addressed cache of blobs fetched from a remote store.

``<cache>/blobs/sha256/<2 hex>/<64 hex>``; entries are written by temp file, verified,
then renamed, so a reader only ever sees whole, verified blobs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from registry_tool.blobs.base import BlobStore, blob_key
from registry_tool.hashing import Advance


class BlobCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, hexdigest: str) -> Path:
        return self.root / "blobs" / blob_key(hexdigest)

    def get(self, store: BlobStore, hexdigest: str, advance: Advance) -> Path:
        """The cached blob, fetched from ``store`` (and verified) when missing."""
        final = self.path_for(hexdigest)
        if final.is_file():
            os.utime(final)  # recency for LRU cleanup
            return final
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=".fetch-")
        os.close(fd)
        os.unlink(tmp)
        try:
            store.fetch(hexdigest, Path(tmp), advance)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return final
