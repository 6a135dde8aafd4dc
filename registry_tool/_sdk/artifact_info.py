"""The members of W&B's ``Artifact`` that describe a version rather than build or move
one: its id, source names, link state, times, page URL, and the members that only mean
something to a W&B server (which say so with ``UnsupportedError``).

``Artifact`` inherits them; they read only what an artifact already holds.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from typing import Any

from registry_tool._engine import Context
from registry_tool._model.governance import LinkRecord
from registry_tool._model.manifest import Entry
from registry_tool._model.records import VersionRecord
from registry_tool._promotion.promote import site_page
from registry_tool._sdk import edits
from registry_tool.errors import UnsupportedError


class ArtifactInfo:
    """W&B's descriptive ``Artifact`` members over a logged (or draft) version."""

    _ctx: Context | None
    _record: VersionRecord | None
    _link: LinkRecord | None
    _name: str
    _incremental: bool
    _sources: dict[str, str]
    _files: dict[str, str]
    _refs: dict[str, Entry]

    def _logged(self) -> VersionRecord:
        raise NotImplementedError

    # -- identity ------------------------------------------------------------------

    @property
    def id(self) -> str | None:
        """A stable id of the logged version (None for a draft): SHA-256 over the
        registry's identity, ``project/name:vN`` and the artifact digest, 32 hex digits.

        None of these ever changes for a version (numbers are never reused, files and
        digest are immutable, edits live in files of their own), so the id is the same
        in every clone and after every edit, and two versions never share one, even
        with the same files in two collections (the digest alone would be shared).
        """
        if self._record is None or self._ctx is None:
            return None
        r = self._record
        text = f"{self._ctx.store.config.identity}\n{r.project}/{r.name}:v{r.version}\n{r.digest}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @property
    def updated_at(self) -> str:
        """When the version last changed: its latest edit (description, metadata, tags,
        ttl), else when it was logged. Read from the registry's current commit, so an
        edit made since this object was got shows."""
        record = self._logged()
        assert self._ctx is not None
        return edits.view(self._ctx, record).updated_at

    @property
    def digest_algorithm(self) -> str:
        """``"SHA256"``: the artifact digest and every stored file's digest are SHA-256.
        W&B's are MD5; CONFORMANCE.md lists SHA-256 as a deliberate difference, since the
        digest here also addresses the blob and is what ``check --deep`` recomputes."""
        return "SHA256"

    @property
    def linked_at(self) -> str | None:
        """When this registry version was linked, from its link record; None for a
        project version (which is not a link) and for a draft."""
        return self._link.linked_at if self._link is not None else None

    @property
    def file_count(self) -> int:
        if self._record is not None:
            return len(self._record.entries)
        return len(self._files) + len(self._refs)

    @property
    def incremental(self) -> bool:
        return self._incremental

    def is_draft(self) -> bool:
        """True until the artifact is logged."""
        return self._record is None

    def wait(self, timeout: int | None = None) -> Any:
        """Logging is synchronous here: a logged artifact is ready at once (a draft
        is an error, as in W&B: there is nothing to wait for)."""
        self._logged()
        return self

    def finalize(self) -> None:
        """W&B freezes a draft when it is logged; logging here does the same."""

    # -- source and links ----------------------------------------------------------

    @property
    def is_link(self) -> bool:
        """Whether this is a model-registry version (a link to a project version)."""
        return self._link is not None

    @property
    def source_entity(self) -> str:
        self._logged()
        assert self._ctx is not None
        return self._ctx.entity

    @property
    def source_project(self) -> str:
        return self._logged().project

    @property
    def source_version(self) -> str:
        return f"v{self._logged().version}"

    @property
    def source_qualified_name(self) -> str:
        record = self._logged()
        return f"{self.source_entity}/{record.project}/{record.name}:v{record.version}"

    @property
    def commit_hash(self) -> str:
        """W&B's hash of the committed version: the artifact digest here."""
        return self._logged().digest

    @property
    def history_step(self) -> int | None:
        """The run step at logging, which W&B's server records; none here."""
        return None

    @property
    def distributed_id(self) -> str | None:
        return None

    @distributed_id.setter
    def distributed_id(self, value: str | None) -> None:
        if value is not None:
            raise UnsupportedError(
                "Artifact.distributed_id: distributed artifacts are assembled by a W&B "
                "server from several runs; log one artifact from one run"
            )

    @property
    def use_as(self) -> str | None:
        """Deprecated in W&B: accepted and ignored, with a DeprecationWarning."""
        return None

    @use_as.setter
    def use_as(self, value: str | None) -> None:
        if value is not None:
            warnings.warn(
                "Artifact.use_as is deprecated (as in W&B) and ignored",
                DeprecationWarning,
                stacklevel=3,
            )

    @property
    def url(self) -> str | None:
        """The version's page on the published site (a registry version's: its
        collection's page in the registry), when the registry's ``mkdocs.yml`` names
        its https ``site_url``, the source ``Run.url`` reads too; None otherwise."""
        if self._record is None or self._ctx is None:
            return None
        snap = self._ctx.store.head()
        if self._link is not None:
            # The "registry_collection" page kind of _site/kinds.py, where every version
            # of a registry collection is listed.
            link = self._link
            return site_page(snap, "registries", link.registry, f"{link.collection}.html")
        r = self._record
        # The "version" page kind of _site/kinds.py, built as .html (the site is built
        # without directory URLs); spelled here so that importing the SDK does not load
        # the site builder. tests/test_artifact_surface.py holds the two equal.
        return site_page(snap, "artifacts", r.project, r.name, f"v{r.version}.html")

    def get_added_local_path_name(self, local_path: str | os.PathLike[str]) -> str | None:
        """The name a local file was added under, or None."""
        real = os.path.realpath(local_path)
        return next((n for n, src in self._sources.items() if src == real), None)

    def json_encode(self) -> dict[str, Any]:
        """How W&B refers to an artifact inside run data: its id and path."""
        record = self._logged()
        return {"_type": "artifactVersion", "id": self.id, "path": record.name}

    @classmethod
    def from_id(cls, artifact_id: str, client: Any = None) -> Any:
        raise UnsupportedError(
            "Artifact.from_id(): ids are looked up on a W&B server; get the artifact by "
            "its path with Api().artifact('project/name:vN')"
        )
