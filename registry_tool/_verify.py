"""Whether what the registry records is what it holds.

``verify_store`` (``registry-tool verify --all``) reads every blob a version names,
once per distinct blob and in parallel, and hashes it: a blob missing from storage or
whose bytes no longer hash to its digest is reported with every version and file that
names it. ``missing_blobs`` is what ``check --verify-blobs`` asks of the blobs a
change adds. (Recomputing digests, ``check --deep``, is ``registry_tool._checks.deep``.)

>>> report = verify_store(Context.open())          # doctest: +SKIP
>>> report.ok, [str(b) for b in report.bad]        # doctest: +SKIP
(False, ['data/train:v3 train.csv sha256:9f2c... corrupt'])
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from registry_tool import _progress as progress
from registry_tool._engine import Context
from registry_tool._engine.live import live_blobs
from registry_tool._references.file import hash_regular
from registry_tool._store import Snapshot
from registry_tool.errors import CorruptBlobError

MISSING = "missing"
CORRUPT = "corrupt"


@dataclass(frozen=True)
class BadBlob:
    """One file of one version whose blob is missing from storage or corrupt."""

    artifact: str  # project/name
    version: int
    path: str
    digest: str  # sha256:<hex>
    problem: str  # "missing" or "corrupt"

    def __str__(self) -> str:
        return f"{self.artifact}:v{self.version} {self.path} {self.digest} {self.problem}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BlobReport:
    """What ``verify_store`` checked and found."""

    store: str
    versions: int = 0
    files: int = 0
    blobs: int = 0
    bytes: int = 0
    deleted: int = 0  # soft-deleted versions, skipped: their blobs may be collected
    bad: list[BadBlob] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.bad

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "store": self.store,
            "versions": self.versions,
            "files": self.files,
            "blobs": self.blobs,
            "bytes": self.bytes,
            "deleted_skipped": self.deleted,
            "bad": [b.to_dict() for b in self.bad],
        }


def verify_store(ctx: Context, snap: Snapshot | None = None) -> BlobReport:
    """Check every blob named by a version of ``snap`` (default: the current branch)
    against its digest in the registry's blob store.

    Soft-deleted versions are skipped (garbage collection may have removed their
    blobs); a blob they share with a live version is checked for that one. References
    (``add_reference``) are not in the store and are not read.
    """
    store = ctx.store
    snap = snap or store.head()
    report = BlobReport(store=ctx.blobs.url)
    live = live_blobs(store, refs=snap)
    report.versions, report.deleted = live.versions, live.deleted
    report.files = sum(len(uses) for uses in live.uses.values())
    digests = sorted(live.uses)
    report.blobs = len(digests)
    report.bytes = sum(live.size(d) for d in digests)
    with tempfile.TemporaryDirectory(prefix="registry-tool-verify-") as scratch:
        check = _checker(ctx, Path(scratch))
        verdicts = ctx.each(
            digests, check, f"verifying {progress.files(len(digests))}", report.bytes
        )
    for hexdigest, verdict in zip(digests, verdicts, strict=True):
        if verdict is not None:
            for use in live.uses[hexdigest]:
                report.bad.append(
                    BadBlob(use.artifact, use.version, use.path, f"sha256:{hexdigest}", verdict)
                )
    report.bad.sort(key=lambda b: (b.artifact, b.version, b.path))
    return report


def _checker(ctx: Context, scratch: Path) -> Callable[[str, Callable[[int], None]], str | None]:
    """``check(hexdigest, advance)``: None for a good blob, else "missing" or "corrupt".
    A blob on this machine's disk (a local store) is hashed where it lies, if it is a
    regular file: anything else there (a FIFO would block the read, a device never end
    it) is corrupt. Other stores' blobs are fetched to a scratch file (the store
    verifies the digest as it writes) and removed at once."""
    blobs = ctx.blobs

    def check(hexdigest: str, advance: Callable[[int], None]) -> str | None:
        local = blobs.local_path(hexdigest)
        if local is not None:
            try:
                return None if hash_regular(local, advance) == hexdigest else CORRUPT
            except FileNotFoundError:
                return MISSING
            except OSError:
                return CORRUPT  # unreadable or not a regular file: not the blob
        target = scratch / hexdigest
        try:
            blobs.fetch(hexdigest, target, advance)
        except CorruptBlobError:
            return CORRUPT if blobs.has(hexdigest) else MISSING
        finally:
            target.unlink(missing_ok=True)
        return None

    return check


def missing_blobs(ctx: Context) -> Callable[[list[str]], list[str]]:
    """For ``check --verify-blobs``: the digests not in storage, or (on a local store)
    whose bytes no longer hash to their name, or that are not a regular file there. On
    S3 the server verified each blob's SHA-256 when it was stored, so presence is what
    is checked."""

    def missing(digests: list[str]) -> list[str]:
        present = ctx.has_many(set(digests))
        bad = [d for d in digests if not present[d]]
        for d in digests:
            local = ctx.blobs.local_path(d) if present[d] else None
            if local is not None and not _holds(local, d):
                bad.append(d)
        return bad

    return missing


def _holds(path: Path, hexdigest: str) -> bool:
    """Whether the regular file at ``path`` hashes to ``hexdigest``."""
    try:
        return hash_regular(path) == hexdigest
    except OSError:
        return False


__all__ = [
    "BadBlob",
    "BlobReport",
    "missing_blobs",
    "verify_store",
]
