"""``ArtifactCollection``: every version of one artifact name (W&B's collection), in a
project or in a model registry.

An artifact knows its collection and a collection lists its artifacts, so the class
that builds artifacts is handed in (``open_version``) rather than imported: the two
modules would otherwise import each other. ``artifact.open_collection`` builds one
with ``Artifact`` already handed in.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from registry_tool._engine import Context, Resolved
from registry_tool._engine import edits as engine_edits
from registry_tool._model.governance import LinkRecord
from registry_tool._store import Snapshot, registries
from registry_tool.errors import NotFoundError, UnsupportedError, UsageError

if TYPE_CHECKING:
    from registry_tool._sdk.artifact import Artifact

MODEL_REGISTRY = "model-registry"


def _when(stamp: str) -> datetime:
    """A document's ISO 8601 time, for ordering (a trailing ``Z`` is UTC)."""
    return datetime.fromisoformat(stamp)


class ArtifactCollection:
    """The versions of ``project/name`` or, with ``registry``, of the registry
    collection ``model-registry/<registry>/<name>``."""

    # Read from the registry by ``_read`` (at creation and again by ``load``).
    type: str
    description: str | None
    created_at: str

    def __init__(
        self,
        ctx: Context,
        project: str,
        name: str,
        *,
        open_version: Callable[[Context, Resolved], Artifact],
        registry: str | None = None,
    ) -> None:
        self._ctx = ctx
        self._project = project
        self._registry = registry
        self._open = open_version
        self.name = name
        self.organization = ctx.entity
        self.tags: list[str] = []
        self._read()

    def _read(self) -> None:
        """Read the collection's type, description and first time from the registry's
        current commit (a registry collection's type is always ``model``)."""
        store = self._ctx.store
        snap = store.head()
        if self._registry is None:
            record = store.read_collection(snap, self._project, self.name)
            if record is None:
                raise NotFoundError(
                    f"no artifact collection {self._project}/{self.name} in {self._ctx.entity!r}"
                )
            self.type = record.type
            self.description = record.description
            self.created_at = record.created_at
            return
        links = self._links(snap)
        if not links:
            raise NotFoundError(f"no collection {self.name!r} in model registry {self._registry!r}")
        self.type = "model"
        self.description = None
        self.created_at = min((link.linked_at for link in links), key=_when)

    def _links(self, snap: Snapshot) -> list[LinkRecord]:
        assert self._registry is not None
        found = []
        for number in registries.link_numbers(snap, self._registry, self.name):
            link = registries.read_link(self._ctx.store, snap, self._registry, self.name, number)
            if link is not None:
                found.append(link)
        return found

    def load(
        self,
        entity: str | None = None,
        project: str | None = None,
        type_: str | None = None,
        name: str | None = None,
    ) -> ArtifactCollection:
        """Read the collection again from the registry's current commit (another
        writer may have logged, edited or linked since); itself.

        W&B's arguments name the collection to load; here they can only confirm this
        one, so one that names another is an error naming the argument.
        """
        given = {"entity": entity, "project": project, "type_": type_, "name": name}
        have = {"entity": self.entity, "project": self.project, "type_": self.type}
        have["name"] = self.name
        for field_name, value in given.items():
            if value is not None and value != have[field_name]:
                raise UsageError(
                    f"ArtifactCollection.load({field_name}={value!r}): this is the "
                    f"collection {self.id} ({field_name} {have[field_name]!r}); get another "
                    "with Api().artifact_collection(type, path)",
                    field=field_name,
                )
        self._read()
        return self

    @property
    def entity(self) -> str:
        return self._ctx.entity

    @property
    def project(self) -> str:
        """The project; ``model-registry/<registry>`` for a registry collection."""
        if self._registry is not None:
            return f"{MODEL_REGISTRY}/{self._registry}"
        return self._project

    @property
    def id(self) -> str:
        return f"{self.entity}/{self.project}/{self.name}"

    @property
    def project_internal_id(self) -> int:
        """W&B's number for the project, stable here without a server: the first 52
        bits of SHA-256 over the registry's identity and the project's name (as
        ``Artifact.id`` is built), so every clone of the registry gives the same number,
        two projects almost never share one, and it fits a JSON number exactly."""
        text = f"{self._ctx.store.config.identity}\nproject\n{self.project}"
        return int(hashlib.sha256(text.encode()).hexdigest()[:13], 16)

    @property
    def project_id(self) -> str:
        """W&B's GraphQL id of the project: base64 of ``Project:<internal id>``, the
        shape W&B's ids decode to, over ``project_internal_id``."""
        return base64.b64encode(f"Project:{self.project_internal_id}".encode()).decode()

    @property
    def updated_at(self) -> str:
        """When the collection last changed: its newest version, edit or deletion (for
        a registry collection, its newest link)."""
        store = self._ctx.store
        snap = store.head()
        if self._registry is not None:
            times = [link.linked_at for link in self._links(snap)]
        else:
            times = [self.created_at]
            for number in store.version_numbers(snap, self._project, self.name):
                record = store.read_version(snap, self._project, self.name, number)
                if record is None:
                    continue
                times.append(record.created_at)
                if record.deleted is not None:
                    times.append(record.deleted.at)
                edits = engine_edits.read_edits(store, snap, self._project, self.name, number)
                times += [edit.at for edit in edits]
        return max(times, key=_when) if times else self.created_at

    def is_sequence(self) -> bool:
        """True for a project's collection (its own versions, W&B's sequence); False
        for a registry collection (links to versions elsewhere, W&B's portfolio)."""
        return self._registry is None

    @property
    def aliases(self) -> list[str]:
        """Every alias any version of the collection holds."""
        snap = self._ctx.store.head()
        if self._registry is not None:
            return sorted(registries.aliases(self._ctx.store, snap, self._registry, self.name))
        return sorted(self._ctx.store.aliases(snap, self._project, self.name))

    def versions(self) -> list[Artifact]:
        """The versions not deleted (or unlinked), oldest first."""
        ctx = self._ctx
        snap = ctx.store.head()
        found = []
        if self._registry is not None:
            gone = registries.unlinked(snap, self._registry, self.name)
            for number in registries.link_numbers(snap, self._registry, self.name):
                if number in gone:
                    continue
                path = f"{MODEL_REGISTRY}/{self._registry}/{self.name}:v{number}"
                try:
                    found.append(self._open(ctx, ctx.resolve_ref(path, snap=snap)))
                except NotFoundError:
                    continue  # a link to a deleted version is not one to use
            return found
        for number in ctx.store.version_numbers(snap, self._project, self.name):
            record = ctx.store.read_version(snap, self._project, self.name, number)
            if record is not None and record.deleted is None:
                found.append(self._open(ctx, Resolved(record)))
        return found

    def artifacts(self, per_page: int = 50, start: str | None = None) -> list[Artifact]:
        """W&B's name for ``versions()``. ``start`` is W&B's page cursor: here the
        version (``"v3"``) the previous page ended with; the versions after it come
        back. A cursor naming no version of the collection is an error. ``per_page``
        pages W&B's server answers; the whole list comes back at once here."""
        found = self.versions()
        return after_cursor(
            found,
            [art.version for art in found],
            start,
            f"ArtifactCollection.artifacts(start={start!r}): {self.id} has no version "
            f"{start!r} to continue after",
        )

    def save(self) -> None:
        raise UnsupportedError(
            "ArtifactCollection.save(): a collection's type and description are fixed "
            "when its first version is logged"
        )

    def delete(self) -> None:
        raise UnsupportedError(
            "ArtifactCollection.delete(): delete versions one at a time with "
            "Artifact.delete(), each a reviewed commit"
        )

    def change_type(self, new_type: str) -> None:
        raise UnsupportedError(
            "ArtifactCollection.change_type(): a collection's type is part of every "
            "version file; log under a new name instead"
        )

    def __repr__(self) -> str:
        return f"<ArtifactCollection {self.project}/{self.name} type={self.type}>"


T = TypeVar("T")


def after_cursor(items: list[T], keys: list[str], start: str | None, missing: str) -> list[T]:
    """W&B's page cursor, read here: the items after the one whose key is ``start``
    (all of them without a cursor). A cursor naming none is an error, ``missing``:
    resuming from a guess would skip or repeat items."""
    if start is None:
        return items
    if start not in keys:
        raise UsageError(missing, field="start")
    return items[keys.index(start) + 1 :]
