"""The wheel ships the schemas, site templates and base mkdocs.yml, and finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_packaged_data(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("registry_tool-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in (ROOT / "schemas").glob("*.schema.json"):
        assert f"registry_tool/_data/schemas/{schema.name}" in names
    assert "registry_tool/_data/mkdocs.yml" in names
    assert any(n.startswith("registry_tool/_data/site_templates/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "registry-tool = registry_tool.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
