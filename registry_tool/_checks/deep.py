"""``check --deep``: digests recomputed rather than read.

Every version's artifact digest is recomputed from its manifest entries and every
link's source digest from the version it links, across the whole tree or head commit,
not only the files a change touches.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from registry_tool._checks import rules
from registry_tool._checks.report import Problem
from registry_tool._checks.rules import Known, Parsed
from registry_tool._model import layout
from registry_tool._model.governance import LinkRecord
from registry_tool._model.manifest import artifact_digest
from registry_tool._model.records import VersionRecord
from registry_tool._store import RegistryStore, Snapshot
from registry_tool.errors import DocumentError, RegistryError


def deep_problems(store: RegistryStore, snap: Snapshot, *, checked: Set[str]) -> list[Problem]:
    """Every version's digest recomputed from its manifest, and every link's source
    digest against its source version, across the whole snapshot. Files in ``checked``
    were judged already (a diff's added files): only their link digests are added."""
    problems: list[Problem] = []
    versions: dict[str, VersionRecord] = {}
    links: dict[str, LinkRecord] = {}
    known = Known()
    for top in (layout.PROJECTS, layout.REGISTRIES):
        for path, _ in snap.walk_files(top):
            key = layout.parse(path)
            if key is None or key.kind not in ("version", "link"):
                continue
            try:
                doc = store.load(snap, path, key.schema)
            except DocumentError as exc:
                if path not in checked:
                    problems.append(Problem(exc.path, exc.field, exc.message))
                continue
            if doc is None:
                continue
            parsed = Parsed(path, key, doc, rules.record_of(key, doc))
            if isinstance(parsed.record, VersionRecord):
                versions[path] = parsed.record
                if key.version is not None:
                    known.add_version(*key.collection_key, key.version)
                if path not in checked:
                    problems += rules.manifest(parsed)
            elif isinstance(parsed.record, LinkRecord):
                links[path] = parsed.record
    for path, link in sorted(links.items()):
        version = versions.get(layout.version_file(link.project, link.name, link.source_version))
        if version is None:
            if path not in checked:
                problems += rules.link_source(path, link, known)
        elif path not in checked or version.digest == link.digest:
            # (an added link whose recorded digest differs was reported already)
            problems += link_digest(path, link, version)
    return problems


def link_digests(files: Mapping[str, Parsed]) -> list[Problem]:
    """Each link's recorded source digest against its source version's manifest,
    recomputed (``files``: every parsed file of a tree, by path)."""
    problems = []
    for path, parsed in sorted(files.items()):
        link = parsed.record
        if not isinstance(link, LinkRecord):
            continue
        source = files.get(layout.version_file(link.project, link.name, link.source_version))
        if source is not None and isinstance(source.record, VersionRecord):
            problems += link_digest(path, link, source.record)
    return problems


def link_digest(path: str, link: LinkRecord, version: VersionRecord) -> list[Problem]:
    """The link's recorded digest is its source version's, recomputed from the
    version's manifest."""
    try:
        digest = artifact_digest(version.entries)
    except RegistryError:
        return []  # the version's own check says what is wrong with its entries
    if digest == link.digest:
        return []
    return [
        Problem(
            path,
            "$.source.digest",
            f"is not the digest of {link.source_path} recomputed from its manifest",
        )
    ]
