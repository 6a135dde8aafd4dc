"""Readers that moved to the store and the engine, kept under their old names while the
modules that call them are switched over. Nothing new may call these."""

from __future__ import annotations

from typing import Any

from registry_tool._engine import Context
from registry_tool._model.governance import LinkRecord, ModelRegistryConfig
from registry_tool._model.names import ArtifactPath
from registry_tool._model.records import AliasRecord, VersionRecord
from registry_tool._store import Snapshot, registries
from registry_tool._store.history import AliasEvent


def read_config(ctx: Context, snap: Snapshot, registry: str) -> ModelRegistryConfig | None:
    return registries.read_config(ctx.store, snap, registry)


def list_registries(ctx: Context, snap: Snapshot) -> list[str]:
    return registries.names(snap)


def collections(ctx: Context, snap: Snapshot, registry: str) -> list[str]:
    return registries.collections(snap, registry)


def link_numbers(snap: Snapshot, registry: str, collection: str) -> list[int]:
    return registries.link_numbers(snap, registry, collection)


def read_link(
    ctx: Context, snap: Snapshot, registry: str, collection: str, version: int
) -> LinkRecord | None:
    return registries.read_link(ctx.store, snap, registry, collection, version)


def registry_aliases(
    ctx: Context, snap: Snapshot, registry: str, collection: str
) -> dict[str, AliasRecord]:
    return registries.aliases(ctx.store, snap, registry, collection)


def resolve(
    ctx: Context, ref: ArtifactPath, snap: Snapshot | None = None
) -> tuple[LinkRecord, VersionRecord]:
    found = ctx.resolve_ref(ref, snap=snap)
    assert found.link is not None
    return found.link, found.record


def stage_history(
    ctx: Context, registry: str, collection: str, stage: str | None = None, **kw: Any
) -> list[AliasEvent]:
    return registries.stage_history(ctx.store, registry, collection, stage, **kw)
