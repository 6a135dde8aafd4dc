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
(``stage_predecessors``).

>>> shown_value(0.9299999999999999), shown_value(True), shown_value({"a": [1]})
('0.93', 'true', '{"a": [1]}')
>>> flat_metadata({"per_class": {"cat": 0.5}, "n": 3})
{'per_class.cat': 0.5, 'n': 3}
"""

from __future__ import annotations

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


def metadata_rows(
    versions: Sequence[tuple[int, Mapping[str, Any]]],
) -> tuple[list[str], list[dict[str, Any]], int]:
    """Each version's flattened metadata as a row of cells under the keys any of them
    has (at most ``METADATA_KEYS``, in key order), in the order given. A cell is its
    shown text and, for a number, the value a column sorts by. Also returns how many
    keys there are in all."""
    flat = [(number, flat_metadata(meta)) for number, meta in versions]
    every = sorted({key for _, values in flat for key in values})
    keys = every[:METADATA_KEYS]
    rows = []
    for number, values in flat:
        cells = []
        for key in keys:
            if key not in values:
                cells.append({"text": "", "sort": None})
                continue
            value = values[key]
            sort = repr(float(value)) if is_number(value) else None
            text = shown_value(value)
            if len(text) > CELL_TEXT:
                text = text[: CELL_TEXT - 1] + "…"
            cells.append({"text": text, "sort": sort})
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
    delta, and the flattened metadata keys whose values differ (``–`` for a key one
    side lacks)."""
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
    missing = object()
    metadata = [
        (
            key,
            "–" if (old := meta_before.get(key, missing)) is missing else shown_value(old),
            "–" if (new := meta_after.get(key, missing)) is missing else shown_value(new),
        )
        for key in sorted(meta_before.keys() | meta_after.keys())
        if meta_before.get(key, missing) != meta_after.get(key, missing)
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
