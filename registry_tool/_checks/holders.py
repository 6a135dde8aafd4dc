"""The current holder of every protected stage, judged as a promotion would be.

A change is judged by what it moves (``diff``); but a ``main`` can also come to violate
its own policy without any stage moving: a gate raised while a promotion was open, a
version soft-deleted or unlinked by hand, a type taken off the allowed list. A full
``check`` (and ``check --ci`` on a push to main) therefore judges every protected
stage's holder as it stands: its link and source version exist and are live, the
source's type is allowed, and it meets the stage's gates and order today.
"""

from __future__ import annotations

from collections.abc import Iterator, Set
from dataclasses import dataclass

from registry_tool._checks.report import Problem
from registry_tool._engine.context import Context
from registry_tool._model import layout
from registry_tool._model.governance import LinkRecord, ModelRegistryConfig
from registry_tool._model.records import VersionRecord
from registry_tool._promotion import check_stage
from registry_tool._store import Snapshot, registries
from registry_tool.errors import DocumentError


@dataclass(frozen=True)
class Holder:
    """A protected stage of one registry collection and what it names at a commit:
    the link (None when missing) and its source version (None when missing)."""

    config: ModelRegistryConfig
    collection: str
    stage: str
    version: int
    link: LinkRecord | None
    source: VersionRecord | None
    unlinked: bool

    @property
    def path(self) -> str:
        return layout.registry_alias_file(self.config.name, self.collection, self.stage)

    @property
    def where(self) -> str:
        return f"model-registry/{self.config.name}/{self.collection}"


def protected_holders(
    ctx: Context, snap: Snapshot, collections: Set[tuple[str, str]] | None = None
) -> Iterator[Holder]:
    """Every protected stage alias of every model registry at ``snap`` (of only the
    (registry, collection) pairs of ``collections`` when given: the rest is not read).
    A document that does not parse is skipped: it is reported where it is checked as a
    file."""
    store = ctx.store
    wanted = None if collections is None else {r for r, _ in collections}
    for name in registries.names(snap):
        if wanted is not None and name not in wanted:
            continue
        try:
            config = registries.read_config(store, snap, name)
        except DocumentError:
            continue
        if config is None or not config.protected:
            continue
        for collection in registries.collections(snap, name):
            if collections is not None and (name, collection) not in collections:
                continue
            try:
                held = registries.aliases(store, snap, name, collection)
            except DocumentError:
                continue
            for stage in config.protected:
                alias = held.get(stage)
                if alias is None:
                    continue
                yield _holder(ctx, snap, config, collection, stage, alias.version)


def _holder(
    ctx: Context,
    snap: Snapshot,
    config: ModelRegistryConfig,
    collection: str,
    stage: str,
    version: int,
) -> Holder:
    store = ctx.store
    link = source = None
    try:
        link = registries.read_link(store, snap, config.name, collection, version)
        if link is not None:
            source = store.read_version(snap, link.project, link.name, link.source_version)
    except DocumentError:
        pass
    unlinked = registries.is_unlinked(snap, config.name, collection, version)
    return Holder(config, collection, stage, version, link, source, unlinked)


def holder_problems(
    ctx: Context,
    snap: Snapshot,
    *,
    skip: Set[str] = frozenset(),
    collections: Set[tuple[str, str]] | None = None,
) -> list[Problem]:
    """What is wrong with each protected stage's current holder (``skip``: alias paths
    judged elsewhere, e.g. the ones a change moves; ``collections``: only the holders
    of those (registry, collection) pairs, e.g. the ones a push touched — a full check
    judges them all; a changed registry config has its holders judged by the change)."""
    problems = []
    for holder in protected_holders(ctx, snap, collections):
        if holder.path not in skip:
            problems += judge(ctx, snap, holder)
    return problems


def judge(ctx: Context, snap: Snapshot, holder: Holder, *, ref: str | None = None) -> list[Problem]:
    """A holder's link and source exist and are live, its type is allowed, and it meets
    the stage's gates and order (the stages it held read from the history of ``ref``,
    by default ``snap``'s commit), judged on the metadata readers see: its edits applied.
    An edit that does not parse leaves the holder unjudged, which is a problem of its
    own rather than a stopped check (the edit's file has its problem where it is
    checked)."""
    path, link, source = holder.path, holder.link, holder.source
    named = f"{holder.where}:v{holder.version}"
    if link is None:
        return [Problem(path, "$.version", f"{holder.stage!r} names {named}, which does not exist")]
    if holder.unlinked:
        return [Problem(path, "$.version", f"{holder.stage!r} names {named}, which is unlinked")]
    if source is None:
        return [
            Problem(
                path, "$.version", f"{link.path} links {link.source_path}, which does not exist"
            )
        ]
    if source.deleted is not None:
        return [
            Problem(path, "$.version", f"{link.path} links {link.source_path}, which is deleted")
        ]
    problems = []
    config = holder.config
    if config.types and source.type not in config.types:
        problems.append(
            Problem(
                path,
                "$.version",
                f"{link.source_path} is of type {source.type!r}; model-registry/{config.name} "
                f"takes {', '.join(config.types)}",
            )
        )
    try:
        verdict = check_stage(ctx, snap, config, link, source, holder.stage, ref=ref)
    except DocumentError as exc:  # an edit of the source, or an alias it reads, is invalid
        return [
            *problems,
            Problem(
                path,
                "$.version",
                f"{link.path} cannot be judged for {holder.stage!r} while a document it "
                f"needs does not parse ({exc})",
            ),
        ]
    for problem in verdict.problems():
        problems.append(
            Problem(path, "$.version", f"{link.path} cannot hold {holder.stage!r}: {problem}")
        )
    return problems
