"""The version index: each version file's summary kept by its git blob id, so that
logging (which looks for a live version with the same bytes) and ``ls PROJECT/NAME``
cost a row per version, not a read of each file, and stay right whatever happens to the
index: a version marked deleted, a file copied to another number, a database that is
missing, damaged or read-only.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from registry_tool._store import RegistryStore, versions
from registry_tool._store.versions import VersionIndex, VersionSummary, folder_tree
from registry_tool.errors import DocumentError
from tests.helpers import cli_error, cli_out, git, write


def log(text: str, *extra: str) -> dict[str, object]:
    write("data.txt", text)
    out = cli_out("log", "data.txt", "--name", "p/coll", "--type", "dataset", "--json", *extra)
    return json.loads(out)  # type: ignore[no-any-return]


def fresh(registry: RegistryStore) -> RegistryStore:
    return RegistryStore.open(registry.root)


@pytest.fixture
def no_parsing(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int]]:
    """Every version file the store reads from here on (parsed, or searched for its
    digest or delete mark), by (project, name, number)."""
    parsed: list[tuple[str, str, int]] = []

    def spy(method):  # type: ignore[no-untyped-def]
        def read(self, snap, project, name, version):  # type: ignore[no-untyped-def]
            parsed.append((project, name, version))
            return method(self, snap, project, name, version)

        return read

    for name in ("read_version", "version_digest", "is_deleted"):
        monkeypatch.setattr(RegistryStore, name, spy(getattr(RegistryStore, name)))
    return parsed


def test_a_warm_index_summarises_every_version_without_parsing_one(registry, no_parsing):
    for n in range(4):
        log(f"content {n}")
    store = fresh(registry)
    first = store.version_summaries(store.head(), "p", "coll")
    assert list(first) == [0, 1, 2, 3]
    no_parsing.clear()  # each log parsed its new version once; now every one is known
    again = fresh(registry).version_summaries(registry.head(), "p", "coll")
    assert again == first and no_parsing == []
    record = registry.read_version(registry.head(), "p", "coll", 2)
    assert again[2] == VersionSummary.of(record)
    assert (again[2].digest, again[2].files, again[2].deleted) == (record.digest, 1, None)


def test_logging_the_same_bytes_finds_the_version_from_the_index(registry, no_parsing):
    first = log("same")
    for n in range(5):
        log(f"other {n}")
    no_parsing.clear()
    again = log("same")
    assert (again["path"], again["created"]) == (first["path"], False)
    # Read in full: the version found, and the one latest held (to move latest); the
    # search itself parsed none of the others.
    assert set(no_parsing) <= {("p", "coll", 0), ("p", "coll", 5)}


def test_bytes_equal_to_a_deleted_version_log_a_new_one(registry):
    log("kept")
    log("gone")
    log("newest")
    cli_out("delete", "p/coll:v1", "--reason", "bad data")
    assert fresh(registry).version_summaries(registry.head(), "p", "coll")[1].deleted is not None
    again = log("gone")
    assert (again["path"], again["created"]) == ("p/coll:v3", True)
    # With two live versions of the same bytes, the newest is the one found.
    assert log("kept")["path"] == "p/coll:v0"


def test_ls_rows_come_from_the_summaries(registry):
    log("a")
    log("bb", "--alias", "best")
    cli_out("delete", "p/coll:v0", "--reason", "superseded")
    rows = json.loads(cli_out("ls", "p/coll", "--json"))
    assert [(r["version"], r["aliases"], r["size"], r["files"]) for r in rows] == [
        ("v0", [], 1, 1),
        ("v1", ["best", "latest"], 2, 1),
    ]
    assert rows[0]["deleted"]["reason"] == "superseded" and rows[1]["deleted"] is None


def test_a_copied_version_file_is_refused_though_its_blob_is_in_the_index(registry):
    log("one")
    log("two")
    fresh(registry).version_summaries(registry.head(), "p", "coll")  # v0's blob indexed
    folder = registry.root / "projects" / "p" / "coll" / "versions"
    (folder / "v2.yaml").write_bytes((folder / "v0.yaml").read_bytes())
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "-q", "-m", "copy v0 to v2")
    store = fresh(registry)
    with pytest.raises(DocumentError, match="not the version its path says"):
        store.version_summaries(store.head(), "p", "coll")
    assert "not the version its path says" in cli_error("ls", "p/coll")


@pytest.mark.parametrize("damage", ["missing", "garbage", "foreign row", "read-only"])
def test_the_index_only_costs_speed_when_it_is_missing_or_damaged(registry, damage):
    log("one")
    log("two")
    store = fresh(registry)
    expected = store.version_summaries(store.head(), "p", "coll")
    db = store.index.path
    if damage == "missing":
        db.unlink()
    elif damage == "garbage":
        for extra in db.parent.glob(db.name + "-*"):
            extra.unlink()
        db.write_bytes(b"not a database" * 100)
    elif damage == "foreign row":
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE versions2 SET version = 'x', deleted = '[1'")
    else:
        db.unlink()
        db.parent.chmod(0o500)
    try:
        store = fresh(registry)
        assert store.version_summaries(store.head(), "p", "coll") == expected
        assert log("two")["created"] is False
        assert log("three")["path"] == "p/coll:v2"
    finally:
        db.parent.chmod(0o700)


def test_summaries_survive_the_round_trip_through_the_database(tmp_path: Path):
    index = VersionIndex(tmp_path / "cache" / "versions.sqlite")
    summary = VersionSummary("p", "n", 7, "sha256:" + "ab" * 32, 12, 3, "2026-01-01", "run1",
                             {"at": "2026-01-02", "by": "me", "reason": "r"})  # fmt: skip
    assert index.get_many(["a" * 40]) == {}
    index.put_many([("a" * 40, summary)])
    oids = [f"{i:040x}" for i in range(1200)]  # more than one query's worth of ids
    index.put_many([(oid, summary) for oid in oids])
    assert VersionIndex(index.path).get_many(["a" * 40, "b" * 40]) == {"a" * 40: summary}
    assert len(VersionIndex(index.path).get_many(oids)) == 1200


def test_the_store_finds_its_index_beside_the_document_cache(registry):
    store = fresh(registry)
    assert store.index.path == store.docs.root.parent / "versions.sqlite"


def test_a_row_that_lies_about_its_digest_never_decides_what_a_log_returns(registry):
    log("zero")
    log("one")
    store = fresh(registry)
    summaries = store.version_summaries(store.head(), "p", "coll")
    with sqlite3.connect(store.index.path) as conn:
        # v1's row claims v0's bytes; v0's row claims it is deleted.
        conn.execute("UPDATE versions2 SET digest = ? WHERE version = 1", (summaries[0].digest,))
        conn.execute("UPDATE versions2 SET deleted = '{}' WHERE version = 0")
    # v0 is not offered, and v1, offered for v0's bytes, is read and turned down: the
    # worst a lying row does is hide a version, so the same bytes log again as new.
    again = log("zero")
    assert (again["path"], again["created"]) == ("p/coll:v2", True)
    assert log("one")["path"] != "p/coll:v0"


def test_the_digest_look_up_learns_versions_other_writers_added(registry):
    log("zero")
    store = fresh(registry)
    assert store.live_version_with_digest(store.head(), "p", "coll", "sha256:" + "0" * 64) is None
    log("one")  # a new version the index learns on the next look-up
    digest = fresh(registry).version_summaries(registry.head(), "p", "coll")[1].digest
    store.index.path.unlink()
    found = fresh(registry).live_version_with_digest(registry.head(), "p", "coll", digest)
    assert found is not None and found.version == 1


def test_a_version_is_summarised_when_it_is_written(registry, no_parsing):
    log("zero")
    log("one")
    cli_out("delete", "p/coll:v0", "--reason", "gone")  # a new blob for v0, also written here
    no_parsing.clear()
    store = fresh(registry)
    found = store.version_summaries(store.head(), "p", "coll")
    assert no_parsing == [] and sorted(found) == [0, 1]
    assert found[0].deleted is not None and found[1].deleted is None


# -- complete folders: a log into a folder the index fully knows asks for no blob id ---


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many blob ids each ``VersionIndex.known`` call asked about, from here on."""
    calls: list[int] = []
    original = VersionIndex.known

    def known(self, oids):  # type: ignore[no-untyped-def]
        calls.append(len(oids))
        return original(self, oids)

    monkeypatch.setattr(VersionIndex, "known", known)
    return calls


def other_cache(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Go on as another user would: the same registry, a cache of their own."""
    monkeypatch.setenv("REGISTRY_TOOL_CACHE_DIR", str(path))


def test_a_folder_the_store_wrote_is_complete_and_the_next_log_asks_for_no_blob_id(registry, asked):
    for n in range(3):
        log(f"content {n}")
    store = fresh(registry)
    assert store.index.complete(folder_tree(store.head(), "p", "coll"))
    asked.clear()
    again = log("content 1")
    assert (again["path"], again["created"]) == ("p/coll:v1", False)
    assert log("content 3")["path"] == "p/coll:v3"
    assert asked == []


def test_versions_another_writer_added_are_learned_though_the_old_folder_was_complete(
    registry, asked, monkeypatch, tmp_path
):
    log("zero")
    log("one")  # the folder of v0 and v1 is complete in this cache
    mine = fresh(registry)
    assert mine.index.complete(folder_tree(mine.head(), "p", "coll"))
    other_cache(monkeypatch, tmp_path / "theirs")
    assert log("two")["path"] == "p/coll:v2"  # a row in their cache, not in mine
    monkeypatch.delenv("REGISTRY_TOOL_CACHE_DIR")
    mine = fresh(registry)
    assert not mine.index.complete(folder_tree(mine.head(), "p", "coll"))
    asked.clear()
    again = log("two")
    assert (again["path"], again["created"]) == ("p/coll:v2", False)
    assert asked == [3]  # the folder's three files, once; then it is complete
    assert mine.index.complete(folder_tree(mine.head(), "p", "coll"))


def test_a_write_into_a_folder_the_index_does_not_know_leaves_it_incomplete(
    registry, monkeypatch, tmp_path
):
    other_cache(monkeypatch, tmp_path / "theirs")
    log("zero")
    log("one")
    log("two")
    monkeypatch.delenv("REGISTRY_TOOL_CACHE_DIR")
    # This cache has never seen the folder; a delete writes v0 again (its mark).
    cli_out("delete", "p/coll:v0", "--reason", "gone")
    mine = fresh(registry)
    assert not mine.index.complete(folder_tree(mine.head(), "p", "coll"))
    again = log("one")  # found by learning the folder, not missed as unknown
    assert (again["path"], again["created"]) == ("p/coll:v1", False)


def test_a_hand_commit_in_a_complete_folder_is_not_complete(registry):
    log("zero")
    log("one")
    folder = registry.root / "projects" / "p" / "coll" / "versions"
    (folder / "notes.txt").write_text("hand made\n")
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "-q", "-m", "a hand edit")
    store = fresh(registry)
    assert not store.index.complete(folder_tree(store.head(), "p", "coll"))


def test_the_numbering_of_a_folder_is_read_once_and_few_are_kept(registry, monkeypatch):
    log("zero")
    store = fresh(registry)
    snap = store.head()
    first = versions.numbered(snap, "p", "coll")
    assert versions.numbered(snap, "p", "coll") is first and list(first) == [0]
    monkeypatch.setattr(versions, "_NUMBERINGS_KEPT", 2)
    for n in range(1, 4):
        log(f"more {n}")
        versions.numbered(fresh(registry).head(), "p", "coll")
    assert len(versions._NUMBERINGS) == 2
    assert store.version_numbers(fresh(registry).head(), "p", "coll") == [0, 1, 2, 3]
