"""Edits of a logged version, as W&B allows them (description, metadata, tags, ttl, then
``save()``), on real registry repos: each edit is a new file that never changes, readers
see the logged values with the edits applied in order, ``gc`` soft-deletes a version
whose ttl ran out unless a name holds it, ``check`` holds edit files immutable and to a
version that exists, and an edit of a key a gate reads never travels with a promotion.
"""

from __future__ import annotations

import json
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

import registry_tool as wandb
from registry_tool import _verbs as ops
from registry_tool._engine.context import Context
from registry_tool._gc import collect_garbage
from registry_tool._model import layout
from registry_tool._site import build as site_build
from registry_tool.errors import UsageError
from tests.helpers import cli_out, git, write

EDITS = "projects/training/clf/edits/v0"
VERSION = "projects/training/clf/versions/v0.yaml"


def log(content: str = "weights", *, aliases: tuple[str, ...] = (), **metadata: object) -> str:
    folder = Path(f"payload-{time.monotonic_ns()}")
    write(folder / "model.pth", content)
    art = ops.log_path(folder, "training/clf", "model", aliases=list(aliases), metadata=metadata)
    return art.version


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def edit_files(root: Path, folder: str = EDITS) -> list[str]:
    where = root / folder
    return sorted(p.name for p in where.iterdir()) if where.is_dir() else []


# -- save() and the merged view --------------------------------------------------------


def test_edits_apply_in_order_and_the_version_file_never_changes(registry):
    log(f1=0.5, old=1, note="kept")
    logged = (registry.root / VERSION).read_bytes()
    art = wandb.Api().artifact("training/clf:v0")
    art.metadata["f1"] = 0.8
    art.description = "first look"
    art.save()
    art = wandb.Api().artifact("training/clf:v0")
    art.metadata["f1"] = 0.9  # the same key again: the later edit wins
    del art.metadata["old"]  # a removed key
    art.tags = ["best", "night run"]
    art.ttl = timedelta(days=30)
    art.save()

    assert (registry.root / VERSION).read_bytes() == logged
    assert edit_files(registry.root) == ["0.yaml", "1.yaml"]
    second = yaml.safe_load((registry.root / EDITS / "1.yaml").read_text())
    assert second["metadata"] == {"f1": 0.9} and second["removed"] == ["old"]
    assert second["by"] == git(registry.root, "log", "-1", "--format=%an <%ae>")
    fresh = wandb.Api().artifact("training/clf:v0")
    assert fresh.metadata == {"f1": 0.9, "note": "kept"}
    assert fresh.description == "first look"
    assert fresh.tags == ["best", "night run"] and fresh.ttl == timedelta(days=30)
    # The audit trail: one commit per edit, naming what changed.
    messages = git(registry.root, "log", "--format=%s", "--", f"{EDITS}").splitlines()
    assert messages == [
        "edit training/clf:v0 (metadata f1, -old, tags, ttl)",
        "edit training/clf:v0 (metadata f1, description)",
    ]


def test_a_save_that_changes_nothing_writes_nothing(registry):
    log(f1=0.5)
    before = commits(registry.root)
    art = wandb.Api().artifact("training/clf:v0")
    art.save()
    art.metadata["f1"] = 0.5  # set to the value it has
    art.ttl = None
    art.save()
    assert commits(registry.root) == before and edit_files(registry.root) == []


def test_tags_follow_wandbs_grammar_and_ttl_must_be_a_timedelta(registry):
    log()
    art = wandb.Api().artifact("training/clf:v0")
    art.tags = ["ok tag", "bad/tag"]
    with pytest.raises(UsageError, match=r"tag 'bad/tag' is not valid"):
        art.save()
    art.tags = []
    art.ttl = 30  # type: ignore[assignment]
    with pytest.raises(UsageError, match=r"ttl must be a datetime\.timedelta"):
        art.save()
    assert edit_files(registry.root) == []


# -- logging the same files again ------------------------------------------------------


def test_relogging_the_same_files_with_new_metadata_warns_and_records_an_edit(registry):
    log(f1=0.5, epochs=3)
    before = commits(registry.root)
    with pytest.warns(UserWarning, match=r"training/clf:v0 already holds these exact files"):
        assert log(f1=0.7) == "v0"
    assert commits(registry.root) == before + 1  # the edit and the log: one commit
    assert edit_files(registry.root) == ["0.yaml"]
    doc = yaml.safe_load((registry.root / EDITS / "0.yaml").read_text())
    assert doc["metadata"] == {"f1": 0.7} and "removed" not in doc
    # Keys the re-log did not give are kept; the same metadata again is no edit.
    assert wandb.Api().artifact("training/clf:v0").metadata == {"f1": 0.7, "epochs": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log(f1=0.7, aliases=("best",))
    assert edit_files(registry.root) == ["0.yaml"]


# -- gc and ttl ------------------------------------------------------------------------


def _with_ttl(days: float, aliases: tuple[str, ...] = ()) -> float:
    """Log v0 with a ttl of ``days``; its creation time in seconds."""
    log(aliases=aliases)
    art = wandb.Api().artifact("training/clf:v0")
    art.ttl = timedelta(days=days)
    art.save()
    created = datetime.fromisoformat(art.created_at.replace("Z", "+00:00"))
    return created.astimezone(UTC).timestamp()


def test_gc_deletes_a_version_whose_ttl_just_ran_out_and_not_one_before(registry):
    created = _with_ttl(1)
    log("weights v1")  # latest moves on; v0 is held by nothing
    ctx = Context.open(registry.root)
    report = collect_garbage(ctx, grace=86400, now=created + 86400 - 1, fetch=False)
    assert report.expired == []
    assert "deleted" not in yaml.safe_load((registry.root / VERSION).read_text())
    report = collect_garbage(ctx, grace=86400, now=created + 86400, fetch=False)
    assert report.expired == ["training/clf:v0"]
    mark = yaml.safe_load((registry.root / VERSION).read_text())["deleted"]
    assert mark["reason"] == "ttl expired"


def test_an_alias_keeps_an_expired_version_and_gc_says_why(registry):
    created = _with_ttl(1, aliases=("best",))
    ctx = Context.open(registry.root)
    report = collect_garbage(ctx, grace=86400, now=created + 2 * 86400, fetch=False)
    assert report.expired == []
    assert len(report.ttl_kept) == 1 and "alias 'best' names it" in report.ttl_kept[0]
    assert "deleted" not in yaml.safe_load((registry.root / VERSION).read_text())


def test_a_dry_run_lists_an_expired_version_and_deletes_nothing(registry):
    created = _with_ttl(1)
    before = commits(registry.root)
    ctx = Context.open(registry.root)
    report = collect_garbage(ctx, grace=86400, now=created + 2 * 86400, fetch=False, dry_run=True)
    assert report.expired == ["training/clf:v0"] and commits(registry.root) == before


# -- check -----------------------------------------------------------------------------


def on_branch(root: Path, files: dict[str, str | None], branch: str = "change") -> None:
    git(root, "checkout", "--quiet", "-B", branch, "main")
    for path, text in files.items():
        if text is None:
            (root / path).unlink()
        else:
            write(root / path, text)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", f"on {branch}")
    git(root, "checkout", "--quiet", "main")


def check(code: int = 0, head: str = "change") -> list[dict[str, str]]:
    out = cli_out("check", "--base", "main", "--head", head, "--json", code=code)
    problems: list[dict[str, str]] = json.loads(out)["problems"]
    return problems


@pytest.fixture
def edited(registry, monkeypatch):
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    log(f1=0.85)
    art = wandb.Api().artifact("training/clf:v0")
    art.metadata["note"] = "checked"
    art.save()
    return registry


def test_an_edit_file_changed_or_removed_by_hand_is_refused(edited):
    path = f"{EDITS}/0.yaml"
    doc = yaml.safe_load((edited.root / path).read_text())
    doc["metadata"] = {"note": "rewritten"}
    on_branch(edited.root, {path: yaml.safe_dump(doc)})
    assert check(code=1) == [
        {"path": path, "field": "$", "message": "edits are immutable: this file was modified"}
    ]
    on_branch(edited.root, {path: None}, branch="gone")
    assert check(code=1, head="gone")[0]["message"] == "edits are immutable: this file was deleted"


def test_an_edit_of_a_missing_version_or_out_of_place_is_refused(edited):
    doc = yaml.safe_load((edited.root / EDITS / "0.yaml").read_text())
    doc["version"] = 7
    missing = "projects/training/clf/edits/v7/0.yaml"
    on_branch(edited.root, {missing: yaml.safe_dump(doc)})
    assert check(code=1) == [
        {
            "path": missing,
            "field": "$.version",
            "message": "edits training/clf:v7, which does not exist",
        }
    ]
    doc["version"], doc["seq"] = 0, 0
    misplaced = f"{EDITS}/1.yaml"
    on_branch(edited.root, {misplaced: yaml.safe_dump(doc)}, branch="misplaced")
    problems = check(code=1, head="misplaced")
    assert [(p["path"], p["field"]) for p in problems] == [(misplaced, "$")]
    doc["seq"], doc["tags"] = 1, ["no/slash"]
    on_branch(edited.root, {misplaced: yaml.safe_dump(doc)}, branch="bad-tag")
    assert [p["field"] for p in check(code=1, head="bad-tag")] == ["$.tags[0]"]
    # Valid and in place: accepted, and the working tree's check agrees.
    del doc["tags"]
    on_branch(edited.root, {misplaced: yaml.safe_dump(doc)}, branch="fine")
    assert check(head="fine") == []
    assert json.loads(cli_out("check", "--json"))["ok"] is True


CONFIG = "registries/models/registry.yaml"
PRODUCTION = "registries/models/clf/aliases/production.yaml"
PRODUCTION_DOC = "kind: alias\nalias: production\nversion: 0\nset_at: '2026-01-01T00:00:00Z'\n"


def _edit_doc(seq: int, **metadata: object) -> str:
    return yaml.safe_dump(
        {
            "kind": "edit",
            "project": "training",
            "name": "clf",
            "version": 0,
            "seq": seq,
            "at": "2026-01-02T00:00:00Z",
            "by": "Ada <ada@example.test>",
            "metadata": metadata,
        }
    )


def test_an_edit_of_a_gated_key_travelling_with_a_promotion_is_refused(edited):
    root = edited.root
    cli_out(
        "registry", "create", "models", "--stages", "staging,production",
        "--protected", "production", "--gate", "production: f1 >= 0.9",
    )  # fmt: skip
    cli_out("link", "training/clf:v0", "model-registry/models")
    raised = f"{EDITS}/1.yaml"
    on_branch(root, {raised: _edit_doc(1, f1=0.95), PRODUCTION: PRODUCTION_DOC})
    problems = check(code=1)
    assert [(p["path"], p["field"]) for p in problems] == [(PRODUCTION, "$.version")]
    assert f"{raised} edits 'f1' of training/clf:v0" in problems[0]["message"]
    assert "Merge the edit alone first" in problems[0]["message"]

    # An edit of a key no gate reads may ride along (and the gate, unmet, still refuses).
    on_branch(root, {raised: _edit_doc(1, owner="ada"), PRODUCTION: PRODUCTION_DOC}, "other")
    messages = [p["message"] for p in check(code=1, head="other")]
    assert len(messages) == 1 and "Merge the edit alone" not in messages[0]
    assert "f1 >= 0.9" in messages[0]

    # Split: the edit alone passes, is merged; the promotion is then judged on it.
    on_branch(root, {raised: _edit_doc(1, f1=0.95)}, branch="edit")
    assert check(head="edit") == []
    git(root, "merge", "--quiet", "edit")
    on_branch(root, {PRODUCTION: PRODUCTION_DOC}, branch="promote")
    assert check(head="promote") == []
    git(root, "merge", "--quiet", "promote")

    # The holder is judged as readers see it: an edit that lowers f1 turns check red.
    assert json.loads(cli_out("check", "--json"))["ok"] is True
    art = wandb.Api().artifact("training/clf:v0")
    art.metadata["f1"] = 0.5
    art.save()
    problems = json.loads(cli_out("check", "--json", code=1))["problems"]
    assert [(p["path"], p["field"]) for p in problems] == [(PRODUCTION, "$.version")]
    assert "f1 >= 0.9" in problems[0]["message"]


# -- the site --------------------------------------------------------------------------


def test_the_version_page_marks_edited_keys_and_shows_tags(registry, tmp_path):
    log(f1=0.5, epochs=3, old=1)
    art = wandb.Api().artifact("training/clf:v0")
    art.metadata["f1"] = 0.9
    del art.metadata["old"]
    art.metadata["note"] = "<script>x()</script>"
    art.tags = ["best"]
    art.save()
    site_build.build(Context.open(registry.root), tmp_path / "site")
    page = (tmp_path / "site/artifacts/training/clf/v0.html").read_text()
    assert '<tr class="rt-edited"><th>f1 <span class="rt-edited-mark"' in page
    assert "<tr><th>epochs</th>" in page  # not edited: not marked
    assert '<th>old <span class="rt-edited-mark" title="edited after logging">removed' in page
    assert '<span class="rt-tag">best</span>' in page
    assert "<script>x()" not in page and "&lt;script&gt;x()" in page  # an edit is escaped


def test_layout_maps_edit_files_both_ways():
    path = layout.edit_file("p", "m", 12, 3)
    assert path == "projects/p/m/edits/v12/3.yaml"
    key = layout.parse(path)
    assert key is not None and (key.kind, key.version, key.seq) == ("edit", 12, 3)
    assert layout.parse("projects/p/m/edits/v12/03.yaml").seq is None  # still an edit file
    assert layout.kind_for_path("projects/p/m/edits/v1/0.yaml") == "edit"


def test_promote_judges_the_gates_on_the_edited_metadata(registry):
    log(f1=0.85)
    cli_out(
        "registry", "create", "models", "--stages", "staging",
        "--gate", "staging: f1 >= 0.9",
    )  # fmt: skip
    cli_out("link", "training/clf:v0", "model-registry/models")
    refused = cli_out("promote", "model-registry/models/clf:v0", "--to", "staging", code=1)
    assert "f1 >= 0.9" in refused
    art = wandb.Api().artifact("training/clf:v0")
    art.metadata["f1"] = 0.9  # just at the threshold, as an edit
    art.save()
    cli_out("promote", "model-registry/models/clf:v0", "--to", "staging")
    assert "staging" in wandb.Api().artifact("model-registry/models/clf:v0").aliases


def test_show_prints_the_edited_view_with_tags_and_ttl(registry):
    log(f1=0.85)
    art = wandb.Api().artifact("training/clf:v0")
    art.metadata["f1"] = 0.93
    art.description = "retrained"
    art.tags = ["baseline"]
    art.ttl = timedelta(days=1)
    art.save()
    shown = json.loads(cli_out("show", "training/clf:v0", "--json"))
    assert shown["metadata"]["f1"] == 0.93 and shown["description"] == "retrained"
    assert (shown["tags"], shown["ttl"]) == (["baseline"], 86400)
    text = cli_out("show", "training/clf:v0")
    assert "f1: 0.93" in text and "tags: baseline" in text and "ttl: 86400 s" in text
