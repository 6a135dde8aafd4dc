"""Search, skip links and breadcrumbs in a real browser (Debian's Chromium driven by
Playwright): from file://, where the site's own box reads search/search_index.js, and
served by ``python -m http.server`` on 127.0.0.1, where the theme's search runs; in the
light and the dark palette, at a desktop and a phone width. One site is built, served
and browsed for the whole module."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry_tool._engine.context import Context
from registry_tool._site import build as site_build
from tests import site_screenshots as shots
from tests.showcase import showcase_registry
from tests.test_site_layout_browser import CONTRAST

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("search")
    with showcase_registry(base) as store:
        site_build.build(Context.open(store.root), base / "site")
    return base / "site"


def _tab(browser, viewport=None):
    context = browser.new_context(viewport=viewport or {"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    return tab


def _offline_search(tab, query: str) -> list[str]:
    box = tab.locator(".rt-search__input")
    assert box.is_visible()
    box.fill(query)
    tab.locator(".rt-search__result").first.wait_for(timeout=10000)
    return tab.locator(".rt-search__title").all_inner_texts()


@pytest.mark.parametrize("scheme", shots.SCHEMES)
@pytest.mark.parametrize("size", list(shots.VIEWPORTS))
def test_offline_search_finds_an_artifact_a_version_and_a_run(site, browser, size, scheme):
    url = (site / "artifacts/demo/classifier/v1.html").as_uri()
    tab = shots.open_page(browser, url, size, scheme)
    assert tab.locator(".md-search").is_hidden()  # the theme's box cannot run here
    assert _offline_search(tab, "classifier")[0] == "demo/classifier"
    title = tab.locator(".rt-search__title").first
    assert title.evaluate(CONTRAST) >= 4.5  # the results read in either palette
    assert _offline_search(tab, "classifier:v2")[0] == "demo/classifier:v2"
    assert _offline_search(tab, "two-blobs")[0] == "demo/two-blobs"
    assert _offline_search(tab, "train-train001")[0] == "Run train001"
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= tab.viewport_size["width"]  # the results fit the page
    tab.locator(".rt-search__result").first.click()
    tab.wait_for_load_state()
    assert tab.url.endswith("/runs/demo/train001.html")
    assert tab.errors == []
    tab.context.close()


def test_offline_search_shows_hostile_text_as_text(site, browser):
    tab = _tab(browser)
    tab.goto((site / "index.html").as_uri())
    tab.keyboard.press("/")  # the search shortcut focuses the box
    tab.keyboard.type("Points", delay=20)
    tab.locator(".rt-search__result").first.wait_for(timeout=10000)
    assert "<script>" in tab.locator(".rt-search__results").inner_text()
    assert tab.locator(".rt-search__results script, .rt-search__results img").count() == 0
    assert tab.evaluate("typeof window.__pwned") == "undefined"
    tab.context.close()


@pytest.mark.parametrize("scheme", shots.SCHEMES)
def test_served_search_finds_an_artifact_a_version_and_a_run(served, browser, scheme):
    tab = shots.open_page(browser, f"{served}/index.html", "desktop", scheme)
    tab.wait_for_load_state("networkidle")
    assert tab.locator(".rt-search").count() == 0  # served: the theme's search
    for query, title in (
        ("classifier", "demo/classifier"),
        ("classifier:v2", "demo/classifier:v2"),
        ("train001", "Run train001"),
    ):
        box = tab.locator(".md-search__input")
        box.click()
        box.fill("")
        box.type(query, delay=20)
        tab.locator(".md-search-result__item").first.wait_for(timeout=15000)
        tab.wait_for_timeout(300)
        titles = tab.locator(".md-search-result__article h1").all_inner_texts()
        assert title in titles[:3], (query, titles)
        tab.keyboard.press("Escape")
    assert tab.errors == []
    tab.context.close()


@pytest.mark.parametrize("mode", ["file", "served"])
def test_skip_link_and_breadcrumbs_on_a_phone(site, served, browser, mode):
    tab = _tab(browser, PHONE)
    for rel in (
        "artifacts/demo/classifier/v2.html",
        "artifacts/demo/classifier/index.html",
        "runs/demo/train001.html",
        "registries/prod/classifier.html",
        "index.html",
    ):
        tab.goto((site / rel).as_uri() if mode == "file" else f"{served}/{rel}")
        target = tab.evaluate("document.querySelector('a.md-skip').getAttribute('href').slice(1)")
        assert tab.evaluate(f"!!document.getElementById({target!r})"), (rel, target)
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], rel
        if rel != "index.html":
            crumbs = tab.locator(".rt-crumbs li")
            assert crumbs.count() >= 2 and crumbs.first.is_visible(), rel
    tab.goto((site / "artifacts/demo/classifier/v2.html").as_uri())
    tab.locator(".rt-crumbs a", has_text="classifier").click()
    tab.wait_for_load_state()
    assert tab.url.endswith("/artifacts/demo/classifier/index.html")
    tab.context.close()
