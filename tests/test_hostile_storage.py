"""Storage under hostile conditions, on real git repos, a real blob folder and a real
SeaweedFS: credentials offered to the writers the case files of ``tests/data/hostile/``
cannot reach (references, the library's ``init_registry``), registries sharing one
blob store, gc's grace at its boundary, strays in an S3 store, and a managed clone
whose remote is gone.

The CLI's own refusals (``init``, ``storage set``, ``storage sync``, ``gc --grace``,
strays in a local store) are the ``storage-*.yaml`` cases of the hostile corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import registry_tool as wandb
from registry_tool import _verbs as ops
from registry_tool._store import init_registry
from registry_tool.errors import UsageError
from tests.helpers import (
    cli_error,
    cli_out,
    cli_process,
    clone_bare,
    git,
    git_log,
    invoke,
    write,
)
from tests.refservers import FileServer

SECRET = "hunter2"
# Built from pieces, so no scanner takes this file for a leak.
GITHUB_TOKEN = "gh" + "p_" + "LeakCanary" + "7Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8Lz"
MONTH = 30 * 86400.0


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def log(name: str, content: str) -> str:
    """Log one file holding ``content`` as a new version of ``name``; returns ``vN``."""
    folder = Path(f"src-{time.monotonic_ns()}")
    write(folder / "f.txt", content)
    return str(ops.log_path(folder, name, "model").version)


def age(folder: Path, seconds: float = MONTH) -> None:
    """Make every blob under ``folder``'s ``sha256/`` look ``seconds`` old."""
    then = time.time() - seconds
    for path in (folder / "sha256").glob("*/*"):
        os.utime(path, (then, then))


def stored(folder: Path) -> set[str]:
    return {p.name for p in (folder / "sha256").glob("*/*")}


# -- credentials in references ------------------------------------------------------------

CREDENTIAL_REFS = {
    "s3-userinfo": "s3://backup-user:hunter2@bucket/data.bin",
    "s3-secret-with-slash": "s3://backup-user:hunter2/x+y@bucket/data.bin",
    "s3-user-only": "s3://hunter2@bucket/data.bin",
    "gs-userinfo": "gs://backup-user:hunter2@bucket/data.bin",
    "http-userinfo": "http://backup-user:hunter2@{host}/data.bin",
    "amz-presigned": (
        "http://{host}/data.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=backup-user%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=hunter2"
    ),
    "amz-security-token": "http://{host}/data.bin?X-Amz-Security-Token=hunter2",
    "token": "http://{host}/data.bin?token=hunter2",
    "azure-sas": "http://{host}/data.bin?sv=2022-11-02&sp=r&sig=hunter2",
    "cloudfront": "http://{host}/data.bin?Expires=1700000000&Signature=hunter2&Key-Pair-Id=K2",
    "goog-v4": (
        "http://{host}/data.bin?X-Goog-Algorithm=GOOG4-RSA-SHA256"
        "&X-Goog-Credential=hunter2%40proj.iam&X-Goog-Signature=hunter2"
    ),
    "goog-credential": "http://{host}/b/o?X-Goog-Credential=hunter2%40proj.iam",
    "semicolons": "http://{host}/data.bin?a=1;sig=hunter2",
}


@pytest.fixture
def catch_all(monkeypatch: pytest.MonkeyPatch) -> Any:
    """One loopback server as the S3 endpoint, the GCS endpoint and the HTTP host, so
    that any request a reference makes is seen (none may be made)."""
    for key in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(key, raising=False)
    with FileServer() as web:
        web.put("/data.bin", b"bytes")
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", web.url(""))
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"127.0.0.1:{web.port}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key-id")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
        yield web


@pytest.mark.parametrize("checksum", [True, False], ids=["checksum", "no-checksum"])
@pytest.mark.parametrize("case", sorted(CREDENTIAL_REFS))
def test_a_reference_carrying_a_credential_is_refused_before_anything_is_asked(
    case, checksum, registry, catch_all
):
    uri = CREDENTIAL_REFS[case].format(host=f"127.0.0.1:{catch_all.port}")
    art = wandb.Artifact("refs", type="dataset")
    with pytest.raises(UsageError) as refused:
        art.add_reference(uri, checksum=checksum)
    message = str(refused.value)
    assert "\n" not in message
    assert SECRET not in message and "backup-user" not in message
    assert re.fullmatch(
        r"reference (s3|gs|http)://[^?@;]*: .+ would be written to the registry; a reference "
        r"keeps no credentials: .*",
        message,
    ), message
    assert catch_all.requests == []
    assert art.manifest == []
    commits = git_log(registry.root)
    art.add_file(write("plain.txt", "plain"))
    with wandb.init(project="p") as run:
        run.log_artifact(art)
    assert [e.path for e in wandb.Api().artifact("p/refs:v0").manifest] == ["plain.txt"]
    assert git_log(registry.root)[-len(commits) :] == commits
    assert SECRET not in git(registry.root, "log", "-p", "--all")


def test_the_refusal_names_the_reference_without_its_secret(registry, catch_all):
    art = wandb.Artifact("refs", type="dataset")
    with pytest.raises(UsageError) as refused:
        art.add_reference("s3://backup-user:hunter2/x+y@bucket/data.bin")
    assert str(refused.value).startswith(
        "reference s3://bucket/data.bin: credentials in a URL (user:password@) would be "
        "written to the registry; a reference keeps no credentials: "
    )
    with pytest.raises(UsageError) as refused:
        art.add_reference(CREDENTIAL_REFS["azure-sas"].format(host="example.test"))
    assert str(refused.value).startswith(
        "reference http://example.test/data.bin: a credential in a URL's query string "
        "(sig=...) would be written to the registry; "
    )


def test_ordinary_references_are_not_taken_for_credentials(registry, catch_all):
    """An '@' in an S3 key, a query string without a credential: recorded as before."""
    art = wandb.Artifact("refs", type="dataset")
    for uri in (
        "s3://bucket/models/resnet@v2.bin",
        "gs://bucket/runs/a@b/weights.bin",
        f"http://127.0.0.1:{catch_all.port}/data.bin?version=2&page=1",
    ):
        (entry,) = art.add_reference(uri, checksum=False)
        assert entry.ref == uri


# -- credentials given to init_registry (the library's door) ------------------------------


@pytest.mark.parametrize(
    ("kwargs", "label", "field"),
    [
        ({"storage": "s3://backup-user:hunter2@bucket/p"}, "--storage", "$.storage.url"),
        (
            {
                "storage": "s3://bucket/p",
                "storage_options": {"endpoint_url": "https://a:hunter2@h"},
            },
            "--endpoint-url",
            "$.storage.endpoint_url",
        ),
        ({"description": f"deploys with {GITHUB_TOKEN}"}, "--description", "$.description"),
    ],
    ids=["storage", "endpoint", "description"],
)
def test_init_registry_refuses_a_credential_before_it_creates_anything(
    tmp_path, kwargs, label, field
):
    target = tmp_path / "new"
    with pytest.raises(UsageError) as refused:
        init_registry(target, name="team", **kwargs)
    message = str(refused.value)
    assert message.startswith(f"{label}: ") and f"registry.yaml ({field})" in message
    assert SECRET not in message and GITHUB_TOKEN not in message
    assert refused.value.field == field
    assert not target.exists()


# -- registries sharing one blob store ----------------------------------------------------


def test_two_registries_on_one_folder_gc_keeps_what_the_other_needs(tmp_path, monkeypatch):
    shared = tmp_path / "shared-blobs"
    a = init_registry(tmp_path / "a", name="team-a", storage=str(shared))
    with pytest.raises(UsageError) as refused:
        init_registry(tmp_path / "b", name="team-b", storage=str(shared))
    assert "is already used by registry 'team-a'" in str(refused.value)
    assert "--shared-storage" in str(refused.value)
    assert not (tmp_path / "b").exists()
    b = init_registry(tmp_path / "b", name="team-b", storage=str(shared), shared_storage=True)

    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(b.root))
    log("p/model", "b's model")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(a.root))
    log("p/model", "a's model")
    log("p/model", "a's old model")
    cli_out("delete", "p/model:v1")
    age(shared)
    everything = stored(shared)
    assert len(everything) == 3

    message = cli_error("gc", "--grace", "1d")
    assert message.startswith(f"error: {shared.as_uri()} is also used by registry 'team-b' (at ")
    assert "--include-registry" in message
    assert stored(shared) == everything
    # A registry that does not use the store is no substitute.
    other = init_registry(tmp_path / "c", name="team-c")
    message = cli_error("gc", "--grace", "1d", "--include-registry", str(other.root))
    assert "registry 'team-c' does not use" in message
    assert stored(shared) == everything

    out = json.loads(cli_out("gc", "--grace", "1d", "--include-registry", str(b.root), "--json"))

    assert [d["digest"] for d in out["removed_blobs"]] == ["sha256:" + sha("a's old model")]
    assert out["shared_with"] == ["team-b"]
    assert stored(shared) == everything - {sha("a's old model")}
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(b.root))
    root = Path(ops.download("p/model:v0", str(tmp_path / "got"))[1])
    assert (root / "f.txt").read_text() == "b's model"


def test_storage_set_onto_a_used_store_needs_shared_storage(tmp_path, monkeypatch):
    shared = tmp_path / "shared-blobs"
    init_registry(tmp_path / "a", name="team-a", storage=str(shared))
    c = init_registry(tmp_path / "c", name="team-c")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(c.root))
    commits = git_log(c.root)
    markers = sorted(os.listdir(shared / "used-by"))

    message = cli_error("storage", "set", str(shared))

    assert message.startswith(f"error: {shared.as_uri()} is already used by registry 'team-a'")
    assert "--shared-storage" in message
    assert git_log(c.root) == commits
    assert sorted(os.listdir(shared / "used-by")) == markers

    cli_out("storage", "set", str(shared), "--shared-storage")
    assert len(os.listdir(shared / "used-by")) == 2
    assert git_log(c.root)[0] == f"storage set {shared}"
    # init, through the CLI's door, alike.
    with pytest.raises(UsageError, match=r"is already used by registries 'team-a' .* and 'team-c'"):
        ops.init(tmp_path / "d", name="team-d", storage=str(shared))
    assert not (tmp_path / "d").exists()
    ops.init(tmp_path / "d", name="team-d", storage=str(shared), shared_storage=True)
    assert len(os.listdir(shared / "used-by")) == 3


def test_a_store_that_names_no_registry_is_claimed_by_storage_set_or_gc(registry):
    """A store made before stores recorded their registries: the first gc (or a
    ``storage set`` of the same URL) records this registry; a dry run records nothing."""
    marker = registry.root / ".blobs" / "used-by"
    for path in marker.iterdir():
        path.unlink()
    log("p/data", "kept")
    cli_out("gc", "--dry-run")
    assert list(marker.iterdir()) == []
    out = cli_out("storage", "set", ".blobs")
    assert "storage is already .blobs" in out
    assert len(list(marker.iterdir())) == 1
    for path in marker.iterdir():
        path.unlink()
    cli_out("gc")
    assert len(list(marker.iterdir())) == 1


def test_two_registries_on_one_s3_prefix(tmp_path, s3_env, bucket, monkeypatch):
    options = {"endpoint_url": s3_env.endpoint, "region": "us-east-1"}
    url = f"s3://{bucket}/blobs"
    a = init_registry(tmp_path / "a", name="team-a", storage=url, storage_options=options)
    with pytest.raises(UsageError, match="is already used by registry 'team-a'"):
        init_registry(tmp_path / "b", name="team-b", storage=url, storage_options=options)
    assert not (tmp_path / "b").exists()
    b = init_registry(
        tmp_path / "b", name="team-b", storage=url, storage_options=options, shared_storage=True
    )
    bare = clone_bare(b.root, tmp_path / "b.git")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(b.root))
    log("p/model", "b's model")
    git(b.root, "push", "--quiet", str(bare), "main")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(a.root))
    log("p/model", "a's model")
    log("p/model", "a's old model")
    cli_out("delete", "p/model:v1")
    client = s3_env.client()
    stray = "blobs/sha256/zz/" + "z" * 64

    def keys() -> set[str]:
        listing = client.list_objects_v2(Bucket=bucket, Prefix="blobs/")
        return {item["Key"] for item in listing.get("Contents", [])}

    client.put_object(Bucket=bucket, Key=stray, Body=b"not a blob")
    assert len([k for k in keys() if k.startswith("blobs/used-by/")]) == 2
    before = keys()

    message = cli_error("gc", "--grace", "0s", "--force")
    assert "is also used by registry 'team-b'" in message
    assert keys() == before

    result = invoke("gc", "--grace", "0s", "--force", "--include-registry", bare.as_uri(), "--json")
    assert result.exit_code == 0, result.output + result.stderr
    out = json.loads(result.stdout)

    assert [d["digest"] for d in out["removed_blobs"]] == ["sha256:" + sha("a's old model")]
    assert out["strays"] == ["sha256/zz/" + "z" * 64]
    assert f"gc: skipped sha256/zz/{'z' * 64} in {url}: not a blob, left in place" in result.stderr
    old = sha("a's old model")
    gone = f"blobs/sha256/{old[:2]}/{old}"
    assert keys() == before - {gone}
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(b.root))
    root = Path(ops.download("p/model:v0", str(tmp_path / "got"))[1])
    assert (root / "f.txt").read_text() == "b's model"


# -- gc's grace ---------------------------------------------------------------------------


def test_a_grace_of_an_hour_needs_no_force_and_a_shorter_one_warns(registry):
    log("p/data", "kept")
    for grace in ("1h", "3600s", "60m"):
        cli_out("gc", "--grace", grace)
    result = invoke("gc", "--grace", "3599s")
    assert result.exit_code == 2 and "give --force" in result.stderr
    cli_out("gc", "--dry-run", "--grace", "0s")  # removes nothing: no --force needed
    result = invoke("gc", "--grace", "10m", "--force")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: --grace 10m is shorter than an hour: ")
    with pytest.raises(UsageError, match="shorter than an hour"):
        ops.gc(grace=0)
    assert ops.gc(grace=0, force=True).removed == []


def test_strays_in_a_local_store_are_reported_and_left(registry):
    log("p/data", "kept")
    blobs = registry.root / ".blobs"
    orphan = sha("orphan")
    write(blobs / "sha256" / orphan[:2] / orphan, "orphan")
    strays = {
        "sha256/.DS_Store": "finder",
        "sha256/ab/notahash": "x",
        f"sha256/ab/{'ab' * 32}/inside": "a folder",
        f"sha256/cd/{'ab' * 32}": "misplaced",
        f"sha256/{'ef' * 32}": "at the top",
    }
    for rel, content in strays.items():
        write(blobs / rel, content)
    age(blobs)

    result = invoke("gc", "--grace", "1d", "--json")

    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [d["digest"] for d in out["removed_blobs"]] == [f"sha256:{orphan}"]
    assert out["strays"] == sorted(
        ["sha256/.DS_Store", "sha256/ab/notahash", f"sha256/ab/{'ab' * 32}",
         f"sha256/cd/{'ab' * 32}", f"sha256/{'ef' * 32}"]
    )  # fmt: skip
    for rel, content in strays.items():
        assert (blobs / rel).read_text() == content
    assert not (blobs / "tmp").exists() or list((blobs / "tmp").iterdir()) == []


# -- a managed clone whose remote is gone -------------------------------------------------


def test_a_managed_clone_with_its_remote_gone_warns_once_and_reads(tmp_path, monkeypatch):
    seed = init_registry(tmp_path / "seed", name="team", storage=str(tmp_path / "blobs"))
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(seed.root))
    log("p/data", "on the remote")
    bare = clone_bare(seed.root, tmp_path / "remote.git")
    env = {"REGISTRY_TOOL_DIR": bare.as_uri()}
    first = cli_process("ls", "--json", env=env)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    # Reachable: what the remote gained since is read.
    log("p/more", "pushed since")
    git(seed.root, "push", "--quiet", str(bare), "main")
    again = cli_process("ls", "--json", env=env)
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert [row["path"] for row in json.loads(again.stdout)] == ["p/data", "p/more"]

    bare.rename(tmp_path / "moved.git")
    clones = Path(os.environ["XDG_DATA_HOME"]) / "registry-tool" / "clones"
    (clone,) = clones.iterdir()
    two_days = time.time() - 2 * 86400 - 300
    for name in ("FETCH_HEAD", "registry-tool-fetched"):
        if (clone / ".git" / name).exists():
            os.utime(clone / ".git" / name, (two_days, two_days))
    twice = (
        "from registry_tool import _verbs as v; v.list_collections(); print(v.list_collections())"
    )
    proc = subprocess.run(
        [sys.executable, "-c", twice],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )

    assert proc.returncode == 0, proc.stderr
    assert "p/data" in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0] == (
        f"registry-tool: cannot fetch {bare.as_uri()}: working read-only from the managed "
        f"clone at {clone}, last fetched 2 days ago (it may be stale)"
    )
    listed = cli_process("ls", "--json", env=env)
    assert listed.returncode == 0
    assert [row["path"] for row in json.loads(listed.stdout)] == ["p/data", "p/more"]
    assert "cannot fetch" in listed.stderr


def test_the_warning_never_echoes_credentials_of_the_remote(tmp_path, monkeypatch):
    seed = init_registry(tmp_path / "seed", name="team", storage=str(tmp_path / "blobs"))
    bare = clone_bare(seed.root, tmp_path / "remote.git")
    first = cli_process("ls", env={"REGISTRY_TOOL_DIR": bare.as_uri()})
    assert first.returncode == 0, first.stderr
    clones = Path(os.environ["XDG_DATA_HOME"]) / "registry-tool" / "clones"
    (clone,) = clones.iterdir()
    # The same clone, now kept for a URL with a token that no server answers.
    url = f"http://backup-user:{SECRET}@127.0.0.1:9/team.git"
    tag = hashlib.sha256(url.encode()).hexdigest()[:16]
    clone.rename(clones / tag)
    git(clones / tag, "remote", "set-url", "origin", url)

    listed = cli_process("ls", env={"REGISTRY_TOOL_DIR": url})

    assert listed.returncode == 0, listed.stderr
    assert SECRET not in listed.stderr and "backup-user" not in listed.stderr
    assert listed.stderr.startswith("registry-tool: cannot fetch http://127.0.0.1:9/team.git: ")
