"""Garbage collection of the blob store: what ``registry-tool gc`` removes, and why
that is safe.

>>> report = collect_garbage(Context.open(), grace=7 * DAY, dry_run=True)  # doctest: +SKIP
>>> len(report.removed), report.removed_bytes                              # doctest: +SKIP
(12, 3400000)

A blob is garbage when both hold:

* **No live version names it.** Every ref of the registry clone is read: local
  branches, remote-tracking branches (fetched first when the registry has a remote),
  tags, HEAD and any other ref. A version file at the tip of any of them keeps every
  blob it names, unless that file carries the ``deleted`` mark (``registry-tool
  delete``): a deleted version's blobs do not count, which is the point of deleting
  it, but the same version unmarked on another branch or tag keeps them. Only the
  tips' trees are read, not their history: a normal write never removes a version
  file, so a tip holds every version committed before it, and reading the history
  would keep a deleted version's blobs forever.
* **No alias names a version that names it.** A version a project alias or a
  model-registry stage (through its link) names, on any of those tips, keeps its
  blobs even when it carries the deleted mark. ``registry-tool delete`` takes the
  aliases away (and refuses a protected stage), so only a mark made around the tool
  -- a hand edit, a bad merge -- leaves one; removing the blobs then would make the
  mark impossible to undo, and would take ``production`` down without a review. The
  report counts these versions (``held_versions``) and the blobs kept for them alone
  (``held``).
* **It is older than the grace period** (default 7 days; the blob's mtime in a local
  store, its LastModified in S3). A log uploads its blobs before the commit that names
  them, so a log in progress -- in this or any other clone -- is protected only by
  this: the grace period must outlast the longest time between a blob's upload and
  the push of its commit.

The refs are read by ``live_blobs(store, refs="all")`` (``_engine/live.py``): what is
read is read once (trees shared by several refs by tree id, version files by blob id),
and a version file is not parsed: the digests it names are found in its bytes (which
can only keep more blobs, never fewer); it is parsed only when it may carry the
deleted mark. Just before removing anything the refs are read again, so a version
committed while the store was being listed keeps its blobs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from registry_tool import _progress as progress
from registry_tool._blobs.base import BlobInfo
from registry_tool._engine import Context
from registry_tool._engine.live import ALL_REFS, live_blobs
from registry_tool.errors import GitError, UsageError

DAY = 86400.0
DEFAULT_GRACE = "7d"
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY, "w": 7 * DAY}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str) -> float:
    """``"7d"`` -> seconds; units s, m, h, d, w (a bare number is seconds)."""
    match = _DURATION.match(text)
    if not match:
        raise UsageError(f"--grace {text!r}: expected a duration like 7d, 12h, 30m, 45s or 2w")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def format_duration(seconds: float) -> str:
    """The inverse of ``parse_duration``, in the largest unit that divides evenly."""
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


def fetch_remotes(ctx: Context) -> list[str]:
    """Bring every remote's branches and tags in, so a version pushed by another clone
    keeps its blobs. A remote that cannot be reached stops garbage collection."""
    remotes = ctx.store.git.out("remote").split()
    for remote in remotes:
        proc = ctx.store.git.run("fetch", "--quiet", "--tags", remote, check=False)
        if proc.returncode != 0:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(
                f"cannot fetch {remote!r} ({detail[-1] if detail else 'git fetch failed'}): "
                "gc must see every branch and tag before it removes anything"
            )
    return remotes


@dataclass
class GcReport:
    """What ``collect_garbage`` found and removed (or, dry, would remove)."""

    store: str
    dry_run: bool
    grace: float
    refs: int = 0
    versions: int = 0
    deleted_versions: int = 0
    referenced: int = 0  # distinct blobs live versions name
    blobs: int = 0  # in the store
    bytes: int = 0
    kept: int = 0  # named by a live version
    kept_bytes: int = 0
    held_versions: int = 0  # marked deleted, but an alias or a stage names them
    held: int = 0  # of ``kept``: named only by such versions
    young: int = 0  # not named, but within the grace period
    young_bytes: int = 0
    removed: list[BlobInfo] = field(default_factory=list)
    missing: int = 0  # gone before we removed them (another gc)

    @property
    def removed_bytes(self) -> int:
        return sum(b.size for b in self.removed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "dry_run": self.dry_run,
            "grace_seconds": self.grace,
            "refs": self.refs,
            "versions": self.versions,
            "deleted_versions": self.deleted_versions,
            "referenced": self.referenced,
            "blobs": self.blobs,
            "bytes": self.bytes,
            "kept": self.kept,
            "kept_bytes": self.kept_bytes,
            "held_versions": self.held_versions,
            "held": self.held,
            "young": self.young,
            "young_bytes": self.young_bytes,
            "removed": len(self.removed),
            "removed_bytes": self.removed_bytes,
            "removed_blobs": [
                {
                    "digest": f"sha256:{b.hexdigest}",
                    "size": b.size,
                    "modified": _iso(b.modified),
                }
                for b in self.removed
            ],
        }


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def collect_garbage(
    ctx: Context,
    *,
    grace: float,
    dry_run: bool = False,
    fetch: bool = True,
    now: float | None = None,
) -> GcReport:
    """Remove (or with ``dry_run`` only list) the blobs no live version on any ref
    names and that are older than ``grace`` seconds."""
    if grace < 0:
        raise UsageError("the grace period cannot be negative")
    report = GcReport(store=ctx.blobs.url, dry_run=dry_run, grace=grace)
    if fetch:
        fetch_remotes(ctx)
    with progress.task("reading versions on every ref", 0) as advance:
        live = live_blobs(ctx.store, refs=ALL_REFS, advance=advance)
    cutoff = (time.time() if now is None else now) - grace
    candidates: list[BlobInfo] = []
    held: set[str] = set()  # kept blobs only held versions name (so far)
    with progress.task(f"listing {ctx.blobs.url}", 0) as advance:
        only_held = live.held_only
        for blob in ctx.blobs.iter_blobs():
            advance(blob.size)
            report.blobs += 1
            report.bytes += blob.size
            if blob.hexdigest in live.digests:
                report.kept += 1
                report.kept_bytes += blob.size
                if blob.hexdigest in only_held:
                    held.add(blob.hexdigest)
            elif blob.modified > cutoff:
                report.young += 1
                report.young_bytes += blob.size
            else:
                candidates.append(blob)
    # A version committed while the store was being listed keeps its blobs.
    live = live_blobs(ctx.store, refs=ALL_REFS, since=live)
    late = [b for b in candidates if b.hexdigest in live.digests]
    report.kept += len(late)
    report.kept_bytes += sum(b.size for b in late)
    candidates = [b for b in candidates if b.hexdigest not in live.digests]
    # An unmarked version read late may name what only a held one named before.
    only_held = live.held_only
    report.held = len(held & only_held) + sum(1 for b in late if b.hexdigest in only_held)
    report.held_versions = live.held
    report.refs = live.refs
    report.versions = live.versions + live.deleted  # every distinct version file read
    report.deleted_versions = live.deleted + live.held  # every one marked
    report.referenced = len(live.digests)
    if dry_run:
        report.removed = candidates
        return report
    removed = _remove(ctx, candidates, cutoff)
    report.removed = [b for b, gone in zip(candidates, removed, strict=True) if gone]
    report.missing = len(candidates) - len(report.removed)
    return report


def _remove(ctx: Context, blobs: Iterable[BlobInfo], cutoff: float) -> list[bool]:
    """Remove each blob unless it is younger than ``cutoff`` by now: a log that reuses a
    blob refreshes its age, so a blob listed as old may have become young since."""
    items = list(blobs)

    def remove(blob: BlobInfo, advance: Callable[[int], None]) -> bool:
        gone = ctx.blobs.delete(blob.hexdigest, older_than=cutoff)
        advance(blob.size)
        return gone

    total = sum(b.size for b in items)
    return ctx.each(items, remove, f"removing {_count(len(items))}", total)


def _count(n: int) -> str:
    return f"{n} blob" if n == 1 else f"{n} blobs"
