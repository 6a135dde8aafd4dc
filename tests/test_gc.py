"""Soft delete (`registry-tool delete`, `Artifact.delete`) and garbage collection of the
blob store (`registry-tool gc`), on real git repos, a real local blob directory and a
real SeaweedFS: what every ref names is kept, young blobs are kept, a dry run removes
nothing, and a deleted version's unshared blobs are exactly what goes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool import _promotion as promotion
from registry_tool import _verbs as ops
from registry_tool._blobs import LocalBlobStore
from registry_tool._engine.context import Context
from registry_tool._gc import collect_garbage, parse_duration
from registry_tool._store import RegistryStore, init_registry
from registry_tool.errors import ArtifactError, NotFoundError, UsageError
from tests.helpers import (
    cli_error,
    cli_out,
    clone_registry,
    create_prod_registry,
    git,
    invoke,
    push_to_bare,
    write,
)

MONTH = 30 * 86400


def log(name: str, files: dict[str, str], *, aliases: tuple[str, ...] = ()) -> str:
    """Log ``files`` (name -> content) as a new version of ``name``; returns ``vN``."""
    folder = Path(f"src-{time.monotonic_ns()}")
    for rel, content in files.items():
        write(folder / rel, content)
    art = ops.log_path(folder, name, "dataset", aliases=list(aliases))
    return art.version


def digest_of(content: str) -> str:
    import hashlib

    return hashlib.sha256(content.encode()).hexdigest()


def local_blobs(store: RegistryStore) -> set[str]:
    return set(LocalBlobStore(store.root / ".blobs").iter_digests())


def age_blobs(store: RegistryStore, seconds: float = MONTH) -> None:
    """Make every blob of a local store look ``seconds`` old."""
    then = time.time() - seconds
    for path in (store.root / ".blobs" / "sha256").glob("*/*"):
        os.utime(path, (then, then))


def head(store: RegistryStore) -> str:
    return git(store.root, "rev-parse", "HEAD")


# -- gc: what is kept ------------------------------------------------------------------


def test_gc_keeps_what_any_branch_tag_or_remote_ref_names(registry):
    log("p/data", {"main.txt": "on main"})
    git(registry.root, "checkout", "--quiet", "-b", "side")
    log("p/data", {"side.txt": "on a side branch"})
    git(registry.root, "checkout", "--quiet", "-b", "tagged")
    log("p/data", {"tag.txt": "only under a tag"})
    git(registry.root, "tag", "-a", "release", "-m", "release")
    git(registry.root, "checkout", "--quiet", "-b", "remote-only", "main")
    log("p/data", {"remote.txt": "only on a remote-tracking branch"})
    git(registry.root, "update-ref", "refs/remotes/origin/feature", "HEAD")
    git(registry.root, "checkout", "--quiet", "main")
    git(registry.root, "branch", "--quiet", "-D", "tagged", "remote-only")
    # Many refs on one commit: its tree and version files are read once.
    for i in range(5):
        git(registry.root, "branch", f"copy-{i}", "side")
    orphan = LocalBlobStore(registry.root / ".blobs").put_bytes(b"named by no version")
    age_blobs(registry)
    before = local_blobs(registry)
    assert len(before) == 5

    report = collect_garbage(Context.open(), grace=parse_duration("7d"))

    assert [b.hexdigest for b in report.removed] == [orphan]
    assert local_blobs(registry) == before - {orphan}
    for content in (
        "on main",
        "on a side branch",
        "only under a tag",
        "only on a remote-tracking branch",
    ):
        assert digest_of(content) in local_blobs(registry)
    # v0 (main), v1 (side), v2 (tag), v1 (remote.txt, another file at the same path)
    assert report.versions == 4
    assert (report.blobs, report.kept, report.young) == (5, 4, 0)


def test_young_blobs_stay_and_a_dry_run_removes_nothing(registry):
    log("p/data", {"a.txt": "kept"})
    store = LocalBlobStore(registry.root / ".blobs")
    old = store.put_bytes(b"old garbage")
    age_blobs(registry)
    young = store.put_bytes(b"young garbage")

    dry = json.loads(cli_out("gc", "--dry-run", "--json"))
    assert dry["dry_run"] is True
    assert [b["digest"] for b in dry["removed_blobs"]] == [f"sha256:{old}"]
    assert (dry["removed"], dry["removed_bytes"], dry["young"], dry["kept"]) == (1, 11, 1, 1)
    assert local_blobs(registry) == {digest_of("kept"), old, young}
    listed = cli_out("gc", "--dry-run", "--grace", "0s")
    assert f"sha256:{old}" in listed and f"sha256:{young}" in listed
    assert "would remove 2 blobs" in listed
    assert local_blobs(registry) == {digest_of("kept"), old, young}

    out = cli_out("gc")
    assert "removed 1 blob (11 B) of 3 blobs" in out
    assert local_blobs(registry) == {digest_of("kept"), young}
    cli_out("gc", "--grace", "0s", "--force")
    assert local_blobs(registry) == {digest_of("kept")}
    assert "removed 0 blobs" in cli_out("gc", "--grace", "0s", "--force")


def test_gc_fetches_the_remote_first(tmp_path, monkeypatch):
    """A version another clone pushed keeps its blobs, though this clone never saw it."""
    blobs = tmp_path / "shared-blobs"
    ours = init_registry(tmp_path / "ours", name="team", storage=str(blobs))
    remote = push_to_bare(ours.root, tmp_path / "remote.git")
    theirs = clone_registry(remote, tmp_path / "theirs").root
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(theirs))
    log("p/data", {"pushed.txt": "pushed by another clone"})
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(ours.root))
    then = time.time() - MONTH
    for path in (blobs / "sha256").glob("*/*"):
        os.utime(path, (then, then))

    report = collect_garbage(Context.open(), grace=0, force=True)

    assert report.removed == []
    assert set(LocalBlobStore(blobs).iter_digests()) == {digest_of("pushed by another clone")}
    # An unreachable remote stops gc before anything is removed.
    git(ours.root, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    message = cli_error("gc", "--grace", "0s", "--force")
    assert message.startswith("error: cannot fetch 'origin'")
    assert set(LocalBlobStore(blobs).iter_digests()) == {digest_of("pushed by another clone")}


def test_a_log_in_progress_in_another_process_keeps_its_blobs(registry, tmp_path):
    """The log uploads, then waits before committing; gc runs in between."""
    log("p/data", {"a.txt": "already there"})
    age_blobs(registry)
    ready, go = tmp_path / "uploaded", tmp_path / "go"
    write(tmp_path / "new" / "fresh.txt", "uploaded, not committed yet")
    script = textwrap.dedent(
        f"""
        import pathlib, time
        from registry_tool import _verbs as ops
        from registry_tool._store.registry import RegistryStore

        write = RegistryStore.write

        def paused(self, build):
            pathlib.Path({str(ready)!r}).touch()
            deadline = time.monotonic() + 60
            while not pathlib.Path({str(go)!r}).exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            return write(self, build)

        RegistryStore.write = paused
        art = ops.log_path({str(tmp_path / "new")!r}, "p/data", "dataset")
        print(art.version)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the log never reached its commit"
            time.sleep(0.02)
        fresh = digest_of("uploaded, not committed yet")
        assert fresh in local_blobs(registry)
        # Named by nothing yet: with no grace at all it would go.
        would = json.loads(cli_out("gc", "--dry-run", "--grace", "0s", "--json"))
        assert [b["digest"] for b in would["removed_blobs"]] == [f"sha256:{fresh}"]

        done = json.loads(cli_out("gc", "--json"))
        assert (done["removed"], done["young"]) == (0, 1)
        assert fresh in local_blobs(registry)
    finally:
        go.touch()
        out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert out.strip() == "v1"
    root = ops.download("p/data:v1", str(tmp_path / "got"))[1]
    assert (Path(root) / "fresh.txt").read_text() == "uploaded, not committed yet"


# -- delete ----------------------------------------------------------------------------


def test_delete_then_gc_reclaims_exactly_the_unshared_blobs(registry, tmp_path):
    log("p/data", {"a.txt": "only v0", "shared.txt": "in v0 and v1"})
    log("p/data", {"b.txt": "only v1", "shared.txt": "in v0 and v1"}, aliases=("best",))
    log("p/data", {"c.txt": "only v2"})
    git(registry.root, "tag", "before-delete")
    log("p/data", {"d.txt": "only v3"})
    age_blobs(registry)

    out = json.loads(
        cli_out("delete", "p/data:v1", "--delete-aliases", "--reason", "leaked", "--json")
    )
    assert out["removed_aliases"] == ["best"]
    assert out["latest"] == "v3"
    assert out["deleted"]["reason"] == "leaked"
    cli_out("delete", "p/data:v3")
    assert json.loads(cli_out("ls", "--json"))[0]["latest"] == "v2"
    # The tag holds v1 as it was, not deleted: its blobs stay while the tag is there.
    first = json.loads(cli_out("gc", "--json"))
    assert [b["digest"] for b in first["removed_blobs"]] == [f"sha256:{digest_of('only v3')}"]
    git(registry.root, "tag", "-d", "before-delete")

    second = json.loads(cli_out("gc", "--json"))

    assert [b["digest"] for b in second["removed_blobs"]] == [f"sha256:{digest_of('only v1')}"]
    assert second["deleted_versions"] == 2
    assert local_blobs(registry) == {digest_of(c) for c in ("only v0", "in v0 and v1", "only v2")}
    for version, files in (("v0", {"a.txt", "shared.txt"}), ("v2", {"c.txt"})):
        root = Path(ops.download(f"p/data:{version}", str(tmp_path / version))[1])
        assert {p.name for p in root.iterdir()} == files
    assert [a.version for a in wandb.Api().artifacts("p", "data")] == ["v0", "v2"]
    # Moving the blobs elsewhere does not miss what gc took from deleted versions.
    cli_out("storage", "set", str(tmp_path / "elsewhere"))
    synced = json.loads(cli_out("storage", "sync", "--json"))
    assert synced["missing"] == [] and synced["corrupt"] == []
    # Logging the deleted content again makes a new version (numbers are never reused)
    # and stores the bytes again.
    assert log("p/data", {"b.txt": "only v1", "shared.txt": "in v0 and v1"}) == "v4"
    root = Path(ops.download("p/data:v4", str(tmp_path / "v4"))[1])
    assert (root / "b.txt").read_text() == "only v1"
    assert "0 problems" in cli_out("check")


def test_delete_and_gc_on_s3(s3_registry, s3_env, bucket, tmp_path):
    log("p/model", {"w.bin": "weights v0", "cfg.json": "same config"})
    log("p/model", {"w.bin": "weights v1", "cfg.json": "same config"})
    log("p/model", {"w.bin": "weights v2"})
    client = s3_env.client()

    def stored() -> set[str]:
        listing = client.list_objects_v2(Bucket=bucket, Prefix="blobs/sha256/")
        return {item["Key"].rsplit("/", 1)[1] for item in listing.get("Contents", [])}

    everything = stored()
    assert len(everything) == 4
    cli_out("delete", "p/model:v1")
    cli_out("delete", "p/model:v2")
    assert json.loads(cli_out("gc", "--json"))["removed"] == 0  # younger than 7 days
    dry = json.loads(cli_out("gc", "--dry-run", "--grace", "0s", "--json"))
    assert dry["removed"] == 2 and stored() == everything

    done = json.loads(invoke("gc", "--grace", "0s", "--force", "--json").stdout)

    gone = {digest_of("weights v1"), digest_of("weights v2")}
    assert {b["digest"][7:] for b in done["removed_blobs"]} == gone
    assert done["removed_bytes"] == 20
    assert stored() == everything - gone
    root = Path(ops.download("p/model:v0", str(tmp_path / "v0"))[1])
    assert (root / "cfg.json").read_text() == "same config"
    assert cli_error("get", "p/model:v1").endswith("it can no longer be used")


def test_a_deleted_version_cannot_be_used_and_shows_as_deleted(registry):
    log("p/data", {"a.txt": "v0"})
    log("p/data", {"a.txt": "v1"})
    cli_out("delete", "p/data:v1", "--reason", "bad labels")

    for args in (("get", "p/data:v1"), ("verify", "p/data:v1", "--root", ".")):
        message = cli_error(*args)
        assert "p/data:v1 was deleted on" in message and "(bad labels)" in message
    with pytest.raises(NotFoundError, match=r"p/data:v1 was deleted"):
        wandb.Api().artifact("p/data:v1")
    assert not wandb.Api().artifact_exists("p/data:v1")
    assert wandb.Api().artifact("p/data:latest").version == "v0"
    with (
        wandb.init(project="p") as run_,
        pytest.raises(NotFoundError, match=r"p/data:v1 was deleted"),
    ):
        run_.use_artifact("p/data:v1")
    shown = json.loads(cli_out("show", "p/data:v1", "--json"))
    assert shown["deleted"]["reason"] == "bad labels"
    assert json.loads(cli_out("show", "p/data:v0", "--json"))["deleted"] is None
    row = json.loads(cli_out("ls", "--json"))[0]
    assert (row["versions"], row["deleted"], row["latest"]) == (2, ["v1"], "v0")
    assert "DELETED" in cli_out("show", "p/data:v1") and "bad labels" in cli_out(
        "show", "p/data:v1"
    )
    assert "DELETED" not in cli_out("show", "p/data:v0")
    assert "2 (1 deleted)" in cli_out("ls")
    # The only version left goes too: latest goes with it; the next log is v2.
    cli_out("delete", "p/data:v0")
    assert "latest" not in json.loads(cli_out("ls", "--json"))[0]["aliases"]
    assert log("p/data", {"a.txt": "v2"}) == "v2"
    assert json.loads(cli_out("ls", "--json"))[0]["latest"] == "v2"


def test_artifact_delete_like_wandb(registry, tmp_path):
    log("p/data", {"a.txt": "v0"}, aliases=("best",))
    log("p/data", {"a.txt": "v1"})
    art = wandb.Api().artifact("p/data:v0")
    commit = head(registry)
    with pytest.raises(UsageError, match=r"cannot delete p/data:v0: it has the aliases best"):
        art.delete()
    assert head(registry) == commit

    art.delete(delete_aliases=True)

    assert art.state == "DELETED" and art.aliases == []
    assert "best" not in json.loads(cli_out("ls", "--json"))[0]["aliases"]
    with pytest.raises(ArtifactError, match=r"p/data:v0 was deleted"):
        art.download(str(tmp_path / "x"))
    with pytest.raises(UsageError, match="already deleted"):
        art.delete()
    assert wandb.Api().artifact("p/data:v1").state == "COMMITTED"


# -- delete: errors --------------------------------------------------------------------


@pytest.fixture
def governed(registry):
    """p/model:v0 linked into model-registry/prod, holding 'staging' (unprotected) and
    'production' (protected)."""
    log("p/model", {"w.bin": "weights"})
    create_prod_registry()
    ctx = Context.open()
    record = ctx.resolve("p/model:v0", project=None)
    promotion.link_version(
        ctx, record, "model-registry/prod", ["staging", "production"], allow_protected=True
    )
    return registry


def test_delete_errors_are_one_line_and_write_nothing(governed):
    log("p/data", {"a.txt": "x"}, aliases=("best",))
    commit = head(governed)
    cases = {
        ("delete", "p/data:v7"): "error: p/data has no version v7",
        ("delete", "p/nothing:v0"): "error: artifact p/nothing does not exist in 'test-registry'",
        (
            "delete",
            "p/data:best",
        ): "error: p/data:best: name the version to delete as project/name:vN",
        ("delete", "p/data:v0"): (
            "error: cannot delete p/data:v0: it has the aliases best; remove them first or "
            "delete with --delete-aliases"
        ),
        ("delete", "p/model:v0", "--delete-aliases"): (
            "error: cannot delete p/model:v0: it holds the protected stage 'production' of "
            "model-registry/prod/model (through the link model-registry/prod/model:v0); a "
            "protected stage moves only by a reviewed promotion: move it to another version "
            "first (registry-tool promote model-registry/prod/model:<version> --to production "
            "--pr)"
        ),
    }
    for args, expected in cases.items():
        assert cli_error(*args) == expected
    assert head(governed) == commit
    assert git(governed.root, "status", "--porcelain") == ""


def test_an_unprotected_registry_alias_goes_with_delete_aliases(governed):
    ctx = Context.open()
    link = ctx.resolve_ref("model-registry/prod/model:v0").link
    promotion.set_aliases(ctx, link, remove=["production"], allow_protected=True)
    message = cli_error("delete", "p/model:v0")
    assert "it has the aliases model-registry/prod/model:staging" in message

    out = json.loads(cli_out("delete", "p/model:v0", "--delete-aliases", "--json"))

    assert out["removed_aliases"] == ["model-registry/prod/model:staging"]
    # One commit, which `check` on a pull request accepts: the version gained only
    # the deleted mark, and the registry's latest went with its only link.
    assert "0 problems" in cli_out("check", "--base", "HEAD~1", "--head", "HEAD")
    with pytest.raises(NotFoundError, match="has no alias 'latest'"):
        wandb.Api().artifact("model-registry/prod/model:latest")
    with pytest.raises(NotFoundError, match="p/model:v0 was deleted"):
        wandb.Api().artifact("model-registry/prod/model:v0")
    assert "0 problems" in cli_out("check")


# -- a blob reused while nothing names it -------------------------------------------


def test_a_log_reusing_an_unnamed_blob_refreshes_its_age(registry):
    log("p/old", {"x.bin": "content nobody names"})
    cli_out("delete", "p/old:v0")
    age_blobs(registry)
    blob = registry.root / ".blobs" / "sha256" / digest_of("content nobody names")[:2]
    blob = blob / digest_of("content nobody names")
    assert blob.stat().st_mtime < time.time() - MONTH / 2

    # The same bytes logged again elsewhere: found stored, not written, but made young,
    # so a gc running before this log commits would have spared it.
    log("p/new", {"x.bin": "content nobody names"})

    assert blob.stat().st_mtime > time.time() - 60
    # Blobs the collection's latest version already names are left as they were.
    age_blobs(registry)
    log("p/new", {"x.bin": "content nobody names", "y.bin": "another file"})
    assert blob.stat().st_mtime < time.time() - MONTH / 2


@pytest.mark.parametrize("where", ["local", "s3"])
def test_gc_spares_a_blob_that_turned_young_after_the_listing(where, request, monkeypatch):
    """gc lists a blob as old; a log refreshes it before gc removes it: it stays."""
    if where == "s3":
        request.getfixturevalue("s3_registry")
    else:
        request.getfixturevalue("registry")
    log("p/old", {"x.bin": "listed old, young by now"})
    cli_out("delete", "p/old:v0")
    ctx = Context.open()
    listed = list(ctx.blobs.iter_blobs())
    assert len(listed) == 1
    stale = [type(b)(b.hexdigest, b.size, b.modified - MONTH) for b in listed]
    monkeypatch.setattr(type(ctx.blobs), "iter_blobs", lambda self: iter(stale))

    report = collect_garbage(ctx, grace=7 * 86400, fetch=False)

    assert report.removed == [] and report.missing == 1
    assert ctx.blobs.has(listed[0].hexdigest)


def test_a_reused_blob_that_vanished_before_the_commit_is_stored_again(registry, monkeypatch):
    write("same/x.bin", "gone under our feet")  # one file, so the stat cache knows it
    ops.log_path(Path("same"), "p/old", "dataset")
    digest = digest_of("gone under our feet")
    cli_out("delete", "p/old:v0")
    ctx = Context.open()
    # The store says it holds the blob; by the time the log refreshes it, gc took it.
    assert ctx.blobs.delete(digest)
    real_has = type(ctx.blobs).has
    with monkeypatch.context() as patched:
        patched.setattr(type(ctx.blobs), "has", lambda self, d: d == digest or real_has(self, d))
        ops.log_path(Path("same"), "p/new", "dataset")

    assert LocalBlobStore(registry.root / ".blobs").has(digest)
    root = Path(ops.download("p/new:v0", "out")[1])
    assert (root / "x.bin").read_text() == "gone under our feet"


def test_on_s3_a_reused_old_blob_gets_a_new_last_modified(s3_registry, s3_env, bucket, monkeypatch):
    from registry_tool._blobs import s3 as s3_module

    log("p/old", {"x.bin": "old on s3"})
    cli_out("delete", "p/old:v0")
    key = f"blobs/sha256/{digest_of('old on s3')[:2]}/{digest_of('old on s3')}"
    client = s3_env.client()
    before = client.head_object(Bucket=bucket, Key=key)["LastModified"]
    time.sleep(1.1)  # LastModified has whole seconds
    monkeypatch.setattr(s3_module, "FRESH_FOR", -1.0)  # every blob counts as old

    log("p/new", {"x.bin": "old on s3"})

    assert client.head_object(Bucket=bucket, Key=key)["LastModified"] > before
    root = Path(ops.download("p/new:v0", "out")[1])
    assert (root / "x.bin").read_text() == "old on s3"
