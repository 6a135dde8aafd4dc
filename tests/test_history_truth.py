"""`registry-tool history` tells the truth about each stage move: which pull request
brought it (only from a merge or squash commit on the first-parent line, never from a
subject anyone can type on a branch), when it reached main, who wrote it and who
merged it, and which source version the stage then named.

Histories are built with real git: ``merge --no-ff`` with GitHub's message,
``merge --squash``, cherry-picked (rebase-merged) commits, direct pushes with forged
subjects, and author and committer dates set so every time is asserted exactly.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest

from registry_tool._store import RegistryStore, registries
from registry_tool._store.history import landings, pull_requests
from tests.helpers import cli_out, git, write

ALICE = ("Alice Author", "alice@example.test")
BOB = ("Bob Builder", "bob@example.test")
GITHUB = ("GitHub", "noreply@github.com")
MARY = ("Mary Merger", "mary@example.test")

STAGES = "registries/models/m/aliases"
T1 = "2024-01-01T10:00:00+00:00"
T2 = "2024-02-01T10:00:00+00:00"
T3 = "2024-03-01T10:00:00+00:00"
T4 = "2024-04-01T10:00:00+00:00"
T5 = "2024-05-01T10:00:00+00:00"


def run_git(
    root: Path,
    *args: str,
    author: tuple[str, str] = ALICE,
    committer: tuple[str, str] | None = None,
    at: str = T1,
    committed_at: str | None = None,
    check: bool = True,
) -> str:
    """git with the author, committer and both dates chosen by the test."""
    who = committer or author
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_AUTHOR_DATE": at,
        "GIT_COMMITTER_NAME": who[0],
        "GIT_COMMITTER_EMAIL": who[1],
        "GIT_COMMITTER_DATE": committed_at or at,
    }
    proc = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, env=env, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {args}: {proc.stderr}")
    return proc.stdout.strip()


def set_stage(root: Path, stage: str, version: int, reason: str | None = None) -> None:
    text = f"kind: alias\nalias: {stage}\nversion: {version}\nset_at: '2024-01-01T00:00:00Z'\n"
    if reason is not None:
        text += f"reason: {json.dumps(reason)}\n"
    write(root / STAGES / f"{stage}.yaml", text)


def move(
    root: Path, stage: str, version: int, subject: str, reason: str | None = None, **who: str
) -> str:
    """One commit moving ``stage`` to ``version`` on the checked-out branch; its id."""
    set_stage(root, stage, version, reason)
    run_git(root, "add", "-A")
    run_git(root, "commit", "-q", "-m", subject, **who)  # type: ignore[arg-type]
    return run_git(root, "rev-parse", "HEAD")


def merge(root: Path, branch: str, message: str, **who: object) -> str:
    run_git(root, "merge", "-q", "--no-ff", branch, "-m", message, **who)  # type: ignore[arg-type]
    return run_git(root, "rev-parse", "HEAD")


def history(stage: str | None = "staging") -> list[dict[str, object]]:
    args = ["history", "model-registry/models/m", "--json"]
    if stage:
        args += ["--stage", stage]
    return json.loads(cli_out(*args))  # type: ignore[no-any-return]


@pytest.fixture
def repo(registry: RegistryStore) -> Path:
    """A registry with p/m v0..v2 linked into model registry ``models`` as v0..v2."""
    for text in ("zero", "one", "two"):
        write("a.txt", text)
        cli_out("log", "a.txt", "--name", "p/m", "--type", "model")
    cli_out("registry", "create", "models", "--stages", "staging,production")
    for n in range(3):
        cli_out("link", f"p/m:v{n}", "model-registry/models")
    assert git(registry.root, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    return registry.root


# -- which pull request ---------------------------------------------------------------


def test_a_direct_push_with_a_merge_subject_is_credited_to_no_pull_request(repo):
    move(repo, "staging", 1, "Merge pull request #42 from x/y")
    [event] = history()
    assert (event["version"], event["pull_request"]) == (1, None)
    assert event["pull_request_from"] is None


def test_a_squash_subject_on_the_first_parent_line_says_it_was_derived_from_a_squash(repo):
    """The trust boundary: git cannot tell a squash merge from a direct push that types
    "(#N)"; the event says how its number was derived."""
    commit = move(repo, "staging", 1, "promote staging (#12)", author=ALICE, committer=GITHUB)
    [event] = history()
    assert (event["pull_request"], event["pull_request_from"]) == (12, "squash")
    assert event["commit"] == event["merged_in"] == commit
    # "(#12)" anywhere but at the end is a mention, not a squash merge.
    move(repo, "staging", 2, "revert (#12) and retry")
    assert history()[-1]["pull_request"] is None


def test_a_squash_merge_is_its_own_commit_on_the_line(repo):
    run_git(repo, "checkout", "-q", "-b", "side")
    move(repo, "staging", 1, "stage v1", at=T1)
    move(repo, "staging", 2, "stage v2", at=T2)
    run_git(repo, "checkout", "-q", "main")
    run_git(repo, "merge", "-q", "--squash", "side")
    run_git(repo, "commit", "-q", "-m", "Stage v2 (#12)", author=ALICE, committer=GITHUB, at=T3)
    squashed = run_git(repo, "rev-parse", "HEAD")
    [event] = history()
    assert (event["commit"], event["version"], event["previous"]) == (squashed, 2, None)
    assert (event["pull_request"], event["pull_request_from"]) == (12, "squash")
    assert (event["when"], event["merged_by"], event["merged_in"]) == (T3, "GitHub", squashed)


def test_forged_subjects_on_a_branch_are_credited_to_the_merge_that_brought_them(repo):
    run_git(repo, "checkout", "-q", "-b", "forged")
    first = move(repo, "staging", 1, "Merge pull request #7 from a/b")
    second = move(repo, "staging", 2, "looks squashed (#8)")
    run_git(repo, "checkout", "-q", "main")
    merged = merge(repo, "forged", "Merge pull request #9 from acme/forged", committer=MARY)
    events = history()
    assert [(e["commit"], e["pull_request"]) for e in events] == [(first, 9), (second, 9)]
    assert [e["pull_request_from"] for e in events] == ["merge", "merge"]
    assert {e["merged_in"] for e in events} == {merged}


def test_a_forged_merge_commit_on_a_branch_gives_the_number_of_the_merge_on_main(repo):
    """Even a real two-parent merge with GitHub's subject counts only on the line."""
    run_git(repo, "checkout", "-q", "-b", "side")
    moved = move(repo, "staging", 1, "move on side")
    run_git(repo, "checkout", "-q", "-b", "forger", "main")
    write(repo / "notes.txt", "x")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "notes")
    merge(repo, "side", "Merge pull request #7 from a/b")
    run_git(repo, "checkout", "-q", "main")
    merge(repo, "forger", "Merge pull request #9 from acme/forger")
    [event] = history()
    assert (event["commit"], event["pull_request"]) == (moved, 9)


def test_a_branch_merged_without_a_pull_request_gives_no_number(repo):
    run_git(repo, "checkout", "-q", "-b", "side")
    move(repo, "staging", 1, "promote (#7)")
    run_git(repo, "checkout", "-q", "main")
    merge(repo, "side", "Merge branch 'side'")
    [event] = history()
    assert event["pull_request"] is None
    assert event["pull_request_from"] is None


def test_a_branch_merged_twice_credits_each_move_to_the_merge_that_first_brought_it(repo):
    run_git(repo, "checkout", "-q", "-b", "long")
    first = move(repo, "staging", 1, "first move")
    run_git(repo, "checkout", "-q", "main")
    merge(repo, "long", "Merge pull request #5 from acme/long")
    run_git(repo, "checkout", "-q", "long")
    second = move(repo, "staging", 2, "second move")
    run_git(repo, "checkout", "-q", "main")
    merge(repo, "long", "Merge pull request #6 from acme/long")
    assert [(e["commit"], e["pull_request"]) for e in history()] == [(first, 5), (second, 6)]


def test_a_rebase_merge_puts_each_commit_on_the_line_with_no_number(repo):
    run_git(repo, "checkout", "-q", "-b", "rebased")
    move(repo, "staging", 1, "stage v1", at=T1)
    move(repo, "staging", 2, "stage v2", at=T2)
    run_git(repo, "checkout", "-q", "main")
    run_git(repo, "cherry-pick", "main..rebased", committer=GITHUB, at=T4)
    events = history()
    assert [(e["version"], e["previous"], e["pull_request"], e["when"]) for e in events] == [
        (1, None, None, T4),
        (2, 1, None, T4),
    ]
    assert [(e["when"], e["authored_at"], e["merged_by"]) for e in events] == [
        (T4, T1, "GitHub"),
        (T4, T2, "GitHub"),
    ]
    assert all(e["commit"] == e["merged_in"] for e in events)


def test_the_site_activity_numbers_come_from_the_same_rule(repo, registry):
    direct = move(repo, "staging", 1, "Merge pull request #42 from x/y")
    squashed = move(repo, "staging", 2, "promote (#43)")
    numbers = pull_requests(RegistryStore.open(repo))
    assert direct not in numbers and numbers[squashed] == 43


SUBJECTS = {
    # A single-parent commit of the line: only a squash merge's " (#N)" at the end.
    "promote staging (#12)": (12, "squash"),
    "promote staging(#12)": (None, None),
    "promote staging (#12) again": (None, None),
    "promote staging (#012)": (None, None),
    "promote staging (#１２)": (None, None),  # fullwidth digits are not a number here
    "(#12)": (None, None),
    "Merge pull request #12 from acme/branch": (None, None),  # no second parent
}


def test_the_squash_rule_at_its_boundaries(repo):
    made = {}
    for subject in SUBJECTS:
        run_git(repo, "commit", "-q", "--allow-empty", "-m", subject)
        made[run_git(repo, "rev-parse", "HEAD")] = subject
    landed = landings(RegistryStore.open(repo))
    got = {made[c]: (landed[c].pull_request, landed[c].pull_request_from) for c in made}
    assert got == SUBJECTS


@pytest.mark.parametrize(
    ("message", "number"),
    [
        ("Merge pull request #9 from acme/side", 9),
        ("Merge pull request #9 from acme/side and more", None),
        ("Merge pull request #9 from side", None),
        ("Merge branch 'side' (#9)", None),
    ],
)
def test_the_merge_rule_at_its_boundaries(repo, message, number):
    run_git(repo, "checkout", "-q", "-b", "side")
    move(repo, "staging", 1, "move")
    run_git(repo, "checkout", "-q", "main")
    merge(repo, "side", message)
    assert history()[0]["pull_request"] == number


# -- when, who, what ------------------------------------------------------------------


def test_when_is_the_time_the_move_reached_main_by_its_merge(repo):
    run_git(repo, "checkout", "-q", "-b", "slow")
    branch_commit = move(
        repo, "staging", 1, "promote", reason="eval ok", author=ALICE, at=T1, committed_at=T2
    )
    run_git(repo, "checkout", "-q", "main")
    merged = merge(
        repo, "slow", "Merge pull request #3 from acme/slow", author=MARY, at=T3, committed_at=T4
    )
    [event] = history()
    assert event["when"] == T4
    assert event["authored_at"] == T1
    assert (event["author"], event["email"]) == ALICE
    assert (event["merged_by"], event["merged_by_email"]) == MARY
    assert (event["commit"], event["merged_in"], event["reason"]) == (
        branch_commit,
        merged,
        "eval ok",
    )


def test_a_commit_made_on_main_is_merged_by_its_committer_at_its_commit_time(repo):
    move(repo, "staging", 1, "promote", author=ALICE, committer=BOB, at=T1, committed_at=T2)
    [event] = history()
    assert event["when"] == T2
    assert event["authored_at"] == T1
    assert (event["author"], event["merged_by"], event["merged_by_email"]) == (
        "Alice Author",
        "Bob Builder",
        "bob@example.test",
    )


def test_each_event_names_the_source_and_digest_its_link_file_gives(repo):
    move(repo, "staging", 2, "stage v2")
    run_git(repo, "rm", "-q", f"{STAGES}/staging.yaml")
    run_git(repo, "commit", "-q", "-m", "unstage")
    link = (repo / "registries/models/m/links/v2.yaml").read_text()
    digest = link.split("digest: ", 1)[1].split()[0]
    added, removed = history()
    assert (added["source"], added["digest"]) == ("p/m:v2", digest)
    assert (removed["version"], removed["source"], removed["digest"]) == (None, None, None)


def test_a_project_alias_event_has_no_link_source(repo):
    cli_out("alias", "set", "p/m:v1", "production")
    [event] = json.loads(cli_out("history", "p/m", "--alias", "production", "--json"))
    assert (event["version"], event["source"], event["digest"]) == (1, None, None)


# -- which moves, in which order ------------------------------------------------------


def conflicting_branches(repo: Path) -> tuple[str, str]:
    """staging v0 on main; a branch moves it to v2 (written early), then main moves
    it to v1 (written later); the merge that follows must resolve the conflict."""
    move(repo, "staging", 0, "stage v0", at=T1)
    run_git(repo, "checkout", "-q", "-b", "late")
    branch = move(repo, "staging", 2, "stage v2 on a branch", at=T2)
    run_git(repo, "checkout", "-q", "main")
    direct = move(repo, "staging", 1, "stage v1 on main", at=T3)
    run_git(repo, "merge", "-q", "--no-ff", "late", check=False)
    return branch, direct


def test_a_move_on_main_that_a_merge_overwrote_is_still_reported_in_arrival_order(repo):
    branch, direct = conflicting_branches(repo)
    set_stage(repo, "staging", 2)  # the branch's side wins
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "Merge pull request #4 from acme/late", at=T4)
    events = history()
    assert [(e["commit"], e["previous"], e["version"]) for e in events[1:]] == [
        (direct, 0, 1),
        (branch, 1, 2),
    ]
    assert [e["when"] for e in events] == [T1, T3, T4]


def test_a_branch_move_its_merge_discarded_never_reached_main(repo):
    _, direct = conflicting_branches(repo)
    set_stage(repo, "staging", 1)  # main's side wins
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "Merge pull request #4 from acme/late", at=T4)
    assert [(e["commit"], e["version"]) for e in history()][1:] == [(direct, 1)]


def test_a_merge_that_moves_the_stage_itself_is_an_event(repo):
    conflicting_branches(repo)
    set_stage(repo, "staging", 0, reason="back to v0 while we argue")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "Merge pull request #4 from acme/late", author=MARY, at=T5)
    merged = run_git(repo, "rev-parse", "HEAD")
    last = history()[-1]
    assert (last["commit"], last["previous"], last["version"], last["author"]) == (
        merged,
        1,
        0,
        "Mary Merger",
    )
    assert (last["pull_request"], last["reason"], last["when"]) == (
        4,
        "back to v0 while we argue",
        T5,
    )


# -- the text output ------------------------------------------------------------------


def test_the_table_has_the_audit_columns_and_escapes_every_untrusted_cell(repo, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # one line per row, however wide
    eve = ("Eve\x1b[31m", "eve@example.test")
    mallory = ("Mal\x07lory\u202e", "mallory@example.test")
    run_git(repo, "checkout", "-q", "-b", "side")
    move(repo, "staging", 1, "promote", reason="ok \u202e evil", author=eve)
    run_git(repo, "checkout", "-q", "main")
    merge(repo, "side", "Merge pull request #9 from acme/side", committer=mallory, at=T2)
    out = cli_out("history", "model-registry/models/m", "--stage", "staging")
    header, row = out.splitlines()
    assert header.split() == [
        "WHEN", "ALIAS", "FROM", "TO", "SOURCE", "AUTHOR", "MERGED", "BY", "PR", "REASON"
    ]  # fmt: skip
    assert not any(ch in out for ch in "\x1b\x07\u202e")
    assert row.startswith(T2.replace("T", " ") + "  ")
    for cell in ("staging", "v1", "p/m:v1", r"Eve\x1b[31m", r"Mal\x07lory\u202e", "#9 (merge)"):
        assert cell in row
    assert row.rstrip().endswith(r"ok \u202e evil")


def test_an_alias_file_that_cannot_be_read_is_not_shown_as_removed(repo, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    write(repo / STAGES / "staging.yaml", "kind: alias\nalias: staging\nversion: [1]\n")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "hand edit")
    [event] = history()
    assert event["version"] is None
    assert event["error"].startswith(f"{STAGES}/staging.yaml: $")
    assert "(unreadable)" in cli_out("history", "model-registry/models/m")


def test_json_carries_every_field(repo):
    move(repo, "staging", 1, "promote (#3)", reason="why")
    [event] = history()
    assert set(event) == {
        "alias",
        "version",
        "previous",
        "commit",
        "author",
        "email",
        "authored_at",
        "when",
        "merged_in",
        "merged_by",
        "merged_by_email",
        "message",
        "reason",
        "pull_request",
        "pull_request_from",
        "source",
        "digest",
        "error",
    }


@pytest.mark.parametrize("winner", [1, 2])
def test_the_moves_of_a_stage_in_every_collection_at_once_are_each_collections_history(
    repo, registry, winner
):
    # A full check asks, for every holder, where its previous stage has been: one read
    # for all collections (stage_moves) must say what each collection's history says.
    write("b.txt", "other")
    cli_out("log", "b.txt", "--name", "p/other", "--type", "model")
    cli_out("link", "p/other:v0", "model-registry/models")
    conflicting_branches(repo)
    set_stage(repo, "staging", winner)
    other = "registries/models/other/aliases/staging.yaml"
    write(
        repo / other, (repo / STAGES / "staging.yaml").read_text().replace(f": {winner}\n", ": 0\n")
    )
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "Merge pull request #4 from acme/late", at=T4)
    store = registry
    moves = registries.stage_moves(store, "models", "m", "staging", ref="HEAD")
    expected = [
        dataclasses.replace(event, source=None, digest=None)
        for event in registries.stage_history(
            store, "models", "m", "staging", with_pull_requests=False
        )
    ]
    assert all(e.source for e in registries.stage_history(store, "models", "m", "staging"))
    assert moves == expected and len(moves) == (3 if winner == 2 else 2)
    assert [e.previous for e in moves] == [None, 0, 1][: len(moves)]
    assert [
        dataclasses.replace(e, source="p/other:v0", digest=None)
        for e in registries.stage_moves(store, "models", "other", "staging", ref="HEAD")
    ] == [
        dataclasses.replace(e, digest=None)
        for e in registries.stage_history(
            store, "models", "other", "staging", with_pull_requests=False
        )
    ]
    assert [
        e.version for e in registries.stage_moves(store, "models", "other", "staging", ref="HEAD")
    ] == [0]
    assert registries.stage_moves(store, "models", "m", "production", ref="HEAD") == []
    assert registries.stage_moves(store, "elsewhere", "m", "staging", ref="HEAD") == []


@pytest.mark.parametrize("stage", ["staging", None])
def test_a_history_read_alone_is_the_one_read_from_the_shared_log(repo, registry, stage):
    # One history (the CLI) walks only its files; the site reads one log of every alias
    # file and answers every collection from it. Both tell the same events.
    conflicting_branches(repo)
    set_stage(repo, "staging", 2)
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "Merge pull request #4 from acme/late", at=T4)
    move(repo, "production", 1, "ship (#5)", at=T5)
    alone = registries.stage_history(registry, "models", "m", stage)
    shared = registries.stage_history(registry, "models", "m", stage, shared=True)
    assert alone == shared and len(alone) == (3 if stage else 7)  # and latest v0, v1, v2
