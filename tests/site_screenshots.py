"""Screenshots of every kind of page of the showcase site, for people to look at:
``make screenshots`` builds the showcase registry (``tests/showcase.py``, with a table
and a version of many files added, so that table and files pages exist too) and writes
a PNG of each page kind at a desktop and a phone width, in the light and the dark
palette, into ``test-artifacts/screenshots/`` (outside git).

It runs under pytest for the showcase's fixtures (a registry in a temporary folder, an
isolated home), but is not part of the suite: pytest collects ``test_*.py`` files only,
and ``make screenshots`` names this one. ``tests/test_site_layout_browser.py`` measures
the same pages."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import registry_tool as wandb
from registry_tool._engine.context import Context
from registry_tool._site import build as site_build
from tests.helpers import write

VIEWPORTS = {"desktop": (1400, 1000), "phone": (390, 844)}
SCHEMES = ("light", "dark")
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
# One page of every kind the showcase site has (files and table pages are named by a
# fingerprint: their patterns are looked up in the built site).
PAGES = {
    "home": "index.html",
    "registry": "registries/prod.html",
    "registry-collection": "registries/prod/classifier.html",
    "projects": "artifacts/index.html",
    "project": "artifacts/demo/index.html",
    "collection": "artifacts/demo/classifier/index.html",
    "version": "artifacts/demo/two-blobs/v0.html",
    "model-version": "artifacts/demo/classifier/v0.html",
    "lineage": "artifacts/demo/classifier/v2-lineage.html",
    "run": "runs/demo/train001.html",
    "many-files-version": "artifacts/demo/many-files/v0.html",
    "files": "artifacts/demo/many-files/v0-files-*.html",
    "table": "artifacts/demo/predictions/v0-table-*.html",
}
FILES = 1001  # one more than a version page lists: the rest go to a files page
LONG_PATH = "/".join(["a-rather-long-folder-name"] * 6)


def add_every_kind() -> None:
    """Add to the showcase what its other page kinds need, with the text that stretches
    a layout: a table with a long cell, a version with more files than its page lists,
    some under a long path."""
    table = wandb.Table(columns=["id", "label", "note"])
    for i in range(12):
        table.add_data(i, f"class-{i}", "a long note " * 20 if i == 0 else "short")
    write("many/" + LONG_PATH + "/weights.bin", "w")
    for i in range(FILES - 1):
        write(f"many/part-{i:04d}.txt", str(i))
    with wandb.init(project="demo", job_type="eval", id="eval0000") as run:
        predictions = wandb.Artifact("predictions", type="predictions")
        predictions.add(table, "predictions")
        run.log_artifact(predictions)
        files = wandb.Artifact("many-files", type="dataset", metadata={"rows": 1001})
        files.add_dir("many")
        run.log_artifact(files)


def page_paths(site: Path) -> dict[str, str]:
    """Every kind's page in the built ``site``, its pattern resolved."""
    found = {}
    for kind, pattern in PAGES.items():
        matches = sorted(p.relative_to(site).as_posix() for p in site.glob(pattern))
        assert matches, f"{kind}: no page {pattern} in the built site"
        found[kind] = matches[0]
    return found


def build_every_kind(showcase: Any, out: Path) -> Path:
    """The showcase site with every kind of page, built into ``out``."""
    add_every_kind()
    site_build.build(Context.open(showcase.root), out)
    return out


def open_tab(browser: Any, url: str, size: str, scheme: str) -> Any:
    """A tab at ``size``, the browser preferring the ``scheme`` palette, showing ``url``
    once loaded; page errors are collected in ``tab.errors``."""
    width, height = VIEWPORTS[size]
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    tab.goto(url)
    tab.wait_for_load_state("load")
    return tab


def open_page(browser: Any, url: str, size: str, scheme: str) -> Any:
    """``open_tab`` in the ``scheme`` palette for sure (switched by the page's own
    toggle, as a reader does), its fonts loaded."""
    tab = open_tab(browser, url, size, scheme)
    tab.evaluate("document.fonts.ready")
    wanted = "slate" if scheme == "dark" else "default"
    for _ in range(2):
        if tab.evaluate("document.body.getAttribute('data-md-color-scheme')") == wanted:
            break
        tab.locator("form[data-md-component=palette] label:visible").first.click()
    assert tab.evaluate("document.body.getAttribute('data-md-color-scheme')") == wanted
    return tab


def test_screenshots(showcase: Any, tmp_path: Path, browser: Any) -> None:
    site = build_every_kind(showcase, tmp_path / "site")
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    SHOTS.mkdir(parents=True)
    written = []
    for kind, path in page_paths(site).items():
        for size in VIEWPORTS:
            for scheme in SCHEMES:
                tab = open_page(browser, (site / path).as_uri(), size, scheme)
                shot = SHOTS / f"{kind}-{size}-{scheme}.png"
                tab.screenshot(path=str(shot), full_page=True)
                tab.context.close()
                written.append(shot)
    assert all(shot.stat().st_size > 0 for shot in written)
    print(f"\n{len(written)} screenshots in {SHOTS}")


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider"]))
