"""``live_blobs``: the blobs live versions name, on a real registry with two branches,
a deleted version, a reference entry and a blob two versions share.

The registry (built once per test by ``built``)::

    main   p/data:v0  a.txt "only v0", shared.txt "shared"
           p/data:v1  b.txt "only v1", shared.txt "shared"      <- deleted on main
           p/refs:v0  copy.txt "shared", + a file:// reference to "referenced bytes"
    side   (branched before the delete) p/data:v1 unmarked, p/data:v2 c.txt "on side"
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool import _verbs as ops
from registry_tool._engine.live import ALL_REFS, live_blobs
from registry_tool._store import RegistryStore
from registry_tool.errors import DocumentError
from tests.helpers import git, write


def hexof(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def log(name: str, files: dict[str, str]) -> str:
    folder = Path(f"src-{time.monotonic_ns()}")
    for rel, content in files.items():
        write(folder / rel, content)
    return ops.log_path(folder, name, "dataset").version


@dataclass
class Built:
    store: RegistryStore
    referenced: Path


@pytest.fixture
def built(registry: RegistryStore, tmp_path: Path) -> Built:
    assert log("p/data", {"a.txt": "only v0", "shared.txt": "shared"}) == "v0"
    assert log("p/data", {"b.txt": "only v1", "shared.txt": "shared"}) == "v1"
    referenced = write(tmp_path / "mnt" / "ref.txt", "referenced bytes")
    art = wandb.Artifact("refs", type="dataset")
    art.add_file(write(tmp_path / "copy.txt", "shared"), name="copy.txt")
    art.add_reference(f"file://{referenced}")
    run = wandb.init(project="p")
    run.log_artifact(art)
    run.finish()
    git(registry.root, "checkout", "--quiet", "-b", "side")
    assert log("p/data", {"c.txt": "on side"}) == "v2"
    git(registry.root, "checkout", "--quiet", "main")
    ops.delete("p/data:v1")
    return Built(registry, referenced)


def test_the_current_branch_read_exactly(built):
    live = live_blobs(built.store)

    assert live.digests == {hexof("only v0"), hexof("shared")}
    assert set(live.uses) == live.digests
    # the deleted version's own blob, the side branch's, and the reference are not named
    assert hexof("only v1") not in live.digests
    assert hexof("on side") not in live.digests
    assert hexof("referenced bytes") not in live.digests
    assert (live.versions, live.deleted, live.refs) == (2, 1, 1)
    assert live.malformed == []
    shared = live.uses[hexof("shared")]
    assert [(u.label, u.path, u.size) for u in shared] == [
        ("p/data:v0", "shared.txt", 6),
        ("p/refs:v0", "copy.txt", 6),
    ]
    assert live.labels(hexof("shared")) == ["p/data:v0", "p/refs:v0"]
    assert live.size(hexof("shared")) == 6
    assert shared[0].artifact == "p/data" and shared[0].digest == f"sha256:{hexof('shared')}"
    assert live.size("0" * 64) == 0 and live.labels("0" * 64) == []


def test_another_snapshot_has_its_own_versions(built):
    live = live_blobs(built.store, refs=built.store.snapshot("side"))

    # on side, v1 is not marked deleted: its blob is live there
    assert live.digests == {hexof(c) for c in ("only v0", "only v1", "shared", "on side")}
    assert (live.versions, live.deleted) == (4, 0)
    assert live.labels(hexof("shared")) == ["p/data:v0", "p/data:v1", "p/refs:v0"]


def test_every_ref_keeps_what_any_ref_names(built):
    read: list[int] = []
    live = live_blobs(built.store, refs=ALL_REFS, advance=read.append)

    # v1 is deleted on main but not on side: its blob stays live
    for content in ("only v0", "only v1", "shared", "on side"):
        assert hexof(content) in live.digests
    # version files are not parsed: a reference's sha256 digest is kept too (more, never
    # fewer), and nothing is listed entry by entry
    assert hexof("referenced bytes") in live.digests
    assert live.uses == {} and live.malformed == []
    # distinct version files: p/data v0, v1 (side), v1 marked (main), v2, p/refs v0
    assert (live.versions, live.deleted, live.refs) == (4, 1, 2)
    assert len(read) == 5 and all(n > 0 for n in read)


def test_a_scan_continued_reads_only_what_is_new(built):
    first = live_blobs(built.store, refs=ALL_REFS)
    read: list[int] = []
    again = live_blobs(built.store, refs=ALL_REFS, since=first, advance=read.append)
    assert read == []
    assert again.digests == first.digests
    assert (again.versions, again.deleted, again.refs) == (4, 1, 2)

    git(built.store.root, "checkout", "--quiet", "side")
    assert log("p/data", {"d.txt": "late"}) == "v3"
    later = live_blobs(built.store, refs=ALL_REFS, since=again, advance=read.append)

    assert len(read) == 1  # only the new version file
    assert later.digests == first.digests | {hexof("late")}
    assert (later.versions, later.deleted, later.refs) == (5, 1, 2)
    assert hexof("late") not in first.digests  # the earlier results are left as they were


def test_since_continues_only_a_scan_of_every_ref(built):
    first = live_blobs(built.store, refs=ALL_REFS)
    with pytest.raises(ValueError, match="since"):
        live_blobs(built.store, since=first)


def test_an_empty_registry_names_nothing(registry):
    assert live_blobs(registry).digests == set()
    live = live_blobs(registry, refs=ALL_REFS)
    assert (live.digests, live.versions, live.deleted) == (set(), 0, 0)


def test_a_version_file_that_cannot_be_read(built):
    """Every ref: it counts as live and keeps the digests in its bytes. One commit,
    read exactly: it is an error, as ``check`` reports it."""
    root = built.store.root
    git(root, "checkout", "--quiet", "-b", "broken")
    bad = "projects/p/data/versions/v9.yaml"
    write(root / bad, f"deleted: [not, a, mark]\nnames: sha256:{hexof('in a bad file')}\n")
    git(root, "add", bad)
    git(root, "commit", "--quiet", "-m", "a bad version file")
    git(root, "checkout", "--quiet", "main")

    live = live_blobs(built.store, refs=ALL_REFS)

    assert hexof("in a bad file") in live.digests
    assert (live.versions, live.deleted) == (5, 1)
    with pytest.raises(DocumentError):
        live_blobs(built.store, refs=built.store.snapshot("broken"))
