"""Soft delete of a version: ``registry-tool delete`` and ``Artifact.delete``.

>>> delete_version(ctx, "my-project", "model", 3, delete_aliases=True)  # doctest: +SKIP

The version file stays where it is and gains one field, ``deleted: {at, by, reason}``
(the only change a version file ever takes; ``check`` accepts exactly that). So the
number stays taken and is never reused, ``git log`` keeps the version as it was, and
``registry-tool gc`` no longer counts the blobs it names (the same version unmarked on
another branch or tag still does).

In the same commit: the version's aliases go (only with ``delete_aliases``; without it
an alias refuses the delete), and so do the model-registry aliases of links to it. A
*protected* stage on a link to it always refuses, with or without ``delete_aliases``:
a protected stage moves only by a promotion reviewed as a pull request, and a delete
that took it away would take production down unreviewed. The error names the stage,
its registry collection and the link, and the promotion that moves the stage off.
``latest``, of the collection and of a registry collection, is not an alias one
removes: it moves to the newest version (link) left, or goes when none is left. Links
stay (they are immutable); a registry path through one is an error naming the deleted
version.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from registry_tool import _promotion as promotion
from registry_tool._engine import Context
from registry_tool._model.layout import alias_file, registry_alias_file, unlink_file, version_file
from registry_tool._model.names import LATEST
from registry_tool._model.records import AliasRecord, Deletion, VersionRecord
from registry_tool._store import Change, Snapshot, now, registries
from registry_tool.errors import NotFoundError, UsageError


@dataclass(frozen=True)
class DeleteOutcome:
    """What ``delete_version`` did: the marked version, the aliases it took away
    (model-registry ones as ``model-registry/<registry>/<collection>:<alias>``), and
    the version ``latest`` names now (None: no version left)."""

    record: VersionRecord
    removed_aliases: tuple[str, ...]
    latest: int | None
    commit: str | None


@dataclass(frozen=True)
class _RegistryAlias:
    registry: str
    collection: str
    alias: str
    link: int
    protected: bool

    @property
    def path(self) -> str:
        return f"model-registry/{self.registry}/{self.collection}:{self.alias}"

    @property
    def file(self) -> str:
        return registry_alias_file(self.registry, self.collection, self.alias)

    @property
    def refusal(self) -> str:
        """Why a protected stage refuses the delete, and the one way out: the stage
        moves to another version by a promotion reviewed as a pull request (a delete
        is no such review, so it may not take the stage away)."""
        where = f"model-registry/{self.registry}/{self.collection}"
        return (
            f"it holds the protected stage {self.alias!r} of {where} (through the link "
            f"{where}:v{self.link}); a protected stage moves only by a reviewed promotion: "
            f"move it to another version first (registry-tool promote {where}:<version> "
            f"--to {self.alias} --pr)"
        )


def delete_version(
    ctx: Context,
    project: str,
    name: str,
    version: int,
    *,
    delete_aliases: bool = False,
    reason: str | None = None,
) -> DeleteOutcome:
    """Mark ``project/name:v<version>`` deleted, in one commit (see the module doc)."""
    store = ctx.store
    label = f"{project}/{name}:v{version}"

    def build(snap: Snapshot) -> Change[DeleteOutcome]:
        if store.read_collection(snap, project, name) is None:
            raise NotFoundError(f"artifact {project}/{name} does not exist in {ctx.entity!r}")
        record = store.read_version(snap, project, name, version)
        if record is None:
            raise NotFoundError(f"{project}/{name} has no version v{version}")
        if record.deleted is not None:
            raise UsageError(f"{label} is already deleted ({record.deleted.at})")
        held = [a for a, r in store.aliases(snap, project, name).items() if r.version == version]
        linked = _registry_aliases_of(ctx, snap, record)
        for found in linked:
            if found.protected:
                raise promotion.ProtectedAliasError(f"cannot delete {label}: {found.refusal}")
        removed = [a for a in held if a != LATEST] + [f.path for f in linked if f.alias != LATEST]
        if removed and not delete_aliases:
            raise UsageError(
                f"cannot delete {label}: it has the aliases {', '.join(removed)}; "
                "remove them first or delete with --delete-aliases"
            )
        change: Change[DeleteOutcome] = Change()
        why = f"{label} was deleted"
        for alias in held:
            change.files[alias_file(project, name, alias)] = None
        latest = store.read_alias(snap, project, name, LATEST)
        now_latest = latest.version if latest else None
        if LATEST in held:
            now_latest = _newest_live(ctx, snap, project, name, skip=version)
            if now_latest is not None:
                moved = AliasRecord(LATEST, now_latest, now(), ctx.author(), None, why)
                change.put(alias_file(project, name, LATEST), moved.to_doc(), "alias")
        for found in linked:
            change.files[found.file] = None
            if found.alias == LATEST:
                newest = _newest_live_link(
                    ctx, snap, found.registry, found.collection, skip=found.link
                )
                if newest is not None:
                    moved = AliasRecord(LATEST, newest, now(), ctx.author(), None, why)
                    change.put(found.file, moved.to_doc(), "alias")
        # The file as it is, plus the mark: every other field stays what it was.
        path = version_file(project, name, version)
        current = store.load(snap, path, "version")
        assert current is not None
        mark = Deletion(now(), ctx.author(), reason)
        change.put(path, _with_mark(current, mark.to_doc()), "version")
        head = f"delete {label}" + "".join(f" -{a}" for a in removed)
        if LATEST in held:
            head += f" (latest: v{now_latest})" if now_latest is not None else " (-latest)"
        change.message = head + (f"\n\n{reason}" if reason else "")
        marked = replace(record, deleted=mark)
        change.result = DeleteOutcome(marked, tuple(removed), now_latest, None)
        return change

    written = store.write(build)
    assert written.result is not None
    return replace(written.result, commit=written.commit)


def _with_mark(doc: dict[str, Any], mark: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with ``deleted`` after ``file_count``: ahead of metadata and entries, in
    the first lines of the file."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key in ("description", "metadata", "entries") and "deleted" not in out:
            out["deleted"] = mark
        out[key] = value
    out.setdefault("deleted", mark)
    return out


def _newest_live(ctx: Context, snap: Snapshot, project: str, name: str, *, skip: int) -> int | None:
    """The newest version other than ``skip`` (the one being deleted) not deleted."""
    for number in reversed(ctx.store.version_numbers(snap, project, name)):
        if number == skip:
            continue
        record = ctx.store.read_version(snap, project, name, number)
        if record is not None and record.deleted is None:
            return number
    return None


def _newest_live_link(
    ctx: Context, snap: Snapshot, registry: str, collection: str, *, skip: int
) -> int | None:
    """The newest link of a registry collection other than ``skip``, not unlinked, whose
    source version is not deleted."""
    for number in reversed(registries.link_numbers(snap, registry, collection)):
        if number == skip:
            continue
        if snap.exists(unlink_file(registry, collection, number)):
            continue
        link = registries.read_link(ctx.store, snap, registry, collection, number)
        if link is None:
            continue
        source = ctx.store.read_version(snap, link.project, link.name, link.source_version)
        if source is not None and source.deleted is None:
            return number
    return None


def _registry_aliases_of(
    ctx: Context, snap: Snapshot, record: VersionRecord
) -> list[_RegistryAlias]:
    """Every model-registry alias that names a link to this version."""
    found = []
    source = (record.project, record.name, record.version)
    for registry in registries.names(snap):
        config = registries.read_config(ctx.store, snap, registry)
        protected = config.protected if config else ()
        for collection in registries.collections(snap, registry):
            held = registries.aliases(ctx.store, snap, registry, collection)
            for alias, alias_record in held.items():
                link = registries.read_link(
                    ctx.store, snap, registry, collection, alias_record.version
                )
                if link is None or (link.project, link.name, link.source_version) != source:
                    continue
                found.append(
                    _RegistryAlias(registry, collection, alias, link.version, alias in protected)
                )
    return found
