"""What an alias or a stage holds stays: ``delete`` refuses a version a protected stage
holds, and ``gc`` (with ``verify --all`` and ``storage sync``, which read the same live
blobs) keeps the blobs of a version an alias or a stage names even when its file was
marked deleted by hand, on real git repos and a real local blob directory.

The registry (``held``)::

    p/model:v0  w.bin "weights v0"   <- model-registry/prod/model:v0: staging, production
    p/model:v1  w.bin "weights v1"   (latest)
    p/data:v0   a.txt "best data"    <- the project alias 'best'
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool import _promotion as promotion
from registry_tool import _verbs as ops
from registry_tool._blobs import LocalBlobStore
from registry_tool._engine.context import Context
from registry_tool._engine.live import ALL_REFS, live_blobs
from registry_tool._store import RegistryStore
from tests.helpers import cli_error, cli_out, create_prod_registry, git, invoke, write

PRODUCTION = "model-registry/prod/model:production"


def hexof(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def log(name: str, files: dict[str, str], *, aliases: tuple[str, ...] = ()) -> str:
    folder = Path(f"src-{time.monotonic_ns()}")
    for rel, content in files.items():
        write(folder / rel, content)
    return ops.log_path(folder, name, "model", aliases=list(aliases)).version


def link(version: str, stages: list[str], collection: str = "model") -> None:
    """Link ``p/model:<version>`` into ``model-registry/prod/<collection>`` holding
    ``stages``; a protected one is set as a merged promotion would set it."""
    ctx = Context.open()
    record = ctx.resolve(f"p/model:{version}", project=None)
    promotion.link_version(
        ctx, record, f"model-registry/prod/{collection}", stages, allow_protected=True
    )


def head(store: RegistryStore) -> str:
    return git(store.root, "rev-parse", "HEAD")


def stored(store: RegistryStore) -> set[str]:
    return set(LocalBlobStore(store.root / ".blobs").iter_digests())


def age_blobs(store: RegistryStore) -> None:
    then = time.time() - 30 * 86400
    for path in (store.root / ".blobs" / "sha256").glob("*/*"):
        os.utime(path, (then, then))


def mark_by_hand(store: RegistryStore, version_path: str) -> None:
    """Add the deleted mark to a version file and commit it with plain git, bypassing
    the tool (and so every alias and stage check it makes)."""
    target = store.root / version_path
    target.write_text(
        target.read_text() + "deleted:\n  at: '2026-01-01T00:00:00Z'\n  by: someone\n"
    )
    git(store.root, "commit", "--quiet", "-am", f"mark {version_path} deleted")


@pytest.fixture
def held(registry: RegistryStore) -> RegistryStore:
    assert log("p/model", {"w.bin": "weights v0"}) == "v0"
    assert log("p/model", {"w.bin": "weights v1"}) == "v1"
    assert log("p/data", {"a.txt": "best data"}, aliases=("best",)) == "v0"
    create_prod_registry()
    link("v0", ["staging", "production"])
    return registry


# -- delete: a protected stage holds the version ----------------------------------------


def test_delete_refuses_a_version_a_protected_stage_holds_and_writes_nothing(held, tmp_path):
    commit = head(held)
    expected = (
        "error: cannot delete p/model:v0: it holds the protected stage 'production' of "
        "model-registry/prod/model (through the link model-registry/prod/model:v0); a "
        "protected stage moves only by a reviewed promotion: move it to another version "
        "first (registry-tool promote model-registry/prod/model:<version> --to production "
        "--pr)"
    )
    for args in (("p/model:v0",), ("p/model:v0", "--delete-aliases"), ("p/model:v0", "--json")):
        assert cli_error("delete", *args) == expected
    with pytest.raises(promotion.ProtectedAliasError, match="'production' of model-registry"):
        wandb.Api().artifact("p/model:v0").delete(delete_aliases=True)
    assert head(held) == commit
    assert git(held.root, "status", "--porcelain") == ""
    got = Path(ops.download(PRODUCTION, str(tmp_path / "prod"))[1])
    assert (got / "w.bin").read_text() == "weights v0"


def test_the_refusal_names_the_collection_and_link_that_hold_it(held):
    """The version linked again into another collection, production held only there."""
    ctx = Context.open()
    first = ctx.resolve_ref("model-registry/prod/model:v0").link
    assert first is not None
    promotion.set_aliases(ctx, first, remove=["production"], allow_protected=True)
    link("v1", [], collection="other")
    link("v0", ["production"], collection="other")  # link v1 of other, source p/model:v0

    message = cli_error("delete", "p/model:v0", "--delete-aliases")

    assert "'production' of model-registry/prod/other" in message
    assert "(through the link model-registry/prod/other:v1)" in message
    assert "registry-tool promote model-registry/prod/other:<version> --to production" in message


def test_once_production_moved_off_an_unprotected_stage_goes_with_delete_aliases(held):
    """The boundary: the refusal is for protected stages only. Held by 'staging' (not
    protected), today's rule applies: refused without --delete-aliases, and with it the
    stage goes in the same commit."""
    link("v1", ["production"])
    message = cli_error("delete", "p/model:v0")
    assert message == (
        "error: cannot delete p/model:v0: it has the aliases model-registry/prod/model:staging; "
        "remove them first or delete with --delete-aliases"
    )

    out = json.loads(cli_out("delete", "p/model:v0", "--delete-aliases", "--json"))

    assert out["removed_aliases"] == ["model-registry/prod/model:staging"]
    assert wandb.Api().artifact(PRODUCTION).source_name == "p/model:v1"


# -- gc: an alias or a stage keeps a version's blobs, deleted mark or not ---------------


def test_gc_keeps_what_a_stage_holds_though_its_version_was_marked_by_hand(held, tmp_path):
    mark_by_hand(held, "projects/p/model/versions/v0.yaml")
    age_blobs(held)

    report = json.loads(invoke("gc", "--grace", "0s", "--force", "--json").stdout)

    assert report["removed"] == 0
    assert (report["held_versions"], report["held"]) == (1, 1)
    assert (report["deleted_versions"], report["kept"]) == (1, 3)
    blob = held.root / ".blobs" / "sha256" / hexof("weights v0")[:2] / hexof("weights v0")
    assert blob.read_text() == "weights v0"
    assert "1 kept for a deleted version an alias or stage names" in cli_out(
        "gc", "--grace", "0s", "--dry-run"
    )
    # The mark undone (as a revert of the change would), production downloads again.
    git(held.root, "revert", "--no-edit", "HEAD")
    got = Path(ops.download(PRODUCTION, str(tmp_path / "prod"))[1])
    assert (got / "w.bin").read_text() == "weights v0"


def test_gc_keeps_what_a_project_alias_holds_though_marked_by_hand(held):
    mark_by_hand(held, "projects/p/data/versions/v0.yaml")
    age_blobs(held)

    report = json.loads(invoke("gc", "--grace", "0s", "--force", "--json").stdout)

    assert (report["removed"], report["held_versions"], report["held"]) == (0, 1, 1)
    assert hexof("best data") in stored(held)


def test_a_stage_on_a_tag_keeps_the_blobs_until_the_tag_goes(held):
    """Every ref the walk covers holds: main has no holder left, the tag still does."""
    mark_by_hand(held, "projects/p/model/versions/v0.yaml")
    git(held.root, "tag", "release")
    for alias in ("staging", "production", "latest"):
        git(held.root, "rm", "--quiet", f"registries/prod/model/aliases/{alias}.yaml")
    git(held.root, "commit", "--quiet", "-m", "stages removed by hand")
    age_blobs(held)

    kept = json.loads(invoke("gc", "--grace", "0s", "--force", "--json").stdout)
    assert (kept["removed"], kept["held"]) == (0, 1)
    git(held.root, "tag", "-d", "release")

    gone = json.loads(invoke("gc", "--grace", "0s", "--force", "--json").stdout)

    assert [b["digest"] for b in gone["removed_blobs"]] == [f"sha256:{hexof('weights v0')}"]
    assert (gone["held_versions"], gone["held"], gone["deleted_versions"]) == (0, 0, 1)
    assert hexof("weights v0") not in stored(held)


def test_a_deleted_version_with_no_holder_still_goes(held):
    """The tool's own delete takes the aliases away: nothing holds, the blob is garbage."""
    cli_out("delete", "p/data:v0", "--delete-aliases")
    age_blobs(held)

    report = json.loads(invoke("gc", "--grace", "0s", "--force", "--json").stdout)

    assert [b["digest"] for b in report["removed_blobs"]] == [f"sha256:{hexof('best data')}"]
    assert (report["held_versions"], report["held"]) == (0, 0)


def test_a_blob_another_live_version_names_is_not_counted_as_held(held):
    log("p/other", {"copy.bin": "weights v0"})
    mark_by_hand(held, "projects/p/model/versions/v0.yaml")

    report = json.loads(cli_out("gc", "--grace", "0s", "--dry-run", "--json"))

    assert (report["removed"], report["held_versions"], report["held"]) == (0, 1, 0)


# -- the live-blob walk: every ref, one commit, and a continued scan -------------------


def test_a_holder_found_by_a_continued_scan_keeps_a_version_marked_earlier(held):
    mark_by_hand(held, "projects/p/model/versions/v0.yaml")
    for alias in ("staging", "production", "latest"):
        git(held.root, "rm", "--quiet", f"registries/prod/model/aliases/{alias}.yaml")
    git(held.root, "commit", "--quiet", "-m", "stages removed by hand")
    first = live_blobs(held, refs=ALL_REFS)
    assert hexof("weights v0") not in first.digests
    assert (first.deleted, first.held) == (1, 0)
    # A branch where an alias names the marked version appears between the two scans.
    git(held.root, "checkout", "--quiet", "-b", "holder")
    alias = "projects/p/model/aliases/kept.yaml"
    write(held.root / alias, "kind: alias\nalias: kept\nversion: 0\nset_at: '2026-01-01'\n")
    git(held.root, "add", alias)
    git(held.root, "commit", "--quiet", "-m", "an alias by hand")
    git(held.root, "checkout", "--quiet", "main")

    later = live_blobs(held, refs=ALL_REFS, since=first)

    assert hexof("weights v0") in later.digests
    assert (later.deleted, later.held) == (0, 1)
    assert later.held_only == {hexof("weights v0")}
    assert hexof("weights v0") not in first.digests  # the earlier result is left alone


def test_a_marked_file_is_held_at_any_path_it_sits_at(held):
    """The same marked bytes at two version paths (a hand-made copy): an alias naming
    either path keeps them, though the file is read only once."""
    mark_by_hand(held, "projects/p/model/versions/v0.yaml")
    for alias in ("staging", "production", "latest"):
        git(held.root, "rm", "--quiet", f"registries/prod/model/aliases/{alias}.yaml")
    versions = held.root / "projects/p/model/versions"
    write(versions / "v5.yaml", (versions / "v0.yaml").read_text())
    alias = "projects/p/model/aliases/kept.yaml"
    write(held.root / alias, "kind: alias\nalias: kept\nversion: 5\nset_at: '2026-01-01'\n")
    git(held.root, "add", ".")
    git(held.root, "commit", "--quiet", "-m", "a copy and an alias by hand")

    live = live_blobs(held, refs=ALL_REFS)

    assert hexof("weights v0") in live.digests
    assert (live.deleted, live.held) == (0, 1)


def test_verify_all_and_storage_sync_count_a_held_version(held, tmp_path):
    mark_by_hand(held, "projects/p/model/versions/v0.yaml")
    live = live_blobs(held)
    assert hexof("weights v0") in live.digests
    assert live.labels(hexof("weights v0")) == ["p/model:v0"]
    assert (live.versions, live.deleted, live.held) == (3, 0, 1)
    verified = json.loads(cli_out("verify", "--all", "--json"))
    assert verified["deleted_skipped"] == 0

    cli_out("storage", "set", str(tmp_path / "elsewhere"))
    synced = json.loads(cli_out("storage", "sync", "--json"))

    assert synced["missing"] == [] and synced["corrupt"] == []
    assert hexof("weights v0") in set(LocalBlobStore(tmp_path / "elsewhere").iter_digests())
