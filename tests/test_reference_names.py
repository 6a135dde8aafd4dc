"""How references name their entries: as W&B names them.

A prefix or a directory gives one entry per object, named by its path relative to the
prefix (``s3://b/prefix/`` holding ``prefix/a.txt`` and ``prefix/sub/b.txt`` gives
``a.txt`` and ``sub/b.txt``), under ``name/`` when a name is given; a single object is
named by its last segment, or by ``name``. Every server is local: SeaweedFS for S3,
``tests/refservers.py`` for HTTP and the GCS JSON API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import registry_tool as wandb
from registry_tool.errors import ArtifactError, InvalidNameError, UsageError
from tests.helpers import write

pytestmark = pytest.mark.usefixtures("no_proxy")  # the fixtures: tests/conftest.py


def names(entries: list[Any]) -> list[str]:
    return sorted(e.path for e in entries)


def load_data(directory: str | Path) -> dict[str, bytes]:
    root = Path(directory)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def put_tree(s3: Any, bucket: str) -> None:
    client = s3.client()
    for key, body in {
        "prefix/a.txt": b"a",
        "prefix/sub/b.txt": b"b",
        "prefix2/not-me.txt": b"no",  # shares the prefix's letters, not its folder
        "top.txt": b"top",
    }.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)


# -- s3:// -----------------------------------------------------------------------------


def test_s3_prefix_entries_are_relative_to_the_prefix(registry, s3_refs, bucket):
    put_tree(s3_refs, bucket)
    art = wandb.Artifact("d", type="dataset")
    assert names(art.add_reference(f"s3://{bucket}/prefix/")) == ["a.txt", "sub/b.txt"]


def test_s3_bare_key_prefix_is_the_folder_not_every_key_starting_with_it(registry, s3_refs, bucket):
    put_tree(s3_refs, bucket)
    art = wandb.Artifact("d", type="dataset")
    entries = art.add_reference(f"s3://{bucket}/prefix")
    assert names(entries) == ["a.txt", "sub/b.txt"]
    assert sorted(e.ref for e in entries) == [
        f"s3://{bucket}/prefix/a.txt",
        f"s3://{bucket}/prefix/sub/b.txt",
    ]


def test_s3_prefix_with_a_name_goes_under_it(registry, s3_refs, bucket):
    put_tree(s3_refs, bucket)
    art = wandb.Artifact("d", type="dataset")
    assert names(art.add_reference(f"s3://{bucket}/prefix/", name="train")) == [
        "train/a.txt",
        "train/sub/b.txt",
    ]
    # a trailing slash on the name changes nothing
    other = wandb.Artifact("e", type="dataset")
    assert names(other.add_reference(f"s3://{bucket}/prefix/", name="train/")) == [
        "train/a.txt",
        "train/sub/b.txt",
    ]


def test_s3_whole_bucket_names_entries_by_their_keys(registry, s3_refs, bucket):
    put_tree(s3_refs, bucket)
    art = wandb.Artifact("d", type="dataset")
    assert names(art.add_reference(f"s3://{bucket}/")) == [
        "prefix/a.txt",
        "prefix/sub/b.txt",
        "prefix2/not-me.txt",
        "top.txt",
    ]


def test_s3_single_object_is_its_basename_or_the_name(registry, s3_refs, bucket):
    put_tree(s3_refs, bucket)
    art = wandb.Artifact("d", type="dataset")
    assert names(art.add_reference(f"s3://{bucket}/prefix/sub/b.txt")) == ["b.txt"]
    assert names(art.add_reference(f"s3://{bucket}/top.txt", name="x/renamed.txt")) == [
        "x/renamed.txt"
    ]


def test_s3_two_prefixes_with_the_same_files_collide_unless_named(registry, s3_refs, bucket):
    client = s3_refs.client()
    client.put_object(Bucket=bucket, Key="one/a.txt", Body=b"1")
    client.put_object(Bucket=bucket, Key="two/a.txt", Body=b"2")
    art = wandb.Artifact("d", type="dataset")
    art.add_reference(f"s3://{bucket}/one/")
    with pytest.raises(ArtifactError, match=r"'a\.txt' is already in artifact"):
        art.add_reference(f"s3://{bucket}/two/")
    assert names(art.add_reference(f"s3://{bucket}/two/", name="two")) == ["two/a.txt"]


def test_s3_prefix_keeps_the_entry_path_grammar(registry, s3_refs, bucket):
    s3_refs.client().put_object(Bucket=bucket, Key="p/.git/config", Body=b"x")
    art = wandb.Artifact("d", type="dataset")
    with pytest.raises(InvalidNameError, match=r"\.git"):
        art.add_reference(f"s3://{bucket}/p/")
    with pytest.raises(UsageError, match="would be written to the registry"):
        art.add_reference(f"s3://{bucket}/p/?X-Amz-Signature=abc")


# -- gs:// -----------------------------------------------------------------------------


def test_gcs_prefix_with_and_without_a_name(registry, gcs):
    gcs.put("bkt", "data/a.txt", b"a")
    gcs.put("bkt", "data/sub/b.txt", b"b")
    gcs.put("bkt", "database.txt", b"no")
    art = wandb.Artifact("d", type="dataset")
    assert names(art.add_reference("gs://bkt/data/")) == ["a.txt", "sub/b.txt"]
    other = wandb.Artifact("e", type="dataset")
    assert names(other.add_reference("gs://bkt/data", name="g")) == ["g/a.txt", "g/sub/b.txt"]
    single = wandb.Artifact("f", type="dataset")
    assert names(single.add_reference("gs://bkt/data/sub/b.txt")) == ["b.txt"]


# -- http(s):// ------------------------------------------------------------------------


def test_http_single_object_is_its_basename_or_the_name(registry, web):
    web.put("/files/data.zip", b"zip")
    art = wandb.Artifact("d", type="dataset")
    assert names(art.add_reference(web.url("/files/data.zip"))) == ["data.zip"]
    assert names(art.add_reference(web.url("/files/data.zip"), name="copy/z.zip")) == ["copy/z.zip"]


# -- file:// ---------------------------------------------------------------------------


def test_file_directory_with_and_without_a_name(registry, tmp_path):
    shared = tmp_path / "mnt" / "shared" / "data"
    write(shared / "a.txt", "a")
    write(shared / "sub" / "b.txt", "b")
    art = wandb.Artifact("d", type="dataset")
    assert names(art.add_reference(f"file://{shared}")) == ["a.txt", "sub/b.txt"]
    other = wandb.Artifact("e", type="dataset")
    assert names(other.add_reference(f"file://{shared}/", name="local")) == [
        "local/a.txt",
        "local/sub/b.txt",
    ]
    single = wandb.Artifact("f", type="dataset")
    assert names(single.add_reference(f"file://{shared / 'sub' / 'b.txt'}")) == ["b.txt"]


# -- the guide's mixed references ------------------------------------------------------


def test_the_guides_mixed_reference_example_logs_and_downloads(
    registry, s3_refs, bucket, gcs, web, tmp_path
):
    """The guide's "Artifact References" block as written (its bucket, host and mount
    served here): the unnamed gs:// prefix and the file:// folder, both called ``data``,
    no longer collide with each other or with ``data.zip``."""
    client = s3_refs.client()
    client.put_object(Bucket=bucket, Key="data/train.csv", Body=b"t")
    client.put_object(Bucket=bucket, Key="labels/labels.csv", Body=b"l")
    gcs.put("my-bucket", "data/shard-0.bin", b"g0")
    gcs.put("my-bucket", "data/nested/shard-1.bin", b"g1")
    web.put("/data.zip", b"PK")
    mount = tmp_path / "mnt" / "shared" / "data"
    write(mount / "part-0.csv", "f0")
    write(mount / "nested" / "part-1.csv", "f1")

    # S3 reference
    dataset = wandb.Artifact("s3-dataset", type="dataset")
    dataset.add_reference(f"s3://{bucket}/data/", name="train")
    dataset.add_reference(f"s3://{bucket}/labels/", name="labels")
    # GCS reference
    dataset.add_reference("gs://my-bucket/data/")
    # HTTP reference
    dataset.add_reference(web.url("/data.zip"))
    # Local filesystem reference (for shared storage)
    dataset.add_reference(f"file://{mount}")

    run = wandb.init(project="refs")
    run.log_artifact(dataset)
    run.finish()

    got = wandb.Api().artifact("refs/s3-dataset:latest")
    assert load_data(got.download(str(tmp_path / "out"))) == {
        "train/train.csv": b"t",
        "labels/labels.csv": b"l",
        "shard-0.bin": b"g0",
        "nested/shard-1.bin": b"g1",
        "data.zip": b"PK",
        "part-0.csv": b"f0",
        "nested/part-1.csv": b"f1",
    }
