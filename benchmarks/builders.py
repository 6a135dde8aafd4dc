"""Input data the benchmarks time themselves on, and the checks of what came back:
random files (made once, reused while they fit), warm-up reads, digests, tree and
size comparisons."""

from __future__ import annotations

import filecmp
import hashlib
import os
import shutil
from pathlib import Path

from common import WRITE_CHUNK, MiB, say


def make_small(folder: Path, count: int, kib: int) -> None:
    """``count`` files of ``kib`` KiB of random bytes, all different (reused when there)."""
    size = kib * 1024
    names = [f"f{i:06d}.bin" for i in range(count)]
    if folder.is_dir():
        present = sorted(os.listdir(folder))
        if present == names and all((folder / n).stat().st_size == size for n in names):
            say(f"reusing {folder} ({count} x {kib} KiB)")
            return
        shutil.rmtree(folder)
    say(f"writing {count} files of {kib} KiB of random bytes to {folder}")
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for name in names:
        with open(tmp / name, "wb") as f:
            f.write(os.urandom(size))
    os.replace(tmp, folder)


def make_big(path: Path, mib: int) -> str:
    """A file of ``mib`` MiB of random bytes (reused when present); its SHA-256, kept
    next to it in ``<name>.sha256``."""
    size = mib * MiB
    digest_file = path.with_suffix(".sha256")
    if path.is_file() and path.stat().st_size == size:
        say(f"reusing {path} ({mib} MiB)")
        if not digest_file.is_file():  # kept by a run that did not note it
            digest_file.write_text(sha256_file(path) + "\n")
        return digest_file.read_text().strip()
    say(f"writing {mib} MiB of random bytes to {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    h = hashlib.sha256()
    with open(tmp, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(WRITE_CHUNK, left))
            h.update(block)
            f.write(block)
            left -= len(block)
    os.replace(tmp, path)
    digest_file.write_text(h.hexdigest() + "\n")
    return h.hexdigest()


def warm_read(paths: list[Path]) -> int:
    """Read every byte once (untimed) so it is in the page cache; returns bytes read."""
    total = 0
    buf = bytearray(WRITE_CHUNK)
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                total += n
    return total


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    buf = bytearray(WRITE_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def same_tree(src: Path, dst: Path) -> bool:
    """Every file of ``src`` is in ``dst`` with the same bytes, and nothing else."""
    names = sorted(os.listdir(src))
    if not dst.is_dir() or sorted(os.listdir(dst)) != names:
        return False
    match, mismatch, errors = filecmp.cmpfiles(src, dst, names, shallow=False)
    return len(match) == len(names) and not mismatch and not errors


def count_files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def dir_size(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
