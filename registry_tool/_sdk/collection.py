"""``ArtifactCollection``: every version of one artifact name (W&B's collection), in a
project or in a model registry.

An artifact knows its collection and a collection lists its artifacts, so the class
that builds artifacts is handed in (``open_version``) rather than imported: the two
modules would otherwise import each other. ``artifact.open_collection`` builds one
with ``Artifact`` already handed in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from registry_tool._engine import Context, Resolved
from registry_tool._store import registries
from registry_tool.errors import NotFoundError, UnsupportedError

if TYPE_CHECKING:
    from registry_tool._sdk.artifact import Artifact

MODEL_REGISTRY = "model-registry"


class ArtifactCollection:
    """The versions of ``project/name`` or, with ``registry``, of the registry
    collection ``model-registry/<registry>/<name>``."""

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
        snap = ctx.store.head()
        if registry is None:
            record = ctx.store.read_collection(snap, project, name)
            if record is None:
                raise NotFoundError(f"no artifact collection {project}/{name} in {ctx.entity!r}")
            self.type = record.type
            self.description = record.description
            self.created_at = record.created_at
        else:
            if not registries.link_numbers(snap, registry, name):
                raise NotFoundError(f"no collection {name!r} in model registry {registry!r}")
            self.type = "model"
            self.description = None
            self.created_at = ""
        self.tags: list[str] = []

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

    def artifacts(self, per_page: int = 50) -> list[Artifact]:
        """W&B's name for ``versions()``."""
        return self.versions()

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
