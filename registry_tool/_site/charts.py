"""A run's numbers as a page shows them: the metric history as small line charts drawn
on the server (inline SVG, so a page needs no script to show them), the summary as
rows, values to a sensible precision and run durations.

A history can be millions of rows; a chart draws at most ``CHART_POINTS`` of them,
sampled evenly with both ends kept, so that a run's page stays small (well under
100 KB) however long the run was. Metric names are the user's text: everything a chart
writes is HTML-escaped.

>>> number(1 / 3), number(2.0), number(float("nan"))
('0.333333', '2', 'NaN')
>>> sample([(i, float(i)) for i in range(5)], 3)
[(0, 0.0), (2, 2.0), (4, 4.0)]
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

CHART_POINTS = 200  # points drawn per chart, at most
CHARTS_SHOWN = 24  # charts on one run's page, at most (in metric name order)
SUMMARY_SHOWN = 200  # summary rows on one run's page, at most

_WIDTH, _HEIGHT = 480, 150
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 72, 10, 24  # room for the axis and last-value labels


def number(value: float) -> str:
    """A number for people: integers whole, other values to six significant digits,
    NaN and the infinities as JSON spells them (and as a run's summary keeps them)."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return f"{value:.6g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested metrics as ``a.b`` keys, as W&B names history columns; a media value (a
    dict with ``_type``) stays one value."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and "_type" not in value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def summary_rows(summary: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The summary as (key, shown value) rows in key order, numbers formatted, W&B's
    own ``_step``-like keys left out; at most ``SUMMARY_SHOWN``."""
    rows = []
    for key, value in sorted(flatten(summary).items()):
        if key.startswith("_"):
            continue
        rows.append((key, number(value) if _is_number(value) else value))
    return rows[:SUMMARY_SHOWN]


def history_series(data: bytes) -> dict[str, list[tuple[int, float]]]:
    """(step, value) of each numeric metric of a history blob (JSON lines, a row per
    step), in metric name order; non-finite values are not drawn. Raises ValueError
    when the blob is not such JSON lines."""
    series: dict[str, list[tuple[int, float]]] = {}
    for index, line in enumerate(data.splitlines()):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row, dict):
            raise ValueError(f"line {index + 1} is not an object")
        step = row.get("_step", index)
        if not _is_number(step):
            step = index
        for key, value in flatten(row).items():
            if key.startswith("_") or not _is_number(value) or not math.isfinite(value):
                continue
            series.setdefault(key, []).append((int(step), float(value)))
    return dict(sorted(series.items()))


def sample(points: list[tuple[int, float]], most: int | None = None) -> list[tuple[int, float]]:
    """At most ``most`` (``CHART_POINTS``) of ``points``, evenly spaced, the first and
    the last always among them."""
    most = CHART_POINTS if most is None else most
    n = len(points)
    if n <= most:
        return list(points)
    picked = [int(i * (n - 1) / (most - 1) + 0.5) for i in range(most)]
    return [points[i] for i in picked]


def line_chart(name: str, points: list[tuple[int, float]]) -> str:
    """An SVG line chart of one metric over steps: its axes with their minimum and
    maximum, the line through at most ``CHART_POINTS`` values and the last value
    marked and labelled. ``name`` is escaped here; the rest is numbers."""
    shown = sample(points)
    x0, x1 = min(x for x, _ in shown), max(x for x, _ in shown)
    y0, y1 = min(y for _, y in shown), max(y for _, y in shown)
    left, right, top, bottom = _LEFT, _WIDTH - _RIGHT, _TOP, _HEIGHT - _BOTTOM

    def at(x: float, y: float) -> tuple[float, float]:
        fx = (x - x0) / (x1 - x0) if x1 > x0 else 0.5
        fy = (y - y0) / (y1 - y0) if y1 > y0 else 0.5
        return left + fx * (right - left), bottom - fy * (bottom - top)

    line = " ".join(f"{px:.1f},{py:.1f}" for px, py in (at(x, y) for x, y in shown))
    last_x, last_y = at(*shown[-1])
    label = html.escape(name, quote=True)
    drawn = f" ({len(shown)} drawn)" if len(shown) < len(points) else ""
    return (
        f'<svg class="rt-chart-svg" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" font-size="11" '
        f'aria-label="{label}: {len(points)} values, the last {number(shown[-1][1])}">'
        f"<title>{label}: {len(points)} values{drawn}</title>"
        f'<path d="M{left},{top}V{bottom}H{right}" fill="none" stroke="currentColor" '
        f'stroke-opacity="0.35"/>'
        f'<g fill="currentColor" fill-opacity="0.7">'
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{number(y1)}</text>'
        f'<text x="{left - 4}" y="{bottom}" text-anchor="end">{number(y0)}</text>'
        f'<text x="{left}" y="{_HEIGHT - 8}" text-anchor="start">{number(x0)}</text>'
        f'<text x="{right}" y="{_HEIGHT - 8}" text-anchor="end">{number(x1)}</text></g>'
        f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{line}"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="3" fill="currentColor"/>'
        f'<text x="{last_x + 6:.1f}" y="{last_y + 4:.1f}" fill="currentColor" '
        f'class="rt-last">{number(shown[-1][1])}</text></svg>'
    )


def duration(started: str, finished: str | None) -> str:
    """How long a run took, to the unit that matters (``"4m 05s"``, ``"2h 13m"``);
    ``"< 1m"`` under a minute, ``"–"`` while it runs or when a time does not parse."""
    if not finished:
        return "–"
    try:
        seconds = int(
            (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
        )
    except (TypeError, ValueError):
        return "–"
    if seconds < 0:
        return "–"
    if seconds < 60:
        return "< 1m"
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"
