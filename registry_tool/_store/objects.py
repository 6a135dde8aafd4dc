"""Reading many git objects in one process, telling missing and corrupt ones apart:
what a full ``check`` walks a commit's trees with, and what history reads alias and
link files with."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from registry_tool._store.git import Git


@dataclass(frozen=True)
class Found:
    """What ``git cat-file --batch`` answered for one name: the object's id, type and
    bytes, or ``problem`` ("missing", "corrupt", "not read") and no bytes."""

    oid: str | None
    kind: str | None
    data: bytes | None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        """The bytes are there and hash to the id (git does not check on a read)."""
        if self.data is None or self.oid is None or self.kind is None:
            return False
        header = f"{self.kind} {len(self.data)}\0".encode()
        return hashlib.sha1(header + self.data, usedforsecurity=False).hexdigest() == self.oid


# After this many objects that stop git's reader, the rest are not read: a pack broken
# through and through would otherwise cost one process per object.
_MAX_RESTARTS = 100


def read_objects(git: Git, names: Sequence[str]) -> dict[str, Found]:
    """Every name (an object id, or ``commit:path``) read by one ``git cat-file --batch``.

    A missing object is answered as such; a corrupt one stops git's reader, so the
    reading starts again after it (it is "corrupt"), at most ``_MAX_RESTARTS`` times."""
    out: dict[str, Found] = {}
    todo = list(dict.fromkeys(names))
    restarts = 0
    while todo:
        proc = git.run(
            "cat-file", "--batch", input="".join(f"{n}\n" for n in todo).encode(), check=False
        )
        answered = _parse_batch(proc.stdout, todo, out)
        if answered == len(todo):
            break
        out[todo[answered]] = Found(None, None, None, "corrupt")
        todo = todo[answered + 1 :]
        restarts += 1
        if restarts >= _MAX_RESTARTS:
            out.update((n, Found(None, None, None, "not read")) for n in todo)
            break
    return out


def _parse_batch(stdout: bytes, names: list[str], out: dict[str, Found]) -> int:
    """How many of ``names``, in order, the output answers in full (each into ``out``)."""
    pos = 0
    for count, name in enumerate(names):
        newline = stdout.find(b"\n", pos)
        if newline < 0:
            return count
        header = stdout[pos:newline].decode("utf-8", "replace").split()
        if len(header) >= 2 and header[-1] in ("missing", "ambiguous"):
            out[name] = Found(None, None, None, "missing")
            pos = newline + 1
            continue
        if len(header) != 3 or not header[2].isdigit():
            return count
        size = int(header[2])
        end = newline + 1 + size
        if len(stdout) < end + 1 or stdout[end : end + 1] != b"\n":
            return count
        out[name] = Found(header[0], header[1], stdout[newline + 1 : end])
        pos = end + 1
    return len(names)
