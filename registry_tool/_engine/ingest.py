"""Putting a log's files into the blob store: the hot write path.

Each file is hashed while it is copied into the store, read once; a file the stat cache
knows (same inode, size and times as when it was last hashed) is not read at all, and a
blob the store already holds is not written again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
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
    copies: Mapping[str, Copy] | None = None,
) -> list[Entry]:
    """Put every pending file's bytes in the blob store; return manifest entries.

    A file whose (inode, size, mtime) the stat cache knows is not read again, and
    a blob the store already has is not written again; others are hashed while
    they are copied, reading each byte once. A blob found already stored that
    ``named`` (the digests the collection's latest version names) does not hold may
    be one nothing names any more, which a garbage collection could take before
    this log commits: its age is refreshed, and it is stored again if it has gone.
    ``before_storing`` runs once before the first byte is stored (not at all when
    every blob is there already). ``copies`` are files the caller hashed as it wrote
    them and that nothing else writes (an artifact draft's private copies, by path):
    they are not read again, and the stat cache learns their digest under the file
    they were copied from, so that a later log of that file (a re-run after a failure)
    asks the store for it rather than sending it again.
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
    private = {p: c for p, c in (copies or {}).items() if p in paths}
    known.update((p, c.hexdigest) for p, c in private.items())
    origins = ctx.stat_cache.lookup_many(
        [(c.source, c.source_stat) for c in private.values() if c.source_stat is not None]
    )
    # Asked for: what the stat cache knows (most often logged before, so stored), and a
    # private copy of a file logged before or of bytes the latest version names. Any
    # other copy is most often new content: its digest spares hashing it again, and the
    # store's own write (a conditional PUT on S3) finds it if it is there after all.

    def worth_asking(local: str, digest: str) -> bool:
        copy = private.get(local)
        return copy is None or digest in named or origins.get(copy.source) == digest

    asked = {
        digest
        for local in files.values()
        if (digest := known.get(local)) is not None and worth_asking(local, digest)
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
    ctx.stat_cache.store_many([o for item in learned if (o := _origin(item, private))])
    if failed:
        raise failed[0]
    ctx._sources.update((blob_hex(e.digest), files[e.path]) for e in entries.values())
    return list(entries.values())


@dataclass(frozen=True)
class Copy:
    """A private copy a caller made and hashed: its digest, and the file it was copied
    from with that file's stat before the copy (None when the file changed while it was
    copied, so that nothing is learned about it)."""

    hexdigest: str
    source: str
    source_stat: os.stat_result | None


def _origin(
    item: tuple[str, os.stat_result, str], private: Mapping[str, Copy]
) -> tuple[str, os.stat_result, str] | None:
    """What the stat cache learns of a stored file: a private copy under its source
    (nothing, when the source changed while it was copied); any other file as it is."""
    copy = private.get(item[0])
    if copy is None:
        return item
    if copy.source_stat is None:
        return None
    return copy.source, copy.source_stat, item[2]
