"""Edits of logged versions in the registry: read them, write a new one.

A version's files, digest and version file never change; what W&B lets a user change
after logging (description, metadata, tags, time to live) is written as a new edit file
per change (``layout.edit_file``), in one commit, and readers see the logged values with
the edits applied (``merged``). ``git log`` of a version's edits folder is its audit
trail: who changed what, when.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from registry_tool._model import layout
from registry_tool._model.edits import EditRecord, Merged, diff_metadata, merge
from registry_tool._model.records import VersionRecord
from registry_tool._store import Change, RegistryStore, Snapshot, now
from registry_tool.errors import DocumentError

KIND = "edit"


def read_edits(
    store: RegistryStore, snap: Snapshot, project: str, name: str, version: int
) -> list[EditRecord]:
    """The edits of ``project/name:v<version>`` in ``seq`` order (none for most)."""
    folder = layout.edits_dir(project, name, version)
    found = []
    for filename in snap.listdir(folder):
        seq = layout.edit_seq(filename)
        if seq is None:
            continue  # not an edit file: ``check`` reports it
        path = layout.edit_file(project, name, version, seq)
        doc = store.load(snap, path, KIND)
        if doc is None:
            continue
        edit = EditRecord.from_doc(doc)
        if (edit.project, edit.name, edit.version, edit.seq) != (project, name, version, seq):
            raise DocumentError(path, "$", f"names {edit.path} edit {edit.seq}, not its path's")
        found.append(edit)
    return sorted(found, key=lambda e: e.seq)


def merged(store: RegistryStore, snap: Snapshot, record: VersionRecord) -> Merged:
    """What readers see of ``record``: its logged values with its edits applied."""
    edits = read_edits(store, snap, record.project, record.name, record.version)
    return merge(record.description, record.metadata, edits)


def next_seq(snap: Snapshot, project: str, name: str, version: int) -> int:
    numbers = [
        n
        for f in snap.listdir(layout.edits_dir(project, name, version))
        if (n := layout.edit_seq(f)) is not None
    ]
    return max(numbers, default=-1) + 1


def put_edit(
    store: RegistryStore,
    snap: Snapshot,
    change: Change[Any],
    record: VersionRecord,
    author: str,
    *,
    metadata: Mapping[str, Any] | None = None,
    description: tuple[str | None] | None = None,
    tags: Sequence[str] | None = None,
    ttl: tuple[int | None] | None = None,
    reason: str | None = None,
) -> EditRecord | None:
    """Add to ``change`` the edit that makes ``record`` show these values (None: that
    value unchanged; ``description`` and ``ttl`` as a 1-tuple, since None is a value),
    judged against what it shows on ``snap``. Nothing is added when nothing differs."""
    shown = merged(store, snap, record)
    changed: dict[str, Any] = {}
    removed: tuple[str, ...] = ()
    if metadata is not None:
        changed, removed = diff_metadata(shown.metadata, metadata)
    fields: dict[str, Any] = {}
    if description is not None and description[0] != shown.description:
        fields["description"] = description[0]
    if tags is not None and tuple(tags) != shown.tags:
        fields["tags"] = tuple(tags)
    if ttl is not None and ttl[0] != shown.ttl:
        fields["ttl"] = ttl[0]
    if not (changed or removed or fields):
        return None
    seq = next_seq(snap, record.project, record.name, record.version)
    edit = EditRecord(
        record.project,
        record.name,
        record.version,
        seq,
        now(),
        author,
        metadata=changed,
        removed=removed,
        fields=fields,
        reason=reason,
    )
    path = layout.edit_file(record.project, record.name, record.version, seq)
    change.put(path, edit.to_doc(), KIND)
    return edit


def describe(edit: EditRecord) -> str:
    """What an edit changed, for a commit message or a warning: ``metadata f1, -old,
    tags``."""
    parts = [*sorted(edit.metadata), *(f"-{k}" for k in sorted(edit.removed))]
    what = ", ".join(parts)
    if what:
        what = f"metadata {what}"
    return ", ".join([p for p in (what, *sorted(edit.fields)) if p])


RELOGGED = "logged again with the same files and new metadata"


def relog(
    store: RegistryStore,
    snap: Snapshot,
    change: Change[Any],
    record: VersionRecord,
    author: str,
    metadata: Mapping[str, Any],
    description: str | None,
) -> EditRecord | None:
    """The edit a log of ``record``'s very files brings, added to ``change``: the
    metadata keys it gives with other values than ``record`` shows, and its description
    when it gives one that differs. Keys it does not give are kept: logging the same
    files again never loses what the version shows. None when nothing differs."""
    shown = merged(store, snap, record)
    return put_edit(
        store,
        snap,
        change,
        record,
        author,
        metadata={**shown.metadata, **metadata},
        description=(description,) if description is not None else None,
        reason=RELOGGED,
    )


def warn_relogged(edit: EditRecord | None) -> None:
    """Say that a log found its files already logged and edited that version instead:
    the new metadata is applied, not dropped, and no new version was made."""
    if edit is not None:
        warnings.warn(
            f"{edit.path} already holds these exact files, so no new version was logged; "
            f"its {describe(edit)} was edited instead (edit {edit.seq})",
            UserWarning,
            stacklevel=4,
        )
