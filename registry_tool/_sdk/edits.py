"""What a logged version shows and what ``Artifact.save()`` changes after logging:
its aliases, and (as W&B allows) its description, metadata, tags and time to live.

The files and digest of a version never change, nor does its version file: an edit is
a file of its own (``_engine/edits.py``), and ``view`` is what readers see of a logged
version, the logged values with the edits applied. ``save`` applies what the user
changed on an ``Artifact`` bound to one; a save that changes nothing writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from registry_tool import _promotion as promotion
from registry_tool._engine import Context
from registry_tool._engine import edits as engine_edits
from registry_tool._model.edits import EditRecord, merge, ttl_seconds, validate_tags
from registry_tool._model.names import LATEST
from registry_tool._model.records import VersionRecord
from registry_tool._store import Change, Snapshot
from registry_tool.errors import NotFoundError

if TYPE_CHECKING:
    from registry_tool._sdk.artifact import Artifact


@dataclass(frozen=True)
class View:
    """A logged version as readers see it."""

    description: str | None
    metadata: dict[str, Any]
    tags: tuple[str, ...] = ()
    ttl: timedelta | None = None
    edited: frozenset[str] = field(default_factory=frozenset)  # keys changed after logging
    updated_at: str = ""  # the last edit's time, else when the version was logged


def view(ctx: Context, record: VersionRecord) -> View:
    """What a reader sees of ``record``: what was logged, with its edits applied, and
    when it last changed (the last edit in ``seq`` order, which is commit order)."""
    found = engine_edits.read_edits(
        ctx.store, ctx.store.head(), record.project, record.name, record.version
    )
    shown = merge(record.description, record.metadata, found)
    ttl = timedelta(seconds=shown.ttl) if shown.ttl is not None else None
    last = max(found, key=lambda edit: edit.seq).at if found else record.created_at
    return View(shown.description, shown.metadata, shown.tags, ttl, shown.edited, last)


def save(art: Artifact) -> None:
    """Apply what changed on ``art`` since it was bound: description, metadata, tags
    and ttl as one edit (one commit), then alias changes.

    ``latest`` is kept where it is: it names the version most recently logged (or
    deduplicated to), and only logging moves it.
    """
    record = art._logged()
    ctx = art._ctx
    assert ctx is not None
    edit_version(
        ctx,
        record,
        metadata=dict(art.metadata),
        description=art.description,
        tags=validate_tags(art.tags, art.qualified_name),
        ttl=ttl_seconds(art.ttl, art.qualified_name),
    )
    wanted = list(art._aliases)
    if LATEST in art._saved_aliases and LATEST not in wanted:
        wanted.append(LATEST)
    add = [a for a in wanted if a not in art._saved_aliases]
    remove = [a for a in art._saved_aliases if a not in wanted]
    if (add or remove) and art._link is not None:
        promotion.set_aliases(ctx, art._link, add=add, remove=remove)
    elif add or remove:
        ctx.set_aliases(record.project, record.name, record.version, add=add, remove=remove)
    art._bind(ctx, record)


def edit_version(
    ctx: Context,
    record: VersionRecord,
    *,
    metadata: dict[str, Any],
    description: str | None,
    tags: tuple[str, ...],
    ttl: int | None,
) -> EditRecord | None:
    """Commit the edit that makes ``record`` show these values, judged on the tip the
    commit lands on; None (and no commit) when it shows them already."""
    store = ctx.store
    where = f"{record.project}/{record.name}:v{record.version}"

    def build(snap: Snapshot) -> Change[EditRecord]:
        change: Change[EditRecord] = Change()
        current = store.read_version(snap, record.project, record.name, record.version)
        if current is None:
            raise NotFoundError(f"{where} no longer exists: it cannot be edited", version=where)
        edit = engine_edits.put_edit(
            store,
            snap,
            change,
            current,
            ctx.author(),
            metadata=metadata,
            description=(description,),
            tags=tags,
            ttl=(ttl,),
        )
        if edit is not None and current.deleted is not None:
            raise NotFoundError(f"{where} was deleted: it cannot be edited", version=where)
        if edit is not None:
            change.message = f"edit {where} ({engine_edits.describe(edit)})"
            change.result = edit
        return change

    return store.write(build).result
