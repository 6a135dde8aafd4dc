"""Lineage graphs: artifacts as boxes, runs as ellipses, bounded to a neighbourhood.

The picture is meant to be read at its natural size, in a box that scrolls and zooms:
at 11 pt (about 15 CSS px) the labels stay legible on a phone, so a graph is never
shrunk to the column. A version carries its stages as short marks (``prod · stag``)
and the full names in its tooltip, which has real line breaks (``dot`` writes a
label's ``\\n`` into a default tooltip literally). ``decorate`` gives the SVG its
``role`` and ``aria-label``. A graph may group its nodes by project (``clusters``).

Node ids are opaque (``n0``, ``n1``...): in DOT a ``:`` in an id names a port, and
names belong in labels. The DOT is written by ``graphviz.Digraph``, which quotes every
value; ``dot`` (Debian's binary, run here and nowhere else) renders the SVG at build
time. Each node links to its page. Without ``dot`` the page shows the DOT source
instead; a ``dot`` that fails is a ``LineageRenderError`` naming the graph. Batches of
graphs go to as many ``dot`` processes at once as there are cores (``DOT_WORKERS``):
``dot`` is most of a full build's CPU after Markdown, and the build's own thread only
waits for it.

>>> graph = Graph(nodes={"a": {"label": 'say "hi"\\n<b>{x}</b>'}})
>>> print(graph.to_dot().splitlines()[4])
\tn0 [label="say \\"hi\\"\\n<b>{x}</b>"]
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import graphviz

from registry_tool._site.model import SiteData
from registry_tool.errors import LineageRenderError

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
DOT_BATCH = 200  # graphs per ``dot`` process
DOT_TIMEOUT = 600  # seconds for one ``dot`` process
DOT_WORKERS = min(os.cpu_count() or 1, 8)  # ``dot`` processes at once

GRAPH_ATTRS = {"rankdir": "LR", "bgcolor": "transparent", "fontname": "Helvetica"}
NODE_ATTRS = {
    "fontname": "Helvetica",
    "fontsize": "11",
    "style": "filled",
    "color": "#495057",
    "fontcolor": "#212529",
}
# Dark grey edges: at least 7:1 against white and against the light card the dark
# palette puts behind the graph (lineage.css), where the old #868e96 fell under 3:1.
EDGE_ATTRS = {"color": "#495057"}
MARKS_SHOWN = 3  # stage marks on a node; the rest are counted, all are in the tooltip
CLUSTER_ATTRS = {"style": "rounded,dashed", "color": "#868e96", "fontcolor": "#495057"}


def _value(text: str) -> str:
    """An attribute value for ``graphviz`` to quote: backslashes and ``<...>`` literal
    (``graphviz.escape``), and a line break in the text a DOT line break, so the DOT
    source stays one line per node (it is shown in a code block when ``dot`` is
    missing, where a raw line could close the block)."""
    escaped = graphviz.escape(text)
    for newline in ("\r\n", "\r", "\n"):
        escaped = escaped.replace(newline, "\\n")
    value: str = graphviz.nohtml(escaped)  # a str that quoting never takes for HTML
    return value


@dataclass
class Graph:
    """The nodes and edges around one artifact version or run."""

    nodes: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> attributes
    edges: list[tuple[str, str]] = field(default_factory=list)
    cut: bool = False
    clusters: bool = False  # group the nodes by project

    def shape(self) -> list[object]:
        """What the graph shows, as plain data: what a page's fingerprint takes, so an
        unchanged page needs no DOT at all (20,000 graphs of a 10,000-version site)."""
        nodes = [[key, sorted(self.nodes[key].items())] for key in sorted(self.nodes)]
        return [nodes, sorted(set(self.edges)), self.cut, self.clusters]

    def to_dot(self) -> str:
        ids = {key: f"n{i}" for i, key in enumerate(sorted(self.nodes))}
        digraph = graphviz.Digraph(
            "lineage", graph_attr=GRAPH_ATTRS, node_attr=NODE_ATTRS, edge_attr=EDGE_ATTRS
        )
        groups: dict[str, list[str]] = {}
        for key in sorted(self.nodes):
            groups.setdefault(page_of(key)[1] if self.clusters else "", []).append(key)
        for i, (project, keys) in enumerate(sorted(groups.items())):
            indent = "\t"
            if project:
                digraph.body.append(f"\tsubgraph cluster_{i} {{\n")
                cluster = tuple(
                    sorted(
                        {**CLUSTER_ATTRS, "label": project, "tooltip": f"project {project}"}.items()
                    )
                )
                digraph.body.append(f"\t\tgraph {_attributes(cluster)}\n")
                indent = "\t\t"
            for key in keys:
                # ``body`` takes verbatim lines: the id is an opaque ``n<i>`` and the
                # attributes were quoted by graphviz, once per distinct node of the site.
                digraph.body.append(
                    f"{indent}{ids[key]} {_attributes(tuple(sorted(self.nodes[key].items())))}\n"
                )
            if project:
                digraph.body.append("\t}\n")
        for a, b in sorted(set(self.edges)):
            digraph.edge(ids[a], ids[b])
        source: str = digraph.source
        return source


@functools.lru_cache(maxsize=1 << 16)
def _attributes(items: tuple[tuple[str, str], ...]) -> str:
    """A node's ``[name=value ...]``, quoted by ``graphviz.Digraph.node`` (a node shows
    up in every graph around it: quoting it once per site, not once per graph, is most
    of the cost of writing 20,000 graphs)."""
    one = graphviz.Digraph()
    one.node("n", **{k: _value(v) for k, v in items})
    line: str = one.body[0]
    return line.strip().removeprefix("n ")


def version_key(project: str, name: str, number: int) -> str:
    return f"a:{project}/{name}:v{number}"


def run_key(project: str, run_id: str) -> str:
    return f"r:{project}/{run_id}"


def page_of(key: str) -> tuple[str, ...]:
    """The page kind and its parts for a node key: ``("run", project, id)`` or
    ``("version", project, name, number)``."""
    if key.startswith("r:"):
        project, run_id = key[2:].split("/", 1)
        return ("run", project, run_id)
    path, _, version = key[2:].rpartition(":v")
    project, name = path.split("/", 1)
    return ("version", project, name, version)


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
        self,
        data: SiteData,
        href: Callable[[str], str],
        *,
        hops: int = HOPS,
        max_nodes: int = 60,
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
        attrs: dict[str, str] = {"URL": str(self.href(key)), "target": "_top"}
        page, project, *rest = page_of(key)
        if page == "run":
            (run_id,) = rest
            run = self.data.runs.get(f"{project}/{run_id}")
            job = run.job_type if run and run.job_type else "run"
            attrs.update(
                shape="ellipse",
                label=f"{job}\n{run_id}",
                tooltip=f"run {project}/{run_id}\njob type: {job}",
                fillcolor=RUN_COLOUR,
            )
        else:
            name, version = rest
            record = self.data.version(project, name, int(version))
            kind = record.type if record else "?"
            stages = self.data.stages_of(project, name, int(version))
            label = f"{name}:v{version}\n{kind}"
            tooltip = f"{project}/{name}:v{version}\ntype: {kind}"
            if stages:
                label += "\n" + stage_marks(stages)
                tooltip += "\nstages: " + ", ".join(stages)
            attrs.update(
                shape="box",
                label=label,
                tooltip=tooltip,
                fillcolor=TYPE_COLOURS.get(kind, OTHER_COLOUR),
            )
        if key == focus:
            attrs["penwidth"] = FOCUS_PEN
            attrs["id"] = FOCUS_ID
        return attrs


FOCUS_ID = "rt_focus"  # the focus node's SVG id, which ``decorate`` names the graph by


def stage_marks(stages: list[str]) -> str:
    """Short marks for ``registry/stage`` names, so that a node stays narrow:
    ``prod/production`` and ``prod/staging`` read ``prod · stag``; a stage held in two
    registries is marked once; past ``MARKS_SHOWN`` the rest are counted.

    >>> stage_marks(["prod/production", "prod/staging", "eu/production"])
    'prod · stag'
    >>> stage_marks(["r/alpha", "r/beta", "r/dev", "r/qa"])
    'alpha · beta · dev · +1'
    """
    marks: list[str] = []
    for stage in stages:
        short = stage.rpartition("/")[2]
        short = short[:4] if len(short) > 5 else short
        if short not in marks:
            marks.append(short)
    extra = len(marks) - MARKS_SHOWN
    return " · ".join(marks[:MARKS_SHOWN] + ([f"+{extra}"] if extra > 0 else []))


_SVG_OPEN = re.compile(r"<svg\b")
_FOCUS_TITLE = re.compile(rf'<g id="a_{FOCUS_ID}"><a [^>]*?xlink:title="((?:(?!&#10;)[^"])*)')
_GRAPH_TITLE = re.compile(r"<title>lineage</title>")
_NODE_TITLE = re.compile(r'<title>n\d+</title>(\s*<g id="a_\w+"><a [^>]*?xlink:title="([^"]*)")')
_EDGE_TITLE = re.compile(r"<title>(?:n\d+&#45;&gt;n\d+|cluster_\d+)</title>\n?")


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def decorate(svg: str) -> str:
    """The SVG as a page shows it: an image (``role="img"``) named after its focus
    node, how many artifacts and runs it shows and that each links to its page; drawn
    at its natural size (no ``max-width`` shrinking it to the column: its box scrolls
    instead), and the graph's own ``<title>`` (its DOT name) replaced by that name,
    so hovering the background says what the picture is. Each node's ``<title>`` is
    its tooltip rather than its DOT id, and edges and clusters lose
    theirs (``n1->n0``, ``cluster_0``)."""
    found = _FOCUS_TITLE.search(svg)
    focus = found.group(1) if found else ""
    boxes = svg.count('class="node"') - svg.count("<ellipse")
    runs = svg.count("<ellipse")
    label = (
        (f"Lineage of {focus}: " if focus else "Lineage: ")
        + f"{_count(boxes, 'artifact version')} and {_count(runs, 'run')}; "
        + "each links to its page"
    )
    svg = _SVG_OPEN.sub(
        f'<svg role="img" aria-label="{label}" class="rt-lineage-svg"'
        ' style="max-width:none;height:auto;display:block"',
        svg,
        count=1,
    )
    svg = _NODE_TITLE.sub(r"<title>\2</title>\1", svg)  # the tooltip, not the DOT id
    svg = _EDGE_TITLE.sub("", svg)
    return _GRAPH_TITLE.sub(f"<title>{label}</title>", svg, count=1)


def have_dot() -> bool:
    """Whether graphviz's ``dot`` is installed (without it pages show DOT source)."""
    return shutil.which("dot") is not None


def render_svgs(graphs: Mapping[str, str]) -> dict[str, str]:
    """SVG (without its XML prologue) of each named DOT source, at most ``DOT_BATCH``
    graphs per ``dot`` process and ``DOT_WORKERS`` processes at once. A ``dot`` that
    fails, or returns too few pictures, raises ``LineageRenderError`` naming the first
    graph, in the order given, it failed on."""
    items = list(graphs.items())
    if not items:
        return {}
    workers = max(1, min(DOT_WORKERS, len(items)))
    size = min(DOT_BATCH, -(-len(items) // workers))  # every worker gets a batch
    chunks = [items[start : start + size] for start in range(0, len(items), size)]
    svgs: dict[str, str] = {}
    with ThreadPoolExecutor(workers, thread_name_prefix="dot") as pool:
        for part in pool.map(_draw, chunks):  # raises the first failed batch's error
            svgs.update(part)
    return svgs


def _draw(chunk: list[tuple[str, str]]) -> dict[str, str]:
    """One batch through one ``dot``; on failure, which graph it was."""
    try:
        rendered = _run_dot([source for _, source in chunk])
    except _DotFailed as batch:
        for name, source in chunk:  # which graph: each on its own
            try:
                _run_dot([source])
            except _DotFailed as failed:
                raise LineageRenderError(
                    f"dot failed on the lineage graph of {name}: {failed}", graph=name
                ) from None
        first = chunk[0][0]
        raise LineageRenderError(
            f"dot failed on {len(chunk)} lineage graphs from {first}: {batch}", graph=first
        ) from None
    return {name: svg for (name, _), svg in zip(chunk, rendered, strict=True)}


class _DotFailed(Exception):
    pass


def _run_dot(sources: list[str]) -> list[str]:
    """The one place ``dot`` runs: the graphs in one process, one SVG each."""
    try:
        proc = subprocess.run(
            ["dot", "-Tsvg"],
            input="".join(sources).encode(),
            capture_output=True,
            check=False,
            timeout=DOT_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _DotFailed(str(exc)) from exc
    if proc.returncode != 0:
        raise _DotFailed(proc.stderr.decode("utf-8", "replace").strip()[:300])
    text = proc.stdout.decode("utf-8", "replace")
    svgs = [part[part.find("<svg") :] for part in text.split("<?xml")[1:]]
    if len(svgs) != len(sources):
        raise _DotFailed(f"dot returned {len(svgs)} pictures for {len(sources)} graphs")
    return svgs


def render_cached(graphs: Mapping[str, str], cache: Path) -> dict[str, str]:
    """``render_svgs`` through a cache of SVG files named by the DOT source's hash, so
    a rebuild runs ``dot`` only on graphs it has not drawn before, and each distinct
    graph once (a version's full lineage is often its page's graph). Without ``dot``
    installed, only the graphs in the cache have a picture. Each is ``decorate``d."""
    by_source: dict[str, list[str]] = {}
    for name, source in graphs.items():
        by_source.setdefault(source, []).append(name)
    drawn: dict[str, str] = {}  # source -> SVG
    todo: dict[str, str] = {}  # first graph name -> source, for ``dot``
    for source, names in by_source.items():
        cached = cache / f"{_source_key(source)}.svg"
        if cached.is_file():
            drawn[source] = cached.read_text()
        else:
            todo[names[0]] = source
    for name, svg in (render_svgs(todo) if todo and have_dot() else {}).items():
        cache.mkdir(parents=True, exist_ok=True)
        (cache / f"{_source_key(todo[name])}.svg").write_text(svg)
        drawn[todo[name]] = svg
    svgs: dict[str, str] = {}
    for source, svg in drawn.items():
        shown = decorate(svg)
        for name in by_source[source]:
            svgs[name] = shown
    return svgs


def _source_key(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()
