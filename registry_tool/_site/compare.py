"""Versions of a collection set side by side: metadata as one row per version and one
column per key, charts of the numeric keys over versions, and the difference between
two versions with its counts.

Metadata is nested as users log it (``{"per_class": {"cat": 0.9}}``); a comparison
reads better with one column per leaf, so keys are flattened as W&B names history
columns (``per_class.cat``), and numbers are shown as a run's charts show them
(``charts.number``: ``0.93``, not ``0.9299999999999999``).

A diff lists its paths in full, since a cut list hides exactly the file a reader
looks for; only past ``DIFF_LISTED`` paths, where a page would outgrow 100 KB, does
it stop, saying how many more there are. Any two versions can be compared without
a page per pair (which would be a square of the versions): a version's page compares
with the version before it and with the version that held the same stage before it
(``stage_predecessors``); and with any other version in the reader's browser, from
small data scripts beside the pages (``manifest``, ``version_label``, ``data_script``):
what a comparison needs of each version is a few bytes a file, and the square of pairs
is left to the reader's choice.

>>> shown_value(0.9299999999999999), shown_value(True), shown_value({"a": [1]})
('0.93', 'true', '{"a": [1]}')
>>> flat_metadata({"per_class": {"cat": 0.5}, "n": 3})
{'per_class.cat': 0.5, 'n': 3}
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from registry_tool._fmt import human_size
from registry_tool._model.records import VersionRecord
from registry_tool._site import charts
from registry_tool._site.model import SiteData

DIFF_LISTED = 1000  # paths a diff lists, in all, before it says how many more
METADATA_KEYS = 24  # flattened keys compared on a collection's page, at most
COLLECTION_CHARTS = 6  # charts on a collection's page, at most (in key order)
CHART_MARKS = 50  # points of a chart whose version a tooltip names, at most
CELL_TEXT = 60  # characters of a compared value; its version's page shows it all
TITLE_TEXT = 300  # characters of a cut value's tooltip, so that the page stays small
MANIFEST_SUFFIX = "-manifest.js"  # a version's data, beside its page: v3.md, v3-manifest.js
VERSIONS_SCRIPT = "versions.js"  # a collection's versions, beside its versions' pages
REGISTER = "__rtCompareRegister"  # what a data script calls (registry-tool-compare.js)
ID_DIGITS = 12  # hex digits of a file's or a value's id in a data script
_SCRIPT_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"))


def flat_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Nested metadata as ``a.b`` keys; a media value (a dict with ``_type``) and a
    list stay one value."""
    return charts.flatten(metadata)


def is_number(value: Any) -> bool:
    """A number a chart can draw or a column sort by: not a bool, and finite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def shown_value(value: Any) -> str:
    """A metadata value as a comparison shows it: numbers to six significant digits,
    booleans and nulls as JSON spells them, lists and objects as compact JSON."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return charts.number(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def value_id(value: Any) -> str:
    """What tells two metadata values apart, in a few hex digits: a hash of the value's
    JSON with its keys sorted, a whole float counted as the integer it equals (``1.0``
    is ``1``). ``shown_value`` cannot do it: ``0.93`` may be two numbers, ``true`` a
    string or a boolean. A diff and the browser's comparison both use it, so they agree.

    >>> value_id(1) == value_id(1.0), value_id(True) == value_id(1)
    (True, False)
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = repr(value)
    else:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:ID_DIGITS]


def file_id(digest: str) -> str:
    """A file's digest in a few hex digits: a ``sha256:`` digest's first ones (what the
    files list shows), a hash of any other digest (a reference's ETag)."""
    if digest.startswith("sha256:"):
        return digest[7 : 7 + ID_DIGITS]
    return hashlib.sha256(digest.encode("utf-8", "surrogatepass")).hexdigest()[:ID_DIGITS]


def _cut(text: str, limit: int) -> str:
    """``text`` as a page shows it (``render.environment``'s finalize): past ``limit``
    characters, cut with a note of how many more there are."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"… ({len(text) - limit} more characters)"


def manifest(version: VersionRecord, max_text: int) -> dict[str, Any]:
    """What the browser compares of a version: its files as [path, ``file_id``] and its
    flattened metadata as [key, shown value, ``value_id``], both in path or key order,
    and its size. Values are cut at ``max_text`` as the page cuts them. It depends on
    the version file alone, which never changes but for its delete mark."""
    return {
        "version": version.version,
        "size": version.size or 0,
        "files": sorted([e.path, file_id(e.digest)] for e in version.entries),
        "metadata": [
            [key, _cut(shown_value(value), max_text), value_id(value)]
            for key, value in sorted(flat_metadata(version.metadata).items())
        ],
    }


def version_label(aliases: Sequence[str], stages: Sequence[str], *, deleted: bool) -> str:
    """What the choice of a version shows beside its number: ``latest, prod/production``.

    >>> version_label(["latest"], ["prod/production"], deleted=False)
    'latest, prod/production'
    """
    return ", ".join([*aliases, *stages, *(["deleted"] if deleted else [])])


def data_script(name: str, payload: Any) -> bytes:
    """A data script: ``__rtCompareRegister("name", {...});``. A page opened from
    ``file://`` may load a script but not fetch JSON, so the data comes as one. Its JSON
    is ASCII (U+2028 and U+2029 escaped with the rest) and ``<``, ``>`` and ``&`` are
    escaped too, so no text of a registry can end the script or start another.

    >>> data_script("v1", {"k": "</script>"})
    b'__rtCompareRegister("v1",{"k":"\\\\u003c/script\\\\u003e"});\\n'
    """
    text = json.dumps([name, payload], ensure_ascii=True, separators=(",", ":"))
    for char, escaped in _SCRIPT_ESCAPES:
        text = text.replace(char, escaped)
    return f"{REGISTER}({text[1:-1]});\n".encode("ascii")


def metadata_rows(
    versions: Sequence[tuple[int, Mapping[str, Any]]],
) -> tuple[list[str], list[dict[str, Any]], int]:
    """Each version's flattened metadata as a row of cells under the keys any of them
    has (at most ``METADATA_KEYS``, in key order), in the order given. A cell is its
    shown text, for a number the value a column sorts by, and for a value cut at
    ``CELL_TEXT`` its whole text up to ``TITLE_TEXT`` (a tooltip; else None). Also
    returns how many keys there are in all."""
    flat = [(number, flat_metadata(meta)) for number, meta in versions]
    every = sorted({key for _, values in flat for key in values})
    keys = every[:METADATA_KEYS]
    rows = []
    for number, values in flat:
        cells = []
        for key in keys:
            if key not in values:
                cells.append({"text": "", "sort": None, "title": None})
                continue
            value = values[key]
            sort = repr(float(value)) if is_number(value) else None
            text = title = shown_value(value)
            if len(text) > CELL_TEXT:
                text = text[: CELL_TEXT - 1] + "…"
                if len(title) > TITLE_TEXT:
                    title = title[: TITLE_TEXT - 1] + "…"
            cells.append({"text": text, "sort": sort, "title": title if text != title else None})
        rows.append({"version": number, "cells": cells})
    return keys, rows, len(every)


def numeric_series(
    versions: Sequence[tuple[int, Mapping[str, Any]]],
) -> dict[str, list[tuple[int, float]]]:
    """(version, value) of each flattened metadata key that is a number in at least
    two of ``versions`` (oldest first), in key order."""
    series: dict[str, list[tuple[int, float]]] = {}
    for number, meta in versions:
        for key, value in flat_metadata(meta).items():
            if is_number(value):
                series.setdefault(key, []).append((number, float(value)))
    return {key: points for key, points in sorted(series.items()) if len(points) >= 2}


def version_chart(name: str, points: list[tuple[int, float]]) -> str:
    """``charts.line_chart`` of a key over versions, with marks on up to
    ``CHART_MARKS`` of its points whose tooltips name their version and value (the
    chart's own title names the key); more would outgrow the page."""
    svg = charts.line_chart(name, points)
    shown = charts.sample(points)
    x0, x1 = min(x for x, _ in shown), max(x for x, _ in shown)
    y0, y1 = min(y for _, y in shown), max(y for _, y in shown)
    left, right = charts._LEFT, charts._WIDTH - charts._RIGHT
    top, bottom = charts._TOP, charts._HEIGHT - charts._BOTTOM
    marks = []
    for x, y in charts.sample(shown, CHART_MARKS):
        fx = (x - x0) / (x1 - x0) if x1 > x0 else 0.5
        fy = (y - y0) / (y1 - y0) if y1 > y0 else 0.5
        px, py = left + fx * (right - left), bottom - fy * (bottom - top)
        marks.append(
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="5">'
            f"<title>v{x}: {charts.number(y)}</title></circle>"
        )
    hover = f'<g class="rt-points" fill="currentColor" fill-opacity="0">{"".join(marks)}</g>'
    return svg.removesuffix("</svg>") + hover + "</svg>"


def _signed_size(delta: int) -> str:
    if delta == 0:
        return "±0 B"
    return ("+" if delta > 0 else "−") + human_size(abs(delta))


def diff(previous: VersionRecord | None, current: VersionRecord) -> dict[str, Any]:
    """What changed from ``previous`` to ``current``: files added, removed and changed
    (every path up to ``DIFF_LISTED`` in all, and the counts of all of them), the size
    delta, and the flattened metadata keys whose values differ (``value_id``; ``–`` for
    a key one side lacks)."""
    if previous is None:
        return {"previous": None}
    before = {e.path: e.digest for e in previous.entries}
    after = {e.path: e.digest for e in current.entries}
    found = {
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
        "changed": sorted(p for p in after.keys() & before.keys() if after[p] != before[p]),
    }
    counts = {kind: len(paths) for kind, paths in found.items()}
    room = DIFF_LISTED
    listed: dict[str, list[str]] = {}
    for kind, paths in found.items():
        listed[kind] = paths[: max(room, 0)]
        room -= len(listed[kind])
    meta_before, meta_after = flat_metadata(previous.metadata), flat_metadata(current.metadata)
    metadata = [
        (
            key,
            shown_value(meta_before[key]) if key in meta_before else "–",
            shown_value(meta_after[key]) if key in meta_after else "–",
        )
        for key in sorted(meta_before.keys() | meta_after.keys())
        if key not in meta_before
        or key not in meta_after
        or value_id(meta_before[key]) != value_id(meta_after[key])
    ]
    return {
        "previous": previous.version,
        **listed,
        "counts": counts,
        "unlisted": sum(counts.values()) - sum(len(v) for v in listed.values()),
        "size_delta": _signed_size((current.size or 0) - (previous.size or 0)),
        "metadata": metadata,
    }


def stage_predecessors(data: SiteData) -> dict[tuple[str, str, int], list[tuple[str, int]]]:
    """For each source version that came to hold a registry stage, the stage
    (``registry/stage``) and the version of the same collection that held it just
    before, from the registries' stage history (oldest first)."""
    found: dict[tuple[str, str, int], dict[str, int]] = {}
    for registry in data.registries:
        stages = set(registry.config.stages)
        for collection in registry.collections:
            links = {link.version: link for link in collection.links}
            for event in collection.history:
                if event.alias not in stages or event.version is None or event.previous is None:
                    continue
                new, old = links.get(event.version), links.get(event.previous)
                if new is None or old is None or (new.project, new.name) != (old.project, old.name):
                    continue
                if new.source_version == old.source_version:
                    continue
                key = (new.project, new.name, new.source_version)
                found.setdefault(key, {})[f"{registry.config.name}/{event.alias}"] = (
                    old.source_version
                )
    return {key: sorted(stages.items()) for key, stages in found.items()}
