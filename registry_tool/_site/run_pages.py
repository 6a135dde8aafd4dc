"""A run's page and the rows that list runs on their project's page.

A run's page shows what its file records (name, job type, state, times, code, tags,
notes, group, config, summary, inputs and outputs, lineage) and a chart per numeric
metric of its history, read from the history blob through the blob store
(``Context.read_blob``: the download cache for remote stores). A history that cannot
be read (a blob gone from the store, bytes that are not its JSON lines) is a note on
the page, not a failed build, and such a page is not kept for the next build, which
tries again.

A run's page is rendered again only when its inputs change: its file (which names the
history blob by digest, so new history is a new digest), its lineage and the templates.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from registry_tool._fmt import short_digest
from registry_tool._model.records import ArtifactUse, RunRecord
from registry_tool._site import charts
from registry_tool._site import lineage as lineage_mod
from registry_tool._site import pages as p
from registry_tool._site.render import Renderer
from registry_tool.errors import RegistryError

RUNS_SHOWN = 500  # the newest runs listed on a project's page


def render_runs(r: Renderer) -> None:
    """A page per run: its record, summary, charts, inputs and outputs, lineage."""
    for run in r.data.runs.values():
        page = r.path("run", run.project, run.id)
        around = r.around(lineage_mod.run_key(run.project, run.id))
        inputs = [r.fingerprint_base, run.to_doc(), around.shape()]
        fingerprint = hashlib.sha256(json.dumps(inputs, default=str).encode()).hexdigest()
        if r.unchanged(page, fingerprint):
            continue
        dot = around.to_dot()
        series, note = _history(r, run)
        if note is None:  # a page missing its history is drawn again next time
            r.reused[page] = [fingerprint, [page], []]
        names = list(series)
        r.render(
            "run",
            page,
            run=run,
            notes_html=p.safe_markdown(run.notes),
            summary=_summary(run),
            summary_total=len([k for k in charts.flatten(run.summary) if not k.startswith("_")]),
            charts=[
                {"name": name, "svg": charts.line_chart(name, series[name])}
                for name in names[: charts.CHARTS_SHOWN]
            ],
            metrics_total=len(names),
            history_note=note,
            inputs=[_edge(r, page, u) for u in run.inputs],
            outputs=[_edge(r, page, u) for u in run.outputs],
            lineage=r.lineage_marker(page, around, dot),
        )


def _summary(run: RunRecord) -> list[dict[str, Any]]:
    """The summary's rows, each saying whether its value is a number: a number is
    shown in an ``rt-num`` cell (right-aligned, its digits in columns), any other
    value cut to one line when long."""
    values = charts.flatten(run.summary)
    return [
        {"key": key, "value": shown, "number": _is_number(values.get(key))}
        for key, shown in charts.summary_rows(run.summary)
    ]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _history(r: Renderer, run: RunRecord) -> tuple[dict[str, list[tuple[int, float]]], str | None]:
    """The run's numeric metric series, or a note saying why there are none to draw."""
    if run.history is None:
        return {}, None
    digest = run.history.digest
    try:
        data = r.ctx.read_blob(digest)
    except RegistryError:
        return {}, (
            f"The metric history is missing from the blob store (blob "
            f"{short_digest(digest)}): no charts are drawn."
        )
    try:
        return charts.history_series(data), None
    except (ValueError, UnicodeDecodeError):
        return {}, (
            f"The metric history (blob {short_digest(digest)}) is not JSON lines of "
            "metrics: no charts are drawn."
        )


def _edge(r: Renderer, page: str, use: ArtifactUse) -> dict[str, str]:
    return {
        "path": use.path,
        "href": r.href(page, "version", use.project, use.name, str(use.version)),
    }


def project_runs(r: Renderer, page: str, project: str) -> tuple[list[dict[str, Any]], int]:
    """The newest ``RUNS_SHOWN`` runs of ``project`` as rows of its page (newest first),
    and how many it has."""
    runs = [run for run in r.data.runs.values() if run.project == project]
    runs.sort(key=lambda run: (run.started_at, run.id), reverse=True)
    rows = [
        {
            "id": run.id,
            "name": run.name,
            "href": r.href(page, "run", run.project, run.id),
            "job_type": run.job_type or "–",
            "state": run.status,
            "tags": list(run.tags),
            "duration": charts.duration(run.started_at, run.finished_at),
            "started_at": run.started_at,
        }
        for run in runs[:RUNS_SHOWN]
    ]
    return rows, len(runs)
