"""Lineage graphs: artifacts as boxes, runs as ellipses, bounded to a neighbourhood.

Node ids are opaque (``n0``, ``n1``...): in DOT a ``:`` in an id names a port, and
names belong in labels, which are escaped. Each node links to its page. ``dot``
renders the SVG at build time; without ``dot`` the page shows the DOT source instead.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import deque
from dataclasses import dataclass, field

from registry_tool._site.model import SiteData

# Fill colours by artifact type; readable with the dark text in both palettes.
TYPE_COLOURS = {
    "dataset": "#c6e2ff",
    "model": "#ffd8a8",
    "predictions": "#d3f9d8",
    "evaluation": "#e5dbff",
}
OTHER_COLOUR = "#e9ecef"
RUN_COLOUR = "#fff3bf"
FOCUS_PEN = "3"
HOPS = 2


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@dataclass
class Graph:
    """The nodes and edges around one artifact version or run."""

    nodes: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> attributes
    edges: list[tuple[str, str]] = field(default_factory=list)
    cut: bool = False

    def to_dot(self) -> str:
        ids = {key: f"n{i}" for i, key in enumerate(sorted(self.nodes))}
        lines = [
            "digraph lineage {",
            '  graph [rankdir=LR, bgcolor="transparent", fontname="Helvetica"];',
            '  node [fontname="Helvetica", fontsize=11, style="filled", color="#495057", fontcolor="#212529"];',
            '  edge [color="#868e96"];',
        ]
        for key in sorted(self.nodes):
            attrs = ", ".join(f"{k}={_quote(v)}" for k, v in sorted(self.nodes[key].items()))
            lines.append(f"  {ids[key]} [{attrs}];")
        for a, b in sorted(set(self.edges)):
            lines.append(f"  {ids[a]} -> {ids[b]};")
        lines.append("}")
        return "\n".join(lines) + "\n"


def version_key(project: str, name: str, number: int) -> str:
    return f"a:{project}/{name}:v{number}"


def run_key(project: str, run_id: str) -> str:
    return f"r:{project}/{run_id}"


def _neighbours(data: SiteData) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for run in data.runs.values():
        r = run_key(run.project, run.id)
        graph.setdefault(r, set())
        for use in run.inputs:
            a = version_key(use.project, use.name, use.version)
            graph.setdefault(a, set()).add(r)
            graph[r].add(a)
        for use in run.outputs:
            a = version_key(use.project, use.name, use.version)
            graph.setdefault(a, set()).add(r)
            graph[r].add(a)
    return graph


class Lineage:
    """Builds bounded lineage graphs for a site; ``href(key)`` gives each node's page."""

    def __init__(
        self, data: SiteData, href: object, *, hops: int = HOPS, max_nodes: int = 60
    ) -> None:
        self.data = data
        self.href = href
        self.hops = hops
        self.max_nodes = max_nodes
        self.adjacent = _neighbours(data)

    def around(self, focus: str) -> Graph:
        graph = Graph()
        seen = {focus: 0}
        queue = deque([focus])
        while queue:
            key = queue.popleft()
            depth = seen[key]
            if depth == self.hops:
                if self.adjacent.get(key, set()) - seen.keys():
                    graph.cut = True
                continue
            for other in sorted(self.adjacent.get(key, ())):
                if other in seen:
                    continue
                if len(seen) >= self.max_nodes:
                    graph.cut = True
                    break
                seen[other] = depth + 1
                queue.append(other)
        for key in seen:
            graph.nodes[key] = self._attrs(key, focus)
        for r in seen:
            run = self.data.runs.get(r[2:]) if r.startswith("r:") else None
            if run is None:
                continue
            for use in run.inputs:
                a = version_key(use.project, use.name, use.version)
                if a in seen:
                    graph.edges.append((a, r))
            for use in run.outputs:
                a = version_key(use.project, use.name, use.version)
                if a in seen:
                    graph.edges.append((r, a))
        return graph

    def _attrs(self, key: str, focus: str) -> dict[str, str]:
        href = self.href(key)  # type: ignore[operator]
        attrs: dict[str, str] = {"URL": str(href), "target": "_top"}
        if key.startswith("r:"):
            project, run_id = key[2:].split("/", 1)
            run = self.data.runs.get(f"{project}/{run_id}")
            job = run.job_type if run and run.job_type else "run"
            attrs.update(shape="ellipse", label=f"{job}\n{run_id}", fillcolor=RUN_COLOUR)
        else:
            path, _, version = key[2:].rpartition(":v")
            project, name = path.split("/", 1)
            record = self.data.version(project, name, int(version))
            kind = record.type if record else "?"
            stages = self.data.stages_of(project, name, int(version))
            label = f"{name}:v{version}\n{kind}"
            if stages:
                label += "\n" + " ".join(f"[{s}]" for s in stages)
            attrs.update(
                shape="box",
                label=label,
                fillcolor=TYPE_COLOURS.get(kind, OTHER_COLOUR),
            )
        if key == focus:
            attrs["penwidth"] = FOCUS_PEN
        return attrs


def render_svg(dot_source: str) -> str | None:
    """SVG from ``dot``, without its XML prologue; None when dot is not installed."""
    if shutil.which("dot") is None:
        return None
    proc = subprocess.run(
        ["dot", "-Tsvg"], input=dot_source.encode(), capture_output=True, check=False, timeout=60
    )
    if proc.returncode != 0:
        return None
    svg = proc.stdout.decode("utf-8", "replace")
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else None
