"""Git underneath the registry: commands, snapshots of a commit's tree, and tree writing.

Reads go through one long-lived ``git cat-file --batch``, so listing a directory or
reading a file at a commit costs no new process. Writes build
tree objects in-process for only the directories a change touches, then ``commit-tree``
and ``update-ref`` with the old value as a compare-and-swap: the user's index and
working tree are never used to build a commit.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import weakref
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from registry_tool import _settings
from registry_tool.errors import GitError

_DIR_MODE = b"40000"
_FILE_MODE = b"100644"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@dataclass(frozen=True)
class TreeEntry:
    name: str
    mode: bytes
    sha: str

    @property
    def is_dir(self) -> bool:
        return self.mode == _DIR_MODE


def _parse_tree(data: bytes) -> dict[str, TreeEntry]:
    out: dict[str, TreeEntry] = {}
    i = 0
    while i < len(data):
        space = data.index(b" ", i)
        nul = data.index(b"\0", space)
        mode = data[i:space]
        name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
        sha = data[nul + 1 : nul + 21].hex()
        out[name] = TreeEntry(name, mode, sha)
        i = nul + 21
    return out


def _tree_sort_key(entry: TreeEntry) -> bytes:
    name = entry.name.encode("utf-8", "surrogateescape")
    return name + b"/" if entry.is_dir else name


def _format_tree(entries: Mapping[str, TreeEntry]) -> bytes:
    out = bytearray()
    for entry in sorted(entries.values(), key=_tree_sort_key):
        out += entry.mode + b" " + entry.name.encode("utf-8", "surrogateescape") + b"\0"
        out += bytes.fromhex(entry.sha)
    return bytes(out)


ENV_TIMEOUT = "REGISTRY_TOOL_GIT_TIMEOUT"
_NETWORK = frozenset({"push", "fetch", "pull", "ls-remote", "clone"})


def network_timeout() -> float:
    """Seconds a git remote may stall (no byte moving) before a command gives up:
    ``REGISTRY_TOOL_GIT_TIMEOUT``, default 60; the whole command gets ten times that."""
    return _settings.git_timeout()


class Git:
    """One repository: run commands, read objects, write blobs and trees."""

    def __init__(self, root: Path, env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.env = dict(env or {})
        if not root.is_dir():
            raise GitError(f"{root} is not a git repository")
        proc = self.run("rev-parse", "--git-path", "objects", check=False)
        if proc.returncode != 0:
            raise GitError(f"{root} is not a git repository")
        objects = Path(proc.stdout.decode().strip())
        self.objects = objects if objects.is_absolute() else root / objects
        self._batch: subprocess.Popen[bytes] | None = None
        self._finalizer = weakref.finalize(self, _close_batch, [None])

    def close(self) -> None:
        self._finalizer()

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        full_env = {**os.environ, **self.env, **(env or {})}
        timeout = None
        if args and args[0] in _NETWORK:
            # A remote that takes the connection and never answers must not hang a
            # write: git's own stall detection (http), and a backstop for the rest.
            stall = network_timeout()
            full_env.setdefault("GIT_HTTP_LOW_SPEED_LIMIT", "1")
            full_env.setdefault("GIT_HTTP_LOW_SPEED_TIME", str(max(1, round(stall))))
            timeout = stall * 10
        try:
            proc = subprocess.run(
                ["git", *args],
                cwd=self.root,
                input=input,
                capture_output=True,
                env=full_env,
                check=False,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise GitError(
                f"git {args[0]} in {self.root} gave no result in {timeout:.0f} s "
                f"(the remote does not answer; {ENV_TIMEOUT} sets the wait)"
            ) from None
        if check and proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            detail = message[-1] if message else f"exit code {proc.returncode}"
            raise GitError(f"git {args[0]} failed in {self.root}: {detail}")
        return proc

    def out(self, *args: str, check: bool = True) -> str:
        return self.run(*args, check=check).stdout.decode("utf-8", "replace").strip()

    def rev_parse(self, ref: str) -> str | None:
        proc = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        sha = proc.stdout.decode().strip()
        return sha or None

    def current_branch(self) -> str | None:
        proc = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return proc.stdout.decode().strip() or None

    def read_object(self, sha: str) -> bytes:
        """An object's bytes, through one long-lived ``git cat-file --batch``."""
        if self._batch is None or self._batch.poll() is not None:
            self._batch = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self.root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, **self.env},
            )
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, _close_batch, [self._batch])
        proc = self._batch
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(sha.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline()
            parts = header.split()
            if len(parts) != 3:
                raise GitError(f"git object {sha} is missing from {self.root}")
            size = int(parts[2])
            data = proc.stdout.read(size)
            proc.stdout.read(1)  # the newline after each object
        except (OSError, ValueError) as exc:
            raise GitError(f"cannot read git object {sha} in {self.root}: {exc}") from exc
        if len(data) != size:
            raise GitError(f"git object {sha} in {self.root} was cut short")
        return data

    def write_object(self, kind: str, data: bytes) -> str:
        """Store a loose object (written once, by temp file and rename); return its id."""
        body = f"{kind} {len(data)}\0".encode() + data
        sha = hashlib.sha1(body, usedforsecurity=False).hexdigest()
        target = self.objects / sha[:2] / sha[2:]
        if target.exists():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix="tmp_obj_")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(zlib.compress(body, 1))
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return sha

    def commit_tree_of(self, commit: str) -> str:
        data = self.read_object(commit)
        first = data.split(b"\n", 1)[0]
        if not first.startswith(b"tree "):
            raise GitError(f"{commit} is not a commit")
        return first[5:].decode()

    def read_tree(self, sha: str) -> dict[str, TreeEntry]:
        return _parse_tree(self.read_object(sha))

    def write_tree(self, entries: Mapping[str, TreeEntry]) -> str:
        return self.write_object("tree", _format_tree(entries))


def _close_batch(holder: list[subprocess.Popen[bytes] | None]) -> None:
    proc = holder[0]
    if proc is not None and proc.poll() is None:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc is not None and proc.stdout is not None:
        proc.stdout.close()


class Snapshot:
    """The registry as it is in one commit: list directories and read files.

    ``commit`` None is the empty registry (a repo with no commits yet).
    """

    def __init__(self, repo: Git, commit: str | None) -> None:
        self.git = repo
        self.commit = commit
        self._trees: dict[str, dict[str, TreeEntry]] = {}
        self._root = repo.commit_tree_of(commit) if commit else None

    def _tree(self, path: str) -> dict[str, TreeEntry] | None:
        path = path.strip("/")
        if path in self._trees:
            return self._trees[path]
        if not path:
            tree = self.git.read_tree(self._root) if self._root else {}
        else:
            parent, _, name = path.rpartition("/")
            parent_tree = self._tree(parent)
            entry = parent_tree.get(name) if parent_tree is not None else None
            if entry is None or not entry.is_dir:
                return None
            tree = self.git.read_tree(entry.sha)
        self._trees[path] = tree
        return tree

    def listdir(self, path: str) -> dict[str, TreeEntry]:
        """Entries of a directory; empty when it does not exist."""
        return dict(self._tree(path) or {})

    def entry(self, path: str) -> TreeEntry | None:
        parent, _, name = path.strip("/").rpartition("/")
        tree = self._tree(parent)
        return tree.get(name) if tree is not None else None

    def read(self, path: str) -> bytes | None:
        entry = self.entry(path)
        if entry is None or entry.is_dir:
            return None
        return self.git.read_object(entry.sha)

    def exists(self, path: str) -> bool:
        return self.entry(path) is not None

    def walk_files(self, path: str = "") -> Iterator[tuple[str, TreeEntry]]:
        """Every file below ``path``, as (repo path, entry)."""
        for name, entry in sorted(self.listdir(path).items()):
            full = f"{path}/{name}" if path else name
            if entry.is_dir:
                yield from self.walk_files(full)
            else:
                yield full, entry

    def with_changes(self, files: Mapping[str, bytes | None]) -> str:
        """Write the tree of this snapshot with ``files`` written (None: deleted)."""
        by_dir: dict[str, dict[str, bytes | None]] = {}
        for path, data in files.items():
            parent, _, name = path.rpartition("/")
            by_dir.setdefault(parent, {})[name] = data
        return self._write_dir("", by_dir)

    def _write_dir(self, path: str, by_dir: dict[str, dict[str, bytes | None]]) -> str:
        entries = dict(self._tree(path) or {})
        for name, data in by_dir.get(path, {}).items():
            if data is None:
                entries.pop(name, None)
            else:
                entries[name] = TreeEntry(name, _FILE_MODE, self.git.write_object("blob", data))
        prefix = f"{path}/" if path else ""
        children = {
            d[len(prefix) :].split("/", 1)[0]
            for d in by_dir
            if d.startswith(prefix) and d != path and (path or d)
        }
        for child in children:
            sha = self._write_dir(prefix + child, by_dir)
            if sha == EMPTY_TREE:
                entries.pop(child, None)
            else:
                entries[child] = TreeEntry(child, _DIR_MODE, sha)
        return self.git.write_tree(entries)
