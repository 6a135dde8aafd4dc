"""Putting a log's files into the blob store: the hot write path.

Each file is hashed while it is copied into the store, read once; a file the stat cache
knows (same inode, size and times as when it was last hashed) is not read at all, and a
blob the store already holds is not written again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Set
from pathlib import Path
from typing import TYPE_CHECKING

from registry_tool import _progress as progress
from registry_tool._model.manifest import Entry, blob_hex, file_digest
from registry_tool.errors import ArtifactError, RegistryError

if TYPE_CHECKING:
    from registry_tool._engine.context import Context


def ingest(
    ctx: Context,
    files: dict[str, str],
    named: Set[str] = frozenset(),
    before_storing: Callable[[], None] | None = None,
    digests: Mapping[str, str] | None = None,
) -> list[Entry]:
    """Put every pending file's bytes in the blob store; return manifest entries.

    A file whose (inode, size, mtime) the stat cache knows is not read again, and
    a blob the store already has is not written again; others are hashed while
    they are copied, reading each byte once. A blob found already stored that
    ``named`` (the digests the collection's latest version names) does not hold may
    be one nothing names any more, which a garbage collection could take before
    this log commits: its age is refreshed, and it is stored again if it has gone.
    ``before_storing`` runs once before the first byte is stored (not at all when
    every blob is there already). ``digests`` are the SHA-256 of files the caller
    hashed as it wrote them and that nothing else writes (an artifact draft's private
    copies): they are not read again, nor kept in the stat cache.
    """
    ctx.store.check_writable()
    stats: dict[str, os.stat_result] = {}
    for name, local in files.items():
        try:
            stats[name] = os.stat(local)
        except OSError as exc:
            raise ArtifactError(f"cannot read {local}: {exc.strerror}") from None
    known = ctx.stat_cache.lookup_many([(files[n], stats[n]) for n in files])
    paths = set(files.values())
    private = {p: d for p, d in (digests or {}).items() if p in paths}
    known.update(private)
    # A digest the stat cache knows still needs its blob in the store.
    # Asked for: what the stat cache knows (most often logged before, so stored), and a
    # private copy's digest the latest version names. Any other copy is most often new
    # content: its digest only spares hashing it again, and the store's own write
    # (a conditional PUT on S3) finds it if it is there after all.
    asked = {
        digest
        for local in files.values()
        if (digest := known.get(local)) is not None and (local not in private or digest in named)
    }
    present = ctx.has_many(asked)
    reused = sorted(d for d, there in present.items() if there and d not in named)
    for digest, kept in zip(reused, ctx._refresh(reused), strict=True):
        present[digest] = kept
    todo = [n for n in files if not present.get(known.get(files[n], ""), False)]
    if todo and before_storing is not None:
        before_storing()
    pending = set(todo)
    entries = {
        n: Entry(n, file_digest(known[files[n]]), stats[n].st_size)
        for n in files
        if n not in pending
    }
    total = sum(stats[n].st_size for n in todo)

    Stored = tuple[str, str, os.stat_result] | RegistryError

    def store(name: str, advance: Callable[[int], None]) -> Stored:
        local = files[name]
        try:
            hexdigest, written = ctx.blobs.ingest(Path(local), known.get(local), advance)
            if not written and hexdigest not in named and not ctx.blobs.refresh(hexdigest):
                hexdigest, _ = ctx.blobs.ingest(Path(local), None, advance)
        except RegistryError as exc:
            return exc  # the others go on; what was stored is remembered below
        after = os.stat(local)
        before = stats[name]
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            return ArtifactError(f"{local} changed while it was being logged; log again")
        return name, hexdigest, after

    what = "uploading" if ctx.blobs.remote else "hashing and storing"
    done = ctx.each(todo, store, f"{what} {progress.files(len(todo))}", total)
    learned = []
    failed: list[RegistryError] = []
    for result in done:
        if isinstance(result, RegistryError):
            failed.append(result)
            continue
        name, hexdigest, after = result
        entries[name] = Entry(name, file_digest(hexdigest), after.st_size)
        learned.append((files[name], after, hexdigest))
    # A re-run after a failure then checks, rather than re-sends, what got through.
    ctx.stat_cache.store_many([item for item in learned if item[0] not in private])
    if failed:
        raise failed[0]
    ctx._sources.update((blob_hex(e.digest), files[e.path]) for e in entries.values())
    return list(entries.values())
