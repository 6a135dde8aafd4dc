"""Pages of artifacts, out of the nav and one per collection or version: a collection's
page, and a version's page with its files pages and table pages (a run's page is in
``run_pages.py``).

A version shows what readers see of it: the logged values with its edits applied
(``_engine/edits.py``); a metadata key an edit set or removed is marked as edited, and
the tags an edit gave are shown beside the aliases.

A version's pages are rendered again only when something they show changed
since the last build into the same OUT: their inputs are hashed into a fingerprint, and
with the last build's fingerprint they stay as they are (``Renderer.unchanged``).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from registry_tool._engine.edits import merged
from registry_tool._fmt import human_size, short_digest
from registry_tool._model.edits import Merged
from registry_tool._model.manifest import Entry
from registry_tool._model.records import VersionRecord
from registry_tool._site import lineage as lineage_mod
from registry_tool._site import pages as p
from registry_tool._site.render import Renderer
from registry_tool._store import Snapshot
from registry_tool.errors import RegistryError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


def render_collections(r: Renderer) -> None:
    """A page per collection: its newest versions, their metadata compared, charts."""
    for collection in r.data.collections.values():
        record = collection.record
        page = r.path("collection", record.project, record.name)
        shown = collection.versions[-p.VERSIONS_SHOWN :]
        compared = shown[-p.METADATA_COLUMNS :]
        versions = []
        for v in shown:
            versions.append(
                {
                    "version": v.version,
                    "href": r.href(page, "version", v.project, v.name, str(v.version)),
                    "aliases": collection.aliases_of(v.version),
                    "digest": short_digest(v.digest),
                    "size": human_size(v.size),
                    "files": len(v.entries),
                    "created_at": v.created_at,
                    "run": v.run,
                    "run_href": r.href(page, "run", v.project, v.run)
                    if v.run and f"{v.project}/{v.run}" in r.data.runs
                    else None,
                    "metadata": _shown(r, v).metadata,
                    "deleted": v.deleted is not None,
                }
            )
        keys = sorted({k for v in compared for k in _shown(r, v).metadata})
        charts = [(k, p.sparkline(points)) for k, points in p.numeric_series(shown).items()]
        r.render(
            "collection",
            page,
            record=record,
            versions=versions,
            total=len(collection.versions),
            compared=versions[-len(compared) :] if compared else [],
            metadata_keys=keys,
            charts=charts,
            description_html=p.safe_markdown(record.description),
        )


def render_versions(r: Renderer) -> None:
    """A page per version, with its files and table pages (``_version``)."""
    for collection in r.data.collections.values():
        previous = None
        for v in collection.versions:
            _version(r, collection.aliases_of(v.version), v, previous)
            previous = v


def _version(
    r: Renderer, aliases: list[str], v: VersionRecord, previous: VersionRecord | None
) -> None:
    """A version's page, its files pages and table pages, or, when nothing they show
    changed since the last build, none of them (they stay as they are in OUT)."""
    page = r.path("version", v.project, v.name, str(v.version))
    around = r.around(lineage_mod.version_key(v.project, v.name, v.version))
    producer = r.data.runs.get(f"{v.project}/{v.run}") if v.run else None
    consumers = r.data.consumers(v.project, v.name, v.version)
    stages = r.data.stages_of(v.project, v.name, v.version)
    shown = _shown(r, v)
    # A version file never changes but for its delete mark, so its path, digest and
    # time stand for all of it (and the previous version's for the diff); its edits
    # are what it shows on top.
    inputs = [
        [shown.description, shown.metadata, shown.tags, shown.ttl, sorted(shown.edited)],
        r.fingerprint_base,
        [v.project, v.name, v.version, v.digest, v.created_at],
        v.deleted.to_doc() if v.deleted else None,
        [previous.version, previous.digest, previous.created_at] if previous else None,
        aliases,
        stages,
        [producer.id, producer.job_type] if producer else None,
        [c.id for c in consumers],
        around.shape(),
    ]
    fingerprint = hashlib.sha256(json.dumps(inputs, default=str).encode()).hexdigest()
    if r.unchanged(page, fingerprint):
        return
    dot = around.to_dot()
    r.group, r.group_assets = [], set()
    version = str(v.version)
    entries = [
        {
            "path": e.path,
            "size": human_size(e.size),
            "digest": short_digest(e.digest) if e.digest.startswith("sha256:") else e.digest,
            "ref": e.ref or "",
        }
        for e in v.entries
    ]
    chunks = [
        entries[i : i + p.FILES_PER_PAGE] for i in range(0, len(entries), p.FILES_PER_PAGE)
    ] or [[]]
    files_pages = [page] + [
        r.path("files", v.project, v.name, version, str(n)) for n in range(2, len(chunks) + 1)
    ]
    tables = []
    for entry in v.entries:
        if entry.path.endswith(".table.json") and entry.ref is None:
            name = entry.path.removesuffix(".table.json")
            slug = hashlib.sha256(entry.path.encode()).hexdigest()[:10]
            table_page = r.path("table", v.project, v.name, version, slug)
            tables.append({"name": name, "href": p.href(page, table_page)})
            _table(r, v, entry, name, table_page, page)
    lineage = r.lineage_marker(page, around, dot)
    r.render(
        "version",
        page,
        record=v,
        size=human_size(v.size),
        aliases=aliases,
        stages=stages,
        collection_href=r.href(page, "collection", v.project, v.name),
        previous_href=r.href(page, "version", v.project, v.name, str(previous.version))
        if previous is not None
        else None,
        description_html=p.safe_markdown(shown.description),
        metadata=shown.metadata,
        edited=sorted(shown.edited),
        removed=sorted(shown.edited - set(shown.metadata)),
        tags=list(shown.tags),
        description_edited="description" in shown.changed,
        lineage=lineage,
        producer={
            "id": producer.id,
            "job": producer.job_type or "run",
            "href": r.href(page, "run", producer.project, producer.id),
        }
        if producer
        else None,
        consumers=[{"id": c.id, "href": r.href(page, "run", c.project, c.id)} for c in consumers],
        tables=tables,
        diff=p.diff(previous, v),
        files=chunks[0],
        pages=_pager(page, files_pages),
        page=1,
    )
    for n, chunk in enumerate(chunks[1:], start=2):
        files_page = files_pages[n - 1]
        r.render(
            "files",
            files_page,
            record=v,
            version_href=p.href(files_page, page),
            files=chunk,
            pages=_pager(files_page, files_pages),
            page=n,
        )
    r.reused[page] = [fingerprint, r.group, sorted(r.group_assets)]
    r.group = None


def _shown(r: Renderer, v: VersionRecord) -> Merged:
    """What ``v`` shows on the commit the site is built from: its edits applied."""
    assert r.data.commit is not None  # a registry with versions has a commit
    return merged(r.ctx.store, Snapshot(r.ctx.store.git, r.data.commit), v)


def _pager(here: str, files_pages: list[str]) -> list[dict[str, Any]]:
    """Links from ``here`` to each page of a version's file list, numbered from 1."""
    return [
        {"number": n, "href": p.href(here, target)} for n, target in enumerate(files_pages, start=1)
    ]


def _table(
    r: Renderer, v: VersionRecord, entry: Entry, name: str, page: str, version_page: str
) -> None:
    """An artifact Table's page: its first rows, its images as thumbnails (copied into
    the site's assets by digest)."""
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
        if ext not in IMAGE_SUFFIXES:
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
    r.render(
        "table",
        page,
        record=v,
        name=name,
        version_href=p.href(page, version_page),
        table=p.table_html(doc if isinstance(doc, dict) else {}, image_src),
        shown=min(len(rows), p.TABLE_ROWS),
        total=len(rows),
    )
