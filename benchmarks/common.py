"""Helpers every benchmark script shares: messages, finding the CLI, CPU accounting,
tool versions. Imported as ``common`` (the scripts run from this folder)."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


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
