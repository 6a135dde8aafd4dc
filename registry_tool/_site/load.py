"""Read a registry (one commit) into ``SiteData``."""

from __future__ import annotations

import re

from registry_tool._engine.context import Context
from registry_tool._github import repo_slug
from registry_tool._site.model import (
    Activity,
    Collection,
    ModelRegistry,
    RecordedGate,
    RegistryCollection,
    SiteData,
)
from registry_tool._store import registries
from registry_tool._store.history import pull_requests

ACTIVITY = 50
_KINDS = (
    "log",
    "alias",
    "link",
    "promote",
    "use",
    "finish",
    "registry",
    "unlink",
    "storage",
    "edit",
)


def load(ctx: Context, *, with_history: bool = True) -> SiteData:
    store = ctx.store
    snap = store.head()
    data = SiteData(name=store.name, commit=snap.commit)
    for project in store.projects(snap):
        for name in store.collections(snap, project):
            record = store.read_collection(snap, project, name)
            assert record is not None
            collection = Collection(record, aliases=store.aliases(snap, project, name))
            for number in store.version_numbers(snap, project, name):
                version = store.read_version(snap, project, name, number)
                if version is not None:
                    collection.versions.append(version)
            data.collections[collection.key] = collection
        for run in store.runs(snap, project):
            data.runs[f"{run.project}/{run.id}"] = run
    for registry_name in registries.names(snap):
        config = registries.read_config(ctx.store, snap, registry_name)
        assert config is not None
        registry = ModelRegistry(config)
        for collection_name in registries.collections(snap, registry_name):
            held = RegistryCollection(collection_name)
            for number in registries.link_numbers(snap, registry_name, collection_name):
                link = registries.read_link(ctx.store, snap, registry_name, collection_name, number)
                if link is not None:
                    held.links.append(link)
            held.unlinked = registries.unlinked(snap, registry_name, collection_name)
            held.aliases = registries.aliases(ctx.store, snap, registry_name, collection_name)
            if with_history and snap.commit:
                held.history = registries.stage_history(
                    ctx.store, registry_name, collection_name, shared=True
                )
            registry.collections.append(held)
        data.registries.append(registry)
    if with_history and snap.commit:
        data.activity = _activity(ctx)
        data.recorded_gates = _recorded_gates(ctx, data.registries)
    slug = repo_slug(store.remote_url(), explicit=False)
    data.pull_url = f"https://github.com/{slug}/pull/" if slug else None
    return data


# A promotion commit's gate lines and its trailer (``_promotion.promote``'s message).
_GATE_LINE = re.compile(r"Gate: (.+) -> (pass|FAIL)(?: \((.*)\))?")
_TRAILER = "Registry-Tool-Promotion: "


def _recorded_gates(ctx: Context, models: list[ModelRegistry]) -> dict[str, list[RecordedGate]]:
    """The gate verdicts the promotions in the stage histories recorded, by commit: one
    ``git log`` for all of them. A commit counts only when its trailer names the very
    move (registry, collection, stage, version), so a message that merely looks like a
    promotion's is not taken for one."""
    wanted: dict[str, str] = {}
    for registry in models:
        for collection in registry.collections:
            for e in collection.history:
                if e.alias in registry.config.stages and e.version is not None:
                    name = f"{registry.config.name}/{collection.name}/{e.alias}/v{e.version}"
                    wanted[e.commit] = name
    if not wanted:
        return {}
    proc = ctx.store.git.run(
        "log",
        "--no-walk=unsorted",
        "--stdin",
        "--format=%x00%H%x1f%B",
        input="".join(f"{c}\n" for c in wanted).encode(),
        check=False,
    )
    out: dict[str, list[RecordedGate]] = {}
    for record in proc.stdout.decode("utf-8", "replace").split("\x00")[1:]:
        commit, _, body = record.partition("\x1f")
        lines = body.splitlines()
        if commit not in wanted or f"{_TRAILER}{wanted[commit]}" not in lines:
            continue
        gates = []
        for line in lines:
            match = _GATE_LINE.fullmatch(line)
            if match:
                condition, verdict, detail = match.groups()
                gates.append(RecordedGate(condition, verdict == "pass", detail or ""))
        out[commit] = gates
    return out


def _activity(ctx: Context) -> list[Activity]:
    proc = ctx.store.git.run(
        "log", f"-n{ACTIVITY}", "--no-merges", "--format=%H%x1f%an%x1f%aI%x1f%s", check=False
    )
    numbers = pull_requests(ctx.store)
    out = []
    for row in proc.stdout.decode("utf-8", "replace").splitlines():
        commit, author, when, subject = row.split("\x1f", 3)
        first = subject.split(" ", 1)[0]
        kind = first if first in _KINDS else "other"
        out.append(Activity(commit, author, when, subject, kind, numbers.get(commit)))
    return out
