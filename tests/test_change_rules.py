"""The rules of a change that govern model registries (``_checks/promotions.py``) and
the ways ``run_checks`` is asked to judge (``_checks/run.py``), each at its boundary:
the case that just passes next to the one that just fails, with the full problem
(path, field, message) asserted. Everything runs in this process on real git repos
(the template registry of ``tests/test_check_rules.py``), so that a rule that goes
quiet, speaks of another file or takes another branch is noticed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry_tool import _checks as checks
from registry_tool import _promotion as promotion
from registry_tool._checks import rules
from registry_tool._checks.report import Problem
from registry_tool._engine.context import Context
from registry_tool._store import RegistryStore
from registry_tool.errors import DocumentError, NotFoundError, UsageError
from tests import test_check_rules
from tests.helpers import clone_bare, git, write
from tests.test_check_rules import (
    CLF,
    CONFIG,
    LINKS,
    PRODUCTION,
    STAGE,
    V0,
    V1,
    alias,
    as_version,
    committed_on_main,
    config_with,
    diff,
    doc,
    dump,
    link_doc,
    log,
    on_branch,
    promotion_link,
    read,
)

# The template registry and its per-test copy, as fixtures of this module too.
template = test_check_rules.template
reg = test_check_rules.reg

STAGING = f"{STAGE}/staging.yaml"
UNLINK0 = "registries/models/clf/unlinked/v0.yaml"
RAISED = {"production": {"conditions": ["f1 >= 0.96"]}}
STRAY = Problem("projects/training/notes.txt", "$", rules.NOT_OURS_IN_TREE)
BROKEN_ROOT = "Additional properties are not allowed ('colour' was unexpected)"


def weak_production(store: RegistryStore) -> list[Problem]:
    """v1 (f1 0.5) linked and holding production on main, as a hand edit left it; the
    problems its holder has (its f1, and it never held staging)."""
    log(store.root, "weak", f1=0.5)
    ctx = Context.open(store.root)
    weak = ctx.store.read_version(ctx.store.head(), "training", "clf", 1)
    promotion.link_version(ctx, weak, "model-registry/models")
    committed_on_main(store.root, {PRODUCTION: alias("production", 1)})
    cannot = "model-registry/models/clf:v1 cannot hold 'production': "
    return [
        Problem(PRODUCTION, "$.version", f"{cannot}f1 >= 0.9: f1 is 0.5, needs >= 0.9"),
        Problem(
            PRODUCTION, "$.version", f"{cannot}the version must hold 'staging' before 'production'"
        ),
    ]


# -- run_checks: what it is asked ------------------------------------------------------


def test_a_head_needs_a_base_and_a_base_alone_judges_up_to_head(reg):
    with pytest.raises(UsageError) as caught:
        checks.run_checks(reg, head="main")
    assert str(caught.value) == "--head needs --base"
    write(reg.root / f"{CLF}/aliases/best.yaml", alias("best", 7))
    git(reg.root, "add", "-A")
    git(reg.root, "commit", "--quiet", "-m", "best names nothing")
    report = checks.run_checks(reg, base="HEAD~1")
    assert report.problems == [
        Problem(
            f"{CLF}/aliases/best.yaml", "$.version", "alias 'best' names v7, which does not exist"
        )
    ]
    assert (report.files, report.root) == (1, reg.root)


@pytest.mark.parametrize("given", [{"base": "main"}, {"base": "main", "head": "main"}])
def test_ci_takes_the_change_from_the_event_not_from_base_and_head(reg, given):
    with pytest.raises(UsageError) as caught:
        checks.run_checks(reg, ci=True, **given)
    assert str(caught.value) == (
        "--ci takes the change from the GitHub event: drop --base and --head"
    )


def break_root_config(root: Path) -> None:
    """A registry.yaml the registry cannot be opened with, committed."""
    committed_on_main(root, {"registry.yaml": read(root, "registry.yaml") + "colour: blue\n"})


def bad_link_digest(root: Path) -> Problem:
    """v0's link with a digest only ``--deep`` finds wrong, committed; its problem."""
    path = f"{LINKS}/v0.yaml"
    data = doc(root, path)
    data["source"]["digest"] = "0" * 64
    committed_on_main(root, {path: dump(data)})
    return Problem(
        path, "$.source.digest", "is not the digest of training/clf:v0 recomputed from its manifest"
    )


def test_a_root_config_too_broken_to_open_is_reported_with_the_tree(reg, monkeypatch):
    wrong = bad_link_digest(reg.root)
    break_root_config(reg.root)
    broken = Problem("registry.yaml", "$", BROKEN_ROOT)
    assert checks.run_checks(str(reg.root)).problems == [broken]
    assert checks.run_checks(reg.root, deep=True).problems == [broken, wrong]
    assert checks.run_checks(f"file://{reg.root}").problems == [broken]
    beside_home = Path("~") / ".." / reg.root.relative_to(Path.home().parent)
    assert checks.run_checks(str(beside_home)).problems == [broken]
    # None: the registry REGISTRY_TOOL_DIR names, else the one the working folder is in.
    assert checks.run_checks(None).problems == [broken]
    monkeypatch.delenv("REGISTRY_TOOL_DIR")
    monkeypatch.chdir(reg.root / "projects")
    assert checks.run_checks(None).problems == [broken]


def test_a_remote_with_a_broken_root_config_is_raised_not_judged(reg, tmp_path):
    break_root_config(reg.root)
    bare = clone_bare(reg.root, tmp_path / "remote.git")
    with pytest.raises(DocumentError) as caught:
        checks.run_checks(f"file://{bare}")
    assert caught.value.path == "registry.yaml"


def test_a_whole_tree_judges_each_protected_holder_as_committed(reg):
    weak = weak_production(reg)
    assert checks.run_checks(reg).problems == weak


# -- a stage move that needs a document which does not parse ------------------------------

UNREADABLE = "cannot be judged while a document it needs does not parse ({})"


def test_a_stage_moved_to_a_link_that_does_not_parse_is_reported_not_raised(reg):
    on_branch(reg.root, {f"{LINKS}/v1.yaml": "kind: link\n", STAGING: alias("staging", 1)})
    assert diff(reg) == [
        Problem(
            STAGING,
            "$",
            UNREADABLE.format(f"{LINKS}/v1.yaml: $: 'registry' is a required property"),
        ),
        Problem(f"{LINKS}/v1.yaml", "$", "'registry' is a required property"),
    ]


def test_a_stage_moved_to_a_version_that_does_not_parse_is_reported_not_raised(reg):
    log(reg.root, "second", f1=0.95)
    committed_on_main(
        reg.root, {f"{LINKS}/v1.yaml": link_doc(1, source=1, root=reg.root), V1: "kind: version\n"}
    )
    on_branch(reg.root, {STAGING: alias("staging", 1)})
    assert diff(reg) == [
        Problem(STAGING, "$", UNREADABLE.format(f"{V1}: $: 'project' is a required property"))
    ]


def test_a_stage_moved_in_a_registry_whose_config_does_not_parse_is_reported(reg):
    on_branch(
        reg.root,
        {CONFIG: read(reg.root, CONFIG) + "colour: blue\n", STAGING: alias("staging", 0)},
    )
    assert diff(reg) == [
        Problem(STAGING, "$", UNREADABLE.format(f"{CONFIG}: $: {BROKEN_ROOT}")),
        Problem(CONFIG, "$", BROKEN_ROOT),
    ]


# -- a protected stage moved on main: each target problem comes with the PR problem -------

OUTSIDE = Problem(
    PRODUCTION, "$.alias", "protected alias 'production' was moved outside a pull request"
)


def on_main(store: RegistryStore, edits: dict[str, str | None]) -> list[Problem]:
    """``edits`` committed straight on main: the problems of that one commit."""
    on_branch(store.root, edits)
    git(store.root, "merge", "--quiet", "change")
    return checks.run_checks(store, base="HEAD~1", head="main").problems


def test_a_protected_move_on_main_to_no_link_reports_both(reg):
    assert on_main(reg, {PRODUCTION: alias("production", 3)}) == [
        OUTSIDE,
        Problem(PRODUCTION, "$.version", "alias 'production' names v3, which does not exist"),
    ]


def test_a_protected_move_on_main_to_a_link_of_no_version_reports_both(reg):
    committed_on_main(reg.root, {f"{LINKS}/v1.yaml": link_doc(1, source=5, root=reg.root)})
    assert on_main(reg, {PRODUCTION: alias("production", 1)}) == [
        OUTSIDE,
        Problem(
            PRODUCTION,
            "$.version",
            "model-registry/models/clf:v1 links training/clf:v5, which does not exist",
        ),
    ]


def test_a_protected_move_on_main_to_a_deleted_version_reports_both(reg):
    mark = {"at": "2026-01-02T03:04:05Z", "by": "Ada <ada@example.test>", "reason": "leak"}
    log(reg.root, "second", f1=0.95)
    committed_on_main(
        reg.root,
        {
            f"{LINKS}/v1.yaml": link_doc(1, source=1, digest=doc(reg.root, V1)["digest"]),
            V1: dump({**doc(reg.root, V1), "deleted": mark}),
        },
    )
    assert on_main(reg, {PRODUCTION: alias("production", 1)}) == [
        OUTSIDE,
        Problem(
            PRODUCTION,
            "$.version",
            "model-registry/models/clf:v1 links training/clf:v1, which is deleted",
        ),
    ]


def test_a_protected_move_on_main_in_a_registry_that_went_reports_both(reg):
    assert on_main(reg, {CONFIG: None, PRODUCTION: alias("production", 0)}) == [
        OUTSIDE,
        Problem(PRODUCTION, "$", "there is no model registry 'models'"),
        Problem(
            CONFIG,
            "$.stages",
            "stages and protected and types and gates of model-registry/models changed in the "
            f"same change that moves the protected alias 'production' ({PRODUCTION}): a gate "
            "or protection change needs its own review. Split the pull request: first merge "
            f"the change to {CONFIG} alone, then open the promotion on the updated main "
            "(registry-tool promote ... --pr), checked against those gates",
        ),
    ]


def test_a_protected_move_on_main_to_a_link_that_does_not_parse_reports_both(reg):
    committed_on_main(reg.root, {f"{LINKS}/v1.yaml": "kind: link\n"})
    assert on_main(reg, {PRODUCTION: alias("production", 1)}) == [
        OUTSIDE,
        Problem(
            PRODUCTION,
            "$",
            UNREADABLE.format(f"{LINKS}/v1.yaml: $: 'registry' is a required property"),
        ),
    ]


def test_a_protected_move_to_an_unlinked_link_is_judged_on_past_the_unlink(reg):
    promotion.unlink(Context.open(reg.root), promotion_link(reg.root), reason="bad")
    committed_on_main(reg.root, {CONFIG: config_with(reg.root, gates=RAISED)})
    on_branch(reg.root, {PRODUCTION: alias("production", 0)})
    assert diff(reg) == [
        Problem(PRODUCTION, "$.version", "model-registry/models/clf:v0 is unlinked"),
        Problem(
            PRODUCTION,
            "$.version",
            "model-registry/models/clf:v0 cannot take 'production': f1 >= 0.96: f1 is 0.95, "
            "needs >= 0.96",
        ),
    ]


# -- nothing takes a protected stage down ------------------------------------------------

MARK = {"at": "2026-01-02T03:04:05Z", "by": "Ada <ada@example.test>", "reason": "leak"}
TAKEN_DOWN = (
    "{} while it holds the protected stage 'production' of model-registry/models/clf (v0): "
    "move the stage off first, through a reviewed promotion (registry-tool promote ... --pr)"
)
UNLINK_V0 = dump(
    {
        "kind": "unlink",
        "registry": "models",
        "collection": "clf",
        "version": 0,
        "unlinked_at": "2026-01-02T03:04:05Z",
    }
)


@pytest.fixture
def held(reg):
    """The template with production (protected) and staging both on v0, and v1 (f1
    0.95) logged and linked as v1 holding nothing."""
    log(reg.root, "second", f1=0.95)
    committed_on_main(
        reg.root,
        {
            PRODUCTION: alias("production", 0),
            f"{LINKS}/v1.yaml": link_doc(1, source=1, digest=doc(reg.root, V1)["digest"]),
        },
    )
    return reg


def test_soft_deleting_the_source_production_holds_is_refused(held):
    on_branch(held.root, {V0: dump({**doc(held.root, V0), "deleted": MARK})})
    assert diff(held) == [Problem(V0, "$", TAKEN_DOWN.format("training/clf:v0 is soft-deleted"))]


def test_soft_deleting_a_version_no_protected_stage_holds_passes(held):
    on_branch(held.root, {V1: dump({**doc(held.root, V1), "deleted": MARK})})
    assert diff(held) == []


def test_unlinking_the_link_production_holds_is_refused(held):
    on_branch(held.root, {UNLINK0: UNLINK_V0})
    assert diff(held) == [
        Problem(UNLINK0, "$", TAKEN_DOWN.format("model-registry/models/clf:v0 is unlinked"))
    ]
    # The link v1 holds nothing: its unlink mark passes.
    on_branch(
        held.root,
        {"registries/models/clf/unlinked/v1.yaml": UNLINK_V0.replace("version: 0", "version: 1")},
    )
    assert diff(held) == []


def test_deleting_the_link_file_production_holds_is_refused(held):
    on_branch(held.root, {f"{LINKS}/v0.yaml": None})
    found = diff(held)
    assert found == [
        Problem(f"{LINKS}/v0.yaml", "$", "links are immutable: this file was deleted"),
        Problem(
            f"{LINKS}/v0.yaml", "$", TAKEN_DOWN.format("model-registry/models/clf:v0 is deleted")
        ),
    ], found


def test_each_way_of_taking_production_down_is_reported_in_one_change(held):
    on_branch(
        held.root,
        {V0: dump({**doc(held.root, V0), "deleted": MARK}), UNLINK0: UNLINK_V0},
    )
    assert diff(held) == [
        Problem(UNLINK0, "$", TAKEN_DOWN.format("model-registry/models/clf:v0 is unlinked")),
        Problem(V0, "$", TAKEN_DOWN.format("training/clf:v0 is soft-deleted")),
    ]


# -- a policy change is judged against what it governs -------------------------------------


def test_a_gate_raised_above_productions_holder_is_refused_at_the_boundary(held):
    at = {"production": {"conditions": ["f1 >= 0.95"]}}
    on_branch(held.root, {CONFIG: config_with(held.root, gates=at)})
    assert diff(held) == []
    on_branch(held.root, {CONFIG: config_with(held.root, gates=RAISED)})
    assert diff(held) == [
        Problem(
            PRODUCTION,
            "$.version",
            "model-registry/models/clf:v0 cannot hold 'production': f1 >= 0.96: f1 is 0.95, "
            "needs >= 0.96",
        )
    ]


def test_only_a_changed_model_registry_config_has_its_holders_judged(held):
    committed_on_main(held.root, {CONFIG: config_with(held.root, gates=RAISED)})
    described = dump({**doc(held.root, "registry.yaml"), "description": "ours"})
    on_branch(held.root, {"registry.yaml": described})
    assert diff(held) == []  # the root config governs no stage
    ctx = Context.open(held.root)
    promotion.create_registry(ctx, "aaa", stages=["prod"], protected=["prod"])
    other = "registries/aaa/registry.yaml"
    on_branch(held.root, {other: dump({**doc(held.root, other), "description": "ours"})})
    assert diff(held) == []  # aaa holds nothing; models' holder is not aaa's to judge
    on_branch(held.root, {CONFIG: config_with(held.root, description="ours")})
    assert [p.path for p in diff(held)] == [PRODUCTION]


def test_a_holder_the_change_moves_is_judged_as_the_move_alone(held):
    committed_on_main(held.root, {CONFIG: config_with(held.root, gates=RAISED)})
    on_branch(
        held.root,
        {CONFIG: config_with(held.root, description="ours"), PRODUCTION: alias("production", 1)},
    )
    assert diff(held) == [
        Problem(
            PRODUCTION,
            "$.version",
            "model-registry/models/clf:v1 cannot take 'production': f1 >= 0.96: f1 is 0.95, "
            "needs >= 0.96",
        ),
    ]


# -- the separate-approval rule and storage moves, at their edges ---------------------------


def test_one_protected_alias_moved_in_two_collections_is_named_once(held):
    ctx = Context.open(held.root)
    source = ctx.store.read_version(ctx.store.head(), "training", "clf", 0)
    promotion.link_version(ctx, source, "model-registry/models/other")
    other = "registries/models/other/aliases/production.yaml"
    on_branch(
        held.root,
        {
            CONFIG: config_with(held.root, types=[]),
            PRODUCTION: alias("production", 1),
            other: alias("production", 0),
        },
    )
    assert [p for p in diff(held) if p.path == CONFIG] == [
        Problem(
            CONFIG,
            "$.types",
            "types of model-registry/models changed in the same change that moves the "
            f"protected alias 'production' ({PRODUCTION}, {other}): a gate or protection "
            "change needs its own review. Split the pull request: first merge the change to "
            f"{CONFIG} alone, then open the promotion on the updated main (registry-tool "
            "promote ... --pr), checked against those gates",
        )
    ]


@pytest.mark.parametrize(
    ("fields", "named"),
    [(["previous_storage"], "$.previous_storage"), (["storage", "previous_storage"], "$.storage")],
)
def test_a_storage_change_names_the_first_storage_field_it_changed(reg, fields, named):
    data = doc(reg.root, "registry.yaml")
    for field in fields:
        data[field] = {"url": f"elsewhere-{field}"}
    on_branch(reg.root, {"registry.yaml": dump(data), STAGING: alias("staging", 0) + "# x\n"})
    assert [(p.path, p.field) for p in diff(reg)] == [("registry.yaml", named)]


# -- an added link's type ---------------------------------------------------------------


def test_a_link_of_no_version_or_no_registry_is_no_type_problem(reg):
    on_branch(reg.root, {f"{LINKS}/v1.yaml": link_doc(1, source=5, root=reg.root)})
    assert diff(reg) == [
        Problem(f"{LINKS}/v1.yaml", "$.source", "links training/clf:v5, which does not exist")
    ]
    ghost = "registries/ghost/clf/links/v0.yaml"
    on_branch(reg.root, {ghost: link_doc(0, root=reg.root).replace("models", "ghost")})
    assert [p for p in diff(reg) if p.field == "$.source"] == []


# -- check --ci: the change of each GitHub event ------------------------------------------


def on_event(monkeypatch, tmp_path: Path, name: str, payload: dict) -> None:
    """The GitHub Actions variables of an event ``name`` with ``payload``."""
    path = write(tmp_path / "event.json", json.dumps(payload))
    monkeypatch.setenv("GITHUB_EVENT_NAME", name)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))


def sha(store: RegistryStore, ref: str = "HEAD") -> str:
    return git(store.root, "rev-parse", ref)


def ci(store: RegistryStore, **kwargs) -> list[Problem]:
    return checks.run_checks(store, ci=True, **kwargs).problems


def never_merged(commit: str) -> list[tuple[int, str]]:
    return []


def merged_as_itself(commit: str) -> list[tuple[int, str]]:
    return [(7, commit)]


def test_a_push_asks_the_lookup_how_each_protected_stage_arrived(reg, tmp_path, monkeypatch):
    before = sha(reg)
    committed_on_main(reg.root, {PRODUCTION: alias("production", 0)})
    on_event(monkeypatch, tmp_path, "push", {"before": before, "after": sha(reg)})
    assert ci(reg, pull_lookup=never_merged) == [OUTSIDE]
    assert ci(reg, pull_lookup=merged_as_itself) == []


def test_a_forced_push_is_a_problem_of_its_own(reg, tmp_path, monkeypatch):
    before = sha(reg)
    committed_on_main(reg.root, {f"{CLF}/aliases/best.yaml": alias("best", 0)})
    payload = {"before": before, "after": sha(reg), "forced": True}
    on_event(monkeypatch, tmp_path, "push", payload)
    message = (
        f"{{}} was force-pushed from {before[:12]} to {sha(reg)[:12]}: its history was "
        "rewritten, and with it the audit trail of every stage move (block force pushes on "
        "the branch)"
    )
    assert ci(reg) == [Problem(".", "$", message.format("main"))]
    assert ci(reg, main_branch="trunk") == [Problem(".", "$", message.format("trunk"))]


def test_a_push_judges_the_holders_of_the_collections_it_touched(reg, tmp_path, monkeypatch):
    weak = weak_production(reg)
    before = sha(reg)
    log(reg.root, "third", f1=0.5)  # touches training/clf, no registry collection
    on_event(monkeypatch, tmp_path, "push", {"before": before, "after": sha(reg)})
    assert ci(reg) == []
    committed_on_main(reg.root, {STAGING: alias("staging", 1)})
    on_event(monkeypatch, tmp_path, "push", {"before": before, "after": sha(reg)})
    assert ci(reg) == weak[:1]  # v1 holds staging now


def test_a_push_that_changes_a_policy_reports_each_holder_once(reg, tmp_path, monkeypatch):
    weak = weak_production(reg)
    before = sha(reg)
    committed_on_main(
        reg.root,
        {CONFIG: config_with(reg.root, description="ours"), STAGING: alias("staging", 0)},
    )
    on_event(monkeypatch, tmp_path, "push", {"before": before, "after": sha(reg)})
    assert ci(reg) == weak


def test_a_first_push_judges_the_whole_tree_it_checked_out(reg, tmp_path, monkeypatch):
    weak = weak_production(reg)
    on_event(monkeypatch, tmp_path, "push", {"before": "0" * 40, "after": sha(reg)})
    assert ci(reg) == weak
    older = sha(reg, "HEAD~1")
    on_event(monkeypatch, tmp_path, "push", {"before": "0" * 40, "after": older})
    with pytest.raises(UsageError) as caught:
        ci(reg)
    assert str(caught.value) == f"check --ci: HEAD is not the pushed commit {older[:12]}"


def test_a_pull_request_is_judged_from_its_merge_commit_with_blobs_and_deep(
    reg, tmp_path, monkeypatch
):
    wrong = bad_link_digest(reg.root)
    data = doc(reg.root, V0)
    gone = "sha256:" + "1" * 64
    data["entries"][0]["digest"] = gone
    on_branch(reg.root, {V1: as_version(reg.root, 1, entries=data["entries"])})
    head = sha(reg, "change")
    git(reg.root, "merge", "--quiet", "--no-ff", "-m", "Merge pull request #7", "change")
    on_event(monkeypatch, tmp_path, "pull_request", {"pull_request": {"head": {"sha": head}}})
    altered = Problem(
        V1, "$.digest", "does not match the digest of the entries (the manifest was altered)"
    )
    missing = Problem(V1, "$.entries", f"blob {gone} is not in storage with that digest")
    assert ci(reg) == [altered]
    assert ci(reg, verify_blobs=True) == [altered, missing]
    assert ci(reg, deep=True) == [altered, wrong]


def test_a_merge_group_is_judged_from_its_base(reg, tmp_path, monkeypatch):
    base = sha(reg)
    committed_on_main(reg.root, {f"{CLF}/aliases/best.yaml": alias("best", 7)})
    group = {"merge_group": {"base_sha": base, "head_sha": sha(reg)}}
    on_event(monkeypatch, tmp_path, "merge_group", group)
    report = checks.run_checks(reg, ci=True)
    assert report.problems == [
        Problem(
            f"{CLF}/aliases/best.yaml", "$.version", "alias 'best' names v7, which does not exist"
        )
    ]
    assert (report.files, report.root) == (1, reg.root)


# -- blobs are looked for where the base says --------------------------------------------


def test_verify_blobs_needs_a_base_that_exists(reg):
    with pytest.raises(NotFoundError) as caught:
        checks.run_checks(reg, base="nowhere", verify_blobs=True)
    assert str(caught.value) == f"no commit 'nowhere' in {reg.root}"


def test_verify_blobs_with_a_base_of_no_root_config_looks_in_the_registrys_storage(reg):
    git(reg.root, "checkout", "--quiet", "--orphan", "bare-base")
    git(reg.root, "rm", "--quiet", "-r", "--cached", ".")
    git(reg.root, "commit", "--quiet", "--allow-empty", "-m", "nothing yet")
    git(reg.root, "checkout", "--quiet", "--force", "main")
    found = checks.run_checks(reg, base="bare-base", head="main", verify_blobs=True).problems
    assert not any(p.field == "$.entries" for p in found), found


def test_a_push_that_moves_production_judges_the_move_not_the_holder(reg, tmp_path, monkeypatch):
    weak_production(reg)
    committed_on_main(reg.root, {PRODUCTION: alias("production", 0)})
    before = sha(reg)
    committed_on_main(reg.root, {PRODUCTION: alias("production", 1)})
    on_event(monkeypatch, tmp_path, "push", {"before": before, "after": sha(reg)})
    cannot = "model-registry/models/clf:v1 cannot take 'production': "
    assert ci(reg, pull_lookup=merged_as_itself) == [
        Problem(PRODUCTION, "$.version", f"{cannot}f1 >= 0.9: f1 is 0.5, needs >= 0.9"),
        Problem(
            PRODUCTION, "$.version", f"{cannot}the version must hold 'staging' before 'production'"
        ),
    ]


# -- a whole tree: its commit, its objects, its holders -----------------------------------


def test_a_registry_with_no_commit_yet_is_judged_as_its_working_tree(reg):
    git(reg.root, "checkout", "--quiet", "--orphan", "unborn")
    write(reg.root / "projects/training/notes.txt", "hello")
    assert checks.run_checks(reg).problems == [STRAY]


def test_holders_are_not_judged_over_objects_that_cannot_be_read(reg):
    weak_production(reg)
    write(reg.root / "projects/training/notes.txt", "hello")
    blob = git(reg.root, "rev-parse", f"HEAD:{V1}")
    (reg.root / ".git/objects" / blob[:2] / blob[2:]).unlink()
    assert checks.run_checks(reg).problems == [
        STRAY,
        Problem(
            V1,
            "$",
            f"git object {blob} of the committed file is missing: every reader fails on it "
            "(fetch it again from a clone that has it)",
        ),
    ]


def test_editing_productions_version_without_a_mark_is_an_edit_not_a_take_down(held):
    on_branch(held.root, {V0: read(held.root, V0) + "# edited\n"})
    assert diff(held) == [Problem(V0, "$", "versions are immutable: this file was modified")]


def test_the_protected_branch_is_the_main_branch_named(reg):
    committed_on_main(reg.root, {PRODUCTION: alias("production", 0)})
    git(reg.root, "branch", "trunk", "main")
    committed_on_main(reg.root, {f"{CLF}/aliases/best.yaml": alias("best", 0)})
    # trunk's tip is not main's: by default, a branch on its way to main.
    assert checks.run_checks(reg, base="trunk~1", head="trunk").problems == []
    found = checks.run_checks(reg, base="trunk~1", head="trunk", main_branch="trunk").problems
    assert found == [OUTSIDE]


def test_a_gate_raised_above_two_holders_reports_each(held):
    ctx = Context.open(held.root)
    source = ctx.store.read_version(ctx.store.head(), "training", "clf", 0)
    promotion.link_version(ctx, source, "model-registry/models/other", ["staging"])
    other = "registries/models/other/aliases/production.yaml"
    committed_on_main(held.root, {other: alias("production", 0)})
    on_branch(held.root, {CONFIG: config_with(held.root, gates=RAISED)})
    cannot = "cannot hold 'production': f1 >= 0.96: f1 is 0.95, needs >= 0.96"
    assert diff(held) == [
        Problem(PRODUCTION, "$.version", f"model-registry/models/clf:v0 {cannot}"),
        Problem(other, "$.version", f"model-registry/models/other:v0 {cannot}"),
    ]


def test_verify_blobs_refuses_a_base_whose_root_config_does_not_parse(reg):
    fixed = read(reg.root, "registry.yaml")
    break_root_config(reg.root)
    on_branch(reg.root, {"registry.yaml": fixed})
    assert checks.run_checks(reg, base="main", head="change").problems == []
    with pytest.raises(DocumentError) as caught:
        checks.run_checks(reg, base="main", head="change", verify_blobs=True)
    assert str(caught.value) == f"registry.yaml: $: {BROKEN_ROOT}"
