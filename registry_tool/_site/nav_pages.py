"""The pages people navigate to: home, a page per model registry (and one per registry
collection), the projects page and a page per project."""

from __future__ import annotations

from typing import Any

from registry_tool._engine.edits import merged
from registry_tool._model.gates import check_gates
from registry_tool._model.governance import LinkRecord
from registry_tool._site import pages as p
from registry_tool._site import run_pages
from registry_tool._site.model import Collection, Holding, ModelRegistry, RegistryCollection
from registry_tool._site.render import Renderer
from registry_tool._store.history import AliasEvent


def _holder(
    r: Renderer, page: str, collection: str, link: LinkRecord | None
) -> dict[str, Any] | None:
    """A stage holder's cell: the artifact version it is (``demo/classifier:v2``),
    linked to that version's page. The registry's own numbering (``classifier:v0``)
    goes in the title only: beside a project's versions a bare ``v0`` reads as the
    source's version, and two stages held by one version would seem to differ."""
    if link is None:
        return None
    href = r.href(page, "version", link.project, link.name, str(link.source_version))
    return {
        "name": link.source_path,
        "title": f"model-registry/{link.registry}/{collection}:v{link.version}",
        "href": href,
    }


def stage_context(r: Renderer, page: str, held: list[Holding]) -> list[dict[str, Any]]:
    """What a collection, project or version page says of the stages its versions
    hold: each ``registry/stage`` linked to the registry collection page that holds it,
    in the order ``SiteData.holdings`` gives (registry by registry, stages in order)."""
    return [
        {
            "registry": h.registry,
            "collection": h.collection,
            "stage": h.stage,
            "version": h.version,
            "source_version": h.source_version,
            "href": r.href(page, "registry_collection", h.registry, h.collection),
        }
        for h in held
    ]


def render_home(r: Renderer) -> None:
    """The home page: counts, each model registry with its own stages as columns in the
    registry's order (registries differ: one merged, alphabetical set of columns would
    put ``development`` after ``production``), and the recent writes."""
    data = r.data
    page = r.path("home")
    registries = []
    for registry in data.registries:
        name = registry.config.name
        stages = list(registry.config.stages)
        rows = [
            {
                "name": collection.name,
                "href": r.href(page, "registry_collection", name, collection.name),
                "holders": [
                    _holder(r, page, collection.name, collection.holder(stage)) for stage in stages
                ],
            }
            for collection in registry.collections
        ]
        registries.append(
            {
                "name": name,
                "href": r.href(page, "registry", name),
                "stages": stages,
                "collections": rows,
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
        registries=registries,
        activity=data.activity,
    )


def _verdict(
    r: Renderer,
    registry: ModelRegistry,
    collection: RegistryCollection,
    event: AliasEvent,
    before: list[AliasEvent],
) -> dict[str, Any]:
    """The gate verdict of one promotion: what its commit recorded when it is a
    promotion's (``promote`` writes each gate's result into the message), else the
    stage's gates judged now, as ``_promotion.stages.check_stage`` judges them, on the
    source version's metadata with its edits and the previous-stage rule on the history
    before the move. ``before`` is that history, oldest first."""
    recorded = r.data.recorded_gates.get(event.commit)
    if recorded is not None:
        lines = [(g.condition, g.passed, g.detail) for g in recorded]
        how = "recorded"
    else:
        lines = _judged_now(r, registry, collection, event, before)
        how = "judged now"
    if not lines:
        return {"label": "no gates", "passed": None, "how": how, "detail": ""}
    passed = all(ok for _, ok, _ in lines)
    detail = "; ".join(
        f"{condition}: {'pass' if ok else 'FAIL'}{f' ({why})' if why else ''}"
        for condition, ok, why in lines
    )
    return {"label": "pass" if passed else "FAIL", "passed": passed, "how": how, "detail": detail}


def _judged_now(
    r: Renderer,
    registry: ModelRegistry,
    collection: RegistryCollection,
    event: AliasEvent,
    before: list[AliasEvent],
) -> list[tuple[str, bool, str]]:
    """A stage's gates judged today for a move no promotion commit recorded (a stage
    given by ``link --alias``): each condition, then the previous-stage rule."""
    config = registry.config
    gate = config.gate(event.alias)
    link = next((k for k in collection.links if k.version == event.version), None)
    lines: list[tuple[str, bool, str]] = []
    if gate.conditions and link is not None and r.data.commit is not None:
        source = r.data.version(link.project, link.name, link.source_version)
        if source is not None:
            metadata = merged(r.ctx.store, r.snapshot, source).metadata
            lines += [
                (g.condition, g.passed, g.detail)
                for g in check_gates(list(gate.conditions), metadata)
            ]
    previous = config.previous_stage(event.alias) if gate.requires_previous_stage else None
    if previous is not None:
        held = any(e.alias == previous and e.version == event.version for e in before)
        lines.append((f"held {previous}", held, ""))
    return lines


def _history(
    r: Renderer, registry: ModelRegistry, collection: RegistryCollection
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """A registry collection's moves, newest first: the stage moves (with each one's
    gate verdict) apart from the other aliases' (``latest``, ``candidate``), and how
    many older moves were left out."""
    stages = registry.config.stages
    events = collection.history[-p.HISTORY_SHOWN :]
    skipped = len(collection.history) - len(events)
    stage_rows: list[dict[str, Any]] = []
    alias_rows: list[dict[str, Any]] = []
    for index, e in enumerate(events):
        row: dict[str, Any] = {
            "when": e.when,
            "alias": e.alias,
            "previous": "–" if e.previous is None else f"v{e.previous}",
            "version": "(removed)" if e.version is None else f"v{e.version}",
            "source": e.source or "",
            "author": e.author,
            "pull_request": e.pull_request,
            "pull_href": f"{r.data.pull_url}{e.pull_request}"
            if r.data.pull_url and e.pull_request
            else None,
            "reason": e.reason or "",
        }
        if e.alias in stages:
            row["verdict"] = (
                _verdict(r, registry, collection, e, collection.history[: skipped + index])
                if e.version is not None
                else None
            )
            stage_rows.append(row)
        else:
            alias_rows.append(row)
    return stage_rows[::-1], alias_rows[::-1], skipped


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
                        "digest": link.digest,
                        "stages": [s in held for s in columns],
                        "aliases": sorted(held - set(columns)),
                        "linked_at": link.linked_at,
                        "unlinked": link.version in collection.unlinked,
                    }
                )
            stage_moves, alias_moves, older = _history(r, registry, collection)
            entry = {
                "name": collection.name,
                "links": links,
                "stage_moves": stage_moves,
                "alias_moves": alias_moves,
                "older": older,
                "shown": len(stage_moves) + len(alias_moves),
            }
            r.render(
                "registry_collection",
                here,
                registry=name,
                c=entry,
                columns=columns,
                registry_href=p.href(here, page),
            )
            holders = [
                _holder(r, page, collection.name, collection.holder(stage)) for stage in columns
            ]
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
                    "stages": stage_context(r, page, r.data.holdings(project, c.record.name)),
                    "updated": latest.created_at if latest else c.record.created_at,
                }
            )
        runs, runs_total = run_pages.project_runs(r, page, project)
        r.render(
            "project",
            page,
            project=project,
            collections=items,
            staged=any(item["stages"] for item in items),
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
