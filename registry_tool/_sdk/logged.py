"""What a logged ``Artifact`` offers beyond its own record, as W&B's does: its
collection, the registry versions linking to it (or the version a link names), linking,
unlinking and deleting it, a draft of it to change and log again, and its files on disk
(``file``, ``checkout``).

``Artifact`` inherits these; the artifacts they return are made by its own class
methods (``_from_record``, ``_from_link``, ``_from_resolved``).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from datetime import timedelta
from pathlib import Path
from typing import Any, Self

from registry_tool import _promotion as promotion
from registry_tool._deletion import delete_version
from registry_tool._engine import Context, Resolved, deleted_message
from registry_tool._engine.download import download_version, prune
from registry_tool._model.governance import LinkRecord
from registry_tool._model.records import VersionRecord
from registry_tool._sdk.artifact_info import ArtifactInfo
from registry_tool._sdk.collection import ArtifactCollection
from registry_tool._sdk.entries import ArtifactManifestEntry
from registry_tool._sdk.media import read_media
from registry_tool._store import registries
from registry_tool.errors import ArtifactError, UsageError


class ArtifactLogged(ArtifactInfo):
    """W&B's members of a logged artifact that reach beyond its version file."""

    description: str | None
    metadata: dict[str, Any]
    tags: list[str]
    ttl: timedelta | None
    _base_project: str | None
    _aliases: list[str]
    _saved_aliases: list[str]

    @classmethod
    def _from_record(cls, ctx: Context, record: VersionRecord) -> Any:
        raise NotImplementedError

    @classmethod
    def _from_link(cls, ctx: Context, link: LinkRecord, source: VersionRecord) -> Any:
        raise NotImplementedError

    @classmethod
    def _from_resolved(cls, ctx: Context, found: Resolved) -> Any:
        raise NotImplementedError

    @property
    def qualified_name(self) -> str:
        raise NotImplementedError

    def download(self, root: str | os.PathLike[str] | None = None) -> str:
        raise NotImplementedError

    def get_entry(self, name: str) -> ArtifactManifestEntry:
        raise NotImplementedError

    def _new(self, name: str, type: str, description: str | None, metadata: dict[str, Any]) -> Self:
        raise NotImplementedError

    def _bind(self, ctx: Context, record: VersionRecord) -> None:
        raise NotImplementedError

    @property
    def name(self) -> str:
        raise NotImplementedError

    # -- collection and links ------------------------------------------------------

    def _collection(self, project: str, name: str, registry: str | None) -> ArtifactCollection:
        assert self._ctx is not None
        return ArtifactCollection(
            self._ctx, project, name, open_version=type(self)._from_resolved, registry=registry
        )

    @property
    def collection(self) -> ArtifactCollection:
        """The collection this version belongs to (the registry's, for a link)."""
        record = self._logged()
        if self._link is not None:
            return self._collection("", self._link.collection, self._link.registry)
        return self._collection(record.project, record.name, None)

    @property
    def source_collection(self) -> ArtifactCollection:
        """The project collection of the logged version (also for a link)."""
        record = self._logged()
        return self._collection(record.project, record.name, None)

    @property
    def source_artifact(self) -> Self:
        """The project version a registry version links to; itself otherwise."""
        record = self._logged()
        assert self._ctx is not None
        return type(self)._from_record(self._ctx, record) if self._link is not None else self

    @property
    def linked_artifacts(self) -> list[Self]:
        """The model-registry versions linking to this version (none for a link)."""
        record = self._logged()
        ctx = self._ctx
        assert ctx is not None
        if self._link is not None:
            return []
        snap = ctx.store.head()
        found = []
        for registry in registries.names(snap):
            for name in registries.collections(snap, registry):
                gone = registries.unlinked(snap, registry, name)
                for number in registries.link_numbers(snap, registry, name):
                    link = registries.read_link(ctx.store, snap, registry, name, number)
                    if link is None or number in gone:
                        continue
                    source = (link.project, link.name, link.source_version)
                    if source == (record.project, record.name, record.version):
                        found.append(type(self)._from_link(ctx, link, record))
        return found

    # -- links and deletion --------------------------------------------------------

    def unlink(self) -> None:
        """Take this registry version out of its registry (its aliases go with it)."""
        if self._link is None:
            raise ArtifactError(
                f"{self.name} is not a registry version: get it by its model-registry/... path"
            )
        assert self._ctx is not None
        promotion.unlink(self._ctx, self._link)
        self._aliases = []
        self._saved_aliases = []

    def delete(self, delete_aliases: bool = False) -> None:
        """Soft-delete this version, in one commit.

        >>> api.artifact("my-project/model:v3").delete(delete_aliases=True)  # doctest: +SKIP

        The version file stays (marked ``deleted``) and its number is never reused;
        getting, downloading or using it is then an error naming it as deleted, and
        ``registry-tool gc`` may reclaim the blobs no other version names. A version
        with aliases (``latest`` aside, which moves to the newest version left) is
        refused unless ``delete_aliases=True`` removes them in the same commit; a
        protected model-registry alias on a link to it always refuses.
        """
        record = self._logged()
        assert self._ctx is not None
        outcome = delete_version(
            self._ctx, record.project, record.name, record.version, delete_aliases=delete_aliases
        )
        self._record = outcome.record
        self._aliases = []
        self._saved_aliases = []

    def link(self, target_path: str, aliases: list[str] | None = None) -> Self:
        """Link this logged version into a model registry and apply ``aliases``.

        >>> artifact.link("model-registry/production-models", aliases=["staging"])  # doctest: +SKIP

        Linking the same content again reuses its registry version. A protected alias
        is refused here: it moves through ``registry-tool promote --pr``.
        """
        record = self._logged()
        assert self._ctx is not None
        if record.deleted is not None:
            raise ArtifactError(deleted_message(record))
        if isinstance(aliases, str):
            raise UsageError("aliases must be a list of strings, not one string")
        linked = promotion.link_version(self._ctx, record, target_path, list(aliases or []))
        if self._link is not None and self._link.path == linked.path:
            self._bind(self._ctx, record)  # its own aliases moved: a save() starts from them
        found: Self = type(self)._from_resolved(self._ctx, self._ctx.resolve_ref(linked.path))
        return found

    # -- drafts --------------------------------------------------------------------

    def new_draft(self) -> Self:
        """A draft holding this version's files and references (their bytes are not
        stored again), its description, metadata and tags; logged, it is the next
        version of the same collection."""
        record = self._logged()
        draft = self._new(record.name, record.type, self.description, dict(self.metadata))
        draft._refs = {e.path: e for e in record.entries}
        draft._base_project = record.project
        draft.tags = list(self.tags)
        draft.ttl = self.ttl
        return draft

    # -- files on disk -------------------------------------------------------------

    def get(self, name: str) -> Any:
        """A ``Table`` or media value added with ``add`` (downloads the artifact first)."""
        record = self._logged()
        value = read_media(Path(self.download()), name)
        if value is None:
            raise ArtifactError(f"{record.name}:v{record.version} has no table or media {name!r}")
        return value

    def file(self, root: str | os.PathLike[str] | None = None) -> str:
        """Download the one file of a one-file artifact; its path."""
        record = self._logged()
        if len(record.entries) != 1:
            raise ArtifactError(
                f"{self.qualified_name} holds {len(record.entries)} files, not one: "
                "use download() or get_entry(name).download()"
            )
        return self.get_entry(record.entries[0].path).download(root)

    def checkout(self, root: str | os.PathLike[str] | None = None) -> str:
        """Make ``root`` hold exactly this version's files: what is not in it is
        removed (nothing outside ``root``: links are removed, never followed), then
        the files are downloaded, each verified."""
        record = self._logged()
        target = (
            root if root is not None else Path("artifacts") / f"{record.name}:v{record.version}"
        )
        prune(target, {e.path for e in record.entries})
        return self.download(target)

    def _download_paths(self, root: str | os.PathLike[str] | None, only: Collection[str]) -> str:
        """Download only the entries ``only``; the root they landed under."""
        record = self._logged()
        assert self._ctx is not None
        return download_version(self._ctx, record, root, label=self.qualified_name, only=only)
