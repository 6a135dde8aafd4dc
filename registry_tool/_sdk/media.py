"""W&B's media values, and how an artifact holds any of them under a name.

A table is ``<name>.table.json`` (W&B's table JSON: columns and rows); each ``Image``
cell is a file under ``media/images/`` named by its content hash. Every other value is
``<name>.<type>.json`` (W&B's suffix: ``scores.histogram.json``, ``page.html-file.json``)
holding its cell, with the files the cell names beside it. The classes live in
``image.py``, ``table.py``, ``media_types.py`` and
``media_scene.py``; this module is where the rest of the
SDK takes them from.

>>> t = Table(columns=["id", "label"])
>>> t.add_data(0, "cat")
>>> t.data
[[0, 'cat']]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from registry_tool._model.names import validate_entry_path
from registry_tool._sdk.image import IMAGE_DIR, Image
from registry_tool._sdk.media_base import Media, find_stored
from registry_tool._sdk.media_scene import Molecule, Object3D, box3d
from registry_tool._sdk.media_types import (
    Audio,
    Classes,
    Graph,
    Histogram,
    Html,
    JoinedTable,
    Plotly,
    Video,
)
from registry_tool._sdk.table import Table
from registry_tool.errors import ArtifactError, UsageError


def write_media(obj: Any, root: Path, name: str) -> list[str]:
    """Write ``obj`` under ``root`` as an artifact holds it under ``name``: the first
    path returned is the file that names it (``<name>.<type>.json``), the rest the
    files its cell names."""
    if not isinstance(obj, Media):
        raise UsageError(f"artifact.add takes a Table or a media value, not {type(obj).__name__}")
    entry = validate_entry_path(obj.with_suffix(name))
    if isinstance(obj, Table):
        return obj._write(root, entry)
    cell, files = obj._store(root)
    target = root / entry
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(cell, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    return [entry, *files]


def read_media(root: Path, name: str) -> Any:
    """The value an artifact's files under ``root`` hold under ``name`` (as
    ``write_media`` wrote it), or None when there is none by that name."""
    found = find_stored(root, name)
    if found is None:
        return None
    entry, kind = found
    if kind is Table:
        return Table._read(root, entry)
    try:
        cell = json.loads((root / entry).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ArtifactError(f"{entry}: not a media file ({exc})") from None
    try:
        return kind.from_json(cell, root)
    except UsageError as exc:
        raise ArtifactError(f"{entry}: {exc}") from None


__all__ = [
    "IMAGE_DIR",
    "Audio",
    "Classes",
    "Graph",
    "Histogram",
    "Html",
    "Image",
    "JoinedTable",
    "Media",
    "Molecule",
    "Object3D",
    "Plotly",
    "Table",
    "Video",
    "box3d",
    "read_media",
    "write_media",
]
