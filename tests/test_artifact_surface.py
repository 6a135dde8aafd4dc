"""The rest of W&B's ``Artifact``, ``ArtifactCollection`` and ``ArtifactManifestEntry``,
each member at its boundaries on real registry repos: digest algorithms, link and edit
times, W&B's positional signatures (``delete``, ``files``, ``new_file``, ``save``,
``artifacts``, entry ``download``), ``save()`` logging a draft, collection ids and
``load``, entry JSON, page URLs from ``mkdocs.yml``, and references that are gone told
from references that changed by type.
"""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
import yaml

import registry_tool as wandb
from registry_tool._model import layout
from registry_tool._site.kinds import path as page_path
from registry_tool.errors import (
    ArtifactError,
    ReferenceGoneError,
    UsageError,
    VerificationError,
)
from tests.helpers import commit, create_prod_registry, write


def log(art: wandb.Artifact, project: str = "p", aliases: list[str] | None = None) -> None:
    with wandb.init(project=project) as run:
        run.log_artifact(art, aliases=aliases)


def logged(name: str = "data", content: str = "a", project: str = "p") -> wandb.Artifact:
    write("a.txt", content)
    art = wandb.Artifact(name, type="dataset")
    art.add_file("a.txt")
    log(art, project)
    return art


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


# -- digest algorithm, link time, update time --------------------------------------------


def test_digest_algorithm_is_sha256_and_none_for_an_unhashed_reference(registry, tmp_path):
    write("a.txt", "a")
    write(tmp_path / "ref.txt", "r")
    art = wandb.Artifact("data", type="dataset")
    assert art.digest_algorithm == "SHA256"  # a draft's digest is SHA-256 already
    art.add_file("a.txt")
    art.add_reference((tmp_path / "ref.txt").as_uri(), name="hashed.txt")
    art.add_reference((tmp_path / "ref.txt").as_uri(), name="unhashed.txt", checksum=False)
    log(art)
    got = wandb.Api().artifact("p/data:v0")
    assert got.digest_algorithm == "SHA256"
    algorithms = {e.path: e.digest_algorithm() for e in got.files()}
    assert algorithms == {"a.txt": "SHA256", "hashed.txt": "SHA256", "unhashed.txt": None}


def test_linked_at_is_the_link_time_and_none_for_a_project_version(registry):
    create_prod_registry()
    write("a.txt", "a")
    art = wandb.Artifact("model", type="model")
    assert art.linked_at is None
    art.add_file("a.txt")
    log(art)
    assert art.linked_at is None
    before = datetime.now().astimezone()
    linked = art.link("model-registry/prod")
    after = datetime.now().astimezone()
    assert linked.linked_at is not None and before <= when(linked.linked_at) <= after
    again = wandb.Api().artifact("model-registry/prod/model:v0")
    assert again.linked_at == linked.linked_at
    assert again.source_artifact.linked_at is None


def test_updated_at_is_the_last_edit_else_the_logging_time(registry):
    art = logged()
    got = wandb.Api().artifact("p/data:v0")
    assert got.updated_at == got.created_at
    got.description = "first"
    got.save()
    first = got.updated_at
    assert when(first) > when(got.created_at)
    got.metadata = {"rows": 2}
    got.save()
    assert when(got.updated_at) > when(first)
    assert art.updated_at == got.updated_at  # read from the registry, not kept
    got.save()  # a save that changes nothing is no edit: the time stays
    assert got.updated_at == art.updated_at


# -- W&B's positional signatures ---------------------------------------------------------


def test_files_takes_names_per_page_and_a_start_cursor_in_position(registry):
    for name in ("a.txt", "b.txt", "c.txt"):
        write(name, name)
    art = wandb.Artifact("data", type="dataset")
    for name in ("c.txt", "a.txt", "b.txt"):
        art.add_file(name)
    log(art)
    assert [e.path for e in art.files(None, 50, None)] == ["a.txt", "b.txt", "c.txt"]
    assert [e.path for e in art.files(None, 50, "a.txt")] == ["b.txt", "c.txt"]
    assert [e.path for e in art.files(None, 50, "c.txt")] == []  # the last page ended
    assert [e.path for e in art.files(["a.txt", "c.txt"], 50, "a.txt")] == ["c.txt"]
    with pytest.raises(UsageError, match=r"start='b\.txt'.* has no file 'b\.txt'") as err:
        art.files(["a.txt", "c.txt"], 50, "b.txt")  # b.txt is not among those names
    assert err.value.field == "start"


def test_new_file_takes_a_policy_in_fourth_position(registry):
    art = wandb.Artifact("data", type="dataset")
    with art.new_file("n.txt", "x", "utf-8", "immutable") as f:
        f.write("n")
    with art.new_file("m.txt", "w", None, "mutable") as f:
        f.write("m")
    with pytest.raises(UsageError, match=r"policy 'sometimes'"):
        art.new_file("o.txt", "x", None, "sometimes").__enter__()
    assert "o.txt" not in art.manifest.entries
    log(art)
    assert sorted(e.path for e in art.files()) == ["m.txt", "n.txt"]


def test_delete_takes_delete_aliases_in_position(registry):
    write("a.txt", "a")
    art = wandb.Artifact("data", type="dataset")
    art.add_file("a.txt")
    log(art, aliases=["best"])
    with pytest.raises(UsageError, match="it has the aliases best"):
        art.delete(False)
    assert art.state == "COMMITTED"
    art.delete(True)
    assert art.state == "DELETED"


def test_collection_artifacts_takes_per_page_and_a_start_cursor(registry):
    for i in range(3):
        logged(content=f"v{i}")
    coll = wandb.Api().artifact("p/data:v0").collection
    assert [a.version for a in coll.artifacts(50, None)] == ["v0", "v1", "v2"]
    assert [a.version for a in coll.artifacts(50, "v0")] == ["v1", "v2"]
    assert [a.version for a in coll.artifacts(per_page=1, start="v2")] == []
    with pytest.raises(UsageError, match=r"start='v3'.* no version 'v3'"):
        coll.artifacts(50, "v3")


def test_entry_download_takes_an_executor_in_third_position(registry, tmp_path):
    art = logged(content="bytes")
    entry = wandb.Api().artifact("p/data:v0").get_entry("a.txt")
    with ThreadPoolExecutor(max_workers=1) as pool:
        path = entry.download(str(tmp_path / "out"), None, pool)
    assert Path(path) == tmp_path / "out" / "a.txt" and Path(path).read_text() == "bytes"
    assert art.get_entry("a.txt").download(tmp_path / "again", True) == str(
        tmp_path / "again" / "a.txt"
    )


# -- save() on a draft -------------------------------------------------------------------


def test_save_on_a_draft_logs_it_through_the_current_run(registry):
    write("a.txt", "a")
    with wandb.init(project="p") as run:
        art = wandb.Artifact("data", type="dataset")
        art.add_file("a.txt")
        art.save()
        assert not art.is_draft() and art.qualified_name == "test-registry/p/data:v0"
        producer = art.logged_by()
        assert producer is not None and producer.id == run.id
        other = wandb.Artifact("other", type="dataset")
        other.add_file("a.txt")
        with pytest.raises(UsageError, match=r"save\(project='q'\).* logs to project 'p'"):
            other.save("q")
        assert other.is_draft()


def test_save_on_a_draft_without_a_run_starts_one_in_the_project(registry):
    write("a.txt", "a")
    art = wandb.Artifact("data", type="dataset")
    art.add_file("a.txt")
    art.save("elsewhere", {"mode": "online"})  # W&B's settings: no counterpart here
    assert art.project == "elsewhere" and art.version == "v0"
    producer = art.logged_by()
    assert producer is not None and producer.job_type == "auto"
    assert wandb.run is None  # the run started for it is finished
    plain = wandb.Artifact("plain", type="dataset")
    plain.add_file("a.txt")
    plain.save()
    assert plain.project == "uncategorized"
    empty = wandb.Artifact("empty", type="dataset")
    with pytest.raises(ArtifactError, match="has no files"):
        empty.save("elsewhere")
    # A logged version's save() still applies edits: no new version.
    art.description = "edited"
    art.save()
    assert wandb.Api().artifact("elsewhere/data:latest").version == "v0"
    assert wandb.Api().artifact("elsewhere/data:v0").description == "edited"


# -- the collection ----------------------------------------------------------------------


def test_collection_organization_and_project_ids_are_stable_and_distinct(registry):
    logged()
    logged(project="q")
    api = wandb.Api()
    p = api.artifact("p/data:v0").collection
    again = wandb.Api().artifact("p/data:v0").collection
    q = api.artifact("q/data:v0").collection
    assert p.organization == "test-registry"
    assert isinstance(p.project_internal_id, int) and 0 <= p.project_internal_id < 2**53
    assert p.project_internal_id == again.project_internal_id != q.project_internal_id
    decoded = base64.b64decode(p.project_id).decode()
    assert decoded == f"Project:{p.project_internal_id}" and p.project_id != q.project_id


def test_collection_updated_at_follows_versions_edits_and_links(registry):
    first = logged()
    coll = wandb.Api().artifact("p/data:v0").collection
    assert coll.updated_at == first.created_at and when(coll.created_at) <= when(first.created_at)
    second = logged(content="b")
    assert coll.updated_at == second.created_at
    first.description = "edited"
    first.save()
    assert coll.updated_at == first.updated_at and when(coll.updated_at) > when(second.created_at)
    create_prod_registry()
    linked = second.link("model-registry/prod")
    registry_coll = linked.collection
    assert registry_coll.created_at == registry_coll.updated_at == linked.linked_at


def test_collection_load_rereads_and_refuses_another_collection(registry):
    logged()
    coll = wandb.Api().artifact("p/data:v0").collection
    assert coll.load() is coll
    assert coll.load("test-registry", "p", "dataset", "data") is coll
    # Another writer changes the collection's file: only load() shows it.
    path = Path(registry.root) / layout.collection_file("p", "data")
    doc = yaml.safe_load(path.read_text())
    doc["description"] = "reviewed"
    commit(Path(registry.root), {str(path): yaml.safe_dump(doc)}, "describe the collection")
    assert coll.description is None
    assert coll.load().description == "reviewed"
    with pytest.raises(UsageError, match=r"load\(name='other'\)") as err:
        coll.load("test-registry", "p", "dataset", "other")
    assert err.value.field == "name"
    with pytest.raises(UsageError, match=r"load\(type_='model'\)"):
        coll.load(type_="model")


# -- manifest entries --------------------------------------------------------------------


def test_entry_to_json_has_wandbs_shape_leaving_empty_fields_out(registry, tmp_path):
    write("a.txt", "abc")
    write(tmp_path / "r.txt", "ref")
    art = wandb.Artifact("data", type="dataset")
    draft_entry = art.add_file("a.txt")
    assert set(draft_entry.to_json()) == {"path", "digest", "size", "local_path"}
    art.add_reference((tmp_path / "r.txt").as_uri(), name="r.txt")
    log(art)
    stored, ref = art.get_entry("a.txt"), art.get_entry("r.txt")
    assert stored.to_json() == {
        "path": "a.txt",
        "digest": stored.digest,
        "size": 3,
        "birthArtifactID": art.id,
    }
    assert ref.to_json()["ref"] == (tmp_path / "r.txt").as_uri()
    assert ref.to_json()["birthArtifactID"] == art.id


# -- page URLs ---------------------------------------------------------------------------


def test_url_comes_from_mkdocs_site_url_as_run_url_does(registry):
    create_prod_registry()
    with wandb.init(project="p") as run:
        write("a.txt", "a")
        art = wandb.Artifact("data", type="dataset")
        art.add_file("a.txt")
        run.log_artifact(art)
    assert art.url is None and run.url is None  # no mkdocs.yml: no site
    commit(Path(registry.root), {"mkdocs.yml": "site_url: http://ml.example.com/\n"}, "site")
    assert art.url is None  # only an https site is linked to, as for runs
    commit(Path(registry.root), {"mkdocs.yml": "site_url: https://ml.example.com/reg/\n"}, "s")
    page = page_path("version", "p", "data", "0").removesuffix(".md") + ".html"
    assert art.url == f"https://ml.example.com/reg/{page}"
    assert run.url is not None and run.url.startswith("https://ml.example.com/reg/runs/")
    linked = art.link("model-registry/prod")
    page = page_path("registry_collection", "prod", "data").removesuffix(".md") + ".html"
    assert linked.url == f"https://ml.example.com/reg/{page}"
    assert wandb.Artifact("draft", type="dataset").url is None


# -- references that are gone ------------------------------------------------------------


def test_a_gone_reference_is_a_reference_gone_error_and_a_changed_one_is_not(registry, tmp_path):
    write(tmp_path / "refs/gone.txt", "gone")
    write(tmp_path / "refs/changed.txt", "before")
    write(tmp_path / "loose.txt", "loose")
    write("stored.txt", "stored")
    art = wandb.Artifact("data", type="dataset")
    art.add_file("stored.txt")
    art.add_reference((tmp_path / "refs").as_uri(), name="refs")
    art.add_reference((tmp_path / "loose.txt").as_uri(), name="loose.txt", checksum=False)
    log(art)
    (tmp_path / "refs/gone.txt").unlink()
    (tmp_path / "loose.txt").unlink()
    with pytest.raises(ReferenceGoneError, match=r"file '(refs/gone|loose)\.txt'.* is gone"):
        art.get_entry("refs/gone.txt").download(tmp_path / "one")
    with pytest.raises(ReferenceGoneError):
        art.get_entry("loose.txt").download(tmp_path / "two")
    root = art.download(tmp_path / "lenient", allow_missing_references=True)
    assert sorted(p.name for p in Path(root).rglob("*") if p.is_file()) == [
        "changed.txt",
        "stored.txt",
    ]
    write(tmp_path / "refs/changed.txt", "after")
    with pytest.raises(VerificationError, match=r"changed\.txt.*changed since") as err:
        art.download(tmp_path / "strict", allow_missing_references=True)
    assert not isinstance(err.value, ReferenceGoneError)
