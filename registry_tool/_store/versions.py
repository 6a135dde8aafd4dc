"""What listing a collection and finding a version by its bytes need from each version
file, kept in a cache database by the file's git blob id.

A blob id names content, and a version file's content names its project, name and
number: the summary of a blob, once its file was parsed and validated, is right
forever, at the one path it may stand at. So the index never needs invalidating. It
only learns: a version file it has not seen (a new version, or one marked deleted,
which is new content) is parsed once, by the store's validating reader, and remembered.
A missing or unreadable database only costs speed: every file is then parsed, as
before the index (the document cache still helps).

With it, logging into a collection of 5,000 versions reads the folder's tree (the
numbers and blob ids) and one query, instead of reading 5,000 files to compare their
digests; ``ls PROJECT/NAME`` builds its rows from the same summaries.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry_tool._hashing import connect_sqlite
from registry_tool._model.layout import version_of_file, versions_dir
from registry_tool._model.records import VersionRecord
from registry_tool._store.git import Snapshot
from registry_tool._store.trees import TreeEntry

# The store's validating reader of one version file (None: no such file).
ReadVersion = Callable[[Snapshot, str, str, int], VersionRecord | None]

_COLUMNS = "oid, project, name, version, digest, size, files, created_at, run, deleted"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS versions2 (oid TEXT PRIMARY KEY, project TEXT, name TEXT,"
    " version INTEGER, digest TEXT, size INTEGER, files INTEGER, created_at TEXT, run TEXT,"
    " deleted TEXT)"
)
_BY_DIGEST = "CREATE INDEX IF NOT EXISTS versions2_digest ON versions2 (digest)"
# Versions folders (git tree ids) every file of which has a row in versions2.
_COMPLETE = "CREATE TABLE IF NOT EXISTS complete_folders (tree TEXT PRIMARY KEY)"
_CHUNK = 500  # SQLite's limit on host parameters is 999 in older builds


@dataclass(frozen=True)
class VersionSummary:
    """One version file, as ``ls`` and dedup see it."""

    project: str
    name: str
    version: int
    digest: str
    size: int
    files: int
    created_at: str
    run: str | None
    deleted: dict[str, Any] | None  # the delete mark's document

    @classmethod
    def of(cls, record: VersionRecord) -> VersionSummary:
        return cls(
            project=record.project,
            name=record.name,
            version=record.version,
            digest=record.digest,
            size=record.size,
            files=len(record.entries),
            created_at=record.created_at,
            run=record.run,
            deleted=record.deleted.to_doc() if record.deleted else None,
        )

    @classmethod
    def of_doc(cls, doc: dict[str, Any]) -> VersionSummary:
        """From a version document the store validated and is writing: its header
        already says the size and file count, so the entries (100,000 of them, in a
        big artifact) are not turned into records a second time."""
        return cls(
            project=doc["project"],
            name=doc["name"],
            version=doc["version"],
            digest=doc["digest"],
            size=doc["size"],
            files=doc["file_count"],
            created_at=doc["created_at"],
            run=doc.get("run"),
            deleted=doc.get("deleted"),
        )


class VersionIndex:
    """Version summaries by blob id, in SQLite; safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._broken = False

    def _db(self) -> sqlite3.Connection | None:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None and not self._broken:
            try:
                db = connect_sqlite(self.path, _SCHEMA)
                db.execute(_BY_DIGEST)
                db.execute(_COMPLETE)
            except (OSError, sqlite3.Error):
                self._broken = True  # a read-only or damaged cache: parse every file
                return None
            self._local.db = db
        return db

    def get_many(self, oids: list[str]) -> dict[str, VersionSummary]:
        """The summaries the index has of these blobs."""
        found: dict[str, VersionSummary] = {}
        for row in self._rows(f"SELECT {_COLUMNS} FROM versions2 WHERE oid IN", oids):
            summary = _load(row)
            if summary is not None:
                found[row[0]] = summary
        return found

    def complete(self, tree: str) -> bool:
        """Whether every file of this versions folder (a git tree id) has a row."""
        db = self._db()
        query = "SELECT 1 FROM complete_folders WHERE tree = ?"
        try:
            return db is not None and db.execute(query, (tree,)).fetchone() is not None
        except sqlite3.Error:
            return False

    def known(self, oids: list[str]) -> set[str]:
        """Which of these blobs the index has summarised."""
        return {row[0] for row in self._rows("SELECT oid FROM versions2 WHERE oid IN", oids)}

    def with_digest(self, digest: str) -> set[tuple[str, int]]:
        """The blobs of live (not deleted) versions with this artifact digest, with the
        number each names: one look-up in the digest column's index, whatever the number
        of versions."""
        query = "SELECT oid, version FROM versions2 WHERE digest = ? AND deleted IS NULL"
        db = self._db()
        try:
            return {(row[0], row[1]) for row in db.execute(query, (digest,))} if db else set()
        except sqlite3.Error:
            return set()

    def _rows(self, query: str, oids: list[str]) -> list[tuple[Any, ...]]:
        db = self._db()
        rows: list[tuple[Any, ...]] = []
        if db is None:
            return rows
        try:
            for start in range(0, len(oids), _CHUNK):
                chunk = oids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows += db.execute(f"{query} ({marks})", chunk).fetchall()
        except sqlite3.Error:
            return []
        return rows

    def put_many(
        self, items: Iterable[tuple[str, VersionSummary]], complete: Iterable[str] = ()
    ) -> None:
        """Remember these summaries and, in the same transaction, the versions folders
        (tree ids) that they make complete."""
        rows = [
            (
                oid,
                v.project,
                v.name,
                v.version,
                v.digest,
                v.size,
                v.files,
                v.created_at,
                v.run,
                None if v.deleted is None else json.dumps(v.deleted),
            )
            for oid, v in items
        ]
        folders = [(tree,) for tree in complete]
        db = self._db() if rows or folders else None
        if db is None:
            return
        try:
            with db:
                db.execute("BEGIN")
                db.executemany(f"INSERT OR REPLACE INTO versions2 ({_COLUMNS}) VALUES "
                               "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)  # fmt: skip
                db.executemany("INSERT OR IGNORE INTO complete_folders VALUES (?)", folders)
        except sqlite3.Error:
            pass  # the index is an optimisation: the next read parses the files again


def _load(row: tuple[Any, ...]) -> VersionSummary | None:
    """A stored row, or None for one this code cannot read (then the file is parsed
    again and the row replaced)."""
    try:
        deleted = None if row[9] is None else json.loads(row[9])
        summary = VersionSummary(
            row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], deleted
        )
    except (TypeError, ValueError):
        return None
    types = (str, str, int, str, int, int, str)
    if not all(isinstance(v, t) for v, t in zip(row[1:8], types, strict=True)):
        return None
    if not (summary.run is None or isinstance(summary.run, str)) or not (
        deleted is None or isinstance(deleted, dict)
    ):
        return None
    return summary


# The numbering of the versions folders read last, by tree id (a tree never changes).
_NUMBERINGS: dict[str, dict[int, TreeEntry]] = {}
_NUMBERINGS_KEPT = 4


def folder_tree(snap: Snapshot, project: str, name: str) -> str | None:
    """The git tree id of a collection's versions folder (None: it has none)."""
    entry = snap.entry(versions_dir(project, name))
    return entry.sha if entry is not None and entry.is_dir else None


def numbered(snap: Snapshot, project: str, name: str) -> dict[int, TreeEntry]:
    """The versions folder's entries named ``v<N>.yaml``, by number. A log asks twice
    (for the next number and for the same bytes), ``ls`` once more: at 20,000 versions
    each reading of the names costs 20 ms, so each folder tree is read once."""
    tree = folder_tree(snap, project, name)
    if tree is None:
        return {}
    found = _NUMBERINGS.get(tree)
    if found is None:
        found = {}
        for filename, entry in snap.listdir(versions_dir(project, name)).items():
            number = version_of_file(filename)
            if number is not None:
                found[number] = entry
        while len(_NUMBERINGS) >= _NUMBERINGS_KEPT:
            del _NUMBERINGS[next(iter(_NUMBERINGS))]
        _NUMBERINGS[tree] = found
    return found


def _numbered(snap: Snapshot, project: str, name: str) -> dict[str, int]:
    """Each version file's blob id and number."""
    return {e.sha: n for n, e in numbered(snap, project, name).items() if e.is_file}


def _learn(
    index: VersionIndex,
    snap: Snapshot,
    project: str,
    name: str,
    files: dict[str, int],
    read: ReadVersion,
    folder: str | None = None,
) -> dict[str, VersionSummary]:
    """Parse, summarise and remember the files of ``files`` (blob id -> number); and,
    in the same transaction, that the versions folder ``folder`` (a tree id) is
    complete, when ``files`` were the only ones its rows lacked and all were read."""
    learned: dict[str, VersionSummary] = {}
    for oid, number in files.items():
        record = read(snap, project, name, number)
        if record is not None:
            learned[oid] = VersionSummary.of(record)
    done = [folder] if folder is not None and len(learned) == len(files) else []
    index.put_many(learned.items(), complete=done)
    return learned


def summaries(
    index: VersionIndex, snap: Snapshot, project: str, name: str, read: ReadVersion
) -> dict[int, VersionSummary]:
    """Every version file of a collection, summarised, by number (ascending): from the
    index by blob id, parsing (and validating) only the files it has not seen, so that
    the cost per version is a row, not a read. A summary whose identity is not the
    file's path (a version file copied to another number) is read again, and the
    store's reader refuses it."""
    numbered = _numbered(snap, project, name)
    known = index.get_many(list(numbered))
    stale = {
        oid: number
        for oid, number in numbered.items()
        if (s := known.get(oid)) is None
        or (s.project, s.name, s.version) != (project, name, number)
    }
    known.update(_learn(index, snap, project, name, stale, read, folder_tree(snap, project, name)))
    return {number: known[oid] for oid, number in sorted(numbered.items(), key=lambda i: i[1])
            if oid in known}  # fmt: skip


def newest_live(
    index: VersionIndex,
    snap: Snapshot,
    project: str,
    name: str,
    digest: str,
    read: ReadVersion,
) -> VersionRecord | None:
    """The newest version of a collection with artifact digest ``digest`` and no delete
    mark (as read, so the caller need not read it again), or None. The files the index
    has not seen are parsed and remembered first; then one look-up by digest names the
    candidates (a row counts where the folder holds its blob at its number), and the
    newest candidate whose file says so is the answer."""
    entries = numbered(snap, project, name)
    # A folder once found complete (every file with a row) needs no look-up of its
    # 20,000 blob ids again; a log's own write marks the folder it makes complete.
    tree = folder_tree(snap, project, name)
    candidates: set[int] = set()
    if tree is not None and not index.complete(tree):
        files = {e.sha: n for n, e in entries.items() if e.is_file}
        unseen = set(files) - index.known(list(files))
        learned = _learn(index, snap, project, name, {o: files[o] for o in unseen}, read, tree)
        # What was just learned counts too: an index that cannot be written still works.
        candidates = {
            files[o] for o, s in learned.items() if s.digest == digest and s.deleted is None
        }
    for oid, number in index.with_digest(digest):
        entry = entries.get(number) if isinstance(number, int) else None
        if entry is not None and entry.sha == oid and entry.is_file:
            candidates.add(number)
    # Few (usually none or one), and each read as the store reads it: a row of the
    # cache is never what decides which version a log returns.
    for number in sorted(candidates, reverse=True):
        record = read(snap, project, name, number)
        if record is not None and record.digest == digest and record.deleted is None:
            return record
    return None
