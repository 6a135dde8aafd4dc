"""Moving a registry's blobs to another store: ``storage set`` and ``storage sync``.

``set_storage`` commits a new ``registry.yaml`` whose ``storage`` is the new store and
whose ``previous_storage`` is the old one, after recording the registry in the new
store (its ``used-by/`` marker, see ``_store.locate``): a store another registry uses is
refused unless it is declared shared, and a URL, endpoint, region or profile that
looks like a credential is refused before anything is read or written. ``sync_storage`` then copies every blob a
version on the current branch names from the old store (or any other) to the new one:
blobs already there are skipped, every blob is verified against its digest on the way,
and each is written atomically, so a sync that stops half way is resumed by running it
again, and a sync with nothing left to do copies nothing.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from registry_tool._blobs import BlobStore, open_blob_store
from registry_tool._engine import Context
from registry_tool._engine.live import live_blobs
from registry_tool._hashing import scratch_path
from registry_tool._model.layout import REGISTRY_FILE
from registry_tool._model.records import RegistryConfig, StorageConfig
from registry_tool._secret_scan import CREDENTIALS_FROM, url_findings
from registry_tool._store import Change, Snapshot, cache_home, open_registry
from registry_tool._store.locate import (
    claim_store,
    refuse_secrets,
    refuse_taken,
    registry_config,
    release_store,
)
from registry_tool.errors import ArtifactError, CorruptBlobError, StorageError, UsageError

Registry = str | os.PathLike[str] | None

# The options of `registry-tool storage set` that fill each field of registry.yaml.
SET_OPTIONS = {
    "$.storage.url": "storage URL",
    "$.storage.endpoint_url": "--endpoint-url",
    "$.storage.region": "--region",
    "$.storage.profile": "--profile",
}


def check_init(
    path: str | os.PathLike[str],
    *,
    name: str | None,
    storage: str | None,
    description: str | None,
    storage_options: Mapping[str, Any] | None,
    entities: Sequence[str] = (),
) -> None:
    """Refuse what ``init`` would refuse about its ``registry.yaml`` (a bad name, a
    credential in a field), before ``init --github`` computes its files (which may
    download wheels)."""
    registry_config(
        Path(path).expanduser().resolve(),
        name=name,
        storage=storage,
        description=description,
        storage_options=storage_options,
        entities=entities,
    )


# -- storage set ---------------------------------------------------------------------


@dataclass(frozen=True)
class SetResult:
    storage: StorageConfig
    previous: StorageConfig | None
    commit: str | None  # None when the registry already used this storage
    recorded: bool = False  # the store's marker of this registry was written now

    @property
    def changed(self) -> bool:
        return self.commit is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "storage": self.storage.to_doc(),
            "previous_storage": self.previous.to_doc() if self.previous else None,
            "changed": self.changed,
            "commit": self.commit,
            "recorded": self.recorded,
        }


def set_storage(
    url: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    path_style: bool | None = None,
    shared_storage: bool = False,
    registry: Registry = None,
) -> SetResult:
    """Point the registry at another blob store, keeping the old one as
    ``previous_storage``; one commit, ``storage set <url>``. The blobs stay where they
    are until ``sync_storage`` copies them.

    The new store records this registry first (and a store another registry uses is
    refused unless ``shared_storage``); the store the registry already uses is recorded
    too when it names nobody yet, which is how a store made before markers existed is
    claimed."""
    url = url.strip()
    if not url:
        raise UsageError("storage set: the storage URL is empty")
    wanted = StorageConfig(
        url=url, endpoint_url=endpoint_url, region=region, profile=profile, path_style=path_style
    )
    refuse_secrets({"storage": wanted.to_doc()}, SET_OPTIONS)  # before any message quotes one
    s3_only: dict[str, object] = {
        "--endpoint-url": endpoint_url,
        "--region": region,
        "--profile": profile,
        "--path-style": path_style,
    }
    given = [name for name, value in s3_only.items() if value is not None]
    if given and not url.startswith("s3://"):
        raise UsageError(f"{', '.join(given)}: only for s3:// storage, not {url!r}")
    store = open_registry(registry)
    blobs = open_blob_store(wanted, store.root)  # refuses a URL no store understands
    refuse_taken(blobs, store.config, shared=shared_storage)
    options = {
        **SET_OPTIONS,
        **{f"$.previous_storage.{k}": "the storage replaced" for k in ("url", "endpoint_url")},
    }

    def build(snap: Snapshot) -> Change[tuple[StorageConfig | None, bool]]:
        change: Change[tuple[StorageConfig | None, bool]] = Change()
        doc = store.load(snap, REGISTRY_FILE, "registry")
        if doc is None:
            raise UsageError(f"{store.root}: {REGISTRY_FILE} is not committed on this branch")
        config = RegistryConfig.from_doc(doc)
        if config.storage == wanted:
            change.result = (config.previous_storage, False)
            return change
        new = replace(config, storage=wanted, previous_storage=config.storage)
        refuse_secrets(new.to_doc(), options)
        change.put(REGISTRY_FILE, new.to_doc(), "registry")
        change.message = f"storage set {url}\n\nprevious storage: {config.storage.url}"
        change.result = (config.storage, True)
        return change

    recorded = claim_store(blobs, store.config, store.root, shared=shared_storage)
    try:
        written = store.write(build)
    except BaseException:
        if recorded:
            with contextlib.suppress(StorageError):
                release_store(blobs, store.config)
        raise
    assert written.result is not None
    previous, _ = written.result
    return SetResult(wanted, previous, written.commit, recorded)


# -- storage sync --------------------------------------------------------------------


@dataclass
class SyncReport:
    source: str
    target: str
    blobs: int = 0  # distinct blobs the versions name
    versions: int = 0
    present: int = 0  # already in the target
    copied: int = 0
    bytes_copied: int = 0
    missing: dict[str, list[str]] = field(default_factory=dict)  # digest -> versions
    corrupt: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt

    def to_dict(self) -> dict[str, Any]:
        def listed(found: dict[str, list[str]]) -> list[dict[str, Any]]:
            return [{"digest": f"sha256:{d}", "versions": v} for d, v in sorted(found.items())]

        return {
            "ok": self.ok,
            "source": self.source,
            "target": self.target,
            "blobs": self.blobs,
            "versions": self.versions,
            "present": self.present,
            "copied": self.copied,
            "bytes_copied": self.bytes_copied,
            "missing": listed(self.missing),
            "corrupt": listed(self.corrupt),
        }


def _source_config(config: RegistryConfig, from_url: str | None) -> StorageConfig:
    if from_url is None:
        if config.previous_storage is None:
            raise UsageError(
                "nothing to sync from: registry.yaml has no previous_storage "
                "(run 'registry-tool storage set URL' first, or give --from URL)"
            )
        return config.previous_storage
    from_url = from_url.strip()
    previous = config.previous_storage
    if previous is not None and previous.url == from_url:
        return previous  # with its endpoint, region and profile
    return StorageConfig(url=from_url)


def sync_storage(from_url: str | None = None, *, registry: Registry = None) -> SyncReport:
    """Copy every blob the registry's versions name from the previous store (or
    ``from_url``) to the current one; only what the current one lacks is copied.
    A ``from_url`` carrying a credential is refused: the report would print it."""
    found = url_findings(from_url) if from_url is not None else []
    if found:
        raise UsageError(
            f"--from: {', '.join(found)}; a storage URL carries no credentials: {CREDENTIALS_FROM}"
        )
    ctx = Context.open(registry)
    config = ctx.store.config
    source_config = _source_config(config, from_url)
    if source_config == config.storage:
        raise UsageError(f"the source and the target are the same store ({config.storage.url})")
    source = open_blob_store(source_config, ctx.store.root)
    target = ctx.blobs
    # Two remote stores at one URL may still differ (by endpoint); a local one may not.
    if source.url == target.url and not source.remote:
        raise UsageError(f"the source and the target are the same store ({target.url})")
    report = SyncReport(source=source_config.url, target=config.storage.url)
    # Every blob a live version on the current branch names (reference entries and
    # deleted versions aside, whose blobs gc may have taken).
    live = live_blobs(ctx.store)
    if live.malformed:
        raise ArtifactError(f"not a sha256 digest: {live.malformed[0].digest!r}")
    needed = {hexdigest: live.labels(hexdigest) for hexdigest in live.uses}
    sizes = {hexdigest: live.size(hexdigest) for hexdigest in live.uses}
    report.versions = live.versions
    report.blobs = len(needed)
    present = ctx.has_many(set(needed))
    todo = [d for d in sorted(needed) if not present[d]]
    report.present = report.blobs - len(todo)
    tmp_dir = cache_home() / "tmp"
    lock = threading.Lock()

    def copy(hexdigest: str, advance: Callable[[int], None]) -> None:
        outcome, size = _copy_blob(source, target, hexdigest, tmp_dir, advance, sizes[hexdigest])
        with lock:
            if outcome == "copied":
                report.copied += 1
                report.bytes_copied += size
            elif outcome == "present":
                report.present += 1
            elif outcome == "missing":
                report.missing[hexdigest] = needed[hexdigest]
            else:
                report.corrupt[hexdigest] = needed[hexdigest]

    total = sum(sizes[d] for d in todo)
    ctx.each(todo, copy, f"copying {_blobs(len(todo))} to {target.url}", total)
    return report


def _blobs(n: int) -> str:
    return f"{n} blob" if n == 1 else f"{n} blobs"


def _copy_blob(
    source: BlobStore,
    target: BlobStore,
    hexdigest: str,
    tmp_dir: Path,
    advance: Callable[[int], None],
    expected_size: int,
) -> tuple[str, int]:
    """Download one blob to a temp file (verified by ``fetch``), then store it in the
    target; returns ("copied" | "present" | "missing" | "corrupt", bytes)."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = str(scratch_path(tmp_dir, ".sync-"))
    # Half the bar is the download, half the upload.
    moved = _Halves(advance)
    try:
        try:
            source.fetch(hexdigest, Path(tmp), moved)
        except CorruptBlobError:
            return ("corrupt" if source.has(hexdigest) else "missing"), 0
        size = os.path.getsize(tmp)
        stored, written = target.ingest(Path(tmp), hexdigest, moved)
        if stored != hexdigest:  # pragma: no cover - the bytes were verified above
            raise CorruptBlobError(f"blob sha256:{hexdigest} changed while it was copied")
        moved.finish(expected_size)
        return ("copied" if written else "present"), size
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


class _Halves:
    """Reports half of the bytes it is told about: a blob moves twice (down, then up)
    but counts once on the progress bar."""

    def __init__(self, advance: Callable[[int], None]) -> None:
        self.advance = advance
        self.seen = 0
        self.reported = 0

    def __call__(self, n: int) -> None:
        self.seen += n
        self._report(self.seen // 2)

    def finish(self, size: int) -> None:
        """Bring the bar to the blob's full size (rounding, or an upload skipped)."""
        self._report(size)

    def _report(self, upto: int) -> None:
        if upto > self.reported:
            self.advance(upto - self.reported)
            self.reported = upto


__all__ = [
    "SetResult",
    "SyncReport",
    "set_storage",
    "sync_storage",
]
