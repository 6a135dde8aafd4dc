"""The blobs live versions name: what ``gc`` keeps, ``verify --all`` checks and
``storage sync`` copies, found by one function.

>>> live = live_blobs(store)                                    # doctest: +SKIP
>>> len(live.digests), live.versions, live.deleted              # doctest: +SKIP
(1200, 40, 2)
>>> [use.label for use in live.uses[hexdigest]]                 # doctest: +SKIP
['data/train:v3', 'data/train:v4']

A version is live unless its file carries the ``deleted`` mark (``registry-tool
delete``): a deleted version's blobs may be garbage collected, so none of the callers
counts them, but the same version unmarked elsewhere (another branch or tag) still
names them. A version an alias names is live whatever its mark: a project alias
directly, a model-registry stage through its link. ``registry-tool delete`` never
leaves an alias on what it marks, so this only matters for a mark made some other way
(a hand edit, a bad merge), and there it is what keeps ``production`` downloadable
once the mark is undone. Such versions are counted in ``held``, the blobs only they
name are ``held_only``. Reference entries (``add_reference``) name bytes that stay where
they are, not blobs of the store. A run's file names blobs too, and they are live as
long as the file is: its metric history and the media it logged (images, tables);
``uses`` lists them with ``run`` set, so that ``verify --all`` checks them and
``storage sync`` copies them.

Which versions are read (``refs``) decides how they are read:

* ``refs=None`` (the current branch) or a ``Snapshot`` -- ``verify --all`` and
  ``storage sync``: the versions of one commit, exactly as the store reads them. Each
  version file is parsed and validated (an invalid one raises ``DocumentError``, as
  ``check`` reports it), and every entry naming a blob is listed in ``uses`` with its
  version, path and size; an entry that is neither a reference nor a ``sha256:``
  digest names no blob and goes to ``malformed``.
* ``refs="all"`` -- ``gc``: the tips of every ref of the clone (local and
  remote-tracking branches, tags, any other ref) and HEAD; not their history. What is
  read is read once: a tree shared by several refs is walked once (by tree id), a
  version file is read once however many refs hold it (by blob id). A version file is
  not parsed: the digests it names are found in its bytes, which can only keep more
  blobs, never fewer (a reference's ``sha256:`` digest, the artifact digest); it is
  parsed only when it may carry the deleted mark, and one that cannot be read counts
  as live. Only ``digests`` is filled; ``since`` continues an earlier scan after the
  refs moved, reading only what it did not read. The aliases that hold are those of
  every tree walked, together: an alias on one ref keeps the version it names on every
  ref (more, never fewer), and a link a stage names counts in every version of it
  seen. Alias and link files are read only when some version file carries the mark.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from registry_tool import _schemas as schemas
from registry_tool import _yamlio as yamlio
from registry_tool._model import layout
from registry_tool._model.manifest import SHA256_RE, blob_hex
from registry_tool._model.records import RunRecord, VersionRecord
from registry_tool._store import RegistryStore, Snapshot, registries
from registry_tool._store.git import Git
from registry_tool.errors import RegistryError

ALL_REFS: Final = "all"
Refs = Snapshot | Literal["all"] | None

_BLOB_DIGEST = re.compile(rb"sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class BlobUse:
    """One manifest entry of a live version that names a blob (or, in
    ``LiveBlobs.malformed``, should and does not)."""

    project: str
    name: str
    version: int
    path: str  # the file's path inside the artifact (or the run)
    digest: str  # as the entry records it: sha256:<hex>
    size: int | None
    run: str | None = None  # a run's blob (``name`` and ``version`` then mean nothing)

    @property
    def artifact(self) -> str:
        return f"run {self.project}/{self.run}" if self.run else f"{self.project}/{self.name}"

    @property
    def label(self) -> str:
        return self.artifact if self.run else f"{self.artifact}:v{self.version}"


@dataclass
class LiveBlobs:
    """What ``live_blobs`` found. Digests are bare SHA-256 hex, as the blob stores
    take them."""

    digests: set[str] = field(default_factory=set)  # every blob a live version names
    uses: dict[str, list[BlobUse]] = field(default_factory=dict)  # digest -> its entries
    malformed: list[BlobUse] = field(default_factory=list)  # not a reference, not sha256
    refs: int = 0  # distinct root trees read
    versions: int = 0  # live version files read (``held`` ones included)
    deleted: int = 0  # version files skipped: marked deleted, no alias names them
    held: int = 0  # marked deleted, yet live: an alias or a stage names them
    held_digests: set[str] = field(default_factory=set)  # what the held versions name
    _plain: set[str] = field(default_factory=set, repr=False)  # what unmarked ones name
    _trees: set[tuple[str, str]] = field(default_factory=set, repr=False)  # (path, tree id)
    _files: set[str] = field(default_factory=set, repr=False)  # version files' blob ids
    _holders: _Holders = field(default_factory=lambda: _Holders(), repr=False)

    @property
    def held_only(self) -> set[str]:
        """The blobs live only because an alias names a version marked deleted: no
        unmarked version names them."""
        return self.held_digests - self._plain

    def _add(self, digests: Iterable[str], *, held: bool) -> None:
        found = set(digests)
        self.digests |= found
        if held:
            self.held_digests |= found
        else:
            self._plain |= found

    def size(self, hexdigest: str) -> int:
        """The blob's size as the last entry naming it records it (0 when unknown)."""
        uses = self.uses.get(hexdigest)
        return (uses[-1].size or 0) if uses else 0

    def labels(self, hexdigest: str) -> list[str]:
        """The versions naming the blob, ``project/name:vN``, each once, in order."""
        return list(dict.fromkeys(use.label for use in self.uses.get(hexdigest, ())))


@dataclass
class _Marked:
    """A version file marked deleted that no alias is known to name yet: where it was
    seen, and the digests its bytes name (kept, so that a holder found later does not
    make it read again)."""

    paths: set[str]
    digests: list[str]


@dataclass
class _Holders:
    """What a scan of every ref found that can hold a version, and what it resolved.

    Read lazily: alias files wait in ``aliases`` until some version is marked deleted.
    """

    aliases: set[tuple[str, str]] = field(default_factory=set)  # (path, blob id), unread
    links: dict[str, set[str]] = field(default_factory=dict)  # link path -> blob ids
    held_links: set[str] = field(default_factory=set)  # link paths a stage names
    sources: dict[str, str | None] = field(default_factory=dict)  # link blob id -> version
    held: set[str] = field(default_factory=set)  # version paths an alias names
    marked: dict[str, _Marked] = field(default_factory=dict)  # blob id -> not held yet

    def copy(self) -> _Holders:
        return _Holders(
            aliases=set(self.aliases),
            links={path: set(ids) for path, ids in self.links.items()},
            held_links=set(self.held_links),
            sources=dict(self.sources),
            held=set(self.held),
            marked={sha: _Marked(set(m.paths), list(m.digests)) for sha, m in self.marked.items()},
        )


def _ignore(_n: int) -> None:
    pass


def live_blobs(
    store: RegistryStore,
    *,
    refs: Refs = None,
    since: LiveBlobs | None = None,
    advance: Callable[[int], None] = _ignore,
) -> LiveBlobs:
    """The blobs the live versions of ``refs`` name (see the module doc).

    ``refs``: None for the current branch, a ``Snapshot`` for that commit (both read
    exactly, with ``uses``), or ``"all"`` for the tip of every ref and HEAD (read
    conservatively, ``digests`` only). ``since`` (only with ``"all"``): an earlier
    result to continue; its trees and version files are not read again, its digests
    and counts are kept, ``refs`` is counted anew. ``advance`` (only with ``"all"``) is
    told the bytes of each version file read, for a progress bar.
    """
    if isinstance(refs, str):  # "all"
        live = _copy(since) if since is not None else LiveBlobs()
        _scan_refs(store.git, live, advance)
        return live
    if since is not None:
        raise ValueError("live_blobs: since= continues only a scan of refs='all'")
    live = LiveBlobs()
    _read_snapshot(store, refs if refs is not None else store.head(), live)
    return live


def _copy(live: LiveBlobs) -> LiveBlobs:
    return LiveBlobs(
        digests=set(live.digests),
        refs=live.refs,
        versions=live.versions,
        deleted=live.deleted,
        held=live.held,
        held_digests=set(live.held_digests),
        _plain=set(live._plain),
        _trees=set(live._trees),
        _files=set(live._files),
        _holders=live._holders.copy(),
    )


# -- one commit, exactly -------------------------------------------------------------


def _read_snapshot(store: RegistryStore, snap: Snapshot, live: LiveBlobs) -> None:
    live.refs = 1 if snap.commit else 0
    marked: list[tuple[str, str, int, VersionRecord]] = []
    for project in store.projects(snap):
        for run in store.runs(snap, project):
            _count_run(live, run)
        for name in store.collections(snap, project):
            for number in store.version_numbers(snap, project, name):
                record = store.read_version(snap, project, name, number)
                if record is None:
                    continue
                if record.deleted is not None:
                    marked.append((project, name, number, record))
                    continue
                _count(live, project, name, number, record, held=False)
    if not marked:
        return
    held = _held_versions(store, snap, {(project, name) for project, name, _, _ in marked})
    for project, name, number, record in marked:
        if (project, name, number) in held:
            _count(live, project, name, number, record, held=True)
        else:
            live.deleted += 1


def _count(
    live: LiveBlobs, project: str, name: str, number: int, record: VersionRecord, *, held: bool
) -> None:
    """A live version of one commit, entry by entry."""
    live.versions += 1
    live.held += 1 if held else 0
    for entry in record.entries:
        if entry.is_reference:
            continue
        use = BlobUse(project, name, number, entry.path, entry.digest, entry.size)
        if not SHA256_RE.match(entry.digest):
            live.malformed.append(use)
            continue
        hexdigest = blob_hex(entry.digest)
        live.digests.add(hexdigest)
        (live.held_digests if held else live._plain).add(hexdigest)
        live.uses.setdefault(hexdigest, []).append(use)


def _count_run(live: LiveBlobs, run: RunRecord) -> None:
    """A run's history blob and media files, as live as the run's file."""
    named: list[tuple[str, str, int | None]] = [(f.path, f.digest, f.size) for f in run.files]
    if run.history is not None:
        named.append(("history", run.history.digest, None))
    for path, digest, size in named:
        use = BlobUse(run.project, "", 0, path, digest, size, run=run.id)
        if not SHA256_RE.match(digest):
            live.malformed.append(use)
            continue
        hexdigest = blob_hex(digest)
        live.digests.add(hexdigest)
        live._plain.add(hexdigest)
        live.uses.setdefault(hexdigest, []).append(use)


def _held_versions(
    store: RegistryStore, snap: Snapshot, collections: set[tuple[str, str]]
) -> set[tuple[str, str, int]]:
    """The versions an alias names at ``snap``: the project aliases of ``collections``
    (those with a version marked deleted) and every model-registry stage, through its
    link."""
    held: set[tuple[str, str, int]] = set()
    for project, name in collections:
        held.update((project, name, a.version) for a in store.aliases(snap, project, name).values())
    for registry in registries.names(snap):
        for collection in registries.collections(snap, registry):
            for alias in registries.aliases(store, snap, registry, collection).values():
                link = registries.read_link(store, snap, registry, collection, alias.version)
                if link is not None:
                    held.add((link.project, link.name, link.source_version))
    return held


# -- every ref, conservatively -------------------------------------------------------


def _scan_refs(git: Git, live: LiveBlobs, advance: Callable[[int], None]) -> None:
    roots = _ref_trees(git)
    live.refs = len(roots)
    holders = live._holders
    for tree in roots:
        # Read after each tree, so that the next one knows which blob ids are marked
        # (a marked file seen again at another path is noted at that path too).
        pending: dict[str, list[str]] = {}  # blob id -> paths, version files not read yet
        _walk(git, tree, "", live, pending)
        for sha, paths in pending.items():
            data = git.read_object(sha)
            digests = [m.decode() for m in _BLOB_DIGEST.findall(data)]
            key = layout.parse(paths[0])
            if key is not None and key.kind == "run":  # never marked: live while it is there
                live._add(digests, held=False)
                continue  # not told to ``advance``: its bar counts version files
            advance(len(data))
            if _marked_deleted(data, paths[0]):
                live.deleted += 1
                holders.marked[sha] = _Marked(set(paths), digests)
                continue
            live.versions += 1
            live._add(digests, held=False)
    if holders.marked:
        _resolve_holders(git, live)


def _walk(git: Git, sha: str, path: str, live: LiveBlobs, pending: dict[str, list[str]]) -> None:
    """Every version and run file below the tree ``sha`` at ``path`` (the layout says
    which files are which), each file once, and the alias and link files that may name
    a version; a tree already walked at that path is not walked again. Of the root only
    ``projects/`` and ``registries/`` are walked."""
    if (path, sha) in live._trees:
        return
    live._trees.add((path, sha))
    holders = live._holders
    for name, entry in git.read_tree(sha).items():
        full = f"{path}/{name}" if path else name
        if entry.is_dir:
            if path or name in (layout.PROJECTS, layout.REGISTRIES):
                _walk(git, entry.sha, full, live, pending)
            continue
        key = layout.parse(full)
        if key is None:
            continue
        if key.kind in ("version", "run"):
            if entry.sha not in live._files:
                live._files.add(entry.sha)
                pending[entry.sha] = [full]
            elif entry.sha in pending:
                pending[entry.sha].append(full)
            elif entry.sha in holders.marked:
                holders.marked[entry.sha].paths.add(full)
        elif key.kind in ("alias", "registry-alias"):
            holders.aliases.add((full, entry.sha))
        elif key.kind == "link":
            holders.links.setdefault(full, set()).add(entry.sha)


def _resolve_holders(git: Git, live: LiveBlobs) -> None:
    """Make live every marked version file an alias names, on any tree walked so far.

    Project alias files are read only for collections with a marked version (the rest
    wait for a later scan that may need them); every stage's file is read, and the
    links it names. A file that cannot be read names nothing."""
    holders = live._holders
    wanted = set()
    for marked in holders.marked.values():
        for path in marked.paths:
            key = layout.parse(path)
            if key is not None:
                wanted.add((key.project, key.name))
    for path, sha in sorted(holders.aliases):
        key = layout.parse(path)
        if key is None or (key.kind == "alias" and (key.project, key.name) not in wanted):
            continue
        holders.aliases.discard((path, sha))
        number = _alias_version(git.read_object(sha), path)
        if number is None:
            continue
        if key.kind == "alias" and key.project and key.name:
            holders.held.add(layout.version_file(key.project, key.name, number))
        elif key.registry and key.collection:
            holders.held_links.add(layout.link_file(key.registry, key.collection, number))
    for path in holders.held_links:
        for sha in holders.links.get(path, ()):
            if sha not in holders.sources:
                holders.sources[sha] = _link_source(git.read_object(sha), path)
            source = holders.sources[sha]
            if source is not None:
                holders.held.add(source)
    for sha, marked in list(holders.marked.items()):
        if marked.paths & holders.held:
            del holders.marked[sha]
            live.deleted -= 1
            live.versions += 1
            live.held += 1
            live._add(marked.digests, held=True)


def _alias_version(data: bytes, path: str) -> int | None:
    """The version (or link) number an alias file names; None when it cannot be read."""
    try:
        doc = yamlio.loads(data, path)
    except RegistryError:
        return None
    number = doc.get("version") if isinstance(doc, dict) else None
    return number if isinstance(number, int) and not isinstance(number, bool) else None


def _link_source(data: bytes, path: str) -> str | None:
    """The repo path of the version a link file points at; None when it cannot be read."""
    try:
        doc = yamlio.loads(data, path)
    except RegistryError:
        return None
    source = doc.get("source") if isinstance(doc, dict) else None
    if not isinstance(source, dict):
        return None
    artifact, number = source.get("artifact"), source.get("version")
    if not isinstance(artifact, str) or not isinstance(number, int) or isinstance(number, bool):
        return None
    project, _, name = artifact.partition("/")
    return layout.version_file(project, name, number) if project and name else None


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


__all__ = ["ALL_REFS", "BlobUse", "LiveBlobs", "Refs", "live_blobs"]
