"""``Artifact``: a set of files with a name, a type and metadata, logged as a version.

>>> art = Artifact("training-data", type="dataset", metadata={"rows": 3})
>>> art.add_file("data/train.csv")                     # doctest: +SKIP
>>> run.log_artifact(art, aliases=["best"])            # doctest: +SKIP
>>> art.version, art.digest                            # doctest: +SKIP
('v0', '9f2c...')
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from registry_tool._engine import Context, Resolved, deleted_message
from registry_tool._engine.download import VerifyReport, download_version, verify_files
from registry_tool._engine.ingest import Copy
from registry_tool._model.manifest import Entry, artifact_digest, check_entries
from registry_tool._model.names import (
    validate_entry_path,
    validate_name,
)
from registry_tool._model.plain import to_plain
from registry_tool._model.records import VersionRecord
from registry_tool._references import expand_reference
from registry_tool._sdk import drafts, edits
from registry_tool._sdk.collection import ArtifactCollection, after_cursor
from registry_tool._sdk.drafts import SkippedFilesWarning as SkippedFilesWarning
from registry_tool._sdk.entries import ArtifactManifest, ArtifactManifestEntry
from registry_tool._sdk.logged import ArtifactLogged
from registry_tool._sdk.media import Media
from registry_tool._store import registries
from registry_tool.errors import (
    ArtifactError,
    NotFoundError,
    UnsupportedError,
    UsageError,
)

if TYPE_CHECKING:
    from registry_tool._model.governance import LinkRecord
    from registry_tool._sdk.public_run import PublicRun


def open_collection(
    ctx: Context, project: str, name: str, registry: str | None = None
) -> ArtifactCollection:
    """The collection ``project/name`` (or ``model-registry/<registry>/<name>``)."""
    return ArtifactCollection(
        ctx, project, name, open_version=Artifact._from_resolved, registry=registry
    )


class Artifact(ArtifactLogged):
    """A versioned set of files. Build it, log it from a run, or get one back by path.

    ``incremental=True`` (W&B's): logged, it holds the latest version's files with
    this draft's added or replaced. ``use_as`` is deprecated in W&B and ignored.
    """

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        incremental: bool = False,
        use_as: str | None = None,
        storage_region: str | None = None,
    ) -> None:
        if storage_region is not None:  # the registry's blob store decides that
            raise UnsupportedError(
                "Artifact(storage_region=...): bytes live in the registry's blob store, "
                "set with registry-tool storage set"
            )
        self._name = validate_name(name, what="artifact name")
        self._type = validate_name(type, what="artifact type")
        self.description = description
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._incremental = bool(incremental)
        self.use_as = use_as
        # name -> the file logging reads (a copy under the "mutable" policy); entries
        # known already (references, a new_draft()'s files); name -> the user's file.
        self._files: dict[str, str] = {}
        self._refs: dict[str, Entry] = {}
        self._sources: dict[str, str] = {}
        self._base_project: str | None = None  # a new_draft() logs beside its version
        self._staging: tempfile.TemporaryDirectory[str] | None = None
        self._copies: weakref.finalize[Any, Any] | None = None
        self._copies_made: dict[str, Copy] = {}  # a private copy's path -> what it holds
        self._copies_path = Path()
        self._ctx: Context | None = None
        self._record: VersionRecord | None = None
        self._aliases: list[str] = []
        self._saved_aliases: list[str] = []
        self.created: bool | None = None
        self._link: LinkRecord | None = None
        self.tags: list[str] = []
        self.ttl: timedelta | None = None

    # -- identity ------------------------------------------------------------------

    def _new(
        self, name: str, type: str, description: str | None, metadata: dict[str, Any]
    ) -> Artifact:
        return Artifact(name, type, description, metadata)

    @classmethod
    def _from_record(cls, ctx: Context, record: VersionRecord) -> Artifact:
        art = cls(record.name, record.type, record.description, dict(record.metadata))
        art._bind(ctx, record)
        return art

    @classmethod
    def _from_link(cls, ctx: Context, link: LinkRecord, source: VersionRecord) -> Artifact:
        """The artifact a model-registry path names: the source version's files, the
        registry's version number and aliases. A link to a deleted version is an error."""
        if source.deleted is not None:
            raise NotFoundError(f"{link.path} links {deleted_message(source)}")
        art = cls._from_record(ctx, source)
        art._link = link
        art._bind(ctx, source)
        return art

    @classmethod
    def _from_resolved(cls, ctx: Context, found: Resolved) -> Artifact:
        """The artifact a resolved path names: a project version or a registry link."""
        if found.link is not None:
            return cls._from_link(ctx, found.link, found.record)
        return cls._from_record(ctx, found.record)

    def _bind(self, ctx: Context, record: VersionRecord) -> None:
        if self._link is not None:
            self._ctx = ctx
            self._record = record
            held = registries.aliases(
                ctx.store, ctx.store.head(), self._link.registry, self._link.collection
            )
            self._aliases = sorted(a for a, r in held.items() if r.version == self._link.version)
            self._saved_aliases = list(self._aliases)
            return
        self._ctx = ctx
        self._record = record
        self._type = record.type
        shown = edits.view(ctx, record)
        self.description = shown.description
        self.metadata = dict(shown.metadata)
        self.tags = list(shown.tags)
        self.ttl = shown.ttl
        self._files.clear()
        self._refs.clear()
        self._sources.clear()
        aliases = ctx.store.aliases(ctx.store.head(), record.project, record.name)
        self._aliases = sorted(a for a, r in aliases.items() if r.version == record.version)
        self._saved_aliases = list(self._aliases)

    @property
    def name(self) -> str:
        """``name`` before logging; ``name:vN`` once logged (as W&B does)."""
        if self._link is not None:
            return f"{self._link.collection}:v{self._link.version}"
        return f"{self._name}:v{self._record.version}" if self._record else self._name

    @property
    def collection_name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._type

    @property
    def project(self) -> str | None:
        return self._record.project if self._record else None

    @property
    def entity(self) -> str | None:
        return self._ctx.entity if self._ctx else None

    @property
    def qualified_name(self) -> str:
        """``entity/project/name:vN`` (``model-registry/<registry>/<collection>:vN`` for
        an artifact got through a model registry)."""
        record = self._logged()
        if self._link is not None:
            return self._link.path
        return f"{self.entity}/{record.project}/{record.name}:v{record.version}"

    @property
    def version(self) -> str:
        if self._link is not None:
            return f"v{self._link.version}"
        return f"v{self._logged().version}"

    @property
    def state(self) -> str:
        """``PENDING`` before logging, ``COMMITTED`` once logged, ``DELETED`` after
        ``delete()`` (as W&B's ``Artifact.state``)."""
        if self._record is None:
            return "PENDING"
        return "DELETED" if self._record.deleted is not None else "COMMITTED"

    @property
    def created_at(self) -> str:
        return self._logged().created_at

    @property
    def digest(self) -> str:
        """The artifact digest; before logging, computed from the files added so far."""
        if self._record is not None:
            return self._record.digest
        return artifact_digest(drafts.pending_entries(self, hash_files=True))

    @property
    def size(self) -> int:
        if self._record is not None:
            return self._record.size
        return sum(os.path.getsize(p) for p in self._files.values()) + sum(
            e.size or 0 for e in self._refs.values()
        )

    @property
    def aliases(self) -> list[str]:
        """The aliases, as a list that ``save()`` applies changes to (append, remove)."""
        return self._aliases

    @aliases.setter
    def aliases(self, value: list[str]) -> None:
        if isinstance(value, str):
            raise UsageError("aliases must be a list of strings, not one string")
        self._aliases = list(dict.fromkeys(value))

    @property
    def manifest(self) -> ArtifactManifest:
        """W&B's manifest: ``entries`` by name; iterating gives the entries."""
        return ArtifactManifest(self._entries())

    def _entries(self) -> list[ArtifactManifestEntry]:
        if self._record is not None:
            return [ArtifactManifestEntry(e, self) for e in self._record.entries]
        return [
            ArtifactManifestEntry(e, None, self._sources.get(e.path))
            for e in drafts.pending_entries(self, hash_files=False)
        ]

    @property
    def source_name(self) -> str:
        """``project/name:vN`` of the logged version (also for a registry artifact):
        W&B gives ``name:vN``, but a name alone is ambiguous across projects here."""
        record = self._logged()
        return f"{record.project}/{record.name}:v{record.version}"

    def __repr__(self) -> str:
        return f"<Artifact {self.name} type={self._type}>"

    def _logged(self) -> VersionRecord:
        if self._record is None:
            raise ArtifactError(f"artifact {self._name!r} has not been logged yet")
        return self._record

    def _require_draft(self) -> None:
        if self._record is not None:
            raise ArtifactError(
                f"{self.qualified_name} is logged and immutable: new_draft() gives a "
                "draft of it to change and log as a new version"
            )

    # -- adding files --------------------------------------------------------------

    def _add(self, name: str, local: str) -> None:
        validate_entry_path(name)
        if name in self._files or name in self._refs:
            raise ArtifactError(f"file {name!r} is already in artifact {self._name!r}")
        self._files[name] = local

    def add_file(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        is_tmp: bool | None = False,
        skip_cache: bool | None = False,
        policy: str = "mutable",
        overwrite: bool = False,
    ) -> ArtifactManifestEntry:
        """Add one file, named ``name`` inside the artifact (default: its basename).

        ``policy="mutable"`` logs the file as it is now (a private copy); "immutable"
        reads it in place when logging. ``is_tmp`` names it by its content digest;
        ``overwrite=True`` replaces a file already added under that name.
        """
        return drafts.add_file(
            self, local_path, name, is_tmp=bool(is_tmp), policy=policy, overwrite=overwrite
        )

    def add_dir(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        skip_cache: bool | None = False,
        policy: str = "mutable",
        merge: bool = False,
    ) -> None:
        """Add every file under a directory, under ``name/`` (default: the top level).

        Symbolic links are followed when they stay inside the directory and refused
        when they point out of it, so an artifact never picks up files by accident.
        Version control folders (``.git``, ``.hg``, ``.svn``: a cloned model's ``.git``
        holds its remote's URL, token included) and whatever is not a regular file (a
        FIFO, a socket, a device) are left out, with a ``SkippedFilesWarning`` naming them.
        A file already added with other content is an error unless ``merge=True``.
        """
        drafts.add_dir(self, local_path, name, policy=policy, merge=merge)

    def remove(self, item: str | os.PathLike[str] | ArtifactManifestEntry | Entry) -> None:
        """Take a file, a folder (every file below it) or an entry out of the draft."""
        drafts.remove(self, item)

    def new_file(
        self, name: str, mode: str = "x", encoding: str | None = None, policy: str = "mutable"
    ) -> AbstractContextManager[IO[Any]]:
        """Write a new file straight into the artifact.

        >>> with art.new_file("notes.txt") as f:      # doctest: +SKIP
        ...     f.write("hello")
        """
        return drafts.new_file(self, name, mode, encoding, policy)

    def _staging_dir(self) -> Path:
        if self._staging is None:
            self._staging = tempfile.TemporaryDirectory(prefix="registry-tool-staging-")
        return Path(self._staging.name)

    def _copies_dir(self) -> Path:
        """Where "mutable" files are copied: apart from ``new_file``'s, whose names
        are the user's; removed when the draft is logged or goes away."""
        if self._copies is None:
            folder = tempfile.mkdtemp(prefix="registry-tool-copies-")
            self._copies = weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
            self._copies_path = Path(folder)
        return self._copies_path

    def add_reference(
        self,
        uri: str,
        name: str | None = None,
        checksum: bool = True,
        max_objects: int | None = None,
    ) -> list[ArtifactManifestEntry]:
        """Record objects that stay where they are: ``s3://bucket/key`` or a prefix,
        ``gs://...``, ``https://...``, ``file://...`` (a directory is walked).

        A prefix gives one entry per object, under ``name/`` (default: the prefix's
        last segment); more than ``max_objects`` objects is an error. ``checksum=False``
        records the URI itself and reads nothing. The bytes are not copied: ``download``
        fetches them and checks they are still what was logged.
        """
        self._require_draft()
        entries = expand_reference(uri, name, checksum=checksum, max_objects=max_objects)
        for entry in entries:
            if entry.path in self._files or entry.path in self._refs:
                raise ArtifactError(f"file {entry.path!r} is already in artifact {self._name!r}")
        self._refs.update((entry.path, entry) for entry in entries)
        return [ArtifactManifestEntry(e) for e in entries]

    def add(self, obj: Media, name: str, overwrite: bool = False) -> ArtifactManifestEntry:
        """Add a ``Table`` as ``<name>.table.json``, or another media value (``Image``,
        ``Histogram``, ``Html``...) as ``<name>.<type>.json``, the files it names beside
        it; ``overwrite=True`` replaces one added under that name."""
        return drafts.add_media(self, obj, name, overwrite)

    # -- logged artifacts ----------------------------------------------------------

    def files(
        self, names: list[str] | None = None, per_page: int = 50, start: str | None = None
    ) -> list[ArtifactManifestEntry]:
        """The entries of a logged version (all, or those ``names``), in path order.

        ``start`` is W&B's page cursor: here the path the previous page ended with; the
        entries after it come back. A cursor naming no entry is an error (resuming
        from a guess would skip or repeat files). ``per_page`` pages W&B's server
        answers; the whole list comes back at once here.
        """
        record = self._logged()
        entries = self._entries()
        chosen = entries if names is None else [e for e in entries if e.path in names]
        return after_cursor(
            chosen,
            [e.path for e in chosen],
            start,
            f"Artifact.files(start={start!r}): {record.name}:v{record.version} has no "
            f"file {start!r} to continue after",
        )

    def get_entry(self, name: str) -> ArtifactManifestEntry:
        """The entry named ``name``; ``KeyError`` when there is none."""
        found = self.manifest.entries.get(str(name))
        if found is None:
            raise KeyError(f"{self.name} has no file {name!r}")
        return found

    def get_path(self, name: str) -> ArtifactManifestEntry:
        return self.get_entry(name)

    def logged_by(self) -> PublicRun | None:
        """The run that logged this version, if a run did."""
        from registry_tool._sdk.public_run import PublicRun

        record = self._logged()
        if record.run is None:
            return None
        assert self._ctx is not None
        run = self._ctx.store.read_run(self._ctx.store.head(), record.project, record.run)
        return PublicRun(self._ctx, run) if run else None

    def used_by(self) -> list[PublicRun]:
        """Every run that used this version as an input."""
        from registry_tool._sdk.public_run import PublicRun

        record = self._logged()
        ctx = self._ctx
        assert ctx is not None
        snap = ctx.store.head()
        found = []
        for project in ctx.store.projects(snap):
            for run in ctx.store.runs(snap, project):
                if any(
                    (u.project, u.name, u.version) == (record.project, record.name, record.version)
                    for u in run.inputs
                ):
                    found.append(PublicRun(ctx, run))
        return found

    def save(self, project: str | None = None, settings: Any = None) -> None:
        """On a draft, log it (as W&B's does): through the current run, else through a
        run started for it in ``project``. On a logged version, apply what changed
        since: aliases (``artifact.aliases.append("x")`` or a new list) and the rest
        ``_sdk/edits.py`` allows. ``settings`` are W&B's settings of the run it starts,
        which have no counterpart here."""
        if self._record is None:
            drafts.log_draft(self, project)
        else:
            edits.save(self)

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        allow_missing_references: bool = False,
        skip_cache: bool | None = None,
        path_prefix: str | None = None,
        multipart: bool | None = None,
    ) -> str:
        """Write the files to ``root`` (default ``./artifacts/<name>:vN``), each verified.

        Files already there with the right content are left alone.
        ``allow_missing_references=True`` skips a reference whose object is gone.
        ``skip_cache`` and ``multipart`` tune W&B's transfers; stored files here come
        through the registry's own cache and store, so they change nothing.
        """
        record = self._logged()
        assert self._ctx is not None
        return download_version(
            self._ctx,
            record,
            root,
            path_prefix=path_prefix,
            label=self.qualified_name,
            allow_missing_references=allow_missing_references,
        )

    def verify(self, root: str | os.PathLike[str] | None = None) -> VerifyReport:
        """Hash every file under ``root`` against the manifest.

        Returns the report when everything matches; raises ``VerificationError``
        (carrying the report) when a file is missing, extra or changed.
        """
        return verify_files(self._logged(), root)

    def delete_staging(self) -> None:
        if self._staging is not None:
            self._staging.cleanup()
            self._staging = None
        if self._copies is not None:
            self._copies()
            self._copies = None

    # -- logging (called by Run and the CLI) ---------------------------------------

    def _log_to(
        self,
        ctx: Context,
        *,
        project: str,
        aliases: list[str],
        run: Any = None,
    ) -> Any:
        """Store the files, commit the version; returns the run's updated record.

        An artifact logged already is logged again as W&B does (the guide's aliases
        example logs one object with ``dev``, then ``staging``...): its version is
        not re-created, the aliases move to it and the run records it as an output.
        """
        metadata = to_plain(self.metadata, where=f"artifact {self._name!r} metadata")
        if self._record is not None:
            if self._link is not None or self._record.deleted is not None:
                self._require_draft()
            logged = self._record
            outcome, new_run = ctx.log(
                project=logged.project,
                name=logged.name,
                type=logged.type,
                entries=list(logged.entries),
                description=self.description,
                metadata=metadata,
                aliases=[*self._aliases, *aliases],
                run=run,
            )
            self._bind(ctx, outcome.record)
            self.created = outcome.created
            return new_run
        project = self._base_project or project
        base = drafts.incremental_base(ctx, project, self) if self._incremental else []
        if not self._files and not self._refs and not base:
            raise ArtifactError(f"artifact {self._name!r} has no files: add some before logging")

        def precheck() -> None:
            ctx.precheck_log(
                project=project,
                name=self._name,
                type=self._type,
                paths=self._files,
                refs=[*base, *self._refs.values()],
                description=self.description,
                metadata=metadata,
                aliases=[*self._aliases, *aliases],
            )

        # Whatever the log would refuse without the bytes is refused before any is
        # stored; when all are stored already, the commit's own checks are enough.
        entries = ctx.ingest(
            self._files, ctx.latest_digests(project, self._name), precheck, self._copies_made
        )
        entries = check_entries([*entries, *base, *self._refs.values()])
        outcome, new_run = ctx.log(
            project=project,
            name=self._name,
            type=self._type,
            entries=entries,
            description=self.description,
            metadata=metadata,
            aliases=[*self._aliases, *aliases],
            run=run,
        )
        self.delete_staging()
        self._bind(ctx, outcome.record)
        self.created = outcome.created
        return new_run
