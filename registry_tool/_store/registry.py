"""The Git-backed registry store: open, read and validate documents, write commits.

>>> store = RegistryStore.open("/path/to/registry")          # doctest: +SKIP
>>> store.read_version(store.head(), "proj", "data", 3)       # doctest: +SKIP

A write is a function from the current snapshot to a set of file changes. It runs under
a lock on the clone, is committed with a compare-and-swap on the branch, and, when the
registry has a remote, pushed; a rejected push fetches and runs the function again on
the new tip, so a version number another writer took is renumbered. With a remote, the
commit is pushed before the local branch moves to it, so a writer killed at any point
leaves no local commit the remote lacks for the next write to trip over.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import random
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from registry_tool import _schemas as schemas
from registry_tool import _yamlio as yamlio
from registry_tool._locking import file_lock
from registry_tool._model.layout import (
    PROJECTS,
    REGISTRY_FILE,
    alias_file,
    aliases_dir,
    collection_file,
    project_dir,
    run_file,
    runs_dir,
    version_file,
    versions_dir,
)
from registry_tool._model.records import (
    AliasRecord,
    CollectionRecord,
    RegistryConfig,
    RunRecord,
    VersionRecord,
)
from registry_tool._store import versions
from registry_tool._store.docs import DocCache
from registry_tool._store.git import Git, Snapshot
from registry_tool._store.paths import cache_home
from registry_tool._store.versions import VersionIndex, VersionSummary
from registry_tool.errors import DocumentError, GitError, NotFoundError

T = TypeVar("T")

# Another writer got there first (or holds the remote's ref lock right now): fetch,
# rebuild on their tip and push again.
_PUSH_REJECTED = re.compile(
    r"\[(remote )?rejected\]|\(fetch first\)|non-fast-forward|stale info|cannot lock ref"
    r"|failed to update ref|incorrect old value",
    re.I,
)
# The remote refused the branch itself (branch protection, a ruleset, a pre-receive
# hook): no amount of rebuilding gets past that, so it is reported at once, never
# retried as if another writer had won. "[remote rejected] ... (cannot lock ref ...)" is
# a race and stays with _PUSH_REJECTED. GitHub's own words (GH006 protected branch, GH013
# rules) say more than the hook's status, so the error quotes them when they are there.
_PROTECTED = re.compile(r"GH0\d\d\b[^\n]*")
_HOOK_DECLINED = re.compile(r"\(((?:protected branch|pre-receive) hook declined)\)", re.I)
# Any other reason the remote gives for refusing the ref ("branch is currently checked
# out" from a non-bare remote, "deletion prohibited", ...) but the races above.
_REMOTE_REJECTED = re.compile(r"\[remote rejected\][^(\n]*\(([^)\n]+)\)")
_RACE = re.compile(r"cannot lock ref|failed to update ref|incorrect old value|stale info", re.I)
# How long a write keeps rebuilding and pushing again while other writers win the race
# (each loss means another write landed, so the registry as a whole makes progress).
PUSH_PATIENCE = 300.0
# Failed pushes that were not rejections (remote unreachable) before giving up.
PUSH_FAILURES = 3
_SYNC_MARKER = "registry-tool-sync"
# sh -c script: $1 reflog message, $2 ref, $3 new commit, $4 old (CAS), $5 old or "".
_ADVANCE = """git update-ref -m "$1" "$2" "$3" "$4" || exit 3
if [ -n "$5" ]; then exec git read-tree -m -u "$5" "$3"; fi
exec git read-tree -m -u "$3"
"""
_DIGEST_LINE = re.compile(rb"^digest: '?([0-9a-f]{64})'?$", re.M)


def blob_id(data: bytes) -> str:
    """The git object id of a blob with these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def now() -> str:
    """The current UTC time as an ISO 8601 string (what every record stores)."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class Change(Generic[T]):
    """What a write produces: files to write (None deletes), a message and a result."""

    files: dict[str, bytes | None] = field(default_factory=dict)
    message: str = ""
    result: T | None = None
    docs: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    def put(self, path: str, doc: Mapping[str, Any], kind: str) -> None:
        """Add a document, validated against its schema before anything is written."""
        check_document(doc, kind, path)
        self.files[path] = yamlio.dumps(doc, path=path)
        self.docs[path] = (kind, dict(doc))


def check_document(doc: Mapping[str, Any], kind: str, path: str) -> None:
    """Refuse a document the registry could not hold: an integer beyond 64 bits (first:
    the schema's size check cannot even measure one of 5,000 digits), then its schema."""
    wide = yamlio.wide_integer(doc)
    if wide is not None:
        raise DocumentError(path, wide, yamlio.WIDE_INTEGER)
    schemas.validate(doc, kind, path)


@dataclass(frozen=True)
class WriteResult(Generic[T]):
    result: T | None
    commit: str | None


class RegistryStore:
    """A registry repo on disk (a clone with a working tree)."""

    def __init__(
        self, root: Path, repo: Git, config: RegistryConfig, docs: DocCache | None = None
    ) -> None:
        self.root = root
        self.git = repo
        self.config = config
        self.docs = docs or DocCache(cache_home() / "docs")
        self.index = VersionIndex(self.docs.root.parent / "versions.sqlite")

    # -- opening -------------------------------------------------------------------

    @classmethod
    def open(cls, root: Path | str) -> RegistryStore:
        root = Path(root).resolve()
        cfg_path = root / REGISTRY_FILE
        if not cfg_path.is_file():
            raise NotFoundError(f"{root} is not a registry: it has no {REGISTRY_FILE}")
        repo = Git(root)
        repo.env.update(_identity_env(repo))
        docs = DocCache(cache_home() / "docs")
        data = cfg_path.read_bytes()
        doc = docs.get(blob_id(data), "registry", lambda: data, REGISTRY_FILE)
        return cls(root, repo, RegistryConfig.from_doc(doc), docs)

    @property
    def name(self) -> str:
        return self.config.name

    # -- reading -------------------------------------------------------------------

    def head(self) -> Snapshot:
        """The registry as committed on the current branch."""
        branch = self.git.current_branch()
        commit = (
            self.git.rev_parse(f"refs/heads/{branch}") if branch else self.git.rev_parse("HEAD")
        )
        return Snapshot(self.git, commit)

    def snapshot(self, ref: str) -> Snapshot:
        commit = self.git.rev_parse(ref)
        if commit is None:
            raise NotFoundError(f"no commit {ref!r} in {self.root}")
        return Snapshot(self.git, commit)

    def load(self, snap: Snapshot, path: str, kind: str) -> dict[str, Any] | None:
        """A validated document, or None when the file does not exist."""
        entry = snap.entry(path)
        if entry is None or entry.is_dir:
            return None
        return self.docs.get(entry.sha, kind, lambda: snap.git.read_object(entry.sha), path)

    def read_collection(self, snap: Snapshot, project: str, name: str) -> CollectionRecord | None:
        doc = self.load(snap, collection_file(project, name), "collection")
        return CollectionRecord.from_doc(doc) if doc else None

    def read_version(
        self, snap: Snapshot, project: str, name: str, version: int
    ) -> VersionRecord | None:
        path = version_file(project, name, version)
        doc = self.load(snap, path, "version")
        if doc is None:
            return None
        record = VersionRecord.from_doc(doc)
        if (record.project, record.name, record.version) != (project, name, version):
            raise DocumentError(
                path,
                "$",
                f"names {record.project}/{record.name}:v{record.version}, "
                "not the version its path says",
            )
        return record

    def version_numbers(self, snap: Snapshot, project: str, name: str) -> list[int]:
        return sorted(versions.numbered(snap, project, name))

    def version_summaries(
        self, snap: Snapshot, project: str, name: str
    ) -> dict[int, VersionSummary]:
        """Every version file of a collection, summarised, by number (ascending), from
        the version index (``versions.summaries``)."""
        return versions.summaries(self.index, snap, project, name, self.read_version)

    def live_version_with_digest(
        self, snap: Snapshot, project: str, name: str, digest: str
    ) -> VersionRecord | None:
        """The newest version of a collection with this artifact digest that is not
        deleted, or None (``versions.newest_live``)."""
        return versions.newest_live(self.index, snap, project, name, digest, self.read_version)

    def is_deleted(self, snap: Snapshot, project: str, name: str, version: int) -> bool:
        """Whether the version carries a delete mark (False when there is no such
        version). Most version files never were: the bytes tell without parsing."""
        data = snap.read(version_file(project, name, version))
        if data is None or b"deleted" not in data:
            return False
        record = self.read_version(snap, project, name, version)
        return record is not None and record.deleted is not None

    def version_digest(self, snap: Snapshot, project: str, name: str, version: int) -> str | None:
        """A version's artifact digest, read without parsing its manifest."""
        data = snap.read(version_file(project, name, version))
        if data is None:
            return None
        match = _DIGEST_LINE.search(data, 0, 4096)
        if match:
            return match.group(1).decode()
        record = self.read_version(snap, project, name, version)
        return record.digest if record else None

    def read_alias(self, snap: Snapshot, project: str, name: str, alias: str) -> AliasRecord | None:
        doc = self.load(snap, alias_file(project, name, alias), "alias")
        return AliasRecord.from_doc(doc) if doc else None

    def aliases(self, snap: Snapshot, project: str, name: str) -> dict[str, AliasRecord]:
        out = {}
        for filename in sorted(snap.listdir(aliases_dir(project, name))):
            if filename.endswith(".yaml"):
                alias = filename.removesuffix(".yaml")
                record = self.read_alias(snap, project, name, alias)
                if record:
                    out[alias] = record
        return out

    def read_run(self, snap: Snapshot, project: str, run_id: str) -> RunRecord | None:
        doc = self.load(snap, run_file(project, run_id), "run")
        return RunRecord.from_doc(doc) if doc else None

    def projects(self, snap: Snapshot) -> list[str]:
        return sorted(n for n, e in snap.listdir(PROJECTS).items() if e.is_dir)

    def collections(self, snap: Snapshot, project: str) -> list[str]:
        return sorted(
            n
            for n, e in snap.listdir(project_dir(project)).items()
            if e.is_dir and snap.exists(collection_file(project, n))
        )

    def runs(self, snap: Snapshot, project: str) -> Iterator[RunRecord]:
        for filename in sorted(snap.listdir(runs_dir(project))):
            if filename.endswith(".yaml"):
                record = self.read_run(snap, project, filename.removesuffix(".yaml"))
                if record:
                    yield record

    # -- writing -------------------------------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The clone's write lock: one writer at a time per clone."""
        with ExitStack() as stack:
            try:
                path = self.git.objects.parent / "registry-tool.lock"
                stack.enter_context(file_lock(path, timeout=600, error=GitError))
            except OSError as exc:
                raise GitError(f"cannot write to {self.root}: {exc.strerror}") from exc
            yield

    def check_writable(self) -> str:
        """The branch a write would move, or why nothing may be written now: a detached
        HEAD, a git operation left unfinished, a read-only disk. Checked before a log
        stores its first blob, and again by every write."""
        unfinished = self.git.unfinished()  # (first: a rebase also detaches HEAD)
        if unfinished is not None:
            raise GitError(f"{self.root}: {unfinished}, then write again")
        branch = self.git.current_branch()
        if branch is None:
            raise GitError(f"{self.root} has a detached HEAD: check out a branch to write")
        gitdir = self.git.objects.parent
        if os.statvfs(gitdir).f_flag & os.ST_RDONLY:
            raise GitError(f"{self.root} is on a read-only file system: nothing was written")
        return branch

    def remote(self) -> str | None:
        branch = self.git.current_branch()
        if branch:
            configured = self.git.config(f"branch.{branch}.remote")
            if configured:
                return configured
        remotes = self.git.remote_names()
        return "origin" if "origin" in remotes else (remotes[0] if remotes else None)

    def write(self, build: Callable[[Snapshot], Change[T]]) -> WriteResult[T]:
        """Commit what ``build`` returns for the current tip; push when there is a remote.

        ``build`` may run more than once (another writer moved the tip first): it must
        derive everything, version numbers included, from the snapshot it is given.
        """
        branch = self.check_writable()
        ref = f"refs/heads/{branch}"
        with self.lock():
            self._finish_interrupted_sync(ref)
            parent = self.git.rev_parse(ref)
            change = build(Snapshot(self.git, parent))
            if not change.files:
                return WriteResult(change.result, None)
            remote = self.remote()
            if remote is None:
                commit = self._new_commit(parent, change)
                self._advance(ref, parent, commit, change.message)
            else:
                change, commit = self._push(remote, branch, ref, parent, change, build)
        self.git.pack_now_and_then()
        return WriteResult(change.result, commit)

    def remote_url(self) -> str | None:
        remote = self.remote()
        if remote is None:
            return None
        return self.git.out("remote", "get-url", remote, check=False) or None

    def _tree_for(self, parent: str | None, change: Change[Any]) -> str:
        snap = Snapshot(self.git, parent)
        tree = snap.with_changes(change.files)
        written: list[tuple[str, VersionSummary]] = []
        folders: set[tuple[str, str]] = set()
        for path, (kind, doc) in change.docs.items():
            data = change.files.get(path)
            if data is not None:
                self.docs.prime(blob_id(data), kind, doc)
                if kind == "version":  # the next log or ls finds it summarised
                    written.append((blob_id(data), VersionSummary.of_doc(doc)))
                    folders.add((doc["project"], doc["name"]))
        self.index.put_many(written, complete=self._completed(snap, change, folders))
        return tree

    def _completed(
        self, before: Snapshot, change: Change[Any], folders: set[tuple[str, str]]
    ) -> list[str]:
        """The versions folders this change writes that it leaves complete in the index
        (every file with a row): those that were complete, or new, and in which it
        writes only the version files it just summarised. The next log into such a
        folder then looks up no blob id but its own digest's."""
        done = []
        for project, name in folders:
            folder = versions_dir(project, name)
            old = versions.folder_tree(before, project, name)
            new = before.written.get(folder)
            ours = all(
                change.docs.get(path, ("", None))[0] == "version"
                for path in change.files
                if path.rpartition("/")[0] == folder
            )
            if new is not None and ours and (old is None or self.index.complete(old)):
                done.append(new)
        return done

    def _new_commit(self, parent: str | None, change: Change[Any]) -> str:
        """A commit of ``change`` on ``parent``, on no branch yet."""
        tree = self._tree_for(parent, change)
        args = ["commit-tree", tree, "-m", change.message]
        if parent:
            args[2:2] = ["-p", parent]
        return self.git.out(*args)

    def _advance(self, ref: str, old: str | None, new: str, message: str) -> None:
        """Move ``ref`` from ``old`` to ``new`` (compare-and-swap) and bring the index and
        working tree along, keeping the user's changes to other paths.

        One child shell runs both git commands: a writer killed between them (SIGKILL
        reaches this process, not its children) cannot leave the branch moved and the
        index behind, which would show the new files as deleted. Should the shell die
        too, the marker tells the next write to finish the sync."""
        marker = self.git.objects.parent / _SYNC_MARKER
        tmp = marker.with_name(f"{_SYNC_MARKER}.{os.getpid()}")
        tmp.write_text(f"{old or ''} {new}\n")
        os.replace(tmp, marker)
        cas = old or "0" * 40
        proc = subprocess.run(
            ["sh", "-c", _ADVANCE, "sh", message.splitlines()[0], ref, new, cas, old or ""],
            cwd=self.root,
            env={**os.environ, **self.git.env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            reason = detail[-1] if detail else f"exit code {proc.returncode}"
            if proc.returncode == 3:
                marker.unlink(missing_ok=True)
                raise GitError(f"git update-ref failed in {self.root}: {reason}")
            raise GitError(
                f"committed {new[:12]} but could not update the working tree of {self.root}: "
                f"{reason} (run 'git reset --keep HEAD')"
            )
        marker.unlink(missing_ok=True)

    def _finish_interrupted_sync(self, ref: str) -> None:
        """Finish the working-tree sync of a writer that was killed after moving the
        branch: without it the index would keep the files of that commit as deleted."""
        marker = self.git.objects.parent / _SYNC_MARKER
        try:
            old, new = marker.read_text().split(" ")
        except (OSError, ValueError):
            marker.unlink(missing_ok=True)
            return
        if self.git.rev_parse(ref) == new.strip():
            self._sync_worktree(old or None, new.strip())
        marker.unlink(missing_ok=True)

    def _sync_worktree(self, old: str | None, new: str) -> None:
        """Bring the index and working tree from ``old`` to ``new``, keeping the user's
        staged and unstaged changes to other paths (what ``git checkout`` does)."""
        args = (
            ["read-tree", "-m", "-u", new] if old is None else ["read-tree", "-m", "-u", old, new]
        )
        proc = self.git.run(*args, check=False)
        if proc.returncode != 0:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(
                f"committed {new[:12]} but could not update the working tree of {self.root}: "
                f"{detail[-1] if detail else 'read-tree failed'} (run 'git reset --keep HEAD')"
            )

    def _push(
        self,
        remote: str,
        branch: str,
        ref: str,
        parent: str | None,
        change: Change[T],
        build: Callable[[Snapshot], Change[T]],
    ) -> tuple[Change[T], str]:
        """Push ``change`` built on ``parent``; on rejection rebuild it on the remote's
        tip and push again. The local branch moves only once the remote has the commit.
        """
        local, base = parent, parent
        delay = 0.05
        failures = 0
        deadline = time.monotonic() + PUSH_PATIENCE
        while True:
            commit = self._new_commit(base, change)
            proc = self.git.run("push", "--porcelain", remote, f"{commit}:{ref}", check=False)
            if proc.returncode == 0:
                self._advance(ref, local, commit, change.message)
                self.git.run("update-ref", f"refs/remotes/{remote}/{branch}", commit, check=False)
                return change, commit
            text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
            refusal = _protection(text)
            if refusal is not None:
                # Nothing moved: the local branch moves only after the remote took it.
                raise GitError(
                    f"{branch} is protected on the remote {remote!r} ({refusal}): nothing was "
                    f"written; changes to {branch} go by pull request (a stage moves by: "
                    "registry-tool promote PATH --to STAGE --pr)"
                )
            refused = _refusal(text)
            if refused is not None:
                raise GitError(
                    f"the remote {remote!r} refused the push to {branch} ({refused}): "
                    "nothing was written"
                )
            if not _PUSH_REJECTED.search(text):
                failures += 1
                if failures < PUSH_FAILURES:
                    time.sleep(delay * failures)
                    continue
                # The remote is out of reach: keep the write locally; the next write
                # pushes it along with its own.
                self._advance(ref, local, commit, change.message)
                raise GitError(
                    f"committed {commit[:12]} locally but could not push to {remote!r}: "
                    f"{_push_reason(text)}"
                )
            if time.monotonic() > deadline:
                raise GitError(
                    f"the push to {remote!r} was rejected for {PUSH_PATIENCE:.0f} s (other "
                    "writers kept winning); nothing was written: run the write again"
                )
            # Someone else pushed first: rebuild our change on their tip.
            self.git.run("fetch", "--quiet", remote, f"+{ref}:refs/remotes/{remote}/{branch}")
            tip = self.git.rev_parse(f"refs/remotes/{remote}/{branch}")
            if local and tip and not self._is_ancestor(local, tip):
                raise GitError(
                    f"{self.root}: the local branch has commits the remote does not; "
                    f"push or rebase them first ('git -C {self.root} pull --rebase')"
                )
            change = build(Snapshot(self.git, tip))
            if not change.files:
                if tip is not None and tip != local:
                    self._advance(ref, local, tip, f"fast-forward to {remote}/{branch}")
                return change, tip or commit
            base = tip
            time.sleep(random.uniform(0, delay))
            delay = min(delay * 2, 1.0)

    def _is_ancestor(self, a: str, b: str) -> bool:
        return self.git.run("merge-base", "--is-ancestor", a, b, check=False).returncode == 0


def _protection(text: str) -> str | None:
    """What the remote said when it refused a push on principle (a protected branch, a
    ruleset, a pre-receive hook), or None when the push failed for another reason.

    >>> _protection("remote: error: GH006: Protected branch update failed for refs/heads/main.")
    'GH006: Protected branch update failed for refs/heads/main.'
    >>> _protection(" ! [remote rejected] main -> main (pre-receive hook declined)")
    'pre-receive hook declined'
    """
    github = _PROTECTED.search(text)
    if github is not None:
        return github.group(0).strip()
    hook = _HOOK_DECLINED.search(text)
    return hook.group(1) if hook is not None else None


def _refusal(text: str) -> str | None:
    """The reason a remote gave for refusing the ref when it is not another writer's
    race (which a rebuild and a new push get past), or None.

    >>> _refusal(" ! [remote rejected] main -> main (branch is currently checked out)")
    'branch is currently checked out'
    >>> _refusal(" ! [remote rejected] main -> main (cannot lock ref 'refs/heads/main')")
    """
    found = _REMOTE_REJECTED.search(text)
    if found is None or _RACE.search(found.group(1)):
        return None
    return found.group(1)


def _push_reason(text: str) -> str:
    """The most telling line of git push's output."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "!")) or ("error:" in line and "failed to push" not in line):
            return line
    return lines[-1] if lines else "git push failed"


def _identity_env(repo: Git) -> dict[str, str]:
    """Author env for commits when git has no identity configured."""
    if _has_identity(repo) or repo.run("var", "GIT_AUTHOR_IDENT", check=False).returncode == 0:
        return {}
    user = os.environ.get("USER") or _safe_user()
    email = f"{user}@{socket.gethostname() or 'localhost'}"
    return {
        "GIT_AUTHOR_NAME": user,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": user,
        "GIT_COMMITTER_EMAIL": email,
    }


def _has_identity(repo: Git) -> bool:
    """Whether the environment or config names an author (what ``git var
    GIT_AUTHOR_IDENT`` would find first), read without starting git; when this says
    no, ``git var`` decides (it also guesses from the system)."""
    name = os.environ.get("GIT_AUTHOR_NAME") or repo.config("author.name", "user.name")
    email = (
        os.environ.get("GIT_AUTHOR_EMAIL")
        or repo.config("author.email", "user.email")
        or os.environ.get("EMAIL")
    )
    return bool(name and email)


def _safe_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # getuser raises when no name is found at all
        return "registry-tool"
