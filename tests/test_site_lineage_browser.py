"""Lineage you can read, measured in a real browser: headless Chromium (Debian's) driven
by Playwright, opening the built site from ``file://`` as ``site build`` tells users to,
at a desktop and a phone width, in the light and the dark palette."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry_tool._engine.context import Context
from registry_tool._site import build as site_build
from tests import site_screenshots as shots

pytestmark = pytest.mark.slow

SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts"
VIEWPORTS = shots.VIEWPORTS
VERSION = "artifacts/demo/two-blobs/v0.html"

# The rendered size of each label (its font size in the SVG's units times the SVG's
# scale on screen), in CSS px.
LABEL_PX = """() => [...document.querySelectorAll('.rt-lineage svg .node text')].map(
  t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"""
# WCAG contrast of the edges against what is behind them: the first ancestor (the SVG
# itself included) with a background colour that is not transparent.
EDGE_CONTRAST = """() => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(c => { c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; })
    .reduce((s, c, i) => s + c * [0.2126, 0.7152, 0.0722][i], 0);
  const svg = document.querySelector('.rt-lineage svg');
  let el = svg, bg = null;
  while (el) {
    const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length < 4 || c[3] > 0) { bg = c; break; }
    el = el.parentElement;
  }
  bg = bg || [255, 255, 255];
  return [...svg.querySelectorAll('.edge path')].map(p => {
    const a = lum(rgb(getComputedStyle(p).stroke)), b = lum(bg);
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  });
}"""


@pytest.fixture
def built(showcase, tmp_path):
    out = tmp_path / "site"
    site_build.build(Context.open(showcase.root), out)
    return out


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_lineage_reads_at_natural_size_in_a_box_that_scrolls(built, browser, size, scheme):
    tab = shots.open_tab(browser, (built / VERSION).as_uri(), size, scheme)
    palette = tab.evaluate("document.body.getAttribute('data-md-color-scheme')")
    assert palette == ("slate" if scheme == "dark" else "default")
    svg = tab.locator(".rt-lineage svg")
    assert svg.count() == 1
    assert svg.get_attribute("role") == "img"
    assert "Lineage of demo/two-blobs:v0" in (svg.get_attribute("aria-label") or "")
    sizes = tab.evaluate(LABEL_PX)
    assert len(sizes) >= 8 and min(sizes) >= 12, sizes  # two lines per node
    # the page never scrolls sideways; the graph's box does when it is wider
    assert tab.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[size][0]
    box = tab.evaluate(
        "(() => { const b = document.querySelector('.rt-lineage-box');"
        " return [b.scrollWidth, b.clientWidth, getComputedStyle(b).overflowX]; })()"
    )
    assert box[2] == "auto"
    if size == "phone":
        assert box[0] > box[1]  # drawn wider than the column, not shrunk into it
    contrast = tab.evaluate(EDGE_CONTRAST)
    assert contrast and min(contrast) >= 3, contrast
    tip = tab.evaluate(
        "document.querySelector('#rt_focus title').textContent"
    )  # the hover text of the focus node, with real line breaks
    assert tip == "demo/two-blobs:v0\ntype: dataset"
    assert tab.errors == []
    SHOTS.mkdir(exist_ok=True)
    tab.locator(".rt-lineage-box").screenshot(path=str(SHOTS / f"lineage-{size}-{scheme}.png"))


def test_the_zoom_buttons_scale_the_graph_and_reset_it(built, browser):
    tab = shots.open_tab(browser, (built / VERSION).as_uri(), "phone", "light")
    natural = min(tab.evaluate(LABEL_PX))
    tab.get_by_role("button", name="Zoom in").click()
    tab.get_by_role("button", name="Zoom in").click()
    assert min(tab.evaluate(LABEL_PX)) == pytest.approx(natural * 1.25 * 1.25, rel=0.02)
    tab.get_by_role("button", name="Zoom out").click()
    assert min(tab.evaluate(LABEL_PX)) == pytest.approx(natural * 1.25, rel=0.02)
    tab.get_by_role("button", name="Actual size").click()
    assert min(tab.evaluate(LABEL_PX)) == pytest.approx(natural, rel=0.02)
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    assert tab.errors == []


def test_the_full_lineage_page_opens_from_the_version_and_its_nodes_link(built, browser):
    tab = shots.open_tab(browser, (built / VERSION).as_uri(), "desktop", "light")
    tab.get_by_role("link", name="full lineage").click()
    tab.wait_for_load_state("load")
    assert tab.url.endswith("/artifacts/demo/two-blobs/v0-lineage.html")
    assert "full lineage" in tab.locator("h1").inner_text()
    assert min(tab.evaluate(LABEL_PX)) >= 12
    tab.locator(".rt-lineage svg a", has_text="classifier:v2").first.click()
    tab.wait_for_load_state("load")
    assert tab.url.endswith("/artifacts/demo/classifier/v2.html")
    assert tab.errors == []
