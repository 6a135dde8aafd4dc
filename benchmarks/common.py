"""Helpers every benchmark script shares: messages, finding the CLI, CPU accounting,
tool versions. Imported as ``common`` (the scripts run from this folder)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WRITE_CHUNK = 16 * 1024 * 1024


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def find_cli(script: str) -> Path:
    """The registry-tool CLI of this checkout's venv (or the one on PATH)."""
    for candidate in (
        REPO / ".venv" / "bin" / "registry-tool",
        Path(sys.executable).parent / "registry-tool",
    ):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("registry-tool")
    if found:
        return Path(found)
    sys.exit(f"{script}: cannot find the registry-tool CLI (.venv/bin/registry-tool)")


def children_cpu() -> float:
    """User+system CPU seconds of all waited-for children (their children included)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def first_line(cmd: list[str]) -> str:
    """The first line a command prints (a version string), or why it could not run."""
    try:
        out = subprocess.run(cmd, capture_output=True, check=False, text=True)
    except OSError as exc:
        return f"unavailable ({exc.strerror})"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "?"


def make_small(folder: Path, count: int, kib: int) -> None:
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


def warm_read(paths: list[Path]) -> int:
    """Read every byte once (untimed) so it is in the page cache; returns bytes read."""
    total = 0
    buf = bytearray(WRITE_CHUNK)
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                total += n
    return total


def report(
    bench: Any,
    as_json: bool,
    results: Callable[[Any], dict[str, Any]],
    render: Callable[[dict[str, Any]], str],
) -> int:
    """Run every measurement, clean up whatever happens, print the results."""
    try:
        bench.run_all()
        r = results(bench)
    finally:
        bench.cleanup()
    print(json.dumps(r, indent=2) if as_json else render(r))
    return 0
