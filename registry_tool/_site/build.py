"""``registry-tool site build``: Markdown pages from Jinja2 templates, then mkdocs.

Each kind of page (``kinds.PAGE_KINDS``) renders its pages into a ``Renderer``. mkdocs
builds the navigable pages only: home, registries, projects (the nav lists the projects
up to ``NAV_PROJECTS``, then only a page of them, so the nav every page carries stays
small). Collection, version, files, run and table pages, one per version and per run,
are set into the theme's own HTML by ``site.shell`` and converted again only when their
Markdown changes; collection pages are added to the search index, the rest stay out of
it. Lineage SVG is cached by DOT source.
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

from registry_tool._engine import Context
from registry_tool._resources import data_path
from registry_tool._site import config as site_config
from registry_tool._site import kinds, shell
from registry_tool._site import lineage as lineage_mod
from registry_tool._site.load import load
from registry_tool._site.model import SiteData
from registry_tool._site.render import Renderer, environment, fingerprint_base, registry_path
from registry_tool._store.paths import cache_home
from registry_tool.errors import RegistryError

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
    detached = {page: renderer.pages[page] for page in renderer.detached}
    navigable = {k: v for k, v in renderer.pages.items() if k not in renderer.detached}
    for levels in {shell.depth(page) for page in detached}:
        navigable[shell.shell_page(levels)] = shell.shell_markdown()
    docs_written, _ = _write_pages(docs, navigable, renderer.assets, renderer.kept_assets)
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
