"""Hashing files, copying while hashing, and the stat cache that skips re-hashing.

The stat cache remembers, per absolute path, the (inode, size, mtime_ns, ctime_ns) a
file had when it was last hashed; a file that still has them all is not read again.
ctime cannot be set back by a user (``touch -d``, ``cp -p`` and ``rsync -t`` restore
mtime only), so an in-place rewrite of the same size is still noticed.
"""

from __future__ import annotations

import hashlib
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024

Advance = Callable[[int], None]


def scratch_path(directory: Path | str, prefix: str) -> Path:
    """A name no file has in ``directory``, for a temp file the caller creates with
    ``open(..., "xb")`` (which fails rather than reuse a name) and renames into place.
    Not ``mkstemp``, whose create-close-unlink doubles the file creations of every
    fetch, and file creation is what many small downloads wait on."""
    return Path(directory) / f"{prefix}{secrets.token_hex(8)}"


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
    """Copy ``src`` to ``dst`` reading each byte once; return (sha256 hex, size).

    Large files are pipelined: one thread hashes what the other writes, so the copy
    costs about as much as hashing alone.
    """
    try:
        size_hint = os.fstat(src.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        size_hint = 0
    if size_hint >= PIPELINE_FROM:
        return _copy_pipelined(src, dst, advance)
    h = hashlib.sha256()
    buf = bytearray(min(CHUNK, max(size_hint + 1, 64 * 1024)))
    view = memoryview(buf)
    size = 0
    while n := src.readinto(buf):  # type: ignore[attr-defined]
        chunk = view[:n]
        h.update(chunk)
        dst.write(chunk)
        size += n
        advance(n)
    return h.hexdigest(), size


PIPELINE_FROM = 16 * CHUNK


def _copy_pipelined(src: BinaryIO, dst: BinaryIO, advance: Advance) -> tuple[str, int]:
    free: queue.Queue[bytearray] = queue.Queue()
    for _ in range(4):
        free.put(bytearray(CHUNK))
    full: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
    failed: list[BaseException] = []

    def write() -> None:
        while (item := full.get()) is not None:
            buf, n = item
            if not failed:
                try:
                    dst.write(memoryview(buf)[:n])
                except BaseException as exc:  # re-raised in the reading thread
                    failed.append(exc)
            free.put(buf)

    writer = threading.Thread(target=write)  # always joined below, even on an error
    writer.start()
    h = hashlib.sha256()
    size = 0
    try:
        while not failed:
            buf = free.get()
            n = src.readinto(buf)  # type: ignore[attr-defined]
            if not n:
                free.put(buf)
                break
            h.update(memoryview(buf)[:n])
            full.put((buf, n))
            size += n
            advance(n)
    finally:
        full.put(None)
        writer.join()
    if failed:
        raise failed[0]
    return h.hexdigest(), size


def _wal(db: sqlite3.Connection) -> None:
    """Switch to WAL. Two processes that open a new cache at the same moment both ask
    for it, and SQLite answers the loser "database is locked" at once, without waiting
    out the busy timeout: ask again for up to 30 s."""
    deadline = time.monotonic() + 30
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def connect_sqlite(path: Path, schema: str) -> sqlite3.Connection:
    """A connection to a cache database shared by processes (WAL, a 30 s busy timeout,
    autocommit outside explicit transactions), its table made by ``schema`` if new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    _wal(db)
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(schema)
    return db


class StatCache:
    """SQLite table of path -> (inode, size, mtime_ns, sha256); safe across processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = connect_sqlite(
                self.path,
                "CREATE TABLE IF NOT EXISTS stat2 (path TEXT PRIMARY KEY, inode INTEGER,"
                " size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, sha256 TEXT)",
            )
            self._local.db = db
        return db

    def lookup(self, path: str, st: os.stat_result) -> str | None:
        return self.lookup_many([(path, st)]).get(path)

    def lookup_many(self, items: list[tuple[str, os.stat_result]]) -> dict[str, str]:
        """Digests for the paths whose stat still matches, in one pass."""
        db = self._db()
        found: dict[str, str] = {}
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT path, inode, size, mtime_ns, ctime_ns, sha256 FROM stat2"
                f" WHERE path IN ({marks})",
                [p for p, _ in chunk],
            ).fetchall()
            by_path = {r[0]: r for r in rows}
            for path, st in chunk:
                row = by_path.get(path)
                if row and tuple(row[1:5]) == _key(st):
                    found[path] = str(row[5])
        return found

    def store_many(self, items: list[tuple[str, os.stat_result, str]]) -> None:
        """Remember digests; files changed too recently to be sure of are skipped."""
        now_ns = time.time_ns()
        rows = [(p, *_key(st), h) for p, st, h in items if not _racy(st, now_ns)]
        if not rows:
            return
        db = self._db()
        with db:
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO stat2 VALUES (?, ?, ?, ?, ?, ?)", rows)


def _key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _racy(st: os.stat_result, now_ns: int) -> bool:
    """A file on a file system with whole-second timestamps, changed within the last
    two seconds, could change again without its mtime moving (git's "racy" entries)."""
    coarse = st.st_mtime_ns % 1_000_000_000 == 0 and st.st_ctime_ns % 1_000_000_000 == 0
    return coarse and now_ns - st.st_mtime_ns < 2_000_000_000
