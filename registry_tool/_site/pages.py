"""Turning site data into page contexts: URLs, safe text, diffs and tables.

Every string a user wrote (names aside, which the grammar keeps plain) reaches a page
through ``esc`` or ``safe_markdown``: HTML-escaped, or Markdown rendered and then
cleaned to a short list of tags and http(s)/mailto links, so no script, handler or
``javascript:`` link survives.
"""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Mapping
from typing import Any

import markdown
import nh3

from registry_tool._model.records import VersionRecord
from registry_tool._site import compare

FILES_PER_PAGE = 500
TABLE_ROWS = 100
VERSIONS_SHOWN = 50  # the newest versions listed on a collection's page (under 100 KB)
METADATA_COLUMNS = 20  # of those, the newest compared key by key (a row each)
HISTORY_SHOWN = 500  # stage changes listed on a registry collection's page
MAX_TEXT = 2000  # characters of one value shown before it is cut
TRUNC_AT = 40  # characters a value in a list's cell shows whole, before it is cut to one line


def esc(value: Any) -> str:
    """HTML-escaped text of any value; long values are cut with a note."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"… ({len(text) - MAX_TEXT} more characters)"
    return html.escape(text, quote=True)


def safe_markdown(text: str | None) -> str:
    """A description as HTML: Markdown, then sanitised (no raw HTML, no script)."""
    if not text:
        return ""
    return _safe_markdown(text)


@functools.lru_cache(maxsize=4096)  # the same description on many versions of a collection
def _safe_markdown(text: str) -> str:
    rendered = markdown.markdown(html.escape(text, quote=False), extensions=["tables"])
    return nh3.clean(
        rendered,
        tags={
            "p",
            "em",
            "strong",
            "code",
            "pre",
            "ul",
            "ol",
            "li",
            "a",
            "blockquote",
            "h1",
            "h2",
            "h3",
            "h4",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "br",
            "hr",
        },
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def href(from_page: str, to_page: str) -> str:
    """Relative URL between two pages (the site uses ``.html`` URLs). Pages are plain
    relative paths (no ``.``, ``..`` or doubled slashes), so this is the common-prefix
    arithmetic of ``posixpath.relpath`` without its normalising, which is most of the
    cost of a site's hundreds of thousands of links."""
    target = (to_page.removesuffix(".md") + ".html").split("/")
    here = from_page.split("/")[:-1]
    common = 0
    for a, b in zip(here, target[:-1], strict=False):
        if a != b:
            break
        common += 1
    return "/".join([".."] * (len(here) - common) + target[common:])


def asset_href(page: str, asset: str) -> str:
    """Where ``page`` finds one of the site's own files (``assets/x.js``)."""
    stem, dot, suffix = asset.rpartition(".")
    return href(page, stem + ".md").removesuffix(".html") + dot + suffix


def diff(previous: VersionRecord | None, current: VersionRecord) -> dict[str, Any]:
    """What changed since ``previous``, with counts (``compare.diff``)."""
    return compare.diff(previous, current)


def _cell(value: Any) -> str:
    """A table cell: a number right-aligned (``rt-num``); a value longer than
    ``TRUNC_AT`` cut to one line (``rt-trunc``) with the whole of it in its title, so
    that one long caption does not make every row tall."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<td class="rt-num">{esc(value)}</td>'
    text = esc(value)
    plain = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(plain) <= TRUNC_AT:
        return f"<td>{text}</td>"
    return f'<td><span class="rt-trunc" title="{text}">{text}</span></td>'


def table_html(doc: Mapping[str, Any], image_src: Any) -> str:
    """An artifact Table as HTML: the first rows, Image cells as thumbnails."""
    columns = [str(c) for c in doc.get("columns", [])]
    rows = doc.get("data", [])[:TABLE_ROWS]
    out = ['<table class="rt-table"><thead><tr>']
    out += [f"<th>{esc(c)}</th>" for c in columns]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for cell in row:
            if isinstance(cell, dict) and cell.get("_type") == "image-file":
                src = image_src(cell)
                caption = esc(cell.get("caption") or "")
                out.append(
                    f'<td><img src="{esc(src)}" alt="{caption}" width="64" loading="lazy"></td>'
                    if src
                    else f"<td>{esc(cell.get('path', ''))}</td>"
                )
            else:
                out.append(_cell(cell))
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)
