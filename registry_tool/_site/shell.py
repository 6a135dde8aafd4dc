"""Pages rendered into the theme's own HTML without a trip through mkdocs.

mkdocs builds the pages people navigate to (home, registries, projects). Collection,
version, files, run and table pages are many (one per version and per run) and none of
them is in the nav, so they are rendered here instead: their Markdown is converted with
the site's Markdown extensions and set into a *shell*, a page mkdocs built at the same
folder depth with a marker for its title and content. So they look and behave exactly
like the theme's pages (header, palette toggle, search box, nav), at a fraction of the
cost, and a rebuild converts only the pages whose Markdown or shell changed (a manifest
of content hashes per output folder, in the build's work dir).

Collection pages stay findable: their title and text are added to the search index
mkdocs wrote; version and run pages are added as short entries the build makes (title,
aliases, metadata keys), since their whole text would make the index too big to load.
The same index is also written as ``search/search_index.js``, a script assigning a
global, because a page opened from ``file://`` may not fetch JSON nor start the theme's
search worker, but may load a script: that is what the site's own search box reads.

Each shell page gets breadcrumbs above its title, and the theme's "skip to content"
link (which points at the shell's placeholder heading) is pointed at the page's title.

Converting is most of a full build's time after rendering, and each page is converted
on its own, so from ``PARALLEL_FROM`` pages on, forked worker processes (one per core)
share them; each writes its own pages and sends back only their titles and search
entries. A rebuild converting a few pages does it in the build's own process.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import multiprocessing
import os
import re
import shutil
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import markdown

from registry_tool._site import pages

SHELL_DIR = "_rt_shell"
TITLE = "RTSHELLTITLE"
CONTENT = "RTSHELLCONTENT"
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
_TAGS = re.compile(r"<[^>]+>")
_PARAGRAPHS = re.compile(r"(\n[ \t]*\n)")
_BLOCK_TAGS = "table|div|figure|p|pre|ul|ol|dl|details|blockquote|section|nav"
_HTML_BLOCK = re.compile(rf"\A<({_BLOCK_TAGS})\b[^>]*>.*</\1>\s*\Z", re.S)
_MD_IN_HTML = re.compile(r"<[^>]*\smarkdown\b")  # md_in_html: Markdown inside, so not kept
_KEPT = "RTKEPTHTMLBLOCK"
_KEPT_P = re.compile(rf"<p>{_KEPT}(\d+){_KEPT}</p>")
_H1_ID = re.compile(r'<h1[^>]*\bid="([^"]*)"')
_SKIP = f'href="#{TITLE.lower()}" class="md-skip"'  # toc's id of the shell's heading
# Bumped when ``wrap`` changes what it adds to a page, so that pages converted by an
# older build are converted again.
_FORMAT = "2"
SEARCH_SCRIPT = "search/search_index.js"
SEARCH_GLOBAL = "__rtSearchIndex"
SEARCH_TEXT_MAX = 4000  # characters of one page's text the offline index keeps
PARALLEL_FROM = 400  # pages to convert from which forked workers share them
WORKERS = min(os.cpu_count() or 1, 8)

Crumbs = list[tuple[str, str | None]]  # (label, docs path of its page, or None)


def depth(page: str) -> int:
    """Folders between the site root and ``page``."""
    return page.count("/")


def shell_page(levels: int) -> str:
    """Where the shell for pages ``levels`` folders deep lives in the docs tree."""
    return "/".join([SHELL_DIR] + [f"d{n}" for n in range(1, levels)] + ["shell.md"])


def shell_markdown() -> str:
    return f"---\nsearch:\n  exclude: true\nhide:\n  - toc\n---\n\n# {TITLE}\n\n{CONTENT}\n"


@dataclass(frozen=True)
class Shell:
    """A built page split around its title heading and content marker."""

    page: str  # its .html path in the site
    head: str  # up to the title heading
    tail: str  # after the content marker
    key: str  # hash of the whole, so a changed theme or nav re-renders every page

    @classmethod
    def parse(cls, page: str, text: str) -> Shell:
        start = text.find("<h1")
        marker = f"<p>{CONTENT}</p>"
        end = text.find(marker)
        if start < 0 or end < start or TITLE not in text[start:end]:
            raise ValueError(f"{page}: the theme's page has no title heading and content marker")
        return cls(
            page,
            text[:start],
            text[end + len(marker) :],
            hashlib.sha256(text.encode("utf-8")).hexdigest(),
        )

    def wrap(self, page: str, title: str, body: str, crumbs: Crumbs | None = None) -> str:
        """The page: the shell around ``body``, its title in place, the skip link on the
        body's heading, and ``crumbs`` above it."""
        here = page.removesuffix(".md") + ".html"
        head = self.head.replace(TITLE, html.escape(title, quote=False))
        tail = self.tail.replace(TITLE, html.escape(title, quote=False))
        if self.page in head:  # a canonical URL, when the config sets site_url
            head = head.replace(self.page, here)
        found = _H1_ID.search(body)
        if found is None:  # no heading of its own: the content starts here
            body = f'<span id="{TITLE.lower()}"></span>' + body
        else:
            head = head.replace(_SKIP, f'href="#{found.group(1)}" class="md-skip"')
        return head + breadcrumbs(page, crumbs or []) + body + tail


class Converter:
    """Markdown to HTML with the site's configured extensions (and ``toc``, as mkdocs
    adds it), one ``markdown.Markdown`` reused across pages."""

    def __init__(self, config: dict[str, Any]) -> None:
        names: list[str] = []
        options: dict[str, Any] = {}
        for item in config.get("markdown_extensions") or []:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, dict):
                for name, value in item.items():
                    names.append(name)
                    if value:
                        options[name] = value
        if "toc" not in names:
            names.append("toc")
        self._md = markdown.Markdown(extensions=names, extension_configs=options)

    def convert(self, text: str) -> tuple[str, str]:
        """(title, body HTML) of a page's Markdown (front matter dropped).

        A paragraph that is one whole HTML element (the pages' tables, most of their
        bytes) is passed through as Markdown would pass it, without going through
        Markdown's HTML parser, which is most of the time of converting a page.
        """
        text = _FRONT_MATTER.sub("", text, count=1)
        kept: list[str] = []
        parts = _PARAGRAPHS.split(text)
        for i, part in enumerate(parts):
            if _HTML_BLOCK.match(part) and not _MD_IN_HTML.search(part):
                parts[i] = f"{_KEPT}{len(kept)}{_KEPT}"
                kept.append(part.strip())
        body = self._md.reset().convert("".join(parts))
        if kept:
            body = _KEPT_P.sub(lambda m: kept[int(m.group(1))], body)
        found = _H1.search(body)
        title = html.unescape(_TAGS.sub("", found.group(1))).strip() if found else ""
        return title, body


def breadcrumbs(page: str, crumbs: Crumbs) -> str:
    """The trail above a page's title, as a list of links relative to ``page``; the
    last item is the page itself. Labels are escaped (names reach here)."""
    if not crumbs:
        return ""
    items = []
    for i, (label, target) in enumerate(crumbs):
        text = html.escape(label, quote=False)
        if i == len(crumbs) - 1:
            items.append(f'<li aria-current="page">{text}</li>')
        elif target is None:
            items.append(f"<li>{text}</li>")
        else:
            link = html.escape(relative(page, target), quote=True)
            items.append(f'<li><a href="{link}">{text}</a></li>')
    return f'<nav class="rt-crumbs" aria-label="Breadcrumb"><ol>{"".join(items)}</ol></nav>'


def relative(from_page: str, to_page: str) -> str:
    """Relative URL between two docs paths (``.md`` pages; a ``#fragment`` is kept)."""
    to_page, _, fragment = to_page.partition("#")
    url = pages.href(from_page, to_page)
    return f"{url}#{fragment}" if fragment else url


def offline_index(index: dict[str, Any]) -> bytes:
    """``search/search_index.js``: the search index as a script assigning a global,
    for the site's own search box. Titles and texts are plain text (tags removed, HTML
    entities decoded), so the box shows them with ``textContent`` and never as HTML."""
    docs = []
    for doc in index.get("docs", []):
        title = _plain(doc.get("title", ""))
        text = _plain(doc.get("text", ""))[:SEARCH_TEXT_MAX]
        docs.append([doc.get("location", ""), title, text])
    separator = (index.get("config") or {}).get("separator") or r"[\s\-]+"
    payload = json.dumps({"separator": separator, "docs": docs}, ensure_ascii=False)
    return f"window.{SEARCH_GLOBAL} = {payload};\n".encode()


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAGS.sub(" ", text))).strip()


def search_text(body: str) -> str:
    """What the search index keeps of a page: its text with tags and SVG removed, and
    still HTML-escaped, since the theme shows search results as HTML."""
    body = re.sub(r"<svg.*?</svg>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", _TAGS.sub(" ", body)).strip()


@dataclass
class Published:
    converted: int  # detached pages converted (and written) by this build
    written: int  # files written into OUT, all kinds
    removed: int  # files removed from OUT


def publish(
    staging: Path,
    out: Path,
    pages: dict[str, str],
    searchable: set[str],
    config: dict[str, Any],
    manifest_file: Path,
    kept: AbstractSet[str] = frozenset(),
    entries: Sequence[dict[str, str]] = (),
    crumbs: Callable[[str], Crumbs] | None = None,
) -> Published:
    """Copy what mkdocs built in ``staging`` into ``out`` (changed files only), render
    ``pages`` (docs path -> Markdown) into their shells with ``crumbs(page)`` above the
    title, keep the ``kept`` pages as they are, add the ``searchable`` ones and the
    search ``entries`` made by the build to the search index (also written as a script,
    ``SEARCH_SCRIPT``), and remove whatever else ``out`` held."""
    shells: dict[int, Shell] = {}
    for levels in sorted({depth(page) for page in pages}):
        built = shell_page(levels).removesuffix(".md") + ".html"
        shells[levels] = Shell.parse(built, (staging / built).read_text(encoding="utf-8"))
    try:
        manifest: dict[str, Any] = json.loads(manifest_file.read_text())
    except (OSError, ValueError):
        manifest = {}
    wanted: set[str] = set()
    search_docs = []
    fresh: dict[str, Any] = {}  # html path -> [content key, search entry or None]
    for page in kept:  # left as the last build made them: OUT has them, unchanged
        rel = page.removesuffix(".md") + ".html"
        wanted.add(rel)
        fresh[rel] = manifest.get(rel, ["", None])
        if fresh[rel][1] is not None:
            search_docs.append(fresh[rel][1])
    todo: list[tuple[str, str]] = []  # (page, content key) to convert and write
    for page, text in pages.items():
        shell = shells[depth(page)]
        rel = page.removesuffix(".md") + ".html"
        wanted.add(rel)
        key = hashlib.sha256(
            f"{_FORMAT}\n{shell.key}\n{page in searchable}\n{text}".encode()
        ).hexdigest()
        known = manifest.get(rel)
        if known and known[0] == key and (out / rel).is_file():
            fresh[rel] = known
        else:
            todo.append((page, key))
    job = _Job(out, pages, searchable, shells, config, crumbs)
    for page, key, entry in job.run(todo):
        fresh[page.removesuffix(".md") + ".html"] = [key, entry]
    converted = written = len(todo)
    for page in pages:
        entry = fresh[page.removesuffix(".md") + ".html"][1]
        if entry is not None:
            search_docs.append(entry)
    search_docs.extend(entries)
    generated: dict[str, bytes] = {}
    for path in staging.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(staging).as_posix()
        if rel.startswith(SHELL_DIR + "/") or rel == SEARCH_SCRIPT:
            continue
        data = path.read_bytes()
        if rel == "search/search_index.json":
            index = json.loads(data)
            index["docs"].extend(sorted(search_docs, key=lambda d: d["location"]))
            data = json.dumps(index, ensure_ascii=False, separators=(",", ":")).encode()
            generated[SEARCH_SCRIPT] = offline_index(index)
        elif rel == "sitemap.xml":
            data = _without_shells(data)
        elif rel == "sitemap.xml.gz":
            data = gzip.compress(_without_shells(gzip.decompress(data)), mtime=0)
        written += _put(out, rel, data, wanted)
    for rel, data in generated.items():
        written += _put(out, rel, data, wanted)
    removed = _remove_unwanted(out, wanted)
    manifest_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = manifest_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(fresh))
    os.replace(tmp, manifest_file)
    return Published(converted, written, removed)


@dataclass
class _Job:
    """Pages to convert into their shells and write into ``out``: in this process, or
    shared by forked workers (which inherit the job, so only page names and the
    results cross between processes)."""

    out: Path
    pages: dict[str, str]
    searchable: AbstractSet[str]
    shells: dict[int, Shell]
    config: dict[str, Any]
    crumbs: Callable[[str], Crumbs] | None

    def run(self, todo: list[tuple[str, str]]) -> list[tuple[str, str, dict[str, str] | None]]:
        """(page, key, search entry or None) of each page of ``todo``, each written."""
        workers = min(WORKERS, len(todo) // (PARALLEL_FROM // 2) or 1)
        if len(todo) < PARALLEL_FROM or workers < 2 or not _can_fork():
            return self.convert(todo)
        global _RUNNING
        _RUNNING = self
        chunks = [todo[i::workers] for i in range(workers)]
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                parts = pool.map(_convert_in_worker, chunks)
        finally:
            _RUNNING = None
        return [item for part in parts for item in part]

    def convert(self, todo: list[tuple[str, str]]) -> list[tuple[str, str, dict[str, str] | None]]:
        converter = Converter(self.config)
        done = []
        for page, key in todo:
            title, body = converter.convert(self.pages[page])
            rel = page.removesuffix(".md") + ".html"
            target = self.out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            trail = self.crumbs(page) if self.crumbs is not None else None
            shell = self.shells[depth(page)]
            target.write_text(shell.wrap(page, title, body, trail), encoding="utf-8")
            entry = None
            if page in self.searchable:
                entry = {
                    "location": rel,
                    "title": html.escape(title, quote=False),
                    "text": search_text(body),
                }
            done.append((page, key, entry))
        return done


_RUNNING: _Job | None = None  # the job forked workers convert pages of


def _convert_in_worker(todo: list[tuple[str, str]]) -> list[tuple[str, str, dict[str, str] | None]]:
    assert _RUNNING is not None, "a worker forked without a job"
    return _RUNNING.convert(todo)


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _put(out: Path, rel: str, data: bytes, wanted: set[str]) -> int:
    """Write ``data`` at ``rel`` unless it is there already; 1 when written."""
    wanted.add(rel)
    target = out / rel
    if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return 1


def _without_shells(sitemap: bytes) -> bytes:
    text = sitemap.decode("utf-8")
    text = re.sub(rf"\s*<url>(?:(?!</url>).)*?/{SHELL_DIR}/.*?</url>", "", text, flags=re.S)
    return text.encode("utf-8")


def _remove_unwanted(out: Path, wanted: set[str]) -> int:
    removed = 0
    for folder, dirs, files in os.walk(out, topdown=False):
        base = Path(folder)
        for name in files:
            path = base / name
            if path.relative_to(out).as_posix() not in wanted:
                path.unlink()
                removed += 1
        for name in dirs:
            with_path = base / name
            if with_path.is_symlink():
                with_path.unlink()
            elif not any(with_path.iterdir()):
                shutil.rmtree(with_path)
    return removed
