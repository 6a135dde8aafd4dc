"""W&B's manifest objects: ``ArtifactManifestEntry`` (one file of an artifact, with
``name`` and ``download()``) and ``ArtifactManifest`` (``entries``, a dict by name).

The stored manifest is ``_model.manifest.Entry``, a frozen value with no I/O; a W&B user
expects an entry that knows its artifact and can fetch itself, so the facade wraps each
one. Iterating a manifest gives its entries, so code that reads ``artifact.manifest``
as a list of entries keeps working.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry_tool._model.manifest import SHA256_RE, Entry, artifact_digest
from registry_tool.errors import ArtifactError, UnsupportedError

if TYPE_CHECKING:
    from registry_tool._sdk.artifact import Artifact


class ArtifactManifestEntry:
    """One file of an artifact: stored in the blob store, or a reference to elsewhere."""

    def __init__(
        self,
        entry: Entry,
        artifact: Artifact | None = None,
        local_path: str | None = None,
    ) -> None:
        self._entry = entry
        self._artifact = artifact
        self.local_path = local_path
        self.skip_cache = False

    @property
    def path(self) -> str:
        return self._entry.path

    @property
    def name(self) -> str:
        """The entry's path inside the artifact (W&B's ``name``)."""
        return self._entry.path

    @property
    def digest(self) -> str:
        return self._entry.digest

    @property
    def size(self) -> int | None:
        return self._entry.size

    @property
    def ref(self) -> str | None:
        return self._entry.ref

    @property
    def extra(self) -> Mapping[str, Any]:
        return self._entry.extra

    @property
    def is_reference(self) -> bool:
        return self._entry.ref is not None

    @property
    def birth_artifact_id(self) -> str | None:
        """The id of the version the entry belongs to (None before logging)."""
        return self._artifact.id if self._artifact is not None else None

    def to_doc(self) -> dict[str, Any]:
        return self._entry.to_doc()

    def to_json(self) -> dict[str, Any]:
        """The entry as W&B writes it in a manifest's ``contents``: ``path`` and
        ``digest``, then ``size``, ``ref``, ``birthArtifactID``, ``local_path`` and
        ``extra`` only when they have a value (W&B leaves empty ones out, too)."""
        out: dict[str, Any] = {"path": self.path, "digest": self.digest}
        optional = {
            "size": self.size,
            "ref": self.ref,
            "birthArtifactID": self.birth_artifact_id,
            "local_path": self.local_path,
            "skip_cache": self.skip_cache,
            "extra": dict(self.extra),
        }
        out.update((key, value) for key, value in optional.items() if value)
        return out

    def digest_algorithm(self) -> str | None:
        """``"SHA256"`` for a stored file or a file reference, whose digest is the
        SHA-256 of its bytes (W&B uses MD5; CONFORMANCE.md lists SHA-256 as a deliberate
        difference: the digest also addresses the blob). None for a reference whose
        digest is its store's own marker (an S3 or HTTP ETag, a GCS generation), or the
        URI itself when logged with ``checksum=False``: no hash of the bytes at all."""
        return "SHA256" if SHA256_RE.match(self.digest) else None

    def parent_artifact(self) -> Artifact:
        """The artifact this entry is a file of."""
        if self._artifact is None:
            raise ArtifactError(f"entry {self.path!r} belongs to no artifact")
        return self._artifact

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        skip_cache: bool | None = None,
        executor: Executor | None = None,
    ) -> str:
        """Download this one file (verified) under ``root``; its path on disk.

        ``skip_cache`` and ``executor`` tune W&B's transfers (its cache, a thread pool
        shared by many entries); one file is fetched here through the registry's own
        cache and store, so they change nothing.
        """
        art = self.parent_artifact()
        target = art._download_paths(root, {self.path})
        return str(Path(target) / self.path)

    def ref_target(self) -> str:
        """The URI a reference points at; for a stored file, its artifact path."""
        if self._entry.ref is not None:
            return self._entry.ref
        return f"{self.parent_artifact().qualified_name}/{self.path}"

    def ref_url(self) -> str:
        raise UnsupportedError(
            "ArtifactManifestEntry.ref_url(): a wandb-artifact:// URL names a W&B server "
            "object; use ref_target() or the artifact path"
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ArtifactManifestEntry):
            return self._entry == other._entry
        if isinstance(other, Entry):
            return self._entry == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.path, self.digest))

    def __repr__(self) -> str:
        ref = f" ref={self.ref}" if self.ref else ""
        return f"<ArtifactManifestEntry {self.path} {self.digest} size={self.size}{ref}>"


class ArtifactManifest:
    """An artifact's files by name (``entries``); iterating gives the entries in
    path order."""

    version = 1

    def __init__(self, entries: Iterable[ArtifactManifestEntry]) -> None:
        ordered = sorted(entries, key=lambda e: e.path)
        self.entries: dict[str, ArtifactManifestEntry] = {e.path: e for e in ordered}

    def __iter__(self) -> Iterator[ArtifactManifestEntry]:
        return iter(list(self.entries.values()))

    def __len__(self) -> int:
        return len(self.entries)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ArtifactManifest):
            return list(self) == list(other)
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def get_entry_by_path(self, path: str) -> ArtifactManifestEntry | None:
        return self.entries.get(path)

    def get_entries_in_directory(self, directory: str) -> list[ArtifactManifestEntry]:
        """The entries directly in ``directory`` (not in its sub-folders)."""
        prefix = f"{directory.strip('/')}/" if directory.strip("/") else ""
        return [
            e
            for name, e in self.entries.items()
            if name.startswith(prefix) and "/" not in name[len(prefix) :]
        ]

    def digest(self) -> str:
        """The artifact digest over these entries (SHA-256, see DESIGN.md)."""
        return artifact_digest(e._entry for e in self.entries.values())

    def to_manifest_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "storagePolicy": "registry-tool",
            "contents": {name: e.to_doc() for name, e in self.entries.items()},
        }

    def __repr__(self) -> str:
        return f"<ArtifactManifest {len(self.entries)} entries>"
