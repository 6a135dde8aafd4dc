"""Where registry-tool keeps its own files: XDG data (default registry, managed clones)
and XDG cache (blobs, stat cache, parsed documents)."""

from __future__ import annotations

import os
from pathlib import Path

from registry_tool import _settings


def data_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "registry-tool"


def cache_home() -> Path:
    explicit = _settings.cache_dir()
    if explicit is not None:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "registry-tool"
