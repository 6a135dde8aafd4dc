"""Hashing files, copying while hashing, and the stat cache that skips re-hashing.

The stat cache remembers, per absolute path, the (inode, size, mtime_ns) a file had
when it was last hashed; a file that still has them is not read again.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024

Advance = Callable[[int], None]


def _noop(_: int) -> None:
    return None


def hash_file(path: Path | str, advance: Advance = _noop) -> str:
    """SHA-256 hex of a file's bytes."""
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
            advance(n)
    return h.hexdigest()


def copy_and_hash(src: BinaryIO, dst: BinaryIO, advance: Advance = _noop) -> tuple[str, int]:
    """Copy ``src`` to ``dst`` reading each byte once; return (sha256 hex, size)."""
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    size = 0
    while n := src.readinto(buf):  # type: ignore[attr-defined]
        chunk = view[:n]
        h.update(chunk)
        dst.write(chunk)
        size += n
        advance(n)
    return h.hexdigest(), size


class StatCache:
    """SQLite table of path -> (inode, size, mtime_ns, sha256); safe across processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS stat (path TEXT PRIMARY KEY, inode INTEGER,"
                " size INTEGER, mtime_ns INTEGER, sha256 TEXT)"
            )
            self._local.db = db
        return db

    def lookup(self, path: str, st: os.stat_result) -> str | None:
        row = (
            self._db()
            .execute("SELECT inode, size, mtime_ns, sha256 FROM stat WHERE path = ?", (path,))
            .fetchone()
        )
        if row and tuple(row[:3]) == (st.st_ino, st.st_size, st.st_mtime_ns):
            return str(row[3])
        return None

    def lookup_many(self, items: list[tuple[str, os.stat_result]]) -> dict[str, str]:
        """Digests for the paths whose stat still matches, in one pass."""
        db = self._db()
        found: dict[str, str] = {}
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT path, inode, size, mtime_ns, sha256 FROM stat WHERE path IN ({marks})",
                [p for p, _ in chunk],
            ).fetchall()
            by_path = {r[0]: r for r in rows}
            for path, st in chunk:
                row = by_path.get(path)
                if row and tuple(row[1:4]) == (st.st_ino, st.st_size, st.st_mtime_ns):
                    found[path] = str(row[4])
        return found

    def store_many(self, items: list[tuple[str, os.stat_result, str]]) -> None:
        if not items:
            return
        db = self._db()
        with db:
            db.execute("BEGIN")
            db.executemany(
                "INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?, ?)",
                [(p, st.st_ino, st.st_size, st.st_mtime_ns, h) for p, st, h in items],
            )
