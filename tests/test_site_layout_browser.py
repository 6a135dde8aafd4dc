"""Tables that read, measured in a real browser: headless Chromium (Debian's) driven by
Playwright, opening the built showcase site from ``file://`` as ``site build`` tells
users to, at a desktop and a phone width, in the light and the dark palette.

What is measured is what the reader sees: the page is never wider than the window (a
wide table scrolls inside itself); a digest, a number, a timestamp or a badge is never
broken across lines (its text has one line box); the newest version is on screen
without scrolling sideways; a page with nothing in its table of contents gives the
content the width instead of an empty column."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import site_screenshots as shots

pytestmark = pytest.mark.slow

# Text that must stay on one line, wherever it is in a table: code of one word
# (digests, types, names), times, badges, and cells whose whole text is a number, a size, a
# version or a duration. Each yields [what, its text, how many lines it takes], the
# lines counted as distinct tops of the client rects of its text.
UNBROKEN = r"""() => {
  const lines = el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const tops = new Set([...range.getClientRects()]
      .filter(r => r.width > 0).map(r => Math.round(r.top)));
    return tops.size;
  };
  const atomic = /^(v\d+|[-+]?\d[\d,.]*(e[-+]?\d+)?\s*(%|[kMGT]?i?B|s|ms|min|h)?|\d+(\.\d+)?\s*(bytes?|files?))$/i;
  // A time's date, without the "(3 days ago)" the page adds (its own line on a phone).
  const date = el => {
    const range = document.createRange();
    range.selectNodeContents(el.firstChild);
    const tops = new Set([...range.getClientRects()]
      .filter(r => r.width > 0).map(r => Math.round(r.top)));
    return tops.size;
  };
  const found = [];
  const cells = document.querySelectorAll('.md-typeset table td, .md-typeset table th');
  for (const cell of cells) {
    for (const el of cell.querySelectorAll('code, time, .rt-alias, .rt-stage, .rt-tag')) {
      // code of more than one word (a command, an expression) may wrap between words
      if (el.tagName === 'CODE' && /\s/.test(el.textContent.trim())) continue;
      const n = el.tagName === 'TIME' ? date(el) : lines(el);
      found.push([el.tagName.toLowerCase() + '.' + el.className, el.textContent, n]);
    }
    const text = cell.textContent.trim();
    if (atomic.test(text)) found.push(['cell', text, lines(cell)]);
  }
  return found;
}"""
# The document's width against the window's, and the widest element that sticks out.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  let worst = null;
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 1 && (!worst || r.right > worst[1])) {
      let scrolls = false;
      for (let p = el.parentElement; p; p = p.parentElement) {
        const s = getComputedStyle(p);
        if (/(auto|scroll|hidden|clip)/.test(s.overflowX) && p !== document.body
            && p !== document.documentElement) { scrolls = true; break; }
      }
      if (!scrolls) worst = [el.tagName + '.' + el.className, Math.round(r.right)];
    }
  }
  return [document.documentElement.scrollWidth, width, worst];
}"""


@pytest.fixture
def built(showcase, tmp_path) -> tuple[Path, dict[str, str]]:
    site = shots.build_every_kind(showcase, tmp_path / "site")
    return site, shots.page_paths(site)


browser = shots.browser


@pytest.mark.parametrize("scheme", shots.SCHEMES)
@pytest.mark.parametrize("size", list(shots.VIEWPORTS))
def test_no_page_is_wider_than_the_window_nor_breaks_a_digest_number_or_time(
    built, browser, size, scheme
):
    site, pages = built
    measured = 0
    for kind, path in pages.items():
        tab = shots.open_page(browser, (site / path).as_uri(), size, scheme)
        scroll, width, worst = tab.evaluate(OVERFLOW)
        assert scroll <= width, (kind, size, scheme, scroll, width, worst)
        found = tab.evaluate(UNBROKEN)
        broken = [(what, text[:40], n) for what, text, n in found if n > 1]
        assert broken == [], (kind, size, scheme, broken)
        assert tab.errors == [], (kind, tab.errors)
        measured += len(found)
        tab.context.close()
    assert measured > 100  # the measurement saw the digests, sizes and times it is about


@pytest.mark.parametrize("size", list(shots.VIEWPORTS))
def test_the_newest_version_is_on_screen_without_scrolling_sideways(built, browser, size):
    site, pages = built
    tab = shots.open_page(browser, (site / pages["collection"]).as_uri(), size, "light")
    # the newest version's link, wherever its row is in the table
    link = tab.locator("table.rt-versions tbody tr td:first-child a", has_text="v2")
    assert link.count() == 1
    box = link.bounding_box()
    assert box is not None
    width = tab.evaluate("document.documentElement.clientWidth")
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (size, box, width)
    tab.context.close()


def test_long_text_wraps_in_its_cell_and_a_page_with_no_contents_uses_the_width(built, browser):
    """A long path or value makes a taller cell within the window, not a wider page; at
    desktop width the table-of-contents column is there only when it lists something,
    and where it would be empty the content takes its room."""
    site, pages = built
    for size in shots.VIEWPORTS:
        tab = shots.open_page(browser, (site / pages["many-files-version"]).as_uri(), size, "light")
        cell = tab.locator("table.rt-files td", has_text="weights.bin").first
        box = cell.bounding_box()
        assert box is not None
        assert box["width"] <= shots.VIEWPORTS[size][0], (size, box)
        assert box["height"] > 30, (size, box)  # wrapped onto more than one line
        tab.context.close()
    for kind, path in pages.items():
        tab = shots.open_page(browser, (site / path).as_uri(), "desktop", "light")
        width, entries, spare = tab.evaluate(
            """() => { const s = document.querySelector('.md-sidebar--secondary');
              const w = e => e ? e.getBoundingClientRect().width : 0;
              // the room of the main column that neither the nav nor the content takes
              const spare = w(document.querySelector('.md-main__inner'))
                - w(document.querySelector('.md-sidebar--primary'))
                - w(document.querySelector('.md-content'));
              return [w(s), s ? s.querySelectorAll('.md-nav__link').length : 0, spare]; }"""
        )
        assert entries > 0 or width == 0, (kind, width, entries)
        if entries == 0:
            assert spare < 2, (kind, spare)  # the content took the empty column's room
        tab.context.close()
