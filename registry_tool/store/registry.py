"""The Git-backed registry store: open, read and validate documents, write commits.

>>> store = RegistryStore.open("/path/to/registry")          # doctest: +SKIP
>>> store.read_version(store.head(), "proj", "data", 3)       # doctest: +SKIP

A write is a function from the current snapshot to a set of file changes. It runs under
a lock on the clone, is committed with a compare-and-swap on the branch, and, when the
registry has a remote, pushed; a rejected push fetches and runs the function again on
the new tip, so a version number another writer took is renumbered.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import random
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from registry_tool import schemas, yamlio
from registry_tool.errors import DocumentError, GitError, NotFoundError
from registry_tool.locking import file_lock
from registry_tool.model.names import parse_version
from registry_tool.model.records import (
    REGISTRY_FILE,
    AliasRecord,
    CollectionRecord,
    RegistryConfig,
    RunRecord,
    VersionRecord,
    alias_file,
    collection_dir,
    collection_file,
    run_file,
    version_file,
)
from registry_tool.store.git import Git, Snapshot
from registry_tool.store.paths import cache_home

T = TypeVar("T")

# Another writer got there first (or holds the remote's ref lock right now): fetch,
# rebuild on their tip and push again.
_PUSH_REJECTED = re.compile(
    r"\[(remote )?rejected\]|\(fetch first\)|non-fast-forward|stale info|cannot lock ref"
    r"|failed to update ref|incorrect old value",
    re.I,
)
PUSH_ATTEMPTS = 8
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
        schemas.validate(doc, kind, path)
        self.files[path] = yamlio.dumps(doc)
        self.docs[path] = (kind, dict(doc))


class DocCache:
    """Parsed, validated documents by git blob id, in memory and on disk.

    A git blob id names content, so a blob parsed and validated once never needs it
    again at any path of the same kind: large manifests are read from a JSON copy
    instead of being parsed as YAML (10x faster).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._memory: dict[str, dict[str, Any]] = {}

    def _file(self, kind: str, sha: str) -> Path:
        return self.root / kind / sha[:2] / f"{sha}.json"

    def get(self, sha: str, kind: str, read: Callable[[], bytes], path: str) -> dict[str, Any]:
        """The document (shared: callers must not modify it)."""
        key = f"{kind}:{sha}"
        doc = self._memory.get(key)
        if doc is not None:
            return doc
        cached = self._file(kind, sha)
        try:
            doc = json.loads(cached.read_bytes())
        except (OSError, ValueError):
            doc = yamlio.loads(read(), path)
            schemas.validate(doc, kind, path)
            self._store(cached, doc)
        assert isinstance(doc, dict)
        self._memory[key] = doc
        return doc

    def prime(self, sha: str, kind: str, doc: dict[str, Any]) -> None:
        """Remember a document we validated and wrote ourselves."""
        self._memory[f"{kind}:{sha}"] = doc
        self._store(self._file(kind, sha), doc)

    @staticmethod
    def _store(target: Path, doc: dict[str, Any]) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".tmp-{os.getpid()}")
            tmp.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=False))
            os.replace(tmp, target)
        except OSError:
            pass  # the cache is an optimisation: a read-only cache dir only costs speed


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
        numbers = []
        for filename in snap.listdir(f"{collection_dir(project, name)}/versions"):
            number = parse_version(filename.removesuffix(".yaml"))
            if number is not None and filename.endswith(".yaml"):
                numbers.append(number)
        return sorted(numbers)

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
        for filename in sorted(snap.listdir(f"{collection_dir(project, name)}/aliases")):
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
        return sorted(n for n, e in snap.listdir("projects").items() if e.is_dir)

    def collections(self, snap: Snapshot, project: str) -> list[str]:
        return sorted(
            n
            for n, e in snap.listdir(f"projects/{project}").items()
            if e.is_dir and snap.exists(collection_file(project, n))
        )

    def runs(self, snap: Snapshot, project: str) -> Iterator[RunRecord]:
        for filename in sorted(snap.listdir(f"projects/{project}/runs")):
            if filename.endswith(".yaml"):
                record = self.read_run(snap, project, filename.removesuffix(".yaml"))
                if record:
                    yield record

    # -- writing -------------------------------------------------------------------

    def lock(self) -> AbstractContextManager[None]:
        """The clone's write lock: one writer at a time per clone."""
        return file_lock(
            self.git.objects.parent / "registry-tool.lock", timeout=600, error=GitError
        )

    def remote(self) -> str | None:
        branch = self.git.current_branch()
        if branch:
            configured = self.git.out("config", f"branch.{branch}.remote", check=False)
            if configured:
                return configured
        remotes = self.git.out("remote").split()
        return "origin" if "origin" in remotes else (remotes[0] if remotes else None)

    def write(self, build: Callable[[Snapshot], Change[T]]) -> WriteResult[T]:
        """Commit what ``build`` returns for the current tip; push when there is a remote.

        ``build`` may run more than once (another writer moved the tip first): it must
        derive everything, version numbers included, from the snapshot it is given.
        """
        branch = self.git.current_branch()
        if branch is None:
            raise GitError(f"{self.root} has a detached HEAD: check out a branch to write")
        ref = f"refs/heads/{branch}"
        with self.lock():
            parent = self.git.rev_parse(ref)
            change = build(Snapshot(self.git, parent))
            if not change.files:
                return WriteResult(change.result, None)
            commit = self._commit(ref, parent, change)
            remote = self.remote()
            if remote is not None:
                change, commit = self._push(remote, branch, ref, commit, change, build)
        return WriteResult(change.result, commit)

    def commit_on_branch(self, branch: str, parent: str, change: Change[Any]) -> str:
        """Commit ``change`` on top of ``parent`` as a new branch (not checked out), and
        push the branch when the registry has a remote. The branch must not exist."""
        ref = f"refs/heads/{branch}"
        if self.git.rev_parse(ref) is not None:
            raise GitError(
                f"branch {branch!r} already exists in {self.root}; delete it or merge it"
            )
        tree = self._tree_for(parent, change)
        commit = self.git.out("commit-tree", tree, "-p", parent, "-m", change.message)
        self.git.run("update-ref", "-m", change.message.splitlines()[0], ref, commit, "0" * 40)
        remote = self.remote()
        if remote is not None:
            proc = self.git.run("push", "--porcelain", remote, f"{ref}:{ref}", check=False)
            if proc.returncode != 0:
                text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
                raise GitError(
                    f"committed {commit[:12]} on branch {branch!r} but could not push it to "
                    f"{remote!r}: {_push_reason(text)}"
                )
        return commit

    def remote_url(self) -> str | None:
        remote = self.remote()
        if remote is None:
            return None
        return self.git.out("remote", "get-url", remote, check=False) or None

    def _tree_for(self, parent: str | None, change: Change[Any]) -> str:
        snap = Snapshot(self.git, parent)
        tree = snap.with_changes(change.files)
        for path, (kind, doc) in change.docs.items():
            data = change.files.get(path)
            if data is not None:
                self.docs.prime(blob_id(data), kind, doc)
        return tree

    def _commit(self, ref: str, parent: str | None, change: Change[Any]) -> str:
        tree = self._tree_for(parent, change)
        args = ["commit-tree", tree, "-m", change.message]
        if parent:
            args[2:2] = ["-p", parent]
        commit = self.git.out(*args)
        self.git.run(
            "update-ref", "-m", change.message.splitlines()[0], ref, commit, parent or "0" * 40
        )
        self._sync_worktree(parent, commit)
        return commit

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
        commit: str,
        change: Change[T],
        build: Callable[[Snapshot], Change[T]],
    ) -> tuple[Change[T], str]:
        delay = 0.05
        for attempt in range(PUSH_ATTEMPTS):
            proc = self.git.run("push", "--porcelain", remote, f"{ref}:{ref}", check=False)
            if proc.returncode == 0:
                return change, commit
            text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
            if not _PUSH_REJECTED.search(text):
                if attempt < 2:
                    time.sleep(delay * (attempt + 1))
                    continue
                raise GitError(
                    f"committed {commit[:12]} locally but could not push to {remote!r}: "
                    f"{_push_reason(text)}"
                )
            # Someone else pushed first: rebuild our change on their tip.
            self.git.run("fetch", "--quiet", remote, f"+{ref}:refs/remotes/{remote}/{branch}")
            tip = self.git.rev_parse(f"refs/remotes/{remote}/{branch}")
            parent_of_ours = self.git.rev_parse(f"{commit}^") if commit else None
            if parent_of_ours and tip and not self._is_ancestor(parent_of_ours, tip):
                raise GitError(
                    f"{self.root}: the local branch has commits the remote does not; "
                    f"push or rebase them first ('git -C {self.root} pull --rebase')"
                )
            change = build(Snapshot(self.git, tip))
            if not change.files:
                self.git.run("update-ref", ref, tip or "", commit)
                self._sync_worktree(commit, tip or commit)
                return change, tip or commit
            new_tree = self._tree_for(tip, change)
            args = ["commit-tree", new_tree, "-m", change.message]
            if tip:
                args[2:2] = ["-p", tip]
            new_commit = self.git.out(*args)
            self.git.run("update-ref", ref, new_commit, commit)
            self._sync_worktree(commit, new_commit)
            commit = new_commit
            time.sleep(random.uniform(0, delay))
            delay = min(delay * 2, 1.0)
        raise GitError(
            f"committed {commit[:12]} locally but the push to {remote!r} was rejected "
            f"{PUSH_ATTEMPTS} times (other writers kept winning); run the write again"
        )

    def _is_ancestor(self, a: str, b: str) -> bool:
        return self.git.run("merge-base", "--is-ancestor", a, b, check=False).returncode == 0


def _push_reason(text: str) -> str:
    """The most telling line of git push's output."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "!")) or ("error:" in line and "failed to push" not in line):
            return line
    return lines[-1] if lines else "git push failed"


def _identity_env(repo: Git) -> dict[str, str]:
    """Author env for commits when git has no identity configured."""
    if repo.run("var", "GIT_AUTHOR_IDENT", check=False).returncode == 0:
        return {}
    user = os.environ.get("USER") or _safe_user()
    email = f"{user}@{socket.gethostname() or 'localhost'}"
    return {
        "GIT_AUTHOR_NAME": user,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": user,
        "GIT_COMMITTER_EMAIL": email,
    }


def _safe_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # getuser raises when no name is found at all
        return "registry-tool"
