"""Hashing while copying, and the stat cache, at their boundaries.

Files of ``PIPELINE_FROM`` bytes or more are copied by two threads (one hashes what the
other writes): the digest, the bytes written, the size, the progress and a write error
must come out exactly as from the one-thread copy just below that size. The stat cache
must never answer for a file whose inode, size, mtime or ctime moved, nor remember a
file changed too recently for whole-second timestamps to tell a later change.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import threading
from pathlib import Path
from typing import BinaryIO

import pytest

from registry_tool import _hashing
from registry_tool._hashing import (
    CHUNK,
    PIPELINE_FROM,
    StatCache,
    copy_and_hash,
    hash_file,
    scratch_path,
)

SECOND = 1_000_000_000


def make(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


class Sink(io.RawIOBase):
    """A destination that keeps what it is given and fails on write number ``fail_at``."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.data = bytearray()
        self.writes = 0
        self.fail_at = fail_at

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:  # type: ignore[no-untyped-def,override]
        self.writes += 1
        if self.writes == self.fail_at:
            raise OSError(28, "No space left on device")
        self.data += bytes(chunk)
        return len(chunk)


class CountingReader(io.FileIO):
    """A file whose reads are counted."""

    reads = 0

    def readinto(self, buffer) -> int | None:  # type: ignore[no-untyped-def,override]
        self.reads += 1
        return super().readinto(buffer)


@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, PIPELINE_FROM - 1, PIPELINE_FROM, PIPELINE_FROM + 12345],
)
def test_copy_and_hash_gives_the_bytes_their_digest_size_and_progress(tmp_path, size):
    data = make(tmp_path / "src", size)
    sink, seen = Sink(), []
    with open(tmp_path / "src", "rb") as src:
        digest, copied = copy_and_hash(src, sink, seen.append)  # type: ignore[arg-type]
    assert (digest, copied) == (hashlib.sha256(data).hexdigest(), size)
    assert bytes(sink.data) == data
    assert sum(seen) == size and all(n > 0 for n in seen)


def test_files_from_the_threshold_up_are_pipelined(tmp_path, monkeypatch):
    calls: list[int] = []
    real = _hashing._copy_pipelined

    def spy(src: BinaryIO, dst: BinaryIO, advance):  # type: ignore[no-untyped-def]
        calls.append(os.fstat(src.fileno()).st_size)
        return real(src, dst, advance)

    monkeypatch.setattr(_hashing, "_copy_pipelined", spy)
    for size in (PIPELINE_FROM - 1, PIPELINE_FROM):
        make(tmp_path / "src", size)
        with open(tmp_path / "src", "rb") as src:
            copy_and_hash(src, Sink())  # type: ignore[arg-type]
    assert calls == [PIPELINE_FROM]
    # A source without a file descriptor is copied by one thread, whatever its size.
    data = os.urandom(PIPELINE_FROM + 1)
    sink = Sink()
    assert copy_and_hash(io.BytesIO(data), sink) == (  # type: ignore[arg-type]
        hashlib.sha256(data).hexdigest(),
        len(data),
    )
    assert calls == [PIPELINE_FROM] and bytes(sink.data) == data


@pytest.mark.parametrize("fail_at", [1, 3])
def test_a_write_error_in_the_pipelined_copy_is_raised_and_stops_the_reading(tmp_path, fail_at):
    (tmp_path / "src").write_bytes(bytes(PIPELINE_FROM * 2))
    sink = Sink(fail_at=fail_at)
    src = CountingReader(tmp_path / "src", "rb")
    with src, pytest.raises(OSError, match="No space left on device"):
        copy_and_hash(src, sink)  # type: ignore[arg-type]
    assert sink.writes == fail_at  # nothing is written after the failure
    assert src.reads < 2 * 16  # it stopped reading before the end (32 chunks)


def test_a_write_error_in_the_one_thread_copy_is_raised(tmp_path):
    make(tmp_path / "src", CHUNK * 3)
    with open(tmp_path / "src", "rb") as src, pytest.raises(OSError, match="No space"):
        copy_and_hash(src, Sink(fail_at=2))  # type: ignore[arg-type]


def test_hash_file_reads_every_byte_and_reports_progress(tmp_path):
    data = make(tmp_path / "f", CHUNK * 2 + 7)
    seen: list[int] = []
    assert hash_file(tmp_path / "f", seen.append) == hashlib.sha256(data).hexdigest()
    assert seen == [CHUNK, CHUNK, 7]
    (tmp_path / "empty").write_bytes(b"")
    assert hash_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_scratch_paths_are_new_names_in_the_folder(tmp_path):
    names = {scratch_path(tmp_path, ".tmp-") for _ in range(50)}
    assert len(names) == 50
    # Short: 16 hex digits after the prefix, so a 255-byte name still has room.
    assert {len(p.name) for p in names} == {len(".tmp-") + 16}
    assert all(p.parent == tmp_path and p.name.startswith(".tmp-") for p in names)
    assert not any(p.exists() for p in names)


# -- the stat cache -------------------------------------------------------------------


class Stat:
    """A stat result with chosen fields."""

    def __init__(self, ino: int, size: int, mtime_ns: int, ctime_ns: int) -> None:
        self.st_ino, self.st_size = ino, size
        self.st_mtime_ns, self.st_ctime_ns = mtime_ns, ctime_ns


OLD = 1_600_000_000 * SECOND + 123_456_789  # fine-grained, long ago


def test_the_cache_answers_only_while_inode_size_mtime_and_ctime_all_match(tmp_path):
    cache = StatCache(tmp_path / "stat.sqlite")
    st = Stat(5, 100, OLD, OLD + 1)
    cache.store_many([("/a", st, "d" * 64)])  # type: ignore[list-item]
    assert cache.lookup("/a", st) == "d" * 64  # type: ignore[arg-type]
    for moved in (
        Stat(6, 100, OLD, OLD + 1),
        Stat(5, 101, OLD, OLD + 1),
        Stat(5, 100, OLD + 1, OLD + 1),
        Stat(5, 100, OLD, OLD + 2),
    ):
        assert cache.lookup("/a", moved) is None  # type: ignore[arg-type]
    assert cache.lookup("/b", st) is None  # type: ignore[arg-type]
    # Another process (another connection) sees the same rows.
    assert StatCache(cache.path).lookup("/a", st) == "d" * 64  # type: ignore[arg-type]


def test_many_paths_are_looked_up_in_chunks(tmp_path):
    cache = StatCache(tmp_path / "stat.sqlite")
    rows = [(f"/f{i}", Stat(i, i, OLD, OLD), f"{i:064x}") for i in range(1234)]
    cache.store_many(rows)  # type: ignore[arg-type]
    found = cache.lookup_many([(p, st) for p, st, _ in rows])  # type: ignore[misc]
    assert found == {p: h for p, _, h in rows}


def test_a_file_changed_in_the_last_two_seconds_with_whole_second_times_is_not_kept(
    tmp_path, monkeypatch
):
    now = 1_700_000_000 * SECOND
    monkeypatch.setattr(_hashing.time, "time_ns", lambda: now)
    cache = StatCache(tmp_path / "stat.sqlite")
    cases = {
        "/recent": Stat(1, 1, now - SECOND, now - SECOND),  # racy: kept out
        "/edge": Stat(2, 1, now - 2 * SECOND, now - 2 * SECOND),  # exactly 2 s: kept
        "/fine": Stat(3, 1, now - SECOND + 5, now - SECOND + 5),  # fine-grained: kept
        "/half": Stat(4, 1, now - SECOND, now - SECOND + 5),  # ctime fine-grained: kept
        "/future": Stat(5, 1, now + SECOND, now + SECOND),  # clock skew: racy
    }
    cache.store_many([(p, st, "e" * 64) for p, st in cases.items()])  # type: ignore[misc]
    kept = cache.lookup_many(list(cases.items()))  # type: ignore[arg-type]
    assert sorted(kept) == ["/edge", "/fine", "/half"]
    # The window is 2 s, open at its end: 1 ns less than 2 s ago is still inside.
    racy = _hashing._racy
    st = Stat(0, 0, now - SECOND, now - SECOND)
    assert racy(st, now - SECOND + 2 * SECOND - 1) is True  # type: ignore[arg-type]
    assert racy(st, now - SECOND + 2 * SECOND) is False  # type: ignore[arg-type]


# -- the cache databases --------------------------------------------------------------


def test_a_cache_database_is_made_in_a_new_folder_shared_and_waiting(tmp_path):
    db = _hashing.connect_sqlite(tmp_path / "a" / "b" / "c.sqlite", "CREATE TABLE t (x)")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    assert db.execute("PRAGMA busy_timeout").fetchone() == (30000,)
    db.execute("INSERT INTO t VALUES (1)")  # autocommit: another connection sees it
    other = _hashing.connect_sqlite(
        tmp_path / "a" / "b" / "c.sqlite", "CREATE TABLE IF NOT EXISTS t (x)"
    )
    assert other.execute("SELECT x FROM t").fetchall() == [(1,)]


class Locked:
    """A connection whose first ``failures`` statements find the database locked."""

    def __init__(self, failures: int, message: str = "database is locked") -> None:
        self.failures, self.message, self.calls = failures, message, 0

    def execute(self, sql: str) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise sqlite3.OperationalError(self.message)


def test_switching_to_wal_waits_out_a_locked_database_for_30_seconds(monkeypatch):
    now = [1000.0]
    slept: list[float] = []
    monkeypatch.setattr(_hashing.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(_hashing.time, "sleep", slept.append)
    db = Locked(3)
    _hashing._wal(db)  # type: ignore[arg-type]
    assert (db.calls, slept) == (4, [0.02, 0.02, 0.02])
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        _hashing._wal(Locked(1, "disk I/O error"))  # type: ignore[arg-type]

    def late() -> float:  # each look at the clock is 10 s later
        now[0] += 10
        return now[0]

    monkeypatch.setattr(_hashing.time, "monotonic", late)
    db = Locked(100)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _hashing._wal(db)  # type: ignore[arg-type]
    assert db.calls == 4  # 10, 20 and 30 s after the first try it asked again; not at 40
    db = Locked(100)
    monkeypatch.setattr(_hashing.time, "monotonic", lambda: 30.0 if db.calls else 0.0)
    _hashing._wal(db)  # type: ignore[arg-type]
    assert db.calls == 101  # at exactly 30 s it still asks: the wait ends only past it
    db = Locked(100)
    monkeypatch.setattr(_hashing.time, "monotonic", lambda: 30.5 if db.calls else 0.0)
    with pytest.raises(sqlite3.OperationalError):
        _hashing._wal(db)  # type: ignore[arg-type]
    assert db.calls == 1  # half a second past: no more asking


def test_each_thread_keeps_its_own_connection(tmp_path):
    cache = StatCache(tmp_path / "stat.sqlite")
    first = cache._db()
    assert cache._db() is first
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(cache._db()))
    thread.start()
    thread.join()
    assert other and other[0] is not first
