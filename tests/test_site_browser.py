"""The built site in a real browser: headless Chromium (Debian's) driven by Playwright,
against the site served on 127.0.0.1. Screenshots land in test-artifacts/."""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from registry_tool._engine.context import Context
from registry_tool._site import build as site_build

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(showcase, tmp_path):
    out = tmp_path / "site"
    site_build.build(Context.open(showcase.root), out)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def page():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (make test installs Debian's chromium)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        tab = context.new_page()
        tab.errors = []  # type: ignore[attr-defined]
        tab.on("console", lambda m: m.type == "error" and tab.errors.append(m.text))  # type: ignore[attr-defined]
        tab.on("pageerror", lambda e: tab.errors.append(str(e)))  # type: ignore[attr-defined]
        yield tab
        browser.close()


PAGES = {
    "home": "index.html",
    "registry": "registries/prod.html",
    "registry collection": "registries/prod/classifier.html",
    "collection": "artifacts/demo/classifier/index.html",
    "version": "artifacts/demo/two-blobs/v0.html",
    "run": "runs/demo/train001.html",
}


def test_pages_load_without_errors_and_no_payload_runs(served, page):
    SHOTS.mkdir(exist_ok=True)
    for name, path in PAGES.items():
        page.goto(f"{served}/{path}")
        page.wait_for_load_state("networkidle")
        assert page.errors == [], (name, page.errors)
        assert page.evaluate("typeof window.__pwned") == "undefined", name
        page.screenshot(path=str(SHOTS / f"site-{name}.png"), full_page=True)


def test_a_lineage_node_links_to_its_page(served, page):
    page.goto(f"{served}/{PAGES['version']}")
    assert page.locator(".rt-lineage svg").count() == 1
    page.locator(".rt-lineage svg a", has_text="train001").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/runs/demo/train001.html")
    assert page.locator("h1").inner_text() == "Run train001"


def test_search_finds_an_artifact_by_name(served, page):
    page.goto(f"{served}/index.html")
    page.wait_for_load_state("networkidle")
    page.keyboard.press("/")  # the search shortcut
    page.keyboard.type("classifier", delay=30)
    result = page.locator(".md-search-result__item").first
    result.wait_for(timeout=15000)
    assert "classifier" in page.locator(".md-search-result").inner_text()


def test_search_results_show_hostile_text_as_text(served, page):
    page.goto(f"{served}/index.html")
    page.wait_for_load_state("networkidle")
    page.keyboard.press("/")
    page.keyboard.type("Points", delay=30)  # a description with a script in it
    page.locator(".md-search-result__item").first.wait_for(timeout=15000)
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator(".md-search-result img, .md-search-result script").count() == 0


def test_dark_mode_toggle(served, page):
    page.goto(f"{served}/index.html")
    before = page.evaluate("document.body.getAttribute('data-md-color-scheme')")
    page.locator("form[data-md-component=palette] label:visible").first.click()
    after = page.evaluate("document.body.getAttribute('data-md-color-scheme')")
    assert {before, after} == {"default", "slate"}
    page.screenshot(path=str(SHOTS / "site-dark.png"))
