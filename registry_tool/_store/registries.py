"""Reading model registries from a snapshot: configs, links, unlink marks, stage aliases
and their history. Writing them (link, promote, unlink) is ``_promotion``'s.

Every function takes the store and a snapshot, as ``RegistryStore``'s own readers do::

    config = registries.read_config(store, snap, "production-models")
    link = registries.read_link(store, snap, "production-models", "classifier", 3)
"""

from __future__ import annotations

from registry_tool._model.governance import LinkRecord, ModelRegistryConfig
from registry_tool._model.layout import (
    REGISTRIES,
    link_file,
    links_dir,
    model_registry_dir,
    model_registry_file,
    registry_alias_file,
    registry_aliases_dir,
    unlink_file,
    unlinked_dir,
    version_of_file,
)
from registry_tool._model.records import AliasRecord
from registry_tool._store import history
from registry_tool._store.git import Snapshot
from registry_tool._store.history import AliasEvent, alias_history
from registry_tool._store.registry import RegistryStore


def read_config(store: RegistryStore, snap: Snapshot, registry: str) -> ModelRegistryConfig | None:
    """The registry's ``registry.yaml``; None when there is no such registry."""
    doc = store.load(snap, model_registry_file(registry), "model-registry")
    return ModelRegistryConfig.from_doc(doc) if doc else None


def names(snap: Snapshot) -> list[str]:
    """Every model registry (a folder under ``registries/`` with a ``registry.yaml``)."""
    return sorted(
        name
        for name, entry in snap.listdir(REGISTRIES).items()
        if entry.is_dir and snap.exists(model_registry_file(name))
    )


def collections(snap: Snapshot, registry: str) -> list[str]:
    """The registry's collections that have at least one link."""
    return sorted(
        name
        for name, entry in snap.listdir(model_registry_dir(registry)).items()
        if entry.is_dir and snap.listdir(links_dir(registry, name))
    )


def link_numbers(snap: Snapshot, registry: str, collection: str) -> list[int]:
    """The link versions of a registry collection, in order (unlinked ones included)."""
    found = (version_of_file(f) for f in snap.listdir(links_dir(registry, collection)))
    return sorted(n for n in found if n is not None)


def read_link(
    store: RegistryStore, snap: Snapshot, registry: str, collection: str, version: int
) -> LinkRecord | None:
    doc = store.load(snap, link_file(registry, collection, version), "link")
    return LinkRecord.from_doc(doc) if doc else None


def is_unlinked(snap: Snapshot, registry: str, collection: str, version: int) -> bool:
    return snap.exists(unlink_file(registry, collection, version))


def unlinked(snap: Snapshot, registry: str, collection: str) -> set[int]:
    """The link versions of a registry collection that carry an unlink mark."""
    found = (version_of_file(f) for f in snap.listdir(unlinked_dir(registry, collection)))
    return {n for n in found if n is not None}


def read_alias(
    store: RegistryStore, snap: Snapshot, registry: str, collection: str, alias: str
) -> AliasRecord | None:
    doc = store.load(snap, registry_alias_file(registry, collection, alias), "alias")
    return AliasRecord.from_doc(doc) if doc else None


def aliases(
    store: RegistryStore, snap: Snapshot, registry: str, collection: str
) -> dict[str, AliasRecord]:
    """Every alias (stage) of a registry collection, by its file's name: readers go by
    the path, never by a field that could say otherwise (``check`` refuses such a file)."""
    out = {}
    for filename in sorted(snap.listdir(registry_aliases_dir(registry, collection))):
        if filename.endswith(".yaml"):
            alias = filename.removesuffix(".yaml")
            record = read_alias(store, snap, registry, collection, alias)
            if record is not None:
                out[alias] = record
    return out


def stage_history(
    store: RegistryStore,
    registry: str,
    collection: str,
    stage: str | None = None,
    *,
    ref: str = "HEAD",
    with_pull_requests: bool = True,
    shared: bool = False,
) -> list[AliasEvent]:
    """Every move of a registry collection's aliases (or of one stage), oldest first
    (``shared``: see :func:`alias_history`)."""
    return alias_history(
        store,
        "",
        "",
        stage,
        ref=ref,
        folder=registry_aliases_dir(registry, collection),
        with_pull_requests=with_pull_requests,
        shared=shared,
    )


def stage_moves(
    store: RegistryStore, registry: str, collection: str, stage: str, *, ref: str
) -> list[AliasEvent]:
    """Every move of one stage of a registry collection, oldest first, without pull
    request fields: the history is read for all the registry's collections at once and
    kept for the commit, so judging every holder of a stage reads it once."""
    return history.stage_moves(store, registry, stage, ref=ref).get(collection, [])
