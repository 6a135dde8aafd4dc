"""W&B's ``Artifact`` members, each at its boundaries: drafts of logged versions,
incremental artifacts, ``remove``, the ``add_file``/``add_dir`` options, manifest
entries that download themselves, ``file``, ``checkout``, downloads with missing
references, the descriptive members, and one object logged again with new aliases
(the guide's best practice 3, verbatim).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool._sdk.collection import ArtifactCollection
from registry_tool._sdk.entries import ArtifactManifestEntry
from registry_tool.errors import ArtifactError, UnsupportedError, UsageError, VerificationError
from tests.helpers import create_prod_registry, write


def log(art: wandb.Artifact, project: str = "p", aliases: list[str] | None = None) -> None:
    with wandb.init(project=project) as run:
        run.log_artifact(art, aliases=aliases)


def tree(root: Path | str) -> dict[str, bytes]:
    base = Path(root)
    return {
        p.relative_to(base).as_posix(): p.read_bytes()
        for p in base.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


def blob_count(registry) -> int:
    base = Path(registry.root) / ".blobs" / "sha256"
    return sum(1 for p in base.rglob("*") if p.is_file())


# -- new_draft --------------------------------------------------------------------------


def test_new_draft_keeps_files_and_references_and_logs_the_next_version(registry):
    write("a.txt", "a")
    write("ref/r.txt", "referenced")
    art = wandb.Artifact("data", type="dataset", metadata={"rows": 1})
    art.add_file("a.txt")
    art.add_reference(Path("ref/r.txt").resolve().as_uri(), name="r.txt")
    log(art)
    blobs = blob_count(registry)

    draft = wandb.Api().artifact("p/data:latest").new_draft()
    assert draft.is_draft() and draft.metadata == {"rows": 1}
    assert sorted(e.path for e in draft.manifest) == ["a.txt", "r.txt"]
    write("b.txt", "b")
    draft.add_file("b.txt")
    draft.remove("a.txt")
    log(draft, project="elsewhere")  # a draft logs beside the version it came from

    assert draft.qualified_name == "test-registry/p/data:v1" and not draft.is_draft()
    assert sorted(e.path for e in draft.files()) == ["b.txt", "r.txt"]
    assert draft.get_entry("r.txt").ref == Path("ref/r.txt").resolve().as_uri()
    assert blob_count(registry) == blobs + 1  # only b.txt was stored
    assert tree(draft.download("out")) == {"b.txt": b"b", "r.txt": b"referenced"}


def test_a_draft_logged_unchanged_is_the_same_version(registry):
    write("a.txt", "a")
    art = wandb.Artifact("data", type="dataset")
    art.add_file("a.txt")
    log(art)
    again = art.new_draft()
    log(again)
    assert again.version == "v0" and again.created is False


def test_a_logged_artifact_refuses_changes_and_points_at_new_draft(registry):
    write("a.txt", "a")
    art = wandb.Artifact("data", type="dataset")
    art.add_file("a.txt")
    log(art)
    with pytest.raises(ArtifactError, match=r"immutable: new_draft\(\)"):
        art.remove("a.txt")
    with pytest.raises(ArtifactError, match="new_draft"):
        art.add_file("a.txt")


# -- incremental ------------------------------------------------------------------------


def test_incremental_adds_to_and_replaces_in_the_latest_version(registry):
    write("a.txt", "a1")
    write("b.txt", "b1")
    first = wandb.Artifact("inc", type="dataset", incremental=True)
    first.add_file("a.txt")
    first.add_file("b.txt")
    log(first)  # no version yet: just its own files
    assert sorted(e.path for e in first.files()) == ["a.txt", "b.txt"]

    write("b.txt", "b2")
    write("c.txt", "c")
    more = wandb.Artifact("inc", type="dataset", incremental=True)
    assert more.incremental
    more.add_file("b.txt")  # replaces
    more.add_file("c.txt")  # adds
    log(more)
    assert more.version == "v1"
    assert tree(more.download("v1")) == {"a.txt": b"a1", "b.txt": b"b2", "c.txt": b"c"}

    plain = wandb.Artifact("inc", type="dataset")  # not incremental: only its own file
    plain.add_file("c.txt")
    log(plain)
    assert [e.path for e in plain.files()] == ["c.txt"]


def test_remove_in_an_incremental_artifact_is_only_of_what_it_added(registry):
    write("a.txt", "a")
    art = wandb.Artifact("inc", type="dataset")
    art.add_file("a.txt")
    log(art)
    more = wandb.Artifact("inc", type="dataset", incremental=True)
    with pytest.raises(ArtifactError, match="incremental artifact can remove only what it added"):
        more.remove("a.txt")


# -- remove -----------------------------------------------------------------------------


def test_remove_a_path_a_folder_prefix_or_an_entry(registry):
    for name in ("d/x.txt", "d/sub/y.txt", "dd.txt", "keep.txt"):
        write(f"src/{name}", name)
    art = wandb.Artifact("data", type="dataset")
    art.add_dir("src")
    art.remove("d")  # the folder, not "dd.txt" beside it
    assert sorted(e.path for e in art.manifest) == ["dd.txt", "keep.txt"]
    (entry,) = [e for e in art.manifest if e.path == "dd.txt"]
    art.remove(entry)
    assert [e.path for e in art.manifest] == ["keep.txt"]
    with pytest.raises(
        ArtifactError, match=r"cannot remove 'missing\.txt': no such file or folder"
    ):
        art.remove("missing.txt")
    with pytest.raises(ArtifactError, match="cannot remove 'kee'"):
        art.remove("kee")  # a prefix of a name is not a folder
    with pytest.raises(UsageError, match="remove takes a path or an entry"):
        art.remove(3)  # type: ignore[arg-type]


# -- add_file and add_dir options -------------------------------------------------------


def test_add_file_overwrite_false_refuses_a_clash_true_replaces(registry):
    write("one.txt", "one")
    write("two.txt", "two")
    art = wandb.Artifact("data", type="dataset")
    art.add_file("one.txt", name="f.txt")
    with pytest.raises(ArtifactError, match=r"'f.txt' is already in artifact .*overwrite=True"):
        art.add_file("two.txt", name="f.txt")
    art.add_file("two.txt", name="f.txt", overwrite=True)
    log(art)
    assert tree(art.download("out")) == {"f.txt": b"two"}


def test_mutable_policy_logs_the_file_as_added_immutable_as_logged(registry):
    write("m.txt", "before")
    write("i.txt", "before")
    art = wandb.Artifact("data", type="dataset")
    art.add_file("m.txt")  # mutable: W&B's default
    art.add_file("i.txt", policy="immutable")
    write("m.txt", "after!")
    write("i.txt", "after!")
    log(art)
    assert tree(art.download("out")) == {"m.txt": b"before", "i.txt": b"after!"}
    with pytest.raises(UsageError, match="policy 'sometimes'"):
        wandb.Artifact("x", type="t").add_file("m.txt", policy="sometimes")


def test_is_tmp_names_the_file_by_its_digest(registry):
    write("dir/tmpfile.tar.gz", "content")
    art = wandb.Artifact("data", type="dataset")
    entry = art.add_file("dir/tmpfile.tar.gz", name="sub/tmpfile.tar.gz", is_tmp=True)
    log(art)
    hexdigest = art.files()[0].digest.removeprefix("sha256:")
    assert entry.name == f"sub/{hexdigest[:20]}.tar.gz" == art.files()[0].name
    # The same content again is the same name: a clash, refused unless overwrite.
    draft = art.new_draft()
    with pytest.raises(ArtifactError, match="already in artifact"):
        draft.add_file("dir/tmpfile.tar.gz", name="sub/tmpfile.tar.gz", is_tmp=True)


def test_add_dir_merge_false_refuses_changed_content_true_replaces(registry):
    write("v1/a.txt", "a")
    write("v1/b.txt", "b")
    write("v2/a.txt", "a")  # the same
    write("v2/b.txt", "B")  # changed
    write("v2/c.txt", "c")
    art = wandb.Artifact("data", type="dataset")
    art.add_dir("v1")
    with pytest.raises(ArtifactError, match=r"'b.txt' is already in artifact .* other content"):
        art.add_dir("v2")
    assert sorted(e.path for e in art.manifest) == ["a.txt", "b.txt"]  # nothing half-added
    write("v3/a.txt", "a")
    write("v3/d.txt", "d")
    art.add_dir("v3")  # same content is no clash
    art.add_dir("v2", merge=True)
    log(art)
    assert tree(art.download("out")) == {"a.txt": b"a", "b.txt": b"B", "c.txt": b"c", "d.txt": b"d"}


def test_add_with_overwrite(registry):
    art = wandb.Artifact("t", type="table")
    art.add(wandb.Table(columns=["a"], data=[[1]]), "results")
    with pytest.raises(ArtifactError, match=r"'results\.table\.json' is already in artifact"):
        art.add(wandb.Table(columns=["a"], data=[[2]]), "results")
    art.add(wandb.Table(columns=["a"], data=[[2]]), "results", overwrite=True)
    log(art)
    assert art.get("results").data == [[2]]


def test_get_added_local_path_name(registry):
    write("a.txt", "a")
    art = wandb.Artifact("data", type="dataset")
    art.add_file("a.txt", name="x/a.txt")
    assert art.get_added_local_path_name("a.txt") == "x/a.txt"
    assert art.get_added_local_path_name("other.txt") is None


# -- entries, file(), checkout() --------------------------------------------------------


def test_entries_have_name_and_download_themselves(registry):
    write("src/a.txt", "a")
    write("src/sub/b.txt", "bb")
    art = wandb.Artifact("data", type="dataset")
    art.add_dir("src")
    log(art)
    got = wandb.Api().artifact("p/data:v0")
    entries = got.manifest.entries
    assert sorted(entries) == ["a.txt", "sub/b.txt"]
    entry = entries["sub/b.txt"]
    assert isinstance(entry, ArtifactManifestEntry)
    assert (entry.name, entry.path, entry.size, entry.ref) == ("sub/b.txt", "sub/b.txt", 2, None)
    assert entry.digest.startswith("sha256:") and entry.parent_artifact() is got
    path = entry.download("one")
    assert path == os.path.join("one", "sub/b.txt") and tree("one") == {"sub/b.txt": b"bb"}
    assert got.get_path("a.txt").download("two") == os.path.join("two", "a.txt")
    assert [e.name for e in got.files(names=["a.txt"])] == ["a.txt"]
    assert got.file_count == 2 and len(got.manifest) == 2
    with pytest.raises(KeyError, match="no file 'nope'"):
        got.get_entry("nope")


def test_file_of_a_one_file_artifact_and_of_a_two_file_one(registry):
    write("model.pth", "weights")
    one = wandb.Artifact("model", type="model")
    one.add_file("model.pth")
    log(one)
    assert Path(one.file("out")).read_text() == "weights"
    assert one.file("out") == os.path.join("out", "model.pth")

    write("extra.txt", "x")
    two = one.new_draft()
    two.add_file("extra.txt")
    log(two)
    with pytest.raises(ArtifactError, match=r"p/model:v1 holds 2 files, not one"):
        two.file("out2")
    assert not Path("out2").exists()


def test_checkout_removes_what_is_not_in_the_artifact_and_nothing_outside(registry, tmp_path):
    write("src/keep.txt", "keep")
    write("src/sub/inner.txt", "inner")
    art = wandb.Artifact("data", type="dataset")
    art.add_dir("src")
    log(art)

    outside = tmp_path / "outside"
    write(outside / "precious.txt", "precious")
    root = Path("co")
    write(root / "keep.txt", "stale")  # changed: replaced
    write(root / "extra.txt", "extra")  # not in the artifact: removed
    write(root / "old/deep/gone.txt", "gone")  # a folder not in it: removed with its files
    (root / "link-out").symlink_to(outside)  # a link out: removed, never followed
    (root / "sub").mkdir()
    (root / "sub/inner.txt").symlink_to(outside / "precious.txt")  # a link where a file goes
    art.checkout(root)

    assert tree(root) == {"keep.txt": b"keep", "sub/inner.txt": b"inner"}
    assert sorted(p.name for p in root.iterdir()) == ["keep.txt", "sub"]
    assert not (root / "sub/inner.txt").is_symlink()
    assert tree(outside) == {"precious.txt": b"precious"}


# -- download options -------------------------------------------------------------------


def test_download_allow_missing_references(registry, tmp_path):
    write(tmp_path / "refs/here.txt", "here")
    write(tmp_path / "refs/gone.txt", "gone")
    write("stored.txt", "stored")
    art = wandb.Artifact("data", type="dataset")
    art.add_file("stored.txt")
    art.add_reference((tmp_path / "refs").as_uri(), name="refs")
    log(art)
    (tmp_path / "refs/gone.txt").unlink()

    with pytest.raises(VerificationError, match=r"file 'refs/gone.txt'.* is gone"):
        art.download("strict")
    root = art.download("lenient", allow_missing_references=True, skip_cache=True)
    assert tree(root) == {"stored.txt": b"stored", "refs/here.txt": b"here"}

    write(tmp_path / "refs/here.txt", "changed")  # changed is not missing: still an error
    with pytest.raises(VerificationError, match=r"refs/here\.txt"):
        art.download("changed", allow_missing_references=True)


# -- descriptive members ----------------------------------------------------------------


def test_draft_state_wait_id_and_counts(registry):
    write("a.txt", "a")
    art = wandb.Artifact("data", type="dataset")
    art.add_file("a.txt")
    assert art.is_draft() and art.id is None and art.file_count == 1 and art.url is None
    with pytest.raises(ArtifactError, match="has not been logged"):
        art.wait()
    log(art)
    assert art.wait() is art and not art.is_draft()
    got = wandb.Api().artifact("p/data:v0")
    assert got.id == art.id and len(art.id or "") == 32
    assert got.updated_at == got.created_at
    # The same files in another collection are another version: another id.
    other = wandb.Artifact("data-copy", type="dataset")
    other.add_file("a.txt")
    log(other)
    assert other.digest == art.digest and other.id != art.id


def test_collection_and_its_versions(registry):
    for i in range(2):
        write("a.txt", f"v{i}")
        art = wandb.Artifact("data", type="dataset")
        art.add_file("a.txt")
        log(art, aliases=[f"tag{i}"])
    coll = wandb.Api().artifact("p/data:v1").collection
    assert isinstance(coll, ArtifactCollection)
    assert (coll.name, coll.type, coll.entity, coll.project) == (
        "data",
        "dataset",
        "test-registry",
        "p",
    )
    assert coll.aliases == ["latest", "tag0", "tag1"] and coll.is_sequence()
    assert [v.version for v in coll.versions()] == ["v0", "v1"]
    with pytest.raises(UnsupportedError, match="delete versions one at a time"):
        coll.delete()


def test_links_source_artifact_and_linked_artifacts(registry):
    create_prod_registry()
    write("model.pth", "w")
    art = wandb.Artifact("model", type="model")
    art.add_file("model.pth")
    log(art)
    assert not art.is_link and art.linked_artifacts == [] and art.source_artifact is art
    linked = art.link("model-registry/prod", aliases=["staging"])
    assert linked.is_link and linked.source_artifact.qualified_name == art.qualified_name
    assert [a.qualified_name for a in art.linked_artifacts] == ["model-registry/prod/model:v0"]
    assert linked.linked_artifacts == []
    assert linked.collection.project == "model-registry/prod"
    assert not linked.collection.is_sequence()
    assert [v.version for v in linked.collection.versions()] == ["v0"]


def test_use_as_is_deprecated_and_ignored_and_server_only_members_say_why(registry):
    with pytest.warns(DeprecationWarning, match="use_as is deprecated"):
        art = wandb.Artifact("data", type="dataset", use_as="input")
    assert art.use_as is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wandb.Artifact("data", type="dataset")  # no warning without use_as
    with pytest.raises(UnsupportedError, match="storage_region"):
        wandb.Artifact("data", type="dataset", storage_region="eu")
    with pytest.raises(UnsupportedError, match="distributed_id"):
        art.distributed_id = "abc"
    with pytest.raises(UnsupportedError, match=r"from_id\(\)"):
        wandb.Artifact.from_id("abc")


# -- the guide's best practice 3, verbatim -----------------------------------------------


def test_best_practice_3_one_model_logged_with_each_stage(registry):
    write("model.pth", "weights")
    api = wandb.Api()
    run = wandb.init(project="deploy")
    model = wandb.Artifact("model", type="model")
    model.add_file("model.pth")

    # Development
    run.log_artifact(model, aliases=["dev", "latest"])

    # Staging
    run.log_artifact(model, aliases=["staging"])

    # Production
    run.log_artifact(model, aliases=["production", "v1.2.0"])

    # Archive old versions
    old_artifact = api.artifact("model:production")
    old_artifact.aliases = ["archived-v1.1.0"]
    old_artifact.save()
    run.finish()

    assert model.version == "v0" and model.created is False
    assert sorted(api.artifact("deploy/model:v0").aliases) == ["archived-v1.1.0", "latest"]
    for gone in ("dev", "staging", "production", "v1.2.0"):
        with pytest.raises(wandb.NotFoundError):
            api.artifact(f"deploy/model:{gone}")
    assert [v.version for v in api.artifact("deploy/model:v0").collection.versions()] == ["v0"]


def test_linking_a_registry_version_again_refreshes_its_aliases_for_save(registry):
    create_prod_registry()
    write("model.pth", "w")
    art = wandb.Artifact("model", type="model")
    art.add_file("model.pth")
    log(art)
    art.link("model-registry/prod")
    reg = wandb.Api().artifact("model-registry/prod/model:v0")
    reg.link("model-registry/prod", aliases=["staging"])
    assert "staging" in reg.aliases
    reg.aliases = []
    reg.save()
    with pytest.raises(wandb.NotFoundError):
        wandb.Api().artifact("model-registry/prod/model:staging")
