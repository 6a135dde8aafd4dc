"""Edits after logging under governance, and the download options, each rule at its
boundaries with whole problems asserted (path, field and message):

- ``check`` reads an edit file as what its path says, of a version that exists, and
  never lets it change or go (``_checks/rules.py``, ``_checks/diff.py``);
- a move into a protected stage may not bring an edit of a key its registry's gates
  read, and every stage is judged on the metadata readers see, edits applied
  (``_checks/promotions.py``, ``_checks/holders.py``, ``_promotion/stages.py``), as is
  the metadata a promotion's pull request shows (``_promotion/promote.py``); a holder
  whose edit does not parse is a problem, not a check that stops;
- a download limited to some entries, one that skips references that are gone, a blob
  copied by the kernel in several calls, and a checkout's pruning of what the version
  does not hold, with the folder or file it cannot read or remove named
  (``_engine/download.py``).

Everything runs in this process on real git repos (the template registry of
``tests/test_check_rules.py``: training/clf v0, f1 0.95, linked as models/clf v0 and
holding staging; production protected, gated on f1 >= 0.9 and on staging first).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import registry_tool as wandb
from registry_tool import _promotion as promotion
from registry_tool import _verbs as ops
from registry_tool._checks import rules
from registry_tool._checks.holders import holder_problems
from registry_tool._checks.report import Problem
from registry_tool._engine.context import Context
from registry_tool._engine.download import download_version, prune, verify_files
from registry_tool._model import layout
from registry_tool._model.edits import EditRecord
from registry_tool._model.records import VersionRecord
from registry_tool._promotion import check_stage
from registry_tool._promotion.promote import pull_request_body
from registry_tool._store import init_registry, registries
from registry_tool.errors import ArtifactError, ReferenceGoneError, VerificationError
from tests import test_check_rules
from tests import test_promotion_rules as flow
from tests import test_tree_diff_rules as base
from tests.helpers import git, write
from tests.test_check_rules import (
    CONFIG,
    PRODUCTION,
    STAGE,
    alias,
    committed_on_main,
    config_with,
    diff,
    dump,
    on_branch,
    tree,
)

# The template registry and its per-test copy, as fixtures of this module too.
template = test_check_rules.template
reg = test_check_rules.reg

EDITS = "projects/training/clf/edits/v0"
EDIT0, EDIT1 = f"{EDITS}/0.yaml", f"{EDITS}/1.yaml"
STAGING = f"{STAGE}/staging.yaml"
LINK0 = "model-registry/models/clf:v0"
REVIEW = (
    "in the change that moves the protected stage 'production' to it: an edit of gated "
    "metadata needs its own review. Merge the edit alone first, then promote "
    "(registry-tool promote ... --pr)"
)


def edit_doc(
    seq: int = 0,
    *,
    version: int = 0,
    project: str = "training",
    name: str = "clf",
    removed: tuple[str, ...] = (),
    **metadata: object,
) -> dict[str, Any]:
    """An edit document as the tool writes one: edit ``seq`` of training/clf:v0 (unless
    told otherwise) setting ``metadata`` and removing ``removed``."""
    doc: dict[str, Any] = {
        "kind": "edit",
        "project": project,
        "name": name,
        "version": version,
        "seq": seq,
        "at": "2026-01-02T00:00:00Z",
        "by": "Ada <ada@example.test>",
    }
    if metadata:
        doc["metadata"] = metadata
    if removed:
        doc["removed"] = list(removed)
    return doc


def edit(seq: int = 0, **kwargs: Any) -> str:
    """``edit_doc`` as the YAML of a file."""
    return dump(edit_doc(seq, **kwargs))


def parsed(path: str, doc: dict[str, Any]) -> rules.Parsed:
    """``doc`` at ``path`` as ``check`` reads it, valid by its schema."""
    key = layout.parse(path)
    assert key is not None
    found, problems = rules.parse_file(path, key, yaml.safe_dump(doc).encode())
    assert problems == [] and found is not None
    return found


def edited_here(path: str, keys: str, registry: str = "models") -> str:
    """The refusal of an edit of gated ``keys`` travelling with a production move."""
    return (
        f"{path} edits {keys} of training/clf:v0, which the gates of "
        f"model-registry/{registry} read, {REVIEW}"
    )


# -- an edit file on its own (rules.py) --------------------------------------------------


def test_an_edit_file_reads_as_an_edit_record():
    found = parsed(EDIT1, edit_doc(1, f1=0.9, removed=("old",)))
    assert found.record == EditRecord(
        "training",
        "clf",
        0,
        1,
        "2026-01-02T00:00:00Z",
        "Ada <ada@example.test>",
        metadata={"f1": 0.9},
        removed=("old",),
    )
    assert rules.own(found) == []


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("project", "other", "other/clf:v0 edit 1"),
        ("name", "reg", "training/reg:v0 edit 1"),
        ("version", 3, "training/clf:v3 edit 1"),
        ("seq", 2, "training/clf:v0 edit 2"),
    ],
)
def test_an_edit_names_the_project_name_version_and_seq_its_path_says(field, value, named):
    found = parsed(EDIT1, {**edit_doc(1), field: value})
    expected = [
        Problem(
            EDIT1,
            "$",
            f"names {named}, not the edit its path says (edits/v<N>/<seq>.yaml)",
        )
    ]
    assert rules.identity(found) == expected
    assert rules.own(found) == expected


@pytest.mark.parametrize(
    ("value", "wide"), [(2**64 - 1, False), (2**64, True), (-(2**63), False), (-(2**63) - 1, True)]
)
def test_an_edit_holding_an_integer_beyond_64_bits_is_refused(value, wide):
    key = layout.parse(EDIT0)
    assert key is not None
    data = yaml.safe_dump(edit_doc(0, seed=value)).encode()
    found, problems = rules.parse_file(EDIT0, key, data)
    if wide:
        assert (found, problems) == (None, [Problem(EDIT0, "$.metadata.seed", rules.WIDE)])
    else:
        assert problems == [] and found is not None and found.doc["metadata"] == {"seed": value}


def test_an_edit_file_whose_name_is_no_number_names_no_edit():
    path = f"{EDITS}/01.yaml"  # an edit file by its folder, but no seq by its name
    found = parsed(path, edit_doc(1))
    assert rules.identity(found) == [
        Problem(
            path,
            "$",
            "names training/clf:v0 edit 1, not the edit its path says (edits/v<N>/<seq>.yaml)",
        )
    ]


def test_an_edit_names_a_version_that_exists():
    found = parsed(EDIT0, edit_doc(0, version=0))
    known = rules.Known()
    assert rules.references(found, known) == [
        Problem(EDIT0, "$.version", "edits training/clf:v0, which does not exist")
    ]
    known.add_version("training", "other", 0)
    known.add_version("training", "clf", 1)
    assert len(rules.references(found, known)) == 1  # another collection, another number
    known.add_version("training", "clf", 0, deleted=True)
    assert rules.references(found, known) == []  # a deleted version is still there


# -- an edit file in a change (diff.py) ---------------------------------------------------


def test_an_edit_file_added_in_a_change_passes_and_one_of_nothing_is_refused(reg):
    on_branch(reg.root, {EDIT0: edit(0, note="checked")})
    assert diff(reg) == []
    missing = "projects/training/clf/edits/v4/0.yaml"
    on_branch(reg.root, {missing: edit(0, version=4, note="x")}, branch="missing")
    assert diff(reg, "missing") == [
        Problem(missing, "$.version", "edits training/clf:v4, which does not exist")
    ]


@pytest.mark.parametrize(
    ("text", "what"), [(edit(0, note="rewritten"), "modified"), (None, "deleted")]
)
def test_an_edit_file_never_changes_nor_goes(reg, text, what):
    committed_on_main(reg.root, {EDIT0: edit(0, note="checked")})
    on_branch(reg.root, {EDIT0: text})
    assert diff(reg) == [Problem(EDIT0, "$", f"edits are immutable: this file was {what}")]


# -- an edit of gated metadata travelling with a promotion (promotions.py) ---------------


def test_an_edit_of_a_gated_key_may_not_travel_with_a_protected_move(reg):
    on_branch(reg.root, {EDIT0: edit(0, f1=0.97), PRODUCTION: alias("production", 0)})
    assert diff(reg) == [Problem(PRODUCTION, "$.version", edited_here(EDIT0, "'f1'"))]


def test_every_gated_key_an_edit_sets_or_removes_is_named_in_order(reg):
    gates = {
        "staging": {"conditions": ["loss < 1"]},
        "production": {"conditions": ["f1 >= 0.9", "eval.acc > 0.5"]},
    }
    committed_on_main(reg.root, {CONFIG: config_with(reg.root, gates=gates)})
    raised = edit(0, f1=0.97, eval={"acc": 0.9}, loss=0.1, note="kept", removed=("zeta", "owner"))
    on_branch(reg.root, {EDIT0: raised, PRODUCTION: alias("production", 0)})
    assert diff(reg) == [
        Problem(PRODUCTION, "$.version", edited_here(EDIT0, "'eval', 'f1', 'loss'"))
    ]
    removes = edit(0, removed=("loss", "zeta"))  # a removed key counts as much as a set one
    on_branch(reg.root, {EDIT0: removes, PRODUCTION: alias("production", 0)}, "removes")
    assert diff(reg, "removes") == [
        Problem(PRODUCTION, "$.version", edited_here(EDIT0, "'loss'")),
        Problem(
            PRODUCTION,
            "$.version",
            f"{LINK0} cannot take 'production': eval.acc > 0.5: eval.acc is not in the metadata",
        ),
    ]


def test_each_edit_the_change_brings_is_judged_and_one_on_the_base_is_not(reg):
    committed_on_main(reg.root, {EDIT0: edit(0, f1=0.96)})
    later = f"{EDITS}/2.yaml"
    on_branch(
        reg.root,
        {
            EDIT1: edit(1, owner="ada"),  # no gate reads it
            later: edit(2, f1=0.98),
            PRODUCTION: alias("production", 0),
        },
    )
    assert diff(reg) == [Problem(PRODUCTION, "$.version", edited_here(later, "'f1'"))]
    on_branch(reg.root, {EDIT1: edit(1, owner="ada"), PRODUCTION: alias("production", 0)}, "ok")
    assert diff(reg, "ok") == []


def test_an_edit_of_a_gated_key_may_travel_with_an_unprotected_move(reg):
    git(reg.root, "rm", "--quiet", STAGING)
    git(reg.root, "commit", "--quiet", "-m", "staging off")
    gates = {"staging": {"conditions": ["f1 >= 0.9"]}}
    committed_on_main(reg.root, {CONFIG: config_with(reg.root, gates=gates)})
    on_branch(reg.root, {EDIT0: edit(0, f1=0.97), STAGING: alias("staging", 0)})
    assert diff(reg) == []


def test_a_stage_move_is_judged_on_the_metadata_its_edits_give(reg):
    committed_on_main(reg.root, {EDIT0: edit(0, f1=0.9)})  # just at the gate
    on_branch(reg.root, {PRODUCTION: alias("production", 0)})
    assert diff(reg) == []
    committed_on_main(reg.root, {EDIT1: edit(1, f1=0.89)})  # just below it
    on_branch(reg.root, {PRODUCTION: alias("production", 0)})
    assert diff(reg) == [
        Problem(
            PRODUCTION,
            "$.version",
            f"{LINK0} cannot take 'production': f1 >= 0.9: f1 is 0.89, needs >= 0.9",
        )
    ]
    committed_on_main(reg.root, {f"{EDITS}/2.yaml": edit(2, removed=("f1",))})
    on_branch(reg.root, {PRODUCTION: alias("production", 0)})
    assert diff(reg) == [
        Problem(
            PRODUCTION,
            "$.version",
            f"{LINK0} cannot take 'production': f1 >= 0.9: f1 is not in the metadata",
        )
    ]


# -- a holder as readers see it (holders.py, stages.py) ----------------------------------


def test_a_holder_is_judged_on_the_metadata_its_edits_give(reg):
    committed_on_main(reg.root, {PRODUCTION: alias("production", 0)})
    assert tree(reg) == []
    committed_on_main(reg.root, {EDIT0: edit(0, f1=0.89)})
    assert tree(reg) == [
        Problem(
            PRODUCTION,
            "$.version",
            f"{LINK0} cannot hold 'production': f1 >= 0.9: f1 is 0.89, needs >= 0.9",
        )
    ]


def test_a_holder_whose_edit_does_not_parse_is_a_problem_not_a_stopped_check(reg):
    committed_on_main(reg.root, {PRODUCTION: alias("production", 0)})
    committed_on_main(reg.root, {EDIT0: "kind: edit\nproject: training\n"})
    required = "'name' is a required property"
    assert tree(reg) == [
        Problem(EDIT0, "$", required),
        Problem(
            PRODUCTION,
            "$.version",
            f"{LINK0} cannot be judged for 'production' while a document it needs does not "
            f"parse ({EDIT0}: $: {required})",
        ),
    ]


def test_check_stage_applies_the_edits_of_the_commit_it_reads(reg):
    committed_on_main(reg.root, {EDIT0: edit(0, f1=0.5)})
    ctx = Context.open(reg.root)
    head = ctx.store.head()
    config = registries.read_config(ctx.store, head, "models")
    link = registries.read_link(ctx.store, head, "models", "clf", 0)
    source = ctx.store.read_version(head, "training", "clf", 0)
    assert config is not None and link is not None and source is not None
    assert source.metadata["f1"] == 0.95  # the logged value
    verdict = check_stage(ctx, head, config, link, source, "production")
    assert verdict.problems() == ["f1 >= 0.9: f1 is 0.5, needs >= 0.9"]
    before = ctx.store.snapshot("HEAD~1")
    assert check_stage(ctx, before, config, link, source, "production").problems() == []


# -- a promotion's pull request (promote.py) ---------------------------------------------


def test_the_pull_request_shows_the_metadata_readers_see(registry):
    ctx = flow.governed(registry.root)
    first = flow.log(registry.root, "first", f1=0.85, loss=0.3, note="a")
    second = flow.log(registry.root, "second", f1=0.8, loss=0.3, note="a")
    promotion.link_version(ctx, first, "model-registry/models", ["staging"])
    promotion.link_version(ctx, second, "model-registry/models")
    committed_on_main(
        registry.root,
        {
            EDIT0: edit(0, f1=0.95, removed=("note",)),
            "projects/training/clf/edits/v1/0.yaml": edit(0, version=1, f1=0.97, loss=0.2),
        },
    )
    done = promotion.promote(Context.open(registry.root), "model-registry/models/clf:v1", "staging")
    body = pull_request_body(done, Context.open(registry.root)).splitlines()
    start = body.index("**`staging` now (v0) → with this pull request**")
    assert body[start + 6 :] == [
        "| Digest | " + " → ".join(f"`{v.digest}`" for v in (first, second)) + " |",
        "| metadata.f1 | 0.95 → 0.97 |",
        "| metadata.loss | 0.3 → 0.2 |",
        "| metadata.note | *(none)* → `a` |",
        "",
        "Checked by `registry-tool check` in CI; merging this moves the stage.",
    ]


# -- download options (download.py) ------------------------------------------------------


STORED = ("a/x.txt", "a/y.txt", "b/x.txt", "c/d/e.txt")


def files_under(root: Path | str) -> dict[str, str]:
    """Every file below ``root`` and its text, by path relative to it."""
    base = Path(root)
    return {p.relative_to(base).as_posix(): p.read_text() for p in base.rglob("*") if p.is_file()}


def logged(root: Path, refs: Path | None = None) -> tuple[Context, VersionRecord]:
    """p/data:v0: stored a/x.txt, a/y.txt, b/x.txt and c/d/e.txt, and the files of ``refs`` as
    references under refs/."""
    for path in STORED:
        write(Path("src") / path, path)
    art = wandb.Artifact("data", type="dataset")
    art.add_dir("src")
    if refs is not None:
        art.add_reference(refs.as_uri(), name="refs")
    with wandb.init(project="p") as run:
        run.log_artifact(art)
    ctx = Context.open(root)
    record = ctx.store.read_version(ctx.store.head(), "p", "data", 0)
    assert record is not None
    return ctx, record


def test_only_and_a_path_prefix_both_limit_a_download(registry):
    ctx, record = logged(registry.root)
    root = download_version(ctx, record, "all")
    assert files_under(root) == {p: p for p in STORED}  # c/d made with its parent
    assert download_version(ctx, record, "some", only={"a/y.txt", "b/x.txt"}) == "some"
    assert files_under("some") == {"a/y.txt": "a/y.txt", "b/x.txt": "b/x.txt"}
    download_version(ctx, record, "both", path_prefix="a/", only=["a/x.txt", "b/x.txt"])
    assert files_under("both") == {"a/x.txt": "a/x.txt"}
    download_version(ctx, record, "none", only=())
    assert files_under("none") == {}


def test_a_gone_reference_is_skipped_only_when_allowed(registry, tmp_path):
    write(tmp_path / "refs/here.txt", "here")
    write(tmp_path / "refs/gone.txt", "gone")
    ctx, record = logged(registry.root, tmp_path / "refs")
    (tmp_path / "refs/gone.txt").unlink()
    with pytest.raises(ReferenceGoneError) as caught:
        download_version(ctx, record, "strict", label="the data")
    gone = (tmp_path / "refs/gone.txt").as_uri()
    assert str(caught.value) == (
        f"the data: file 'refs/gone.txt': refs/gone.txt: the referenced file {gone} is gone"
    )
    root = download_version(ctx, record, "lenient", allow_missing_references=True)
    stored = {p: p for p in STORED}
    assert files_under(root) == {**stored, "refs/here.txt": "here"}
    # What landed is known to be whole: a second download reads none of it again.
    write(tmp_path / "refs/here.txt", "changed")
    again = download_version(ctx, record, "lenient", allow_missing_references=True)
    assert files_under(again) == {**stored, "refs/here.txt": "here"}
    with pytest.raises(VerificationError) as changed:
        download_version(ctx, record, "changed", allow_missing_references=True)
    assert not isinstance(changed.value, ReferenceGoneError)
    assert str(changed.value).startswith("p/data:v0: file 'refs/here.txt': refs/here.txt: ")


def test_prune_removes_what_the_version_does_not_hold_and_nothing_outside(tmp_path):
    outside = write(tmp_path / "outside/precious.txt", "precious").parent
    root = tmp_path / "co"
    for path in ("keep.txt", "a/b/kept.txt", "a/b/extra.txt", "old/deep/gone.txt", "x.txt"):
        write(root / path, path)
    (root / "a/empty").mkdir()  # an empty folder no kept path needs
    (root / "needed/inner").mkdir(parents=True)  # empty, but a kept file goes in it
    (root / "link-out").symlink_to(outside)  # a link to a folder: removed, never followed
    (root / "a/b/linked.txt").symlink_to(outside / "precious.txt")
    (root / "keep.txt").unlink()
    (root / "keep.txt").symlink_to(outside / "precious.txt")  # a link where a kept file goes
    keep = {"keep.txt", "a/b/kept.txt", "a/b/linked.txt", "needed/inner/file.txt"}
    removed = prune(root, keep)
    assert sorted(removed) == [
        "a/b/extra.txt",
        "a/b/linked.txt",
        "a/empty/",
        "keep.txt",
        "link-out",
        "old/",
        "old/deep/",
        "old/deep/gone.txt",
        "x.txt",
    ]
    # Folders go deepest first, after every file.
    assert removed.index("old/deep/") < removed.index("old/") and removed[-3:] == sorted(
        removed[-3:], key=lambda p: -p.count("/")
    )
    assert all(not p.endswith("/") for p in removed[:-3])
    assert files_under(root) == {"a/b/kept.txt": "a/b/kept.txt"}
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "a",
        "a/b",
        "a/b/kept.txt",
        "needed",
        "needed/inner",
    ]
    assert files_under(outside) == {"precious.txt": "precious"}
    assert prune(root, keep) == []


def test_prune_keeps_every_folder_on_the_way_to_a_kept_path_though_empty(tmp_path):
    root = tmp_path / "co"
    (root / "a/b").mkdir(parents=True)  # a/b/c/ is not there yet: a/b stays for it
    (root / "x").mkdir()  # x/y/ is not there yet: x stays for it
    (root / "gone/deeper").mkdir(parents=True)
    keep = {"a/b/c/d.txt", "x/y/z.txt"}
    assert prune(root, keep) == ["gone/deeper/", "gone/"]
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == ["a", "a/b", "x"]


def test_prune_of_what_is_not_a_folder_removes_nothing(tmp_path):
    write(tmp_path / "real/file.txt", "file")
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    assert prune(tmp_path / "linked", set()) == []
    assert prune(tmp_path / "real/file.txt", set()) == []
    assert prune(tmp_path / "missing", set()) == []
    assert files_under(tmp_path / "real") == {"file.txt": "file"}


def deep(base: Path, length: int, file: str | None = None) -> Path:
    """Folders of 200-character names below ``base`` until the path is at least
    ``length`` characters long (made relative to an open folder, as the kernel refuses
    a path of 4096 bytes or more), with ``file`` in the last; the last folder's path."""
    base.mkdir(parents=True, exist_ok=True)
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    here = base
    try:
        while len(str(here)) < length:
            name = "d" * 200
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd, here = inner, here / name
        if file is not None:
            os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))
    finally:
        os.close(fd)
    return here


def test_prune_names_the_folder_it_cannot_read(tmp_path):
    root = tmp_path / "co"
    unreadable = deep(root, 4096)  # its path is too long to open
    with pytest.raises(ArtifactError) as caught:
        prune(root, set())
    assert str(caught.value) == (f"cannot check out into {root}: {unreadable}: File name too long")


def test_prune_names_the_file_it_cannot_remove(tmp_path):
    root = tmp_path / "co"
    folder = deep(root, 4096 - 210, file="f" * 200)  # the folder opens, its file's path is too long
    assert len(str(folder)) < 4096 <= len(str(folder / ("f" * 200)))
    with pytest.raises(ArtifactError) as caught:
        prune(root, set())
    assert str(caught.value) == f"cannot remove {folder / ('f' * 200)}: File name too long"


def test_verify_files_raises_the_report_it_made(registry):
    ctx, record = logged(registry.root)
    root = download_version(ctx, record, "got")
    (Path(root) / "a/y.txt").unlink()
    with pytest.raises(VerificationError) as caught:
        verify_files(record, root)
    assert str(caught.value) == "got: 1 missing: a/y.txt"


def test_a_blob_of_several_kernel_copies_lands_whole(tmp_path, monkeypatch):
    store = init_registry(tmp_path / "reg", storage=f"memory://big-{tmp_path.name}")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(store.root))
    data = os.urandom((5 << 20) // 2)  # two and a half sendfile chunks
    write("big/blob.bin", data)
    write("big/one.bin", b"1")  # a blob of one byte: one short copy
    ops.log_path("big", "p/big", "dataset")
    ctx = Context.open(store.root)
    record = ctx.store.read_version(ctx.store.head(), "p", "big", 0)
    assert record is not None
    root = Path(download_version(ctx, record, "got"))  # from the store through the cache
    assert (root / "blob.bin").read_bytes() == data and (root / "one.bin").read_bytes() == b"1"


def test_holders_of_the_collections_asked_for_are_judged_past_any_other_registry(reg):
    other = "registries/aaa/registry.yaml"  # committed by hand: no reader has seen it
    committed_on_main(reg.root, {other: config_with(reg.root, name="aaa")})
    blob = git(reg.root, "rev-parse", f"HEAD:{other}")
    base.loose(reg.root, blob).unlink()  # sorted first, and unreadable: passed over
    committed_on_main(reg.root, {PRODUCTION: alias("production", 0), EDIT0: edit(0, f1=0.5)})
    weak = Problem(
        PRODUCTION,
        "$.version",
        f"{LINK0} cannot hold 'production': f1 >= 0.9: f1 is 0.5, needs >= 0.9",
    )
    ctx = Context.open(reg.root)
    assert holder_problems(ctx, ctx.store.head(), collections={("models", "clf")}) == [weak]
    assert holder_problems(ctx, ctx.store.head(), collections={("models", "other")}) == []
