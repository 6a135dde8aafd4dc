"""Model registries: their config (stages, protection, gates) and links, as values.

``registries/<registry>/registry.yaml`` declares the ordered stages, which aliases are
protected (they move only through a promotion pull request), which artifact types may
be linked, and per stage the gates a version must meet. Each link,
``registries/<registry>/<collection>/links/vN.yaml``, points at one source version by
path and digest; registry aliases name links.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from registry_tool._model.gates import parse_condition


@dataclass(frozen=True)
class StageGate:
    """What a version needs to take one stage."""

    conditions: tuple[str, ...] = ()
    requires_previous_stage: bool = False

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"conditions": list(self.conditions)}
        if self.requires_previous_stage:
            doc["requires_previous_stage"] = True
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> StageGate:
        return cls(
            conditions=tuple(doc.get("conditions") or ()),
            requires_previous_stage=bool(doc.get("requires_previous_stage", False)),
        )


@dataclass(frozen=True)
class ModelRegistryConfig:
    name: str
    created_at: str
    stages: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    gates: Mapping[str, StageGate] = field(default_factory=dict)
    description: str | None = None

    def __post_init__(self) -> None:
        for gate in self.gates.values():
            for condition in gate.conditions:
                parse_condition(condition)

    def previous_stage(self, stage: str) -> str | None:
        if stage not in self.stages:
            return None
        index = self.stages.index(stage)
        return self.stages[index - 1] if index > 0 else None

    def gate(self, stage: str) -> StageGate:
        return self.gates.get(stage, StageGate())

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "kind": "model-registry",
            "name": self.name,
            "created_at": self.created_at,
        }
        if self.description:
            doc["description"] = self.description
        doc["stages"] = list(self.stages)
        doc["protected"] = list(self.protected)
        doc["types"] = list(self.types)
        doc["gates"] = {stage: gate.to_doc() for stage, gate in self.gates.items()}
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> ModelRegistryConfig:
        return cls(
            name=doc["name"],
            created_at=doc["created_at"],
            stages=tuple(doc.get("stages") or ()),
            protected=tuple(doc.get("protected") or ()),
            types=tuple(doc.get("types") or ()),
            gates={s: StageGate.from_doc(g) for s, g in (doc.get("gates") or {}).items()},
            description=doc.get("description"),
        )


@dataclass(frozen=True)
class LinkRecord:
    """``links/vN.yaml``: registry version N is the source version, by path and digest."""

    registry: str
    collection: str
    version: int
    project: str
    name: str
    source_version: int
    digest: str
    linked_at: str
    linked_by: str | None = None
    run: str | None = None

    @property
    def source_path(self) -> str:
        return f"{self.project}/{self.name}:v{self.source_version}"

    @property
    def path(self) -> str:
        return f"model-registry/{self.registry}/{self.collection}:v{self.version}"

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "kind": "link",
            "registry": self.registry,
            "collection": self.collection,
            "version": self.version,
            "source": {
                "artifact": f"{self.project}/{self.name}",
                "version": self.source_version,
                "digest": self.digest,
            },
            "linked_at": self.linked_at,
        }
        if self.linked_by:
            doc["linked_by"] = self.linked_by
        if self.run:
            doc["run"] = self.run
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> LinkRecord:
        project, _, name = doc["source"]["artifact"].partition("/")
        return cls(
            registry=doc["registry"],
            collection=doc["collection"],
            version=doc["version"],
            project=project,
            name=name,
            source_version=doc["source"]["version"],
            digest=doc["source"]["digest"],
            linked_at=doc["linked_at"],
            linked_by=doc.get("linked_by"),
            run=doc.get("run"),
        )
