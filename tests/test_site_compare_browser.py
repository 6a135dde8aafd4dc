"""A collection's page in headless Chromium (Debian's), from ``file://``, at a desktop
and a phone width: the newest version in view without scrolling sideways, the tables
sorting and filtering, the change counts shown."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool._engine.context import Context
from registry_tool._site import build as site_build
from tests.helpers import write

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.fixture
def site(registry, tmp_path) -> Path:
    with wandb.init(project="demo", job_type="train", id="train000") as run:
        for i in range(12):
            art = wandb.Artifact(
                "model", type="model", metadata={"acc": 0.5 + i / 100, "per_class": {"cat": i / 3}}
            )
            art.add_file(str(write(f"src{i}/w.bin", "w" * (i + 1))), name="w.bin")
            if i == 11:
                art.add_file(str(write(f"src{i}/extra.txt", "e")), name="extra.txt")
            run.log_artifact(art)
    site_build.build(Context.open(registry.root), tmp_path / "site")
    return tmp_path / "site/artifacts/demo/model/index.html"


@pytest.mark.parametrize("width, height", [(1400, 1000), (390, 844)])
def test_newest_first_sorting_filtering_and_counts(site, width, height):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        tab = browser.new_page(viewport={"width": width, "height": height})
        errors: list[str] = []
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(site.as_uri())
        tab.wait_for_load_state("load")
        versions = tab.locator("table.rt-versions tbody tr")
        first = versions.first.locator("td").first
        assert first.inner_text().strip() == "v11"
        box = first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        assert tab.evaluate("document.documentElement.scrollWidth") <= width
        assert "+1 −0 ~1 · +2 B" in versions.first.inner_text()  # extra.txt in, w.bin grew
        metadata = tab.locator("table.rt-metadata tbody tr")
        assert metadata.first.locator("th").inner_text() == "v11"

        tab.locator("table.rt-versions thead button", has_text="Version").click()
        assert versions.first.locator("td").first.inner_text().strip() == "v0"
        tab.locator("table.rt-versions thead button", has_text="Version").click()
        assert versions.first.locator("td").first.inner_text().strip() == "v11"
        header = tab.locator("table.rt-metadata thead th", has_text="per_class.cat")
        header.locator("button").click()
        assert header.get_attribute("aria-sort") == "ascending"
        assert metadata.first.locator("th").inner_text() == "v0"

        tab.locator("input.rt-filter").first.fill("v3")
        visible = tab.locator("table.rt-versions tbody tr:not([hidden])")
        assert (
            visible.count() == 1 and visible.first.locator("td").first.inner_text().strip() == "v3"
        )
        assert errors == []
        browser.close()
