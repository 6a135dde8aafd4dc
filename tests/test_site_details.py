"""The site's details as a reader meets them: one timestamp format, names instead of
e-mail addresses, stage marks a screen reader can read, and a 404 page that works
from disk and under a project site's path."""

from __future__ import annotations

import functools
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from registry_tool._deletion import delete_version
from registry_tool._engine.context import Context
from registry_tool._site import build as site_build
from registry_tool._site import notfound
from registry_tool._site.render import held, person, when

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.mark.parametrize(
    ("stamp", "shown", "machine"),
    [
        ("2026-12-02T00:48:13.123456+00:00", "2026-12-02 00:48 UTC", "2026-12-02T00:48:13Z"),
        ("2026-12-02T01:48:59+01:00", "2026-12-02 00:48 UTC", "2026-12-02T00:48:59Z"),
        ("2026-12-02T00:48:00Z", "2026-12-02 00:48 UTC", "2026-12-02T00:48:00Z"),
        ("2026-12-02T00:48:00", "2026-12-02 00:48 UTC", "2026-12-02T00:48:00Z"),
    ],
)
def test_a_timestamp_shows_to_the_minute_in_utc_with_the_exact_time_kept(stamp, shown, machine):
    out = str(when(stamp))
    assert f">{shown}</time>" in out and f'datetime="{machine}"' in out
    assert f'title="{machine[:10]} {machine[11:19]} UTC"' in out
    assert when(when(stamp)) == when(stamp)  # formatted once, whoever formats first


def test_text_that_is_not_a_timestamp_is_left_as_text_and_escaped_later():
    assert when("<b>soon</b>") == "<b>soon</b>" and not hasattr(when("x"), "__html__")
    assert when(None) == "" and when("") == ""


@pytest.mark.parametrize(
    ("who", "shown"),
    [
        ("Ada <ada@example.test>", "Ada"),
        ("Ada Lovelace <ada@example.test>", "Ada Lovelace"),
        ("ada@example.test", "ada"),
        ("<ada@example.test>", "ada"),
        ("Ada", "Ada"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_person_is_shown_by_name_never_by_address(who, shown):
    assert person(who) == shown


def test_a_stage_mark_reads_as_the_stage_it_holds_and_escapes_the_name():
    mark = str(held("prod<x>"))
    assert 'role="img"' in mark and 'aria-label="holds prod&lt;x&gt;"' in mark and "●" in mark


@pytest.fixture
def site(showcase, tmp_path):
    ctx = Context.open(showcase.root)
    delete_version(ctx, "demo", "two-blobs", 0, delete_aliases=True, reason="superseded")
    out = tmp_path / "site"
    site_build.build(Context.open(showcase.root), out)
    return out


def _visible(page: Path) -> str:
    """A page's text as shown: tags and attributes dropped."""
    return re.sub(r"<[^>]+>", " ", page.read_text())


def test_every_page_shows_times_one_way_and_names_without_addresses(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        text = _visible(page)
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), page  # no raw ISO time
        assert "@example.test" not in page.read_text(), page
    version = (site / "artifacts/demo/two-blobs/v0.html").read_text()
    banner = re.search(r'<p class="rt-deleted">(.*?)</p>', version, re.S)
    assert banner and "by Test Author" in banner.group(1)
    assert re.search(
        r"Deleted <time datetime=\"[^\"]+Z\" [^>]*>\d{4}-\d\d-\d\d \d\d:\d\d UTC<", banner.group(1)
    )
    home = (site / "index.html").read_text()
    assert "<td>Test Author</td>" in home


def test_stage_marks_have_text_for_screen_readers(site):
    page = (site / "registries/prod/classifier.html").read_text()
    marks = re.findall(r"<td>(<span[^>]*>)?●", page)
    assert marks and all('aria-label="holds ' in m for m in marks)
    assert 'aria-label="holds production"' in page


def test_the_built_404_page_has_no_url_from_the_server_root(site):
    text = (site / "404.html").read_text()
    assert not re.search(r'(href|src)="/(?!/)', text)


def _browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (make test installs Debian's chromium)")
    return playwright


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _ProjectSite(_Quiet):
    """The site under /repo/, and 404.html for any missing path, as GitHub Pages does."""

    def send_head(self):  # type: ignore[no-untyped-def]
        path = self.path.split("?", 1)[0]
        if path.startswith("/repo/"):
            self.path = path[len("/repo") :]
            if Path(self.translate_path(self.path)).is_file():
                return super().send_head()
        body = (Path(self.directory) / "404.html").read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        import io

        return io.BytesIO(body)


def _styled(tab) -> dict[str, object]:
    """What the reader sees of the 404 page: the theme's styles applied, its title."""
    return tab.evaluate(
        """() => ({
            header: getComputedStyle(document.querySelector('.md-header')).position,
            sheets: [...document.querySelectorAll('link[rel=stylesheet]')]
                .filter(l => !l.href.startsWith('http') || l.href.startsWith(location.origin))
                .every(l => l.sheet !== null),
            home: document.querySelector('a.md-header__button.md-logo')?.href,
            title: document.querySelector('h1')?.textContent,
        })"""
    )


def test_the_404_page_is_styled_from_disk_and_under_a_project_path(site):
    target = site / "404.html"
    target.write_text(notfound.relative(target.read_text()))
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_ProjectSite, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    playwright = _browser()
    try:
        with playwright.sync_playwright() as p:
            port = server.server_address[1]
            rules = "--host-resolver-rules=MAP org.github.io 127.0.0.1"  # a project site
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[*FLAGS, rules])
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.goto(target.as_uri())
            seen = _styled(tab)
            assert seen["header"] == "sticky" and seen["sheets"] is True, seen
            assert seen["home"] == (site / "index.html").as_uri(), seen
            tab.goto(f"http://org.github.io:{port}/repo/artifacts/demo/missing/deep.html")
            tab.wait_for_load_state("networkidle")
            seen = _styled(tab)
            assert seen["header"] == "sticky" and seen["sheets"] is True, seen
            assert seen["home"] == f"http://org.github.io:{port}/repo/index.html", seen
            assert "404" in str(seen["title"]) and errors == [], (seen, errors)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()


def test_times_read_to_the_minute_with_how_long_ago_in_the_browser(site):
    playwright = _browser()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for width, height in ((1400, 1000), (390, 844)):
            tab = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            tab.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            for page in ("artifacts/demo/two-blobs/v0.html", "registries/prod/classifier.html"):
                tab.goto((site / page).as_uri())
                tab.wait_for_load_state("load")
                # On a phone the relative time wraps under the date (registry-tool.css).
                shown = tab.eval_on_selector_all("time", "ts => ts.map(t => t.innerText)")
                assert shown, page
                for text in shown:
                    assert re.fullmatch(
                        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC\s\((just now|\d+ (minute|hour)s? ago)\)",
                        text,
                    ), (page, text)
            assert errors == [], errors
            tab.close()
        browser.close()
