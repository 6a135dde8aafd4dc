"""Packaged data (schemas, site templates, the base mkdocs.yml) via importlib.resources.

In a wheel the data sits in ``registry_tool/_data``; in a source checkout (an editable
install) it sits beside the package, at the top of the project.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path


def data_path(name: str) -> Traversable:
    """The packaged ``schemas``, ``site_templates`` or ``mkdocs.yml``."""
    packaged = resources.files("registry_tool") / "_data" / name
    if packaged.is_dir() or packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / name
