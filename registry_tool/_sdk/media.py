"""``Table`` and ``Image``: structured data stored as files inside an artifact.

A table is ``<name>.table.json`` (W&B's table JSON: columns and rows); each ``Image``
cell is a file under ``media/images/`` named by its content hash. The two live in
``table.py`` and ``image.py``; this module is where the rest of the SDK takes them from.

>>> t = Table(columns=["id", "label"])
>>> t.add_data(0, "cat")
>>> t.data
[[0, 'cat']]
"""

from __future__ import annotations

from registry_tool._sdk.image import IMAGE_DIR, Image
from registry_tool._sdk.table import Table

__all__ = ["IMAGE_DIR", "Image", "Table"]
