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
  the push of its commit. A log that reuses a stored blob refreshes its age only once
  it is an hour old (``FRESH_FOR``), so a grace under an hour (``MIN_GRACE``) is refused
  unless forced, and warned about when it is.
* **No other registry using the store names it.** A store records the registries
  that use it (its ``used-by/`` markers, ``_store/locate.py``). gc refuses a store that
  records another registry unless that registry is given (``include``: its clone or its
  git URL), and then keeps what any version on any of its refs names too, read the same
  way; the markers are read again just before anything is removed. A store that
  records nobody (made before markers existed) is recorded as this registry's on its
  first gc; one that records others but not this registry is refused.

**A version whose time to live has run out is soft-deleted first** (``Artifact.ttl``,
kept as an edit: ``_engine/edits.py``): created_at + ttl in the past, it gets the
same delete mark ``registry-tool delete`` writes, with the reason ``ttl expired``, so
its blobs go like any deleted version's. A version an alias (``latest`` aside) or a
model-registry stage names is kept, and the report says which and why: taking it away
would move a name someone set on purpose (a protected stage only moves by review).

Only blobs are ever removed: anything else under the store's ``sha256/`` folder -- a
file whose name is not a digest or sits in the wrong two-letter folder, a folder where
a blob should be, a ``.DS_Store`` -- is a stray: listed in the report, left in place.

The refs are read by ``live_blobs(store, refs="all")`` (``_engine/live.py``): what is
read is read once (trees shared by several refs by tree id, version files by blob id),
and a version file is not parsed: the digests it names are found in its bytes (which
can only keep more blobs, never fewer); it is parsed only when it may carry the
deleted mark. Just before removing anything the refs are read again, so a version
committed while the store was being listed keeps its blobs.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from registry_tool import _progress as progress
from registry_tool._blobs import BlobStore, LocalBlobStore
from registry_tool._blobs.base import FRESH_FOR, BlobInfo
from registry_tool._deletion import delete_version
from registry_tool._engine import Context
from registry_tool._engine.edits import merged
from registry_tool._engine.live import ALL_REFS, live_blobs
from registry_tool._model import layout
from registry_tool._model.names import LATEST
from registry_tool._model.records import VersionRecord
from registry_tool._store import RegistryStore, Snapshot, open_registry, registries
from registry_tool._store.locate import claim_store, describe_users, store_users
from registry_tool.errors import GitError, StorageError, UsageError

DAY = 86400.0
DEFAULT_GRACE = "7d"
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY, "w": 7 * DAY}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
MIN_GRACE = FRESH_FOR  # a shorter grace needs force: see the module docstring
_HEX2 = re.compile(r"[0-9a-f]{2}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


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


def check_grace(grace: float, *, force: bool, dry_run: bool) -> str | None:
    """Refuse a grace under ``MIN_GRACE`` without ``force`` (the error's ``field`` is
    ``--grace``); with it, the warning to give. A dry run removes nothing: no force."""
    if grace < 0:
        raise UsageError("the grace period cannot be negative", field="--grace")
    if grace >= MIN_GRACE or dry_run:
        return None
    text = (
        f"--grace {format_duration(grace)} is shorter than an hour: a log stores its blobs "
        "before its commit, and a blob a log reuses is refreshed only once it is an hour "
        "old, so a shorter grace can delete what a log in progress needs"
    )
    if not force:
        raise UsageError(f"{text}; give --force to run it anyway", field="--grace")
    return text


def fetch_remotes(store: RegistryStore) -> list[str]:
    """Bring every remote's branches and tags in, so a version pushed by another clone
    keeps its blobs. A remote that cannot be reached stops garbage collection."""
    remotes = store.git.out("remote").split()
    for remote in remotes:
        proc = store.git.run("fetch", "--quiet", "--tags", remote, check=False)
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
    strays: list[str] = field(default_factory=list)  # not blobs: left (paths in the store)
    shared_with: list[str] = field(default_factory=list)  # the other registries read
    recorded: bool = False  # the store named no registry: this one was recorded
    expired: list[str] = field(default_factory=list)  # versions soft-deleted: ttl ran out
    ttl_kept: list[str] = field(default_factory=list)  # ttl ran out, but a name holds it

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
            "strays": self.strays,
            "shared_with": self.shared_with,
            "recorded": self.recorded,
            "expired": self.expired,
            "ttl_kept": self.ttl_kept,
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
    force: bool = False,
    include: Sequence[str] = (),
    warn: Callable[[str], None] | None = None,
) -> GcReport:
    """Remove (or with ``dry_run`` only list) the blobs no live version on any ref
    names and that are older than ``grace`` seconds.

    ``include`` gives the other registries that use the store (a clone's path or a git
    URL each); every one the store records must be there. A ``grace`` under
    ``MIN_GRACE`` needs ``force``, and ``warn`` then hears why it is risky."""
    warning = check_grace(grace, force=force, dry_run=dry_run)
    report = GcReport(store=ctx.blobs.url, dry_run=dry_run, grace=grace)
    sharers = [open_registry(given) for given in include]
    users = _check_users(ctx, include, sharers)
    if users is not None and not users and not dry_run:
        report.recorded = claim_store(ctx.blobs, ctx.store.config, ctx.store.root, shared=False)
    report.shared_with = sorted(
        {s.name for s in sharers if s.config.identity != ctx.store.config.identity}
    )
    if fetch:
        for store in (ctx.store, *sharers):
            fetch_remotes(store)
    expire(ctx, report, time.time() if now is None else now, dry_run=dry_run)
    with progress.task("reading versions on every ref", 0) as advance:
        live = live_blobs(ctx.store, refs=ALL_REFS, advance=advance)
        theirs = [live_blobs(s, refs=ALL_REFS, advance=advance) for s in sharers]
    if warning is not None and warn is not None:
        warn(warning)  # after the remotes answered, before anything is listed or removed
    other: set[str] = set().union(*(t.digests for t in theirs))
    cutoff = (time.time() if now is None else now) - grace
    candidates: list[BlobInfo] = []
    held: set[str] = set()  # kept blobs only held versions name (so far)
    with progress.task(f"listing {ctx.blobs.url}", 0) as advance:
        only_held = live.held_only - other
        for blob in _listing(ctx.blobs, report.strays):
            advance(blob.size)
            report.blobs += 1
            report.bytes += blob.size
            if blob.hexdigest in live.digests or blob.hexdigest in other:
                report.kept += 1
                report.kept_bytes += blob.size
                if blob.hexdigest in only_held:
                    held.add(blob.hexdigest)
            elif blob.modified > cutoff:
                report.young += 1
                report.young_bytes += blob.size
            else:
                candidates.append(blob)
    # A version committed while the store was being listed keeps its blobs, and a
    # registry that started using the store meanwhile stops the removal.
    live = live_blobs(ctx.store, refs=ALL_REFS, since=live)
    theirs = [live_blobs(s, refs=ALL_REFS, since=t) for s, t in zip(sharers, theirs, strict=True)]
    other = set().union(*(t.digests for t in theirs))
    if not dry_run:
        _check_users(ctx, include, sharers)
    keep = live.digests | other
    late = [b for b in candidates if b.hexdigest in keep]
    report.kept += len(late)
    report.kept_bytes += sum(b.size for b in late)
    candidates = [b for b in candidates if b.hexdigest not in keep]
    # An unmarked version read late may name what only a held one named before.
    only_held = live.held_only - other
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


def _check_users(
    ctx: Context, include: Sequence[str], sharers: Sequence[RegistryStore]
) -> dict[str, Any] | None:
    """The registries the store records (None: a store that keeps no record), refusing
    gc unless every one but this registry is among ``sharers``."""
    users = store_users(ctx.blobs)
    if not users:
        return users
    url = ctx.blobs.url
    ours = ctx.store.config
    for given, sharer in zip(include, sharers, strict=True):
        if sharer.config.identity not in users:
            raise UsageError(
                f"--include-registry {given}: registry {sharer.name!r} does not use {url}"
            )
    if ours.identity not in users:
        raise UsageError(
            f"{url} is used by {describe_users(list(users.values()))} but does not record "
            f"this registry ({ours.name!r}): record it with 'registry-tool storage set "
            f"{ours.storage.url} --shared-storage', then give the others with "
            "--include-registry"
        )
    given_ids = {ours.identity, *(s.config.identity for s in sharers)}
    missing = [user for identity, user in users.items() if identity not in given_ids]
    if missing:
        raise UsageError(
            f"{url} is also used by {describe_users(missing)}; gc removes only what no "
            "registry using the store names, so give each of them with --include-registry "
            "PATH|URL (a clone of it, or its git URL)"
        )
    return dict(users)


def _listing(store: BlobStore, strays: list[str]) -> Iterator[BlobInfo]:
    """The store's blobs, each once; whatever else is under ``sha256/`` goes to
    ``strays`` (a path in the store) and is never listed as a blob."""
    seen: set[str] = set()
    skip: set[str] = set()
    if isinstance(store, LocalBlobStore):
        found, unlistable = _local_strays(store.root)
        strays.extend(found)
        if unlistable:  # a file among the folders: the store's own listing stops there
            yield from _local_blobs(store.root)
            return
        skip = set(found)
    for blob in store.iter_blobs():
        name = blob.hexdigest
        if not _HEX64.fullmatch(name):
            strays.append(f"sha256/{name[:2]}/{name}")
        elif name not in seen and (
            not isinstance(store, LocalBlobStore)
            or (f"sha256/{name[:2]}/{name}" not in skip and _is_file(store.root, name))
        ):
            seen.add(name)
            yield blob


def _is_file(root: Path, hexdigest: str) -> bool:
    """Whether a blob's own path holds a plain file (not a folder, not a link)."""
    try:
        return stat.S_ISREG(os.lstat(root / "sha256" / hexdigest[:2] / hexdigest).st_mode)
    except OSError:
        return False


def _scan(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise StorageError(f"cannot list {folder}: {exc}") from exc


def _is_blob(entry: os.DirEntry[str], folder: str) -> bool:
    return (
        _HEX64.fullmatch(entry.name) is not None
        and entry.name[:2] == folder
        and entry.is_file(follow_symlinks=False)
    )


def _local_strays(root: Path) -> tuple[list[str], bool]:
    """What under a local store's ``sha256/`` is not a blob, and whether any of it is
    a non-folder among the two-letter folders."""
    strays: list[str] = []
    unlistable = False
    base = root / "sha256"
    if base.exists() and not base.is_dir():
        return ["sha256"], False
    for sub in _scan(base):
        rel = f"sha256/{sub.name}"
        if not sub.is_dir(follow_symlinks=False):
            strays.append(rel)
            unlistable = True
        elif not _HEX2.fullmatch(sub.name):
            strays.append(rel)
        else:
            strays.extend(
                f"{rel}/{e.name}" for e in _scan(Path(sub.path)) if not _is_blob(e, sub.name)
            )
    return strays, unlistable


def _local_blobs(root: Path) -> Iterator[BlobInfo]:
    """A local store's blobs, read past whatever is not one."""
    for sub in _scan(root / "sha256"):
        if sub.is_dir(follow_symlinks=False) and _HEX2.fullmatch(sub.name):
            for entry in _scan(Path(sub.path)):
                if _is_blob(entry, sub.name):
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # removed since the listing (another gc)
                    yield BlobInfo(entry.name, st.st_size, st.st_mtime)


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


# -- time to live ----------------------------------------------------------------------

TTL_EXPIRED = "ttl expired"


def expire(ctx: Context, report: GcReport, when: float, *, dry_run: bool) -> None:
    """Soft-delete every live version of the current branch whose ttl ran out before
    ``when`` (with ``dry_run``, only list them), unless a name holds it: see the module
    doc. Only versions with edits can have a ttl, so only their folders are read."""
    snap = ctx.store.head()
    for record, ttl in _with_ttl(ctx, snap):
        created = datetime.fromisoformat(record.created_at.replace("Z", "+00:00")).timestamp()
        if created + ttl > when:
            continue
        label = f"{record.project}/{record.name}:v{record.version}"
        held = _held_by(ctx, snap, record)
        if held:
            report.ttl_kept.append(
                f"{label}: its ttl expired on {_iso(created + ttl)}, but {held} names it; "
                "kept (remove the alias, or move the stage, to let it go)"
            )
            continue
        if not dry_run:
            delete_version(ctx, record.project, record.name, record.version, reason=TTL_EXPIRED)
        report.expired.append(label)


def _with_ttl(ctx: Context, snap: Snapshot) -> Iterator[tuple[VersionRecord, int]]:
    """Every live version of ``snap`` its edits give a ttl, with the ttl in seconds."""
    store = ctx.store
    for project in store.projects(snap):
        for name in store.collections(snap, project):
            for entry in sorted(snap.listdir(layout.edits_root(project, name))):
                number = layout.parse_version(entry)
                record = None if number is None else store.read_version(snap, project, name, number)
                if record is None or record.deleted is not None:
                    continue
                ttl = merged(store, snap, record).ttl
                if ttl is not None:
                    yield record, ttl


def _held_by(ctx: Context, snap: Snapshot, record: VersionRecord) -> str | None:
    """The first alias (``latest`` aside) or model-registry stage that names
    ``record``, as ``alias 'best'`` or ``stage 'production' of model-registry/...``."""
    store = ctx.store
    for alias, held in store.aliases(snap, record.project, record.name).items():
        if alias != LATEST and held.version == record.version:
            return f"alias {alias!r}"
    source = (record.project, record.name, record.version)
    for registry in registries.names(snap):
        for collection in registries.collections(snap, registry):
            for alias, held in registries.aliases(store, snap, registry, collection).items():
                link = registries.read_link(store, snap, registry, collection, held.version)
                if alias == LATEST or link is None:
                    continue
                if (link.project, link.name, link.source_version) == source:
                    return f"stage {alias!r} of model-registry/{registry}/{collection}"
    return None
