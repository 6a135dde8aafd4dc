"""The wandb-style SDK beyond the guide's examples: runs, Api, downloads, edge cases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool import _yamlio as yamlio
from registry_tool._sdk import unsupported
from tests.helpers import git, write


def test_public_surface_is_locked():
    assert wandb.__all__ == sorted(wandb.__all__)
    # Ours, then W&B's server-only calls, each raising UnsupportedError (_sdk/unsupported.py).
    ours = {
        "AlertLevel", "Api", "Artifact", "ArtifactError", "ArtifactTTL", "CommError", "Config",
        "CorruptBlobError", "DocumentError", "Error", "GateError", "GitError", "Image",
        "InvalidNameError", "NotFoundError", "ProtectedAliasError", "RegistryError", "Run",
        "Settings", "StorageError", "Table", "UsageError", "VerificationError", "__version__",
        "define_metric", "errors", "finish", "init", "join", "link_model", "log", "log_artifact",
        "log_model", "patched", "pin_config_keys", "require", "restore", "save", "setup",
        "teardown", "termerror", "termlog", "termsetup", "termwarn", "use_artifact", "use_model",
        # media
        "Audio", "Classes", "Graph", "Histogram", "Html", "JoinedTable", "Molecule", "Object3D",
        "Plotly", "Video", "box3d",
    }  # fmt: skip
    refused = set(unsupported.MODULE)
    assert {"agent", "alert", "login", "sweep", "watch"} <= refused
    assert set(wandb.__all__) == ours | refused
    for name in refused:
        with pytest.raises(wandb.errors.UnsupportedError, match=name):
            getattr(wandb, name)()
    for name in wandb.__all__:
        assert hasattr(wandb, name)


def test_run_file_records_config_times_status_code_and_lineage(registry, tmp_path, monkeypatch):
    code = tmp_path / "code"
    code.mkdir()
    git(code, "init", "--quiet")
    write(code / "train.py", "print(1)\n")
    git(code, "add", ".")
    git(code, "commit", "--quiet", "-m", "code")
    commit = git(code, "rev-parse", "HEAD")
    monkeypatch.chdir(code)
    write("data.csv", "x\n1\n")  # untracked files do not make the code dirty...
    write("train.py", "print(2)\n")  # ...an edit to a tracked file does
    with wandb.init(
        project="p", job_type="prep", config={"lr": 0.1, "layers": [1, 2]}, name="prep-1"
    ) as run:
        art = wandb.Artifact("data", type="dataset")
        art.add_file("data.csv")
        run.log_artifact(art)
        run.config.batch = 32
    assert wandb.run is None
    doc = yamlio.loads((registry.root / f"projects/p/runs/{run.id}.yaml").read_bytes(), "run")
    assert doc["status"] == "finished" and doc["finished_at"] >= doc["started_at"]
    assert doc["config"] == {"lr": 0.1, "layers": [1, 2], "batch": 32}
    assert doc["code"] == {"commit": commit, "dirty": True, "branch": doc["code"]["branch"]}
    assert doc["job_type"] == "prep" and doc["name"] == "prep-1"
    assert doc["outputs"] == [{"artifact": "p/data", "version": 0}]

    public = wandb.Api().run(f"p/{run.id}")
    assert public.config["batch"] == 32 and public.state == "finished"
    assert [a.name for a in public.logged_artifacts()] == ["data:v0"]


def test_a_run_that_raises_is_recorded_as_failed(registry):
    write("a.txt", "x")
    with pytest.raises(RuntimeError), wandb.init(project="p") as run:
        art = wandb.Artifact("a", type="t")
        art.add_file("a.txt")
        run.log_artifact(art)
        raise RuntimeError("training diverged")
    assert wandb.Api().run(f"p/{run.id}").status == "failed"


def test_use_artifact_records_the_alias_it_came_through(registry):
    write("a.txt", "x")
    with wandb.init(project="p") as producer:
        art = wandb.Artifact("a", type="t")
        art.add_file("a.txt")
        producer.log_artifact(art, aliases=["best"])
    with wandb.init(project="p") as consumer:
        got = consumer.use_artifact("a:best", type="t")
        assert got.version == "v0"
        with pytest.raises(wandb.ArtifactError, match="type 't', not 'model'"):
            consumer.use_artifact("a:v0", type="model")
    doc = yamlio.loads((registry.root / f"projects/p/runs/{consumer.id}.yaml").read_bytes(), "r")
    assert doc["inputs"] == [{"artifact": "p/a", "version": 0, "via": "a:best"}]
    assert [r.id for r in got.used_by()] == [consumer.id]
    assert got.logged_by().id == producer.id


def test_api_artifacts_lists_every_version_in_both_call_styles(registry):
    for i in range(3):
        write("a.txt", str(i))
        with wandb.init(project="p") as run:
            art = wandb.Artifact("a", type="dataset")
            art.add_file("a.txt")
            run.log_artifact(art)
    api = wandb.Api()
    assert [a.version for a in api.artifacts("p", "a")] == ["v0", "v1", "v2"]
    assert [a.version for a in api.artifacts("dataset", "p/a")] == ["v0", "v1", "v2"]
    with pytest.raises(wandb.NotFoundError):
        api.artifacts("model", "p/a")
    assert api.artifact("a:v1").digest != api.artifact("a:v2").digest
    assert api.artifact("test-registry/p/a:v1").version == "v1"
    with pytest.raises(wandb.NotFoundError, match="entity 'other'"):
        api.artifact("other/p/a:v1")


def test_download_with_path_prefix_and_default_root(registry):
    write("d/images/1.png", "png1")
    write("d/labels.csv", "l")
    with wandb.init(project="p") as run:
        art = wandb.Artifact("d", type="dataset")
        art.add_dir("d")
        run.log_artifact(art)
    got = wandb.Api().artifact("p/d:latest")
    root = got.download(path_prefix="images/")
    assert root == os.path.join("artifacts", "d:v0")
    assert sorted(p.relative_to(root).as_posix() for p in Path(root).rglob("*") if p.is_file()) == [
        "images/1.png"
    ]
    # Downloading again skips files already there (stat cache), and heals a changed one.
    got.download()
    Path(root, "labels.csv").write_text("tampered")
    got.download()
    assert Path(root, "labels.csv").read_text() == "l"
    assert got.verify(root).ok


def test_new_file_get_entry_size_and_manifest(registry):
    art = wandb.Artifact("notes", type="text", metadata={"k": "v"})
    with art.new_file("a/b.txt") as f:
        f.write("hello")
    with art.new_file("raw.bin", mode="wb") as f:
        f.write(b"\x00\x01")
    with wandb.init(project="p") as run:
        run.log_artifact(art)
    assert art.size == 7 and art.get_entry("a/b.txt").size == 5
    assert art.qualified_name == "test-registry/p/notes:v0"
    with pytest.raises(KeyError):
        art.get_entry("nope")
    with pytest.raises(wandb.ArtifactError, match="new_draft"):
        art.add_file("whatever")
    art.metadata["k"] = "changed"  # an edit after logging, as W&B allows
    art.save()
    assert wandb.Api().artifact("p/notes:v0").metadata["k"] == "changed"


@pytest.mark.parametrize(
    "bad",
    ["../escape.txt", "/abs.txt", "C:\\x.txt", "a/../b", "a//b", "nul\x00.txt", "x\\y", "", "./a"],
)
def test_unsafe_names_inside_an_artifact_are_refused(bad):
    write("f.txt", "x")
    art = wandb.Artifact("a", type="t")
    with pytest.raises(wandb.InvalidNameError):
        art.add_file("f.txt", name=bad)


def test_names_that_differ_only_in_case_are_refused(registry):
    write("f.txt", "x")
    art = wandb.Artifact("a", type="t")
    art.add_file("f.txt", name="Data.txt")
    art.add_file("f.txt", name="data.txt")
    with (
        pytest.raises(wandb.ArtifactError, match="differ only in case"),
        wandb.init(project="p") as run,
    ):
        run.log_artifact(art)
    assert not (registry.root / "projects/p/a").exists()


def test_symlinks_out_of_an_added_directory_are_refused_inside_ones_followed(tmp_path):
    write("d/real.txt", "x")
    write(tmp_path / "secret.txt", "s")
    os.symlink("real.txt", "d/inside.txt")
    art = wandb.Artifact("a", type="t")
    art.add_dir("d")
    assert sorted(e.path for e in art.manifest) == ["inside.txt", "real.txt"]
    os.symlink(tmp_path / "secret.txt", "d/outside.txt")
    with pytest.raises(wandb.ArtifactError, match="outside the directory"):
        wandb.Artifact("b", type="t").add_dir("d")


def test_download_refuses_symlinks_that_lead_out_of_the_target(registry, tmp_path):
    write("d/sub/a.txt", "a")
    write("d/b.txt", "b")
    art = wandb.Artifact("a", type="t")
    art.add_dir("d")
    with wandb.init(project="p") as run:
        run.log_artifact(art)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    got = wandb.Api().artifact("p/a:v0")
    (tmp_path / "t1").mkdir()
    os.symlink(outside, tmp_path / "t1" / "sub")  # a folder that leads out
    with pytest.raises(wandb.VerificationError, match=r"'sub/a\.txt' would land outside"):
        got.download(str(tmp_path / "t1"))
    (tmp_path / "t2").mkdir()
    os.symlink(outside / "b.txt", tmp_path / "t2" / "b.txt")  # a file that leads out
    with pytest.raises(wandb.VerificationError, match=r"'b\.txt' would land outside"):
        got.download(str(tmp_path / "t2"))
    assert list(outside.iterdir()) == []
    assert (Path(got.download(str(tmp_path / "t3"))) / "sub/a.txt").read_text() == "a"


def test_bad_metadata_is_refused_before_anything_is_written(registry):
    write("f.txt", "x")
    art = wandb.Artifact("a", type="t", metadata={"loss": object()})
    art.add_file("f.txt")
    head = registry.git.rev_parse("HEAD")
    with (
        pytest.raises(wandb.UsageError, match="is not a YAML value"),
        wandb.init(project="p") as run,
    ):
        run.log_artifact(art)
    assert registry.git.rev_parse("HEAD") == head  # the run wrote nothing, so it left nothing
    assert not (registry.root / "projects/p/a").exists()


def test_type_of_a_collection_is_fixed(registry):
    write("f.txt", "x")
    with wandb.init(project="p") as run:
        a = wandb.Artifact("thing", type="dataset")
        a.add_file("f.txt")
        run.log_artifact(a)
        write("f.txt", "y")
        b = wandb.Artifact("thing", type="model")
        b.add_file("f.txt")
        with pytest.raises(wandb.ArtifactError, match="holds artifacts of type 'dataset'"):
            run.log_artifact(b)


def test_an_empty_artifact_cannot_be_logged(registry):
    with pytest.raises(wandb.ArtifactError, match="has no files"), wandb.init(project="p") as run:
        run.log_artifact(wandb.Artifact("empty", type="t"))


def test_logging_a_path_directly(registry):
    write("model.pth", "weights")
    with wandb.init(project="p") as run:
        art = run.log_artifact("model.pth", name="m", type="model")
    assert art.version == "v0" and [e.path for e in art.files()] == ["model.pth"]


def test_aliases_appended_to_a_logged_artifact_are_applied_by_save(registry):
    write("m.bin", "weights")
    with wandb.init(project="p") as run:
        model = wandb.Artifact("model", type="model")
        model.add_file("m.bin")
        run.log_artifact(model)
    got = wandb.Api().artifact("p/model:latest")
    got.aliases.append("best")
    got.aliases.remove("latest")  # latest stays: only logging moves it
    got.save()
    assert sorted(wandb.Api().artifact("p/model:v0").aliases) == ["best", "latest"]
    again = wandb.Api().artifact("p/model:best")
    again.aliases.remove("best")
    again.save()
    assert wandb.Api().artifact("p/model:v0").aliases == ["latest"]
