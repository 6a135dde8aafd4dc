"""Everything the site shows, read once from the registry at one commit.

Pure data for the templates and the lineage graphs: collections with their versions
and aliases, runs with their edges, model registries with links and stage history,
and the recent writes from git log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from registry_tool._model.governance import LinkRecord, ModelRegistryConfig
from registry_tool._model.records import AliasRecord, CollectionRecord, RunRecord, VersionRecord
from registry_tool._store.history import AliasEvent


@dataclass
class Collection:
    record: CollectionRecord
    versions: list[VersionRecord] = field(default_factory=list)
    aliases: dict[str, AliasRecord] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.record.project}/{self.record.name}"

    def aliases_of(self, version: int) -> list[str]:
        return sorted(a for a, r in self.aliases.items() if r.version == version)


@dataclass
class RegistryCollection:
    name: str
    links: list[LinkRecord] = field(default_factory=list)
    aliases: dict[str, AliasRecord] = field(default_factory=dict)
    unlinked: set[int] = field(default_factory=set)
    history: list[AliasEvent] = field(default_factory=list)

    def holder(self, alias: str) -> LinkRecord | None:
        record = self.aliases.get(alias)
        if record is None:
            return None
        return next((link for link in self.links if link.version == record.version), None)


@dataclass(frozen=True)
class Holding:
    """A stage a source version holds in a model registry, through one of its links:
    what a collection, project or version page says of the version's standing."""

    registry: str
    collection: str
    stage: str
    version: int  # the registry version (the link) that holds the stage
    source_version: int  # the version of the source collection it links


@dataclass(frozen=True)
class RecordedGate:
    """One gate line a promotion commit recorded: the condition (or ``held <stage>``
    for the previous-stage rule), whether it passed and the detail it gave."""

    condition: str
    passed: bool
    detail: str


@dataclass
class ModelRegistry:
    config: ModelRegistryConfig
    collections: list[RegistryCollection] = field(default_factory=list)


@dataclass(frozen=True)
class Activity:
    commit: str
    author: str
    when: str
    subject: str
    kind: str  # log, alias, link, promote, use, run, registry, other
    pull_request: int | None = None


@dataclass
class SiteData:
    name: str
    commit: str | None
    collections: dict[str, Collection] = field(default_factory=dict)
    runs: dict[str, RunRecord] = field(default_factory=dict)  # "project/id" -> run
    registries: list[ModelRegistry] = field(default_factory=list)
    activity: list[Activity] = field(default_factory=list)
    # "https://github.com/owner/repo/pull/" when the remote is on GitHub, else None
    pull_url: str | None = None
    # the gate verdicts promotion commits recorded, by commit
    recorded_gates: dict[str, list[RecordedGate]] = field(default_factory=dict)
    _consumers: dict[tuple[str, str, int], list[RunRecord]] | None = field(
        default=None, repr=False, compare=False
    )
    _stages: dict[tuple[str, str, int], list[str]] | None = field(
        default=None, repr=False, compare=False
    )
    _holdings: dict[tuple[str, str], list[Holding]] | None = field(
        default=None, repr=False, compare=False
    )

    def version(self, project: str, name: str, number: int) -> VersionRecord | None:
        collection = self.collections.get(f"{project}/{name}")
        if collection is None:
            return None
        return next((v for v in collection.versions if v.version == number), None)

    def consumers(self, project: str, name: str, number: int) -> list[RunRecord]:
        """The runs that used a version (indexed once: asked for every version)."""
        if self._consumers is None:
            index: dict[tuple[str, str, int], list[RunRecord]] = {}
            for run in self.runs.values():
                for u in {(u.project, u.name, u.version) for u in run.inputs}:
                    index.setdefault(u, []).append(run)
            self._consumers = index
        return list(self._consumers.get((project, name, number), []))

    def stages_of(self, project: str, name: str, number: int) -> list[str]:
        """``registry/stage`` badges of a source version, through its links (indexed
        once: asked for every version and every lineage node)."""
        if self._stages is None:
            index: dict[tuple[str, str, int], list[str]] = {}
            for registry in self.registries:
                for collection in registry.collections:
                    for alias in collection.aliases:
                        link = collection.holder(alias)
                        if link is not None and alias in registry.config.stages:
                            key = (link.project, link.name, link.source_version)
                            index.setdefault(key, []).append(f"{registry.config.name}/{alias}")
            self._stages = {key: sorted(names) for key, names in index.items()}
        return list(self._stages.get((project, name, number), []))

    def holdings(self, project: str, name: str, number: int | None = None) -> list[Holding]:
        """The stages the versions of a collection hold (of one version, with
        ``number``), registry by registry and each registry's stages in its own order,
        not alphabetically: ``development`` comes before ``production`` as the registry
        says. Indexed once: asked for every collection and version."""
        if self._holdings is None:
            index: dict[tuple[str, str], list[Holding]] = {}
            for registry in self.registries:
                for collection in registry.collections:
                    for stage in registry.config.stages:
                        link = collection.holder(stage)
                        if link is None:
                            continue
                        held = Holding(
                            registry.config.name,
                            collection.name,
                            stage,
                            link.version,
                            link.source_version,
                        )
                        index.setdefault((link.project, link.name), []).append(held)
            self._holdings = index
        found = self._holdings.get((project, name), [])
        return [h for h in found if number is None or h.source_version == number]
