"""The documents of a registry repo as frozen values (where each lives: ``layout``).

Each record converts to and from the plain dict that is written as YAML
(``to_doc``/``from_doc``); the schemas in ``schemas/`` say what a valid dict is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from registry_tool._model.manifest import DIGEST_ALGORITHM, Entry
from registry_tool.errors import UsageError

_STORAGE_KEYS = ("endpoint_url", "region", "profile", "path_style", "checksum", "parallel")


@dataclass(frozen=True)
class StorageConfig:
    """Where blobs live: a directory, ``file://``, ``s3://bucket/prefix`` (with endpoint,
    region, profile, path-style addressing, checksum policy, parallel transfers)."""

    url: str
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    path_style: bool | None = None
    checksum: str | None = None  # botocore's request_checksum_calculation
    parallel: int | None = None

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"url": self.url}
        for key in _STORAGE_KEYS:
            if getattr(self, key) is not None:
                doc[key] = getattr(self, key)
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> StorageConfig:
        return cls(url=doc["url"], **{k: doc.get(k) for k in _STORAGE_KEYS})


@dataclass(frozen=True)
class RegistryConfig:
    """``registry.yaml``: the registry's name (its entity) and where its bytes live;
    ``previous_storage`` is where they lived before ``storage set`` moved them (the
    source ``storage sync`` copies from).

    ``entities`` are the other entity names the registry answers to: a W&B script says
    ``wandb.init(entity="my-team")`` and ``api.artifact("my-team/project/name")``, and
    the team's registry is where those paths should land. A file written before the
    field existed has none, and answers to its name alone."""

    name: str
    storage: StorageConfig
    created_at: str
    description: str | None = None
    previous_storage: StorageConfig | None = None
    entities: tuple[str, ...] = ()

    @property
    def answers_to(self) -> tuple[str, ...]:
        """Every entity name a path may give for this registry: its name first.

        >>> RegistryConfig("r", StorageConfig(".blobs"), "", entities=("t", "r")).answers_to
        ('r', 't')
        """
        return tuple(dict.fromkeys((self.name, *self.entities)))

    def not_answered(self, entity: str) -> str:
        """What to say of an entity name the registry does not answer to."""
        known = ", ".join(self.answers_to)
        return f"entity {entity!r} is not one this registry answers to ({known})"

    def check_entity(self, entity: str) -> str:
        """``entity`` if the registry answers to it; else a ``UsageError`` that names
        the ones it does and how another is declared."""
        if entity not in self.answers_to:
            raise UsageError(
                f"{self.not_answered(entity)}; declare it in registry.yaml's entities "
                "(registry-tool init --entity NAME for a new registry)",
                path="registry.yaml",
                field="$.entities",
            )
        return entity

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "kind": "registry",
            "format": 1,
            "name": self.name,
            "created_at": self.created_at,
            "storage": self.storage.to_doc(),
        }
        if self.previous_storage is not None:
            doc["previous_storage"] = self.previous_storage.to_doc()
        if self.description:
            doc["description"] = self.description
        if self.entities:
            doc["entities"] = list(self.entities)
        return doc

    @property
    def identity(self) -> str:
        """What names this registry in the blob stores it uses: ``<name>.<16 hex>``, the
        hex from its name and ``created_at`` (microseconds), the same in every clone and
        different for every ``init``. A copy of a registry's folder is the same registry
        by this measure, as by its git history: make a new one with ``init``.

        >>> RegistryConfig("team", StorageConfig(".blobs"), "2024-01-01T00:00:00Z").identity
        'team.03dd2b332a9563fa'
        """
        seed = f"{self.name}\n{self.created_at}".encode()
        return f"{self.name}.{hashlib.sha256(seed).hexdigest()[:16]}"

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> RegistryConfig:
        previous = doc.get("previous_storage")
        return cls(
            name=doc["name"],
            storage=StorageConfig.from_doc(doc["storage"]),
            created_at=doc["created_at"],
            description=doc.get("description"),
            previous_storage=StorageConfig.from_doc(previous) if previous else None,
            entities=tuple(doc.get("entities") or ()),
        )


@dataclass(frozen=True)
class CollectionRecord:
    """``artifact.yaml``: one artifact collection (all versions of a name)."""

    project: str
    name: str
    type: str
    created_at: str
    description: str | None = None

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "kind": "collection",
            "project": self.project,
            "name": self.name,
            "type": self.type,
            "created_at": self.created_at,
        }
        if self.description:
            doc["description"] = self.description
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> CollectionRecord:
        return cls(
            project=doc["project"],
            name=doc["name"],
            type=doc["type"],
            created_at=doc["created_at"],
            description=doc.get("description"),
        )


@dataclass(frozen=True)
class Deletion:
    """The mark a soft delete leaves on a version: when, by whom, why."""

    at: str
    by: str
    reason: str | None = None

    def to_doc(self) -> dict[str, Any]:
        doc = {"at": self.at, "by": self.by}
        if self.reason:
            doc["reason"] = self.reason
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Deletion:
        return cls(at=doc["at"], by=doc["by"], reason=doc.get("reason"))


@dataclass(frozen=True)
class VersionRecord:
    """``versions/vN.yaml``: one immutable version and its manifest.

    ``deleted`` is the one change a version file ever takes: ``registry-tool delete``
    marks it (the number stays taken, the history stays in git, the blobs may go).
    """

    project: str
    name: str
    version: int
    type: str
    digest: str
    created_at: str
    entries: tuple[Entry, ...]
    run: str | None = None
    description: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    digest_algorithm: str = DIGEST_ALGORITHM
    deleted: Deletion | None = None

    @property
    def size(self) -> int:
        return sum(e.size or 0 for e in self.entries)

    def to_doc(self) -> dict[str, Any]:
        # ``digest`` stays near the top: dedup reads it without parsing the manifest.
        doc: dict[str, Any] = {
            "kind": "version",
            "project": self.project,
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "digest_algorithm": self.digest_algorithm,
            "type": self.type,
            "created_at": self.created_at,
            "run": self.run,
            "size": self.size,
            "file_count": len(self.entries),
        }
        if self.deleted is not None:
            # Before metadata and entries: a reader finds it in the file's first lines.
            doc["deleted"] = self.deleted.to_doc()
        if self.description:
            doc["description"] = self.description
        doc["metadata"] = dict(self.metadata)
        doc["entries"] = [e.to_doc() for e in self.entries]
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> VersionRecord:
        return cls(
            project=doc["project"],
            name=doc["name"],
            version=doc["version"],
            type=doc["type"],
            digest=doc["digest"],
            created_at=doc["created_at"],
            entries=tuple(Entry.from_doc(e) for e in doc["entries"]),
            run=doc.get("run"),
            description=doc.get("description"),
            metadata=dict(doc.get("metadata") or {}),
            digest_algorithm=doc["digest_algorithm"],
            deleted=Deletion.from_doc(doc["deleted"]) if doc.get("deleted") else None,
        )


@dataclass(frozen=True)
class AliasRecord:
    """``aliases/<alias>.yaml``: which version an alias names, and who moved it."""

    alias: str
    version: int
    set_at: str
    set_by: str | None = None
    run: str | None = None
    reason: str | None = None

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "kind": "alias",
            "alias": self.alias,
            "version": self.version,
            "set_at": self.set_at,
        }
        for key in ("set_by", "run", "reason"):
            if getattr(self, key) is not None:
                doc[key] = getattr(self, key)
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> AliasRecord:
        return cls(
            alias=doc["alias"],
            version=doc["version"],
            set_at=doc["set_at"],
            set_by=doc.get("set_by"),
            run=doc.get("run"),
            reason=doc.get("reason"),
        )


@dataclass(frozen=True)
class ArtifactUse:
    """One lineage edge of a run: ``project/name:vN`` used or logged."""

    project: str
    name: str
    version: int
    via: str | None = None  # the path the user asked for, when it was an alias

    @property
    def path(self) -> str:
        return f"{self.project}/{self.name}:v{self.version}"

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"artifact": f"{self.project}/{self.name}", "version": self.version}
        if self.via:
            doc["via"] = self.via
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> ArtifactUse:
        project, _, name = doc["artifact"].partition("/")
        return cls(project=project, name=name, version=doc["version"], via=doc.get("via"))


@dataclass(frozen=True)
class CodeInfo:
    commit: str
    branch: str | None = None
    dirty: bool = False

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"commit": self.commit, "dirty": self.dirty}
        if self.branch:
            doc["branch"] = self.branch
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> CodeInfo:
        return cls(commit=doc["commit"], branch=doc.get("branch"), dirty=doc.get("dirty", False))


@dataclass(frozen=True)
class HistoryRef:
    """A run's metric history: one blob of JSON lines (a row per step), named by digest
    and row count, so that millions of points never become lines of git."""

    digest: str  # sha256:<hex>
    rows: int

    def to_doc(self) -> dict[str, Any]:
        return {"digest": self.digest, "rows": self.rows}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> HistoryRef:
        return cls(digest=doc["digest"], rows=doc["rows"])


@dataclass(frozen=True)
class RunFile:
    """A file a run logged (an image, a table): its path in the run and its blob."""

    path: str
    digest: str  # sha256:<hex>
    size: int

    def to_doc(self) -> dict[str, Any]:
        return {"path": self.path, "digest": self.digest, "size": self.size}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> RunFile:
        return cls(path=doc["path"], digest=doc["digest"], size=doc["size"])


@dataclass(frozen=True)
class RunRecord:
    """``runs/<id>.yaml``: a run's config, code, times, status and lineage edges; its
    tags, notes and group; its summary (the last value of each metric, and what the
    user set), the ``define_metric`` rules, the history blob and the media it logged.
    The keys added after the first format are written only when they hold something,
    so that an older run file reads and writes back unchanged."""

    id: str
    project: str
    name: str
    job_type: str | None
    started_at: str
    status: str
    config: Mapping[str, Any] = field(default_factory=dict)
    entity: str | None = None
    finished_at: str | None = None
    code: CodeInfo | None = None
    inputs: tuple[ArtifactUse, ...] = ()
    outputs: tuple[ArtifactUse, ...] = ()
    tags: tuple[str, ...] = ()
    notes: str | None = None
    group: str | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)  # define_metric, by name
    history: HistoryRef | None = None
    files: tuple[RunFile, ...] = ()

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "kind": "run",
            "id": self.id,
            "project": self.project,
            "name": self.name,
            "job_type": self.job_type,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }
        if self.entity:
            doc["entity"] = self.entity
        doc["code"] = self.code.to_doc() if self.code else None
        doc["config"] = dict(self.config)
        doc["inputs"] = [u.to_doc() for u in self.inputs]
        doc["outputs"] = [u.to_doc() for u in self.outputs]
        if self.tags:
            doc["tags"] = list(self.tags)
        if self.notes is not None:
            doc["notes"] = self.notes
        if self.group is not None:
            doc["group"] = self.group
        if self.summary:
            doc["summary"] = dict(self.summary)
        if self.metrics:
            doc["metrics"] = dict(self.metrics)
        if self.history is not None:
            doc["history"] = self.history.to_doc()
        if self.files:
            doc["files"] = [f.to_doc() for f in self.files]
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> RunRecord:
        return cls(
            id=doc["id"],
            project=doc["project"],
            name=doc["name"],
            job_type=doc.get("job_type"),
            started_at=doc["started_at"],
            status=doc["status"],
            config=dict(doc.get("config") or {}),
            entity=doc.get("entity"),
            finished_at=doc.get("finished_at"),
            code=CodeInfo.from_doc(doc["code"]) if doc.get("code") else None,
            inputs=tuple(ArtifactUse.from_doc(u) for u in doc.get("inputs") or ()),
            outputs=tuple(ArtifactUse.from_doc(u) for u in doc.get("outputs") or ()),
            tags=tuple(doc.get("tags") or ()),
            notes=doc.get("notes"),
            group=doc.get("group"),
            summary=dict(doc.get("summary") or {}),
            metrics=dict(doc.get("metrics") or {}),
            history=HistoryRef.from_doc(doc["history"]) if doc.get("history") else None,
            files=tuple(RunFile.from_doc(f) for f in doc.get("files") or ()),
        )
