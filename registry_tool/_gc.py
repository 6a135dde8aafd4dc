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
* **It is older than the grace period** (default 7 days; the blob's mtime in a local
  store, its LastModified in S3). A log uploads its blobs before the commit that names
  them, so a log in progress -- in this or any other clone -- is protected only by
  this: the grace period must outlast the longest time between a blob's upload and
  the push of its commit.

What is read is read once: trees shared by several refs are walked once (by tree id),
and a version file is read once however many refs hold it (by blob id). A version
file is not parsed: the digests it names are found in its bytes (which can only keep
more blobs, never fewer); it is parsed only when it may carry the deleted mark.
Just before removing anything the refs are read again, so a version committed while
the store was being listed keeps its blobs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from registry_tool import _progress as progress
from registry_tool import _schemas as schemas
from registry_tool import _yamlio as yamlio
from registry_tool._blobs.base import BlobInfo
from registry_tool._engine.context import Context
from registry_tool._store.git import Git
from registry_tool.errors import GitError, RegistryError, UsageError

DAY = 86400.0
DEFAULT_GRACE = "7d"
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY, "w": 7 * DAY}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_BLOB_DIGEST = re.compile(rb"sha256:([0-9a-f]{64})")


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


@dataclass
class References:
    """The blobs live versions name, over every ref of a registry clone.

    ``scan`` may run again after the refs moved: what was read before is not read again.
    """

    git: Git
    digests: set[str] = field(default_factory=set)
    refs: int = 0
    versions: int = 0  # distinct version files read
    deleted: int = 0  # ... of which marked deleted
    _trees: set[tuple[int, str]] = field(default_factory=set)
    _files: set[str] = field(default_factory=set)

    def scan(self, advance: Callable[[int], None] = lambda _n: None) -> None:
        roots = _ref_trees(self.git)
        self.refs = len(roots)
        pending: list[tuple[str, str]] = []
        for tree in roots:
            self._walk(tree, 0, "", pending)
        for sha, path in pending:
            data = self.git.read_object(sha)
            self.versions += 1
            advance(len(data))
            if _marked_deleted(data, path):
                self.deleted += 1
                continue
            self.digests.update(m.decode() for m in _BLOB_DIGEST.findall(data))

    def _walk(self, sha: str, depth: int, path: str, out: list[tuple[str, str]]) -> None:
        """Depth 0 a root tree, 1 projects/, 2 a project, 3 a collection, 4 versions/."""
        if (depth, sha) in self._trees:
            return
        self._trees.add((depth, sha))
        entries = self.git.read_tree(sha)
        if depth == 0:
            projects = entries.get("projects")
            if projects is not None and projects.is_dir:
                self._walk(projects.sha, 1, "projects", out)
            return
        if depth == 3:
            versions = entries.get("versions")
            if versions is not None and versions.is_dir:
                self._walk(versions.sha, 4, f"{path}/versions", out)
            return
        for name, entry in entries.items():
            if depth == 4:
                if not entry.is_dir and name.endswith(".yaml") and entry.sha not in self._files:
                    self._files.add(entry.sha)
                    out.append((entry.sha, f"{path}/{name}"))
            elif entry.is_dir:
                self._walk(entry.sha, depth + 1, f"{path}/{name}", out)


def _ref_trees(git: Git) -> list[str]:
    """The root tree of every ref and of HEAD, peeled through tags, each once."""
    names = git.out("for-each-ref", "--format=%(objectname)").split()
    names.append("HEAD")
    proc = git.run(
        "cat-file",
        "--batch-check=%(objectname) %(objecttype)",
        input="".join(f"{name}^{{}}\n" for name in names).encode(),
    )
    trees = []
    for line in proc.stdout.decode().splitlines():
        sha, _, kind = line.partition(" ")
        if kind == "commit":
            trees.append(git.commit_tree_of(sha))
        elif kind == "tree":
            trees.append(sha)
        # "missing" (HEAD of an empty repo) and refs to blobs name no version
    return list(dict.fromkeys(trees))


def _marked_deleted(data: bytes, path: str) -> bool:
    """Whether a version file carries a valid deleted mark. Most files never say
    "deleted" at all; a file that cannot be read counts as live (keeps its blobs)."""
    if b"deleted" not in data:
        return False
    try:
        doc = yamlio.loads(data, path)
        schemas.validate(doc, "version", path)
    except RegistryError:
        return False
    return bool(doc.get("deleted"))


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
    refs = References(ctx.store.git)
    with progress.task("reading versions on every ref", 0) as advance:
        refs.scan(advance)
    cutoff = (time.time() if now is None else now) - grace
    candidates: list[BlobInfo] = []
    with progress.task(f"listing {ctx.blobs.url}", 0) as advance:
        for blob in ctx.blobs.iter_blobs():
            advance(blob.size)
            report.blobs += 1
            report.bytes += blob.size
            if blob.hexdigest in refs.digests:
                report.kept += 1
                report.kept_bytes += blob.size
            elif blob.modified > cutoff:
                report.young += 1
                report.young_bytes += blob.size
            else:
                candidates.append(blob)
    # A version committed while the store was being listed keeps its blobs.
    refs.scan()
    late = [b for b in candidates if b.hexdigest in refs.digests]
    report.kept += len(late)
    report.kept_bytes += sum(b.size for b in late)
    candidates = [b for b in candidates if b.hexdigest not in refs.digests]
    report.refs, report.versions, report.deleted_versions = refs.refs, refs.versions, refs.deleted
    report.referenced = len(refs.digests)
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
