"""``Api``: read the registry as W&B's public API reads its server — artifacts by path,
collections, types, projects, model registries and runs.

A W&B script's calls work unchanged: ``Api({"project": ...})`` (the overrides a path
falls back on), ``artifacts(type_name=..., name=...)``, ``runs("entity/project",
filters={...})``. A path's entity is one the registry answers to (its name, or one
``registry.yaml`` declares in ``entities``); any other is a ``NotFoundError`` naming
them. What needs a W&B server (teams, sweeps, reports...) raises ``UnsupportedError``
(``_sdk/surface.py``).

>>> api = Api({"project": "my-project"})                     # doctest: +SKIP
>>> api.artifact("training-data:latest").version             # doctest: +SKIP
'v3'
>>> [r.id for r in api.runs(filters={"config.lr": {"$lt": 0.1}})]  # doctest: +SKIP
['k3j2x9aa']
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any

from registry_tool import _promotion as promotion
from registry_tool._engine import Context
from registry_tool._model.names import REGISTRY_PROJECT, parse_artifact_path, validate_name
from registry_tool._model.records import RunRecord
from registry_tool._sdk import filters as run_filters
from registry_tool._sdk.artifact import Artifact, open_collection
from registry_tool._sdk.collection import ArtifactCollection
from registry_tool._sdk.public_run import PublicRun
from registry_tool._store import registries as model_registries
from registry_tool.errors import NotFoundError, UnsupportedError, UsageError

# The keys of W&B's ``Api(overrides)`` (its settings); others are a typo to report.
OVERRIDES = ("entity", "project", "organization", "base_url", "run")


class ArtifactType:
    """The artifacts of one type in a project (W&B's ``ArtifactType``)."""

    def __init__(self, api: Api, project: str, type_name: str) -> None:
        self._api = api
        self.project = project
        self.name = type_name
        self.type = type_name
        self.entity = api.default_entity

    def __repr__(self) -> str:
        return f"<ArtifactType {self.project}/{self.name}>"

    @property
    def id(self) -> str:
        return f"{self.entity}/{self.project}/{self.name}"

    def collections(self, per_page: int = 50) -> list[ArtifactCollection]:
        """The project's collections of this type, by name."""
        return self._api.artifact_collections(self.project, self.name)

    def collection(self, name: str) -> ArtifactCollection:
        return self._api.artifact_collection(self.name, f"{self.project}/{name}")


class Project:
    """A project: a folder of collections and runs (W&B's public ``Project``)."""

    def __init__(self, api: Api, name: str, entity: str) -> None:
        self._api = api
        self.name = name
        self.entity = entity

    def __repr__(self) -> str:
        return f"<Project {self.entity}/{self.name}>"

    @property
    def path(self) -> list[str]:
        return [self.entity, self.name]

    @property
    def id(self) -> str:
        return f"{self.entity}/{self.name}"

    @property
    def url(self) -> None:
        """None: a project has a page only on a published site, which the site names."""
        return None

    def artifacts_types(self, per_page: int = 50) -> list[ArtifactType]:
        return self._api.artifact_types(self.name)

    def runs(self, filters: Mapping[str, Any] | None = None) -> list[PublicRun]:
        return self._api.runs(f"{self.entity}/{self.name}", filters=filters)

    def sweeps(self, per_page: int = 50) -> list[Any]:
        raise UnsupportedError(
            "Project.sweeps() is not supported by registry-tool: sweeps are scheduled by "
            "a W&B server's sweep controller, which registry-tool has not"
        )


class Registry:
    """A model registry (``model-registry/<name>``), as W&B's ``Registry``: its
    collections and the versions linked into them."""

    def __init__(self, api: Api, config: Any) -> None:
        self._api = api
        self.name: str = config.name
        self.description: str | None = config.description
        self.created_at: str = config.created_at
        self.artifact_types: list[str] = list(config.types)
        self.allow_all_artifact_types = not config.types
        self.stages: list[str] = list(config.stages)
        self.entity = api.default_entity
        self.organization: str | None = None

    def __repr__(self) -> str:
        return f"<Registry {self.name}>"

    @property
    def full_name(self) -> str:
        return f"{REGISTRY_PROJECT}/{self.name}"

    @property
    def path(self) -> list[str]:
        return [self.entity, REGISTRY_PROJECT, self.name]

    def collections(
        self, filter: Mapping[str, Any] | None = None, per_page: int = 100
    ) -> list[ArtifactCollection]:
        """The registry's collections (those with a link); ``filter`` on ``name``."""
        ctx = self._api._ctx
        names = model_registries.collections(ctx.store.head(), self.name)
        return [
            open_collection(ctx, "", n, registry=self.name)
            for n in names
            if run_filters.matches({"name": n}, filter)
        ]

    def versions(
        self, filter: Mapping[str, Any] | None = None, per_page: int = 100
    ) -> list[Artifact]:
        """Every live version of every collection; ``filter`` on ``name``, ``version``
        (``"v3"``), ``alias`` (a list) or ``type``."""
        found = []
        for collection in self.collections():
            for art in collection.versions():
                doc = {
                    "name": art.name,
                    "version": art.version,
                    "alias": list(art.aliases),
                    "type": art.type,
                }
                if run_filters.matches(doc, filter):
                    found.append(art)
        return found


class Api:
    """Read access to a registry, with W&B's calls.

    ``overrides`` is W&B's dict of defaults (``{"project": ..., "entity": ...}``);
    ``timeout`` and ``api_key`` are accepted for W&B's signature and unused (the
    registry is a git repository, read locally). ``registry`` selects the registry
    (default: ``REGISTRY_TOOL_DIR`` or the nearest ``registry.yaml``); a path given
    as the first argument is taken as the registry, as before ``overrides``.
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        timeout: int | None = None,
        api_key: str | None = None,
        *,
        registry: str | os.PathLike[str] | None = None,
    ) -> None:
        if isinstance(overrides, str | os.PathLike):
            registry, overrides = overrides, None
        if overrides is not None and not isinstance(overrides, Mapping):
            raise UsageError(f"Api(overrides): expected a dict, not {type(overrides).__name__}")
        unknown = sorted(str(k) for k in (overrides or {}) if k not in OVERRIDES)
        if unknown:
            raise UsageError(
                f"Api(overrides): unknown key {unknown[0]!r}; W&B's keys are {', '.join(OVERRIDES)}"
            )
        self._ctx = Context.open(registry)
        self._timeout = timeout
        given = dict(overrides or {})
        entity = given.get("entity")
        project = given.get("project")
        self.settings: dict[str, Any] = {
            "entity": self._ctx.check_entity(entity) if entity else self._ctx.entity,
            "project": validate_name(project, what="project") if project else None,
            "organization": given.get("organization"),
            "base_url": given.get("base_url"),
        }
        self.default_project: str | None = self.settings["project"]

    def __repr__(self) -> str:
        return f"<Api {self.registry_root}>"

    @property
    def registry_root(self) -> str:
        """The folder of the registry read (``registry(name)`` is W&B's model registry)."""
        return str(self._ctx.store.root)

    @property
    def default_entity(self) -> str:
        """The entity paths fall back on: ``overrides["entity"]``, else the registry's
        name."""
        entity: str = self.settings["entity"]
        return entity

    def flush(self) -> None:
        """Nothing to clear: every call reads the registry's current commit."""

    def _entity_project(self, path: str | None, what: str) -> tuple[str, str | None]:
        """``entity/project``, ``project`` or None, checked, with the overrides' defaults."""
        if path is None or path == "":
            return self.default_entity, self.default_project
        parts = path.split("/")
        if len(parts) == 1:
            return self.default_entity, validate_name(parts[0], what="project")
        if len(parts) == 2:
            entity = parts[0]
            if entity not in self._ctx.entities:
                raise NotFoundError(
                    f"{what} {path!r}: {self._ctx.store.config.not_answered(entity)}"
                )
            return entity, validate_name(parts[1], what="project")
        raise UsageError(f"{what} path {path!r}: expected project or entity/project")

    def _project(self, project: str | None, what: str) -> str:
        name = project or self.default_project
        if name is None:
            raise UsageError(f"{what}: name the project, or give Api({{'project': ...}})")
        return validate_name(name, what="project")

    def _open_collection(self, name: str) -> ArtifactCollection:
        """The collection ``[entity/]project/name`` (or ``name`` in the default project,
        or ``model-registry/<registry>/<name>``); an alias or version after it is
        ignored, as in W&B."""
        ref = parse_artifact_path(name)
        if ref.entity is not None and ref.entity not in self._ctx.entities:
            raise NotFoundError(f"{name}: {self._ctx.store.config.not_answered(ref.entity)}")
        if ref.registry is not None:
            if self.registry(ref.registry) and not ref.name:
                raise UsageError(f"{name}: name the collection, as {ref.registry}/<collection>")
            return open_collection(self._ctx, "", ref.name, registry=ref.registry)
        project = self._project(ref.project, f"collection {name!r}")
        return open_collection(self._ctx, project, ref.name)

    # -- artifacts -----------------------------------------------------------------------

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
        """Whether the path names a version (of ``type``, when given). A malformed path
        is still an error: it names nothing, and the caller should hear why."""
        try:
            self.artifact(name, type)
        except NotFoundError:
            return False
        return True

    def artifacts(
        self,
        type_name: str,
        name: str,
        order: str | None = None,
        per_page: int = 50,
        tags: str | list[str] | None = None,
        start: int | None = None,
    ) -> list[Artifact]:
        """Every version of a collection, oldest first (deleted ones left out).

        ``api.artifacts("dataset", "my-project/training-data")`` as in W&B (an entity
        before the project is allowed; a bare name is in the overrides' project);
        ``api.artifacts("my-project", "training-data")`` works too. ``tags`` keeps the versions holding every tag given.
        """
        store = self._ctx.store
        if "/" not in name and type_name in store.projects(store.head()):
            collection = open_collection(self._ctx, type_name, validate_name(name, what="name"))
        else:  # W&B's form; a bare name is in the overrides' project
            collection = self.artifact_collection(type_name, name)
        versions = collection.versions()
        if tags is not None:
            wanted = {tags} if isinstance(tags, str) else set(tags)
            versions = [v for v in versions if wanted <= set(getattr(v, "tags", ()) or ())]
        if order is not None and order.lstrip("+-") in ("created_at", "createdAt", "version"):
            versions.sort(key=lambda v: int(v.version[1:]), reverse=order.startswith("-"))
        return versions[start or 0 :] if start else versions

    def artifact_versions(self, type_name: str, name: str, per_page: int = 50) -> list[Artifact]:
        """W&B's deprecated name for ``artifacts``."""
        warnings.warn(
            "Api.artifact_versions() is deprecated: use Api.artifacts(type_name, name)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.artifacts(type_name, name)

    # -- collections and types -----------------------------------------------------------

    def artifact_collection(self, type_name: str, name: str) -> ArtifactCollection:
        """The collection ``[entity/]project/name`` (an alias after it is ignored), of
        ``type_name``; a ``NotFoundError`` when there is none of that type."""
        collection = self._open_collection(name)
        if collection.type != type_name:
            raise NotFoundError(
                f"artifact collection {collection.project}/{collection.name} is of type "
                f"{collection.type!r}, not {type_name!r}"
            )
        return collection

    def artifact_collection_exists(self, name: str, type: str) -> bool:
        try:
            self.artifact_collection(type, name)
        except NotFoundError:
            return False
        return True

    def artifact_collections(
        self,
        project_name: str,
        type_name: str,
        order: str | None = None,
        per_page: int = 50,
        start: int | None = None,
    ) -> list[ArtifactCollection]:
        """The collections of ``type_name`` in a project (``[entity/]project``), by name."""
        _entity, project = self._entity_project(project_name, "project")
        project = self._existing_project(self._project(project, "artifact_collections"))
        store = self._ctx.store
        snap = store.head()
        found = []
        for base in store.collections(snap, project):
            record = store.read_collection(snap, project, base)
            if record is not None and record.type == type_name:
                found.append(open_collection(self._ctx, project, base))
        if order is not None and order.startswith("-"):
            found.reverse()
        return found[start or 0 :] if start else found

    def artifact_type(self, type_name: str, project: str | None = None) -> ArtifactType:
        name = self._project(self._entity_project(project, "project")[1], "artifact_type")
        if not any(t.name == type_name for t in self.artifact_types(name)):
            raise NotFoundError(f"project {name!r} has no artifacts of type {type_name!r}")
        return ArtifactType(self, name, type_name)

    def artifact_types(
        self, project: str | None = None, start: int | None = None
    ) -> list[ArtifactType]:
        """The types of the project's collections, by name."""
        name = self._project(self._entity_project(project, "project")[1], "artifact_types")
        store = self._ctx.store
        snap = store.head()
        types = set()
        for base in store.collections(snap, self._existing_project(name)):
            record = store.read_collection(snap, name, base)
            if record is not None:
                types.add(record.type)
        return [ArtifactType(self, name, t) for t in sorted(types)]

    # -- projects and registries ---------------------------------------------------------

    def _existing_project(self, name: str) -> str:
        if name not in self._ctx.store.projects(self._ctx.store.head()):
            raise NotFoundError(f"project {name!r} does not exist in {self._ctx.entity!r}")
        return name

    def project(self, name: str, entity: str | None = None) -> Project:
        entity = self._checked_entity(entity)
        return Project(self, self._existing_project(validate_name(name, what="project")), entity)

    def projects(self, entity: str | None = None, per_page: int = 200) -> list[Project]:
        entity = self._checked_entity(entity)
        return [Project(self, p, entity) for p in self._ctx.store.projects(self._ctx.store.head())]

    def _checked_entity(self, entity: str | None) -> str:
        if entity is None:
            return self.default_entity
        if entity not in self._ctx.entities:
            raise NotFoundError(self._ctx.store.config.not_answered(entity))
        return entity

    def registries(
        self,
        organization: str | None = None,
        filter: Mapping[str, Any] | None = None,
        order: str | None = None,
        per_page: int = 100,
        start: int | None = None,
    ) -> list[Registry]:
        """The model registries, by name; ``filter`` on ``name`` or ``description``."""
        store = self._ctx.store
        snap = store.head()
        found = []
        for name in model_registries.names(snap):
            config = model_registries.read_config(store, snap, name)
            doc = {"name": name, "description": config.description if config else None}
            if config is not None and run_filters.matches(doc, filter):
                found.append(Registry(self, config))
        return found

    def registry(self, name: str, organization: str | None = None) -> Registry:
        store = self._ctx.store
        config = model_registries.read_config(
            store, store.head(), validate_name(name, what="registry name")
        )
        if config is None:
            raise NotFoundError(f"there is no model registry {name!r}")
        return Registry(self, config)

    def create_project(self, name: str, entity: str) -> None:
        raise UnsupportedError(
            "Api.create_project() is not supported by registry-tool: a project exists once "
            "a run or an artifact is logged into it"
        )

    def create_registry(
        self,
        name: str,
        visibility: str,
        organization: str | None = None,
        description: str | None = None,
        artifact_types: list[str] | None = None,
    ) -> Registry:
        raise UnsupportedError(
            "Api.create_registry() is not supported by registry-tool: a model registry's "
            "stages, gates and reviewers are set with `registry-tool registry create`, "
            "reviewed as a commit (linking to a new registry also creates a plain one)"
        )

    def from_path(self, path: str) -> Any:
        raise UnsupportedError(
            "Api.from_path() is not supported by registry-tool: it reads a W&B app URL "
            "path; use Api.artifact(), Api.run() or Api.project()"
        )

    # -- runs ----------------------------------------------------------------------------

    def run(self, path: str = "") -> PublicRun:
        """A run by ``run_id`` (with the overrides' project), ``project/run_id`` or
        ``entity/project/run_id``."""
        parts = path.split("/") if path else []
        if len(parts) == 3:
            self._entity_project(f"{parts[0]}/{parts[1]}", "run")
            project: str | None = parts[1]
        elif len(parts) == 2:
            project = parts[0]
        elif len(parts) == 1:
            project = self.default_project
        else:
            raise UsageError(f"run path {path!r}: expected project/run_id or entity/project/run_id")
        project = self._project(project, f"run {path!r}")
        run_id = validate_name(parts[-1], what="run id")
        record = self._ctx.store.read_run(self._ctx.store.head(), project, run_id)
        if record is None:
            raise NotFoundError(f"run {project}/{run_id} does not exist")
        return PublicRun(self._ctx, record)

    def runs(
        self,
        path: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order: str = "+created_at",
        per_page: int = 50,
        include_sweeps: bool = True,
        lazy: bool = True,
    ) -> list[PublicRun]:
        """The runs of ``[entity/]project`` (default: the overrides' project, else every
        project) that match W&B's MongoDB-style ``filters`` (``_sdk/filters.py``),
        ordered by ``order`` (``+`` or ``-`` and a field: ``created_at``,
        ``config.lr``, ``summary_metrics.acc``)."""
        if filters is not None and not isinstance(filters, Mapping):
            raise UsageError(f"runs: filters must be a dict, not {type(filters).__name__}")
        _entity, project = self._entity_project(path, "runs")
        store = self._ctx.store
        snap = store.head()
        projects = [project] if project else store.projects(snap)
        found = [
            (doc, record)
            for p in projects
            for record in store.runs(snap, p)
            if run_filters.matches(doc := run_doc(record, self._ctx.entity), filters)
        ]
        field = (order or "+created_at").lstrip("+-") or "created_at"
        descending = bool(order) and order.startswith("-")
        present = [f for f in found if run_filters.sort_key(f[0], field)[0] < 3]
        missing = [f for f in found if run_filters.sort_key(f[0], field)[0] == 3]
        present.sort(key=lambda f: run_filters.sort_key(f[0], field), reverse=descending)
        return [PublicRun(self._ctx, record) for _doc, record in present + missing]

    # -- promotion -----------------------------------------------------------------------

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


def run_doc(record: RunRecord, entity: str) -> dict[str, Any]:
    """What a run filter is judged on, under W&B's field names (``name`` is the run's
    id, as in W&B's queries; ``display_name`` the name shown)."""
    return {
        "id": record.id,
        "name": record.id,
        "display_name": record.name,
        "state": record.status,
        "config": dict(record.config),
        "summary_metrics": dict(getattr(record, "summary", {}) or {}),
        "tags": list(getattr(record, "tags", ()) or ()),
        "group": getattr(record, "group", None),
        "notes": getattr(record, "notes", None),
        "job_type": record.job_type,
        "created_at": record.started_at,
        "finished_at": record.finished_at,
        "entity": record.entity or entity,
        "project": record.project,
    }
