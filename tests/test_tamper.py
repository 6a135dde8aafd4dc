"""Tampering, and what catches it: a changed blob (download, `verify --all`, locally and
in SeaweedFS), a version file edited by hand (`check --base/--head`), a promotion that
brings its own gate change (the separate-approval policy), and digests that no longer
add up (`check --deep`)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
import yaml

from registry_tool import _schemas as schemas
from registry_tool.errors import DocumentError
from tests.helpers import cli_out, git, write


def log(name: str, files: dict[str, str], **metadata: object) -> None:
    folder = Path(f"payload-{uuid.uuid4().hex[:8]}")
    for rel, text in files.items():
        write(folder / rel, text)
    cli_out(
        "log",
        str(folder),
        "--name",
        f"training/{name}",
        "--type",
        "model",
        "--metadata",
        json.dumps(metadata),
    )


def blob(root: Path, text: str) -> Path:
    import hashlib

    digest = hashlib.sha256(text.encode()).hexdigest()
    path = root / ".blobs/sha256" / digest[:2] / digest
    path.chmod(0o644)
    return path


def s3_key(text: str) -> str:
    import hashlib

    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"blobs/sha256/{digest[:2]}/{digest}"


# -- blobs changed in storage -----------------------------------------------------------


def test_download_refuses_a_blob_changed_in_storage(registry):
    log("clf", {"model.pth": "weights"})
    blob(registry.root, "weights").write_text("tampered")
    out = cli_out("get", "training/clf:v0", "--root", "out", code=1)
    assert "corrupt" in out and not Path("out/model.pth").exists()


def test_verify_all_reports_every_bad_blob_once_checked(registry):
    log("clf", {"model.pth": "weights v0", "vocab.txt": "shared vocab"}, f1=0.8)
    log("clf", {"model.pth": "weights v1", "vocab.txt": "shared vocab"}, f1=0.9)
    log("data", {"train.csv": "a,b\n1,2\n"})
    report = json.loads(cli_out("verify", "--all", "--json"))
    assert report["ok"] is True and report["bad"] == []
    # 5 files name 4 distinct blobs: the shared vocab is read once.
    assert (report["versions"], report["files"], report["blobs"]) == (3, 5, 4)

    blob(registry.root, "shared vocab").write_text("shared vocab, edited")
    blob(registry.root, "a,b\n1,2\n").unlink()
    report = json.loads(cli_out("verify", "--all", "--json", code=1))
    shared = "sha256:" + _sha("shared vocab")
    assert report["ok"] is False and report["blobs"] == 4
    assert report["bad"] == [
        {
            "artifact": "training/clf",
            "version": 0,
            "path": "vocab.txt",
            "digest": shared,
            "problem": "corrupt",
        },
        {
            "artifact": "training/clf",
            "version": 1,
            "path": "vocab.txt",
            "digest": shared,
            "problem": "corrupt",
        },
        {
            "artifact": "training/data",
            "version": 0,
            "path": "train.csv",
            "digest": "sha256:" + _sha("a,b\n1,2\n"),
            "problem": "missing",
        },
    ]
    out = cli_out("verify", "--all", code=1)
    assert f"training/clf:v1: vocab.txt: {shared}: corrupt" in out
    assert "4 blobs" in out and "3 bad" in out


def test_verify_all_on_s3_reads_every_blob_from_the_bucket(
    s3_registry, s3_env, bucket, monkeypatch
):
    log("clf", {"model.pth": "s3 weights", "config.json": "{}"})
    log("data", {"train.csv": "x,y\n"})
    assert json.loads(cli_out("verify", "--all", "--json"))["blobs"] == 3
    client = s3_env.client()
    client.put_object(Bucket=bucket, Key=s3_key("s3 weights"), Body=b"s3 weights, swapped")
    client.delete_object(Bucket=bucket, Key=s3_key("x,y\n"))
    monkeypatch.setenv("REGISTRY_TOOL_CACHE_DIR", str(Path("fresh-cache").resolve()))
    report = json.loads(cli_out("verify", "--all", "--json", code=1))
    assert [(b["artifact"], b["path"], b["problem"]) for b in report["bad"]] == [
        ("training/clf", "model.pth", "corrupt"),
        ("training/data", "train.csv", "missing"),
    ]
    assert report["store"] == f"s3://{bucket}/blobs"
    # A download from the bucket refuses the swapped bytes too.
    out = cli_out("get", "training/clf:v0", "--root", "out", code=1)
    assert "corrupt" in out


def test_verify_usage():
    assert "--all checks the blob store" in cli_out("verify", "training/clf:v0", "--all", code=2)
    assert "give ARTIFACT_PATH and --root DIR, or --all" in cli_out("verify", code=2)


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


# -- a version file edited by hand -------------------------------------------------------

VERSION = "projects/training/clf/versions/v0.yaml"


def on_branch(root: Path, edits: dict[str, str], branch: str = "change") -> None:
    git(root, "checkout", "--quiet", "-B", branch, "main")
    for path, text in edits.items():
        write(root / path, text)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", f"edit on {branch}")
    git(root, "checkout", "--quiet", "main")


def check(*extra: str, code: int = 0, head: str = "change") -> list[dict]:
    out = cli_out("check", "--base", "main", "--head", head, "--json", *extra, code=code)
    return json.loads(out)["problems"]


def edited(root: Path, path: str, **changes: object) -> str:
    doc = yaml.safe_load((root / path).read_text())
    doc.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del doc[key]
    return yaml.safe_dump(doc, sort_keys=False)


MARK = {"at": "2026-01-02T03:04:05Z", "by": "Ada <ada@example.test>", "reason": "leak"}


@pytest.fixture
def pr(registry, monkeypatch):
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    log("clf", {"model.pth": "weights"}, f1=0.85)
    return registry


def test_a_version_edited_by_hand_is_refused(pr):
    on_branch(pr.root, {VERSION: edited(pr.root, VERSION, metadata={"f1": 0.99})})
    assert {
        "path": VERSION,
        "field": "$",
        "message": "versions are immutable: this file was modified",
    } in check(code=1)


def test_only_adding_the_deleted_mark_is_allowed(pr):
    marked = edited(pr.root, VERSION, deleted=MARK)
    on_branch(pr.root, {VERSION: marked})
    try:
        schemas.validate(yaml.safe_load(marked), "version", VERSION)
        expected = []
    except DocumentError as exc:  # until the schema knows the mark
        expected = [{"path": exc.path, "field": exc.field, "message": exc.message}]
    assert check(code=1 if expected else 0) == expected
    # The mark plus anything else, or the mark taken away again, is an edit.
    on_branch(pr.root, {VERSION: edited(pr.root, VERSION, deleted=MARK, description="x")})
    assert "versions are immutable" in json.dumps(check(code=1))
    git(pr.root, "merge", "--quiet", "change")
    on_branch(pr.root, {VERSION: edited(pr.root, VERSION, deleted=None)})
    assert "versions are immutable" in json.dumps(check(code=1))


def test_the_tools_own_soft_delete_passes_check(pr):
    import registry_tool as wandb

    log("clf", {"model.pth": "better weights"}, f1=0.9)
    base = git(pr.root, "rev-parse", "HEAD")
    wandb.Api().artifact("training/clf:v0").delete()
    assert "deleted" in (pr.root / VERSION).read_text()
    out = json.loads(cli_out("check", "--base", base, "--head", "main", "--deep", "--json"))
    assert out["ok"] is True and out["files"] == 1
    # Its blobs may be collected: verify --all leaves them out.
    blob(pr.root, "weights").unlink()
    report = json.loads(cli_out("verify", "--all", "--json"))
    assert (report["ok"], report["versions"], report["deleted_skipped"]) == (True, 1, 1)


# -- a promotion that brings its own gate change -------------------------------------------

CONFIG = "registries/models/registry.yaml"
PRODUCTION = "registries/models/clf/aliases/production.yaml"
PRODUCTION_DOC = "kind: alias\nalias: production\nversion: 0\nset_at: '2026-01-01T00:00:00Z'\n"


@pytest.fixture
def governed(pr):
    cli_out(
        "registry",
        "create",
        "models",
        "--stages",
        "staging,production",
        "--protected",
        "production",
        "--gate",
        "production: f1 >= 0.9",
    )
    cli_out("link", "training/clf:v0", "model-registry/models")
    return pr


def test_a_promotion_may_not_lower_its_own_gate(governed):
    root = governed.root
    lowered = (root / CONFIG).read_text().replace("f1 >= 0.9", "f1 >= 0.8")
    on_branch(root, {CONFIG: lowered, PRODUCTION: PRODUCTION_DOC})
    found = check(code=1)
    assert [(p["path"], p["field"]) for p in found] == [(CONFIG, "$.gates")]
    message = found[0]["message"]
    assert "protected alias 'production'" in message and PRODUCTION in message
    assert f"first merge the change to {CONFIG} alone" in message

    # Split: the gate change alone passes, is merged, then the promotion passes on it.
    on_branch(root, {CONFIG: lowered}, branch="gate")
    assert check(head="gate") == []
    git(root, "merge", "--quiet", "gate")
    on_branch(root, {PRODUCTION: PRODUCTION_DOC}, branch="promote")
    assert check(head="promote") == []


def test_unprotecting_and_moving_in_one_change_is_refused(governed):
    root = governed.root
    doc = yaml.safe_load((root / CONFIG).read_text())
    doc["protected"] = []
    doc["gates"] = {}
    on_branch(root, {CONFIG: yaml.safe_dump(doc), PRODUCTION: PRODUCTION_DOC})
    found = check(code=1)
    assert [(p["path"], p["field"]) for p in found] == [(CONFIG, "$.protected")]
    assert "protected and gates of model-registry/models changed" in found[0]["message"]


def test_a_description_change_may_ride_along(governed):
    root = governed.root
    doc = yaml.safe_load((root / CONFIG).read_text())
    doc["description"] = "models we ship"
    doc["gates"]["production"]["conditions"] = ["f1 >= 0.8"]
    on_branch(root, {CONFIG: yaml.safe_dump(doc)}, branch="gate")
    git(root, "merge", "--quiet", "gate")
    doc["description"] = "models we ship, reviewed"
    on_branch(root, {CONFIG: yaml.safe_dump(doc), PRODUCTION: PRODUCTION_DOC})
    assert check() == []


# -- check --deep ---------------------------------------------------------------------------


def test_deep_recomputes_every_link_digest_in_the_tree(governed):
    link = "registries/models/clf/links/v0.yaml"
    doc = yaml.safe_load((governed.root / link).read_text())
    doc["source"]["digest"] = "0" * 64
    write(governed.root / link, yaml.safe_dump(doc))
    assert json.loads(cli_out("check", "--json"))["ok"] is True
    found = json.loads(cli_out("check", "--deep", "--json", code=1))["problems"]
    assert found == [
        {
            "path": link,
            "field": "$.source.digest",
            "message": "is not the digest of training/clf:v0 recomputed from its manifest",
        }
    ]


def test_deep_checks_the_whole_head_not_only_the_change(governed):
    root = governed.root
    # A manifest altered on main, in a commit no check saw.
    doc = yaml.safe_load((root / VERSION).read_text())
    doc["entries"][0]["digest"] = "sha256:" + _sha("other weights")
    write(root / VERSION, yaml.safe_dump(doc, sort_keys=False))
    git(root, "commit", "--quiet", "-am", "sneaky")
    on_branch(
        root,
        {
            "projects/training/clf/aliases/best.yaml": "kind: alias\nalias: best\nversion: 0\nset_at: '2026-01-01T00:00:00Z'\n"
        },
    )
    assert check() == []
    found = check("--deep", code=1)
    assert [(p["path"], p["field"]) for p in found] == [
        (VERSION, "$.digest"),
        ("registries/models/clf/links/v0.yaml", "$.source.digest"),
    ]
    assert "does not match the digest of the entries" in found[0]["message"]


# -- every file is what its path says, and a regular file ------------------------------

LINK = "registries/models/clf/links/v0.yaml"
UNLINK = "registries/models/clf/unlinked/v0.yaml"


def tree_problems(code: int = 1) -> list[dict]:
    return json.loads(cli_out("check", "--json", code=code))["problems"]


def test_a_link_that_names_another_collection_is_refused(governed):
    other = edited(governed.root, LINK, collection="other")
    on_branch(governed.root, {LINK: other}, branch="relink")
    # A link never changes; a new link file that lies about its place is refused too.
    git(governed.root, "checkout", "--quiet", "-B", "newlink", "main")
    write(
        governed.root / "registries/models/clf/links/v1.yaml",
        other.replace("version: 0", "version: 1"),
    )
    git(governed.root, "add", "-A")
    git(governed.root, "commit", "--quiet", "-m", "a link elsewhere")
    git(governed.root, "checkout", "--quiet", "main")
    found = check(head="newlink", code=1)
    assert {
        "path": "registries/models/clf/links/v1.yaml",
        "field": "$.registry",
        "message": "names model-registry/models/other, not the collection its path says",
    } in found
    write(governed.root / LINK, other)
    assert {
        "path": LINK,
        "field": "$.registry",
        "message": "names model-registry/models/other, not the collection its path says",
    } in tree_problems()


def test_a_registry_whose_name_is_not_its_folder_is_refused(governed):
    renamed = (governed.root / CONFIG).read_text().replace("name: models", "name: elsewhere")
    assert renamed != (governed.root / CONFIG).read_text()
    on_branch(governed.root, {CONFIG: renamed})
    expected = {
        "path": CONFIG,
        "field": "$.name",
        "message": "is 'elsewhere', but the registry's folder is models",
    }
    assert expected in check(code=1)
    write(governed.root / CONFIG, renamed)
    assert expected in tree_problems()


def test_an_unlink_mark_that_names_another_link_is_refused(governed):
    cli_out("link", "training/clf:v0", "model-registry/models")
    import registry_tool as wandb

    wandb.Api().artifact("model-registry/models/clf:v0").unlink()
    assert (governed.root / UNLINK).is_file()
    wrong = edited(governed.root, UNLINK, version=3)
    write(governed.root / UNLINK, wrong)
    assert {
        "path": UNLINK,
        "field": "$",
        "message": "names another link than the one its path says",
    } in tree_problems()


def test_symbolic_links_and_other_non_regular_files_are_refused_in_a_tree(pr, tmp_path):
    import os

    root = pr.root
    outside = write(tmp_path / "elsewhere.yaml", (root / VERSION).read_text())
    (root / "projects/training/clf/versions/v1.yaml").symlink_to(outside)
    (root / "projects/training/linked").symlink_to(root / "projects/training/clf")
    os.mkfifo(root / "projects/training/clf/aliases/pipe.yaml")
    found = tree_problems()
    irregular = sorted(p["path"] for p in found if p["message"].startswith("not a regular file"))
    assert irregular == [
        "projects/training/clf/aliases/pipe.yaml",
        "projects/training/clf/versions/v1.yaml",
        "projects/training/linked",
    ]
    # Nothing behind them was read (the check returned at all: a FIFO would block it).
    assert not any("linked/" in p["path"] for p in found)


def test_a_symbolic_link_or_a_submodule_in_a_change_is_refused(pr):
    root = pr.root
    git(root, "checkout", "--quiet", "-B", "change", "main")
    (root / "projects/training/clf/versions/v1.yaml").symlink_to("v0.yaml")
    head = git(root, "rev-parse", "HEAD")
    git(root, "update-index", "--add", "--cacheinfo", f"160000,{head},projects/training/sub")
    git(root, "add", "projects/training/clf/versions/v1.yaml")
    git(root, "commit", "--quiet", "-m", "a link and a submodule")
    git(root, "checkout", "--quiet", "main")
    found = check(code=1)
    irregular = sorted(p["path"] for p in found if p["message"].startswith("not a regular file"))
    assert irregular == ["projects/training/clf/versions/v1.yaml", "projects/training/sub"]
    # Readers never take a link's target for a document.
    from registry_tool._store import RegistryStore

    snap = RegistryStore.open(root).snapshot("change")
    assert snap.read("projects/training/clf/versions/v1.yaml") is None
    assert snap.read(VERSION) is not None


def test_names_that_differ_only_by_case_are_refused_in_a_tree_and_a_change(pr):
    root = pr.root
    clf = (root / "projects/training/clf/artifact.yaml").read_text()
    git(root, "checkout", "--quiet", "-B", "change", "main")
    write(root / "projects/training/Clf/artifact.yaml", clf.replace("name: clf", "name: Clf"))
    write(root / "projects/Training/x/artifact.yaml", clf)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "case twins")
    found = [p for p in check(code=1) if "differs only by case" in p["message"]]
    assert found == [
        {
            "path": "projects/Training",
            "field": "$",
            "message": "differs only by case from projects/training "
            "(one path on a case-insensitive file system)",
        },
        {
            "path": "projects/training/Clf",
            "field": "$",
            "message": "differs only by case from projects/training/clf "
            "(one path on a case-insensitive file system)",
        },
    ]
    # The working tree of that branch, checked whole, says the same.
    git(root, "checkout", "--quiet", "change")
    cased = sorted(p["path"] for p in tree_problems() if "differs only by case" in p["message"])
    # In a tree, of each pair the first in sorted order stands (upper case sorts first).
    assert cased == ["projects/training", "projects/training/clf"]


def test_the_store_never_writes_a_case_twin_nor_swaps_a_file_and_a_folder(pr):
    from registry_tool._store import Change, RegistryStore
    from registry_tool.errors import UsageError

    root = pr.root
    head = git(root, "rev-parse", "HEAD")
    write("m.txt", "x")
    out = cli_out("log", "m.txt", "--name", "training/CLF", "--type", "model", code=1)
    assert "projects/training/CLF: differs only by case from projects/training/clf" in out
    out = cli_out("log", "m.txt", "--name", "Training/other", "--type", "model", code=1)
    assert "projects/Training: differs only by case from projects/training" in out
    cli_out("alias", "set", "training/clf:v0", "best")
    after_alias = git(root, "rev-parse", "HEAD")
    assert after_alias != head
    out = cli_out("alias", "set", "training/clf:v0", "Best", code=1)
    assert (
        "aliases/Best.yaml: differs only by case from projects/training/clf/aliases/best.yaml"
        in out
    )
    store = RegistryStore.open(root)

    def put(path: str) -> None:
        def build(snap):
            change = Change(message="by hand")
            change.files[path] = b"kind: x\n"
            return change

        store.write(build)

    with pytest.raises(
        UsageError,
        match=re.escape("clf is a folder in the registry: it cannot be replaced by a file"),
    ):
        put("projects/training/clf")
    with pytest.raises(
        UsageError,
        match=re.escape(
            "artifact.yaml is a file in the registry: it cannot be replaced by a folder"
        ),
    ):
        put("projects/training/clf/artifact.yaml/inner.yaml")
    # Nothing refused was committed.
    assert git(root, "rev-parse", "HEAD") == after_alias


def test_readers_take_a_registry_alias_by_its_file_name_not_its_field(governed):
    import registry_tool as wandb

    staging = "registries/models/clf/aliases/staging.yaml"
    write(governed.root / staging, PRODUCTION_DOC)  # says 'production', sits at staging
    git(governed.root, "add", "-A")
    git(governed.root, "commit", "--quiet", "-m", "by hand")
    art = wandb.Api().artifact("model-registry/models/clf:staging")
    assert art.aliases == ["latest", "staging"]
    assert "production" not in art.aliases
    assert {
        "path": staging,
        "field": "$.alias",
        "message": "is 'production', but the file is named staging.yaml",
    } in tree_problems()


def test_a_change_numbering_a_version_far_past_a_gap_is_one_problem(registry):
    from registry_tool._checks import run_checks

    log("clf", {"model.pth": "weights"})
    folder = registry.root / "projects/training/clf/versions"
    git(registry.root, "checkout", "--quiet", "-b", "far")
    doc = yaml.safe_load((folder / "v0.yaml").read_text())
    (folder / "v999999999.yaml").write_text(yaml.safe_dump({**doc, "version": 999999999}))
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "--quiet", "-m", "far")
    found = [str(p) for p in run_checks(registry, base="main", head="far").problems]
    assert found == [
        "projects/training/clf/versions/v999999999.yaml: $: missing: versions must be "
        "numbered from v0 with no gap (999999998 numbers are missing below v999999999)"
    ]
