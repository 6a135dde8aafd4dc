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

Three git processes whatever the length of the history: one ``git log`` of every
commit of the ref, with its parents (the first-parent line, and which line commit
brought in each other commit) and its changes to every alias file of the registry;
then one ``cat-file --batch`` for the alias files the moves wrote and each merged alias
file before and after its merge, and one for the link file each move names. The log
is kept for the commit it read, so the histories of many collections at one commit
(``check`` judging every protected stage, the site) share it.

A shallow clone's history is cut short: what it would say is refused (``refuse_shallow``).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry_tool._model.governance import LinkRecord
from registry_tool._model.layout import alias_file, aliases_dir, link_file, registry_alias_file
from registry_tool._model.layout import parse as parse_path
from registry_tool._store.git import Git
from registry_tool._store.objects import Found, read_objects
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


# -- shallow clones ----------------------------------------------------------------------


def is_shallow(git: Git) -> bool:
    """Whether the repository is a shallow clone: git's own test (what ``git rev-parse
    --is-shallow-repository`` runs), a non-empty ``shallow`` file in its git dir, read
    here without a process: ``check`` asks once per stage history."""
    try:
        return (Path(git.repo.common_dir) / "shallow").stat().st_size > 0
    except OSError:
        return False


def refuse_shallow(store: RegistryStore) -> None:
    """Raise :class:`GitError` on a shallow clone: git history there stops at the cut,
    and whatever history says (moves, who merged them, whether a version held a stage
    before) would be said wrongly, without a word."""
    if is_shallow(store.git):
        raise GitError(
            f"{store.root} is a shallow clone: its git history is cut short, so the history "
            "of aliases and stages read from it would be wrong; fetch the rest with "
            f"'git -C {store.root} fetch --unshallow' (in GitHub Actions: actions/checkout "
            "with fetch-depth: 0)"
        )


# -- the log --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    """One alias file as one commit left it (``blob`` None: removed)."""

    commit: str
    path: str
    blob: str | None
    header: list[str]  # author, email, author time, subject


@dataclass(frozen=True)
class _Log:
    landings: dict[str, Landing]
    changes: list[_Change]  # every alias file's changes, parents before children
    # stage_moves's answers at this commit, by (registry, stage)
    moves: dict[tuple[str, str], dict[str, list[AliasEvent]]] = dataclasses.field(
        default_factory=dict
    )


# Parsed logs by repository and commit: every history at one commit reads one log.
_LOGS: weakref.WeakKeyDictionary[Git, dict[tuple[str, tuple[str, ...]], _Log]] = (
    weakref.WeakKeyDictionary()
)
# Every alias file of the registry (project aliases and registry stages): ``*`` in a
# glob pathspec stops at a slash.
_ALIAS_FILES = (alias_file("*", "*", "*"), registry_alias_file("*", "*", "*"))


def _commit(store: RegistryStore, ref: str) -> str | None:
    if re.fullmatch(r"[0-9a-f]{40}", ref):
        return ref
    return store.git.rev_parse(ref)


def _log(store: RegistryStore, ref: str, pathspecs: tuple[str, ...] = _ALIAS_FILES) -> _Log:
    """One ``git log`` of every commit of ``ref`` with its parents and its changes to
    the files of ``pathspecs``, parents before children.

    ``--sparse`` keeps every commit (the first-parent line needs them all) while the
    pathspec still limits what ``--raw`` prints. ``--full-history``: git's default
    simplification follows only the parent a merge kept a file from, and would hide a
    move on the first-parent line that a merged branch then overwrote. ``--cc`` prints a
    merge's change only where its result differs from every parent: the merge itself
    moved the alias."""
    commit = _commit(store, ref)
    if commit is None:
        return _Log({}, [])
    cache = _LOGS.setdefault(store.git, {})
    key = (commit, pathspecs)
    if key in cache:
        return cache[key]
    fields = ("%H", "%P", "%cn", "%ce", "%cI", "%an", "%ae", "%aI", "%s")
    proc = store.git.run(
        "log",
        "--full-history",
        "--sparse",
        "--topo-order",
        "--cc",
        "--no-renames",
        "--raw",
        "--no-abbrev",
        f"--format=%x00{_format(*fields)}",
        commit,
        "--",
        *(f":(glob){spec}" for spec in pathspecs),
        check=False,
    )
    records = _records(proc.stdout) if proc.returncode == 0 else []
    parents: dict[str, list[str]] = {}
    rows: dict[str, list[str]] = {}
    changes: list[_Change] = []
    for sha, header, raw in reversed(records):
        if len(header) != len(fields) - 1:
            continue
        parents[sha] = header[0].split()
        rows[sha] = header[1:4] + header[7:8]  # committer, email, time; subject
        for line in raw:
            change = _raw_change(line)
            if change is not None:
                changes.append(_Change(sha, change[0], change[1], header[4:8]))
    tip = records[0][0] if records else None
    found = _Log(_landings(tip, parents, rows), changes)
    if len(cache) >= 4:
        cache.clear()  # a long-lived process moving on: the old commits' logs go
    cache[key] = found
    return found


def _landings(
    tip: str | None, parents: dict[str, list[str]], rows: dict[str, list[str]]
) -> dict[str, Landing]:
    """Every commit -> the commit of the tip's first-parent line that brought it in: the
    line is followed from the tip by first parents, then each line commit, oldest
    first, takes the commits its other parents reach that no older line commit took (so
    a branch merged twice gives each commit to the merge that first brought it)."""
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


def landings(store: RegistryStore, ref: str = "HEAD") -> dict[str, Landing]:
    """Every commit of ``ref`` -> the commit of its first-parent line that brought it in
    (see ``_landings``), from the one log of ``_log``. Not ``repo.iter_commits``: its
    commits read their parents one object at a time through the ``cat-file`` reader, 8x
    slower for the 500 commits of a busy collection."""
    return _log(store, ref).landings


def pull_requests(store: RegistryStore, ref: str = "HEAD") -> dict[str, int]:
    """Commit -> the number of the pull request that brought it in (see ``landings``
    and this module's docstring for the rule and its trust boundary)."""
    return {
        commit: landing.pull_request
        for commit, landing in landings(store, ref).items()
        if landing.pull_request is not None
    }


def _records(stdout: bytes) -> list[tuple[str, list[str], list[str]]]:
    """``(commit, its other fields, its --raw lines)`` of a log printed with a
    ``%x00``-led format, newest first. A record starts on a line that starts with NUL:
    no subject or name holds a newline or a NUL, so none can start a record of its own."""
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


@functools.lru_cache(maxsize=1024)
def _link_file(path: str, version: int | None) -> str | None:
    """The link file a registry stage file at ``path`` names; None for a project alias."""
    key = parse_path(path)
    if version is None or key is None or key.kind != "registry-alias":
        return None
    if not key.registry or not key.collection:
        return None
    return link_file(key.registry, key.collection, version)


def _doc(store: RegistryStore, found: Found | None, sha: str, kind: str, path: str) -> Any:
    """The document with blob id ``sha`` (read before, as ``found``), through the
    store's document cache; a GitError when the cache lacks it and git could not give
    its bytes."""

    def read() -> bytes:
        if found is None or found.data is None:
            problem = found.problem if found is not None else "missing"
            raise GitError(f"git object {sha} is {problem}")
        return found.data

    return store.docs.get(sha, kind, read, path)


def _source(store: RegistryStore, path: str, found: Found | None) -> tuple[str | None, str | None]:
    """``(project/name:vN, digest)`` as a link file says; Nones when it cannot be read."""
    if found is None or found.oid is None:
        return None, None
    try:
        link = LinkRecord.from_doc(_doc(store, found, found.oid, "link", path))
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
    shared: bool = False,
) -> list[AliasEvent]:
    """Every alias move of a collection, in the order the moves reached ``ref``
    (optionally of one alias). A shallow clone is refused (``refuse_shallow``).

    ``folder`` names another aliases folder (a model registry collection's, whose events
    carry their link's source and digest). ``with_pull_requests=False`` leaves the pull
    request fields None. ``shared``: read (once per commit) the log of every alias file
    of the registry, for a caller that asks for many collections' histories (the site);
    otherwise git walks only this folder's files.
    """
    refuse_shallow(store)
    folder = folder or aliases_dir(project, name)
    key = parse_path(f"{folder}/x.yaml")
    standard = key is not None and key.kind in ("alias", "registry-alias")
    wanted = f"{folder}/{alias}.yaml" if alias else None
    log = (
        _log(store, ref)
        if shared and standard
        else _log(store, ref, (wanted or f"{folder}/*.yaml",))
    )
    changes = [
        c
        for c in log.changes
        if (c.path == wanted if wanted else c.path.rpartition("/")[0] == folder)
    ]
    return [event for _, event in _events(store, log, changes, with_pull_requests)]


def stage_moves(
    store: RegistryStore, registry: str, stage: str, *, ref: str = "HEAD"
) -> dict[str, list[AliasEvent]]:
    """Every move of one stage in each collection of a model registry, by collection,
    in the order the moves reached ``ref``: what :func:`alias_history` gives for each
    collection's stage, from one read of the history for them all (a full ``check``
    asks this of every holder of a stage). The pull request, source and digest fields
    are left None: the stage-order rule needs only the versions."""
    refuse_shallow(store)
    # One log limited to this stage's files: git walks only those paths' history.
    log = _log(store, ref, (registry_alias_file(registry, "*", stage),))
    if (registry, stage) in log.moves:
        return log.moves[registry, stage]
    moves: dict[str, list[AliasEvent]] = {}
    events = _events(store, log, log.changes, with_pull_requests=False, with_sources=False)
    for path, event in events:
        collection = parse_path(path).collection  # type: ignore[union-attr]
        moves.setdefault(str(collection), []).append(event)
    log.moves[registry, stage] = moves
    return moves


def _events(
    store: RegistryStore,
    log: _Log,
    changes: list[_Change],
    with_pull_requests: bool,
    *,
    with_sources: bool = True,
) -> list[tuple[str, AliasEvent]]:
    """The alias files' ``changes`` that reached the log's tip, as events (each with
    the path of its alias file), in the order they reached it: two batch reads of git
    objects whatever the number of changes (one without ``with_sources``, which leaves
    each event's link source and digest None)."""
    if not changes:
        return []
    landed = log.landings
    # One batch: the alias files the moves wrote, and the file before and after each
    # merge that brought a branch's moves in (their ids tell whether it took them).
    own = {(c.commit, c.path) for c in changes}
    merges: list[str] = []
    for change in changes:
        landing = landed.get(change.commit)
        if landing is not None and landing.commit != change.commit and landing.first_parent:
            merges += (f"{landing.commit}:{change.path}", f"{landing.first_parent}:{change.path}")
    first = read_objects(store.git, [*(c.blob for c in changes if c.blob), *merges])
    read = [_read_alias(store, c, first.get(c.blob or "")) for c in changes]
    # And one for the link file each move to a version names, at its commit.
    links = [
        f"{c.commit}:{link}"
        if with_sources and (link := _link_file(c.path, version)) is not None
        else None
        for c, (version, _, _) in zip(changes, read, strict=True)
    ]
    named = [name for name in links if name is not None]
    second = read_objects(store.git, named) if named else {}

    def oid(name: str) -> str | None:
        found = first.get(name)
        return found.oid if found is not None else None

    def reached(change: _Change, landing: Landing) -> bool:
        """Whether the move reached the line: made on it, or brought in by a merge that
        took the branch's file (changed it against its first parent, and not to a
        version of its own)."""
        if landing.commit == change.commit:
            return True
        merged, before = f"{landing.commit}:{change.path}", f"{landing.first_parent}:{change.path}"
        return (landing.commit, change.path) not in own and oid(merged) != oid(before)

    arrived = [
        (landed[c.commit], c, doc, link)
        for c, doc, link in zip(changes, read, links, strict=True)
        if c.commit in landed and reached(c, landed[c.commit])
    ]
    # Stable: within one landing, the order of the walk (parents before children).
    arrived.sort(key=lambda found: found[0].position)
    events: list[tuple[str, AliasEvent]] = []
    held: dict[str, int | None] = {}
    sources: dict[str, tuple[str | None, str | None]] = {}
    for landing, change, (version, reason, error), link in arrived:
        name_of_alias = change.path.rsplit("/", 1)[-1].removesuffix(".yaml")
        found = second.get(link) if link is not None else None
        blob = found.oid if found is not None else None
        if link and blob and blob not in sources:  # every move to a version names its link
            sources[blob] = _source(store, link.partition(":")[2], found)
        source, digest = sources[blob] if blob else (None, None)
        author, email, authored_at, subject = change.header
        events.append(
            (
                change.path,
                AliasEvent(
                    alias=name_of_alias,
                    version=version,
                    previous=held.get(change.path),
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
                ),
            )
        )
        held[change.path] = version
    return events


def _read_alias(
    store: RegistryStore, change: _Change, found: Found | None
) -> tuple[int | None, str | None, str | None]:
    """The version and reason an alias file names, or why it cannot be read (all
    None: the file was removed)."""
    if change.blob is None:
        return None, None, None
    try:
        doc = _doc(store, found, change.blob, "alias", change.path)
    except DocumentError as exc:
        return None, None, str(exc)
    except GitError as exc:
        return None, None, f"{change.path}: {exc}"
    reason = doc.get("reason")
    return doc["version"], reason if isinstance(reason, str) else None, None
