"""The kinds of page the site has, in the order a build renders them.

Adding a page kind is one ``PageKind`` here and its render function (see
``render.PageKind``); the page's template goes in ``site_templates/``.

>>> BY_NAME["version"].path.format("demo", "classifier", "2")
'artifacts/demo/classifier/v2.md'
"""

from __future__ import annotations

from registry_tool._site import artifact_pages as artifact
from registry_tool._site import lineage_pages
from registry_tool._site import nav_pages as nav
from registry_tool._site import run_pages as runs
from registry_tool._site.render import PageKind

PAGE_KINDS: tuple[PageKind, ...] = (
    PageKind("home", "index.md", "index.md.j2", nav.render_home, navigable=True),
    PageKind("registry", "registries/{0}.md", "registry.md.j2", nav.render_registries, navigable=True),
    # Made by ``render_registries`` with its registry's page, from the same rows.
    PageKind("registry_collection", "registries/{0}/{1}.md", "registry_collection.md.j2", None, searchable=True),
    PageKind("project", "artifacts/{0}/index.md", "project.md.j2", nav.render_projects, navigable=True),
    PageKind("artifacts", "artifacts/index.md", "artifacts.md.j2", nav.render_artifacts, navigable=True),
    PageKind("collection", "artifacts/{0}/{1}/index.md", "collection.md.j2", artifact.render_collections, searchable=True),
    PageKind("version", "artifacts/{0}/{1}/v{2}.md", "version.md.j2", artifact.render_versions),
    # Made by ``render_versions`` with their version's page, under its fingerprint.
    PageKind("files", "artifacts/{0}/{1}/v{2}-files-{3}.md", "files_page.md.j2", None),
    PageKind("table", "artifacts/{0}/{1}/v{2}-table-{3}.md", "table.md.j2", None),
    PageKind("lineage", "artifacts/{0}/{1}/v{2}-lineage.md", "lineage.md.j2", lineage_pages.render_lineage_pages),
    PageKind("run", "runs/{0}/{1}.md", "run.md.j2", runs.render_runs),
)  # fmt: skip

BY_NAME = {kind.name: kind for kind in PAGE_KINDS}


def path(kind: str, *parts: str) -> str:
    """Where a page of ``kind`` lives in the docs tree (``.md``)."""
    return BY_NAME[kind].path.format(*parts)
