"""Runs read back from the registry (``api.run(...)``, ``artifact.logged_by()``) and the
run config, a dict that also reads as attributes."""

from __future__ import annotations

from typing import Any

from registry_tool._engine import Context
from registry_tool._model.records import ArtifactUse, RunRecord
from registry_tool._sdk.artifact import Artifact


class Config(dict[str, Any]):
    """Run config: a dict that also reads and writes as attributes (``config.lr``)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value


class PublicRun:
    """A run read back from the registry (``api.run(...)``, ``artifact.logged_by()``)."""

    def __init__(self, ctx: Context, record: RunRecord) -> None:
        self._ctx = ctx
        self._record = record
        self.id = record.id
        self.name = record.name
        self.project = record.project
        self.entity = record.entity or ctx.entity
        self.job_type = record.job_type
        self.config = Config(record.config)
        self.state = record.status
        self.status = record.status
        self.started_at = record.started_at
        self.finished_at = record.finished_at
        self.code = record.code

    def __repr__(self) -> str:
        return f"<PublicRun {self.project}/{self.id} ({self.status})>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicRun) and (self.project, self.id) == (other.project, other.id)

    def __hash__(self) -> int:
        return hash((self.project, self.id))

    def _artifacts(self, uses: tuple[ArtifactUse, ...]) -> list[Artifact]:
        snap = self._ctx.store.head()
        out = []
        for use in uses:
            record = self._ctx.store.read_version(snap, use.project, use.name, use.version)
            if record is not None:
                out.append(Artifact._from_record(self._ctx, record))
        return out

    def logged_artifacts(self) -> list[Artifact]:
        return self._artifacts(self._record.outputs)

    def used_artifacts(self) -> list[Artifact]:
        return self._artifacts(self._record.inputs)
