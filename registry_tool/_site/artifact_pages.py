"""Pages of artifacts, out of the nav and one per collection or version: a collection's
page, and a version's page with its files pages and table pages (a run's page is in
``run_pages.py``).

A version shows what readers see of it: the logged values with its edits applied
(``_engine/edits.py``); a metadata key an edit set or removed is marked as edited, and
the tags an edit gave are shown beside the aliases.

A version's pages are rendered again only when something they show changed
since the last build into the same OUT: their inputs are hashed into a fingerprint, and
with the last build's fingerprint they stay as they are (``Renderer.unchanged``).

A version's page also compares it with any other version of its collection, in the
reader's browser (``COMPARE_SCRIPT``): beside the page, its data script (its files and
metadata, ``compare.manifest``) is one of the page's group, written and kept with it;
beside the collection's versions, one small script lists them, made every build.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import partial
from typing import Any

from markupsafe import escape

from registry_tool._engine.edits import merged
from registry_tool._fmt import human_size, short_digest
from registry_tool._model.edits import Merged
from registry_tool._model.manifest import Entry
from registry_tool._model.records import VersionRecord
from registry_tool._site import compare
from registry_tool._site import lineage as lineage_mod
from registry_tool._site import nav_pages as nav
from registry_tool._site import pages as p
from registry_tool._site.render import Renderer
from registry_tool.errors import RegistryError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
TABLES_SCRIPT = "assets/registry-tool-tables.js"  # sorts and filters a page's tables
COMPARE_SCRIPT = "assets/registry-tool-compare.js"  # compares with any other version
FILE_COLUMNS = ("size", "digest", "ref")  # beside the path, each shown when a file has one
PREVIEW_ROWS = 5  # rows of a version's first table shown on its page
# A collection page's Markdown past which a cut metadata value has no tooltip of its
# whole text: the theme's shell adds 15-25 KB, and a page stays under 100 KB.
COLLECTION_MARKDOWN = 75_000
_TITLE_MARKUP = len('<span class="rt-trunc" title=""></span>')


def render_collections(r: Renderer) -> None:
    """A page per collection: its newest versions, newest first; their metadata
    compared, a row per version and a column per flattened key; a chart per numeric
    key. The tables sort and filter with a small script (``TABLES_SCRIPT``) and read
    the same without it."""
    if r.data.collections:
        r.packaged_asset(TABLES_SCRIPT)
    for collection in r.data.collections.values():
        record = collection.record
        page = r.path("collection", record.project, record.name)
        shown = collection.versions[-p.VERSIONS_SHOWN :]
        metadata = {v.version: _shown(r, v).metadata for v in shown}
        versions = []
        for i in range(len(shown) - 1, -1, -1):
            v = shown[i]
            before = (
                shown[i - 1]
                if i
                else _before(collection.versions, len(collection.versions) - len(shown))
            )
            versions.append(
                {
                    "version": v.version,
                    "href": r.href(page, "version", v.project, v.name, str(v.version)),
                    "aliases": collection.aliases_of(v.version),
                    "digest": short_digest(v.digest),
                    "digest_full": v.digest,
                    "size": human_size(v.size),
                    "bytes": v.size if v.size is not None else -1,
                    "files": len(v.entries),
                    "created_at": v.created_at,
                    "run": v.run,
                    "run_href": r.href(page, "run", v.project, v.run)
                    if v.run and f"{v.project}/{v.run}" in r.data.runs
                    else None,
                    "deleted": v.deleted is not None,
                    "diff": compare.diff(before, v) if before is not None else None,
                    "holdings": nav.stage_context(
                        r, page, r.data.holdings(v.project, v.name, v.version)
                    ),
                }
            )
        newest = list(reversed(shown))[: p.METADATA_COLUMNS]
        compared = [(v.version, metadata[v.version]) for v in newest]
        keys, rows, all_keys = compare.metadata_rows(compared)
        series = compare.numeric_series([(v.version, metadata[v.version]) for v in shown])
        charts = [
            (key, compare.version_chart(key, points))
            for key, points in list(series.items())[: compare.COLLECTION_CHARTS]
        ]
        context = {
            "record": record,
            "versions": versions,
            "total": len(collection.versions),
            "metadata_keys": keys,
            "metadata_rows": rows,
            "all_keys": all_keys,
            "charts": charts,
            "all_charts": len(series),
            "description_html": p.safe_markdown(record.description),
            "tables_script": p.asset_href(page, TABLES_SCRIPT),
        }
        r.render("collection", page, **context)
        if _fit_titles(rows, len(r.pages[page].encode())):
            r.render("collection", page, **context)


def _fit_titles(rows: list[dict[str, Any]], size: int) -> bool:
    """Keep the tooltips of cut metadata values (newest rows first) only while a
    collection page of ``size`` bytes of Markdown with all of them would stay within
    ``COLLECTION_MARKDOWN``; whether any was dropped (the page is rendered again)."""
    if size <= COLLECTION_MARKDOWN:
        return False
    titled = [cell for row in rows for cell in row["cells"] if cell["title"] is not None]
    costs = [len(str(escape(cell["title"])).encode()) + _TITLE_MARKUP for cell in titled]
    room = COLLECTION_MARKDOWN - (size - sum(costs))
    for cell, cost in zip(titled, costs, strict=True):
        room -= cost
        if room < 0:
            cell["title"] = None
    return bool(titled)


def _before(versions: list[VersionRecord], index: int) -> VersionRecord | None:
    """The version before the first one a collection's page lists, if any."""
    return versions[index - 1] if index > 0 else None


def render_versions(r: Renderer) -> None:
    """A page per version, with its files and table pages (``_version``)."""
    links = _links(r)
    predecessors = compare.stage_predecessors(r.data)
    if r.data.collections:
        r.packaged_asset(COMPARE_SCRIPT)
    for collection in r.data.collections.values():
        record = collection.record
        folder = r.path("collection", record.project, record.name).rsplit("/", 1)[0]
        listed = [
            [
                v.version,
                compare.version_label(
                    collection.aliases_of(v.version),
                    r.data.stages_of(v.project, v.name, v.version),
                    deleted=v.deleted is not None,
                ),
            ]
            for v in reversed(collection.versions)
        ]
        r.assets[f"{folder}/{compare.VERSIONS_SCRIPT}"] = compare.data_script(
            "versions", {"versions": listed}
        )
        previous = None
        for v in collection.versions:
            linked = links.get((v.project, v.name, v.version), [])
            held_before = predecessors.get((v.project, v.name, v.version), [])
            _version(r, collection.aliases_of(v.version), v, previous, linked, held_before)
            previous = v


def _version(
    r: Renderer,
    aliases: list[str],
    v: VersionRecord,
    previous: VersionRecord | None,
    linked: list[str],
    held_before: list[tuple[str, int]],
) -> None:
    """A version's page, its files pages and table pages, or, when nothing they show
    changed since the last build, none of them (they stay as they are in OUT)."""
    page = r.path("version", v.project, v.name, str(v.version))
    around = r.around(lineage_mod.version_key(v.project, v.name, v.version))
    producer = r.data.runs.get(f"{v.project}/{v.run}") if v.run else None
    consumers = r.data.consumers(v.project, v.name, v.version)
    stages = r.data.stages_of(v.project, v.name, v.version)
    held = r.data.holdings(v.project, v.name, v.version)
    before_stage = [
        (stage, r.data.version(v.project, v.name, number)) for stage, number in held_before
    ]
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
        linked,
        [(h.registry, h.collection, h.stage, h.version) for h in held],
        [(stage, b.version, b.digest) for stage, b in before_stage if b is not None],
    ]
    fingerprint = hashlib.sha256(json.dumps(inputs, default=str).encode()).hexdigest()
    if r.unchanged(page, fingerprint):
        return
    dot = around.to_dot()
    r.group, r.group_assets = [], set()
    version = str(v.version)
    data = page.removesuffix(".md") + compare.MANIFEST_SUFFIX
    r.assets[data] = compare.data_script(f"v{version}", compare.manifest(v, p.MAX_TEXT))
    r.group_assets.add(data)
    entries = [
        {
            "path": e.path,
            "name": e.path.rsplit("/", 1)[-1],
            "size": human_size(e.size),
            "digest": short_digest(e.digest) if e.digest.startswith("sha256:") else e.digest,
            "ref": e.ref or "",
        }
        for e in v.entries
    ]
    # A column every file leaves empty (no file by reference, say) is not shown.
    columns = [c for c in FILE_COLUMNS if any(e[c] for e in entries)]
    chunks = [
        entries[i : i + p.FILES_PER_PAGE] for i in range(0, len(entries), p.FILES_PER_PAGE)
    ] or [[]]
    files_pages = [page] + [
        r.path("files", v.project, v.name, version, str(n)) for n in range(2, len(chunks) + 1)
    ]
    tables = []
    preview = None
    for entry in v.entries:
        if entry.path.endswith(".table.json") and entry.ref is None:
            name = entry.path.removesuffix(".table.json")
            slug = hashlib.sha256(entry.path.encode()).hexdigest()[:10]
            table_page = r.path("table", v.project, v.name, version, slug)
            tables.append({"name": name, "href": p.href(page, table_page)})
            shown_rows = _table(r, v, entry, name, table_page, page)
            if preview is None and shown_rows is not None:
                preview = {**shown_rows, "name": name, "href": tables[-1]["href"]}
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
        holdings=nav.stage_context(r, page, held),
        stage_diffs=[
            {
                "stage": stage,
                "href": r.href(page, "version", v.project, v.name, str(b.version)),
                "diff": compare.diff(b, v),
            }
            for stage, b in before_stage
            if b is not None
        ],
        files=_tree(chunks[0]),
        columns=columns,
        pages=_pager(page, files_pages),
        page=1,
        usage=_usage(v, linked),
        preview=preview,
        compare_any={
            "version": v.version,
            "list": compare.VERSIONS_SCRIPT,
            "manifest": r.path("version", v.project, v.name, "{n}")
            .rsplit("/", 1)[1]
            .removesuffix(".md")
            + compare.MANIFEST_SUFFIX,
            "script": p.asset_href(page, COMPARE_SCRIPT),
        },
    )
    for n, chunk in enumerate(chunks[1:], start=2):
        files_page = files_pages[n - 1]
        r.render(
            "files",
            files_page,
            record=v,
            version_href=p.href(files_page, page),
            files=_tree(chunk),
            columns=columns,
            pages=_pager(files_page, files_pages),
            page=n,
        )
    r.reused[page] = [fingerprint, r.group, sorted(r.group_assets)]
    r.group = None


def _shown(r: Renderer, v: VersionRecord) -> Merged:
    """What ``v`` shows on the commit the site is built from: its edits applied."""
    assert r.data.commit is not None  # a registry with versions has a commit
    return merged(r.ctx.store, r.snapshot, v)


def _links(r: Renderer) -> dict[tuple[str, str, int], list[str]]:
    """Each linked source version's model-registry paths
    (``model-registry/prod/classifier:v0``): a registry's users fetch it by them."""
    links: dict[tuple[str, str, int], list[str]] = {}
    for registry in r.data.registries:
        for collection in registry.collections:
            for link in collection.links:
                if link.version not in collection.unlinked:
                    links.setdefault((link.project, link.name, link.source_version), []).append(
                        f"model-registry/{link.registry}/{link.collection}:v{link.version}"
                    )
    return {key: sorted(paths) for key, paths in links.items()}


def _usage(v: VersionRecord, linked: list[str]) -> list[dict[str, str]]:
    """What a user pastes to fetch ``v``: the Python and the command line, by its own
    path and by each registry path it is ``linked`` as. Names follow the grammar (no
    quote or space), so the paths go into the snippets as they are."""
    usage = []
    for path in [f"{v.project}/{v.name}:v{v.version}", *linked]:
        usage.append(
            {
                "label": "Python",
                "code": "import registry_tool as wandb\napi = wandb.Api()\n"
                f'path = api.artifact("{path}").download()',
            }
        )
        usage.append({"label": "Command line", "code": f"registry-tool get {path}"})
    return usage


def _tree(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A page of files as folders: each folder its own files and its subfolders, in the
    order the files come; a file is shown by its name inside its folder, and a folder
    carries its path, from which the filter knows each file's. A folder holding only
    one folder is shown as one with it (``a/b/c/``), as GitHub does, so a deep path
    does not nest boxes."""
    root: dict[str, Any] = {"name": "", "path": "", "files": [], "folders": {}, "count": 0}
    for entry in entries:
        node = root
        node["count"] += 1
        for part in entry["path"].split("/")[:-1]:
            folder = f"{node['path']}/{part}" if node["path"] else part
            node = node["folders"].setdefault(
                part, {"name": part, "path": folder, "files": [], "folders": {}, "count": 0}
            )
            node["count"] += 1
        node["files"].append(entry)

    def listed(node: dict[str, Any]) -> dict[str, Any]:
        name = node["name"]
        while node is not root and not node["files"] and len(node["folders"]) == 1:
            node = next(iter(node["folders"].values()))
            name += "/" + node["name"]
        folders = [listed(f) for f in node["folders"].values()]
        return {**node, "name": name, "folders": folders}

    return listed(root)


def _pager(here: str, files_pages: list[str]) -> list[dict[str, Any]]:
    """Links from ``here`` to each page of a version's file list, numbered from 1."""
    return [
        {"number": n, "href": p.href(here, target)} for n, target in enumerate(files_pages, start=1)
    ]


def _table(
    r: Renderer, v: VersionRecord, entry: Entry, name: str, page: str, version_page: str
) -> dict[str, Any] | None:
    """An artifact Table's page: its first rows, its images as thumbnails (copied into
    the site's assets by digest). Returns the preview the version's page shows (its
    first ``PREVIEW_ROWS`` rows, images linked from the version's page), or None when
    the table cannot be read."""
    try:
        doc: Any = json.loads(r.ctx.read_blob(entry.digest))
    except (RegistryError, ValueError):
        return None
    by_path = {e.path: e for e in v.entries}

    def image_src(from_page: str, cell: dict[str, Any]) -> str | None:
        """Where ``from_page`` finds the image of an Image cell, copied into assets."""
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
        relative: str = p.href(from_page, asset.removesuffix(ext) + ".md")
        return relative.removesuffix(".html") + ext

    rows = doc.get("data", []) if isinstance(doc, dict) else []
    r.render(
        "table",
        page,
        record=v,
        name=name,
        version_href=p.href(page, version_page),
        table=p.table_html(doc if isinstance(doc, dict) else {}, partial(image_src, page)),
        shown=min(len(rows), p.TABLE_ROWS),
        total=len(rows),
    )
    if not isinstance(doc, dict):
        return None
    return {
        "html": p.table_html(
            {**doc, "data": rows[:PREVIEW_ROWS]}, partial(image_src, version_page)
        ),
        "shown": min(len(rows), PREVIEW_ROWS),
        "total": len(rows),
    }
