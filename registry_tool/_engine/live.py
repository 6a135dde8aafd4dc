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
names them. Reference entries (``add_reference``) name bytes that stay where they are,
not blobs of the store.

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
  refs moved, reading only what it did not read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

from registry_tool import _schemas as schemas
from registry_tool import _yamlio as yamlio
from registry_tool._model import layout
from registry_tool._model.manifest import SHA256_RE, blob_hex
from registry_tool._store import RegistryStore, Snapshot
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
    path: str  # the file's path inside the artifact
    digest: str  # as the entry records it: sha256:<hex>
    size: int | None

    @property
    def artifact(self) -> str:
        return f"{self.project}/{self.name}"

    @property
    def label(self) -> str:
        return f"{self.artifact}:v{self.version}"


@dataclass
class LiveBlobs:
    """What ``live_blobs`` found. Digests are bare SHA-256 hex, as the blob stores
    take them."""

    digests: set[str] = field(default_factory=set)  # every blob a live version names
    uses: dict[str, list[BlobUse]] = field(default_factory=dict)  # digest -> its entries
    malformed: list[BlobUse] = field(default_factory=list)  # not a reference, not sha256
    refs: int = 0  # distinct root trees read
    versions: int = 0  # live version files read
    deleted: int = 0  # version files skipped: marked deleted
    _trees: set[tuple[str, str]] = field(default_factory=set, repr=False)  # (path, tree id)
    _files: set[str] = field(default_factory=set, repr=False)  # version files' blob ids

    def size(self, hexdigest: str) -> int:
        """The blob's size as the last entry naming it records it (0 when unknown)."""
        uses = self.uses.get(hexdigest)
        return (uses[-1].size or 0) if uses else 0

    def labels(self, hexdigest: str) -> list[str]:
        """The versions naming the blob, ``project/name:vN``, each once, in order."""
        return list(dict.fromkeys(use.label for use in self.uses.get(hexdigest, ())))


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
        _trees=set(live._trees),
        _files=set(live._files),
    )


# -- one commit, exactly -------------------------------------------------------------


def _read_snapshot(store: RegistryStore, snap: Snapshot, live: LiveBlobs) -> None:
    live.refs = 1 if snap.commit else 0
    for project in store.projects(snap):
        for name in store.collections(snap, project):
            for number in store.version_numbers(snap, project, name):
                record = store.read_version(snap, project, name, number)
                if record is None:
                    continue
                if record.deleted is not None:
                    live.deleted += 1
                    continue
                live.versions += 1
                for entry in record.entries:
                    if entry.is_reference:
                        continue
                    use = BlobUse(project, name, number, entry.path, entry.digest, entry.size)
                    if not SHA256_RE.match(entry.digest):
                        live.malformed.append(use)
                        continue
                    hexdigest = blob_hex(entry.digest)
                    live.digests.add(hexdigest)
                    live.uses.setdefault(hexdigest, []).append(use)


# -- every ref, conservatively -------------------------------------------------------


def _scan_refs(git: Git, live: LiveBlobs, advance: Callable[[int], None]) -> None:
    roots = _ref_trees(git)
    live.refs = len(roots)
    pending: list[tuple[str, str]] = []  # (blob id, path) of version files not read yet
    for tree in roots:
        _walk(git, tree, "", live, pending)
    for sha, path in pending:
        data = git.read_object(sha)
        advance(len(data))
        if _marked_deleted(data, path):
            live.deleted += 1
            continue
        live.versions += 1
        live.digests.update(m.decode() for m in _BLOB_DIGEST.findall(data))


def _walk(git: Git, sha: str, path: str, live: LiveBlobs, out: list[tuple[str, str]]) -> None:
    """Every version file below the tree ``sha`` at ``path`` (the layout says which
    files are versions), each file once; a tree already walked at that path is not
    walked again. Of the root only ``projects/`` is walked."""
    if (path, sha) in live._trees:
        return
    live._trees.add((path, sha))
    for name, entry in git.read_tree(sha).items():
        full = f"{path}/{name}" if path else name
        if entry.is_dir:
            if path or name == layout.PROJECTS:
                _walk(git, entry.sha, full, live, out)
        elif entry.sha not in live._files and _is_version_file(full):
            live._files.add(entry.sha)
            out.append((entry.sha, full))


def _is_version_file(path: str) -> bool:
    """Any ``*.yaml`` in a collection's ``versions/`` (``v03.yaml`` too: it keeps its
    blobs until ``check`` has it fixed)."""
    key = layout.parse(path)
    return key is not None and key.kind == "version"


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
