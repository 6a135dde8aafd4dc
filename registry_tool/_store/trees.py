"""Git tree objects as values: an entry, a tree's bytes parsed and written back in
git's own order, and the rule of what a write may put into a folder.

Parsed and formatted here rather than by ``git ls-tree`` and ``git mktree``: a log
changes one or two folders of the registry's tree, and a process per folder would cost
more than the folder itself, even a versions folder of 20,000 files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from registry_tool._model.names import fold
from registry_tool.errors import GitError, UsageError

DIR_MODE = b"40000"
FILE_MODE = b"100644"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class TreeEntry(NamedTuple):
    """One entry of a tree object. A tuple, not a dataclass: a listing of a versions
    folder makes one per version, and a tuple is made in a third of the time."""

    name: str
    mode: bytes
    sha: str

    @property
    def is_dir(self) -> bool:
        return self.mode == DIR_MODE

    @property
    def is_file(self) -> bool:
        """A regular file (not a symbolic link, 120000, nor a submodule, 160000)."""
        return self.mode in (b"100644", b"100755")


class NewPlace:
    """What a write may put into one folder of the tree: never a name that differs
    from an existing one only by case or Unicode form, never a file over a folder or a
    folder over a file."""

    def __init__(self, prefix: str, before: Mapping[str, TreeEntry]) -> None:
        self.prefix = prefix
        self.before = before
        self._folded: Mapping[str, str] | None = None  # None: not made yet
        self._plain = False

    def _other(self, name: str) -> str | None:
        """The existing name that folds as ``name`` does. The folded names are made on
        the first new name; a folder of plain names (ASCII, lower case: every version
        file) folds to itself, which spares folding 20,000 names of a versions folder."""
        if self._folded is None:
            joined = "/".join(self.before)
            self._plain = joined.isascii() and joined == joined.lower()
            self._folded = {} if self._plain else {fold(n): n for n in self.before}
        key = fold(name)
        if self._plain:
            return key if key in self.before else None
        return self._folded.get(key)

    def check(self, name: str, *, folder: bool) -> None:
        existing = self.before.get(name)
        if existing is None:
            other = self._other(name)
            if other is not None:
                raise UsageError(
                    f"{self.prefix}{name}: differs only by case from {self.prefix}{other}, "
                    "which exists (the two would be one path on a case-insensitive file system)"
                )
        elif existing.is_dir != folder:
            what, other_what = ("a folder", "a file") if existing.is_dir else ("a file", "a folder")
            raise UsageError(
                f"{self.prefix}{name} is {what} in the registry: it cannot be replaced by "
                f"{other_what}"
            )


# One tree entry: mode, space, name, NUL, the 20-byte object id.
_TREE_ENTRY = re.compile(rb"([0-7]+) ([^\0]*)\0(.{20})", re.DOTALL)


def parse_tree(data: bytes) -> dict[str, TreeEntry]:
    out: dict[str, TreeEntry] = {}
    end = 0
    for match in _TREE_ENTRY.finditer(data):
        if match.start() != end:
            break
        mode, raw, sha = match.groups()
        name = raw.decode("utf-8", "surrogateescape")
        out[name] = TreeEntry(name, mode, sha.hex())
        end = match.end()
    if end != len(data):
        raise GitError(f"a tree object is malformed at byte {end}")
    return out


def _tree_sort_key(entry: TreeEntry) -> bytes:
    name = entry.name.encode("utf-8", "surrogateescape")
    return name + b"/" if entry.is_dir else name


def format_tree(entries: Mapping[str, TreeEntry]) -> bytes:
    out = bytearray()
    for entry in sorted(entries.values(), key=_tree_sort_key):
        out += entry.mode + b" " + entry.name.encode("utf-8", "surrogateescape") + b"\0"
        out += bytes.fromhex(entry.sha)
    return bytes(out)
