"""An exclusive lock on a file, between processes and threads, released by the kernel
if its holder dies (``flock`` on a file description of its own)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from registry_tool.errors import RegistryError


@contextmanager
def file_lock(
    path: Path, *, timeout: float, error: type[RegistryError] = RegistryError
) -> Iterator[None]:
    """Hold ``path`` locked; ``error`` is raised when ``timeout`` seconds pass first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:  # EWOULDBLOCK adds nothing to "timed out"
                    raise error(f"timed out after {timeout:.0f} s waiting for {path}") from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)
