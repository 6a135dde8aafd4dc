"""Git underneath the registry: commands, snapshots of a commit's tree, and tree writing.

GitPython is the git layer: ``git.Repo`` finds the repository and reads its config
and refs in-process; its persistent ``git cat-file --batch`` reads objects, so listing
a directory or reading a file at a commit costs no new process; its command runner
runs every other git command, and this module is where a git failure becomes a
:class:`GitError` (with the command and git's stderr as the cause). Writes build tree
objects in-process for only the directories a change touches, then ``commit-tree``
and ``update-ref`` with the old value as a compare-and-swap: the user's index and
working tree are never used to build a commit.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import tempfile
import weakref
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path

import git

from registry_tool import _settings
from registry_tool._store.trees import (
    DIR_MODE,
    EMPTY_TREE,
    FILE_MODE,
    NewPlace,
    TreeEntry,
    format_tree,
    parse_tree,
)
from registry_tool.errors import GitError


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


ENV_TIMEOUT = "REGISTRY_TOOL_GIT_TIMEOUT"
_NETWORK = frozenset({"push", "fetch", "pull", "ls-remote", "clone"})
# GitPython runs git with LANGUAGE=C LC_ALL=C; git keeps the user's locale, as it did
# before GitPython (an empty value is the same as unset to setlocale and gettext).
_LOCALE = ("LANGUAGE", "LC_ALL")
# A short name rev_parse resolves by reading refs (git's own order), not a process:
# no revision syntax, and not hex (which git may take for an object id).
_PLAIN_NAME = re.compile(r"^(?!.*\.\.)(?![./])(?![0-9a-f]{4,40}$)[A-Za-z0-9._/-]+$")
_DWIM = (
    "{}",
    "refs/{}",
    "refs/tags/{}",
    "refs/heads/{}",
    "refs/remotes/{}",
    "refs/remotes/{}/HEAD",
)


# Unfinished operations, by the file git keeps while one is under way: (marker, what,
# the command that finishes it, the one that aborts it).
_UNFINISHED = (
    ("MERGE_HEAD", "merge", "commit", "merge --abort"),
    ("rebase-merge", "rebase", "rebase --continue", "rebase --abort"),
    ("rebase-apply/applying", "git am", "am --continue", "am --abort"),
    ("rebase-apply", "rebase", "rebase --continue", "rebase --abort"),
    ("CHERRY_PICK_HEAD", "cherry-pick", "cherry-pick --continue", "cherry-pick --abort"),
    ("REVERT_HEAD", "revert", "revert --continue", "revert --abort"),
    ("BISECT_LOG", "bisect", "bisect reset", None),
)
# Parsed tree entries a Git keeps (about 200 bytes each).
_TREES_KEPT = 200_000
# git gc --auto's own test: more than gc.auto (6,700) / 256 loose objects in objects/17.
_LOOSE_IN_SAMPLE = (6700 + 255) // 256


def network_timeout() -> float:
    """Seconds a git remote may stall (no byte moving) before a command gives up:
    ``REGISTRY_TOOL_GIT_TIMEOUT``, default 60; the whole command gets ten times that."""
    return _settings.git_timeout()


def _execute(
    runner: git.Git,
    args: Sequence[str],
    *,
    where: object,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git args`` through GitPython's command runner; raise only for a timeout.

    A network command gets git's own stall detection (http: under 1 B/s for the
    timeout) and, as a backstop, GitPython's watchdog, which kills git and its
    children (``git-remote-http``, ``ssh``) after ten times that.
    """
    extra = {key: os.environ.get(key, "") for key in _LOCALE}
    extra.update(env or {})
    timeout = None
    if args and args[0] in _NETWORK:
        stall = network_timeout()
        for key, value in (
            ("GIT_HTTP_LOW_SPEED_LIMIT", "1"),
            ("GIT_HTTP_LOW_SPEED_TIME", str(max(1, round(stall)))),
        ):
            if key not in os.environ:
                extra.setdefault(key, value)
        timeout = stall * 10
    command = ["git", *args]
    with tempfile.TemporaryFile() if input is not None else nullcontext() as stdin:
        if stdin is not None and input is not None:
            stdin.write(input)
            stdin.seek(0)
        try:
            status, stdout, stderr = runner.execute(
                command,
                istream=stdin,
                with_extended_output=True,
                with_exceptions=False,
                stdout_as_string=False,
                strip_newline_in_stdout=False,
                kill_after_timeout=timeout,
                env=extra,
            )
        except git.exc.GitCommandNotFound as exc:
            raise GitError(f"git is not installed or cannot run: {exc}") from exc
    err = stderr.encode("utf-8", "surrogateescape")
    if timeout is not None and status == -signal.SIGKILL and err.startswith(b"Timeout:"):
        raise GitError(
            f"git {args[0]} in {where} gave no result in {timeout:.0f} s "
            f"(the remote does not answer; {ENV_TIMEOUT} sets the wait)"
        ) from git.exc.GitCommandError(command, status, err)
    return subprocess.CompletedProcess(command, status, stdout, err)


def _failure(proc: subprocess.CompletedProcess[bytes], where: object) -> GitError:
    message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    detail = message[-1] if message else f"exit code {proc.returncode}"
    return GitError(f"git {proc.args[1]} failed in {where}: {detail}")


@contextmanager
def translated(where: object) -> Iterator[None]:
    """Raise what GitPython raises inside as :class:`GitError` (the one boundary)."""
    try:
        yield
    except git.exc.GitCommandError as exc:
        stderr = str(exc.stderr).strip().removeprefix("stderr: ").strip("'").splitlines()
        detail = stderr[-1] if stderr else f"exit code {exc.status}"
        raise GitError(f"git {' '.join(exc.command[1:2])} failed in {where}: {detail}") from exc


def init_repo(root: Path) -> None:
    """``git init`` with ``main`` as the first branch."""
    with translated(root):
        git.Repo.init(root, initial_branch="main", quiet=True).close()


def clone(url: str, path: Path) -> None:
    """``git clone`` (a network command: timed out like every other)."""
    proc = _execute(git.Git(), ["clone", "--quiet", url, str(path)], where=path)
    if proc.returncode != 0:
        # Never echo the URL back, nor chain an error holding it: it may carry a token.
        detail = proc.stderr.decode("utf-8", "replace").strip()[-300:]
        raise GitError(f"could not clone the registry: {detail}")


class Git:
    """One repository: run commands, read objects, write blobs and trees.

    ``repo`` is the GitPython repository: discovery, config, refs and the object
    reader. Writes stay plumbing: loose objects written here, ``commit-tree`` and
    ``update-ref`` with the old value (never GitPython's index, 15-80x slower).
    """

    def __init__(self, root: Path, env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.env = dict(env or {})
        if not root.is_dir():
            raise GitError(f"{root} is not a git repository")
        try:
            self.repo = git.Repo(root, search_parent_directories=True)
        except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError) as exc:
            raise GitError(f"{root} is not a git repository") from exc
        self.objects = Path(self.repo.common_dir) / "objects"
        self._files_refs: bool | None = None
        self._reader: subprocess.Popen[bytes] | None = None  # GitPython's cat-file --batch
        self._trees: dict[str, Mapping[str, TreeEntry]] = {}  # parsed trees by id
        self._trees_size = 0
        # A store nobody closes (a failed command, a test's throwaway) must still stop
        # its ``cat-file`` reader and close its pipes, whenever it is collected: the
        # Repo sits in reference cycles, where GitPython's own clean-up comes too late.
        self._closer = weakref.finalize(self, self.repo.close)

    def close(self) -> None:
        """Stop the object reader (``git cat-file --batch``)."""
        self._closer()

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        proc = _execute(
            self.repo.git, args, where=self.root, input=input, env={**self.env, **(env or {})}
        )
        if check and proc.returncode != 0:
            raise _failure(proc, self.root) from git.exc.GitCommandError(
                list(proc.args), proc.returncode, proc.stderr
            )
        return proc

    def out(self, *args: str, check: bool = True) -> str:
        return self.run(*args, check=check).stdout.decode("utf-8", "replace").strip()

    # -- config and refs, read in-process ----------------------------------------------

    def config(self, *keys: str) -> str | None:
        """The first of these config values (``branch.main.remote``) that is set and
        not empty, as ``git config`` reads it: the system, global and repository files,
        honouring ``GIT_CONFIG_NOSYSTEM`` and ``GIT_CONFIG_GLOBAL``; None when unset."""
        reader = self._config_reader()
        for key in keys:
            section, _, option = key.rpartition(".")
            head, dot, sub = section.partition(".")
            name = f'{head.lower()} "{sub}"' if dot else section.lower()
            if reader.has_option(name, option):
                value = str(reader.get(name, option))
                if value:
                    return value
        return None

    def remote_names(self) -> list[str]:
        """Configured remotes, sorted (what ``git remote`` lists)."""
        sections = self._config_reader().sections()
        names = {s[8:-1] for s in sections if s.startswith('remote "') and s.endswith('"')}
        return sorted(names)

    def _config_reader(self) -> git.GitConfigParser:
        files = []
        if not _truthy(os.environ.get("GIT_CONFIG_NOSYSTEM")):
            files.append(os.environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig")
        explicit = os.environ.get("GIT_CONFIG_GLOBAL")
        if explicit is not None:
            files.append(explicit)
        else:
            xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
            files += [str(Path(xdg) / "git" / "config"), str(Path.home() / ".gitconfig")]
        files.append(str(Path(self.repo.common_dir) / "config"))
        return git.GitConfigParser([f for f in files if f], read_only=True, repo=self.repo)

    def _refs_are_files(self) -> bool:
        """Whether refs are files GitPython can read (not reftable)."""
        if self._files_refs is None:
            storage = self.config("extensions.refStorage")
            self._files_refs = storage in (None, "files")
        return self._files_refs

    def _read_ref(self, name: str) -> str | None:
        try:
            return git.SymbolicReference.dereference_recursive(self.repo, name)
        except (ValueError, OSError):
            return None

    def rev_parse(self, ref: str) -> str | None:
        """The commit ``ref`` names, or None. Branches, remote branches and HEAD are
        read from the ref files; anything else asks ``git rev-parse``."""
        if self._refs_are_files() and _PLAIN_NAME.match(ref):
            for pattern in ("{}",) if ref.startswith("refs/") else _DWIM:
                full = pattern.format(ref)
                sha = self._read_ref(full)
                if sha is None:
                    continue
                if full == "HEAD" or full.startswith(("refs/heads/", "refs/remotes/")):
                    return sha
                break  # a tag, or another kind of ref: let git peel it
        proc = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        sha = proc.stdout.decode().strip()
        return sha or None

    def unfinished(self) -> str | None:
        """The git operation left unfinished in the working tree (a conflicted merge,
        rebase, cherry-pick or revert, a bisect), said with how to finish or abort it;
        None when there is none. A commit made under one is lost to the user's own
        next step (the merge commit, ``rebase --continue``, ``bisect reset``)."""
        gitdir = Path(self.repo.git_dir)
        for marker, what, finish, abort in _UNFINISHED:
            if (gitdir / marker).exists():
                if abort is None:
                    return f"a {what} is in progress: end it (git {finish})"
                return (
                    f"a {what} is in progress: finish it (git {finish}) or abort it (git {abort})"
                )
        return None

    def pack_now_and_then(self) -> None:
        """Let ``git gc --auto`` pack loose objects once there are many, as git's own
        porcelain does after its writes (the plumbing a registry writes with never
        does). The count is git's own estimate, one small directory listed, so the
        process starts only once in a few hundred writes; it runs in the foreground,
        leaving no process behind the command."""
        try:
            sample = sum(len(name) == 38 for name in os.listdir(self.objects / "17"))
        except OSError:
            return
        if sample > _LOOSE_IN_SAMPLE:
            self.run("-c", "gc.autoDetach=false", "gc", "--auto", "--quiet", check=False)

    def current_branch(self) -> str | None:
        """The checked-out branch, None on a detached HEAD."""
        if not self._refs_are_files():
            proc = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
            return proc.stdout.decode().strip() or None
        try:
            target = self.repo.head.reference
        except (TypeError, ValueError, OSError):
            return None
        return target.path.removeprefix("refs/heads/")

    # -- objects -------------------------------------------------------------------

    def read_object(self, sha: str) -> bytes:
        """An object's bytes, through GitPython's persistent ``git cat-file --batch``
        (the reader ``repo.odb`` wraps, asked by hex id: no binary round trip).

        GitPython starts the reader, restarts it, and stops it with the repository;
        once it runs, its pipes are read here directly: GitPython's per-object path
        (a stream object, nine attribute look-ups through ``Git.__getattribute__``)
        costs 28 us an object, a third of a round trip, and ``ls`` reads 23,000."""
        proc = self._reader
        if proc is None or proc.poll() is not None:
            return self._read_starting(sha)
        stdin, stdout = proc.stdin, proc.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(sha.encode() + b"\n")
            stdin.flush()
            header = stdout.readline().split()
            if len(header) != 3:
                raise GitError(f"git object {sha} is missing from {self.root}")
            size = int(header[2])
            data = stdout.read(size)
            stdout.read(1)  # the newline after each object
        except (OSError, ValueError) as exc:
            self._restart_reader()
            raise GitError(f"cannot read git object {sha} in {self.root}: {exc}") from exc
        if len(data) != size:
            self._restart_reader()
            raise GitError(f"git object {sha} in {self.root} was cut short")
        return data

    def _read_starting(self, sha: str) -> bytes:
        """The first read (or the first after the reader died): through GitPython's own
        ``get_object_data``, which starts its persistent reader."""
        runner = self.repo.git
        self._restart_reader()
        try:
            _, _, size, data = runner.get_object_data(sha)
        except ValueError as exc:
            raise GitError(f"git object {sha} is missing from {self.root}") from exc
        except OSError as exc:
            self._restart_reader()
            raise GitError(f"cannot read git object {sha} in {self.root}: {exc}") from exc
        if len(data) != size:
            self._restart_reader()
            raise GitError(f"git object {sha} in {self.root} was cut short")
        batch = runner.cat_file_all
        self._reader = batch.proc if batch is not None else None
        return data

    def _restart_reader(self) -> None:
        """Stop GitPython's reader (killed, repacked away, out of step): the next read
        starts another."""
        if self._reader is not None or self.repo.git.cat_file_all is not None:
            self.repo.git.clear_cache()
        self._reader = None

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

    def read_tree(self, sha: str) -> Mapping[str, TreeEntry]:
        """A tree's entries by name. Trees are named by their content, so each is
        parsed once and kept (up to ``_TREES_KEPT`` entries in all, oldest dropped
        first): a log reads its collection's versions folder as it looks for the same
        bytes, as it numbers the version and as it writes, and at 20,000 versions each
        parse costs 20 ms. The mapping is shared; callers copy before they change it."""
        tree = self._trees.get(sha)
        if tree is None:
            tree = parse_tree(self.read_object(sha))
            self._trees[sha] = tree
            self._trees_size += len(tree) + 1
            while self._trees_size > _TREES_KEPT:
                self._trees_size -= len(self._trees.pop(next(iter(self._trees)))) + 1
        return tree

    def write_tree(self, entries: Mapping[str, TreeEntry]) -> str:
        return self.write_object("tree", format_tree(entries))


class Snapshot:
    """The registry as it is in one commit: list directories and read files.

    ``commit`` None is the empty registry (a repo with no commits yet).
    """

    def __init__(self, repo: Git, commit: str | None) -> None:
        self.git = repo
        self.commit = commit
        self._trees: dict[str, Mapping[str, TreeEntry]] = {}
        self._root = repo.commit_tree_of(commit) if commit else None
        self.written: dict[str, str] = {}  # folder -> the tree id with_changes wrote

    def _tree(self, path: str) -> Mapping[str, TreeEntry] | None:
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
        """A regular file's bytes; None for a path that is not one (missing, a folder,
        a symbolic link whose target would read as a document, a submodule)."""
        entry = self.entry(path)
        if entry is None or not entry.is_file:
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
        before = self._tree(path) or {}
        entries = dict(before)
        prefix = f"{path}/" if path else ""
        new_place = NewPlace(prefix, before)
        for name, data in by_dir.get(path, {}).items():
            if data is None:
                entries.pop(name, None)
            else:
                new_place.check(name, folder=False)
                entries[name] = TreeEntry(name, FILE_MODE, self.git.write_object("blob", data))
        children = {
            d[len(prefix) :].split("/", 1)[0]
            for d in by_dir
            if d.startswith(prefix) and d != path and (path or d)
        }
        for child in children:
            new_place.check(child, folder=True)
            sha = self._write_dir(prefix + child, by_dir)
            if sha == EMPTY_TREE:
                entries.pop(child, None)
            else:
                entries[child] = TreeEntry(child, DIR_MODE, sha)
        self.written[path] = self.git.write_tree(entries)
        return self.written[path]
