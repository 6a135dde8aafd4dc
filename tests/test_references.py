"""Cloud references: s3://, gs://, http(s)://, file:// (DESIGN.md "References").

Every server is local: SeaweedFS for S3 (``s3_env``), ``tests/refservers.py`` for plain
HTTP and for the GCS JSON API, all on 127.0.0.1 and stopped by the test.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import uuid
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import yaml

import registry_tool as wandb
from registry_tool._references import SCHEMES, ReferenceWarning, scheme_module
from registry_tool._references.gcs import gcs_host
from registry_tool.errors import ArtifactError, InvalidNameError, UsageError, VerificationError
from tests.helpers import git_log, write
from tests.refservers import FileServer, GcsEmulator, crc32c

pytestmark = pytest.mark.usefixtures("no_proxy")  # the fixtures: tests/conftest.py


def load_data(directory: str | Path) -> dict[str, bytes]:
    root = Path(directory)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def blob_files(registry: Any) -> list[Path]:
    base = Path(registry.root) / ".blobs" / "sha256"
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []


def s3_keys(s3_env: Any, bucket: str, prefix: str = "") -> list[str]:
    listed = s3_env.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def put(s3_env: Any, bucket: str, key: str, data: bytes) -> dict[str, Any]:
    response: dict[str, Any] = s3_env.client().put_object(Bucket=bucket, Key=key, Body=data)
    return response


def log(art: wandb.Artifact, project: str = "refs") -> wandb.Artifact:
    run = wandb.init(project=project)
    run.log_artifact(art)
    run.finish()
    return wandb.Api().artifact(f"{project}/{art.collection_name}:latest")


def version_doc(registry: Any, project: str, name: str, version: int = 0) -> dict[str, Any]:
    found = list(Path(registry.root).rglob(f"{name}/versions/v{version}.yaml"))
    assert len(found) == 1, found
    doc: dict[str, Any] = yaml.safe_load(found[0].read_text())
    return doc


# -- the guide's examples (Artifact References) ----------------------------------------


def test_guide_s3_references(registry, s3_refs, bucket, tmp_path):
    files = {
        "data/part-0.csv": b"x\n1\n",
        "data/sub/part-1.csv": b"x\n2\n" * 1000,
        "labels/labels.csv": b"label\ncat\n",
        "elsewhere/not-me.csv": b"no\n",
    }
    for key, data in files.items():
        put(s3_refs, bucket, key, data)

    dataset = wandb.Artifact("s3-dataset", type="dataset")
    dataset.add_reference(f"s3://{bucket}/data/", name="train")
    dataset.add_reference(f"s3://{bucket}/labels/", name="labels")
    got = log(dataset)

    entries = {e.path: e for e in got.files()}
    assert sorted(entries) == ["labels/labels.csv", "train/part-0.csv", "train/sub/part-1.csv"]
    part1 = entries["train/sub/part-1.csv"]
    assert part1.ref == f"s3://{bucket}/data/sub/part-1.csv"
    assert part1.digest == "etag:" + hashlib.md5(files["data/sub/part-1.csv"]).hexdigest()
    assert part1.size == 4000
    assert part1.extra["etag"] == part1.digest[5:]
    assert part1.extra["version_id"] is None  # the bucket keeps no versions
    assert part1.extra["last_modified"].endswith("Z")
    assert got.size == sum(len(files[k]) for k in files if not k.startswith("elsewhere"))

    assert blob_files(registry) == []  # referenced, not copied
    out = got.download(str(tmp_path / "out"))
    assert load_data(out) == {
        "train/part-0.csv": files["data/part-0.csv"],
        "train/sub/part-1.csv": files["data/sub/part-1.csv"],
        "labels/labels.csv": files["labels/labels.csv"],
    }
    assert got.verify(out).ok
    assert blob_files(registry) == []


def test_guide_gcs_reference(registry, gcs, tmp_path):
    objects = {f"data/shard-{i}.bin": f"shard {i}\n".encode() * (i + 1) for i in range(5)}
    objects["data/nested/deep.txt"] = b"deep"
    objects["other/skip.txt"] = b"skip"
    objects["data/"] = b""  # a "folder" placeholder: not a file
    for name, data in objects.items():
        gcs.put("my-bucket", name, data)

    dataset = wandb.Artifact("gcs-dataset", type="dataset")
    # GCS reference
    dataset.add_reference("gs://my-bucket/data/")
    got = log(dataset)

    entries = {e.path: e for e in got.files()}
    assert sorted(entries) == ["nested/deep.txt"] + [f"shard-{i}.bin" for i in range(5)]
    shard = entries["shard-3.bin"]
    assert shard.ref == "gs://my-bucket/data/shard-3.bin"
    data = objects["data/shard-3.bin"]
    assert shard.digest == "md5:" + base64.b64encode(hashlib.md5(data).digest()).decode()
    assert shard.size == len(data)
    assert shard.extra["generation"] == str(
        gcs.objects[("my-bucket", "data/shard-3.bin")].generation
    )
    # the listing came in pages of two
    assert sum("pageToken=" in path for _, path in gcs.requests) >= 2

    out = got.download(str(tmp_path / "out"))
    assert load_data(out) == {
        name[5:]: data
        for name, data in objects.items()
        if name.startswith("data/") and name != "data/"
    }
    assert got.verify(out).ok
    assert blob_files(registry) == []


def test_guide_http_reference(registry, web, tmp_path):
    payload = bytes(range(256)) * 400
    web.put("/data.zip", payload)

    dataset = wandb.Artifact("http-dataset", type="dataset")
    # HTTP reference ('https://example.com/data.zip', served here from 127.0.0.1)
    dataset.add_reference(web.url("/data.zip"))
    got = log(dataset)

    (entry,) = got.files()
    assert entry.path == "data.zip"
    assert entry.ref == web.url("/data.zip")
    assert entry.digest.startswith("etag:") and '"' not in entry.digest
    assert entry.size == len(payload)
    assert ("HEAD", "/data.zip") in web.requests
    assert blob_files(registry) == []

    out = got.download(str(tmp_path / "out"))
    assert load_data(out) == {"data.zip": payload}
    assert got.verify(out).ok


def test_guide_file_reference(registry, tmp_path):
    shared = tmp_path / "mnt" / "shared"
    write(shared / "data" / "a.csv", "a\n1\n")
    write(shared / "data" / "sub" / "b.csv", "b\n2\n")

    dataset = wandb.Artifact("file-dataset", type="dataset")
    # Local filesystem reference (for shared storage)
    dataset.add_reference(f"file://{shared / 'data'}")
    got = log(dataset)

    entries = {e.path: e for e in got.files()}
    assert sorted(entries) == ["a.csv", "sub/b.csv"]
    assert entries["a.csv"].digest == "sha256:" + hashlib.sha256(b"a\n1\n").hexdigest()
    assert blob_files(registry) == []
    out = got.download(str(tmp_path / "out"))
    assert load_data(out) == {"a.csv": b"a\n1\n", "sub/b.csv": b"b\n2\n"}
    assert got.verify(out).ok


def test_all_the_guide_references_in_one_artifact(s3_registry, s3_refs, bucket, gcs, web, tmp_path):
    """The guide's block as one artifact, in a registry whose blobs are in S3 too."""
    put(s3_refs, bucket, "data/train.csv", b"t\n1\n")
    put(s3_refs, bucket, "labels/labels.csv", b"l\ncat\n")
    gcs.put("my-bucket", "data/g.txt", b"from gcs")
    web.put("/data.zip", b"PK-zip-bytes")
    shared = write(tmp_path / "mnt" / "shared" / "data" / "f.txt", "from a file").parent
    write("notes.txt", "stored in the blob store")

    dataset = wandb.Artifact("s3-dataset", type="dataset")
    dataset.add_reference(f"s3://{bucket}/data/", name="train")
    dataset.add_reference(f"s3://{bucket}/labels/", name="labels")
    dataset.add_reference("gs://my-bucket/data/", name="gcs")
    dataset.add_reference(web.url("/data.zip"))
    dataset.add_reference(f"file://{shared}")
    dataset.add_file("notes.txt")
    got = log(dataset)

    # one blob in the store: notes.txt; none of the references' bytes
    blobs = s3_keys(s3_refs, bucket, "blobs/sha256/")
    assert len(blobs) == 1
    assert blobs[0].endswith(hashlib.sha256(b"stored in the blob store").hexdigest())

    out = got.download(str(tmp_path / "out"))
    assert load_data(out) == {
        "train/train.csv": b"t\n1\n",
        "labels/labels.csv": b"l\ncat\n",
        "gcs/g.txt": b"from gcs",
        "data.zip": b"PK-zip-bytes",
        "f.txt": b"from a file",
        "notes.txt": b"stored in the blob store",
    }
    assert got.verify(out).ok
    assert len(s3_keys(s3_refs, bucket, "blobs/sha256/")) == 1


# -- s3:// -----------------------------------------------------------------------------


def test_s3_single_object_and_bare_key_prefix(registry, s3_refs, bucket, tmp_path):
    put(s3_refs, bucket, "huge-file.tar.gz", b"tarball")
    put(s3_refs, bucket, "data/a.txt", b"a")
    put(s3_refs, bucket, "data/b.txt", b"b")
    put(s3_refs, bucket, "database.txt", b"not under data/")

    art = wandb.Artifact("large-dataset", type="dataset")
    (entry,) = art.add_reference(f"s3://{bucket}/huge-file.tar.gz")
    assert entry.path == "huge-file.tar.gz" and entry.size == 7
    assert entry.ref == f"s3://{bucket}/huge-file.tar.gz"
    # not an object, but objects under data/: a prefix (as W&B does)
    entries = art.add_reference(f"s3://{bucket}/data", name="data")
    assert [e.path for e in entries] == ["data/a.txt", "data/b.txt"]
    art.add_reference(f"s3://{bucket}/database.txt", name="renamed/db.txt")
    got = log(art)
    assert load_data(got.download(str(tmp_path / "out"))) == {
        "huge-file.tar.gz": b"tarball",
        "data/a.txt": b"a",
        "data/b.txt": b"b",
        "renamed/db.txt": b"not under data/",
    }


def test_s3_reference_to_nothing_is_an_error(s3_refs, bucket):
    art = wandb.Artifact("d", type="dataset")
    with pytest.raises(ArtifactError, match="no object"):
        art.add_reference(f"s3://{bucket}/missing")
    with pytest.raises(ArtifactError, match="bucket does not exist"):
        art.add_reference(f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/x")
    assert art._refs == {}


def test_s3_overwritten_object_fails_the_download(registry, s3_refs, bucket, tmp_path):
    put(s3_refs, bucket, "data/train.csv", b"original\n")
    put(s3_refs, bucket, "data/other.csv", b"unchanged\n")
    art = wandb.Artifact("d", type="dataset")
    art.add_reference(f"s3://{bucket}/data/", name="train")
    got = log(art)

    put(s3_refs, bucket, "data/train.csv", b"overwritten\n")
    out = tmp_path / "out"
    with pytest.raises(VerificationError, match=r"train/train\.csv") as info:
        got.download(str(out))
    assert "changed since it was logged" in str(info.value)
    assert f"s3://{bucket}/data/train.csv" in str(info.value)
    assert not (out / "train" / "train.csv").exists()  # nothing half-checked lands
    assert not [p for p in out.rglob(".*part*")]


def test_s3_deleted_object_fails_the_download(registry, s3_refs, bucket, tmp_path):
    put(s3_refs, bucket, "model.bin", b"weights")
    art = wandb.Artifact("m", type="model")
    art.add_reference(f"s3://{bucket}/model.bin")
    got = log(art)
    s3_refs.client().delete_object(Bucket=bucket, Key="model.bin")
    with pytest.raises(VerificationError, match=r"model\.bin.*is gone"):
        got.download(str(tmp_path / "out"))


def test_s3_versioned_bucket_downloads_the_logged_version(registry, s3_refs, bucket, tmp_path):
    client = s3_refs.client()
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = put(s3_refs, bucket, "data/a.txt", b"version one")
    put(s3_refs, bucket, "single.txt", b"single one")
    art = wandb.Artifact("d", type="dataset")
    (listed,) = art.add_reference(f"s3://{bucket}/data/")
    (single,) = art.add_reference(f"s3://{bucket}/single.txt")
    assert listed.extra["version_id"] == first["VersionId"]
    assert single.extra["version_id"]
    got = log(art)

    put(s3_refs, bucket, "data/a.txt", b"version two")
    put(s3_refs, bucket, "single.txt", b"single two")
    out = got.download(str(tmp_path / "out"))
    assert load_data(out) == {"a.txt": b"version one", "single.txt": b"single one"}

    client.delete_object(Bucket=bucket, Key="data/a.txt", VersionId=first["VersionId"])
    with pytest.raises(VerificationError, match=r"a\.txt.*version .* is gone"):
        got.download(str(tmp_path / "again"))


def test_s3_checksum_false_records_the_uri(registry, s3_refs, bucket, tmp_path):
    put(s3_refs, bucket, "data/live.csv", b"first")
    art = wandb.Artifact("d", type="dataset")
    uri = f"s3://{bucket}/data/live.csv"
    (entry,) = art.add_reference(uri, checksum=False)
    assert (entry.path, entry.digest, entry.ref, entry.size) == ("live.csv", uri, uri, None)
    got = log(art)
    assert got.files()[0].digest == uri
    put(s3_refs, bucket, "data/live.csv", b"second, longer")
    # no checksum: whatever is there now
    out = got.download(str(tmp_path / "out"))
    assert load_data(out) == {"live.csv": b"second, longer"}
    assert got.verify(out).ok


def test_checksum_false_reads_nothing(registry):
    # no credentials and no endpoint: nothing is contacted
    art = wandb.Artifact("d", type="dataset")
    (s3,) = art.add_reference("s3://some-bucket/data/", checksum=False)
    (gs,) = art.add_reference("gs://some-bucket/x.bin", checksum=False)
    (web,) = art.add_reference("https://example.invalid/files/data.zip", checksum=False)
    assert (s3.path, s3.digest) == ("data", "s3://some-bucket/data/")
    assert (gs.path, gs.digest) == ("x.bin", "gs://some-bucket/x.bin")
    assert (web.path, web.digest) == ("data.zip", "https://example.invalid/files/data.zip")
    log(art)
    doc = version_doc(registry, "refs", "d")
    assert {e["path"]: e["digest"] for e in doc["entries"]} == {
        "data": "s3://some-bucket/data/",
        "x.bin": "gs://some-bucket/x.bin",
        "data.zip": "https://example.invalid/files/data.zip",
    }


def test_max_objects_exceeded_is_an_error_and_nothing_is_committed(
    registry, s3_refs, bucket, gcs, tmp_path
):
    for i in range(5):
        put(s3_refs, bucket, f"data/{i}.txt", b"x")
        gcs.put("my-bucket", f"data/{i}.txt", b"x")
        write(tmp_path / "dir" / f"{i}.txt", "x")
    write("keep.txt", "kept")
    before = git_log(registry.root)

    run = wandb.init(project="refs")
    art = wandb.Artifact("d", type="dataset")
    art.add_file("keep.txt")
    for uri in (f"s3://{bucket}/data/", "gs://my-bucket/data/", f"file://{tmp_path / 'dir'}"):
        with pytest.raises(ArtifactError, match="max_objects=4") as info:
            art.add_reference(uri, max_objects=4)
        assert uri in str(info.value)
    assert [e.path for e in art.manifest] == ["keep.txt"]  # no partial cut
    run.finish()
    assert git_log(registry.root) == before  # nothing committed
    assert wandb.Api().artifact_exists("refs/d:latest") is False

    exact = wandb.Artifact("d", type="dataset")
    assert len(exact.add_reference(f"s3://{bucket}/data/", max_objects=5)) == 5
    assert len(exact.add_reference("gs://my-bucket/data/", name="g", max_objects=5)) == 5
    with pytest.raises(UsageError, match="max_objects"):
        exact.add_reference(f"s3://{bucket}/data/", max_objects=0)


def test_verify_checks_reference_sizes(registry, s3_refs, bucket, tmp_path):
    put(s3_refs, bucket, "data/a.txt", b"aaaa")
    put(s3_refs, bucket, "data/b.txt", b"bbbb")
    art = wandb.Artifact("d", type="dataset")
    art.add_reference(f"s3://{bucket}/data/")
    got = log(art)
    out = Path(got.download(str(tmp_path / "out")))
    assert got.verify(out).ok
    (out / "a.txt").write_bytes(b"longer now")
    (out / "b.txt").unlink()
    with pytest.raises(VerificationError) as info:
        got.verify(out)
    assert info.value.report.changed == ["a.txt"]
    assert info.value.report.missing == ["b.txt"]


def test_s3_duplicate_reference_names_are_refused_whole(registry, s3_refs, bucket):
    put(s3_refs, bucket, "data/a.txt", b"a")
    put(s3_refs, bucket, "data/b.txt", b"b")
    write("b.txt", "local")
    art = wandb.Artifact("d", type="dataset")
    art.add_file("b.txt")
    with pytest.raises(ArtifactError, match="already in artifact"):
        art.add_reference(f"s3://{bucket}/data/")
    assert [e.path for e in art.manifest] == ["b.txt"]


# -- http(s):// ------------------------------------------------------------------------


def test_http_changed_file_fails_the_download(registry, web, tmp_path):
    web.put("/files/data.zip", b"zip one")
    art = wandb.Artifact("d", type="dataset")
    art.add_reference(web.url("/files/data.zip"))
    got = log(art)
    web.put("/files/data.zip", b"zip two")
    out = tmp_path / "out"
    with pytest.raises(VerificationError, match=r"data\.zip.*changed since it was logged"):
        got.download(str(out))
    assert not (out / "data.zip").exists()


def test_http_without_etag_uses_size_and_last_modified(registry, tmp_path):
    with FileServer(etag=False) as web:
        web.put("/data.zip", b"payload")
        art = wandb.Artifact("d", type="dataset")
        (entry,) = art.add_reference(web.url("/data.zip"))
        assert entry.digest.startswith("size-mtime:7:")
        assert entry.digest.endswith("GMT")
        got = log(art)
        assert load_data(got.download(str(tmp_path / "one"))) == {"data.zip": b"payload"}
        web.put("/data.zip", b"payload")  # same bytes, a newer Last-Modified
        with pytest.raises(VerificationError, match="changed since it was logged"):
            got.download(str(tmp_path / "two"))


def test_http_without_head_falls_back_to_get(registry, tmp_path):
    with FileServer(head=False) as web:
        web.put("/x.bin", b"xyz")
        art = wandb.Artifact("d", type="dataset")
        (entry,) = art.add_reference(web.url("/x.bin"))
        assert entry.digest.startswith("etag:") and entry.size == 3
        got = log(art)
        assert load_data(got.download(str(tmp_path / "out"))) == {"x.bin": b"xyz"}


def test_http_without_validators_warns_and_records_the_uri(registry):
    with FileServer(etag=False, last_modified=False) as web:
        web.put("/x.bin", b"xyz")
        art = wandb.Artifact("d", type="dataset")
        with pytest.warns(ReferenceWarning, match="without a checksum"):
            (entry,) = art.add_reference(web.url("/x.bin"))
        assert entry.digest == web.url("/x.bin")


def test_http_errors_are_clear(registry, web):
    art = wandb.Artifact("d", type="dataset")
    with pytest.raises(ArtifactError, match="404"):
        art.add_reference(web.url("/missing.zip"))
    with pytest.raises(UsageError, match="credentials"):
        art.add_reference(f"http://user:secret@127.0.0.1:{web.port}/x")


def test_http_deleted_file_fails_the_download(registry, web, tmp_path):
    web.put("/a.txt", b"a")
    art = wandb.Artifact("d", type="dataset")
    art.add_reference(web.url("/a.txt"))
    got = log(art)
    del web.files["/a.txt"]
    with pytest.raises(VerificationError, match=r"a\.txt.*is gone"):
        got.download(str(tmp_path / "out"))


# -- gs:// -----------------------------------------------------------------------------


def test_gcs_host_from_the_environment(monkeypatch):
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    assert gcs_host() == "https://storage.googleapis.com"
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "localhost:9023")
    assert gcs_host() == "http://localhost:9023"
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:4443/")
    assert gcs_host() == "http://127.0.0.1:4443"


def test_gcs_single_object_and_crc32c(registry, gcs, tmp_path):
    gcs.put("bkt", "models/model.bin", b"weights")
    gcs.put("bkt", "composite.bin", b"composed", with_md5=False)
    art = wandb.Artifact("m", type="model")
    (model,) = art.add_reference("gs://bkt/models/model.bin")
    (composite,) = art.add_reference("gs://bkt/composite.bin", name="parts/c.bin")
    assert model.path == "model.bin" and model.digest.startswith("md5:")
    assert composite.digest == "crc32c:" + crc32c(b"composed")
    got = log(art)
    assert load_data(got.download(str(tmp_path / "out"))) == {
        "model.bin": b"weights",
        "parts/c.bin": b"composed",
    }


def test_gcs_overwritten_object_fails_the_download(registry, gcs, tmp_path):
    gcs.put("bkt", "data/a.txt", b"one")
    art = wandb.Artifact("d", type="dataset")
    art.add_reference("gs://bkt/data/")
    got = log(art)
    gcs.put("bkt", "data/a.txt", b"two")
    with pytest.raises(VerificationError, match=r"data/a\.txt.*changed since it was logged"):
        got.download(str(tmp_path / "out"))


def test_gcs_changed_bytes_under_the_same_generation_are_caught(registry, gcs, tmp_path):
    gcs.put("bkt", "a.txt", b"one")
    art = wandb.Artifact("d", type="dataset")
    art.add_reference("gs://bkt/a.txt")
    got = log(art)
    gcs.objects[("bkt", "a.txt")].data = b"oNe"  # corrupted in place
    with pytest.raises(VerificationError, match=r"a\.txt.*the bytes hash to md5:"):
        got.download(str(tmp_path / "out"))


def test_gcs_unreachable_warns_and_records_the_uri(registry, monkeypatch, tmp_path):
    with GcsEmulator() as stopped:
        host = stopped.host
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", host)  # nothing listens there now
    art = wandb.Artifact("d", type="dataset")
    with pytest.warns(ReferenceWarning, match="could not be read"):
        (entry,) = art.add_reference("gs://my-bucket/data/")
    assert (entry.path, entry.digest, entry.ref) == (
        "data",
        "gs://my-bucket/data/",
        "gs://my-bucket/data/",
    )
    with pytest.warns(ReferenceWarning):
        (single,) = art.add_reference("gs://my-bucket/one.bin")
    assert single.digest == "gs://my-bucket/one.bin" and single.size is None
    log(art)
    doc = version_doc(registry, "refs", "d")
    assert {e["path"]: e["digest"] for e in doc["entries"]} == {
        "data": "gs://my-bucket/data/",
        "one.bin": "gs://my-bucket/one.bin",
    }


def test_gcs_access_denied_warns(registry, gcs, monkeypatch):
    gcs.put("bkt", "a.txt", b"a")

    def deny(*_args: Any, **_kwargs: Any) -> None:
        raise urllib.error.HTTPError("u", 401, "Unauthorized", Message(), None)

    monkeypatch.setattr("registry_tool._references.gcs._gcs_json", deny)
    art = wandb.Artifact("d", type="dataset")
    with pytest.warns(ReferenceWarning, match="401"):
        (entry,) = art.add_reference("gs://bkt/a.txt")
    assert entry.digest == "gs://bkt/a.txt"


def test_gcs_object_names_that_cannot_be_file_names_are_refused(registry, gcs):
    gcs.put("bkt", "data/a//b.txt", b"x")
    art = wandb.Artifact("d", type="dataset")
    with pytest.raises(InvalidNameError, match="gs://bkt/data/"):
        art.add_reference("gs://bkt/data/")


def test_gcs_missing_object_and_bucket(registry, gcs):
    gcs.put("bkt", "a.txt", b"a")
    art = wandb.Artifact("d", type="dataset")
    with pytest.raises(ArtifactError, match="no object"):
        art.add_reference("gs://bkt/missing.txt")
    with pytest.raises(ArtifactError, match="bucket does not exist"):
        art.add_reference("gs://other-bucket/data/")


# -- the rest --------------------------------------------------------------------------


def test_bad_reference_uris(registry):
    art = wandb.Artifact("d", type="dataset")
    with pytest.raises(UsageError, match="unknown scheme"):
        art.add_reference("ftp://host/x")
    with pytest.raises(UsageError, match="control character"):
        art.add_reference("s3://bucket/a\nb", checksum=False)
    with pytest.raises(InvalidNameError):
        art.add_reference("s3://bucket/x", name="../escape", checksum=False)


def test_file_checksum_false_directory_download_says_why(registry, tmp_path):
    write(tmp_path / "shared" / "a.txt", "a")
    art = wandb.Artifact("d", type="dataset")
    art.add_reference(f"file://{tmp_path / 'shared'}", checksum=False)
    got = log(art)
    with pytest.raises(VerificationError, match="checksum=False"):
        got.download(str(tmp_path / "out"))


def test_every_scheme_in_the_table_is_a_module_with_the_four_functions():
    """The table names modules, imported on first use: each must exist and provide what
    ``Scheme`` asks, with the same parameters."""
    import inspect

    from registry_tool._references import Scheme

    for scheme in SCHEMES:
        module = scheme_module(scheme)
        assert module is not None, scheme
        for name in ("check", "default_name", "expand", "fetch"):
            wanted = list(inspect.signature(getattr(Scheme, name)).parameters)[1:]
            got = list(inspect.signature(getattr(module, name)).parameters)
            assert got == wanted, f"{scheme}: {name}{tuple(got)} is not {name}{tuple(wanted)}"
    assert scheme_module("az") is None
