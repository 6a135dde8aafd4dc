"""A version's full lineage: every hop of the graph it belongs to, on a page of its own
beside the version's page (which shows ``lineage.HOPS`` steps around it).

A connected graph can be as large as the registry, and a page stays under 100 KB: past
``FULL_NODES`` nodes the picture stops and the page says so. Once it holds more than
``CLUSTER_FROM`` nodes, or nodes of more than one project, its nodes are grouped by
project (graphviz clusters), so a large picture is read a project at a time.

Like a version's page, the page is rendered again only when what it shows changed: its
fingerprint is the graph's shape, and an unchanged page stays as the last build made it.
A graph of at most ``FULL_NODES`` nodes is all of its connected part of the registry,
whichever of its versions is the focus, so its shape is taken once for all of them
(``_shared_shape``): a rebuild of 10,000 versions in 1,000 pipelines walks 1,000 graphs,
not 10,000. Its DOT is often the version page's own (a graph of two hops or fewer), and
``dot`` draws each distinct graph once (``lineage.render_cached``).
"""

from __future__ import annotations

import hashlib
import json

from registry_tool._site import lineage as lineage_mod
from registry_tool._site import pages as p
from registry_tool._site.render import Renderer

FULL_NODES = 80  # nodes on a full lineage page: about 70 KB of SVG, a page under 100 KB
CLUSTER_FROM = 30  # nodes from which a one-project graph is grouped too
FULL_HOPS = 1 << 30  # every hop


def full_lineage(r: Renderer, lineage: lineage_mod.Lineage, focus: str) -> lineage_mod.Graph:
    """The whole connected graph around ``focus`` (up to ``FULL_NODES``), its links
    relative to the focus's full lineage page, grouped by project when large."""
    graph = lineage.around(focus)
    _kind, *parts = lineage_mod.page_of(focus)
    page = r.path("lineage", *parts)
    for key, attrs in graph.nodes.items():
        attrs["URL"] = p.href(page, r.path(*lineage_mod.page_of(key)))
    projects = {lineage_mod.page_of(key)[1] for key in graph.nodes}
    graph.clusters = len(projects) > 1 or len(graph.nodes) > CLUSTER_FROM
    return graph


def _shared_shape(
    lineage: lineage_mod.Lineage, focus: str, shared: dict[str, list[object] | None]
) -> list[object] | None:
    """What the full lineage around ``focus`` shows, as fingerprint data shared by every
    node of a graph small enough to be shown whole: the shape of the graph drawn around
    the first of its nodes asked for (the anchor), with the anchor's key. Given that
    and ``focus``, the page is fixed, since only the focus mark and the links' base
    differ between two pages of one graph. ``None`` for a node of a larger graph, whose
    page depends on where the walk from it stops."""
    if focus in shared:
        return shared[focus]
    graph = lineage.around(focus)
    found: list[object] | None = None if graph.cut else [focus, graph.shape()]
    for key in graph.nodes:
        shared[key] = found
    return found


def render_lineage_pages(r: Renderer) -> None:
    """A full lineage page per version, beside its page."""
    lineage = lineage_mod.Lineage(r.data, lambda key: key, hops=FULL_HOPS, max_nodes=FULL_NODES)
    shared: dict[str, list[object] | None] = {}
    for collection in r.data.collections.values():
        for v in collection.versions:
            focus = lineage_mod.version_key(v.project, v.name, v.version)
            page = r.path("lineage", v.project, v.name, str(v.version))
            whole = _shared_shape(lineage, focus, shared)
            graph = None
            if whole is None:
                graph = full_lineage(r, lineage, focus)
                whole = [graph.shape(), graph.cut]
            inputs = [r.fingerprint_base, focus, whole]
            fingerprint = hashlib.sha256(json.dumps(inputs, default=str).encode()).hexdigest()
            if r.unchanged(page, fingerprint):
                continue
            graph = graph or full_lineage(r, lineage, focus)
            cut = graph.cut
            graph.cut = False  # the page says so itself: the note of a page's graph counts hops
            dot = graph.to_dot()
            runs = sum(1 for key in graph.nodes if key.startswith("r:"))
            r.render(
                "lineage",
                page,
                record=v,
                version_href=r.href(page, "version", v.project, v.name, str(v.version)),
                lineage=r.lineage_marker(page, graph, dot),
                versions=len(graph.nodes) - runs,
                runs=runs,
                projects=len({lineage_mod.page_of(key)[1] for key in graph.nodes}),
                clustered=graph.clusters,
                cut=cut,
                limit=FULL_NODES,
            )
            r.reused[page] = [fingerprint, [page], []]
