"""Parsed, validated documents kept by git blob id, in memory and on disk."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from registry_tool import _schemas as schemas
from registry_tool import _yamlio as yamlio


class DocCache:
    """Parsed, validated documents by git blob id, in memory and on disk.

    A git blob id names content, so a blob parsed and validated once never needs it
    again at any path of the same kind: large manifests are read from a JSON copy
    instead of being parsed as YAML (10x faster).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._memory: dict[str, dict[str, Any]] = {}

    def _file(self, kind: str, sha: str) -> Path:
        return self.root / kind / sha[:2] / f"{sha}.json"

    def get(self, sha: str, kind: str, read: Callable[[], bytes], path: str) -> dict[str, Any]:
        """The document (shared: callers must not modify it)."""
        key = f"{kind}:{sha}"
        doc = self._memory.get(key)
        if doc is not None:
            return doc
        cached = self._file(kind, sha)
        try:
            doc = json.loads(cached.read_bytes())
        except (OSError, ValueError):
            doc = yamlio.loads(read(), path)
            schemas.validate(doc, kind, path)
            self._store(cached, doc)
        assert isinstance(doc, dict)
        self._memory[key] = doc
        return doc

    def prime(self, sha: str, kind: str, doc: dict[str, Any]) -> None:
        """Remember a document we validated and wrote ourselves."""
        self._memory[f"{kind}:{sha}"] = doc
        self._store(self._file(kind, sha), doc)

    @staticmethod
    def _store(target: Path, doc: dict[str, Any]) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".tmp-{os.getpid()}")
            tmp.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=False))
            os.replace(tmp, target)
        except OSError:
            pass  # the cache is an optimisation: a read-only cache dir only costs speed
