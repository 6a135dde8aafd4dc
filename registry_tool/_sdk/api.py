"""``Api``: read the registry — artifacts by path, all versions of a name, runs.

>>> api = Api()                                            # doctest: +SKIP
>>> api.artifact("my-project/training-data:latest").version  # doctest: +SKIP
'v3'
"""

from __future__ import annotations

import os
from typing import Any

from registry_tool import _promotion as promotion
from registry_tool._engine import Context
from registry_tool._model.names import validate_name
from registry_tool._sdk.artifact import Artifact
from registry_tool._sdk.public_run import PublicRun
from registry_tool.errors import NotFoundError, UsageError


class Api:
    """Read access to a registry; ``overrides={"project": ...}`` sets the default project."""

    def __init__(
        self,
        registry: str | os.PathLike[str] | None = None,
        overrides: dict[str, Any] | None = None,
        **ignored: Any,
    ) -> None:
        self._ctx = Context.open(registry)
        self.default_project: str | None = (overrides or {}).get("project")

    @property
    def registry(self) -> str:
        return str(self._ctx.store.root)

    def artifact(self, name: str, type: str | None = None) -> Artifact:
        """The version a path names: ``[[entity/]project/]name[:alias|:vN]`` or
        ``model-registry/<registry>/<collection>[:alias|:vN]``."""
        found = self._ctx.resolve_ref(name, project=self.default_project)
        record = found.record
        artifact = Artifact._from_resolved(self._ctx, found)
        if type is not None and record.type != type:
            raise NotFoundError(f"{name} is of type {record.type!r}, not {type!r}")
        return artifact

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        try:
            self.artifact(name, type)
        except NotFoundError:
            return False
        return True

    def artifacts(self, project_or_type: str, name: str, **ignored: Any) -> list[Artifact]:
        """Every version of a collection, oldest first (deleted ones left out).

        ``api.artifacts("my-project", "training-data")``; the W&B form
        ``api.artifacts("dataset", "my-project/training-data")`` works too.
        """
        if "/" in name:
            project, _, base = name.rpartition("/")
            project = project.rpartition("/")[2]
            wanted_type: str | None = project_or_type
        else:
            project, base, wanted_type = project_or_type, name, None
        validate_name(project, what="project")
        validate_name(base, what="artifact name")
        store = self._ctx.store
        snap = store.head()
        collection = store.read_collection(snap, project, base)
        if collection is None:
            raise NotFoundError(f"artifact {project}/{base} does not exist in {self._ctx.entity!r}")
        if wanted_type is not None and collection.type != wanted_type:
            raise NotFoundError(
                f"{project}/{base} is of type {collection.type!r}, not {wanted_type!r}"
            )
        out = []
        for number in store.version_numbers(snap, project, base):
            record = store.read_version(snap, project, base, number)
            if record is not None and record.deleted is None:
                out.append(Artifact._from_record(self._ctx, record))
        return out

    def artifact_versions(self, type_name: str, name: str) -> list[Artifact]:
        return self.artifacts(type_name, name)

    def run(self, path: str) -> PublicRun:
        """A run by ``project/run_id`` or ``entity/project/run_id``."""
        parts = path.split("/")
        if len(parts) == 3:
            entity, project, run_id = parts
            if entity != self._ctx.entity:
                raise NotFoundError(
                    f"run {path}: entity {entity!r} is not this registry ({self._ctx.entity!r})"
                )
        elif len(parts) == 2:
            project, run_id = parts
        else:
            raise UsageError(f"run path {path!r}: expected project/run_id or entity/project/run_id")
        validate_name(project, what="project")
        validate_name(run_id, what="run id")
        record = self._ctx.store.read_run(self._ctx.store.head(), project, run_id)
        if record is None:
            raise NotFoundError(f"run {project}/{run_id} does not exist")
        return PublicRun(self._ctx, record)

    def promote(
        self,
        path: str,
        stage: str,
        *,
        reason: str | None = None,
        mode: str = "auto",
        registry_name: str | None = None,
    ) -> Any:
        """Promote a version to a stage, as ``registry-tool promote`` does.

        >>> Api().promote("model-registry/prod/clf:v3", "staging", reason="eval ok")  # doctest: +SKIP

        ``mode="pr"`` commits on a ``promote/...`` branch and opens a pull request
        (the default for protected stages); ``"direct"`` commits on the current branch.
        Returns a ``registry_tool._promotion.Promotion``.
        """
        return promotion.promote(
            self._ctx, path, stage, reason=reason, mode=mode, registry=registry_name
        )

    def runs(self, project: str) -> list[PublicRun]:
        store = self._ctx.store
        return [
            PublicRun(self._ctx, r)
            for r in store.runs(store.head(), validate_name(project, what="project"))
        ]
