"""Tables that read, measured in a real browser: headless Chromium (Debian's) driven by
Playwright, opening the built showcase site from ``file://`` as ``site build`` tells
users to, at a desktop and a phone width, in the light and the dark palette.

What is measured is what the reader sees: the page is never wider than the window (a
wide table scrolls inside itself); a digest, a number, a timestamp or a badge is never
broken across lines (its text has one line box); the newest version is on screen
without scrolling sideways; a page with nothing in its table of contents gives the
content the width instead of an empty column; number cells line up and a long value is
cut to one line with the whole of it in its title.

One site is built and one browser launched for the whole module (the pages are only
read), so that each palette and width costs page loads, not builds."""

from __future__ import annotations

from pathlib import Path

import pytest

import registry_tool as wandb
from tests import site_screenshots as shots
from tests.showcase import showcase_registry

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
    for (const el of cell.querySelectorAll('code, time, .rt-alias, .rt-stage, .rt-tag, .rt-trunc')) {
      // code of more than one word (a command, an expression) may wrap between words
      if (el.tagName === 'CODE' && /\s/.test(el.textContent.trim())) continue;
      const n = el.tagName === 'TIME' ? date(el) : lines(el);
      found.push([el.tagName.toLowerCase() + '.' + el.className, el.textContent, n]);
    }
    const text = cell.textContent.trim();
    if (atomic.test(text) || cell.matches('.rt-num')) found.push(['cell', text, lines(cell)]);
  }
  // a digest in a line of text (a version's header) as well as in a cell
  for (const el of document.querySelectorAll('.md-typeset .rt-digest')) {
    if (!el.closest('table')) found.push(['p.rt-digest', el.textContent, lines(el)]);
  }
  return found;
}"""
# Where a path cell's text goes onto a new line: each line but the last must end with a
# slash (the <wbr> after it), never inside a name such as "classifier:v2". Yields
# [the cell's text, the line it broke] for every line that ends elsewhere.
PATH_BREAKS = r"""() => {
  const bad = [];
  for (const cell of document.querySelectorAll('.md-typeset td.rt-path')) {
    const lines = [];
    let top = null;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.length; i++) {
        const range = document.createRange();
        range.setStart(node, i); range.setEnd(node, i + 1);
        const rect = [...range.getClientRects()].find(r => r.width > 0);
        if (!rect) {  // a space where the line breaks takes no room: it ends the line
          if (lines.length) lines[lines.length - 1] += node.data[i];
          continue;
        }
        if (top === null || Math.abs(rect.top - top) > 2) { lines.push(''); top = rect.top; }
        lines[lines.length - 1] += node.data[i];
      }
    }
    for (const line of lines.slice(0, -1)) {
      if (!/[\/\s]$/.test(line)) bad.push([cell.textContent.trim(), line]);
    }
  }
  return bad;
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


LONG_NOTE = "a note longer than one line of its cell, " * 4


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The showcase site with every kind of page, and a run whose summary holds numbers
    and a long note (number cells, a value cut to one line)."""
    base = tmp_path_factory.mktemp("layout")
    with showcase_registry(base) as store:
        with wandb.init(project="demo", job_type="eval", id="summary0") as run:
            run.summary["accuracy"] = 0.93
            run.summary["steps"] = 1200
            run.summary["note"] = LONG_NOTE
        site = shots.build_every_kind(store, base / "site")
    return site, shots.page_paths(site)


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
        assert tab.evaluate(PATH_BREAKS) == [], (kind, size, scheme)
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


@pytest.mark.parametrize("scheme", shots.SCHEMES)
def test_the_version_header_digest_is_short_and_one_line_on_a_phone(built, browser, scheme):
    """The header's digest is the short one, on one line at 390 px, the whole of it in
    its title; the page is no wider than the window."""
    site, pages = built
    tab = shots.open_page(browser, (site / pages["model-version"]).as_uri(), "phone", scheme)
    text, title, lines = tab.evaluate(
        """() => { const el = document.querySelector('p.rt-type .rt-digest');
          const range = document.createRange(); range.selectNodeContents(el);
          const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
            .map(r => Math.round(r.top)));
          return [el.textContent, el.title, tops.size]; }"""
    )
    assert len(text) == 12 and len(title) == 64 and title.startswith(text), (text, title)
    assert lines == 1, (text, lines)
    scroll, width, worst = tab.evaluate(OVERFLOW)
    assert scroll <= width, (scroll, width, worst)
    tab.context.close()


@pytest.mark.parametrize("size", list(shots.VIEWPORTS))
def test_numbers_line_up_and_a_long_value_is_cut_with_the_whole_in_its_title(built, browser, size):
    site, _ = built
    tab = shots.open_page(browser, (site / "runs/demo/summary0.html").as_uri(), size, "light")
    numbers = tab.evaluate(
        """() => [...document.querySelectorAll('table.rt-summary td.rt-num')].map(td => {
          const s = getComputedStyle(td);
          return [td.textContent, s.textAlign, s.fontVariantNumeric]; })"""
    )
    assert numbers == [["0.93", "right", "tabular-nums"], ["1200", "right", "tabular-nums"]]
    text, title, cut, height = tab.evaluate(
        """() => { const el = document.querySelector('table.rt-summary .rt-trunc');
          return [el.textContent, el.title, el.scrollWidth > el.clientWidth,
                  el.getBoundingClientRect().height]; }"""
    )
    assert text == title == LONG_NOTE and cut is True, (text, title, cut)
    assert height < 25, height  # one line
    tab.context.close()


# The contrast ratio (WCAG's formula) of an element's text against the nearest opaque
# background behind it, the text's own transparency blended in.
CONTRAST = """el => {
  const rgba = c => { const v = c.match(/[\\d.]+/g).map(Number); return v.length < 4 ? [...v, 1] : v; };
  let bg = null;
  for (let p = el; p; p = p.parentElement) {
    const c = rgba(getComputedStyle(p).backgroundColor);
    if (c[3] > 0.9) { bg = c; break; }
  }
  bg = bg || [255, 255, 255, 1];
  const fg = rgba(getComputedStyle(el).color);
  const mixed = fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]));
  const lum = c => {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(mixed), lum(bg)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.mark.parametrize("scheme", shots.SCHEMES)
def test_the_note_of_a_cut_lineage_reads_in_both_palettes(built, browser, scheme):
    """The lineage sits on a light card in the dark palette: the note under a graph cut
    to a few steps is dark text there, not the palette's light text on a light card."""
    site, pages = built
    tab = shots.open_page(browser, (site / pages["run"]).as_uri(), "phone", scheme)
    note = tab.locator(".rt-lineage-box .rt-cut")
    assert note.count() == 1 and "the lineage goes on" in note.inner_text()
    ratio = note.evaluate(CONTRAST)
    assert ratio >= 4.5, (scheme, ratio)
    tab.context.close()
