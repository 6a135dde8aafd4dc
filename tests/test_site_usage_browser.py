"""A version's usage snippets and files in a real browser (Debian's Chromium driven by
Playwright), at 1400x1000 and 390x844, from file:// and served on 127.0.0.1: the copy
button puts the snippet on the clipboard and is the snippet's one copy control, the
filter narrows the files, and no page is wider than the screen. One site is built,
served and browsed for the whole module."""

from __future__ import annotations

from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool._engine.context import Context
from registry_tool._site import build as site_build
from tests.helpers import write
from tests.showcase import showcase_registry

pytestmark = pytest.mark.slow

DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The showcase, plus a dataset of nested folders with a long path and a table."""
    base = tmp_path_factory.mktemp("usage")
    with showcase_registry(base) as store:
        for i in range(4):
            write(f"ds/images/train/cat_{i}.png", f"img {i}")
            write(f"ds/images/val/dog_{i}.png", f"img {i}")
        write("ds/" + "a_rather_long_folder_name/" * 6 + "x" * 120 + ".txt", "deep")
        write("ds/labels.csv", "a,b\n")
        table = wandb.Table(columns=["id", "label", "note"])
        for i in range(8):
            table.add_data(i, f"label {i}", "n" * 300)
        with wandb.init(project="demo") as run:
            art = wandb.Artifact("images", type="dataset")
            art.add_dir("ds")
            art.add(table, "predictions")
            run.log_artifact(art)
        site_build.build(Context.open(store.root), base / "site")
    return base / "site"


def _tab(browser, viewport, *, clipboard: bool = True):
    context = browser.new_context(viewport=viewport)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    if not clipboard:  # a browser without the clipboard API: the fallback's turn
        context.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    return tab


def _copied(tab, button, *, clipboard: bool) -> str:
    """What the click put on the clipboard, or, without the clipboard API, what the
    fallback selected (and copied, or left for the reader's Ctrl+C)."""
    button.click()
    tab.wait_for_function("b => b.textContent !== 'Copy'", arg=button.element_handle())
    if clipboard:
        return str(tab.evaluate("navigator.clipboard.readText()"))
    return str(tab.evaluate("window.getSelection().toString()"))


def _copy_controls(tab) -> list[int]:
    """How many copy controls a reader sees beside each snippet: ours, and any the
    theme adds to a code block (``content.code.copy``)."""
    return tab.evaluate(
        """() => [...document.querySelectorAll('.rt-snippet-box')].map(box =>
          [...box.querySelectorAll('button, .md-clipboard, .md-code__button')].filter(b => {
            const r = b.getBoundingClientRect(), s = getComputedStyle(b);
            return r.width > 0 && r.height > 0 && s.visibility !== 'hidden';
          }).length)"""
    )


def _overflow(tab) -> int:
    return tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("mode", ["file", "served", "no-clipboard-api"])
def test_copy_buttons_copy_each_snippet(site, served, browser, viewport, mode):
    clipboard = mode != "no-clipboard-api"
    tab = _tab(browser, viewport, clipboard=clipboard)
    rel = "artifacts/demo/classifier/v2.html"
    tab.goto((site / rel).as_uri() if mode == "file" else f"{served}/{rel}")
    buttons = tab.locator(".rt-copy")
    codes = tab.locator("pre.rt-snippet code").all_text_contents()
    assert buttons.count() == len(codes) == 4  # Python and CLI, own path and registry path
    tab.wait_for_load_state("load")  # the theme has added what it adds to code blocks
    tab.locator("pre.rt-snippet").first.hover()  # where the theme's own button shows
    assert _copy_controls(tab) == [1, 1, 1, 1]  # ours alone: not the theme's beside it
    for i in (0, 3):
        button = buttons.nth(i)
        assert button.is_visible()
        box = button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= viewport["width"]
        assert _copied(tab, button, clipboard=clipboard).strip() == codes[i].strip()
        tab.evaluate("navigator.clipboard && navigator.clipboard.writeText('')")
    assert "registry-tool get model-registry/prod/classifier:v0" in codes[3]
    assert _overflow(tab) <= 0
    assert tab.errors == []
    tab.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_filter_narrows_the_files_and_no_page_overflows(site, browser, viewport):
    tab = _tab(browser, viewport)
    tab.goto((site / "artifacts/demo/images/v0.html").as_uri())
    rows = tab.locator(".rt-files-box tr[data-path]")
    total = rows.count()
    assert total == 11
    assert tab.locator(".rt-files-box details.rt-folder").count() == 3 + 1  # the chain is one
    box = tab.locator(".rt-files-filter")
    assert box.is_visible()
    box.fill("dog_")
    visible = [r for r in rows.all() if r.is_visible()]
    assert [r.get_attribute("data-path") for r in visible] == [
        f"images/val/dog_{i}.png" for i in range(4)
    ]
    assert tab.locator(".rt-files-shown").inner_text() == "4 of 11 files"
    assert not tab.locator("summary", has_text="train/").is_visible()  # no match inside
    box.fill("")
    assert sum(r.is_visible() for r in rows.all()) == total
    name = "desktop" if viewport is DESKTOP else "phone"
    SHOTS.mkdir(exist_ok=True)
    for scheme in ("default", "slate"):
        tab.evaluate(f"document.body.setAttribute('data-md-color-scheme', {scheme!r})")
        for rel in ("artifacts/demo/images/v0.html", "artifacts/demo/classifier/v2.html"):
            tab.goto((site / rel).as_uri())
            tab.evaluate(f"document.body.setAttribute('data-md-color-scheme', {scheme!r})")
            assert _overflow(tab) <= 0, (rel, scheme)
        tab.goto((site / "artifacts/demo/images/v0.html").as_uri())
        tab.evaluate(f"document.body.setAttribute('data-md-color-scheme', {scheme!r})")
        preview = tab.locator(".rt-preview table")
        assert preview.locator("tbody tr").count() == 5 and preview.is_visible()
        tab.screenshot(path=str(SHOTS / f"usage-{name}-{scheme}.png"), full_page=True)
    assert tab.errors == []
    tab.context.close()
