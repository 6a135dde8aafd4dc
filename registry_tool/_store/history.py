"""Alias history from git: who moved which alias to which version, when it reached the
branch, who merged it, by which pull request, and why.

What an event says, and where each part comes from:

* The move: each commit that changed an alias file is one event (a merge commit only
  when its result differs from every parent: a conflict resolved to a version neither
  side named). ``previous`` is what the alias held just before, in the order the moves
  reached the branch, so a reader sees every move, not only the last. The moves of a
  merged branch count when its merge took the branch's file; when the merge kept its
  first parent's file or wrote one of its own, they never reached the branch and are
  left out.
* When and who merged: the first-parent line of the ref is the branch as it was, push
  by push. Every commit reached it through one commit of that line (a merge for a
  merged branch; the commit itself when made, squashed or rebased onto the line).
  ``when`` is that commit's committer time, ``merged_by`` its committer, ``merged_in``
  its id. ``authored_at``, ``author`` and ``email`` are the moving commit's own.
  GitHub records itself as the committer of what it merges on the web (the person who
  pressed the button is the author of a merge commit, and in GitHub's API).
* The pull request: only from a commit of the first-parent line, since any subject
  can be typed on a branch. A merge commit (two parents or more) whose subject is
  GitHub's "Merge pull request #N from owner/branch" numbers every commit it brought
  in (``pull_request_from`` "merge"); a single-parent commit of the line whose subject
  ends in " (#N)", as GitHub writes a squash merge, numbers itself ("squash"). A
  branch commit's own subject never counts, whatever it says.
* The trust boundary: a direct push to the branch can type " (#N)" and git cannot tell
  it from a squash merge. GitHub's ruleset "require a pull request before merging"
  closes that hole; ``pull_request_from`` says which rule gave the number, so a reader
  can weigh it. A rebase merge puts each commit on the line with its own subject: git
  alone cannot tell which pull request it came from, and the number stays None.
* The source: a model registry stage names a link; ``source`` (``project/name:vN``)
  and ``digest`` are what that link file said at the moving commit.

Three git processes whatever the length of the history: one ``git log`` of the ref's
commits and parents (the first-parent line, and which line commit brought in each
other commit) and, side by side with it, one of the alias files' changes; then one
``cat-file --batch-check`` for the blobs the events need (each link file at its move's
commit, each merged alias file before and after its merge).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from registry_tool._model.governance import LinkRecord
from registry_tool._model.layout import aliases_dir, link_file
from registry_tool._model.layout import parse as parse_path
from registry_tool._store.registry import RegistryStore
from registry_tool.errors import DocumentError, GitError

# NUL separates fields (git refuses it in names, emails and subjects), and git prints
# it from "%x00": an argument cannot hold it.
_FIELD = "\x00"


def _format(*fields: str) -> str:
    return "%x00".join(fields)


_MERGE_SUBJECT = re.compile(r"Merge pull request #([1-9][0-9]{0,9}) from [^\s/]+/\S+")
_SQUASH_SUBJECT = re.compile(r".*\S \(#([1-9][0-9]{0,9})\)")


@dataclass(frozen=True)
class AliasEvent:
    """One move of an alias; ``version`` None means the alias was removed, or, with
    ``error`` saying why, that its file at this commit could not be read.

    ``when`` is the time the move reached the ref, ``authored_at`` the time its commit
    was written; ``source`` and ``digest`` are set for model registry stages only.
    """

    alias: str
    version: int | None
    previous: int | None
    commit: str
    author: str
    email: str
    authored_at: str
    when: str
    merged_in: str
    merged_by: str
    merged_by_email: str
    message: str
    reason: str | None = None
    pull_request: int | None = None
    pull_request_from: str | None = None
    source: str | None = None
    digest: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Every field is a str, an int or None: no deep copy (``asdict``) is needed.
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class Landing:
    """The commit of the first-parent line through which commits reached the ref."""

    commit: str
    position: int  # on the first-parent line, the oldest commit 0
    first_parent: str | None
    committer: str
    committer_email: str
    when: str
    pull_request: int | None = None
    pull_request_from: str | None = None


def _pull_request(subject: str, parents: int) -> tuple[int | None, str | None]:
    """The number a commit of the first-parent line gives, and the rule that gave it."""
    if parents >= 2:
        match = _MERGE_SUBJECT.fullmatch(subject)
        return (int(match.group(1)), "merge") if match else (None, None)
    if parents == 1:
        match = _SQUASH_SUBJECT.fullmatch(subject)
        return (int(match.group(1)), "squash") if match else (None, None)
    return None, None


def landings(store: RegistryStore, ref: str = "HEAD") -> dict[str, Landing]:
    """Every commit of ``ref`` -> the commit of its first-parent line that brought it in.

    One ``git log`` of the commits and their parents, walked in memory: the line is
    followed from the tip by first parents, then each line commit, oldest first, takes
    the commits its other parents reach that no older line commit took (so a branch
    merged twice gives each commit to the merge that first brought it). Not
    ``repo.iter_commits``: its commits read their parents one object at a time through
    the ``cat-file`` reader, 8x slower for the 500 commits of a busy collection."""
    fmt = _format("%H", "%P", "%cn", "%ce", "%cI", "%s")
    proc = store.git.run("log", f"--format={fmt}", ref, "--", check=False)
    if proc.returncode != 0:
        return {}
    parents: dict[str, list[str]] = {}
    rows: dict[str, list[str]] = {}
    tip = None
    for row in proc.stdout.decode("utf-8", "replace").split("\n"):
        fields = row.split(_FIELD, 5)
        if len(fields) != 6:
            continue
        tip = tip or fields[0]
        parents[fields[0]] = fields[1].split()
        rows[fields[0]] = fields[2:]
    line: list[str] = []
    commit = tip
    while commit is not None and commit in rows:
        line.append(commit)
        commit = parents[commit][0] if parents[commit] else None
    out: dict[str, Landing] = {}
    for position, commit in enumerate(reversed(line)):
        name, email, when, subject = rows[commit]
        number, how = _pull_request(subject, len(parents[commit]))
        first = parents[commit][0] if parents[commit] else None
        landing = Landing(commit, position, first, name, email, when, number, how)
        out[commit] = landing
        # What an older line commit took, it took with all its ancestors: stop there.
        stack = list(parents[commit][1:])
        while stack:
            merged = stack.pop()
            if merged in out or merged not in parents:
                continue
            out[merged] = landing
            stack.extend(parents[merged])
    return out


def pull_requests(store: RegistryStore, ref: str = "HEAD") -> dict[str, int]:
    """Commit -> the number of the pull request that brought it in (see ``landings``
    and this module's docstring for the rule and its trust boundary)."""
    return {
        commit: landing.pull_request
        for commit, landing in landings(store, ref).items()
        if landing.pull_request is not None
    }


@dataclass(frozen=True)
class _Change:
    """One alias file as one commit left it (``blob`` None: removed)."""

    commit: str
    path: str
    blob: str | None
    header: list[str]  # author, email, author time, subject


def _changes(store: RegistryStore, ref: str, pathspec: str) -> list[_Change]:
    """Every commit's change to the alias files, parents before children.

    ``--full-history``: git's default simplification follows only the parent a merge
    kept a file from, and would hide a move on the first-parent line that a merged
    branch then overwrote. ``--cc`` prints a merge's change only where its result
    differs from every parent: the merge itself moved the alias."""
    fmt = _format("%H", "%an", "%ae", "%aI", "%s")
    proc = store.git.run(
        "log",
        "--full-history",
        "--topo-order",
        "--cc",
        "--no-renames",
        "--raw",
        "--no-abbrev",
        f"--format=%x00{fmt}",
        ref,
        "--",
        pathspec,
        check=False,
    )
    if proc.returncode != 0:
        return []
    out: list[_Change] = []
    for commit, header, raw in reversed(_records(proc.stdout)):
        if len(header) != 4:
            continue
        for line in raw:
            change = _raw_change(line)
            if change is not None:
                out.append(_Change(commit, change[0], change[1], header))
    return out


def _records(stdout: bytes) -> list[tuple[str, list[str], list[str]]]:
    """``(commit, its other fields, its --raw lines)`` of a log printed with a
    ``%x00``-led format. A record starts on a line that starts with NUL: no subject or
    name holds a newline or a NUL, so none can start a record of its own."""
    out: list[tuple[str, list[str], list[str]]] = []
    for line in stdout.decode("utf-8", "replace").split("\n"):
        if line.startswith(_FIELD):
            commit, *fields = line[1:].split(_FIELD)
            out.append((commit, fields, []))
        elif line.startswith(":") and out:
            out[-1][2].append(line)
    return out


def _raw_change(line: str) -> tuple[str, str | None] | None:
    """``(path, new blob or None)`` of one ``--raw`` line: ``:<modes> <blobs> <status>
    <tab> <path>``, with one more mode and blob per parent of a merge. The blob is read
    directly, no tree is walked."""
    meta, _, path = line.partition("\t")
    parents = len(meta) - len(meta.lstrip(":"))
    fields = meta.lstrip(":").split()
    if not parents or not path.endswith(".yaml") or len(fields) != 2 * parents + 3:
        return None
    blob = fields[2 * parents + 1]
    return path, (None if set(blob) == {"0"} else blob)


def _blob_ids(store: RegistryStore, names: set[str]) -> dict[str, str | None]:
    """``commit:path`` -> the blob there (None: no file), for all names in one ``git
    cat-file --batch-check``: one process, not a round trip per name."""
    if not names:
        return {}
    asked = sorted(names)
    proc = store.git.run(
        "cat-file", "--batch-check", input="".join(f"{n}\n" for n in asked).encode()
    )
    answers = proc.stdout.decode("utf-8", "replace").split("\n")
    out: dict[str, str | None] = dict.fromkeys(asked)
    for name, answer in zip(asked, answers, strict=False):
        fields = answer.split()
        if len(fields) == 3 and fields[1] == "blob":
            out[name] = fields[0]
    return out


@functools.lru_cache(maxsize=1024)
def _link_file(path: str, version: int | None) -> str | None:
    """The link file a registry stage file at ``path`` names; None for a project alias."""
    key = parse_path(path)
    if version is None or key is None or key.kind != "registry-alias":
        return None
    if not key.registry or not key.collection:
        return None
    return link_file(key.registry, key.collection, version)


def _source(store: RegistryStore, path: str, blob: str) -> tuple[str | None, str | None]:
    """``(project/name:vN, digest)`` as a link file's blob says; Nones when it cannot
    be read."""
    try:
        doc = store.docs.get(blob, "link", functools.partial(store.git.read_object, blob), path)
        link = LinkRecord.from_doc(doc)
    except (GitError, DocumentError):
        return None, None
    return link.source_path, link.digest


def alias_history(
    store: RegistryStore,
    project: str,
    name: str,
    alias: str | None = None,
    *,
    ref: str = "HEAD",
    folder: str | None = None,
    with_pull_requests: bool = True,
) -> list[AliasEvent]:
    """Every alias move of a collection, in the order the moves reached ``ref``
    (optionally of one alias).

    ``folder`` names another aliases folder (a model registry collection's, whose events
    carry their link's source and digest). ``with_pull_requests=False`` leaves the pull
    request fields None.
    """
    folder = folder or aliases_dir(project, name)
    pathspec = f"{folder}/{alias}.yaml" if alias else folder
    # The two walks are independent git processes: run side by side, the history costs
    # the longer of them, not their sum.
    with ThreadPoolExecutor(max_workers=1) as pool:
        walk = pool.submit(landings, store, ref)
        changes = _changes(store, ref, pathspec)
        landed = walk.result()
    if not changes:
        return []
    read = [_read_alias(store, c) for c in changes]
    # One batch of blob look-ups: the link file each move names, at its commit, and the
    # file before and after each merge that brought a branch's moves in.
    own = {(c.commit, c.path) for c in changes}
    names: set[str] = set()
    for change, (version, _, _) in zip(changes, read, strict=True):
        landing = landed.get(change.commit)
        if landing is not None and landing.commit != change.commit and landing.first_parent:
            names.update(
                (f"{landing.commit}:{change.path}", f"{landing.first_parent}:{change.path}")
            )
        link = _link_file(change.path, version)
        if link is not None:
            names.add(f"{change.commit}:{link}")
    blobs = _blob_ids(store, names)

    def reached(change: _Change, landing: Landing) -> bool:
        """Whether the move reached the line: made on it, or brought in by a merge that
        took the branch's file (changed it against its first parent, and not to a
        version of its own)."""
        if landing.commit == change.commit:
            return True
        merged, before = f"{landing.commit}:{change.path}", f"{landing.first_parent}:{change.path}"
        return (landing.commit, change.path) not in own and blobs.get(merged) != blobs.get(before)

    arrived = [
        (landed[c.commit], c, doc)
        for c, doc in zip(changes, read, strict=True)
        if c.commit in landed and reached(c, landed[c.commit])
    ]
    # Stable: within one landing, the order of the walk (parents before children).
    arrived.sort(key=lambda found: found[0].position)
    events: list[AliasEvent] = []
    held: dict[str, int | None] = {}
    sources: dict[str, tuple[str | None, str | None]] = {}
    for landing, change, (version, reason, error) in arrived:
        name_of_alias = change.path.rsplit("/", 1)[-1].removesuffix(".yaml")
        link = _link_file(change.path, version)
        blob = blobs[f"{change.commit}:{link}"] if link else None
        if link and blob and blob not in sources:
            sources[blob] = _source(store, link, blob)  # every move to a version names it
        source, digest = sources[blob] if blob else (None, None)
        author, email, authored_at, subject = change.header
        events.append(
            AliasEvent(
                alias=name_of_alias,
                version=version,
                previous=held.get(name_of_alias),
                commit=change.commit,
                author=author,
                email=email,
                authored_at=authored_at,
                when=landing.when,
                merged_in=landing.commit,
                merged_by=landing.committer,
                merged_by_email=landing.committer_email,
                message=subject,
                reason=reason,
                pull_request=landing.pull_request if with_pull_requests else None,
                pull_request_from=landing.pull_request_from if with_pull_requests else None,
                source=source,
                digest=digest,
                error=error,
            )
        )
        held[name_of_alias] = version
    return events


def _read_alias(store: RegistryStore, change: _Change) -> tuple[int | None, str | None, str | None]:
    """The version and reason an alias file names, or why it cannot be read (all
    None: the file was removed)."""
    if change.blob is None:
        return None, None, None
    blob = change.blob
    try:
        doc = store.docs.get(
            blob, "alias", functools.partial(store.git.read_object, blob), change.path
        )
    except DocumentError as exc:
        return None, None, str(exc)
    except GitError as exc:
        return None, None, f"{change.path}: {exc}"
    reason = doc.get("reason")
    return doc["version"], reason if isinstance(reason, str) else None, None
