"""The engine under the wandb-style facade: one opened registry, its blob store and
caches, and the operations Artifact, Run and Api share — resolve, log, alias, fetch.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from registry_tool import _progress as progress
from registry_tool import _schemas as schemas
from registry_tool import _settings
from registry_tool import _yamlio as yamlio
from registry_tool._blobs import BlobStore, open_blob_store
from registry_tool._blobs.base import restore
from registry_tool._cache import BlobCache
from registry_tool._engine import ingest
from registry_tool._engine.edits import relog, warn_relogged
from registry_tool._hashing import StatCache
from registry_tool._model.edits import EditRecord
from registry_tool._model.governance import LinkRecord
from registry_tool._model.layout import alias_file, collection_file, run_file, version_file
from registry_tool._model.manifest import (
    Entry,
    artifact_digest,
    blob_hex,
    check_entries,
)
from registry_tool._model.names import LATEST, ArtifactPath, parse_artifact_path, validate_alias
from registry_tool._model.records import (
    AliasRecord,
    ArtifactUse,
    CollectionRecord,
    RunRecord,
    VersionRecord,
)
from registry_tool._store import (
    Change,
    RegistryStore,
    Snapshot,
    cache_home,
    now,
    open_registry,
    registries,
)
from registry_tool.errors import (
    ArtifactError,
    CorruptBlobError,
    NotFoundError,
    UsageError,
)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Resolved:
    """A resolved path: the version (for a registry path, the source version the link
    points at) and, for a registry path, the link."""

    record: VersionRecord
    link: LinkRecord | None = None


@dataclass(frozen=True)
class LogOutcome:
    record: VersionRecord
    created: bool
    commit: str | None


def deleted_message(record: VersionRecord) -> str:
    """``p/name:v3 was deleted on <when> by <who> (<why>)``: the error for using it."""
    mark = record.deleted
    assert mark is not None
    why = f" ({mark.reason})" if mark.reason else ""
    return (
        f"{record.project}/{record.name}:v{record.version} was deleted on {mark.at} by "
        f"{mark.by}{why}; it can no longer be used"
    )


class Context:
    """An opened registry with its blob store, blob cache and stat cache."""

    def __init__(self, store: RegistryStore) -> None:
        self.store = store
        self.blobs: BlobStore = open_blob_store(store.config.storage, store.root)
        cache_dir = cache_home()
        self.cache = BlobCache(cache_dir)
        self.stat_cache = StatCache(cache_dir / "stat-cache.sqlite3")
        self._author: str | None = None
        self._sources: dict[str, str] = {}  # hex digest -> a file ingested with those bytes
        # How many files to move at once: the store says what suits it (a local disk
        # gains nothing from threads: measured, they only add kernel time).
        self.workers = _settings.workers() or self.blobs.parallel

    @classmethod
    def open(cls, registry: str | os.PathLike[str] | None = None) -> Context:
        return cls(open_registry(registry))

    @property
    def entity(self) -> str:
        """The registry's own entity name: its name in ``registry.yaml``."""
        return self.store.name

    @property
    def entities(self) -> tuple[str, ...]:
        """The entity names a path may give here (``RegistryConfig.answers_to``)."""
        return self.store.config.answers_to

    def check_entity(self, entity: str) -> str:
        """``entity`` if the registry answers to it, else a ``UsageError`` naming those."""
        return self.store.config.check_entity(entity)

    def author(self) -> str:
        """Who writes: the git author identity, without its timestamp."""
        if self._author is None:
            ident = self.store.git.out("var", "GIT_AUTHOR_IDENT", check=False)
            self._author = ident.rsplit(">", 1)[0] + ">" if ">" in ident else "unknown"
        return self._author

    # -- resolving -----------------------------------------------------------------

    def resolve_ref(
        self,
        path: str | ArtifactPath,
        *,
        project: str | None = None,
        entities: Sequence[str] = (),
        snap: Snapshot | None = None,
        include_deleted: bool = False,
    ) -> Resolved:
        """What any artifact path names: a project path (``[entity/][project/]name[:alias
        |:vN]``, ``project`` the default project) or a registry path
        (``model-registry/<registry>/<collection>[:alias|:vN]``), whose link comes with
        the source version it points at. A deleted version is an error naming it as
        deleted, unless ``include_deleted``. The entity must be one of ``entities`` (or
        of ``entities=``, a run's own, checked when the run began)."""
        ref = parse_artifact_path(path) if isinstance(path, str) else path
        snap = snap or self.store.head()
        if ref.entity is not None and ref.entity not in (*self.entities, *entities):
            raise NotFoundError(f"{ref}: {self.store.config.not_answered(ref.entity)}")
        if ref.registry is not None:
            link = self._resolve_link(ref, snap)
            source = self.store.read_version(snap, link.project, link.name, link.source_version)
            if source is None:
                raise NotFoundError(f"{link.path} links {link.source_path}, which does not exist")
            if source.digest != link.digest:
                raise ArtifactError(
                    f"{link.path} links {link.source_path} by a digest that no longer matches"
                )
            return Resolved(source, link)
        proj = ref.project or project or self._project_for(snap, ref.name)
        if self.store.read_collection(snap, proj, ref.name) is None:
            raise NotFoundError(f"artifact {proj}/{ref.name} does not exist in {self.entity!r}")
        number = ref.version
        if number is None:
            alias = self.store.read_alias(snap, proj, ref.name, ref.selector)
            if alias is None:
                raise NotFoundError(
                    f"{proj}/{ref.name} has no alias {ref.selector!r}",
                    version=f"{proj}/{ref.name}:{ref.selector}",
                )
            number = alias.version
        record = self.store.read_version(snap, proj, ref.name, number)
        if record is None:
            raise NotFoundError(
                f"{proj}/{ref.name} has no version v{number}",
                version=f"{proj}/{ref.name}:v{number}",
            )
        if record.deleted is not None and not include_deleted:
            raise NotFoundError(
                deleted_message(record), version=f"{proj}/{ref.name}:v{record.version}"
            )
        check_entries(record.entries)
        return Resolved(record)

    def resolve(
        self,
        path: str | ArtifactPath,
        *,
        project: str | None,
        entities: Sequence[str] = (),
        snap: Snapshot | None = None,
        include_deleted: bool = False,
    ) -> VersionRecord:
        """The version a path names (for a registry path, the linked source version)."""
        return self.resolve_ref(
            path, project=project, entities=entities, snap=snap, include_deleted=include_deleted
        ).record

    def _resolve_link(self, ref: ArtifactPath, snap: Snapshot) -> LinkRecord:
        assert ref.registry is not None
        where = f"model-registry/{ref.registry}/{ref.name}"
        if registries.read_config(self.store, snap, ref.registry) is None:
            raise NotFoundError(f"{ref}: there is no model registry {ref.registry!r}")
        if not ref.name:
            raise UsageError(
                f"{ref}: name the collection, as model-registry/{ref.registry}/<collection>"
            )
        number = ref.version
        if number is None:
            alias = registries.read_alias(self.store, snap, ref.registry, ref.name, ref.selector)
            if alias is None:
                raise NotFoundError(
                    f"{where} has no alias {ref.selector!r}", version=f"{where}:{ref.selector}"
                )
            number = alias.version
        link = registries.read_link(self.store, snap, ref.registry, ref.name, number)
        if link is None:
            raise NotFoundError(f"{where} has no version v{number}", version=f"{where}:v{number}")
        if registries.is_unlinked(snap, ref.registry, ref.name, number):
            raise NotFoundError(f"{link.path} was unlinked from the registry", version=link.path)
        return link

    def each(
        self,
        items: Sequence[T],
        work: Callable[[T, Callable[[int], None]], R],
        description: str,
        total: int,
    ) -> list[R]:
        """``work(item, advance)`` for every item, on ``self.workers`` threads, under one
        progress bar of ``total`` bytes; results in order, the first error re-raised."""
        lock = threading.Lock()
        with progress.task(description, total) as bar:

            def advance(n: int) -> None:
                with lock:
                    bar(n)

            workers = min(self.workers, len(items)) or 1
            if workers == 1:
                return [work(item, advance) for item in items]
            with ThreadPoolExecutor(workers, thread_name_prefix="registry-tool") as pool:
                return list(pool.map(lambda item: work(item, advance), items))

    def has_many(self, digests: set[str]) -> dict[str, bool]:
        """Which blobs the store holds (checked in parallel on remote stores)."""
        ordered = sorted(digests)
        found = self.each(ordered, lambda d, _advance: self.blobs.has(d), "checking the store", 0)
        return dict(zip(ordered, found, strict=True))

    def _refresh(self, digests: list[str]) -> list[bool]:
        """Refresh the age of stored blobs (in parallel); which of them are still there."""
        return self.each(digests, lambda d, _advance: self.blobs.refresh(d), "refreshing", 0)

    def latest_digests(self, project: str, name: str) -> set[str]:
        """The blobs the latest version of a collection names (none when it has none)."""
        snap = self.store.head()
        latest = self.store.read_alias(snap, project, name, LATEST)
        record = self.store.read_version(snap, project, name, latest.version) if latest else None
        if record is None:
            return set()
        return {blob_hex(e.digest) for e in record.entries if e.ref is None}

    def _project_for(self, snap: Snapshot, name: str) -> str:
        found = [p for p in self.store.projects(snap) if self.store.read_collection(snap, p, name)]
        if len(found) == 1:
            return found[0]
        if not found:
            raise NotFoundError(f"no artifact named {name!r} in any project of {self.entity!r}")
        raise UsageError(
            f"artifact name {name!r} is in several projects ({', '.join(found)}): "
            "say which, as project/name"
        )

    # -- logging -------------------------------------------------------------------

    def ingest(
        self,
        files: dict[str, str],
        named: Set[str] = frozenset(),
        before_storing: Callable[[], None] | None = None,
        copies: Mapping[str, ingest.Copy] | None = None,
    ) -> list[Entry]:
        """Put every pending file's bytes in the blob store; return manifest entries
        (``_engine/ingest.py``)."""
        return ingest.ingest(self, files, named, before_storing, copies)

    def precheck_log(
        self,
        *,
        project: str,
        name: str,
        type: str,
        paths: Iterable[str],
        refs: Iterable[Entry],
        description: str | None,
        metadata: dict[str, object],
        aliases: Iterable[str],
    ) -> None:
        """Refuse, before a byte is stored, whatever ``log`` would refuse without the
        bytes: file names, aliases, and the version document (schema, metadata size),
        checked with a placeholder digest for each file."""
        for alias in aliases:
            if alias != LATEST:
                validate_alias(alias)
        _check_metadata(name, metadata)
        placeholder = "sha256:" + "0" * 64
        entries = check_entries([*(Entry(p, placeholder, 0) for p in paths), *refs])
        if too_large := yamlio.manifest_too_large([e.path for e in entries]):
            raise UsageError(f"artifact {project}/{name}: {too_large}")
        record = VersionRecord(
            project=project,
            name=name,
            version=0,
            type=type,
            digest=artifact_digest(entries),
            created_at=now(),
            entries=tuple(entries),
            description=description,
            metadata=metadata,
        )
        # The schema only, and of one entry: the paths were checked just above, and
        # writing the YAML (its size check) is left to the commit.
        doc = record.to_doc()
        doc["entries"] = doc["entries"][:1]
        schemas.validate(doc, "version", version_file(project, name, 0))

    def log(
        self,
        *,
        project: str,
        name: str,
        type: str,
        entries: list[Entry],
        description: str | None,
        metadata: dict[str, object],
        aliases: Iterable[str],
        run: RunRecord | None,
    ) -> tuple[LogOutcome, RunRecord | None]:
        """Commit a version (or find the identical one), move aliases, record the run."""
        _check_metadata(name, metadata)
        digest = artifact_digest(entries)
        wanted = [LATEST, *(validate_alias(a) for a in aliases if a != LATEST)]
        store = self.store
        edited: list[EditRecord | None] = [None]

        def build(snap: Snapshot) -> Change[tuple[VersionRecord, bool, RunRecord | None]]:
            change: Change[tuple[VersionRecord, bool, RunRecord | None]] = Change()
            collection = store.read_collection(snap, project, name)
            if collection is None:
                collection = CollectionRecord(project, name, type, now(), description)
                change.put(collection_file(project, name), collection.to_doc(), "collection")
            elif collection.type != type:
                raise ArtifactError(
                    f"{project}/{name} holds artifacts of type {collection.type!r}, "
                    f"not {type!r}: use another name"
                )
            numbers = store.version_numbers(snap, project, name)
            # Content equal to a deleted version is logged again, as a new number.
            found = store.live_version_with_digest(snap, project, name, digest)
            if found is None:
                number = numbers[-1] + 1 if numbers else 0
                record = VersionRecord(
                    project=project,
                    name=name,
                    version=number,
                    type=type,
                    digest=digest,
                    created_at=now(),
                    entries=tuple(entries),
                    run=run.id if run else None,
                    description=description,
                    metadata=metadata,
                )
                change.put(version_file(project, name, number), record.to_doc(), "version")
            else:  # new metadata on the same files is an edit of it, never dropped
                record = found
                edited[0] = relog(store, snap, change, found, self.author(), metadata, description)
            moved = self.move_aliases(
                snap,
                change,
                partial(alias_file, project, name),
                record.version,
                wanted,
                run_id=run.id if run else None,
            )
            new_run = None
            if run is not None:
                use = ArtifactUse(project, name, record.version)
                if use not in run.outputs:
                    new_run = _replace_run(run, outputs=(*run.outputs, use))
                    change.put(run_file(run.project, run.id), new_run.to_doc(), "run")
            what = "log" if found is None else "log (unchanged)" if not edited[0] else "log (edit)"
            change.message = _message(f"{what} {project}/{name}:v{record.version}", moved, run)
            change.result = (record, found is None, new_run)
            return change

        # Every blob is there before the commit: a gc with a short grace may have taken
        # one no commit named yet, which is stored again from its file.
        names = {blob_hex(e.digest): e.path for e in entries if e.ref is None}
        gone = {d: names[d] for d, there in self.has_many(set(names)).items() if not there}
        restore(self.blobs, gone, self._sources)
        written = store.write(build)
        assert written.result is not None
        record, created, new_run = written.result
        warn_relogged(edited[0])
        return LogOutcome(record, created, written.commit), new_run

    def move_aliases(
        self,
        snap: Snapshot,
        change: Change[Any],
        alias_path: Callable[[str], str],
        version: int,
        aliases: Iterable[str],
        *,
        run_id: str | None = None,
        reason: str | None = None,
        guard: Callable[[str], None] | None = None,
    ) -> list[str]:
        """Point each alias (its file at ``alias_path(alias)``) at ``version`` in
        ``change``, skipping those already there; ``guard(alias)`` may refuse a move by
        raising. Project aliases and registry stages alike move only here."""
        moved = []
        for alias in aliases:
            path = alias_path(alias)
            current = self.store.load(snap, path, "alias")
            if current is not None and current["version"] == version:
                continue
            if guard is not None:
                guard(alias)
            record = AliasRecord(alias, version, now(), self.author(), run_id, reason)
            change.put(path, record.to_doc(), "alias")
            moved.append(alias)
        return moved

    def set_aliases(
        self,
        project: str,
        name: str,
        version: int,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        reason: str | None = None,
    ) -> str | None:
        """Point ``add`` at the version and delete ``remove`` (only where they name it)."""
        add = [validate_alias(a) for a in add]
        remove = [validate_alias(a) for a in remove]
        store = self.store

        def build(snap: Snapshot) -> Change[None]:
            change: Change[None] = Change()
            record = store.read_version(snap, project, name, version)
            if record is None:
                raise NotFoundError(f"{project}/{name} has no version v{version}")
            if record.deleted is not None and add:  # (judged on the tip it lands on)
                raise NotFoundError(deleted_message(record), version=f"{project}/{name}:v{version}")
            latest = store.read_alias(snap, project, name, LATEST)
            if LATEST in add and (latest is None or latest.version != version):
                raise UsageError(
                    f"{LATEST!r} always names the newest version; "
                    "it moves only when a version is logged"
                )
            moved = self.move_aliases(
                snap, change, partial(alias_file, project, name), version, add, reason=reason
            )
            dropped = []
            for alias in remove:
                current = store.read_alias(snap, project, name, alias)
                if current is None:
                    raise NotFoundError(f"{project}/{name} has no alias {alias!r}")
                if current.version != version:
                    raise UsageError(
                        f"alias {alias!r} of {project}/{name} names v{current.version}, not v{version}"
                    )
                change.files[alias_file(project, name, alias)] = None
                dropped.append(alias)
            parts = [f"+{a}" for a in moved] + [f"-{a}" for a in dropped]
            change.message = f"alias {project}/{name}:v{version} {' '.join(parts)}"
            if reason:
                change.message += f"\n\n{reason}"
            return change

        return store.write(build).commit

    def record_run(self, run: RunRecord, message: str) -> None:
        def build(snap: Snapshot) -> Change[None]:
            change: Change[None] = Change()
            current = self.store.load(snap, run_file(run.project, run.id), "run")
            if current != run.to_doc():
                change.put(run_file(run.project, run.id), run.to_doc(), "run")
            change.message = message
            return change

        self.store.write(build)

    # -- reading -------------------------------------------------------------------

    def read_blob(self, digest: str) -> bytes:
        """A stored file's bytes (through the cache for remote stores), verified."""
        hexdigest = blob_hex(digest)
        local = self.blobs.local_path(hexdigest)
        if local is not None:
            try:
                data = local.read_bytes()
            except FileNotFoundError:
                raise CorruptBlobError(f"blob {digest} is missing from {local}") from None
        else:
            with self.cache.open_blob(self.blobs, hexdigest, lambda _n: None) as f:
                data = f.read()
        if hashlib.sha256(data).hexdigest() != hexdigest:
            raise CorruptBlobError(f"blob {digest} is corrupt")
        return data


def _check_metadata(name: str, metadata: dict[str, object]) -> None:
    """Refuse an integer beyond 64 bits (``_yamlio``), before anything is stored."""
    if wide := yamlio.wide_integer(metadata, f"artifact {name!r} metadata"):
        raise UsageError(f"{wide}: {yamlio.WIDE_INTEGER}")


def _replace_run(run: RunRecord, **changes: object) -> RunRecord:
    return replace(run, **changes)  # type: ignore[arg-type]


def _message(head: str, moved: list[str], run: RunRecord | None) -> str:
    if moved:
        head += " " + " ".join(f"+{a}" for a in moved)
    if run is not None:
        head += f" [run {run.id}]"
    return head
