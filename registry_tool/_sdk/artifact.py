"""``Artifact``: a set of files with a name, a type and metadata, logged as a version.

>>> art = Artifact("training-data", type="dataset", metadata={"rows": 3})
>>> art.add_file("data/train.csv")                     # doctest: +SKIP
>>> run.log_artifact(art, aliases=["best"])            # doctest: +SKIP
>>> art.version, art.digest                            # doctest: +SKIP
('v0', '9f2c...')
"""

from __future__ import annotations

import os
import stat
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from registry_tool import _promotion as promotion
from registry_tool._deletion import delete_version
from registry_tool._engine import Context, Resolved, deleted_message
from registry_tool._engine.download import VerifyReport, download_version, verify_files
from registry_tool._escape import printable
from registry_tool._fmt import file_kind
from registry_tool._hashing import hash_file
from registry_tool._model.manifest import Entry, artifact_digest, check_entries, file_digest
from registry_tool._model.names import (
    validate_entry_path,
    validate_name,
)
from registry_tool._model.plain import to_plain
from registry_tool._model.records import VersionRecord
from registry_tool._references import expand_reference
from registry_tool._references.file import scan_folder
from registry_tool._sdk import edits
from registry_tool._sdk.media import Table
from registry_tool._store import registries
from registry_tool.errors import (
    ArtifactError,
    NotFoundError,
    UsageError,
)

if TYPE_CHECKING:
    from registry_tool._model.governance import LinkRecord
    from registry_tool._sdk.public_run import PublicRun


class SkippedFilesWarning(UserWarning):
    """``add_dir`` left files out: version control folders, or what is not a regular file."""


class Artifact:
    """A versioned set of files. Build it, log it from a run, or get one back by path."""

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._name = validate_name(name, what="artifact name")
        self._type = validate_name(type, what="artifact type")
        self.description = description
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._files: dict[str, str] = {}  # name in the artifact -> real path on disk
        self._refs: dict[str, Entry] = {}
        self._staging: tempfile.TemporaryDirectory[str] | None = None
        self._ctx: Context | None = None
        self._record: VersionRecord | None = None
        self._aliases: list[str] = []
        self._saved_aliases: list[str] = []
        self.created: bool | None = None
        self._link: LinkRecord | None = None
        self.tags: list[str] = []
        self.ttl: timedelta | None = None

    # -- identity ------------------------------------------------------------------

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
    def source_name(self) -> str:
        """``project/name:vN`` of the logged version (also for a registry artifact)."""
        record = self._logged()
        return f"{record.project}/{record.name}:v{record.version}"

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
        return artifact_digest(self._pending_entries(hash_files=True))

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
    def manifest(self) -> list[Entry]:
        return list(self._logged().entries) if self._record else self._pending_entries(False)

    def __repr__(self) -> str:
        return f"<Artifact {self.name} type={self._type}>"

    def _logged(self) -> VersionRecord:
        if self._record is None:
            raise ArtifactError(f"artifact {self._name!r} has not been logged yet")
        return self._record

    def _require_draft(self) -> None:
        if self._record is not None:
            raise ArtifactError(
                f"{self.qualified_name} is logged and immutable: create a new Artifact "
                "to log a new version"
            )

    # -- adding files --------------------------------------------------------------

    def _add(self, name: str, local: str) -> None:
        validate_entry_path(name)
        if name in self._files or name in self._refs:
            raise ArtifactError(f"file {name!r} is already in artifact {self._name!r}")
        self._files[name] = local

    def add_file(self, local_path: str | os.PathLike[str], name: str | None = None) -> Entry:
        """Add one file, named ``name`` inside the artifact (default: its basename)."""
        self._require_draft()
        path = Path(local_path)
        try:
            mode = path.stat().st_mode
        except OSError:
            mode = 0
        if not stat.S_ISREG(mode):
            what = f"it is {file_kind(mode)}, not a regular file" if mode else "not a file"
            raise ArtifactError(f"cannot add {path}: {what}")
        entry_name = name if name is not None else path.name
        self._add(entry_name, os.path.realpath(path))
        return Entry(entry_name, "", path.stat().st_size)

    def add_dir(self, local_path: str | os.PathLike[str], name: str | None = None) -> None:
        """Add every file under a directory, under ``name/`` (default: the top level).

        Symbolic links are followed when they stay inside the directory and refused
        when they point out of it, so an artifact never picks up files by accident.
        Version control folders (``.git``, ``.hg``, ``.svn``: a cloned model's ``.git``
        holds its remote's URL, token included) and whatever is not a regular file (a
        FIFO, a socket, a device) are left out, with a ``SkippedFilesWarning`` naming them.
        """
        self._require_draft()
        root = Path(local_path)
        if not root.is_dir():
            raise ArtifactError(f"cannot add {root}: not a directory")
        # Trailing slashes are a folder's; a leading one would make every path absolute,
        # which each file's own check then refuses.
        prefix = f"{name.rstrip('/')}/" if name else ""
        added, vcs, special = scan_folder(root)
        for entry_name, full in added:
            self._add(prefix + entry_name, full)
        for skipped, why in (
            (vcs, "version control folders and files (an artifact never holds them)"),
            (special, "what is not a regular file (only regular files are read)"),
        ):
            if skipped:
                shown = ", ".join(printable(s) for s in skipped[:10])
                more = f" (+{len(skipped) - 10} more)" if len(skipped) > 10 else ""
                warnings.warn(
                    f"add_dir {root}: skipped {why}: {shown}{more}",
                    SkippedFilesWarning,
                    stacklevel=2,
                )

    @contextmanager
    def new_file(
        self, name: str, mode: str = "x", encoding: str | None = None
    ) -> Iterator[IO[Any]]:
        """Write a new file straight into the artifact.

        >>> with art.new_file("notes.txt") as f:      # doctest: +SKIP
        ...     f.write("hello")
        """
        self._require_draft()
        validate_entry_path(name)
        if mode not in ("x", "w", "xb", "wb"):
            raise UsageError(f"new_file mode {mode!r}: use 'w', 'x', 'wb' or 'xb'")
        if name in self._files or name in self._refs:
            raise ArtifactError(f"file {name!r} is already in artifact {self._name!r}")
        for parent in Path(name).parents:
            if str(parent) in self._files or str(parent) in self._refs:
                raise ArtifactError(
                    f"cannot create {name!r} in artifact {self._name!r}: {str(parent)!r} is a file"
                )
        target = self._staging_dir() / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            kwargs = {} if "b" in mode else {"encoding": encoding or "utf-8"}
            # Closed by the ``with`` below; an OSError here is about the name, not the data.
            f = open(target, mode.replace("x", "w"), **kwargs)  # type: ignore[call-overload]  # noqa: SIM115
        except OSError as exc:
            raise ArtifactError(
                f"cannot create {name!r} in artifact {self._name!r}: {exc.strerror}"
            ) from exc
        with f:
            yield f
        self._add(name, str(target))

    def _staging_dir(self) -> Path:
        if self._staging is None:
            self._staging = tempfile.TemporaryDirectory(prefix="registry-tool-staging-")
        return Path(self._staging.name)

    def add_reference(
        self,
        uri: str,
        name: str | None = None,
        checksum: bool = True,
        max_objects: int | None = None,
    ) -> list[Entry]:
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
        return entries

    def add(self, obj: Table, name: str) -> Entry:
        """Add a ``Table`` as ``<name>.table.json`` (images stored beside it)."""
        self._require_draft()
        if not isinstance(obj, Table):
            raise UsageError(f"artifact.add takes a Table, not {type(obj).__name__}")
        staging = self._staging_dir()
        table_name = name if name.endswith(".table.json") else f"{name}.table.json"
        validate_entry_path(table_name)
        files = obj._write(staging, table_name)
        for rel in files:
            if rel not in self._files:
                self._add(rel, str(staging / rel))
        return Entry(table_name, "", (staging / table_name).stat().st_size)

    def get(self, name: str) -> Table:
        """A ``Table`` added with ``add`` (downloads the artifact first)."""
        root = Path(self.download())
        table_name = name if name.endswith(".table.json") else f"{name}.table.json"
        if not (root / table_name).is_file():
            raise ArtifactError(f"{self.name} has no table {name!r}")
        return Table._read(root, table_name)

    def _pending_entries(self, hash_files: bool) -> list[Entry]:
        entries = list(self._refs.values())
        for name, pending in self._files.items():
            digest = file_digest(hash_file(pending)) if hash_files else ""
            entries.append(Entry(name, digest, os.path.getsize(pending)))
        return sorted(entries, key=lambda e: e.path)

    # -- logged artifacts ----------------------------------------------------------

    def files(self) -> list[Entry]:
        """The manifest entries of a logged version (path, digest, size, ref)."""
        return list(self._logged().entries)

    def get_entry(self, name: str) -> Entry:
        for entry in self._logged().entries:
            if entry.path == name:
                return entry
        raise KeyError(f"{self.name} has no file {name!r}")

    def get_path(self, name: str) -> Entry:
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

    def save(self) -> None:
        """Apply what changed since logging: aliases (``artifact.aliases.append("x")``
        or a new list) and the rest ``_sdk/edits.py`` allows."""
        edits.save(self)

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

    def delete(self, *, delete_aliases: bool = False) -> None:
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

    def link(self, target_path: str, aliases: list[str] | None = None) -> Artifact:
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
        return Artifact._from_resolved(self._ctx, self._ctx.resolve_ref(linked.path))

    def download(
        self, root: str | os.PathLike[str] | None = None, path_prefix: str | None = None
    ) -> str:
        """Write the files to ``root`` (default ``./artifacts/<name>:vN``), each verified.

        Files already there with the right content are left alone.
        """
        record = self._logged()
        assert self._ctx is not None
        return download_version(
            self._ctx, record, root, path_prefix=path_prefix, label=self.qualified_name
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

    # -- logging (called by Run and the CLI) ---------------------------------------

    def _log_to(
        self,
        ctx: Context,
        *,
        project: str,
        aliases: list[str],
        run: Any = None,
    ) -> Any:
        """Store the files, commit the version; returns the run's updated record."""
        self._require_draft()
        metadata = to_plain(self.metadata, where=f"artifact {self._name!r} metadata")
        if not self._files and not self._refs:
            raise ArtifactError(f"artifact {self._name!r} has no files: add some before logging")

        def precheck() -> None:
            ctx.precheck_log(
                project=project,
                name=self._name,
                type=self._type,
                paths=self._files,
                refs=self._refs.values(),
                description=self.description,
                metadata=metadata,
                aliases=[*self._aliases, *aliases],
            )

        # Whatever the log would refuse without the bytes is refused before any is
        # stored; when all are stored already, the commit's own checks are enough.
        entries = ctx.ingest(self._files, ctx.latest_digests(project, self._name), precheck)
        entries = check_entries([*entries, *self._refs.values()])
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
