"""``check --ci``: the change GitHub Actions asks about, read from the event, and judged
as what merges.

- ``pull_request``: actions/checkout's default ref is GitHub's merge commit (the pull
  request merged into the current base). Its first parent is the base; the change
  judged is first parent → merge commit: what ``main`` becomes, with the gates ``main``
  has now (a gate raised while the pull request was open applies). A checkout that is
  not that merge commit is refused rather than judged.
- ``merge_group``: the merge queue's commit against the group's base.
- ``push`` to main: ``before`` → ``after``. Each protected stage the push moved must
  have arrived through a merged pull request; a forced push (history rewritten) is a
  problem of its own (refused outright when the old tip is not in the checkout, as
  after a force push on GitHub, where nothing reaches it any more); and the protected
  stages' holders of each registry collection the push touched are judged as they
  stand (a change to a registry's config has all its holders judged; a full ``check``
  judges every holder), so a ``main`` that violates its own gates is visible.

Whether a commit on main is a merged pull request is asked of GitHub when a token is
there (``GET /repos/{repo}/commits/{sha}/pulls``: the pull request whose merge commit
it is). Without one, the git evidence stands in: a merge commit titled "Merge pull
request #N" or a commit titled "... (#N)"; a direct pusher can write either, which
is why the ruleset that requires pull requests on main is part of the set-up (README).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry_tool._checks.report import Problem
from registry_tool._model import layout
from registry_tool._store import RegistryStore
from registry_tool.errors import UsageError

NO_COMMIT = "0" * 40
JUDGED = ("pull_request", "merge_group", "push")
_MERGE_SUBJECT = re.compile(r"^Merge pull request #(\d+) from \S+")
_SQUASH_SUBJECT = re.compile(r"\(#(\d+)\)$")

# Asks GitHub which merged pull requests a commit of main belongs to: (number, merge
# commit) pairs. Raises RegistryError when GitHub cannot be asked.
PullLookup = Callable[[str], list[tuple[int, str]]]


@dataclass(frozen=True)
class CiChange:
    """What to judge: ``base`` None means the whole tree at ``head`` (a first push)."""

    event: str
    base: str | None
    head: str
    before: str | None = None  # push: the branch's tip before the push
    forced: bool = False


def read_event(store: RegistryStore, env: Mapping[str, str] = os.environ) -> CiChange:
    """The change of the GitHub Actions event in ``env`` (GITHUB_EVENT_NAME and the
    payload at GITHUB_EVENT_PATH)."""
    event = env.get("GITHUB_EVENT_NAME")
    if not event:
        raise UsageError("check --ci runs in GitHub Actions: GITHUB_EVENT_NAME is not set")
    if event not in JUDGED:
        raise UsageError(
            f"check --ci judges {', '.join(JUDGED)} events, not {event!r}: a "
            "pull_request_target or workflow_run job does not check out what merges"
        )
    payload = _payload(env)
    if event == "pull_request":
        return _pull_request(store, payload)
    if event == "merge_group":
        group = payload.get("merge_group") or {}
        base, head = group.get("base_sha"), group.get("head_sha")
        if not isinstance(base, str) or not isinstance(head, str):
            raise UsageError("the merge_group event has no base_sha and head_sha")
        return CiChange(event, base, head)
    before, after = payload.get("before"), payload.get("after")
    if not isinstance(after, str):
        raise UsageError("the push event has no 'after' commit")
    if not isinstance(before, str) or before == NO_COMMIT:
        return CiChange(event, None, after)
    if store.git.rev_parse(before) is None:
        # actions/checkout fetches what the refs reach: an old tip that is not there
        # is no longer part of any branch's history.
        raise UsageError(
            f"the push's before commit {before[:12]} is not in this checkout: the branch "
            "was force-pushed, its history rewritten and with it the audit trail of every "
            "stage move (block force pushes on the branch)"
        )
    forced = bool(payload.get("forced")) or not _is_ancestor(store, before, after)
    return CiChange(event, before, after, before=before, forced=forced)


def _payload(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        raise UsageError("check --ci needs the event payload: GITHUB_EVENT_PATH is not set")
    try:
        payload = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the event payload: {exc}") from None
    if not isinstance(payload, dict):
        raise UsageError(f"{path}: the event payload is not a JSON object")
    return payload


def _pull_request(store: RegistryStore, payload: dict[str, Any]) -> CiChange:
    """GitHub's merge commit (checked out at HEAD) against its first parent."""
    pr = payload.get("pull_request") or {}
    pr_head = (pr.get("head") or {}).get("sha")
    merge = store.git.rev_parse("HEAD")
    parents = store.git.out("rev-list", "--parents", "-n", "1", "HEAD", check=False).split()[1:]
    if merge is None or len(parents) != 2 or (pr_head and parents[1] != pr_head):
        raise UsageError(
            "HEAD is not GitHub's merge commit of this pull request (its second parent "
            f"must be the pull request's head {pr_head or '?'}): keep actions/checkout's "
            "default ref, which checks out the merge commit, so check judges what merges"
        )
    return CiChange("pull_request", parents[0], merge)


def _is_ancestor(store: RegistryStore, older: str, newer: str) -> bool:
    proc = store.git.run("merge-base", "--is-ancestor", older, newer, check=False)
    return proc.returncode == 0


def forced_push(change: CiChange, main_branch: str) -> list[Problem]:
    if not change.forced:
        return []
    return [
        Problem(
            ".",
            "$",
            f"{main_branch} was force-pushed from {(change.before or '')[:12]} to "
            f"{change.head[:12]}: its history was rewritten, and with it the audit trail of "
            "every stage move (block force pushes on the branch)",
        )
    ]


def arrivals(store: RegistryStore, before: str, after: str) -> dict[str, str]:
    """For each path a push changed, the commit of ``after``'s first-parent line that
    last brought a change to it (a merge commit brings its whole branch)."""
    proc = store.git.run(
        "log",
        "--first-parent",
        "--reverse",
        "--no-renames",
        "-m",
        "--name-only",
        "--format=%x1e%H",
        f"{before}..{after}",
        "--",
        layout.REGISTRIES,
    )
    found: dict[str, str] = {}
    for block in proc.stdout.decode("utf-8", "surrogateescape").split("\x1e"):
        lines = [line for line in block.splitlines() if line]
        if lines:
            for path in lines[1:]:
                found[path] = lines[0]
    return found


def pull_request_evidence(store: RegistryStore, commit: str) -> list[tuple[int, str]]:
    """The pull request git says a first-parent commit merged: a merge commit titled
    "Merge pull request #N from ..." or a commit titled "... (#N)"."""
    line = store.git.out("log", "-1", "--format=%P%x1f%s", commit)
    parents, _, subject = line.partition("\x1f")
    merge = _MERGE_SUBJECT.match(subject) if len(parents.split()) == 2 else None
    squash = _SQUASH_SUBJECT.search(subject) if len(parents.split()) == 1 else None
    found = merge or squash
    return [(int(found.group(1)), commit)] if found else []


class PushArrivals:
    """``arrived_by_pr`` for a push: whether the first-parent commit that brought each
    path is part of a merged pull request (asked of GitHub, else of git): the pull
    request's merge commit is that commit, or (a rebase merge) a later commit of the
    same push reached from it through single-parent commits only."""

    def __init__(
        self, store: RegistryStore, before: str, after: str, lookup: PullLookup | None
    ) -> None:
        self.store, self.lookup = store, lookup
        self.commits = arrivals(store, before, after)
        line = store.git.out("rev-list", "--first-parent", "--parents", f"{before}..{after}")
        rows = [row.split() for row in reversed(line.splitlines())]
        self.line = [row[0] for row in rows]  # oldest first
        self.merges = {row[0] for row in rows if len(row) > 2}
        self.answers: dict[str, bool] = {}

    def __call__(self, path: str) -> bool:
        commit = self.commits.get(path)
        if commit is None:
            return False
        if commit not in self.answers:
            ask = self.lookup or (lambda c: pull_request_evidence(self.store, c))
            merged = {sha for _, sha in ask(commit)}
            self.answers[commit] = bool(merged & self._rebased_onward(commit))
        return self.answers[commit]

    def _rebased_onward(self, commit: str) -> set[str]:
        """``commit`` and the later commits of the push a rebase merge would end on."""
        if commit not in self.line:
            return {commit}
        onward = {commit}
        for later in self.line[self.line.index(commit) + 1 :]:
            if later in self.merges or commit in self.merges:
                break
            onward.add(later)
        return onward
