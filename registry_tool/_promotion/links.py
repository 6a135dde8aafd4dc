"""Writing model registries: create one, link a version into it, move or drop its
aliases, unlink a version. Every write is one commit; protected aliases move only
through a promotion (``promote.py``).

A registry collection's ``latest`` names the link made most recently, except that it
never goes back within one source collection: linking an older version of the same
source collection (``p/model:v1`` after ``p/model:v3``), or the same content again,
leaves ``latest`` on the link of the newer source version. Links of different source
collections are not ordered by version, so the newest link is ``latest`` among them.

Nothing unreviewed takes a protected stage down: a link that holds one is neither
unlinked nor stripped of it here; a reviewed promotion moves the stage first. A link
that holds only unprotected aliases is unlinked with them, ``latest`` included."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from registry_tool._engine import Context, deleted_message
from registry_tool._model import codeowners
from registry_tool._model.governance import LinkRecord, ModelRegistryConfig, StageGate
from registry_tool._model.layout import (
    link_file,
    model_registry_file,
    registry_alias_file,
    unlink_file,
)
from registry_tool._model.names import LATEST, parse_link_target, validate_alias, validate_name
from registry_tool._model.records import VersionRecord
from registry_tool._promotion.stages import check_stage, require
from registry_tool._store import Change, Snapshot, now, registries
from registry_tool.errors import ArtifactError, NotFoundError, ProtectedAliasError, UsageError

CODEOWNERS = ".github/CODEOWNERS"


def create_registry(
    ctx: Context,
    name: str,
    *,
    stages: Sequence[str] = (),
    protected: Sequence[str] = (),
    types: Sequence[str] = (),
    gates: dict[str, StageGate] | None = None,
    description: str | None = None,
) -> ModelRegistryConfig:
    """Write ``registries/<name>/registry.yaml`` (one commit)."""
    validate_name(name, what="registry name")
    for stage in (*stages, *protected):
        validate_alias(stage)
    for stage in gates or {}:
        if stage not in stages:
            raise UsageError(f"gate for {stage!r}, which is not one of the stages {list(stages)}")
    config = ModelRegistryConfig(
        name=name,
        created_at=now(),
        stages=tuple(stages),
        protected=tuple(protected),
        types=tuple(validate_name(t, what="artifact type") for t in types),
        gates=dict(gates or {}),
        description=description,
    )

    def build(snap: Snapshot) -> Change[None]:
        if snap.exists(model_registry_file(name)):
            raise UsageError(f"model registry {name!r} already exists")
        change: Change[None] = Change(message=f"registry create {name}")
        change.put(model_registry_file(name), config.to_doc(), "model-registry")
        where = next((p for p in codeowners.LOCATIONS if snap.exists(p)), None)
        if where is not None:
            # Keep CODEOWNERS covering every governing path, this registry's included,
            # with the owners the file names for the registry's config.
            configs = [config]
            for other in registries.names(snap):
                found = registries.read_config(ctx.store, snap, other)
                if found is not None:
                    configs.append(found)
            text = (snap.read(where) or b"").decode("utf-8", "replace")
            kept = codeowners.extend(text, codeowners.required_paths(None, configs))
            if kept != text:
                change.files[where] = kept.encode()
        return change

    ctx.store.write(build)
    return config


def stage_changes(
    ctx: Context,
    snap: Snapshot,
    change: Change[Any],
    config: ModelRegistryConfig,
    link: LinkRecord,
    source: VersionRecord,
    aliases: Iterable[str],
    *,
    allow_protected: bool,
    reason: str | None,
    run: str | None,
) -> list[str]:
    """Move registry aliases to ``link`` in ``change``: a protected one only with
    ``allow_protected`` (a promotion), each only if the link meets its stage's gates,
    and none to a link whose source version is deleted, nor to an unlinked link (the
    rules ``check`` holds a change to)."""
    aliases = list(aliases)
    if aliases and source.deleted is not None:
        raise NotFoundError(deleted_message(source), version=link.source_path)
    if aliases and registries.is_unlinked(snap, link.registry, link.collection, link.version):
        raise NotFoundError(
            f"{link.path} is unlinked: a stage moves only to a live link", version=link.path
        )

    def guard(alias: str) -> None:
        if alias in config.protected and not allow_protected:
            raise ProtectedAliasError(
                f"{alias!r} is protected in model-registry/{config.name}: it moves only by a "
                f"reviewed promotion: registry-tool promote {link.path} --to {alias} --pr"
            )
        require(check_stage(ctx, snap, config, link, source, alias), link, alias)

    return ctx.move_aliases(
        snap,
        change,
        partial(registry_alias_file, config.name, link.collection),
        link.version,
        aliases,
        run_id=run,
        reason=reason,
        guard=guard,
    )


def live_source(
    ctx: Context, snap: Snapshot, project: str, name: str, version: int, digest: str
) -> VersionRecord:
    """The source version of a link as it is on ``snap``, the tip a write lands on
    (another clone may have deleted it since the caller resolved it): it must exist,
    not be deleted, and still have ``digest``."""
    path = f"{project}/{name}:v{version}"
    found = ctx.store.read_version(snap, project, name, version)
    if found is None:
        raise NotFoundError(f"{path} does not exist", version=path)
    if found.deleted is not None:
        raise NotFoundError(deleted_message(found), version=path)
    if found.digest != digest:
        raise ArtifactError(f"{path} no longer has the digest it was linked by")
    return found


def existing_link(
    ctx: Context, snap: Snapshot, registry: str, collection: str, digest: str
) -> LinkRecord | None:
    """The link of a registry collection, not unlinked, to content with this digest:
    the same content links once."""
    for number in registries.link_numbers(snap, registry, collection):
        if snap.exists(unlink_file(registry, collection, number)):
            continue
        found = registries.read_link(ctx.store, snap, registry, collection, number)
        if found and found.digest == digest:
            return found
    return None


def _latest_stays(ctx: Context, snap: Snapshot, link: LinkRecord) -> bool:
    """Whether ``latest`` stays where it is rather than move to ``link``: it names a
    link of a newer version of the same source collection (never back in time)."""
    current = registries.read_alias(ctx.store, snap, link.registry, link.collection, LATEST)
    if current is None or current.version == link.version:
        return False
    held = registries.read_link(ctx.store, snap, link.registry, link.collection, current.version)
    return (
        held is not None
        and (held.project, held.name) == (link.project, link.name)
        and held.source_version > link.source_version
    )


def link_version(
    ctx: Context,
    source: VersionRecord,
    target: str,
    aliases: Sequence[str] = (),
    *,
    run: str | None = None,
    allow_protected: bool = False,
) -> LinkRecord:
    """Link a logged version into ``model-registry/<registry>[/<collection>]``.

    A registry that does not exist yet is created plain (no stages, nothing protected),
    as W&B creates one on first link. ``latest`` moves to the link unless it names a
    newer version of the same source collection (the module's docstring).
    """
    registry, collection = parse_link_target(target, source.name)
    wanted = [LATEST, *(validate_alias(a) for a in aliases if a != LATEST)]

    def build(snap: Snapshot) -> Change[LinkRecord]:
        change: Change[LinkRecord] = Change()
        found = live_source(ctx, snap, source.project, source.name, source.version, source.digest)
        config = registries.read_config(ctx.store, snap, registry)
        if config is None:
            config = ModelRegistryConfig(name=registry, created_at=now())
            change.put(model_registry_file(registry), config.to_doc(), "model-registry")
        if config.types and source.type not in config.types:
            raise ArtifactError(
                f"model-registry/{registry} takes {', '.join(config.types)} artifacts, "
                f"not {source.type!r}"
            )
        numbers = registries.link_numbers(snap, registry, collection)
        existing = existing_link(ctx, snap, registry, collection, source.digest)
        link = existing or LinkRecord(
            registry=registry,
            collection=collection,
            version=numbers[-1] + 1 if numbers else 0,
            project=source.project,
            name=source.name,
            source_version=source.version,
            digest=source.digest,
            linked_at=now(),
            linked_by=ctx.author(),
            run=run,
        )
        if existing is None:
            change.put(link_file(registry, collection, link.version), link.to_doc(), "link")
        stays = _latest_stays(ctx, snap, link)
        moved = stage_changes(
            ctx,
            snap,
            change,
            config,
            link,
            found,
            [a for a in wanted if not (a == LATEST and stays)],
            allow_protected=allow_protected,
            reason=None,
            run=run,
        )
        head = f"link {source.project}/{source.name}:v{source.version} -> {link.path}"
        change.message = head + "".join(f" +{a}" for a in moved)
        change.result = link
        return change

    written = ctx.store.write(build)
    assert written.result is not None
    return written.result


def set_aliases(
    ctx: Context,
    link: LinkRecord,
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    reason: str | None = None,
    allow_protected: bool = False,
    message: str | None = None,
) -> str | None:
    """Move registry aliases to a link, or take them off it (a demotion)."""
    add = [validate_alias(a) for a in add]
    remove = [validate_alias(a) for a in remove]

    def build(snap: Snapshot) -> Change[None]:
        change: Change[None] = Change()
        config = registries.read_config(ctx.store, snap, link.registry)
        if config is None:
            raise NotFoundError(f"there is no model registry {link.registry!r}")
        source = ctx.store.read_version(snap, link.project, link.name, link.source_version)
        if source is None:
            raise NotFoundError(f"{link.path} links {link.source_path}, which does not exist")
        if add:  # a stage moves only to a link whose source is live on this tip
            live_source(ctx, snap, link.project, link.name, link.source_version, link.digest)
        moved = stage_changes(
            ctx,
            snap,
            change,
            config,
            link,
            source,
            add,
            allow_protected=allow_protected,
            reason=reason,
            run=None,
        )
        dropped = []
        for alias in remove:
            path = registry_alias_file(link.registry, link.collection, alias)
            current = ctx.store.load(snap, path, "alias")
            if current is None or current["version"] != link.version:
                continue
            if alias in config.protected and not allow_protected:
                raise ProtectedAliasError(
                    f"{alias!r} is protected in model-registry/{link.registry}: it moves off "
                    f"{link.path} only by a reviewed promotion of another version "
                    f"(registry-tool promote {_collection(link)}:<version> --to {alias} --pr)"
                )
            change.files[path] = None
            dropped.append(alias)
        parts = [f"+{a}" for a in moved] + [f"-{a}" for a in dropped]
        change.message = message or f"alias {link.path} {' '.join(parts)}"
        if reason and not message:
            change.message += f"\n\n{reason}"
        return change

    return ctx.store.write(build).commit


def _collection(link: LinkRecord) -> str:
    return f"model-registry/{link.registry}/{link.collection}"


def unlink(ctx: Context, link: LinkRecord, *, reason: str | None = None) -> str | None:
    """Take a version out of its registry: its aliases go, a tombstone records who and
    why, and the link file itself stays (links are immutable, history is kept).

    A link that holds a protected stage is refused, judged on the tip the write lands
    on (a stale clone's write is rebuilt on the remote's): unlinking it would take the
    stage down without review, so a reviewed promotion moves the stage off it first.
    """

    def build(snap: Snapshot) -> Change[None]:
        config = registries.read_config(ctx.store, snap, link.registry)
        if config is None:
            raise NotFoundError(f"there is no model registry {link.registry!r}")
        if snap.exists(unlink_file(link.registry, link.collection, link.version)):
            return Change()
        change: Change[None] = Change(message=f"unlink {link.path}")
        held = registries.aliases(ctx.store, snap, link.registry, link.collection)
        for alias, record in held.items():
            if record.version != link.version:
                continue
            if alias in config.protected:
                where = _collection(link)
                raise ProtectedAliasError(
                    f"cannot unlink {link.path}: it holds the protected stage {alias!r} of "
                    f"{where}; a protected stage moves only by a reviewed promotion: move it "
                    f"to another version first (registry-tool promote {where}:<version> "
                    f"--to {alias} --pr)",
                    version=link.path,
                )
            change.files[registry_alias_file(link.registry, link.collection, alias)] = None
        doc: dict[str, Any] = {
            "kind": "unlink",
            "registry": link.registry,
            "collection": link.collection,
            "version": link.version,
            "unlinked_at": now(),
            "unlinked_by": ctx.author(),
        }
        if reason:
            doc["reason"] = reason
        change.put(unlink_file(link.registry, link.collection, link.version), doc, "unlink")
        return change

    return ctx.store.write(build).commit
