"""The local content-addressed cache of blobs fetched from a remote store.

``<cache>/blobs/sha256/<2 hex>/<64 hex>``; entries are written by temp file, verified,
then renamed, so a reader only ever sees whole, verified blobs.

The cache is bounded (``REGISTRY_TOOL_CACHE_MAX_SIZE``, default 20 GiB) and kept under
its bound by evicting the least recently used blobs (recency is a blob's mtime, which
every read touches). Adding a blob adds its size to a running estimate kept in
``<cache>/blobs/size.estimate`` (updated under a short file lock), so a fetch never
rescans the cache; only when the estimate goes over the bound does a cleanup scan it.

Several processes may use one cache at once: blobs appear by atomic rename and are
removed by unlink, and a reader holds the blob open (``open_blob``), so a blob another
process evicts stays readable to it; a reader that finds it gone fetches it again.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from registry_tool import _settings
from registry_tool._blobs.base import BlobStore, blob_key
from registry_tool._hashing import Advance, scratch_path
from registry_tool._locking import file_lock
from registry_tool._store.paths import cache_home
from registry_tool.errors import StorageError, UsageError

KiB = 1024
GiB = 1024**3
DEFAULT_MAX_SIZE = 20 * GiB
ENV_MAX_SIZE = "REGISTRY_TOOL_CACHE_MAX_SIZE"
STALE_TMP_SECONDS = 3600  # temp files untouched this long belong to no live fetch
LOCK_TIMEOUT = 600.0

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
# At most 24 digits either side of the point: a yottabyte is 25 digits, and Python
# refuses to convert a string of over 4,300 digits to an int.
_SIZE = re.compile(r"^\s*(\d{1,24}(?:\.\d{0,24})?|\.\d{1,24})\s*([a-z]*)\s*$", re.I)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

SIZE_HELP = (
    "plain bytes, or a number with a unit: KB, MB, GB, TB (powers of 1000) "
    "or KiB, MiB, GiB, TiB (powers of 1024)"
)


def parse_size(text: str | int, what: str = "size") -> int:
    """``"20GB"``, ``"512MiB"``, ``"1.5 GB"``, ``"1048576"`` -> bytes.

    >>> parse_size("512MiB")
    536870912
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise UsageError(f"{what}: {text} is negative")
        return text
    match = _SIZE.match(str(text))
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        shown = repr(text) if len(str(text)) <= 40 else repr(f"{str(text)[:40]}...")
        raise UsageError(f"{what}: {shown} is not a size ({SIZE_HELP}, e.g. 20GB or 512MiB)")
    number = match.group(1)
    if "." in number:
        whole, _, frac = number.partition(".")
        # Exact arithmetic: 1.1GB is 1100000000 bytes, not 1100000000.0000002.
        scale = 10 ** len(frac)
        exact: int = (int(whole or "0") * scale + int(frac or "0")) * _UNITS[unit] // scale
        return exact
    return int(number) * _UNITS[unit]


def configured_max_size() -> int:
    """The bound from ``REGISTRY_TOOL_CACHE_MAX_SIZE``, else 20 GiB."""
    value = _settings.cache_max_size()
    if value is None:
        return DEFAULT_MAX_SIZE
    return parse_size(value, f"${ENV_MAX_SIZE}")


@dataclass(frozen=True)
class CacheInfo:
    """What the blob cache holds."""

    path: str
    blobs: int
    bytes: int
    max_size: int
    tmp_files: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "blobs": self.blobs,
            "bytes": self.bytes,
            "max_size": self.max_size,
            "tmp_files": self.tmp_files,
        }


@dataclass(frozen=True)
class CleanupReport:
    """What a cleanup removed (least recently used first) and what is left."""

    path: str
    max_size: int
    removed: tuple[str, ...]  # digests, in eviction order
    freed: int
    blobs: int  # left in the cache
    bytes: int
    tmp_removed: int
    failed: tuple[str, ...] = field(default=())  # one message per blob that would not go

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "max_size": self.max_size,
            "removed": len(self.removed),
            "removed_digests": [f"sha256:{d}" for d in self.removed],
            "freed": self.freed,
            "blobs": self.blobs,
            "bytes": self.bytes,
            "tmp_removed": self.tmp_removed,
            "failed": list(self.failed),
        }


@dataclass(frozen=True)
class _Blob:
    mtime_ns: int
    size: int
    digest: str
    path: str


class BlobCache:
    def __init__(self, root: Path, max_size: int | None = None) -> None:
        self.root = root
        self.max_size = configured_max_size() if max_size is None else parse_size(max_size)
        self._blobs = root / "blobs"
        self._tmp = root / "tmp"
        self._pending = 0  # bytes added but not yet written to the shared estimate
        self._pending_lock = threading.Lock()
        self._flushed_at = 0.0
        self._known_estimate: int | None = None

    def path_for(self, hexdigest: str) -> Path:
        return self._blobs / blob_key(hexdigest)

    # -- reading ---------------------------------------------------------------------

    def get(self, store: BlobStore, hexdigest: str, advance: Advance) -> Path:
        """The cached blob, fetched from ``store`` (and verified) when missing.

        Another process may evict the blob once this returns; ``open_blob`` hands over
        an open file instead, which eviction cannot take away.
        """
        final = self.path_for(hexdigest)
        for _ in range(3):  # evicted the moment it arrived: fetch it again
            with self.open_blob(store, hexdigest, advance):
                pass
            if final.exists():
                break
        return final

    def open_blob(self, store: BlobStore, hexdigest: str, advance: Advance) -> BinaryIO:
        """The cached blob open for reading, fetched from ``store`` (and verified) when
        missing; the caller closes it."""
        final = self.path_for(hexdigest)
        try:
            f = open(final, "rb", buffering=0)  # noqa: SIM115
        except FileNotFoundError:
            return self._fetch(store, hexdigest, advance)
        with contextlib.suppress(OSError):  # evicted since, or not ours to touch
            os.utime(final)  # recency for LRU cleanup
        return f

    def discard(self, hexdigest: str) -> None:
        """Remove a cached blob (one found corrupt)."""
        with contextlib.suppress(FileNotFoundError):
            _remove(self.path_for(hexdigest))

    def _fetch(self, store: BlobStore, hexdigest: str, advance: Advance) -> BinaryIO:
        self._tmp.mkdir(parents=True, exist_ok=True)
        tmp = str(scratch_path(self._tmp, ".fetch-"))
        final = self.path_for(hexdigest)
        added = 0
        try:
            try:
                store.fetch(hexdigest, Path(tmp), advance)
            except OSError as exc:  # a full disk (ENOSPC), a file size limit (EFBIG)
                raise StorageError(
                    f"cannot write to the blob cache {self.root}: {exc.strerror or exc}"
                ) from exc
            # Opened before it is published: from here on eviction cannot take it away.
            f = open(tmp, "rb", buffering=0)  # noqa: SIM115
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp, 0o444)
                if not final.exists():
                    added = os.fstat(f.fileno()).st_size
                os.replace(tmp, final)
            except BaseException:
                f.close()
                raise
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        if added:
            self._added(hexdigest, added)
        return f

    # -- the size bound --------------------------------------------------------------

    def _added(self, hexdigest: str, size: int) -> None:
        """Count a new blob; clean up when the cache is over its bound (never failing
        the fetch that added it: the cache is an optimisation).

        Sizes are added up in memory and written to the shared estimate at most once a
        second (or once they reach 1% of the bound): sixteen download threads would
        otherwise queue on the estimate's file lock for every small blob.
        """
        with self._pending_lock:
            self._pending += size
            now = time.monotonic()
            known = self._known_estimate
            due = (
                known is None
                or now - self._flushed_at >= 1.0
                or self._pending >= self.max_size // 100
                or known + self._pending > self.max_size
            )
            if not due:
                return
            size, self._pending = self._pending, 0
            self._flushed_at = now
        try:
            with _locked(self._blobs / "size.lock"):
                estimate = self._read_estimate()
                # No estimate yet: one scan (it sees the new blob) starts it.
                estimate = self._total() if estimate is None else estimate + size
                self._write_estimate(estimate)
            self._known_estimate = estimate
            if estimate > self.max_size:
                with _locked(self._blobs / "cleanup.lock"):
                    # Another process may have cleaned up while we waited for the lock.
                    current = self._read_estimate()
                    if current is None or current > self.max_size:
                        self._cleanup_locked(self.max_size, {hexdigest})
        except (OSError, StorageError):
            pass

    def estimate(self) -> int | None:
        """The running size estimate (None before anything was counted)."""
        return self._read_estimate()

    def _read_estimate(self) -> int | None:
        try:
            text = (self._blobs / "size.estimate").read_text()
            return int(text.strip())
        except (OSError, ValueError):
            return None

    def _write_estimate(self, value: int) -> None:
        target = self._blobs / "size.estimate"
        tmp = target.with_name(f"size.estimate.{os.getpid()}.tmp")
        tmp.write_text(f"{max(value, 0)}\n")
        os.replace(tmp, target)

    def _scan(self) -> list[_Blob]:
        """Every cached blob, least recently used first."""
        found = []
        base = self._blobs / "sha256"
        try:
            with os.scandir(base) as listing:  # closed even when the folder goes meanwhile
                subs = list(listing)
        except FileNotFoundError:
            return []
        for sub in subs:
            if not sub.is_dir(follow_symlinks=False):
                continue
            try:
                with os.scandir(sub.path) as listing:
                    entries = list(listing)
            except FileNotFoundError:
                continue
            for entry in entries:
                if not _HEX64.match(entry.name):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # evicted by another process meanwhile
                found.append(_Blob(st.st_mtime_ns, st.st_size, entry.name, entry.path))
        found.sort(key=lambda b: (b.mtime_ns, b.digest))
        return found

    def _total(self) -> int:
        return sum(b.size for b in self._scan())

    def _tmp_files(self) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(self._tmp) as listing:
                return [e for e in listing if e.is_file(follow_symlinks=False)]
        except FileNotFoundError:
            return []

    def info(self) -> CacheInfo:
        blobs = self._scan()
        return CacheInfo(
            path=str(self.root),
            blobs=len(blobs),
            bytes=sum(b.size for b in blobs),
            max_size=self.max_size,
            tmp_files=len(self._tmp_files()),
        )

    def cleanup(self, max_size: int | None = None, *, keep: Iterable[str] = ()) -> CleanupReport:
        """Evict least recently used blobs until the cache holds at most ``max_size``
        bytes (default: its bound), and remove temp files older than an hour.

        One cleanup runs at a time (others wait for it); blobs in ``keep`` stay.
        """
        bound = self.max_size if max_size is None else parse_size(max_size)
        with _locked(self._blobs / "cleanup.lock"):
            return self._cleanup_locked(bound, set(keep))

    def _cleanup_locked(self, bound: int, kept: set[str]) -> CleanupReport:
        started = self._read_estimate()
        tmp_removed = self._clean_tmp()
        blobs = self._scan()
        total = sum(b.size for b in blobs)
        removed: list[str] = []
        failed: list[str] = []
        freed = 0
        left = len(blobs)
        for blob in blobs:
            if total <= bound:
                break
            if blob.digest in kept:
                continue
            try:
                _remove(Path(blob.path))
            except FileNotFoundError:
                pass  # another process removed it
            except OSError as exc:
                failed.append(f"sha256:{blob.digest}: {exc.strerror or exc}")
                continue
            else:
                removed.append(blob.digest)
                freed += blob.size
            total -= blob.size
            left -= 1
        # What other processes added while we scanned stays counted.
        with _locked(self._blobs / "size.lock"):
            now = self._read_estimate()
            meanwhile = now - started if now is not None and started is not None else 0
            self._write_estimate(total + max(meanwhile, 0))
        return CleanupReport(
            path=str(self.root),
            max_size=bound,
            removed=tuple(removed),
            freed=freed,
            blobs=left,
            bytes=total,
            tmp_removed=tmp_removed,
            failed=tuple(failed),
        )

    def _clean_tmp(self) -> int:
        cutoff = time.time() - STALE_TMP_SECONDS
        removed = 0
        for entry in self._tmp_files():
            try:
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    _remove(Path(entry.path))
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def _remove(path: Path) -> None:
    """Unlink a (read-only) cache file, making it writable first where that is needed."""
    try:
        os.unlink(path)
    except PermissionError:
        os.chmod(path, 0o644)
        os.unlink(path)


def _locked(path: Path) -> AbstractContextManager[None]:
    return file_lock(path, timeout=LOCK_TIMEOUT, error=StorageError)


def open_cache(max_size: int | str | None = None) -> BlobCache:
    """The user's blob cache (``REGISTRY_TOOL_CACHE_DIR`` or the XDG cache dir)."""
    bound = None if max_size is None else parse_size(max_size, "--max-size")
    return BlobCache(cache_home(), bound)


def cache_info() -> CacheInfo:
    """``registry-tool cache info``."""
    return open_cache().info()


def cleanup_cache(max_size: str | None = None) -> CleanupReport:
    """``registry-tool cache cleanup [--max-size SIZE]``."""
    cache = open_cache(max_size)
    return cache.cleanup()
