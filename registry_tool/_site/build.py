"""``registry-tool site build``: Markdown pages from Jinja2 templates, then mkdocs.

Each kind of page (``kinds.PAGE_KINDS``) renders its pages into a ``Renderer``. mkdocs
builds the navigable pages only: home, registries, projects (the nav lists the projects
up to ``NAV_PROJECTS``, then only a page of them, so the nav every page carries stays
small). Collection, version, files, run and table pages, one per version and per run,
are set into the theme's own HTML by ``site.shell`` and converted again only when their
Markdown changes. Lineage SVG is cached by DOT source.

Search finds what a W&B user types: names split on ``/``, ``:``, ``.`` and ``-`` (the
search plugin's ``separator``, set when the settings leave it out), collection pages
with their text, version and run pages by short entries made here (name, aliases,
stages, metadata keys; their whole pages would make the index too big to load), and
table cells apart (mkdocs' indexer joins the text of adjacent cells). The site's own
search script reads ``search/search_index.js``, so search works from ``file://``.

The data scripts with which a version's page compares it with any other version
(``compare.data_script``) are as many as the versions, and mkdocs would copy every one
of them again on each build: they are kept in a folder of their own in the work dir
instead, and linked into mkdocs' output before it is published.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from registry_tool._engine import Context
from registry_tool._resources import data_path
from registry_tool._site import compare, kinds, notfound, shell
from registry_tool._site import config as site_config
from registry_tool._site import lineage as lineage_mod
from registry_tool._site.load import load
from registry_tool._site.model import SiteData
from registry_tool._site.render import Renderer, environment, fingerprint_base, registry_path
from registry_tool._store.paths import cache_home
from registry_tool.errors import RegistryError

NAV_PROJECTS = 50  # projects listed in the nav, which every page carries
# Splits a name at its separators, so that `classifier` finds `demo/classifier:v2`.
SEPARATOR = r"[\s\-/:.]+"
SEARCH_PLUGINS = ("search", "material/search")
# The build's own scripts and stylesheets, from site_templates/, on every page.
SCRIPTS = ("assets/registry-tool-search.js", "assets/registry-tool-usage.js")
STYLES = ("assets/registry-tool-search.css", "assets/lineage.css")
_CELL_END = re.compile(r"(</(?:td|th|tr|li)>)(?=<)")


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


def _render_lineage(r: Renderer, cache: Path) -> tuple[bool, list[str]]:
    """Put each page's lineage picture in place (cached by DOT source), or its DOT
    source when ``dot`` is missing, with a warning saying so."""
    have_dot = lineage_mod.have_dot()
    warnings = []
    if not have_dot:
        warnings.append("graphviz 'dot' is not installed: lineage graphs are shown as DOT source")
    graphs = {page: dot for page, (dot, _cut) in r.graphs.items()}
    r.inline_lineage(lineage_mod.render_cached(graphs, cache))
    return have_dot, warnings


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


def _is_data(rel: str) -> bool:
    """Whether an asset is a compare data script, which goes around mkdocs."""
    return rel.endswith(compare.MANIFEST_SUFFIX) or rel.endswith("/" + compare.VERSIONS_SCRIPT)


def _link_into(source: Path, target: Path) -> None:
    """Every file of ``source`` into ``target`` at the same place: a hard link (the
    two are in the work dir), or a copy where the file system has none."""
    for path in source.rglob("*"):
        if not path.is_file():
            continue
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            dest.write_bytes(path.read_bytes())


def _config(settings: dict[str, Any], data: SiteData, docs: Path, out: Path) -> dict[str, Any]:
    """The checked ``settings`` (``site_config.load``) with the build's own added."""
    config = dict(settings)
    config.setdefault("site_name", f"{data.name} registry")
    if config.get("site_name") == "Registry":
        config["site_name"] = f"{data.name} registry"
    config["docs_dir"] = str(docs)
    config["site_dir"] = str(out)
    config["use_directory_urls"] = False
    projects = sorted(
        {c.record.project for c in data.collections.values()}
        | {run.project for run in data.runs.values()}
    )
    nav: list[Any] = [{"Home": "index.md"}]
    if data.registries:
        nav.append(
            {
                "Registries": [
                    {r.config.name: kinds.path("registry", r.config.name)} for r in data.registries
                ]
            }
        )
    everything = kinds.path("artifacts")
    if len(projects) <= NAV_PROJECTS:
        nav.append(
            {
                "Artifacts": [{"All projects": everything}]
                + [{project: kinds.path("project", project)} for project in projects]
            }
        )
    else:  # the nav is on every page: past this many, the projects page lists them
        nav.append({"Artifacts": everything})
    config["nav"] = nav
    config["not_in_nav"] = f"/{shell.SHELL_DIR}/\n/artifacts/*/index.md\n"
    config["plugins"] = [_with_separator(plugin) for plugin in config.get("plugins") or []]
    # The build's own (a registry's mkdocs.yml may name neither: see site_config).
    config["extra_css"] = [*(config.get("extra_css") or []), *STYLES]
    config["extra_javascript"] = list(SCRIPTS)
    return config


def _with_separator(plugin: Any) -> Any:
    """The search plugin's settings with ``SEPARATOR`` when they set none."""
    if plugin in SEARCH_PLUGINS:
        return {plugin: {"separator": SEPARATOR}}
    if isinstance(plugin, dict) and len(plugin) == 1:
        name, options = next(iter(plugin.items()))
        if name in SEARCH_PLUGINS and "separator" not in (options or {}):
            return {name: {**(options or {}), "separator": SEPARATOR}}
    return plugin


def _spaced_cells(markdown: str) -> str:
    """A navigable page's Markdown with a space after each table cell, row and list
    item, so that the search index keeps their texts apart (the page looks the same)."""
    return _CELL_END.sub(r"\1 ", markdown)


def _search_entries(data: SiteData) -> list[dict[str, str]]:
    """Search entries of version and run pages: what a user looks them up by. Text is
    HTML-escaped, as the theme shows results as HTML."""
    entries = []
    for collection in data.collections.values():
        record = collection.record
        for v in collection.versions:
            name = f"{record.project}/{record.name}:v{v.version}"
            words = [f"{record.name}:v{v.version}", record.type]
            aliases = collection.aliases_of(v.version)
            stages = data.stages_of(record.project, record.name, v.version)
            if aliases:
                words.append("aliases " + " ".join(aliases))
            if stages:
                words.append("stages " + " ".join(stages))
            if v.metadata:
                words.append("metadata " + " ".join(sorted(map(str, v.metadata))))
            page = kinds.path("version", record.project, record.name, str(v.version))
            entries.append(_entry(page, name, words))
    for run in data.runs.values():
        words = [run.name, f"project {run.project}", f"job type {run.job_type or '-'}"]
        words += [run.status, *run.tags]
        entries.append(_entry(kinds.path("run", run.project, run.id), f"Run {run.id}", words))
    return entries


def _entry(page: str, title: str, words: list[str]) -> dict[str, str]:
    return {
        "location": page.removesuffix(".md") + ".html",
        "title": html.escape(title, quote=False),
        "text": html.escape(" · ".join(words), quote=False),
    }


def _kind_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """Each page kind's path as a pattern, the most specific first."""
    patterns = []
    for kind in kinds.PAGE_KINDS:
        source = re.sub(r"\\\{\d\\\}", "([^/]+)", re.escape(kind.path))
        patterns.append((kind.name, re.compile(f"\\A{source}\\Z")))
    return sorted(patterns, key=lambda item: -len(item[1].pattern))


_KIND_PATTERNS = _kind_patterns()


def crumbs(page: str) -> shell.Crumbs:
    """The breadcrumbs of a page set into a shell: project, artifact, version (or the
    registry of a registry collection), each linked to its page."""
    matches = ((kind, pattern.match(page)) for kind, pattern in _KIND_PATTERNS)
    name, found = next(((k, m) for k, m in matches if m is not None), ("", None))
    if found is None:
        return []
    parts = found.groups()
    if name == "registry_collection":
        return [(f"model-registry/{parts[0]}", kinds.path("registry", parts[0])), (parts[1], None)]
    if name == "run":
        project = kinds.path("project", parts[0])
        return [(parts[0], project), ("runs", project + "#runs"), (parts[1], None)]
    if name not in ("collection", "version", "files", "table"):
        return []
    trail: shell.Crumbs = [
        (parts[0], kinds.path("project", parts[0])),
        (parts[1], kinds.path("collection", parts[0], parts[1])),
    ]
    if name != "collection":
        trail.append((f"v{parts[2]}", kinds.path("version", *parts[:3])))
    if name in ("files", "table"):
        trail.append((name, None))
    return trail


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
    the same ``out`` are not rendered at all (``reuse-*.json`` in the work dir).

    Nothing from the registry repo runs: its ``mkdocs.yml`` is checked against an
    allow-list first (``site_config``), its templates render in Jinja's sandbox, and
    mkdocs runs from the work dir without the current folder on its import path."""
    started = time.monotonic()
    settings = site_config.load(ctx.store.root)
    out = out.resolve()
    workdir = cache_home() / "site" / hashlib.sha256(str(ctx.store.root).encode()).hexdigest()[:16]
    docs = (docs or workdir / "docs").resolve()
    data = load(ctx)
    env = environment(ctx, templates)
    out_key = hashlib.sha256(str(out).encode()).hexdigest()[:16]
    reuse_file = workdir / f"reuse-{out_key}.json"
    config = _config(settings, data, docs, workdir / "mkdocs-site")
    try:
        prior = json.loads(reuse_file.read_text())
    except (OSError, ValueError):
        prior = {}
    renderer = Renderer(
        ctx,
        data,
        env,
        kinds.BY_NAME,
        fingerprint_base=fingerprint_base(env, config),
        out=out,
        prior=prior,
    )
    for kind in kinds.PAGE_KINDS:
        if kind.render is not None:
            kind.render(renderer)
    have_dot, warnings = _render_lineage(renderer, workdir / "svg")
    css = data_path("site_templates") / "registry-tool.css"
    own_css = registry_path(ctx.store.root, "site_templates/registry-tool.css")
    renderer.assets["assets/registry-tool.css"] = (
        own_css if own_css is not None and own_css.is_file() else css
    ).read_bytes()
    for asset in (*SCRIPTS, *STYLES):
        renderer.packaged_asset(asset)
    detached = {page: renderer.pages[page] for page in renderer.detached}
    navigable = {
        k: _spaced_cells(v) for k, v in renderer.pages.items() if k not in renderer.detached
    }
    for levels in {shell.depth(page) for page in detached}:
        navigable[shell.shell_page(levels)] = shell.shell_markdown()
    scripts = {rel: b for rel, b in renderer.assets.items() if _is_data(rel)}
    assets = {rel: b for rel, b in renderer.assets.items() if rel not in scripts}
    kept_scripts = {rel for rel in renderer.kept_assets if _is_data(rel)}
    docs_written, _ = _write_pages(docs, navigable, assets, renderer.kept_assets - kept_scripts)
    data_written, _ = _write_pages(workdir / "compare-data", {}, scripts, kept_scripts)
    config_file = workdir / "mkdocs.yml"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    # -P: the current folder (in the Pages job, the registry's checkout) is not put on
    # the import path, so no module of the repo's stands in for one mkdocs imports.
    args = [sys.executable, "-P", "-m", "mkdocs", "build", "--quiet", "-f", str(config_file)]
    if strict:
        args.append("--strict")
    proc = subprocess.run(
        args,
        capture_output=True,
        text=True,
        check=False,
        cwd=workdir,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise RegistryError(f"mkdocs build failed: {' | '.join(detail[-5:])}")
    # The theme's 404 page names its assets from the server's root: made relative, it
    # works under a project site's path and from file:// (``notfound.py``).
    missing = workdir / "mkdocs-site" / "404.html"
    if missing.is_file():
        text = missing.read_text(encoding="utf-8")
        missing.write_text(notfound.relative(text, config.get("site_url")), encoding="utf-8")
    _link_into(workdir / "compare-data", workdir / "mkdocs-site")
    published = shell.publish(
        workdir / "mkdocs-site",
        out,
        detached,
        renderer.searchable,
        config,
        workdir / f"published-{out_key}.json",
        kept=renderer.kept,
        entries=_search_entries(data),
        crumbs=crumbs,
    )
    tmp = reuse_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(renderer.reused))
    os.replace(tmp, reuse_file)
    return BuildReport(
        out,
        docs,
        len(renderer.pages),
        published.converted + docs_written + data_written,
        published.removed,
        time.monotonic() - started,
        have_dot,
        warnings,
        markdown=renderer.pages,
    )
