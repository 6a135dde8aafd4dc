"""``check --base/--head``: the change a pull request would merge, judged by rules.

Every changed file gets the rules of ``rules`` (against the head commit); on top, a
change must keep versions and links immutable, move protected aliases only by pull
request, move a stage alias only to a link that meets its gates, and never change a
registry's gates in the change that moves one of its protected aliases.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterable
from functools import partial

from registry_tool import _schemas as schemas
from registry_tool import _yamlio as yamlio
from registry_tool._checks import promotions, rules
from registry_tool._checks.deep import deep_problems
from registry_tool._checks.owners import owner_problems
from registry_tool._checks.promotions import ArrivedByPr
from registry_tool._checks.report import CheckReport, Problem
from registry_tool._engine.context import Context
from registry_tool._model import codeowners, layout
from registry_tool._model.governance import LinkRecord
from registry_tool._model.layout import REGISTRY_FILE, Key
from registry_tool._model.names import fold, parse_version
from registry_tool._model.records import AliasRecord, VersionRecord
from registry_tool._site import config as site_config
from registry_tool._store import RegistryStore, Snapshot, registries
from registry_tool.errors import DocumentError, NotFoundError

_OURS = (f"{layout.PROJECTS}/", f"{layout.REGISTRIES}/")


class _Head:
    """``rules.Facts`` from the head commit of the change."""

    def __init__(self, ctx: Context, snap: Snapshot) -> None:
        self.ctx, self.snap = ctx, snap

    def has_version(self, project: str, name: str, number: int) -> bool:
        return self.snap.exists(layout.version_file(project, name, number))

    def is_deleted(self, project: str, name: str, number: int) -> bool:
        try:
            version = self.ctx.store.read_version(self.snap, project, name, number)
        except DocumentError:
            return False  # it exists; its own problems are reported where it changed
        return version is not None and version.deleted is not None

    def has_link(self, registry: str, collection: str, number: int) -> bool:
        return (
            registries.read_link(self.ctx.store, self.snap, registry, collection, number)
            is not None
        )


def is_pull_request(store: RegistryStore, head_commit: str, main_branch: str) -> bool:
    """Whether the change under check arrives by pull request, when nothing more precise
    is known (``check --ci`` knows: see ``registry_tool._checks.ci``): in GitHub
    Actions, the event says so; elsewhere, any head other than the tip of the main
    branch is one."""
    event = os.environ.get("GITHUB_EVENT_NAME")
    if event:
        return event in ("pull_request", "merge_group")
    return store.git.rev_parse(f"refs/heads/{main_branch}") != head_commit


def check_diff(
    store: RegistryStore,
    base: str,
    head: str = "HEAD",
    *,
    main_branch: str = "main",
    verify_blobs: Callable[[list[str]], list[str]] | None = None,
    deep: bool = False,
    arrived_by_pr: ArrivedByPr | None = None,
) -> CheckReport:
    """Judge the change from ``base`` to ``head`` (what a pull request would merge).

    Every changed file must be valid; versions and links are immutable (a version may
    only gain the soft-delete marker ``deleted``); an alias must name a version or link
    that exists; a stage alias must meet its gates and order; a protected alias may
    change only by pull request, and never in the same change as its registry's gates
    or protection (see ``registry_tool._checks``); a registry.yaml holds no credentials;
    with ``verify_blobs``, every blob an added version names must be in storage; with
    ``deep``, every version and link of ``head`` has its digest recomputed.
    """
    base_commit = store.git.rev_parse(base)
    head_commit = store.git.rev_parse(head)
    if base_commit is None or head_commit is None:
        missing = base if base_commit is None else head
        raise NotFoundError(f"no commit {missing!r} in {store.root}")
    merge_base = store.git.out("merge-base", base_commit, head_commit, check=False) or base_commit
    snap = Snapshot(store.git, head_commit)
    base_snap = Snapshot(store.git, merge_base)
    ctx = Context(store)
    facts = _Head(ctx, snap)
    problems: list[Problem] = []
    changes = _changes(store, merge_base, head_commit)
    if arrived_by_pr is None:
        from_pr = is_pull_request(store, head_commit, main_branch)
        arrived_by_pr = lambda _path: from_pr  # noqa: E731
    added_blobs: dict[str, str] = {}
    for status, path in changes:
        if path in (site_config.FILE, site_config.TEMPLATES) or path.startswith(
            f"{site_config.TEMPLATES}/"
        ):
            problems += _site_file(snap, status, path)
            continue
        if path != REGISTRY_FILE and not path.startswith(_OURS):
            continue
        tree_entry = snap.entry(path) if status != "D" else None
        if tree_entry is not None and not tree_entry.is_file:
            problems.append(Problem(path, "$", rules.NOT_REGULAR))
            continue
        key = layout.parse(path)
        if key is None:
            if status != "D":
                problems.append(Problem(path, "$", rules.NOT_OURS))
            continue
        if key.kind in ("version", "link", "edit") and status in ("M", "D"):
            problems += _immutable(base_snap, snap, key, path, status)
            continue
        if status == "D":
            if key.kind == "registry-alias":
                problems += promotions.stage_removed(ctx, base_snap, snap, path, key, arrived_by_pr)
            continue
        parsed, found = rules.parse_file(path, key, snap.read(path) or b"")
        problems += found
        if parsed is None:
            continue
        problems += rules.own(parsed)
        record = parsed.record
        if isinstance(record, VersionRecord):
            for entry in record.entries:
                if entry.ref is None and entry.digest.startswith("sha256:"):
                    added_blobs[entry.digest[7:]] = path
        elif isinstance(record, AliasRecord) and key.in_registry:
            problems += promotions.stage_move(
                ctx, base_snap, snap, facts, parsed, record, arrived_by_pr
            )
            continue
        problems += rules.references(parsed, facts)
        if isinstance(record, LinkRecord):
            problems += _recorded_digest(store, snap, path, record)
            problems += promotions.link_type(ctx, snap, path, record)
    problems += _case_collisions(
        base_snap, snap, [p for s, p in changes if s == "A" and p.startswith(_OURS)]
    )
    added = [p for s, p in changes if s == "A" and layout.kind_for_path(p) in ("version", "link")]
    problems += _numbering(snap, added)
    problems += promotions.gates_moved_with_promotion(base_snap, snap, changes)
    problems += promotions.holders_taken_down(ctx, snap, changes)
    problems += promotions.holders_under_new_policy(ctx, snap, changes)
    problems += promotions.storage_alone(base_snap, snap, changes)
    problems += _owners(ctx, snap, changes)
    if deep:
        problems += deep_problems(store, snap, checked=set(added))
    if verify_blobs is not None and added_blobs:
        for digest in verify_blobs(sorted(added_blobs)):
            problems.append(
                Problem(
                    added_blobs[digest],
                    "$.entries",
                    f"blob sha256:{digest} is not in storage with that digest",
                )
            )
    return CheckReport(files=len(changes), problems=problems)


def _owners(ctx: Context, snap: Snapshot, changes: list[tuple[str, str]]) -> list[Problem]:
    """A change to a model registry's config, to CODEOWNERS or to ``.github/`` leaves
    CODEOWNERS covering what governs the registry (see ``owners``)."""
    relevant = any(
        path.startswith(f"{codeowners.GITHUB}/")
        or path in codeowners.LOCATIONS
        or layout.kind_for_path(path) == "model-registry"
        for _, path in changes
    )
    if not relevant:
        return []
    configs = []
    for name in registries.names(snap):
        try:
            config = registries.read_config(ctx.store, snap, name)
        except DocumentError:
            continue  # reported where it is checked as a file
        if config is not None:
            configs.append(config)
    # (a snapshot reads only regular files: a linked CODEOWNERS is read as none)
    return owner_problems(snap.read, bool(snap.listdir(codeowners.GITHUB)), configs)


def _site_file(snap: Snapshot, status: str, path: str) -> list[Problem]:
    """The site's own files a change brings: regular files (a link would publish what it
    points at), and an ``mkdocs.yml`` within what the site build allows."""
    if status == "D":
        return []
    entry = snap.entry(path)
    if entry is not None and not entry.is_file:
        return [Problem(path, "$", rules.NOT_REGULAR)]
    if path != site_config.FILE:
        return []
    try:
        doc = yamlio.loads(snap.read(path) or b"", path)
        if not isinstance(doc, dict):
            return [Problem(path, "$", "must be a mapping of mkdocs settings")]
        site_config.check(doc, path)
    except DocumentError as exc:
        return [Problem(exc.path, exc.field, exc.message)]
    return []


def _changes(store: RegistryStore, base: str, head: str) -> list[tuple[str, str]]:
    """(status letter, path) of every file changed from ``base`` to ``head``."""
    proc = store.git.run("diff", "--name-status", "--no-renames", "-z", base, head)
    fields = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    return [(fields[i][0], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]


# -- versions and links are immutable --------------------------------------------------


def _immutable(base: Snapshot, head: Snapshot, key: Key, path: str, status: str) -> list[Problem]:
    """A version, link or edit file modified (M) or deleted (D): refused, unless a
    version only gains the soft-delete mark. (An edit is a record of who changed what:
    a later change is a new edit, never a rewrite of one.)"""
    if key.kind == "version" and status == "M":
        found = _version_change(base, head, path)
        if found is not None:
            return found
    what = "modified" if status == "M" else "deleted"
    return [Problem(path, "$", f"{key.kind}s are immutable: this file was {what}")]


def _version_change(base: Snapshot, head: Snapshot, path: str) -> list[Problem] | None:
    """The problems of a modified version file that only gains the soft-delete marker
    ``deleted`` (its other fields equal once parsed); None for any other change."""
    try:
        old = yamlio.loads(base.read(path) or b"", path)
        new = yamlio.loads(head.read(path) or b"", path)
    except DocumentError:
        return None
    if not isinstance(old, dict) or not isinstance(new, dict):
        return None
    if "deleted" not in new:
        return None
    # (a base that has the mark already never equals a head without it)
    if {k: v for k, v in new.items() if k != "deleted"} != old:
        return None
    try:
        schemas.validate(new, "version", path)
    except DocumentError as exc:
        return [Problem(exc.path, exc.field, exc.message)]
    return []


# -- links and numbering ---------------------------------------------------------------


def _recorded_digest(
    store: RegistryStore, snap: Snapshot, path: str, link: LinkRecord
) -> list[Problem]:
    """An added link records its source version's digest (as that version records it;
    ``--deep`` recomputes it from the manifest). A source that does not parse has its
    own problem where that file is checked, and no digest to compare."""
    try:
        digest = store.version_digest(snap, link.project, link.name, link.source_version)
    except DocumentError:
        return []
    if digest is None or digest == link.digest:
        return []
    return [Problem(path, "$.source.digest", f"does not match the digest of {link.source_path}")]


def _numbering(snap: Snapshot, added: Iterable[str]) -> list[Problem]:
    """The collections (and registry collections) that gained a version (or link):
    numbered from v0 with no gap, and a collection with versions has its artifact.yaml."""
    folders: dict[str, tuple[Key, Callable[[int], str]]] = {}
    for path in added:
        key = layout.parse(path)
        assert key is not None
        owner, name = key.collection_key
        if key.kind == "version":
            folders[layout.versions_dir(owner, name)] = (
                key,
                partial(layout.version_file, owner, name),
            )
        else:
            folders[layout.links_dir(owner, name)] = (key, partial(layout.link_file, owner, name))
    problems = []
    for folder, (key, path_for) in sorted(folders.items()):
        if key.kind == "version" and not snap.exists(layout.collection_file(*key.collection_key)):
            problems.append(rules.collection_missing(*key.collection_key))
        numbers = {parse_version(n.removesuffix(".yaml")) for n in snap.listdir(folder)}
        problems += rules.gaps((n for n in numbers if n is not None), path_for)
    return problems


def _case_collisions(base: Snapshot, snap: Snapshot, added: list[str]) -> list[Problem]:
    """A path the change brings (a file, or a folder on its way) whose name differs
    from a sibling's in the head only by case (the sibling on the base or new too)."""
    problems = []
    seen: set[str] = set()
    for path in added:
        here = path
        while here and here not in seen and not base.exists(here):
            seen.add(here)
            parent, name = posixpath.split(here)
            for other in sorted(snap.listdir(parent)):
                if other != name and fold(other) == fold(name):
                    where = posixpath.join(parent, other)
                    problems.append(Problem(here, "$", rules.CASE.format(other=where)))
            here = parent
    return problems
