"""The rules of ``check --ci`` and of the holder and CODEOWNERS checks, each called
directly (in this process) on real git repositories, with the exact value asserted:

- ``read_event``: every event kind, each missing or malformed field, a pull request
  checkout that is not GitHub's merge commit, a first push and a forced push, and a
  shallow checkout refused before anything is read;
- how each path a push to main changed arrived (``arrivals``, ``PushArrivals``): by the
  merge button, a squash or a rebase, asked of a loopback stand-in of GitHub's API with
  a token and of git's commit titles without one; a direct push, titled as a pull
  request or not; the forced-push problem;
- each protected stage's holder judged as it stands (``holder_problems``): every
  verdict, the type list, the gate just at, above and below its threshold and the
  stage order, and which holders a push's check judges;
- the CODEOWNERS coverage report (``owner_problems``): each place GitHub reads the
  file from, in its order, and each required path left without an owner.
"""

from __future__ import annotations

import json
import locale
import os
from pathlib import Path

import pytest
import yaml

from registry_tool._checks import ci, run_checks
from registry_tool._checks.ci import CiChange, PushArrivals
from registry_tool._checks.holders import holder_problems, judge, protected_holders
from registry_tool._checks.owners import MISSING, owner_problems
from registry_tool._checks.report import Problem
from registry_tool._engine.context import Context
from registry_tool._github import merged_pulls_lookup
from registry_tool._model import codeowners, layout
from registry_tool._model.governance import ModelRegistryConfig
from registry_tool._promotion import link_version
from registry_tool._store import RegistryStore, registries
from registry_tool.errors import GitError, UsageError
from tests import test_check_rules
from tests.ghsim import REPO, TOKEN, GitHub
from tests.helpers import commit, git
from tests.test_check_rules import CONFIG, STAGE, V0, alias, dump, log

# The copied template registry of the rule tests (training/clf v0, f1 0.95, linked as
# model-registry/models/clf v0 holding staging; production protected, gated on
# f1 >= 0.9 and on holding staging first), as fixtures of this module.
template = test_check_rules.template
reg = test_check_rules.reg

PRODUCTION = f"{STAGE}/production.yaml"
STAGING = f"{STAGE}/staging.yaml"
SHA = "1" * 40


# -- read_event: the event's change ---------------------------------------------------------


def event(tmp_path: Path, name: str, payload: object) -> dict[str, str]:
    """The job's environment for event ``name`` with ``payload`` (JSON) as its file."""
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload, ensure_ascii=False), "utf-8")  # as GitHub writes it
    return {"GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": str(path)}


def refused(store: RegistryStore, env: dict[str, str]) -> str:
    with pytest.raises(UsageError) as caught:
        ci.read_event(store, env)
    return str(caught.value)


def test_an_event_name_is_required(reg, tmp_path):
    for env in ({}, {"GITHUB_EVENT_NAME": ""}):
        assert refused(reg, env) == (
            "check --ci runs in GitHub Actions: GITHUB_EVENT_NAME is not set"
        )


@pytest.mark.parametrize("name", ["pull_request_target", "workflow_run", "Push"])
def test_only_the_events_that_check_out_what_merges_are_judged(reg, tmp_path, name):
    assert refused(reg, event(tmp_path, name, {})) == (
        f"check --ci judges pull_request, merge_group, push events, not {name!r}: a "
        "pull_request_target or workflow_run job does not check out what merges"
    )


def test_the_payload_path_is_required(reg):
    for env in (
        {"GITHUB_EVENT_NAME": "push"},
        {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": ""},
    ):
        assert refused(reg, env) == (
            "check --ci needs the event payload: GITHUB_EVENT_PATH is not set"
        )


def test_a_payload_that_cannot_be_read_names_its_file(reg, tmp_path):
    missing = tmp_path / "nowhere.json"
    env = {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(missing)}
    assert refused(reg, env) == (
        f"{missing}: cannot read the event payload: [Errno 2] No such file or directory: "
        f"'{missing}'"
    )
    missing.write_text("{not json")
    assert refused(reg, env) == (
        f"{missing}: cannot read the event payload: Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1)"
    )
    missing.write_bytes(b'{"after": "\xff"}')
    assert refused(reg, env).startswith(f"{missing}: cannot read the event payload: 'utf-8'")


def test_the_payload_is_read_as_utf8_whatever_the_locale(reg, tmp_path):
    group = {"merge_group": {"base_sha": "a" * 40, "head_sha": "b" * 40, "ref": "promoção"}}
    env = event(tmp_path, "merge_group", group)
    was = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")  # a runner whose locale is ASCII
    try:
        change = ci.read_event(reg, env)
    finally:
        locale.setlocale(locale.LC_CTYPE, was)
    assert change == CiChange("merge_group", "a" * 40, "b" * 40)


@pytest.mark.parametrize("payload", [[], "push", 1, None])
def test_a_payload_that_is_not_an_object_is_refused(reg, tmp_path, payload):
    env = event(tmp_path, "push", payload)
    assert refused(reg, env) == (
        f"{env['GITHUB_EVENT_PATH']}: the event payload is not a JSON object"
    )


def test_a_merge_group_is_its_base_against_its_head(reg, tmp_path):
    group = {"merge_group": {"base_sha": "a" * 40, "head_sha": "b" * 40}}
    change = ci.read_event(reg, event(tmp_path, "merge_group", group))
    assert change == CiChange("merge_group", "a" * 40, "b" * 40)
    assert (change.before, change.forced) == (None, False)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"merge_group": None},
        {"merge_group": {"head_sha": "b" * 40}},
        {"merge_group": {"base_sha": "a" * 40}},
        {"merge_group": {"base_sha": 1, "head_sha": "b" * 40}},
        {"merge_group": {"base_sha": "a" * 40, "head_sha": None}},
    ],
)
def test_a_merge_group_needs_both_commits(reg, tmp_path, payload):
    assert refused(reg, event(tmp_path, "merge_group", payload)) == (
        "the merge_group event has no base_sha and head_sha"
    )


def test_a_push_is_before_against_after(reg, tmp_path):
    before = git(reg.root, "rev-parse", "HEAD")
    after = commit(reg.root, {"notes.txt": "x"}, "notes")
    for payload in (
        {"before": before, "after": after},
        {"before": before, "after": after, "forced": False},
    ):
        change = ci.read_event(reg, event(tmp_path, "push", payload))
        assert change == CiChange("push", before, after, before=before, forced=False)


@pytest.mark.parametrize("after", [None, 7, ["a"]])
def test_a_push_needs_its_after_commit(reg, tmp_path, after):
    payload = {"before": SHA} if after is None else {"before": SHA, "after": after}
    assert refused(reg, event(tmp_path, "push", payload)) == (
        "the push event has no 'after' commit"
    )


@pytest.mark.parametrize("before", ["0" * 40, None, 0, "absent"])
def test_a_first_push_is_judged_as_a_whole_tree(reg, tmp_path, before):
    payload = {"after": SHA} if before == "absent" else {"before": before, "after": SHA}
    change = ci.read_event(reg, event(tmp_path, "push", payload))
    assert change == CiChange("push", None, SHA)
    assert (change.before, change.forced) == (None, False)


def test_a_push_that_rewrote_history_is_forced_whatever_the_payload_says(reg, tmp_path):
    base = git(reg.root, "rev-parse", "HEAD")
    old = commit(reg.root, {"notes.txt": "old"}, "old")
    git(reg.root, "reset", "--quiet", "--hard", base)
    new = commit(reg.root, {"notes.txt": "new"}, "new")
    for flag in ({}, {"forced": False}, {"forced": True}):
        payload = {"before": old, "after": new, **flag}
        change = ci.read_event(reg, event(tmp_path, "push", payload))
        assert change == CiChange("push", old, new, before=old, forced=True)
    # A fast-forward GitHub calls forced is forced too.
    payload = {"before": base, "after": new, "forced": True}
    assert ci.read_event(reg, event(tmp_path, "push", payload)).forced is True


def test_a_forced_push_whose_old_tip_the_checkout_lacks_is_refused_as_forced(
    reg, tmp_path, monkeypatch
):
    """actions/checkout fetches what the refs reach: after a force push, the old tip is
    not in the job's clone. That says the history was rewritten, and is said so."""
    bare = tmp_path / "github.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(reg.root), str(bare))
    git(reg.root, "remote", "add", "github", str(bare))
    old = commit(reg.root, {"notes.txt": "old"}, "old")
    git(reg.root, "push", "--quiet", "github", "main")
    git(reg.root, "reset", "--quiet", "--hard", "HEAD~1")
    new = commit(reg.root, {"notes.txt": "new"}, "new")
    git(reg.root, "push", "--quiet", "--force", "github", "main")
    job = tmp_path / "job"
    git(tmp_path, "clone", "--quiet", f"file://{bare}", str(job))
    assert git(job, "cat-file", "-t", old, check=False) == ""
    payload = {"before": old, "after": new, "forced": True}
    for key, value in event(tmp_path, "push", payload).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(UsageError) as caught:
        run_checks(job, ci=True)
    assert str(caught.value) == (
        f"the push's before commit {old[:12]} is not in this checkout: the branch was "
        "force-pushed, its history rewritten and with it the audit trail of every stage "
        "move (block force pushes on the branch)"
    )


def test_the_forced_push_problem(reg):
    before, after = "0123456789abcdef" * 2 + "01234567", "fedcba9876543210" * 2 + "76543210"
    assert ci.forced_push(CiChange("push", before, after, before=before), "main") == []
    change = CiChange("push", before, after, before=before, forced=True)
    assert ci.forced_push(change, "trunk") == [
        Problem(
            ".",
            "$",
            "trunk was force-pushed from 0123456789ab to fedcba987654: its history was "
            "rewritten, and with it the audit trail of every stage move (block force pushes "
            "on the branch)",
        )
    ]
    unknown = CiChange("push", None, after, forced=True)
    assert ci.forced_push(unknown, "main")[0].message.startswith(
        "main was force-pushed from  to fedcba987654: "
    )


def pull_request_checkout(root: Path) -> tuple[str, str, str]:
    """GitHub's test merge of a branch into main, checked out detached as
    actions/checkout does: (main's tip, the branch's head, the merge commit)."""
    git(root, "checkout", "--quiet", "-b", "feature")
    head = commit(root, {"notes.txt": "feature"}, "feature")
    git(root, "checkout", "--quiet", "main")
    base = commit(root, {"other.txt": "main moved"}, "main moved")
    git(root, "checkout", "--quiet", "--detach", "main")
    git(root, "merge", "--quiet", "--no-ff", "-m", "Merge feature into main", "feature")
    return base, head, git(root, "rev-parse", "HEAD")


def test_a_pull_request_is_its_merge_commit_against_the_first_parent(reg, tmp_path):
    base, head, merge = pull_request_checkout(reg.root)
    payload = {"pull_request": {"number": 3, "head": {"sha": head}}}
    change = ci.read_event(reg, event(tmp_path, "pull_request", payload))
    assert change == CiChange("pull_request", base, merge)
    assert (change.before, change.forced) == (None, False)


NOT_THE_MERGE = (
    "HEAD is not GitHub's merge commit of this pull request (its second parent must be "
    "the pull request's head {}): keep actions/checkout's default ref, which checks out "
    "the merge commit, so check judges what merges"
)


def test_a_pull_request_checkout_of_its_head_or_base_is_refused(reg, tmp_path):
    base, head, _ = pull_request_checkout(reg.root)
    payload = {"pull_request": {"head": {"sha": head}}}
    for checkout in (head, base):
        git(reg.root, "checkout", "--quiet", "--detach", checkout)
        assert refused(reg, event(tmp_path, "pull_request", payload)) == NOT_THE_MERGE.format(head)


def test_a_merge_commit_of_another_head_is_refused(reg, tmp_path):
    _, head, _ = pull_request_checkout(reg.root)
    payload = {"pull_request": {"head": {"sha": SHA}}}
    assert refused(reg, event(tmp_path, "pull_request", payload)) == NOT_THE_MERGE.format(SHA)
    # Merged the other way round: the head is the first parent, not the second.
    git(reg.root, "checkout", "--quiet", "--detach", head)
    git(reg.root, "merge", "--quiet", "--no-ff", "-m", "reversed", "main")
    payload = {"pull_request": {"head": {"sha": head}}}
    assert refused(reg, event(tmp_path, "pull_request", payload)) == NOT_THE_MERGE.format(head)


def test_an_octopus_merge_is_not_githubs_merge_commit(reg, tmp_path):
    _, head, _ = pull_request_checkout(reg.root)
    git(reg.root, "checkout", "--quiet", "-b", "third", "main~1")
    commit(reg.root, {"third.txt": "3"}, "third")
    git(reg.root, "checkout", "--quiet", "--detach", "main")
    git(reg.root, "merge", "--quiet", "--no-ff", "-m", "octopus", "feature", "third")
    payload = {"pull_request": {"head": {"sha": head}}}
    assert refused(reg, event(tmp_path, "pull_request", payload)) == NOT_THE_MERGE.format(head)


def test_a_checkout_with_no_commit_is_not_the_merge_commit(reg, tmp_path):
    git(reg.root, "checkout", "--quiet", "--orphan", "unborn")
    for head, shown in ((SHA, SHA), (None, "?")):
        payload = {"pull_request": {"head": {"sha": head}}}
        assert refused(reg, event(tmp_path, "pull_request", payload)) == NOT_THE_MERGE.format(shown)


@pytest.mark.parametrize("payload", [{}, {"pull_request": None}, {"pull_request": {"head": None}}])
def test_a_payload_without_the_head_refuses_any_checkout_but_a_merge(reg, tmp_path, payload):
    assert refused(reg, event(tmp_path, "pull_request", payload)) == NOT_THE_MERGE.format("?")
    base, _, merge = pull_request_checkout(reg.root)
    assert ci.read_event(reg, event(tmp_path, "pull_request", payload)) == CiChange(
        "pull_request", base, merge
    )


def test_ci_on_a_shallow_checkout_is_refused_before_the_event_is_read(reg, tmp_path, monkeypatch):
    commit(reg.root, {"notes.txt": "more history"}, "more")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{reg.root}", str(shallow))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request_target")  # refused too, later
    with pytest.raises(GitError) as caught:
        run_checks(shallow, ci=True)
    assert str(caught.value).startswith(f"{shallow} is a shallow clone: ")


def test_ci_reads_the_event_of_the_jobs_environment(reg, tmp_path, monkeypatch):
    before = git(reg.root, "rev-parse", "HEAD")
    after = commit(reg.root, {"notes.txt": "x"}, "notes")
    for key, value in event(tmp_path, "push", {"before": before, "after": after}).items():
        monkeypatch.setenv(key, value)
    assert ci.read_event(reg) == CiChange("push", before, after, before=before)


# -- pull_request_evidence: what git's titles say ---------------------------------------


def made(root: Path, message: str, *parents: str) -> str:
    """A commit of HEAD's tree with ``parents`` and ``message``, made by plumbing."""
    args = [arg for parent in parents for arg in ("-p", parent)]
    return git(root, "commit-tree", "HEAD^{tree}", *args, "-m", message)


def test_a_title_with_a_unit_separator_is_read_whole(reg):
    root = reg.root
    tip = git(root, "rev-parse", "HEAD")
    squash = made(root, "Promote\x1fclf (#7)", tip)
    assert ci.pull_request_evidence(reg, squash) == [(7, squash)]
    merge = made(root, "Merge pull request #8 from acme/x\x1fy", tip, made(root, "side", tip))
    assert ci.pull_request_evidence(reg, merge) == [(8, merge)]


@pytest.mark.parametrize(
    ("message", "parents", "number"),
    [
        ("Merge pull request #12 from acme/promote", 2, 12),
        ("Merge pull request #1234 from fork-owner/x\n\nPromote clf (#9)", 2, 1234),
        ("Merge pull request #12 from ", 2, None),
        ("Merge pull request #12", 2, None),
        ("Merge pull request # from acme/x", 2, None),
        ("Revert Merge pull request #12 from acme/x", 2, None),
        ("Promote clf (#7)", 2, None),
        ("Merge pull request #12 from acme/x", 3, None),
        ("Promote clf (#7)", 1, 7),
        ("Promote clf (#77)", 1, 77),
        ("Promote clf (#7) again", 1, None),
        ("Promote clf (#)", 1, None),
        ("Promote clf #7", 1, None),
        ("Merge pull request #12 from acme/x", 1, None),
        ("First (#1)", 0, None),
    ],
)
def test_git_evidence_of_a_pull_request(reg, message, parents, number):
    root = reg.root
    tips = [git(root, "rev-parse", "HEAD")]
    for n in range(1, parents):
        tips.append(made(root, f"side {n}", tips[0]))
    sha = made(root, message, *tips[:parents])
    found = ci.pull_request_evidence(reg, sha)
    assert found == ([] if number is None else [(number, sha)])


# -- arrivals: which first-parent commit brought each path --------------------------------


def test_each_path_arrives_with_the_last_first_parent_commit_that_changed_it(reg):
    root = reg.root
    before = git(root, "rev-parse", "HEAD")
    a = commit(root, {"registries/x/a.yaml": "1", "notes.txt": "outside"}, "a")
    b = commit(root, {"registries/x/b.yaml": "1"}, "b")
    git(root, "checkout", "--quiet", "-b", "side")
    commit(root, {"registries/x/a.yaml": "2", "registries/x/c.yaml": "1"}, "side")
    git(root, "checkout", "--quiet", "main")
    git(root, "merge", "--quiet", "--no-ff", "-m", "merge side", "side")
    merge = git(root, "rev-parse", "HEAD")
    git(root, "mv", "registries/x/b.yaml", "registries/x/d.yaml")
    moved = commit(root, {}, "rename")
    assert ci.arrivals(reg, before, moved) == {
        "registries/x/a.yaml": merge,
        "registries/x/b.yaml": moved,
        "registries/x/c.yaml": merge,
        "registries/x/d.yaml": moved,
    }
    assert ci.arrivals(reg, before, b) == {"registries/x/a.yaml": a, "registries/x/b.yaml": b}
    assert ci.arrivals(reg, b, b) == {}


def test_a_merge_brings_only_what_it_changes_on_the_first_parent_line(reg):
    """A side branch's change undone on the branch itself never reaches main; a change
    main made itself arrives with main's commit, not with the merge."""
    root = reg.root
    before = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "--quiet", "-b", "side")
    commit(root, {"registries/x/undone.yaml": "1"}, "try")
    commit(root, {"registries/x/undone.yaml": None, "registries/x/kept.yaml": "1"}, "undo")
    git(root, "checkout", "--quiet", "main")
    own = commit(root, {"registries/x/own.yaml": "1"}, "main's own")
    git(root, "merge", "--quiet", "--no-ff", "-m", "merge side", "side")
    merge = git(root, "rev-parse", "HEAD")
    assert ci.arrivals(reg, before, merge) == {
        "registries/x/own.yaml": own,
        "registries/x/kept.yaml": merge,
    }


def test_a_branch_named_like_the_registries_folder_changes_nothing(reg):
    root = reg.root
    before = git(root, "rev-parse", "HEAD")
    git(root, "branch", layout.REGISTRIES)
    after = commit(root, {"registries/x/a.yaml": "1"}, "a")
    assert ci.arrivals(reg, before, after) == {"registries/x/a.yaml": after}


def test_a_path_git_prints_unquoted_that_is_not_utf8_still_arrives(reg):
    root = reg.root
    git(root, "config", "core.quotePath", "false")
    before = git(root, "rev-parse", "HEAD")
    name = os.fsdecode(b"registries/x/\xff.yaml")
    after = commit(root, {name: "1"}, "odd name")
    assert ci.arrivals(reg, before, after) == {name: after}


# -- PushArrivals: each way a pull request lands on main, with and without a token ---------


@pytest.fixture
def hub(registry, tmp_path):
    hub = GitHub(tmp_path, registry.root)
    yield hub
    hub.close()


@pytest.fixture
def token(hub, monkeypatch):
    """The check job's GitHub settings: the token, the repository and the API."""
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_API_URL", hub.api.url)
    return TOKEN


P1 = "registries/m/c/aliases/production.yaml"
P2 = "registries/m/c/links/v1.yaml"


def on_branch(hub: GitHub, clone: Path, name: str, *commits: dict[str, str]) -> str:
    """Commits (one per dict of edits, titled ``name N``) on branch ``name`` off main,
    pushed to the simulated GitHub."""
    git(clone, "fetch", "--quiet", "origin")
    git(clone, "checkout", "--quiet", "-B", name, "origin/main")
    for n, edits in enumerate(commits):
        commit(clone, edits, f"{name} {n}")
    git(clone, "push", "--quiet", "--force", "origin", name)
    return name


def arrived(hub: GitHub, before: str, after: str, *, token: bool) -> PushArrivals:
    """What the check of the push ``before..after`` sees, in a fresh clone."""
    job = RegistryStore.open(hub.clone(f"job-{len(list(hub.work.glob('job-*')))}"))
    lookup = merged_pulls_lookup("main") if token else None
    assert (lookup is None) is not token
    return PushArrivals(job, before, after, lookup)


@pytest.mark.parametrize("how", ["merge", "squash"])
def test_a_merged_pull_request_arrives_by_pull_request(hub, token, how):
    clone = hub.clone("dev")
    pr = hub.open_pull_request(on_branch(hub, clone, "promote", {P1: "1", P2: "1"}))
    before, after = hub.merge(pr, how)
    for asked in (True, False):
        seen = len(hub.api.requests)
        arrivals = arrived(hub, before, after, token=asked)
        assert arrivals.commits == {P1: after, P2: after}
        assert (arrivals(P1), arrivals(P2), arrivals("registries/m/c/aliases/staging.yaml")) == (
            True,
            True,
            False,
        )
        # GitHub is asked once for the commit that brought both paths, with the token.
        asked_now = hub.api.requests[seen:]
        assert [r["path"] for r in asked_now] == (
            [f"/repos/{REPO}/commits/{after}/pulls"] if asked else []
        )
        assert {r["auth"] for r in asked_now} <= {f"Bearer {TOKEN}"}


def test_a_rebase_merge_arrives_by_pull_request_only_as_github_says(hub, token):
    clone = hub.clone("dev")
    pr = hub.open_pull_request(on_branch(hub, clone, "promote", {P1: "1"}, {P2: "1"}))
    before, after = hub.merge(pr, "rebase")
    first, last = pr.merged
    assert last == after
    arrivals = arrived(hub, before, after, token=True)
    assert arrivals.commits == {P1: first, P2: last}
    assert arrivals.line == [first, last] and arrivals.merges == set()
    assert (arrivals(P1), arrivals(P2)) == (True, True)
    # Git's titles of a rebase name no pull request.
    without = arrived(hub, before, after, token=False)
    assert (without(P1), without(P2)) == (False, False)


def direct_push(hub: GitHub, clone: Path, message: str, edits: dict[str, str]) -> tuple[str, str]:
    git(clone, "fetch", "--quiet", "origin")
    git(clone, "checkout", "--quiet", "-B", "main", "origin/main")
    commit(clone, edits, message)
    return hub.push(clone)


@pytest.mark.parametrize("message", ["hotfix", "Promote (#42)"])
def test_a_direct_push_does_not_arrive_by_pull_request_with_a_token(hub, token, message):
    before, after = direct_push(hub, hub.clone("admin"), message, {P1: "1"})
    assert arrived(hub, before, after, token=True)(P1) is False
    # Without a token, git's word is taken: a title in the squash form passes.
    assert arrived(hub, before, after, token=False)(P1) is (message != "hotfix")


def test_a_local_merge_titled_as_a_pull_request_passes_only_without_a_token(hub, token):
    clone = hub.clone("admin")
    on_branch(hub, clone, "sneak", {P1: "1"})
    git(clone, "checkout", "--quiet", "-B", "main", "origin/main")
    git(clone, "merge", "--quiet", "--no-ff", "-m", "Merge pull request #9 from acme/x", "sneak")
    before, after = hub.push(clone)
    assert arrived(hub, before, after, token=True)(P1) is False
    assert arrived(hub, before, after, token=False)(P1) is True


def test_a_commit_pushed_directly_does_not_arrive_by_the_pull_request_merged_after_it(hub, token):
    """GitHub lists a pull request for each commit of its branch; a commit of that branch
    pushed to main directly, before the pull request merged with a merge commit, did not
    arrive through it."""
    clone = hub.clone("admin")
    on_branch(hub, clone, "feature", {P1: "1"})
    direct = git(clone, "rev-parse", "HEAD")
    start, _ = hub.push(clone)
    commit(clone, {P2: "1"}, "more")
    git(clone, "push", "--quiet", "--force", "origin", "feature")
    pr = hub.open_pull_request("feature")
    _, after = hub.merge(pr, "merge")
    hub.merged_by_commit[direct] = pr.number
    arrivals = arrived(hub, start, after, token=True)
    assert arrivals.commits == {P1: direct, P2: after}
    assert arrivals.merges == {after}
    assert (arrivals(P1), arrivals(P2)) == (False, True)


def test_a_merge_commit_is_never_stood_in_for_by_a_later_commit(hub, token):
    """A merge made by hand and pushed, then a squash GitHub names as its pull request's
    merge: the merge commit is its own and did not arrive by that pull request."""
    clone = hub.clone("admin")
    on_branch(hub, clone, "sneak", {P1: "1"})
    git(clone, "checkout", "--quiet", "-B", "main", "origin/main")
    git(clone, "merge", "--quiet", "--no-ff", "-m", "Merge branch 'sneak'", "sneak")
    start, merged = hub.push(clone)
    pr = hub.open_pull_request(on_branch(hub, clone, "later", {P2: "1"}))
    _, after = hub.merge(pr, "squash")
    hub.merged_by_commit[merged] = pr.number
    arrivals = arrived(hub, start, after, token=True)
    assert arrivals.line == [merged, after] and arrivals.merges == {merged}
    assert (arrivals(P1), arrivals(P2)) == (False, True)


def test_a_later_commit_never_arrives_by_a_pull_request_merged_before_it(hub, token):
    """A squash, then a direct commit GitHub lists that pull request for: the squash came
    first, so the direct commit did not arrive by it."""
    clone = hub.clone("dev")
    start = hub.main()
    pr = hub.open_pull_request(on_branch(hub, clone, "promote", {P2: "1"}))
    _, squash = hub.merge(pr, "squash")
    _, direct = direct_push(hub, clone, "hotfix", {P1: "1"})
    hub.merged_by_commit[direct] = pr.number
    arrivals = arrived(hub, start, direct, token=True)
    assert arrivals.line == [squash, direct]
    assert (arrivals(P1), arrivals(P2)) == (False, True)


# -- holders: each protected stage's holder judged as it stands ---------------------------


def judged(
    store: RegistryStore,
    *,
    skip: frozenset[str] | set[str] = frozenset(),
    collections: set[tuple[str, str]] | None = None,
) -> list[Problem]:
    return holder_problems(Context(store), store.head(), skip=skip, collections=collections)


def on_main(store: RegistryStore, edits: dict[str, str | None]) -> None:
    commit(store.root, edits, "by hand")


def linked(store: RegistryStore, f1: float, stages: list[str]) -> int:
    """training/clf logged again with ``f1`` and linked into models holding ``stages``
    (set as a merged promotion sets them): the link's number."""
    number = log(store.root, f"weights {f1}", f1=f1).version
    ctx = Context.open(store.root)
    source = ctx.store.read_version(ctx.store.head(), "training", "clf", int(number[1:]))
    assert source is not None
    return link_version(ctx, source, "model-registry/models", stages, allow_protected=True).version


def holds(store: RegistryStore, version: int) -> None:
    on_main(store, {PRODUCTION: alias("production", version)})


def stage_problem(message: str) -> list[Problem]:
    return [Problem(PRODUCTION, "$.version", message)]


def test_a_holder_that_meets_everything_passes(reg):
    assert judged(reg) == []  # production held by nothing yet
    holds(reg, 0)
    assert judged(reg) == []


def test_a_holder_naming_a_link_that_does_not_exist(reg):
    holds(reg, 5)
    assert judged(reg) == stage_problem(
        "'production' names model-registry/models/clf:v5, which does not exist"
    )


def test_a_holder_whose_link_does_not_parse_is_a_link_that_does_not_exist(reg):
    holds(reg, 0)
    on_main(reg, {"registries/models/clf/links/v0.yaml": "kind: link\n"})
    assert judged(reg) == stage_problem(
        "'production' names model-registry/models/clf:v0, which does not exist"
    )


def test_a_holder_that_is_unlinked(reg):
    holds(reg, 0)
    mark = {
        "kind": "unlink",
        "registry": "models",
        "collection": "clf",
        "version": 0,
        "unlinked_at": "2026-01-01T00:00:00Z",
    }
    on_main(reg, {layout.unlink_file("models", "clf", 0): dump(mark)})
    assert judged(reg) == stage_problem(
        "'production' names model-registry/models/clf:v0, which is unlinked"
    )


def test_a_holder_whose_source_does_not_exist_or_does_not_parse(reg):
    holds(reg, 0)
    text = (reg.root / V0).read_text()
    on_main(reg, {V0: None})
    expected = stage_problem(
        "model-registry/models/clf:v0 links training/clf:v0, which does not exist"
    )
    assert judged(reg) == expected
    on_main(reg, {V0: text.replace("kind: version", "kind: nonsense")})
    assert judged(reg) == expected


def test_a_holder_whose_source_is_deleted(reg):
    holds(reg, 0)
    deleted = (reg.root / V0).read_text() + "deleted:\n  at: '2026-01-01T00:00:00Z'\n  by: x\n"
    on_main(reg, {V0: deleted})
    assert judged(reg) == stage_problem(
        "model-registry/models/clf:v0 links training/clf:v0, which is deleted"
    )


def with_config(store: RegistryStore, **changes: object) -> None:
    data = yaml.safe_load((store.root / CONFIG).read_text())
    data.update(changes)
    on_main(store, {CONFIG: dump(data)})


def test_a_holder_of_a_type_the_registry_no_longer_takes(reg):
    holds(reg, 0)
    with_config(reg, types=["dataset", "table"])
    assert judged(reg) == stage_problem(
        "training/clf:v0 is of type 'model'; model-registry/models takes dataset, table"
    )
    with_config(reg, types=["dataset", "model"])
    assert judged(reg) == []
    with_config(reg, types=[])
    assert judged(reg) == []  # no list: every type


def test_a_holder_meets_the_gate_at_its_threshold_and_above(reg):
    for f1 in (0.9, 0.9000001):
        holds(reg, linked(reg, f1, ["staging"]))
        assert judged(reg) == []


def test_a_holder_just_below_the_gate(reg):
    holds(reg, linked(reg, 0.8999999, ["staging"]))
    assert judged(reg) == stage_problem(
        "model-registry/models/clf:v1 cannot hold 'production': f1 >= 0.9: f1 is 0.8999999, "
        "needs >= 0.9"
    )


def test_a_holder_that_never_held_the_previous_stage(reg):
    version = linked(reg, 0.95, [])
    holds(reg, version)
    assert judged(reg) == stage_problem(
        "model-registry/models/clf:v1 cannot hold 'production': the version must hold "
        "'staging' before 'production'"
    )
    # Having held it once, earlier in main's history, is enough.
    on_main(reg, {STAGING: alias("staging", version)})
    on_main(reg, {STAGING: alias("staging", 0)})
    assert judged(reg) == []


def test_a_holder_failing_the_type_the_gate_and_the_order_has_each_said(reg):
    holds(reg, linked(reg, 0.5, []))
    with_config(reg, types=["dataset"])
    prefix = "model-registry/models/clf:v1 cannot hold 'production': "
    assert [p.message for p in judged(reg)] == [
        "training/clf:v1 is of type 'model'; model-registry/models takes dataset",
        prefix + "f1 >= 0.9: f1 is 0.5, needs >= 0.9",
        prefix + "the version must hold 'staging' before 'production'",
    ]


def test_only_protected_stages_are_judged(reg):
    weak = linked(reg, 0.5, [])
    on_main(reg, {STAGING: alias("staging", weak)})
    assert judged(reg) == []  # staging is not protected
    with_config(reg, protected=[])
    holds(reg, weak)
    assert judged(reg) == []  # nor, once unprotected, production


def test_which_holders_are_judged(reg):
    holds(reg, 5)
    problem = stage_problem("'production' names model-registry/models/clf:v5, which does not exist")
    assert judged(reg, collections=None) == problem
    assert judged(reg, collections={("models", "clf")}) == problem
    assert judged(reg, collections={("models", "other"), ("other", "clf")}) == []
    assert judged(reg, collections=set()) == []
    assert judged(reg, skip={PRODUCTION}) == []
    assert judged(reg, skip={STAGING}) == problem


def test_holders_of_every_registry_and_collection_are_found(reg):
    holds(reg, 0)
    ctx = Context(reg)
    second = "registries/models/det"
    on_main(
        reg,
        {
            f"{second}/links/v0.yaml": (reg.root / "registries/models/clf/links/v0.yaml")
            .read_text()
            .replace("collection: clf", "collection: det"),
            f"{second}/aliases/production.yaml": alias("production", 0),
            f"{second}/aliases/staging.yaml": alias("staging", 0),
        },
    )
    found = [(h.collection, h.stage, h.version) for h in protected_holders(ctx, reg.head())]
    assert found == [("clf", "production", 0), ("det", "production", 0)]
    # Only the collections asked for are read: a push judges what it touched, not 1,000.
    read: list[str] = []
    real = registries.aliases

    def spy(store, snap, name, collection):  # type: ignore[no-untyped-def]
        read.append(f"{name}/{collection}")
        return real(store, snap, name, collection)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registries, "aliases", spy)
        only = protected_holders(ctx, reg.head(), {("models", "det"), ("gone", "clf")})
        assert [(h.collection, h.version) for h in only] == [("det", 0)]
    assert read == ["models/det"]
    assert judged(reg) == []
    holder = next(protected_holders(ctx, reg.head()))
    assert (holder.path, holder.where) == (PRODUCTION, "model-registry/models/clf")


def second_collection(store: RegistryStore, name: str, holder: int) -> None:
    """Collection ``name`` of models: a copy of clf's link v0, production held by
    ``holder``."""
    link = (store.root / "registries/models/clf/links/v0.yaml").read_text()
    on_main(
        store,
        {
            f"registries/models/{name}/links/v0.yaml": link.replace(
                "collection: clf", f"collection: {name}"
            ),
            f"registries/models/{name}/aliases/staging.yaml": alias("staging", 0),
            f"registries/models/{name}/aliases/production.yaml": alias("production", holder),
        },
    )


def test_every_holder_is_judged_and_each_problem_kept(reg):
    holds(reg, 5)
    second_collection(reg, "det", 6)
    abc = stage_problem("'production' names model-registry/models/clf:v5, which does not exist")
    det = [
        Problem(
            "registries/models/det/aliases/production.yaml",
            "$.version",
            "'production' names model-registry/models/det:v6, which does not exist",
        )
    ]
    assert judged(reg) == abc + det
    assert judged(reg, skip={PRODUCTION}) == det
    assert judged(reg, collections={("models", "det")}) == det
    assert judged(reg, collections={("models", "clf")}) == abc


def test_a_holder_is_judged_against_the_history_of_the_ref_given(reg):
    """The stage order reads the stages a link held from ``ref``'s history."""
    version = linked(reg, 0.95, [])
    holds(reg, version)
    snap = reg.head()
    on_main(reg, {STAGING: alias("staging", version)})
    later = git(reg.root, "rev-parse", "HEAD")
    ctx = Context(reg)
    holder = next(protected_holders(ctx, snap))
    order = "the version must hold 'staging' before 'production'"
    assert [p.message.rpartition(": ")[2] for p in judge(ctx, snap, holder)] == [order]
    assert judge(ctx, snap, holder, ref=later) == []


def test_holders_after_a_registry_or_collection_that_cannot_be_judged_still_are(reg):
    holds(reg, 5)
    problem = stage_problem("'production' names model-registry/models/clf:v5, which does not exist")
    # A registry whose config does not parse, and one with no protected stage, sorted
    # before models; a collection whose aliases do not parse, sorted before clf.
    on_main(reg, {"registries/aaa/registry.yaml": "kind: model-registry\n"})
    assert judged(reg) == problem
    config = yaml.safe_load((reg.root / CONFIG).read_text())
    on_main(reg, {"registries/abc/registry.yaml": dump({**config, "name": "abc", "protected": []})})
    assert judged(reg) == problem
    second_collection(reg, "abc", 0)
    on_main(reg, {"registries/models/abc/aliases/staging.yaml": "kind: alias\n"})
    assert judged(reg) == problem


def test_a_protected_stage_nothing_holds_is_passed_over(reg):
    with_config(reg, protected=["production", "staging"])
    on_main(reg, {STAGING: alias("staging", 5)})
    assert judged(reg) == [
        Problem(
            STAGING,
            "$.version",
            "'staging' names model-registry/models/clf:v5, which does not exist",
        )
    ]


def test_documents_that_do_not_parse_are_left_to_the_file_checks(reg):
    holds(reg, 5)
    on_main(reg, {STAGING: "kind: alias\n"})  # the collection's aliases do not parse
    assert judged(reg) == []
    on_main(reg, {STAGING: alias("staging", 0)})
    assert len(judged(reg)) == 1
    on_main(reg, {CONFIG: "kind: model-registry\n"})  # nor does the registry's config
    assert judged(reg) == []


def test_a_push_check_judges_the_holders_of_the_collections_it_touched(reg, tmp_path, monkeypatch):
    """On a push to main, the holders of what the push touched are judged as they stand:
    here a gate raised under production's holder."""
    holds(reg, 0)
    before = git(reg.root, "rev-parse", "HEAD")
    data = yaml.safe_load((reg.root / CONFIG).read_text())
    data["gates"]["production"]["conditions"] = ["f1 >= 0.99"]
    git(reg.root, "checkout", "--quiet", "-b", "gate")
    commit(reg.root, {CONFIG: dump(data)}, "raise the gate")
    git(reg.root, "checkout", "--quiet", "main")
    git(
        reg.root,
        "merge",
        "--quiet",
        "--no-ff",
        "-m",
        "Merge pull request #3 from acme/gate",
        "gate",
    )
    after = git(reg.root, "rev-parse", "HEAD")
    for key, value in event(tmp_path, "push", {"before": before, "after": after}).items():
        monkeypatch.setenv(key, value)
    assert [str(p) for p in run_checks(reg, ci=True).problems] == [
        f"{PRODUCTION}: $.version: model-registry/models/clf:v0 cannot hold 'production': "
        "f1 >= 0.99: f1 is 0.95, needs >= 0.99"
    ]


# -- owners: what CODEOWNERS leaves without an owner --------------------------------------

PROD = ModelRegistryConfig(
    name="prod",
    created_at="2024-01-01T00:00:00Z",
    stages=("staging", "production"),
    protected=("production",),
)
FULL = codeowners.with_paths("", codeowners.required_paths(None, [PROD]), ["@acme/ml"])


def unowned(pattern: str) -> str:
    return (
        f"{pattern} has no owner here: a change to it would merge without the review "
        "CODEOWNERS requires"
    )


def owners(files: dict[str, str | bytes], has_github: bool = True) -> list[Problem]:
    data = {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}
    return owner_problems(data.get, has_github, [PROD])


def test_a_registry_not_set_up_for_github_needs_no_codeowners():
    assert owners({}, has_github=False) == []
    assert owners({".github/CODEOWNERS": ""}, has_github=False) == []


def test_a_registry_set_up_for_github_without_codeowners():
    assert MISSING == (
        "missing: the registry is set up for GitHub (.github/), so CODEOWNERS must name the "
        "owners of what governs it (registry-tool init --github --owners @org/team writes it)"
    )
    assert owners({"docs/CODEOWNERS.md": FULL, "codeowners": FULL}) == [
        Problem(".github/CODEOWNERS", "$", MISSING)
    ]


@pytest.mark.parametrize("location", [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"])
def test_codeowners_is_read_where_github_reads_it(location):
    assert owners({location: FULL}) == []
    partial = FULL.replace("/mkdocs.yml @acme/ml\n", "")
    assert partial != FULL
    assert owners({location: partial}) == [Problem(location, "$", unowned("/mkdocs.yml"))]


def test_the_first_codeowners_github_finds_is_the_one_judged():
    assert owners({".github/CODEOWNERS": "", "CODEOWNERS": FULL}) == [
        Problem(".github/CODEOWNERS", "$", unowned(path))
        for path in codeowners.required_paths(None, [PROD])
    ]
    assert owners({"CODEOWNERS": "# none\n", "docs/CODEOWNERS": FULL})[0].path == "CODEOWNERS"
    assert owners({".github/CODEOWNERS": FULL, "docs/CODEOWNERS": ""}) == []


def test_each_required_path_is_owned_in_the_registries_given():
    paths = codeowners.required_paths(None, [PROD])
    assert "/registries/prod/*/aliases/production.yaml" in paths
    assert owners({"CODEOWNERS": ""}) == [Problem("CODEOWNERS", "$", unowned(p)) for p in paths]
    unowning = FULL + "/registries/prod/*/aliases/production.yaml\n"
    assert owners({"CODEOWNERS": unowning}) == [
        Problem("CODEOWNERS", "$", unowned("/registries/prod/*/aliases/production.yaml"))
    ]


def test_codeowners_that_is_not_utf8_is_still_read():
    assert owners({"CODEOWNERS": b"# \xff\xfe\n" + FULL.encode()}) == []
