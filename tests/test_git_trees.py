"""Tree objects as the store reads and writes them: entries parsed exactly as git wrote
them (names with spaces, non-UTF-8 bytes, folders, executables), a malformed tree one
clear error, and each tree parsed once per process and kept within a bound, since a
versions folder of 20,000 files is read several times by one log.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from registry_tool._store import git as git_module
from registry_tool._store.git import Git, Snapshot
from registry_tool._store.trees import TreeEntry
from registry_tool.errors import GitError, UsageError
from tests.helpers import git


@pytest.fixture
def repo(tmp_path: Path) -> Git:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    return Git(root)


def test_a_tree_git_wrote_is_read_back_entry_for_entry(repo: Git) -> None:
    root = repo.root
    (root / "sub").mkdir()
    (root / "sub" / "inner.txt").write_text("in\n")
    (root / "a name with spaces.yaml").write_text("a\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    (root / "ü.txt").write_text("u\n")
    git(root, "add", "-A")
    tree = git(root, "write-tree").strip()
    listed = git(root, "ls-tree", tree).splitlines()
    expected = {}
    for line in listed:
        meta, name = line.split("\t", 1)
        mode, _kind, sha = meta.split()
        expected[name.strip('"')] = TreeEntry(name, mode.encode(), sha)
    got = repo.read_tree(tree)
    assert set(got) == {"sub", "a name with spaces.yaml", "run.sh", "ü.txt"}
    assert got["sub"] == TreeEntry("sub", b"40000", expected["sub"].sha) and got["sub"].is_dir
    assert got["run.sh"].mode == b"100755" and got["run.sh"].is_file
    assert got["a name with spaces.yaml"].sha == expected["a name with spaces.yaml"].sha
    # Written back, the same bytes: the same tree id.
    assert repo.write_tree(got) == tree


def test_a_name_that_is_not_utf8_survives_the_round_trip(repo: Git) -> None:
    blob = repo.write_object("blob", b"x\n")
    raw = b"100644 caf\xe9.txt\0" + bytes.fromhex(blob)
    tree = repo.write_object("tree", raw)
    entries = repo.read_tree(tree)
    assert list(entries) == ["caf\udce9.txt"]
    assert repo.write_tree(entries) == tree


@pytest.mark.parametrize(
    "raw",
    [
        b"100644 a.txt\0" + b"\x01" * 19,  # an object id cut short
        b"100644 a.txt",  # no NUL, no id
        b"garbage",
        b"100644 a.txt\0" + b"\x01" * 20 + b"junk after the last entry",
    ],
)
def test_a_malformed_tree_is_one_clear_error(repo: Git, raw: bytes) -> None:
    tree = repo.write_object("tree", raw)
    with pytest.raises(GitError, match="malformed"):
        repo.read_tree(tree)


def test_an_empty_tree_has_no_entries(repo: Git) -> None:
    assert dict(repo.read_tree(git_module.EMPTY_TREE)) == {}
    assert repo.write_object("tree", b"") == git_module.EMPTY_TREE


def test_each_tree_is_parsed_once_and_shared(repo: Git, monkeypatch: pytest.MonkeyPatch) -> None:
    blob = repo.write_object("blob", b"x\n")
    tree = repo.write_tree({"a": TreeEntry("a", b"100644", blob)})
    parsed: list[bytes] = []
    original = git_module.parse_tree

    def counting(data: bytes) -> dict[str, TreeEntry]:
        parsed.append(data)
        return original(data)

    monkeypatch.setattr(git_module, "parse_tree", counting)
    first = repo.read_tree(tree)
    assert repo.read_tree(tree) is first and len(parsed) == 1
    # A listing is the caller's own copy: changing it changes no later read.
    commit = git(repo.root, "commit-tree", tree, "-m", "one").strip()
    listed = Snapshot(repo, commit).listdir("")
    listed.pop("a")
    assert "a" in Snapshot(repo, commit).listdir("") and len(parsed) == 1


def test_the_kept_trees_stay_within_their_bound(repo: Git, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(git_module, "_TREES_KEPT", 10)
    blob = repo.write_object("blob", b"x\n")
    trees = []
    for size in (3, 3, 3, 3):
        names = {f"{len(trees)}-{i}": TreeEntry(f"{len(trees)}-{i}", b"100644", blob)
                 for i in range(size)}  # fmt: skip
        trees.append(repo.write_tree(names))
    for tree in trees:
        repo.read_tree(tree)
    # Each tree counts its entries and one more: at most two of four fit in 10.
    assert repo._trees_size <= 10 and list(repo._trees) == trees[2:]
    assert repo._trees_size == sum(len(t) + 1 for t in repo._trees.values())
    # One bigger than the bound is still read, and then not kept.
    big = repo.write_tree({f"b{i}": TreeEntry(f"b{i}", b"100644", blob) for i in range(12)})
    assert len(repo.read_tree(big)) == 12
    assert repo._trees == {} and repo._trees_size == 0


def test_git_lists_the_same_entries_as_the_parser_for_a_big_folder(repo: Git) -> None:
    blob = repo.write_object("blob", b"x\n")
    names = {f"v{i}.yaml": TreeEntry(f"v{i}.yaml", b"100644", blob) for i in range(2_000)}
    tree = repo.write_tree(names)
    listed = subprocess.run(["git", "-C", str(repo.root), "ls-tree", "--name-only", tree],
                            capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert sorted(listed) == sorted(repo.read_tree(tree)) and len(listed) == 2_000


def _snapshot_of(repo: Git, names: list[str]) -> Snapshot:
    blob = repo.write_object("blob", b"x\n")
    tree = repo.write_tree({n: TreeEntry(n, b"100644", blob) for n in names})
    commit = git(repo.root, "commit-tree", tree, "-m", "names").strip()
    return Snapshot(repo, commit)


@pytest.mark.parametrize(
    ("existing", "new", "clash"),
    [
        (["v1.yaml", "v2.yaml"], "V1.yaml", "v1.yaml"),  # a plain folder, an upper-case name
        (["v1.yaml", "v2.yaml"], "\uff561.yaml", "v1.yaml"),  # a full-width v folds to v
        (["Model.yaml", "v1.yaml"], "model.yaml", "Model.yaml"),  # not plain: upper case
        (["\u00fc.yaml"], "\u00dc.yaml", "\u00fc.yaml"),  # not plain: not ASCII
        (["u\u0308.yaml"], "\u00fc.yaml", "u\u0308.yaml"),  # another Unicode form
    ],
)
def test_a_name_differing_only_by_case_or_form_is_refused(
    repo: Git, existing: list[str], new: str, clash: str
) -> None:
    snap = _snapshot_of(repo, existing)
    with pytest.raises(UsageError, match=f"^{new}: differs only by case from {clash},"):
        snap.with_changes({new: b"y\n"})


@pytest.mark.parametrize(
    ("existing", "new"),
    [
        (["v1.yaml", "v2.yaml"], "v3.yaml"),
        (["Model.yaml"], "v1.yaml"),
        ([], "V1.yaml"),
        (["v1.yaml"], "v1.yaml"),  # the same name: replaced, not a clash
    ],
)
def test_a_new_name_that_folds_to_no_existing_one_is_written(
    repo: Git, existing: list[str], new: str
) -> None:
    snap = _snapshot_of(repo, existing)
    tree = snap.with_changes({new: b"y\n"})
    assert new in repo.read_tree(tree) and snap.written[""] == tree
