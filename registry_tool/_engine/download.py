"""Downloading: a stored file to a path by temp file and rename, a version's files into
a folder (verified, skipping files already there), and checking a folder against a
manifest.

Files move several at a time: stored files as many at once as the blob store suits
(``Context.workers``), references as many as their scheme suits (an S3, GCS or web
server answers many requests at once, whatever the blob store is), both under one
progress bar. The first failure stops what has not started; what is under way lands
or is cleaned up, so a failed download leaves whole, verified files or none.

Every entry path is checked again before the first byte is written (a version committed
by hand may name ``.git/config``), temp files have short fixed-length names (so that a
file name of 255 bytes still downloads), and only regular files are read back: a FIFO
or a device under a folder being verified is reported, never opened.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from registry_tool import _progress as progress
from registry_tool import _settings
from registry_tool._engine.context import Context, deleted_message
from registry_tool._fmt import file_kind
from registry_tool._hashing import copy_and_hash, scratch_path
from registry_tool._model.manifest import Entry, blob_hex, check_entries, file_digest
from registry_tool._model.records import VersionRecord
from registry_tool._references import fetch_reference, scheme_module
from registry_tool._references.file import NotRegularFileError, hash_regular
from registry_tool.errors import (
    ArtifactError,
    CorruptBlobError,
    ReferenceGoneError,
    RegistryError,
    VerificationError,
)

T = TypeVar("T")


@dataclass
class VerifyReport:
    """What ``Artifact.verify`` found under a directory."""

    root: str
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.changed or self.extra)

    def __str__(self) -> str:
        if self.ok:
            return f"{self.root}: every file matches"
        parts = []
        for label, items in (
            ("missing", self.missing),
            ("changed", self.changed),
            ("extra", self.extra),
        ):
            if items:
                shown = ", ".join(items[:5]) + (
                    f" (+{len(items) - 5} more)" if len(items) > 5 else ""
                )
                parts.append(f"{len(items)} {label}: {shown}")
        return f"{self.root}: " + "; ".join(parts)


def download_version(
    ctx: Context,
    record: VersionRecord,
    root: str | os.PathLike[str] | None = None,
    *,
    path_prefix: str | None = None,
    label: str | None = None,
    allow_missing_references: bool = False,
    only: Collection[str] | None = None,
) -> str:
    """Write a version's files to ``root`` (default ``./artifacts/<name>:vN``), each
    verified; files already there with the right content are left alone. ``label``
    names the artifact in errors; ``only`` limits the download to those entry paths.

    ``allow_missing_references=True`` (W&B's option) skips a reference whose object is
    gone, as W&B does, rather than failing the download; a reference whose object is
    there but changed still fails: its bytes would not be what was logged."""
    label = label or f"{record.project}/{record.name}:v{record.version}"
    if record.deleted is not None:
        raise ArtifactError(deleted_message(record))
    target_root = (
        Path(root) if root is not None else Path("artifacts") / f"{record.name}:v{record.version}"
    )
    # A hand-made version may name '.git/config' or a 300-byte file: refused before any
    # byte is written, whichever way the record was read.
    entries = check_entries(
        e
        for e in record.entries
        if (path_prefix is None or e.path.startswith(path_prefix))
        and (only is None or e.path in only)
    )
    _make_root(target_root)
    real_root = target_root.resolve()
    inside: dict[Path, bool] = {}  # resolved once per folder, not once per file
    todo = []
    for entry in entries:
        target = real_root / entry.path
        folder = target.parent
        if folder not in inside:
            real = folder.resolve()
            inside[folder] = real == real_root or real_root in real.parents
        if not inside[folder] or (
            target.is_symlink() and real_root not in target.resolve().parents
        ):
            raise VerificationError(f"{record.name}: file {entry.path!r} would land outside {root}")
        if not _present(ctx, entry, target):
            todo.append((entry, target))
    total = sum(e.size or 0 for e, _ in todo)
    missing: set[str] = set()

    def fetch(item: tuple[Entry, Path], advance: Callable[[int], None]) -> None:
        entry, target = item
        try:
            fetch_entry(ctx, entry, target, advance)
        except ReferenceGoneError as exc:
            # Gone is told from changed by type: a changed object is still an error.
            if allow_missing_references and entry.ref is not None:
                missing.add(entry.path)  # a set's add is atomic under the GIL
                return
            raise type(exc)(f"{label}: file {entry.path!r}: {exc}") from exc
        except RegistryError as exc:
            raise type(exc)(f"{label}: file {entry.path!r}: {exc}") from exc

    stored = [item for item in todo if item[0].ref is None]
    referenced = [item for item in todo if item[0].ref is not None]
    groups = [(stored, ctx.workers), (referenced, reference_workers(e for e, _ in referenced))]
    _each(groups, fetch, f"downloading {progress.files(len(todo))}", total)
    learned = [
        (str(target), os.stat(target), entry.digest[7:])
        for entry, target in todo
        if entry.digest.startswith("sha256:") and entry.path not in missing
    ]
    ctx.stat_cache.store_many(learned)
    return str(target_root)


def prune(root: str | os.PathLike[str], keep: Collection[str]) -> list[str]:
    """Remove from ``root`` what is not one of the entry paths ``keep`` (and what stands
    in their way), for ``Artifact.checkout``; the paths removed, relative to ``root``.

    Nothing outside ``root`` is touched: symbolic links are removed, never followed,
    even where a kept file or folder should be (the download then writes a real file).
    Folders left empty that no kept path needs are removed too.
    """
    base = Path(root)
    if not base.is_dir() or base.is_symlink():
        return []
    folders = {p.rpartition("/")[0] for p in keep}
    needed = set()
    for parent in folders:
        while parent and parent not in needed:
            needed.add(parent)
            parent = parent.rpartition("/")[0]
    removed: list[str] = []
    walked: list[tuple[str, Path]] = []
    stack = [("", base)]
    while stack:
        rel, here = stack.pop()
        try:
            with os.scandir(here) as listing:
                items = list(listing)
        except OSError as exc:
            raise ArtifactError(f"cannot check out into {root}: {here}: {exc.strerror}") from exc
        for item in items:
            name = rel + item.name
            if item.is_dir(follow_symlinks=False):
                stack.append((f"{name}/", Path(item.path)))
                walked.append((name, Path(item.path)))
            elif item.is_symlink() or name not in keep:
                try:
                    os.unlink(item.path)
                except OSError as exc:
                    raise ArtifactError(f"cannot remove {item.path}: {exc.strerror}") from exc
                removed.append(name)
    for name, emptied in sorted(walked, key=lambda w: w[0].count("/"), reverse=True):
        if name not in needed and not any(emptied.iterdir()):
            emptied.rmdir()
            removed.append(f"{name}/")
    return removed


def reference_workers(entries: Iterable[Entry]) -> int:
    """How many references to fetch at once: ``REGISTRY_TOOL_WORKERS`` when set, else
    the most any of their schemes suits (``PARALLEL`` of its module: 16 for a server
    that answers many requests at once, 1 for a local file). The blob store's count
    does not apply: a registry with its blobs on a local disk may reference 20,000
    objects in S3, each fetch waiting on the network, not on the disk."""
    setting = _settings.workers()
    if setting is not None:
        return setting
    schemes = {urlparse(e.ref).scheme.lower() for e in entries if e.ref is not None}
    suits = (getattr(scheme_module(s), "PARALLEL", 1) for s in schemes)
    return max((int(n) for n in suits), default=1)


def _each(
    groups: Sequence[tuple[Sequence[T], int]],
    work: Callable[[T, Callable[[int], None]], None],
    description: str,
    total: int,
) -> None:
    """``work(item, advance)`` for every item of each group in turn, on the group's
    number of threads, under one progress bar of ``total`` bytes."""
    lock = threading.Lock()
    with progress.task(description, total) as bar:

        def advance(n: int) -> None:
            with lock:
                bar(n)

        for items, workers in groups:
            _run(items, workers, lambda item: work(item, advance))


def _run(items: Sequence[T], workers: int, job: Callable[[T], None]) -> None:
    """``job`` for every item on ``workers`` threads. The first failure cancels the
    jobs not yet started (as one thread would never start them) and lets the running
    ones finish, so none is left half-written; then the failure of the earliest item
    that failed is raised, one error naming its file."""
    workers = min(workers, len(items))
    if workers <= 1:
        for item in items:
            job(item)
        return
    failed = threading.Event()

    def guarded(item: T) -> None:
        if failed.is_set():
            return  # a thread free again before the failure was heard of starts nothing
        try:
            job(item)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(workers, thread_name_prefix="registry-tool-get") as pool:
        futures: list[Future[None]] = [pool.submit(guarded, item) for item in items]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        finally:  # an error, or Ctrl-C here: what has not started never will
            for future in futures:
                future.cancel()
    for future in futures:
        failure = None if future.cancelled() else future.exception()
        if failure is not None:
            raise failure


def _make_root(root: Path) -> None:
    """Create the download folder; a file (or a FIFO...) where it or a parent folder
    should be is one clear error rather than an ``OSError``."""
    for path in (root, *root.parents):
        try:
            mode = os.stat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue  # not there yet (or below a file, which a parent's turn reports)
        except OSError as exc:
            raise ArtifactError(f"cannot download into {root}: {exc.strerror}") from exc
        if not stat.S_ISDIR(mode):
            where = "it" if path == root else str(path)
            raise ArtifactError(
                f"cannot download into {root}: {where} is {file_kind(mode)}, not a folder"
            )
        break
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArtifactError(f"cannot download into {root}: {exc.strerror}") from exc


def _present(ctx: Context, entry: Entry, target: Path) -> bool:
    if not entry.digest.startswith("sha256:"):
        return False
    try:
        st = os.stat(target)
    except OSError:
        return False
    return ctx.stat_cache.lookup(str(target), st) == entry.digest[7:]


def verify_files(record: VersionRecord, root: str | os.PathLike[str] | None = None) -> VerifyReport:
    """Hash every file under ``root`` against the version's manifest.

    Returns the report when everything matches; raises ``VerificationError`` (carrying
    the report) when a file is missing, extra or changed. Only regular files are read: a
    FIFO or a device where a file should be is reported as changed, one that should not
    be there as extra.
    """
    base = (
        Path(root) if root is not None else Path("artifacts") / f"{record.name}:v{record.version}"
    )
    report = VerifyReport(str(base))
    expected = {e.path: e for e in record.entries}
    on_disk = set(_files_below(base))
    report.extra = sorted(on_disk - set(expected))
    total = sum(
        e.size or 0 for p, e in expected.items() if p in on_disk and e.digest.startswith("sha256:")
    )
    with progress.task("verifying", total) as advance:
        for path, entry in sorted(expected.items()):
            if path not in on_disk:
                report.missing.append(path)
            elif not _matches(base / path, entry, advance):
                report.changed.append(path)
    if not report.ok:
        raise VerificationError(str(report), report)
    return report


def _files_below(base: Path) -> list[str]:
    """Every non-folder below ``base``, as a path relative to it, walked with a stack
    (a folder may be thousands of levels deep); links to folders are not entered."""
    try:
        mode = os.stat(base).st_mode
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ArtifactError(f"cannot verify {base}: {exc.strerror}") from exc
    if not stat.S_ISDIR(mode):
        raise ArtifactError(f"cannot verify {base}: it is {file_kind(mode)}, not a folder")
    found = []
    stack = [("", str(base))]
    while stack:
        rel, folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                items = list(listing)
        except OSError as exc:
            raise ArtifactError(f"cannot verify {base}: {folder}: {exc.strerror}") from exc
        for item in items:
            if item.is_dir(follow_symlinks=False):
                stack.append((f"{rel}{item.name}/", item.path))
            elif not (item.is_symlink() and item.is_dir()):
                found.append(rel + item.name)
    return found


def _matches(path: Path, entry: Entry, advance: Callable[[int], None]) -> bool:
    """Whether the file at ``path`` is what ``entry`` records. A stored file is hashed; a
    reference proven by ETag, MD5 or size and date was checked by the download, and its
    size is what can still be checked here."""
    try:
        if entry.digest.startswith("sha256:"):
            return file_digest(hash_regular(path, advance)) == entry.digest
        st = os.stat(path)
    except NotRegularFileError:
        return False
    except OSError as exc:
        raise ArtifactError(f"cannot verify {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(st.st_mode):
        return False
    return entry.ref is None or entry.size is None or st.st_size == entry.size


def fetch_entry(ctx: Context, entry: Entry, target: Path, advance: Callable[[int], None]) -> None:
    """Write one stored file to ``target`` by temp file and rename, verified.

    Stored files come through the blob cache (a local store is its own cache). The temp
    file's name is short and of fixed length, whatever the target's: a name of 255 bytes,
    the most a file system holds, has no room for a prefix or a suffix.
    """
    tmp = str(scratch_path(target.parent, ".part-"))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if entry.ref is not None:
            # The scheme lands its bytes (verified) at the short name; renamed after.
            fetch_reference(entry, Path(tmp), advance)
            os.replace(tmp, target)
            return
        hexdigest = blob_hex(entry.digest)
        if ctx.blobs.local_path(hexdigest) is not None:
            ctx.blobs.fetch(hexdigest, Path(tmp), advance)
        elif not ctx.cache.path_for(hexdigest).is_file():
            # Fetched (and verified against the digest) just now: a kernel-side copy.
            with (
                ctx.cache.open_blob(ctx.blobs, hexdigest, advance) as src,
                open(tmp, "xb") as dst,
            ):
                _sendfile(src.fileno(), dst.fileno())
        else:
            # A cache hit is hashed again: the cache may have been damaged since.
            # An open handle: another process evicting the blob cannot take it away.
            with (
                ctx.cache.open_blob(ctx.blobs, hexdigest, lambda _n: None) as src,
                open(tmp, "xb") as dst,
            ):
                got, _ = copy_and_hash(src, dst, advance)
            if got != hexdigest:
                ctx.cache.discard(hexdigest)
                raise CorruptBlobError(f"cached blob {entry.digest} was corrupt; removed it")
        os.replace(tmp, target)
    except OSError as exc:
        # A full disk (ENOSPC), a file size limit (EFBIG), a read-only folder.
        raise ArtifactError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# What one sendfile call is asked to copy: a bigger blob takes a loop of them.
_SENDFILE_CHUNK = 1 << 20


def _sendfile(src: int, dst: int) -> None:
    """Copy ``src`` to ``dst`` in the kernel, from its start to its end (the call that
    sends nothing is the end): no byte passes through this process."""
    offset = 0
    while sent := os.sendfile(dst, src, offset, _SENDFILE_CHUNK):
        offset += sent
