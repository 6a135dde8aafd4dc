"""``registry-tool site build``: Markdown pages from Jinja2 templates, then mkdocs.

mkdocs builds the navigable pages only: home, registries, projects (the nav lists the
projects up to ``NAV_PROJECTS``, then only a page of them, so the nav every page carries
stays small). Collection, version, files, run and table pages, one per version and per
run, are set into the theme's own HTML by ``site.shell`` and converted again only when
their Markdown changes; collection pages are added to the search index, the rest stay
out of it. Lineage SVG is cached by DOT source.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from registry_tool._engine.context import Context
from registry_tool._fmt import human_size
from registry_tool._resources import data_path
from registry_tool._site import lineage as lineage_mod
from registry_tool._site import pages as p
from registry_tool._site import shell
from registry_tool._site.load import load
from registry_tool._site.model import SiteData
from registry_tool._store.paths import cache_home
from registry_tool.errors import RegistryError

DOT_BATCH = 200
NAV_PROJECTS = 50  # projects listed in the nav, which every page carries


@dataclass
class BuildReport:
    out: Path
    docs: Path
    pages: int
    written: int
    removed: int
    seconds: float
    dot: bool
    warnings: list[str] = field(default_factory=list)
    markdown: dict[str, str] = field(default_factory=dict, repr=False)  # every page

    @property
    def index(self) -> Path:
        return self.out / "index.html"


def _environment(ctx: Context, templates: Path | None) -> Any:
    import jinja2
    from markupsafe import Markup

    folders = [ctx.store.root / "site_templates"]
    if templates is not None:
        folders.insert(0, templates)
    loaders: list[Any] = [jinja2.FileSystemLoader(str(f)) for f in folders if f.is_dir()]
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


class _Renderer:
    def __init__(self, ctx: Context, data: SiteData, env: Any, docs: Path) -> None:
        self.ctx = ctx
        self.data = data
        self.env = env
        self.docs = docs
        self.pages: dict[str, str] = {}
        self.group: list[str] | None = None  # pages of the version being rendered
        self.group_assets: set[str] = set()  # and the images its tables show
        self.fingerprint_base = ""  # what every page depends on: templates, config, code
        self.out = Path()
        self.prior: dict[str, Any] = {}  # version or run page -> [fingerprint, pages, assets]
        self.reused: dict[str, Any] = {}  # the same, this build
        self.kept: set[str] = set()  # pages left as the last build made them
        self.kept_assets: set[str] = set()
        self.detached: set[str] = set()  # rendered into a shell, not built by mkdocs
        self.searchable: set[str] = set()  # detached pages still in the search index
        self.graphs: dict[str, tuple[str, bool]] = {}  # page -> (DOT source, cut)
        self.assets: dict[str, bytes] = {}

    def render(self, template: str, target: str, /, **context: Any) -> None:
        """A page mkdocs builds (home, registries, projects)."""
        self.pages[target] = self.env.get_template(template).render(**context)

    def render_detached(
        self, template: str, target: str, /, searchable: bool = False, **context: Any
    ) -> None:
        """A page out of the nav, set into the theme's shell by ``shell.publish``."""
        self.render(template, target, **context)
        self.detached.add(target)
        if self.group is not None:
            self.group.append(target)
        if searchable:
            self.searchable.add(target)

    def unchanged(self, page: str, fingerprint: str, out: Path) -> bool:
        """Whether a version's (or a run's) pages can stay as the last build made them:
        the same inputs, and every page of them still in OUT."""
        prior = self.prior.get(page)
        if not prior or prior[0] != fingerprint:
            return False
        if not all((out / (q.removesuffix(".md") + ".html")).is_file() for q in prior[1]):
            return False
        self.kept.update(prior[1])
        self.kept_assets.update(prior[2])
        self.reused[page] = prior
        return True

    def link(self, from_page: str, key: str) -> str:
        if key.startswith("r:"):
            project, run_id = key[2:].split("/", 1)
            return p.href(from_page, p.page_path("run", project, run_id))
        path, _, version = key[2:].rpartition(":v")
        project, name = path.split("/", 1)
        return p.href(from_page, p.page_path("version", project, name, version))


def _holder(page: str, link: Any) -> dict[str, Any] | None:
    """A stage holder's cell: the registry version, its source and a link to it."""
    if link is None:
        return None
    target = p.page_path("version", link.project, link.name, str(link.source_version))
    return {"version": link.version, "source": link.source_path, "href": p.href(page, target)}


def _home(r: _Renderer) -> None:
    data = r.data
    page = p.page_path("home")
    all_stages: list[str] = []
    for registry in data.registries:
        all_stages += [s for s in registry.config.stages if s not in all_stages]
    rows = []
    for registry in data.registries:
        for collection in registry.collections:
            holders = [
                _holder(page, collection.holder(stage)) if stage in registry.config.stages else None
                for stage in all_stages
            ]
            rows.append(
                {
                    "registry": registry.config.name,
                    "collection": collection.name,
                    "href": p.href(page, p.page_path("registry", registry.config.name)),
                    "holders": holders,
                }
            )
    counts = {
        "collections": len(data.collections),
        "versions": sum(len(c.versions) for c in data.collections.values()),
        "runs": len(data.runs),
        "registries": len(data.registries),
    }
    r.render(
        "index.md.j2",
        page,
        data=data,
        counts=counts,
        registries=rows,
        all_stages=all_stages,
        activity=data.activity,
    )


def _registries(r: _Renderer) -> None:
    """A page per model registry (its stage holders, collection by collection) and a
    page per registry collection (links and stage history), so no page grows with
    the number of collections times their history."""
    for registry in r.data.registries:
        name = registry.config.name
        page = p.page_path("registry", name)
        columns = list(registry.config.stages)
        rows = []
        for collection in registry.collections:
            here = p.page_path("registry_collection", name, collection.name)
            links = []
            for link in collection.links:
                held = {a for a, rec in collection.aliases.items() if rec.version == link.version}
                links.append(
                    {
                        "version": link.version,
                        "source": link.source_path,
                        "href": p.href(
                            here,
                            p.page_path(
                                "version", link.project, link.name, str(link.source_version)
                            ),
                        ),
                        "digest": p.short(link.digest),
                        "stages": [s in held for s in columns],
                        "linked_at": link.linked_at,
                        "unlinked": link.version in collection.unlinked,
                    }
                )
            events = collection.history[-p.HISTORY_SHOWN :]
            history = [
                {
                    "when": e.when,
                    "alias": e.alias,
                    "previous": "–" if e.previous is None else f"v{e.previous}",
                    "version": "(removed)" if e.version is None else f"v{e.version}",
                    "author": e.author,
                    "pull_request": e.pull_request,
                    "reason": e.reason or "",
                }
                for e in events
            ]
            entry = {
                "name": collection.name,
                "links": links,
                "history": history,
                "older": len(collection.history) - len(events),
            }
            r.render_detached(
                "registry_collection.md.j2",
                here,
                searchable=True,
                registry=name,
                c=entry,
                columns=columns,
                registry_href=p.href(here, page),
            )
            holders = [_holder(page, collection.holder(stage)) for stage in columns]
            rows.append(
                {
                    "name": collection.name,
                    "href": p.href(page, here),
                    "holders": holders,
                    "links": links,
                    "last_change": collection.history[-1].when if collection.history else "",
                }
            )
        r.render(
            "registry.md.j2",
            page,
            config=registry.config,
            collections=rows,
            columns=columns,
            description_html=p.safe_markdown(registry.config.description),
        )


def _projects(r: _Renderer) -> None:
    """A page per project listing its artifacts, and one listing the projects."""
    by_project: dict[str, list[Any]] = {}
    for collection in r.data.collections.values():
        by_project.setdefault(collection.record.project, []).append(collection)
    everything = p.page_path("artifacts")
    rows = []
    for project, collections in sorted(by_project.items()):
        page = p.page_path("project", project)
        items = []
        for c in sorted(collections, key=lambda c: c.record.name):
            latest = c.versions[-1] if c.versions else None
            items.append(
                {
                    "name": c.record.name,
                    "href": p.href(page, p.page_path("collection", project, c.record.name)),
                    "type": c.record.type,
                    "versions": len(c.versions),
                    "latest": latest.version if latest else None,
                    "latest_href": p.href(
                        page, p.page_path("version", project, c.record.name, str(latest.version))
                    )
                    if latest
                    else None,
                    "aliases": c.aliases_of(latest.version) if latest else [],
                    "updated": latest.created_at if latest else c.record.created_at,
                }
            )
        r.render(
            "project.md.j2",
            page,
            project=project,
            collections=items,
            all_href=p.href(page, everything),
        )
        rows.append(
            {
                "name": project,
                "href": p.href(everything, page),
                "collections": len(collections),
                "versions": sum(len(c.versions) for c in collections),
            }
        )
    r.render("artifacts.md.j2", everything, projects=rows)


def _collections(r: _Renderer, lineage: _PageLineage) -> None:
    for collection in r.data.collections.values():
        record = collection.record
        page = p.page_path("collection", record.project, record.name)
        shown = collection.versions[-p.VERSIONS_SHOWN :]
        compared = shown[-p.METADATA_COLUMNS :]
        versions = []
        for v in shown:
            versions.append(
                {
                    "version": v.version,
                    "href": p.href(page, p.page_path("version", v.project, v.name, str(v.version))),
                    "aliases": collection.aliases_of(v.version),
                    "digest": p.short(v.digest),
                    "size": human_size(v.size),
                    "files": len(v.entries),
                    "created_at": v.created_at,
                    "run": v.run,
                    "run_href": p.href(page, p.page_path("run", v.project, v.run))
                    if v.run and f"{v.project}/{v.run}" in r.data.runs
                    else None,
                    "metadata": dict(v.metadata),
                    "deleted": v.deleted is not None,
                }
            )
        keys = sorted({k for v in compared for k in v.metadata})
        charts = [(k, p.sparkline(points)) for k, points in p.numeric_series(shown).items()]
        r.render_detached(
            "collection.md.j2",
            page,
            searchable=True,
            record=record,
            versions=versions,
            total=len(collection.versions),
            compared=versions[-len(compared) :] if compared else [],
            metadata_keys=keys,
            charts=charts,
            description_html=p.safe_markdown(record.description),
        )
        previous = None
        for v in collection.versions:
            _version(r, lineage, collection.aliases_of(v.version), v, previous)
            previous = v


def _version(
    r: _Renderer, lineage: _PageLineage, aliases: list[str], v: Any, previous: Any
) -> None:
    """A version's page, its files pages and table pages, or, when nothing they show
    changed since the last build, none of them (they stay as they are in OUT)."""
    page = p.page_path("version", v.project, v.name, str(v.version))
    around = lineage.around(lineage_mod.version_key(v.project, v.name, v.version))
    dot = around.to_dot()
    producer = r.data.runs.get(f"{v.project}/{v.run}") if v.run else None
    consumers = r.data.consumers(v.project, v.name, v.version)
    stages = r.data.stages_of(v.project, v.name, v.version)
    # A version file never changes but for its delete mark, so its path, digest and
    # time stand for all of it (and the previous version's for the diff).
    inputs = [
        r.fingerprint_base,
        [v.project, v.name, v.version, v.digest, v.created_at],
        v.deleted.to_doc() if v.deleted else None,
        [previous.version, previous.digest, previous.created_at] if previous else None,
        aliases,
        stages,
        [producer.id, producer.job_type] if producer else None,
        [c.id for c in consumers],
        dot,
        around.cut,
    ]
    fingerprint = hashlib.sha256(json.dumps(inputs).encode()).hexdigest()
    if r.unchanged(page, fingerprint, r.out):
        return
    r.group, r.group_assets = [], set()
    _version_pages(r, v, previous, aliases, stages, producer, consumers, page, dot, around.cut)
    r.reused[page] = [fingerprint, r.group, sorted(r.group_assets)]
    r.group = None


def _version_pages(
    r: _Renderer,
    v: Any,
    previous: Any,
    aliases: list[str],
    stages: list[str],
    producer: Any,
    consumers: list[Any],
    page: str,
    dot: str,
    cut: bool,
) -> None:
    version = str(v.version)
    entries = [
        {
            "path": e.path,
            "size": human_size(e.size),
            "digest": p.short(e.digest) if e.digest.startswith("sha256:") else e.digest,
            "ref": e.ref or "",
        }
        for e in v.entries
    ]
    chunks = [
        entries[i : i + p.FILES_PER_PAGE] for i in range(0, len(entries), p.FILES_PER_PAGE)
    ] or [[]]
    pages_list = [
        {
            "number": n + 1,
            "href": p.href(
                page,
                page if n == 0 else p.page_path("files", v.project, v.name, version, str(n + 1)),
            ),
        }
        for n in range(len(chunks))
    ]
    tables = []
    for entry in v.entries:
        if entry.path.endswith(".table.json") and entry.ref is None:
            name = entry.path.removesuffix(".table.json")
            slug = hashlib.sha256(entry.path.encode()).hexdigest()[:10]
            table_page = p.page_path("table", v.project, v.name, version, slug)
            tables.append({"name": name, "href": p.href(page, table_page)})
            _table(r, v, entry, name, table_page, page)
    r.graphs[page] = (dot, cut)
    r.render_detached(
        "version.md.j2",
        page,
        record=v,
        size=human_size(v.size),
        aliases=aliases,
        stages=stages,
        collection_href=p.href(page, p.page_path("collection", v.project, v.name)),
        previous_href=p.href(page, p.page_path("version", v.project, v.name, str(previous.version)))
        if previous is not None
        else None,
        description_html=p.safe_markdown(v.description),
        lineage=f"@@LINEAGE:{page}@@",
        producer={
            "id": producer.id,
            "job": producer.job_type or "run",
            "href": p.href(page, p.page_path("run", producer.project, producer.id)),
        }
        if producer
        else None,
        consumers=[
            {"id": c.id, "href": p.href(page, p.page_path("run", c.project, c.id))}
            for c in consumers
        ],
        tables=tables,
        diff=p.diff(previous, v),
        files=chunks[0],
        pages=pages_list,
        page=1,
    )
    for n, chunk in enumerate(chunks[1:], start=2):
        files_page = p.page_path("files", v.project, v.name, version, str(n))
        pages_here = [
            {
                "number": x["number"],
                "href": p.href(
                    files_page,
                    page
                    if x["number"] == 1
                    else p.page_path("files", v.project, v.name, version, str(x["number"])),
                ),
            }
            for x in pages_list
        ]
        r.render_detached(
            "files_page.md.j2",
            files_page,
            record=v,
            version_href=p.href(files_page, page),
            files=chunk,
            pages=pages_here,
            page=n,
        )


def _table(r: _Renderer, v: Any, entry: Any, name: str, page: str, version_page: str) -> None:
    try:
        doc: Any = json.loads(r.ctx.read_blob(entry.digest))
    except (RegistryError, ValueError):
        return
    by_path = {e.path: e for e in v.entries}

    def image_src(cell: dict[str, Any]) -> str | None:
        image = by_path.get(str(cell.get("path", "")))
        if image is None or not image.digest.startswith("sha256:"):
            return None
        ext: str = os.path.splitext(str(image.path))[1].lower()
        if ext not in (".png", ".jpg", ".jpeg", ".gif", ".webp"):
            return None
        asset = f"assets/media/{image.digest[7:]}{ext}"
        if asset not in r.assets:
            try:
                r.assets[asset] = r.ctx.read_blob(image.digest)
            except RegistryError:
                return None
        r.group_assets.add(asset)
        relative: str = p.href(page, asset.removesuffix(ext) + ".md")
        return relative.removesuffix(".html") + ext

    rows = doc.get("data", []) if isinstance(doc, dict) else []
    r.render_detached(
        "table.md.j2",
        page,
        record=v,
        name=name,
        version_href=p.href(page, version_page),
        table=p.table_html(doc if isinstance(doc, dict) else {}, image_src),
        shown=min(len(rows), p.TABLE_ROWS),
        total=len(rows),
    )


def _runs(r: _Renderer, lineage: _PageLineage) -> None:
    for run in r.data.runs.values():
        page = p.page_path("run", run.project, run.id)

        def edge(use: Any, page: str = page) -> dict[str, str]:
            return {
                "path": use.path,
                "href": p.href(
                    page, p.page_path("version", use.project, use.name, str(use.version))
                ),
            }

        around = lineage.around(lineage_mod.run_key(run.project, run.id))
        dot = around.to_dot()
        # A run's page shows its record and its lineage graph, nothing else.
        inputs = [r.fingerprint_base, run.to_doc(), dot, around.cut]
        fingerprint = hashlib.sha256(json.dumps(inputs, default=str).encode()).hexdigest()
        if r.unchanged(page, fingerprint, r.out):
            continue
        r.reused[page] = [fingerprint, [page], []]
        r.graphs[page] = (dot, around.cut)
        r.render_detached(
            "run.md.j2",
            page,
            run=run,
            inputs=[edge(u) for u in run.inputs],
            outputs=[edge(u) for u in run.outputs],
            lineage=f"@@LINEAGE:{page}@@",
        )


def _render_lineage(r: _Renderer, cache: Path) -> tuple[bool, list[str]]:
    """Replace each page's lineage marker by its SVG (cached by DOT source), or by the
    DOT source in a code block when ``dot`` is missing."""
    warnings: list[str] = []
    have_dot = lineage_mod.render_svg("digraph x {}") is not None
    if not have_dot:
        warnings.append("graphviz 'dot' is not installed: lineage graphs are shown as DOT source")
    svgs: dict[str, str] = {}
    todo: dict[str, str] = {}
    for page, (dot, _cut) in r.graphs.items():
        key = hashlib.sha256(dot.encode()).hexdigest()
        cached = cache / f"{key}.svg"
        if cached.is_file():
            svgs[page] = cached.read_text()
        else:
            todo[page] = dot
    if have_dot and todo:
        items = list(todo.items())
        for start in range(0, len(items), DOT_BATCH):
            chunk = items[start : start + DOT_BATCH]
            rendered = _dot_many([dot for _, dot in chunk])
            for (page, dot), svg in zip(chunk, rendered, strict=True):
                svgs[page] = svg
                cache.mkdir(parents=True, exist_ok=True)
                (cache / f"{hashlib.sha256(dot.encode()).hexdigest()}.svg").write_text(svg)
    for page, (dot, cut) in r.graphs.items():
        marker = f"@@LINEAGE:{page}@@"
        found = svgs.get(page)
        if found is not None:
            block = f'<div class="rt-lineage">{found}</div>'
        else:
            block = "```dot\n" + dot + "```"
        if cut:
            block += (
                f'\n\n<p class="rt-cut">Showing {lineage_mod.HOPS} steps around this node; '
                "the lineage goes on beyond them.</p>"
            )
        r.pages[page] = r.pages[page].replace(marker, block)
    return have_dot, warnings


def _dot_many(sources: list[str]) -> list[str]:
    proc = subprocess.run(
        ["dot", "-Tsvg"],
        input="".join(sources).encode(),
        capture_output=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RegistryError(f"dot failed: {proc.stderr.decode('utf-8', 'replace')[:300]}")
    text = proc.stdout.decode("utf-8", "replace")
    svgs = [part[part.find("<svg") :] for part in text.split("<?xml")[1:]]
    if len(svgs) != len(sources):
        raise RegistryError(f"dot returned {len(svgs)} graphs for {len(sources)}")
    return svgs


def _write_pages(
    docs: Path,
    pages: dict[str, str],
    assets: dict[str, bytes],
    kept: AbstractSet[str] = frozenset(),
) -> tuple[int, int]:
    """Write what changed into the docs folder and remove what is not wanted (``kept``:
    assets of pages left as they were, already there)."""
    written = removed = 0
    wanted = set(pages) | set(assets) | set(kept)
    for rel, text in pages.items():
        target = docs / rel
        data = text.encode("utf-8")
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written += 1
    for rel, data in assets.items():
        target = docs / rel
        if not target.is_file() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written += 1
    for path in list(docs.rglob("*")):
        rel = path.relative_to(docs).as_posix()
        if path.is_file() and rel not in wanted:
            path.unlink()
            removed += 1
    return written, removed


def _config(ctx: Context, data: SiteData, docs: Path, out: Path) -> dict[str, Any]:
    override = ctx.store.root / "mkdocs.yml"
    source = override if override.is_file() else data_path("mkdocs.yml")
    config: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    config.setdefault("site_name", f"{data.name} registry")
    if config.get("site_name") == "Registry":
        config["site_name"] = f"{data.name} registry"
    config["docs_dir"] = str(docs)
    config["site_dir"] = str(out)
    config["use_directory_urls"] = False
    projects = sorted({c.record.project for c in data.collections.values()})
    nav: list[Any] = [{"Home": "index.md"}]
    if data.registries:
        nav.append(
            {
                "Registries": [
                    {r.config.name: p.page_path("registry", r.config.name)} for r in data.registries
                ]
            }
        )
    everything = p.page_path("artifacts")
    if len(projects) <= NAV_PROJECTS:
        nav.append(
            {
                "Artifacts": [{"All projects": everything}]
                + [{project: p.page_path("project", project)} for project in projects]
            }
        )
    else:  # the nav is on every page: past this many, the projects page lists them
        nav.append({"Artifacts": everything})
    config["nav"] = nav
    config["not_in_nav"] = f"/{shell.SHELL_DIR}/\n/artifacts/*/index.md\n"
    return config


def build(
    ctx: Context,
    out: Path,
    *,
    templates: Path | None = None,
    docs: Path | None = None,
    strict: bool = True,
) -> BuildReport:
    """Render the pages; run ``mkdocs build`` on the navigable ones (home, registries,
    projects, kept in ``docs``, a per-registry cache folder by default) into a staging
    folder; then publish into ``out``: what mkdocs built, and every other page set
    into the theme's shell (only those whose Markdown changed since the last build).
    A version's or a run's pages whose inputs did not change since the last build into
    the same ``out`` are not rendered at all (``reuse-*.json`` in the work dir)."""
    started = time.monotonic()
    out = out.resolve()
    workdir = cache_home() / "site" / hashlib.sha256(str(ctx.store.root).encode()).hexdigest()[:16]
    docs = (docs or workdir / "docs").resolve()
    data = load(ctx)
    env = _environment(ctx, templates)
    renderer = _Renderer(ctx, data, env, docs)
    out_key = hashlib.sha256(str(out).encode()).hexdigest()[:16]
    reuse_file = workdir / f"reuse-{out_key}.json"
    config = _config(ctx, data, docs, workdir / "mkdocs-site")
    renderer.fingerprint_base = _fingerprint_base(env, config)
    renderer.out = out
    try:
        renderer.prior = json.loads(reuse_file.read_text())
    except (OSError, ValueError):
        renderer.prior = {}
    graph = lineage_mod.Lineage(data, lambda key: key)
    lineage = _PageLineage(graph, renderer)
    _home(renderer)
    _registries(renderer)
    _projects(renderer)
    _collections(renderer, lineage)
    _runs(renderer, lineage)
    have_dot, warnings = _render_lineage(renderer, workdir / "svg")
    css = data_path("site_templates") / "registry-tool.css"
    own_css = ctx.store.root / "site_templates" / "registry-tool.css"
    renderer.assets["assets/registry-tool.css"] = (
        own_css if own_css.is_file() else css
    ).read_bytes()
    detached = {page: renderer.pages[page] for page in renderer.detached}
    navigable = {k: v for k, v in renderer.pages.items() if k not in renderer.detached}
    for levels in {shell.depth(page) for page in detached}:
        navigable[shell.shell_page(levels)] = shell.shell_markdown()
    docs_written, _ = _write_pages(docs, navigable, renderer.assets, renderer.kept_assets)
    config_file = workdir / "mkdocs.yml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    args = [sys.executable, "-m", "mkdocs", "build", "--quiet", "-f", str(config_file)]
    if strict:
        args.append("--strict")
    proc = subprocess.run(
        args,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise RegistryError(f"mkdocs build failed: {' | '.join(detail[-5:])}")
    published = shell.publish(
        workdir / "mkdocs-site",
        out,
        detached,
        renderer.searchable,
        config,
        workdir / f"published-{out_key}.json",
        kept=renderer.kept,
    )
    tmp = reuse_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(renderer.reused))
    os.replace(tmp, reuse_file)
    return BuildReport(
        out,
        docs,
        len(renderer.pages),
        published.converted + docs_written,
        published.removed,
        time.monotonic() - started,
        have_dot,
        warnings,
        markdown=renderer.pages,
    )


def _fingerprint_base(env: Any, config: dict[str, Any]) -> str:
    """What every page depends on besides its data: the templates in effect, the site
    config (the nav, so the shells), the theme's and this code's versions."""
    from importlib.metadata import version

    h = hashlib.sha256()
    for name in sorted(env.loader.list_templates()):
        source, _, _ = env.loader.get_source(env, name)
        h.update(name.encode() + b"\0" + source.encode() + b"\0")
    stable = {k: v for k, v in config.items() if k not in ("docs_dir", "site_dir")}
    h.update(json.dumps(stable, sort_keys=True, default=str).encode())
    h.update(version("mkdocs-material").encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        h.update(module.read_bytes())
    return h.hexdigest()


class _PageLineage:
    """Lineage graphs whose node links are relative to the page they appear on."""

    def __init__(self, graph: lineage_mod.Lineage, renderer: _Renderer) -> None:
        self.graph = graph
        self.renderer = renderer

    def around(self, focus: str) -> lineage_mod.Graph:
        result = self.graph.around(focus)
        page = self._page_of(focus)
        for key, attrs in result.nodes.items():
            attrs["URL"] = self.renderer.link(page, key)
        return result

    @staticmethod
    def _page_of(key: str) -> str:
        if key.startswith("r:"):
            project, run_id = key[2:].split("/", 1)
            return p.page_path("run", project, run_id)
        path, _, version = key[2:].rpartition(":v")
        project, name = path.split("/", 1)
        return p.page_path("version", project, name, version)
