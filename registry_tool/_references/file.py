"""Local files: ``file://`` references (a file or a directory, proved by the SHA-256 of
its bytes) and the walk of a local folder that ``Artifact.add_dir`` adds.

Only regular files are read. A FIFO blocks the reader until some writer comes, and a
device such as ``/dev/zero`` never ends: either would hang a log or a download, so
``open_regular`` refuses them before reading (and again on the open handle, in case the
path changed in between). ``_engine.download`` and ``_verify`` read local files through
it too.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

from registry_tool._escape import printable
from registry_tool._fmt import file_kind
from registry_tool._hashing import CHUNK, Advance, copy_and_hash
from registry_tool._model.manifest import Entry, file_digest
from registry_tool._model.names import MAX_ENTRY_PATH, vcs_segment
from registry_tool._references.common import (
    base_folder,
    changed,
    checked_name,
    join,
    landing,
    too_many,
)
from registry_tool.errors import ArtifactError, ReferenceGoneError, UsageError, VerificationError


class NotRegularFileError(OSError):
    """A path that is not a regular file (a FIFO, a device, a socket, a folder), which is
    never read: ``kind`` says which it is (``"a FIFO"``)."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        super().__init__(f"{os.fspath(path)} is {kind}, not a regular file")
        self.kind = kind


def open_regular(path: str | os.PathLike[str]) -> io.FileIO:
    """Open ``path`` (links followed) for reading, unbuffered, if it is a regular file;
    else raise ``NotRegularFileError`` without having read it. The check comes before
    the open, so a FIFO is never opened (opening one waits for a writer), and again on
    the handle, opened without blocking, in case the path was swapped in between."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(path, file_kind(mode))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(path, file_kind(mode))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def hash_regular(path: str | os.PathLike[str], advance: Advance | None = None) -> str:
    """SHA-256 hex of a regular file's bytes (``NotRegularFileError`` for anything else)."""
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open_regular(path) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
            if advance is not None:
                advance(n)
    return h.hexdigest()


def _file_path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise UsageError(f"file reference {uri!r}: only local paths (file:///...) are supported")
    return Path(unquote(parsed.path))


def check(uri: str) -> None:
    """Nothing to refuse before the path is read."""


def default_name(uri: str) -> str:
    return _file_path(uri).name or "reference"


def _files_below(uri: str, top: Path) -> list[tuple[str, Path]]:
    """(path relative to ``top``, path) of every file below ``top``, walked with a stack
    rather than by recursion (a folder may be thousands of levels deep). As ``os.walk``
    does, links to files are followed and links to folders are not entered."""
    found: list[tuple[str, Path]] = []
    stack = [("", str(top))]
    while stack:
        rel, folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                items = sorted(listing, key=lambda e: e.name, reverse=True)
        except OSError as exc:
            raise ArtifactError(
                f"reference {uri!r}: cannot read {folder}: {exc.strerror or exc}"
            ) from exc
        for item in items:
            if item.is_dir(follow_symlinks=False):
                stack.append((f"{rel}{item.name}/", item.path))
            elif not (item.is_symlink() and item.is_dir()):
                found.append((rel + item.name, Path(item.path)))
    return sorted(found)


def _hashed(uri: str, path: Path) -> str:
    try:
        return file_digest(hash_regular(path))
    except NotRegularFileError as exc:
        raise ArtifactError(f"reference {uri!r}: {exc} (only regular files are read)") from None
    except OSError as exc:
        raise ArtifactError(f"reference {uri!r}: cannot read {path}: {exc.strerror}") from exc


def expand(uri: str, name: str | None, max_objects: int | None) -> list[Entry]:
    path = _file_path(uri)
    if not path.exists():
        raise ArtifactError(f"reference {uri!r}: {path} does not exist")
    if not path.is_dir():
        entry_name = checked_name(uri, name if name is not None else path.name)
        digest = _hashed(uri, path)
        return [Entry(entry_name, digest, path.stat().st_size, ref=uri)]
    entries: list[Entry] = []
    base = base_folder(name)
    for rel, full in _files_below(uri, path):
        if max_objects is not None and len(entries) >= max_objects:
            raise too_many(uri, max_objects)
        entry_name = checked_name(uri, join(base, rel))
        digest = _hashed(uri, full)
        entries.append(
            Entry(entry_name, digest, full.stat().st_size, ref="file://" + quote(str(full)))
        )
    return entries


def fetch(entry: Entry, target: Path, advance: Advance) -> None:
    assert entry.ref is not None
    source = _file_path(entry.ref)
    if source.is_dir():
        raise VerificationError(
            f"{entry.path}: {entry.ref} is a directory; it was logged with checksum=False, "
            "so its files were not listed (log it with checksum=True to download them)"
        )
    with landing(target) as tmp:
        try:
            with open_regular(source) as src, open(tmp, "wb") as dst:
                got, _ = copy_and_hash(src, dst, advance)
        except FileNotFoundError:
            raise ReferenceGoneError(
                f"{entry.path}: the referenced file {entry.ref} is gone"
            ) from None
        except NotRegularFileError as exc:
            raise VerificationError(
                f"{entry.path}: the referenced file {entry.ref} is {exc.kind}, not a regular file"
            ) from None
        if entry.digest.startswith("sha256:") and file_digest(got) != entry.digest:
            raise changed(entry, f"recorded {entry.digest}, now sha256:{got}")
        os.replace(tmp, target)


def scan_folder(root: Path) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """What ``Artifact.add_dir`` finds below ``root``: (name in the artifact, real path)
    of each regular file, the version control folders skipped, and what else was skipped.

    Walked with a stack, not by recursion (a folder may be thousands of levels deep),
    and each folder's real path is known without asking the file system again: only a
    symbolic link is resolved. A link that leaves ``root`` is refused; a link back to a
    folder above it (a loop) too. A folder so deep that its files' names would pass
    ``MAX_ENTRY_PATH`` is refused at once, before the walk goes further down.
    """
    real_root = os.path.realpath(root)
    files: list[tuple[str, str]] = []
    vcs: list[str] = []
    special: list[str] = []
    # (real folder, its name in the artifact with a trailing slash, the folders above)
    stack: list[tuple[str, str, tuple[Any, ...]]] = [(real_root, "", ())]
    while stack:
        folder, rel, above = stack.pop()
        chain = (folder, above)
        try:
            with os.scandir(folder) as listing:
                items = sorted(listing, key=lambda e: e.name, reverse=True)
        except OSError as exc:
            raise ArtifactError(f"cannot add {root}: {folder}: {exc.strerror}") from exc
        for item in items:
            name = rel + item.name
            if vcs_segment(item.name):
                vcs.append(name)
                continue
            real, is_dir = item.path, item.is_dir(follow_symlinks=False)
            if item.is_symlink():
                real = os.path.realpath(item.path)
                if real != real_root and not real.startswith(real_root + os.sep):
                    raise ArtifactError(
                        f"cannot add {root}: {printable(item.path)} is a symbolic link to "
                        f"{printable(real)}, outside the directory (copy the file in, or add "
                        "it with add_file)"
                    )
                is_dir = os.path.isdir(real)
                if is_dir and _in_chain(real, chain):
                    raise ArtifactError(f"cannot add {root}: symbolic link loop at {real}")
            elif item.is_file(follow_symlinks=False):
                files.append((name, real))  # the common case, known without a stat
                continue
            if is_dir:
                if len(os.fsencode(name)) + len("/x") > MAX_ENTRY_PATH:
                    raise ArtifactError(
                        f"cannot add {root}: folder {printable(name)} is nested too deep (the "
                        f"names of files in it would be over {MAX_ENTRY_PATH} bytes)"
                    )
                stack.append((real, name + "/", chain))
                continue
            try:
                mode = os.stat(real).st_mode
            except OSError:
                continue  # a link to nothing: nothing to read
            if stat.S_ISREG(mode):
                files.append((name, real))
            else:
                special.append(f"{name} ({file_kind(mode)})")
    return sorted(files), sorted(vcs), sorted(special)


def _in_chain(folder: str, chain: tuple[Any, ...]) -> bool:
    """Whether ``folder`` is one of the folders a walk is inside (``chain`` links each
    folder to those above it)."""
    while chain:
        if chain[0] == folder:
            return True
        chain = chain[1]
    return False
