"""Turning site data into page contexts: URLs, safe text, diffs, charts and tables.

Every string a user wrote (names aside, which the grammar keeps plain) reaches a page
through ``esc`` or ``safe_markdown``: HTML-escaped, or Markdown rendered and then
cleaned to a short list of tags and http(s)/mailto links, so no script, handler or
``javascript:`` link survives.
"""

from __future__ import annotations

import functools
import html
import json
import math
from collections.abc import Mapping
from typing import Any

import markdown
import nh3

from registry_tool._model.records import VersionRecord

FILES_PER_PAGE = 1000
TABLE_ROWS = 100
VERSIONS_SHOWN = 100  # the newest versions listed on a collection's page
METADATA_COLUMNS = 20  # of those, the newest compared key by key
HISTORY_SHOWN = 500  # stage changes listed on a registry collection's page
MAX_TEXT = 2000  # characters of one value shown before it is cut


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


def diff(previous: VersionRecord | None, current: VersionRecord) -> dict[str, Any]:
    """Files added, removed and changed, and metadata keys changed, against the
    previous version."""
    if previous is None:
        return {"previous": None}
    before = {e.path: e.digest for e in previous.entries}
    after = {e.path: e.digest for e in current.entries}
    meta_before, meta_after = dict(previous.metadata), dict(current.metadata)
    return {
        "previous": previous.version,
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
        "changed": sorted(p for p in after.keys() & before.keys() if after[p] != before[p]),
        "metadata": [
            (key, meta_before.get(key), meta_after.get(key))
            for key in sorted(meta_before.keys() | meta_after.keys())
            if meta_before.get(key) != meta_after.get(key)
        ],
    }


def numeric_series(versions: list[VersionRecord]) -> dict[str, list[tuple[int, float]]]:
    """Metadata keys whose values are numbers in at least two versions."""
    series: dict[str, list[tuple[int, float]]] = {}
    for version in versions:
        for key, value in version.metadata.items():
            if (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
            ):
                series.setdefault(key, []).append((version.version, float(value)))
    return {k: v for k, v in sorted(series.items()) if len(v) >= 2}


def sparkline(points: list[tuple[int, float]], width: int = 240, height: int = 48) -> str:
    """A small inline SVG line chart (values and versions only: no user text)."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    span_x = (x1 - x0) or 1
    span_y = (y1 - y0) or 1
    pad = 4

    def at(x: float, y: float) -> str:
        px = pad + (x - x0) / span_x * (width - 2 * pad)
        py = height - pad - (y - y0) / span_y * (height - 2 * pad)
        return f"{px:.1f},{py:.1f}"

    line = " ".join(at(x, y) for x, y in points)
    dots = "".join(
        f'<circle cx="{at(x, y).split(",")[0]}" cy="{at(x, y).split(",")[1]}" r="2"/>'
        for x, y in points
    )
    return (
        f'<svg class="rt-spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="values over versions">'
        f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{line}"/>'
        f'<g fill="currentColor">{dots}</g></svg>'
    )


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
                out.append(f"<td>{esc(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)
