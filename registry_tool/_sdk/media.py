"""``Table`` and ``Image``: structured data stored as files inside an artifact.

A table is ``<name>.table.json`` (columns and rows); each ``Image`` cell is a PNG (or
the original file) under ``media/images/`` named by its content hash.

>>> t = Table(columns=["id", "label"])
>>> t.add_data(0, "cat")
>>> t.data
[[0, 'cat']]
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

from registry_tool._model.names import validate_entry_path
from registry_tool._model.plain import to_plain
from registry_tool.errors import UsageError

IMAGE_DIR = "media/images"
_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".svg"}


class Image:
    """An image cell: a file path, a PIL image, or a numpy array (Pillow needed for both)."""

    def __init__(self, data_or_path: Any, caption: str | None = None) -> None:
        self.caption = caption
        self._path: Path | None = None
        self._png: bytes | None = None
        if isinstance(data_or_path, (str, Path)):
            path = Path(data_or_path)
            if not path.is_file():
                raise UsageError(f"Image: {path} is not a file")
            if path.suffix.lower() not in _EXTENSIONS:
                raise UsageError(
                    f"Image: {path} is not a known image type ({', '.join(sorted(_EXTENSIONS))})"
                )
            self._path = path
        else:
            self._png = _to_png(data_or_path)
        self.path: str | None = None  # inside the artifact, once stored

    def _bytes_and_ext(self) -> tuple[bytes, str]:
        if self._path is not None:
            return self._path.read_bytes(), self._path.suffix.lower()
        assert self._png is not None
        return self._png, ".png"

    def _store(self, root: Path) -> dict[str, Any]:
        data, ext = self._bytes_and_ext()
        digest = hashlib.sha256(data).hexdigest()
        rel = f"{IMAGE_DIR}/{digest[:32]}{ext}"
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            if self._path is not None:
                shutil.copyfile(self._path, target)
            else:
                target.write_bytes(data)
        self.path = rel
        cell: dict[str, Any] = {"_type": "image-file", "path": rel, "sha256": digest}
        size = _image_size(data)
        if size:
            cell["width"], cell["height"] = size
        if self.caption:
            cell["caption"] = self.caption
        return cell


def _to_png(obj: Any) -> bytes:
    try:
        from PIL import Image as PILImage
    except ImportError:
        raise UsageError(
            "Image from an array or PIL image needs Pillow: pip install 'registry-tool[images]'"
        ) from None
    if isinstance(obj, PILImage.Image):
        image = obj
    elif hasattr(obj, "__array_interface__"):
        import numpy as np

        array = np.asarray(obj)
        if array.dtype != np.uint8:
            array = np.clip(array * (255 if array.max() <= 1.0 else 1), 0, 255).astype(np.uint8)
        image = PILImage.fromarray(array)
    else:
        raise UsageError(f"Image: cannot make an image from {type(obj).__name__}")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _image_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


class Table:
    """Rows of plain values and ``Image`` cells under named columns."""

    def __init__(
        self,
        columns: list[str] | None = None,
        data: list[list[Any]] | None = None,
        rows: list[list[Any]] | None = None,
    ) -> None:
        rows = data if data is not None else rows
        if columns is None:
            if not rows:
                raise UsageError("Table needs columns (or data to count them from)")
            columns = [f"col{i}" for i in range(len(rows[0]))]
        if len(set(columns)) != len(columns):
            raise UsageError(f"Table columns must be unique: {columns}")
        self.columns = [str(c) for c in columns]
        self.data: list[list[Any]] = []
        for row in rows or []:
            self.add_data(*row)

    def add_data(self, *values: Any) -> None:
        if len(values) != len(self.columns):
            raise UsageError(
                f"Table row has {len(values)} values for {len(self.columns)} columns {self.columns}"
            )
        self.data.append(list(values))

    def get_column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.data]

    def __len__(self) -> int:
        return len(self.data)

    def _write(self, root: Path, table_name: str) -> list[str]:
        """Write the table and its images under ``root``; return their paths."""
        files = []
        rows = []
        for r, row in enumerate(self.data):
            out = []
            for c, value in enumerate(row):
                if isinstance(value, Image):
                    cell = value._store(root)
                    files.append(cell["path"])
                    out.append(cell)
                else:
                    out.append(to_plain(value, where=f"Table row {r} column {self.columns[c]!r}"))
            rows.append(out)
        doc = {"_type": "table", "columns": self.columns, "data": rows}
        target = root / table_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=False), encoding="utf-8")
        return [table_name, *dict.fromkeys(files)]

    @classmethod
    def _read(cls, root: Path, table_name: str) -> Table:
        doc = json.loads((root / table_name).read_text("utf-8"))
        table = cls(columns=doc["columns"])
        for row in doc["data"]:
            cells = []
            for cell in row:
                if isinstance(cell, dict) and cell.get("_type") == "image-file":
                    image = Image(
                        root / validate_entry_path(cell["path"]), caption=cell.get("caption")
                    )
                    image.path = cell["path"]
                    cells.append(image)
                else:
                    cells.append(cell)
            table.add_data(*cells)
        return table
