"""Every link of the built showcase site leads somewhere: a crawl from its index, in
process, that follows each relative ``href`` and ``src`` to a file of the site and each
``#fragment`` to an element with that id (or a named anchor) on the target page.

The site is opened from ``file://`` as ``site build`` tells users to, so a link that
only a server would resolve (one starting at ``/``, a folder without ``index.html``)
counts as broken too."""

from __future__ import annotations

import posixpath
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from registry_tool._engine.context import Context
from registry_tool._site import build as site_build

pytestmark = pytest.mark.slow

# Attributes that name another resource the browser loads or goes to.
LINK_ATTRS = {"a": "href", "link": "href", "script": "src", "img": "src", "iframe": "src"}
# Schemes a crawl of the site does not follow (another site, a mail or a script).
EXTERNAL = {"http", "https", "mailto", "data", "javascript", "tel"}


class _Page(HTMLParser):
    """The links and the anchor ids of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("id",) + (("name",) if tag == "a" else ()):
            if values.get(name):
                self.ids.add(values[name] or "")
        wanted = LINK_ATTRS.get(tag)
        # SVG links (lineage nodes) carry xlink:href or href on <a>, both parsed here.
        for attr in (wanted, "xlink:href") if wanted else ():
            value = values.get(attr)
            if value:
                self.links.append(value)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def crawl(root: Path, start: str = "index.html") -> tuple[set[str], list[str]]:
    """The site's pages reachable from ``start``, and every broken link as
    ``"page -> link (why)"``."""
    root = root.resolve()
    parsed: dict[str, _Page] = {}
    seen = {start}
    queue = [start]
    broken: list[str] = []
    anchors: list[tuple[str, str, str]] = []  # (from page, link, target page#id)
    while queue:
        here = queue.pop()
        page = parsed.setdefault(here, _parse(root / here))
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme in EXTERNAL or parts.netloc:
                continue
            if parts.scheme:
                broken.append(f"{here} -> {link} (scheme {parts.scheme})")
                continue
            if parts.path.startswith("/"):
                broken.append(f"{here} -> {link} (root-relative: broken from file://)")
                continue
            target = here
            if parts.path:
                target = posixpath.normpath(
                    posixpath.join(posixpath.dirname(here), unquote(parts.path))
                )
            if target.startswith("../") or target == "..":
                broken.append(f"{here} -> {link} (outside the site)")
                continue
            file = root / target
            if file.is_dir():
                broken.append(f"{here} -> {link} (a folder: file:// shows no index.html)")
                continue
            if not file.is_file():
                broken.append(f"{here} -> {link} (no such file)")
                continue
            if target.endswith(".html"):
                if parts.fragment:
                    anchors.append((here, link, f"{target}#{unquote(parts.fragment)}"))
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
    for here, link, where in anchors:
        target, _, fragment = where.partition("#")
        ids = parsed.setdefault(target, _parse(root / target)).ids
        if fragment not in ids:
            broken.append(f"{here} -> {link} (no element with id {fragment!r})")
    return seen, broken


@pytest.fixture
def site(showcase: Any, tmp_path: Path) -> Path:
    out = tmp_path / "site"
    site_build.build(Context.open(showcase.root), out)
    return out


def test_every_link_and_anchor_of_the_showcase_site_resolves(site: Path) -> None:
    pages, broken = crawl(site)
    assert broken == [], "\n".join(sorted(broken)[:40])
    # The crawl reached every kind of page, and so every link of theirs was followed.
    html_pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    unreached = html_pages - pages - {"404.html"}
    assert unreached == set(), sorted(unreached)


def test_the_crawl_reports_a_missing_page_and_a_missing_anchor(tmp_path: Path) -> None:
    """The crawl can fail: a link to a page that is not there and an anchor that no
    element carries are both reported, a good link and a good anchor are not."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="sub/a.html#here">ok</a><a href="gone.html">x</a>'
        '<a href="sub/a.html#nowhere">y</a><a href="/abs.html">z</a><a href="sub">d</a>'
        '<a href="https://example.com/">ext</a><a href="#top">t</a><h1 id="top">T</h1>'
    )
    (tmp_path / "sub" / "a.html").write_text('<p id="here">A</p><a href="../index.html#top">b</a>')
    pages, broken = crawl(tmp_path)
    assert pages == {"index.html", "sub/a.html"}
    assert sorted(broken) == sorted(
        [
            "index.html -> gone.html (no such file)",
            "index.html -> sub/a.html#nowhere (no element with id 'nowhere')",
            "index.html -> /abs.html (root-relative: broken from file://)",
            "index.html -> sub (a folder: file:// shows no index.html)",
        ]
    )
