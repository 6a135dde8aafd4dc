"""Blob stores behind one small Protocol: a local directory, S3, memory."""

from __future__ import annotations

from pathlib import Path

from registry_tool._blobs.base import BlobStore, blob_key
from registry_tool._blobs.local import LocalBlobStore
from registry_tool._blobs.memory import MemoryBlobStore
from registry_tool._model.records import StorageConfig
from registry_tool.errors import UsageError

_MEMORY: dict[str, MemoryBlobStore] = {}


def open_blob_store(config: StorageConfig, registry_root: Path) -> BlobStore:
    """The store a registry's ``storage`` names; relative paths are from the registry root."""
    url = config.url
    if url.startswith("memory://"):
        return _MEMORY.setdefault(url, MemoryBlobStore())
    if url.startswith("s3://"):
        # deferred: S3 support (botocore's signer, http.client) only for registries on S3
        from registry_tool._blobs.s3 import S3BlobStore

        return S3BlobStore(config)
    if url.startswith("file://"):
        return LocalBlobStore(Path(url.removeprefix("file://")))
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise UsageError(
            f"registry.yaml: $.storage.url: storage scheme {scheme!r} is not supported yet "
            "(a local directory or file:// URL works today)"
        )
    path = Path(url).expanduser()
    return LocalBlobStore(path if path.is_absolute() else registry_root / path)


__all__ = [
    "BlobStore",
    "LocalBlobStore",
    "MemoryBlobStore",
    "blob_key",
    "open_blob_store",
]
