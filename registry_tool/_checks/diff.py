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
from typing import Any

from registry_tool import _schemas as schemas
from registry_tool import _yamlio as yamlio
from registry_tool._checks import rules
from registry_tool._checks.deep import deep_problems
from registry_tool._checks.report import CheckReport, Problem
from registry_tool._checks.rules import Parsed
from registry_tool._engine.context import Context
from registry_tool._model import layout
from registry_tool._model.governance import LinkRecord
from registry_tool._model.layout import REGISTRY_FILE, Key
from registry_tool._model.names import fold, parse_version
from registry_tool._model.records import AliasRecord, VersionRecord
from registry_tool._promotion import check_stage
from registry_tool._store import RegistryStore, Snapshot, registries
from registry_tool.errors import DocumentError, NotFoundError

# What decides whether a version may take a protected stage.
GATE_FIELDS = ("stages", "protected", "types", "gates")
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
    """Whether the change under check arrives by pull request: in GitHub Actions, the
    event says so; elsewhere, any head other than the tip of the main branch is one."""
    event = os.environ.get("GITHUB_EVENT_NAME")
    if event:
        return event in ("pull_request", "pull_request_target", "merge_group")
    return store.git.rev_parse(f"refs/heads/{main_branch}") != head_commit


def check_diff(
    store: RegistryStore,
    base: str,
    head: str = "HEAD",
    *,
    main_branch: str = "main",
    verify_blobs: Callable[[list[str]], list[str]] | None = None,
    deep: bool = False,
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
    from_pr = is_pull_request(store, head_commit, main_branch)
    added_blobs: dict[str, str] = {}
    for status, path in changes:
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
        if key.kind in ("version", "link") and status in ("M", "D"):
            problems += _immutable(base_snap, snap, key, path, status)
            continue
        if status == "D":
            if key.kind == "registry-alias":
                problems += _protected(ctx, snap, key, path, from_pr, deleted=True)
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
            problems += _registry_alias(ctx, facts, parsed, record, from_pr, head_commit)
            continue
        problems += rules.references(parsed, facts)
        if isinstance(record, LinkRecord):
            problems += _recorded_digest(store, snap, path, record)
    problems += _case_collisions(
        base_snap, snap, [p for s, p in changes if s == "A" and p.startswith(_OURS)]
    )
    added = [p for s, p in changes if s == "A" and layout.kind_for_path(p) in ("version", "link")]
    problems += _numbering(snap, added)
    problems += _gates_moved_with_promotion(base_snap, snap, changes)
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


def _changes(store: RegistryStore, base: str, head: str) -> list[tuple[str, str]]:
    """(status letter, path) of every file changed from ``base`` to ``head``."""
    proc = store.git.run("diff", "--name-status", "--no-renames", "-z", base, head)
    fields = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    return [(fields[i][0], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]


# -- versions and links are immutable --------------------------------------------------


def _immutable(base: Snapshot, head: Snapshot, key: Key, path: str, status: str) -> list[Problem]:
    """A version or link file modified (M) or deleted (D): refused, unless a version
    only gains the soft-delete mark."""
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
    if "deleted" in old or "deleted" not in new:
        return None
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
    ``--deep`` recomputes it from the manifest)."""
    digest = store.version_digest(snap, link.project, link.name, link.source_version)
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


# -- model registries: protection and gates --------------------------------------------


def _protected(
    ctx: Context, snap: Snapshot, key: Key, path: str, from_pr: bool, *, deleted: bool = False
) -> list[Problem]:
    """A protected alias moves (or goes) only by pull request."""
    assert key.registry is not None
    config = registries.read_config(ctx.store, snap, key.registry)
    if config is None or key.alias not in config.protected or from_pr:
        return []
    what = "removed" if deleted else "moved"
    return [
        Problem(path, "$.alias", f"protected alias {key.alias!r} was {what} outside a pull request")
    ]


def _registry_alias(
    ctx: Context,
    facts: _Head,
    parsed: Parsed,
    alias: AliasRecord,
    from_pr: bool,
    head: str,
) -> list[Problem]:
    """A stage alias moved: by pull request if protected, in a registry that exists, to
    a link that exists, of a live version that meets the stage's gates and order."""
    snap, path, key = facts.snap, parsed.path, parsed.key
    registry, collection = key.collection_key
    problems = _protected(ctx, snap, key, path, from_pr)
    config = registries.read_config(ctx.store, snap, registry)
    if config is None:
        return [*problems, Problem(path, "$", f"there is no model registry {registry!r}")]
    missing = rules.alias_target(parsed, alias, facts)
    link = registries.read_link(ctx.store, snap, registry, collection, alias.version)
    if missing or link is None:
        return [*problems, *missing]
    source = ctx.store.read_version(snap, link.project, link.name, link.source_version)
    if source is None:
        return [
            *problems,
            Problem(
                path, "$.version", f"{link.path} links {link.source_path}, which does not exist"
            ),
        ]
    if source.deleted is not None:
        return [
            *problems,
            Problem(path, "$.version", f"{link.path} links {link.source_path}, which is deleted"),
        ]
    verdict = check_stage(ctx, snap, config, link, source, alias.alias, ref=head)
    for problem in verdict.problems():
        problems.append(
            Problem(path, "$.version", f"{link.path} cannot take {alias.alias!r}: {problem}")
        )
    return problems


def _gates_moved_with_promotion(
    base: Snapshot, head: Snapshot, changes: list[tuple[str, str]]
) -> list[Problem]:
    """The separate-approval policy: a change that moves (or removes) a protected alias
    of a model registry may not also change that registry's stages, protection, types
    or gates. See ``registry_tool._checks``."""
    keys = [(key, path) for _, path in changes if (key := layout.parse(path)) is not None]
    problems = []
    configs = {k.registry for k, _ in keys if k.kind == "model-registry" and k.registry}
    for registry in sorted(configs):
        path = layout.model_registry_file(registry)
        # The fields as written, not a ModelRegistryConfig: a condition that does not
        # parse is still a change to review, and must not stop the check.
        old = _config_doc(base, path)
        new = _config_doc(head, path)
        changed = [f for f in GATE_FIELDS if old.get(f) != new.get(f)]
        protected = {*old.get("protected", ()), *new.get("protected", ())}
        moved = sorted(
            (p, k.alias or "")
            for k, p in keys
            if k.kind == "registry-alias" and k.registry == registry and k.alias in protected
        )
        if not changed or not moved:
            continue
        aliases = ", ".join(sorted({repr(alias) for _, alias in moved}))
        problems.append(
            Problem(
                path,
                f"$.{changed[0]}",
                f"{' and '.join(changed)} of model-registry/{registry} changed in the same "
                f"change that moves the protected alias {aliases} "
                f"({', '.join(p for p, _ in moved)}): a "
                "gate or protection change needs its own review. Split the pull request: "
                f"first merge the change to {path} alone, then open the promotion on the "
                "updated main (registry-tool promote ... --pr), checked against those gates",
            )
        )
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


def _config_doc(snap: Snapshot, path: str) -> dict[str, Any]:
    """A model registry's document at a commit; empty when missing or invalid."""
    data = snap.read(path)
    key = layout.parse(path)
    if data is None or key is None:
        return {}
    parsed = rules.parse_file(path, key, data)[0]
    return parsed.doc if parsed is not None else {}
