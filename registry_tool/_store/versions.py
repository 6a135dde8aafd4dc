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
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from registry_tool._hashing import connect_sqlite
from registry_tool._model.records import VersionRecord

_SCHEMA = "CREATE TABLE IF NOT EXISTS versions1 (oid TEXT PRIMARY KEY, summary TEXT)"
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
            except (OSError, sqlite3.Error):
                self._broken = True  # a read-only or damaged cache: parse every file
                return None
            self._local.db = db
        return db

    def get_many(self, oids: list[str]) -> dict[str, VersionSummary]:
        """The summaries the index has of these blobs."""
        db = self._db()
        found: dict[str, VersionSummary] = {}
        if db is None:
            return found
        try:
            for start in range(0, len(oids), _CHUNK):
                chunk = oids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT oid, summary FROM versions1 WHERE oid IN ({marks})", chunk
                ).fetchall()
                for oid, text in rows:
                    summary = _load(text)
                    if summary is not None:
                        found[oid] = summary
        except sqlite3.Error:
            return {}
        return found

    def put_many(self, items: Iterable[tuple[str, VersionSummary]]) -> None:
        rows = [(oid, json.dumps(asdict(summary))) for oid, summary in items]
        db = self._db() if rows else None
        if db is None:
            return
        try:
            with db:
                db.execute("BEGIN")
                db.executemany("INSERT OR REPLACE INTO versions1 VALUES (?, ?)", rows)
        except sqlite3.Error:
            pass  # the index is an optimisation: the next read parses the files again


def _load(text: str) -> VersionSummary | None:
    """A stored summary, or None for a row this code cannot read (then the file is
    parsed again and the row replaced)."""
    try:
        return VersionSummary(**json.loads(text))
    except (TypeError, ValueError):
        return None
