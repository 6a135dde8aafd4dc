"""The pages people navigate to: home, a page per model registry (and one per registry
collection), the projects page and a page per project."""

from __future__ import annotations

from typing import Any

from registry_tool._fmt import short_digest
from registry_tool._model.governance import LinkRecord
from registry_tool._site import pages as p
from registry_tool._site import run_pages
from registry_tool._site.model import Collection
from registry_tool._site.render import Renderer


def _holder(r: Renderer, page: str, link: LinkRecord | None) -> dict[str, Any] | None:
    """A stage holder's cell: the registry version, its source and a link to it."""
    if link is None:
        return None
    href = r.href(page, "version", link.project, link.name, str(link.source_version))
    return {"version": link.version, "source": link.source_path, "href": href}


def render_home(r: Renderer) -> None:
    data = r.data
    page = r.path("home")
    all_stages: list[str] = []
    for registry in data.registries:
        all_stages += [s for s in registry.config.stages if s not in all_stages]
    rows = []
    for registry in data.registries:
        for collection in registry.collections:
            holders = [
                _holder(r, page, collection.holder(stage))
                if stage in registry.config.stages
                else None
                for stage in all_stages
            ]
            rows.append(
                {
                    "registry": registry.config.name,
                    "collection": collection.name,
                    "href": r.href(page, "registry", registry.config.name),
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
        "home",
        page,
        data=data,
        counts=counts,
        registries=rows,
        all_stages=all_stages,
        activity=data.activity,
    )


def render_registries(r: Renderer) -> None:
    """A page per model registry (its stage holders, collection by collection) and a
    page per registry collection (links and stage history), so no page grows with
    the number of collections times their history."""
    for registry in r.data.registries:
        name = registry.config.name
        page = r.path("registry", name)
        columns = list(registry.config.stages)
        rows = []
        for collection in registry.collections:
            here = r.path("registry_collection", name, collection.name)
            links = []
            for link in collection.links:
                held = {a for a, rec in collection.aliases.items() if rec.version == link.version}
                links.append(
                    {
                        "version": link.version,
                        "source": link.source_path,
                        "href": r.href(
                            here, "version", link.project, link.name, str(link.source_version)
                        ),
                        "digest": short_digest(link.digest),
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
            r.render(
                "registry_collection",
                here,
                registry=name,
                c=entry,
                columns=columns,
                registry_href=p.href(here, page),
            )
            holders = [_holder(r, page, collection.holder(stage)) for stage in columns]
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
            "registry",
            page,
            config=registry.config,
            collections=rows,
            columns=columns,
            description_html=p.safe_markdown(registry.config.description),
        )


def _by_project(r: Renderer) -> list[tuple[str, list[Collection]]]:
    """Every project with its collections; a project with runs and no artifacts yet has
    a page too (its runs)."""
    by_project: dict[str, list[Collection]] = {run.project: [] for run in r.data.runs.values()}
    for collection in r.data.collections.values():
        by_project.setdefault(collection.record.project, []).append(collection)
    return sorted(by_project.items())


def render_projects(r: Renderer) -> None:
    """A page per project listing its artifacts and its runs."""
    everything = r.path("artifacts")
    for project, collections in _by_project(r):
        page = r.path("project", project)
        items = []
        for c in sorted(collections, key=lambda c: c.record.name):
            latest = c.versions[-1] if c.versions else None
            items.append(
                {
                    "name": c.record.name,
                    "href": r.href(page, "collection", project, c.record.name),
                    "type": c.record.type,
                    "versions": len(c.versions),
                    "latest": latest.version if latest else None,
                    "latest_href": r.href(
                        page, "version", project, c.record.name, str(latest.version)
                    )
                    if latest
                    else None,
                    "aliases": c.aliases_of(latest.version) if latest else [],
                    "updated": latest.created_at if latest else c.record.created_at,
                }
            )
        runs, runs_total = run_pages.project_runs(r, page, project)
        r.render(
            "project",
            page,
            project=project,
            collections=items,
            runs=runs,
            runs_total=runs_total,
            all_href=p.href(page, everything),
        )


def render_artifacts(r: Renderer) -> None:
    """The page listing the projects (the nav lists them too, up to a limit)."""
    everything = r.path("artifacts")
    rows = [
        {
            "name": project,
            "href": r.href(everything, "project", project),
            "collections": len(collections),
            "versions": sum(len(c.versions) for c in collections),
        }
        for project, collections in _by_project(r)
    ]
    r.render("artifacts", everything, projects=rows)
