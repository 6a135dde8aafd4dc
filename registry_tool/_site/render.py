"""What the page kinds render with: the ``PageKind`` entry, the Jinja2 environment and
the ``Renderer`` that collects pages, their lineage graphs and images, and decides which
of a version's or run's pages can stay as the last build made them.

A page kind is one ``PageKind`` in ``kinds.PAGE_KINDS`` plus its render function,
which is given the ``Renderer`` and renders every page of its kind::

    def render_home(r: Renderer) -> None:
        r.render("home", r.path("home"), counts=...)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from registry_tool._engine.context import Context
from registry_tool._resources import data_path
from registry_tool._site import lineage as lineage_mod
from registry_tool._site import pages as p
from registry_tool._site.model import SiteData


@dataclass(frozen=True)
class PageKind:
    """One kind of page.

    ``path`` is where its pages live in the docs tree, a ``str.format`` pattern of the
    page's parts (``"runs/{0}/{1}.md"``: project, run id); ``template`` renders them.
    mkdocs builds the ``navigable`` kinds; the others are set into the theme's shell,
    and stay in the search index when ``searchable``. ``render`` renders every page of
    the kind; None for kinds whose pages a parent kind's ``render`` makes along with
    its own (a version's files and table pages, so they share its fingerprint).
    """

    name: str
    path: str
    template: str
    render: Callable[[Renderer], None] | None
    navigable: bool = False
    searchable: bool = False


def environment(ctx: Context, templates: Path | None) -> jinja2.Environment:
    """Templates from ``templates``, then the registry's ``site_templates/``, then the
    packaged ones; every value HTML-escaped and cut at ``pages.MAX_TEXT``."""
    folders = [ctx.store.root / "site_templates"]
    if templates is not None:
        folders.insert(0, templates)
    loaders: list[jinja2.BaseLoader] = [
        jinja2.FileSystemLoader(str(f)) for f in folders if f.is_dir()
    ]
    loaders.append(jinja2.FileSystemLoader(str(data_path("site_templates"))))

    def finalize(value: Any) -> Any:
        if isinstance(value, Markup) or value is None:
            return "" if value is None else value
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False, default=str)
        text = str(value)
        if len(text) > p.MAX_TEXT:
            text = text[: p.MAX_TEXT] + f"… ({len(text) - p.MAX_TEXT} more characters)"
        return text

    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
    )


def fingerprint_base(env: jinja2.Environment, config: dict[str, Any]) -> str:
    """What every page depends on besides its data: the templates in effect, the site
    config (the nav, so the shells), the theme's and this code's versions."""
    h = hashlib.sha256()
    assert env.loader is not None
    for name in sorted(env.loader.list_templates()):
        source, _, _ = env.loader.get_source(env, name)
        h.update(name.encode() + b"\0" + source.encode() + b"\0")
    stable = {k: v for k, v in config.items() if k not in ("docs_dir", "site_dir")}
    h.update(json.dumps(stable, sort_keys=True, default=str).encode())
    h.update(version("mkdocs-material").encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        h.update(module.read_bytes())
    return h.hexdigest()


class Renderer:
    """Collects a build's pages (docs path -> Markdown) as the page kinds render them."""

    def __init__(
        self,
        ctx: Context,
        data: SiteData,
        env: jinja2.Environment,
        kinds: Mapping[str, PageKind],
        *,
        fingerprint_base: str = "",
        out: Path = Path(),
        prior: dict[str, Any] | None = None,
    ) -> None:
        self.ctx = ctx
        self.data = data
        self.env = env
        self.kinds = kinds
        self.fingerprint_base = fingerprint_base  # what every page depends on
        self.out = out
        self.prior = prior or {}  # version or run page -> [fingerprint, pages, assets]
        self.lineage = lineage_mod.Lineage(data, lambda key: key)
        self.pages: dict[str, str] = {}
        self.group: list[str] | None = None  # pages of the version being rendered
        self.group_assets: set[str] = set()  # and the images its tables show
        self.reused: dict[str, Any] = {}  # the same as ``prior``, this build
        self.kept: set[str] = set()  # pages left as the last build made them
        self.kept_assets: set[str] = set()
        self.detached: set[str] = set()  # rendered into a shell, not built by mkdocs
        self.searchable: set[str] = set()  # detached pages still in the search index
        self.graphs: dict[str, tuple[str, bool]] = {}  # page -> (DOT source, cut)
        self.assets: dict[str, bytes] = {}

    def path(self, kind: str, *parts: str) -> str:
        """Where a page of ``kind`` lives in the docs tree (``.md``)."""
        return self.kinds[kind].path.format(*parts)

    def href(self, from_page: str, kind: str, *parts: str) -> str:
        """Relative URL from ``from_page`` to a page of ``kind``."""
        return p.href(from_page, self.path(kind, *parts))

    def render(self, kind: str, target: str, /, **context: Any) -> None:
        """Render ``target``, a page of ``kind``, with the kind's template."""
        entry = self.kinds[kind]
        self.pages[target] = self.env.get_template(entry.template).render(**context)
        if entry.navigable:
            return
        self.detached.add(target)
        if self.group is not None:
            self.group.append(target)
        if entry.searchable:
            self.searchable.add(target)

    def unchanged(self, page: str, fingerprint: str) -> bool:
        """Whether a version's (or a run's) pages can stay as the last build made them:
        the same inputs, and every page of them still in OUT."""
        prior = self.prior.get(page)
        if not prior or prior[0] != fingerprint:
            return False
        if not all((self.out / (q.removesuffix(".md") + ".html")).is_file() for q in prior[1]):
            return False
        self.kept.update(prior[1])
        self.kept_assets.update(prior[2])
        self.reused[page] = prior
        return True

    def around(self, focus: str) -> lineage_mod.Graph:
        """The lineage graph around a node, its links relative to the node's page."""
        result = self.lineage.around(focus)
        page = self.path(*lineage_mod.page_of(focus))
        for key, attrs in result.nodes.items():
            attrs["URL"] = p.href(page, self.path(*lineage_mod.page_of(key)))
        return result

    def lineage_marker(self, page: str, graph: lineage_mod.Graph, dot: str) -> str:
        """Register ``page``'s graph; the marker its template shows, replaced by the
        picture once every graph is rendered (``inline_lineage``)."""
        self.graphs[page] = (dot, graph.cut)
        return f"@@LINEAGE:{page}@@"

    def inline_lineage(self, svgs: Mapping[str, str]) -> None:
        """Replace each page's lineage marker by its SVG, or by the DOT source in a code
        block when there is no SVG (``dot`` missing)."""
        for page, (dot, cut) in self.graphs.items():
            found = svgs.get(page)
            if found is not None:
                block = f'<div class="rt-lineage">{found}</div>'
            else:
                block = "```dot\n" + dot + "```"
            if cut:
                block += (
                    f'\n\n<p class="rt-cut">Showing {lineage_mod.HOPS} steps around this '
                    "node; the lineage goes on beyond them.</p>"
                )
            self.pages[page] = self.pages[page].replace(f"@@LINEAGE:{page}@@", block)
