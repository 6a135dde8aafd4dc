"""Downloading: a stored file to a path by temp file and rename, a version's files into
a folder (verified, skipping files already there), and checking a folder against a
manifest."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from registry_tool import _progress as progress
from registry_tool._engine.context import Context, deleted_message
from registry_tool._hashing import copy_and_hash, hash_file, scratch_path
from registry_tool._model.manifest import Entry, blob_hex, file_digest
from registry_tool._model.records import VersionRecord
from registry_tool._references import fetch_reference
from registry_tool.errors import (
    ArtifactError,
    CorruptBlobError,
    RegistryError,
    VerificationError,
)


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
) -> str:
    """Write a version's files to ``root`` (default ``./artifacts/<name>:vN``), each
    verified; files already there with the right content are left alone. ``label``
    names the artifact in errors."""
    label = label or f"{record.project}/{record.name}:v{record.version}"
    if record.deleted is not None:
        raise ArtifactError(deleted_message(record))
    target_root = (
        Path(root) if root is not None else Path("artifacts") / f"{record.name}:v{record.version}"
    )
    entries = [e for e in record.entries if path_prefix is None or e.path.startswith(path_prefix)]
    target_root.mkdir(parents=True, exist_ok=True)
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

    def fetch(item: tuple[Entry, Path], advance: Callable[[int], None]) -> None:
        entry, target = item
        try:
            fetch_entry(ctx, entry, target, advance)
        except RegistryError as exc:
            raise type(exc)(f"{label}: file {entry.path!r}: {exc}") from exc

    ctx.each(todo, fetch, f"downloading {progress.files(len(todo))}", total)
    learned = [
        (str(target), os.stat(target), entry.digest[7:])
        for entry, target in todo
        if entry.digest.startswith("sha256:")
    ]
    ctx.stat_cache.store_many(learned)
    return str(target_root)


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
    the report) when a file is missing, extra or changed.
    """
    base = (
        Path(root) if root is not None else Path("artifacts") / f"{record.name}:v{record.version}"
    )
    report = VerifyReport(str(base))
    expected = {e.path: e for e in record.entries}
    on_disk = set()
    if base.is_dir():
        for folder, _dirs, filenames in os.walk(base):
            for filename in filenames:
                on_disk.add((Path(folder) / filename).relative_to(base).as_posix())
    report.extra = sorted(on_disk - set(expected))
    total = sum(
        e.size or 0 for p, e in expected.items() if p in on_disk and e.digest.startswith("sha256:")
    )
    with progress.task("verifying", total) as advance:
        for path, entry in sorted(expected.items()):
            if path not in on_disk:
                report.missing.append(path)
            elif entry.digest.startswith("sha256:") and (
                file_digest(hash_file(base / path, advance)) != entry.digest
            ):
                report.changed.append(path)
            elif not entry.digest.startswith("sha256:") and (
                entry.ref is not None
                and entry.size is not None
                and (base / path).stat().st_size != entry.size
            ):
                # a reference proven by ETag, MD5 or size and date: the download
                # checked the bytes; here the size is what can still be checked
                report.changed.append(path)
    if not report.ok:
        raise VerificationError(str(report), report)
    return report


def fetch_entry(ctx: Context, entry: Entry, target: Path, advance: Callable[[int], None]) -> None:
    """Write one stored file to ``target`` by temp file and rename, verified.

    Stored files come through the blob cache (a local store is its own cache).
    """
    if entry.ref is not None:
        fetch_reference(entry, target, advance)
        return
    hexdigest = blob_hex(entry.digest)
    tmp = str(scratch_path(target.parent, f".{target.name}.part-"))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
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


def _sendfile(src: int, dst: int) -> None:
    offset = 0
    size = os.fstat(src).st_size
    while offset < size:
        sent = os.sendfile(dst, src, offset, size - offset)
        if sent == 0:
            break
        offset += sent
