"""Alias history from git: who moved which alias to which version, when and why.

Each commit that touched an alias file is one event; the version it moved from is the
one the alias held just before, so a reader sees every move, not only the last.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from registry_tool import yamlio
from registry_tool.errors import DocumentError
from registry_tool.model.records import collection_dir
from registry_tool.store.git import Snapshot
from registry_tool.store.registry import RegistryStore

_SEP = "\x1f"


@dataclass(frozen=True)
class AliasEvent:
    """One move of an alias; ``version`` None means the alias was removed."""

    alias: str
    version: int | None
    previous: int | None
    commit: str
    author: str
    email: str
    when: str
    message: str
    reason: str | None = None
    pull_request: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def alias_history(
    store: RegistryStore,
    project: str,
    name: str,
    alias: str | None = None,
    *,
    ref: str = "HEAD",
    folder: str | None = None,
) -> list[AliasEvent]:
    """Every alias move of a collection, oldest first (optionally of one alias).

    ``folder`` names another aliases folder (a model registry collection's).
    """
    folder = folder or f"{collection_dir(project, name)}/aliases"
    pathspec = f"{folder}/{alias}.yaml" if alias else folder
    proc = store.git.run(
        "log",
        "--reverse",
        "--no-renames",
        f"--format=%x1e%H{_SEP}%an{_SEP}%ae{_SEP}%aI{_SEP}%s",
        "--name-status",
        ref,
        "--",
        pathspec,
        check=False,
    )
    if proc.returncode != 0:
        return []
    events: list[AliasEvent] = []
    held: dict[str, int | None] = {}
    for block in proc.stdout.decode("utf-8", "replace").split("\x1e"):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        commit, author, email, when, subject = lines[0].split(_SEP, 4)
        snap = Snapshot(store.git, commit)
        for line in lines[1:]:
            status, _, path = line.partition("\t")
            if not path.endswith(".yaml"):
                continue
            name_of_alias = path.rsplit("/", 1)[1].removesuffix(".yaml")
            version: int | None = None
            reason = None
            if not status.startswith("D"):
                data = snap.read(path)
                try:
                    doc = yamlio.loads(data or b"", path)
                except DocumentError:
                    doc = None
                if isinstance(doc, dict) and isinstance(doc.get("version"), int):
                    version = doc["version"]
                    reason = doc.get("reason")
            events.append(
                AliasEvent(
                    alias=name_of_alias,
                    version=version,
                    previous=held.get(name_of_alias),
                    commit=commit,
                    author=author,
                    email=email,
                    when=when,
                    message=subject,
                    reason=reason,
                )
            )
            held[name_of_alias] = version
    if events:
        numbers = pull_requests(store, ref)
        events = [replace(e, pull_request=numbers.get(e.commit)) for e in events]
    return events


_PR_NUMBER = re.compile(r"(?:Merge pull request #|\(#)(\d+)")


def pull_requests(store: RegistryStore, ref: str = "HEAD") -> dict[str, int]:
    """Commit -> the number of the pull request that brought it in: a merge commit
    ("Merge pull request #12 ...") numbers every commit it merged; a squash merge
    ("... (#12)") numbers itself."""
    proc = store.git.run("log", "--format=%H%x1f%P%x1f%s", ref, check=False)
    out: dict[str, int] = {}
    for row in proc.stdout.decode("utf-8", "replace").splitlines():
        commit, parents, subject = row.split(_SEP, 2)
        match = _PR_NUMBER.search(subject)
        if not match:
            continue
        number = int(match.group(1))
        out.setdefault(commit, number)
        parent_list = parents.split()
        if len(parent_list) == 2:
            merged = store.git.out("rev-list", f"{parent_list[0]}..{parent_list[1]}", check=False)
            for merged_commit in merged.split():
                out.setdefault(merged_commit, number)
    return out
