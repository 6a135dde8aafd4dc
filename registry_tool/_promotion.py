"""Model registries: create them, link versions into them, move stage aliases.

A link is a registry version (``model-registry/<registry>/<collection>:vN``) pointing
at a source version by path and digest; linking the same source again returns the
existing link. Stage aliases must meet the stage's gates; protected aliases move only
through a promotion branch and pull request (``registry-tool promote --pr``), never
by a direct write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from registry_tool._engine.context import Context
from registry_tool._github import PullRequest
from registry_tool._model.gates import GateResult, check_gates
from registry_tool._model.governance import LinkRecord, ModelRegistryConfig, StageGate
from registry_tool._model.layout import (
    link_dir,
    link_file,
    model_registry_file,
    registry_alias_file,
    unlink_file,
)
from registry_tool._model.names import (
    LATEST,
    ArtifactPath,
    parse_artifact_path,
    parse_version,
    validate_alias,
    validate_name,
)
from registry_tool._model.records import AliasRecord, VersionRecord
from registry_tool._scaffold import codeowners, protected_patterns
from registry_tool._store import Change, Snapshot, now
from registry_tool._store.history import AliasEvent, alias_history
from registry_tool.errors import ArtifactError, NotFoundError, UsageError

CODEOWNERS = ".github/CODEOWNERS"


class ProtectedAliasError(UsageError):
    """A protected alias moved without a promotion pull request."""


class GateError(ArtifactError):
    """A version does not meet a stage's gates."""

    def __init__(self, message: str, results: Sequence[GateResult] = ()) -> None:
        super().__init__(message)
        self.results = list(results)


@dataclass(frozen=True)
class StageCheck:
    """Whether a link may take a stage: gate results and the previous-stage rule."""

    stage: str
    results: list[GateResult] = field(default_factory=list)
    previous_stage: str | None = None
    held_previous: bool | None = None

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results) and self.held_previous is not False

    def problems(self) -> list[str]:
        out = [f"{r.condition}: {r.detail}" for r in self.results if not r.passed]
        if self.held_previous is False:
            out.append(f"the version must hold {self.previous_stage!r} before {self.stage!r}")
        return out


# -- reading ---------------------------------------------------------------------------


def read_config(ctx: Context, snap: Snapshot, registry: str) -> ModelRegistryConfig | None:
    doc = ctx.store.load(snap, model_registry_file(registry), "model-registry")
    return ModelRegistryConfig.from_doc(doc) if doc else None


def registries(ctx: Context, snap: Snapshot) -> list[str]:
    return sorted(
        name
        for name, entry in snap.listdir("registries").items()
        if entry.is_dir and snap.exists(model_registry_file(name))
    )


def collections(ctx: Context, snap: Snapshot, registry: str) -> list[str]:
    return sorted(
        name
        for name, entry in snap.listdir(f"registries/{registry}").items()
        if entry.is_dir and snap.listdir(f"{link_dir(registry, name)}/links")
    )


def link_numbers(snap: Snapshot, registry: str, collection: str) -> list[int]:
    numbers = []
    for filename in snap.listdir(f"{link_dir(registry, collection)}/links"):
        number = parse_version(filename.removesuffix(".yaml"))
        if number is not None and filename.endswith(".yaml"):
            numbers.append(number)
    return sorted(numbers)


def read_link(
    ctx: Context, snap: Snapshot, registry: str, collection: str, version: int
) -> LinkRecord | None:
    doc = ctx.store.load(snap, link_file(registry, collection, version), "link")
    return LinkRecord.from_doc(doc) if doc else None


def registry_aliases(
    ctx: Context, snap: Snapshot, registry: str, collection: str
) -> dict[str, AliasRecord]:
    out = {}
    for filename in sorted(snap.listdir(f"{link_dir(registry, collection)}/aliases")):
        if filename.endswith(".yaml"):
            path = registry_alias_file(registry, collection, filename.removesuffix(".yaml"))
            doc = ctx.store.load(snap, path, "alias")
            if doc:
                out[doc["alias"]] = AliasRecord.from_doc(doc)
    return out


def resolve(
    ctx: Context, ref: ArtifactPath, snap: Snapshot | None = None
) -> tuple[LinkRecord, VersionRecord]:
    """The link a registry path names, and the source version it points at."""
    assert ref.registry is not None
    snap = snap or ctx.store.head()
    if read_config(ctx, snap, ref.registry) is None:
        raise NotFoundError(f"{ref}: there is no model registry {ref.registry!r}")
    if not ref.name:
        raise UsageError(
            f"{ref}: name the collection, as model-registry/{ref.registry}/<collection>"
        )
    number = ref.version
    if number is None:
        alias = ctx.store.load(
            snap, registry_alias_file(ref.registry, ref.name, ref.selector), "alias"
        )
        if alias is None:
            raise NotFoundError(
                f"model-registry/{ref.registry}/{ref.name} has no alias {ref.selector!r}"
            )
        number = alias["version"]
    link = read_link(ctx, snap, ref.registry, ref.name, number)
    if link is None:
        raise NotFoundError(f"model-registry/{ref.registry}/{ref.name} has no version v{number}")
    if snap.exists(unlink_file(ref.registry, ref.name, number)):
        raise NotFoundError(f"{link.path} was unlinked from the registry")
    source = ctx.store.read_version(snap, link.project, link.name, link.source_version)
    if source is None:
        raise NotFoundError(f"{link.path} links {link.source_path}, which does not exist")
    if source.digest != link.digest:
        raise ArtifactError(
            f"{link.path} links {link.source_path} by a digest that no longer matches"
        )
    return link, source


def stage_history(
    ctx: Context,
    registry: str,
    collection: str,
    stage: str | None = None,
    *,
    ref: str = "HEAD",
    with_pull_requests: bool = True,
) -> list[AliasEvent]:
    return alias_history(
        ctx.store,
        "",
        "",
        stage,
        ref=ref,
        folder=f"{link_dir(registry, collection)}/aliases",
        with_pull_requests=with_pull_requests,
    )


# -- gates -----------------------------------------------------------------------------


def check_stage(
    ctx: Context,
    snap: Snapshot,
    config: ModelRegistryConfig,
    link: LinkRecord,
    source: VersionRecord,
    stage: str,
    *,
    ref: str | None = None,
) -> StageCheck:
    """Evaluate a stage's gates (and its previous-stage rule) for one link."""
    if stage not in config.stages:
        return StageCheck(stage)
    gate: StageGate = config.gate(stage)
    results = check_gates(list(gate.conditions), source.metadata)
    previous = config.previous_stage(stage) if gate.requires_previous_stage else None
    held = None
    if previous is not None:
        current = ctx.store.load(
            snap, registry_alias_file(config.name, link.collection, previous), "alias"
        )
        held = bool(current and current["version"] == link.version)
        if not held and snap.commit is not None:
            events = stage_history(
                ctx, config.name, link.collection, previous, ref=ref or snap.commit
            )
            held = any(e.version == link.version for e in events)
    return StageCheck(stage, results, previous, held)


def _require(verdict: StageCheck, link: LinkRecord, stage: str) -> StageCheck:
    """The verdict, or a GateError saying every condition the link fails."""
    if not verdict.passed:
        raise GateError(
            f"{link.path} ({link.source_path}) cannot take {stage!r}: "
            + "; ".join(verdict.problems()),
            verdict.results,
        )
    return verdict


# -- writing ---------------------------------------------------------------------------


def create_registry(
    ctx: Context,
    name: str,
    *,
    stages: Sequence[str] = (),
    protected: Sequence[str] = (),
    types: Sequence[str] = (),
    gates: dict[str, StageGate] | None = None,
    description: str | None = None,
) -> ModelRegistryConfig:
    """Write ``registries/<name>/registry.yaml`` (one commit)."""
    validate_name(name, what="registry name")
    for stage in (*stages, *protected):
        validate_alias(stage)
    for stage in gates or {}:
        if stage not in stages:
            raise UsageError(f"gate for {stage!r}, which is not one of the stages {list(stages)}")
    config = ModelRegistryConfig(
        name=name,
        created_at=now(),
        stages=tuple(stages),
        protected=tuple(protected),
        types=tuple(validate_name(t, what="artifact type") for t in types),
        gates=dict(gates or {}),
        description=description,
    )

    def build(snap: Snapshot) -> Change[ModelRegistryConfig]:
        if snap.exists(model_registry_file(name)):
            raise UsageError(f"model registry {name!r} already exists")
        change: Change[ModelRegistryConfig] = Change(message=f"registry create {name}")
        change.put(model_registry_file(name), config.to_doc(), "model-registry")
        if snap.exists(CODEOWNERS):
            # Keep CODEOWNERS naming every protected alias, this registry's included.
            patterns = protected_patterns(name, config.protected)
            for other in registries(ctx, snap):
                found = read_config(ctx, snap, other)
                if found is not None:
                    patterns += protected_patterns(other, found.protected)
            change.files[CODEOWNERS] = codeowners(patterns).encode()
        change.result = config
        return change

    ctx.store.write(build)
    return config


def _stage_changes(
    ctx: Context,
    snap: Snapshot,
    change: Change[Any],
    config: ModelRegistryConfig,
    link: LinkRecord,
    source: VersionRecord,
    aliases: Iterable[str],
    *,
    allow_protected: bool,
    reason: str | None,
    run: str | None,
) -> list[str]:
    moved = []
    for alias in aliases:
        current = ctx.store.load(
            snap, registry_alias_file(config.name, link.collection, alias), "alias"
        )
        if current is not None and current["version"] == link.version:
            continue
        if alias in config.protected and not allow_protected:
            raise ProtectedAliasError(
                f"{alias!r} is protected in model-registry/{config.name}: it moves only by a "
                f"reviewed promotion: registry-tool promote {link.path} --to {alias} --pr"
            )
        _require(check_stage(ctx, snap, config, link, source, alias), link, alias)
        record = AliasRecord(alias, link.version, now(), ctx.author(), run, reason)
        change.put(
            registry_alias_file(config.name, link.collection, alias), record.to_doc(), "alias"
        )
        moved.append(alias)
    return moved


def link_version(
    ctx: Context,
    source: VersionRecord,
    target: str,
    aliases: Sequence[str] = (),
    *,
    run: str | None = None,
    allow_protected: bool = False,
) -> LinkRecord:
    """Link a logged version into ``model-registry/<registry>[/<collection>]``.

    A registry that does not exist yet is created plain (no stages, nothing protected),
    as W&B creates one on first link.
    """
    registry, collection = _target(target, source.name)
    wanted = [LATEST, *(validate_alias(a) for a in aliases if a != LATEST)]

    def build(snap: Snapshot) -> Change[LinkRecord]:
        change: Change[LinkRecord] = Change()
        config = read_config(ctx, snap, registry)
        if config is None:
            config = ModelRegistryConfig(name=registry, created_at=now())
            change.put(model_registry_file(registry), config.to_doc(), "model-registry")
        if config.types and source.type not in config.types:
            raise ArtifactError(
                f"model-registry/{registry} takes {', '.join(config.types)} artifacts, "
                f"not {source.type!r}"
            )
        numbers = link_numbers(snap, registry, collection)
        existing = None
        for number in numbers:
            if snap.exists(unlink_file(registry, collection, number)):
                continue
            found = read_link(ctx, snap, registry, collection, number)
            if found and found.digest == source.digest:
                existing = found
                break
        link = existing or LinkRecord(
            registry=registry,
            collection=collection,
            version=numbers[-1] + 1 if numbers else 0,
            project=source.project,
            name=source.name,
            source_version=source.version,
            digest=source.digest,
            linked_at=now(),
            linked_by=ctx.author(),
            run=run,
        )
        if existing is None:
            change.put(link_file(registry, collection, link.version), link.to_doc(), "link")
        moved = _stage_changes(
            ctx,
            snap,
            change,
            config,
            link,
            source,
            wanted,
            allow_protected=allow_protected,
            reason=None,
            run=run,
        )
        head = f"link {source.project}/{source.name}:v{source.version} -> {link.path}"
        change.message = head + "".join(f" +{a}" for a in moved)
        change.result = link
        return change

    written = ctx.store.write(build)
    assert written.result is not None
    return written.result


def set_aliases(
    ctx: Context,
    link: LinkRecord,
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    reason: str | None = None,
    allow_protected: bool = False,
    message: str | None = None,
) -> str | None:
    """Move registry aliases to a link, or take them off it (a demotion)."""
    add = [validate_alias(a) for a in add]
    remove = [validate_alias(a) for a in remove]

    def build(snap: Snapshot) -> Change[None]:
        change: Change[None] = Change()
        config = read_config(ctx, snap, link.registry)
        if config is None:
            raise NotFoundError(f"there is no model registry {link.registry!r}")
        source = ctx.store.read_version(snap, link.project, link.name, link.source_version)
        if source is None:
            raise NotFoundError(f"{link.path} links {link.source_path}, which does not exist")
        moved = _stage_changes(
            ctx,
            snap,
            change,
            config,
            link,
            source,
            add,
            allow_protected=allow_protected,
            reason=reason,
            run=None,
        )
        dropped = []
        for alias in remove:
            path = registry_alias_file(link.registry, link.collection, alias)
            current = ctx.store.load(snap, path, "alias")
            if current is None or current["version"] != link.version:
                continue
            if alias in config.protected and not allow_protected:
                raise ProtectedAliasError(
                    f"{alias!r} is protected in model-registry/{link.registry}: demote through a "
                    "pull request"
                )
            change.files[path] = None
            dropped.append(alias)
        parts = [f"+{a}" for a in moved] + [f"-{a}" for a in dropped]
        change.message = message or f"alias {link.path} {' '.join(parts)}"
        if reason and not message:
            change.message += f"\n\n{reason}"
        return change

    return ctx.store.write(build).commit


def unlink(ctx: Context, link: LinkRecord, *, reason: str | None = None) -> str | None:
    """Take a version out of its registry: its aliases go, a tombstone records who and
    why, and the link file itself stays (links are immutable, history is kept)."""

    def build(snap: Snapshot) -> Change[None]:
        config = read_config(ctx, snap, link.registry)
        if config is None:
            raise NotFoundError(f"there is no model registry {link.registry!r}")
        if snap.exists(unlink_file(link.registry, link.collection, link.version)):
            return Change()
        change: Change[None] = Change(message=f"unlink {link.path}")
        held = registry_aliases(ctx, snap, link.registry, link.collection)
        for alias, record in held.items():
            if record.version != link.version:
                continue
            if alias in config.protected:
                raise ProtectedAliasError(
                    f"{link.path} holds the protected alias {alias!r}: demote it by pull "
                    "request before unlinking"
                )
            change.files[registry_alias_file(link.registry, link.collection, alias)] = None
        doc: dict[str, Any] = {
            "kind": "unlink",
            "registry": link.registry,
            "collection": link.collection,
            "version": link.version,
            "unlinked_at": now(),
            "unlinked_by": ctx.author(),
        }
        if reason:
            doc["reason"] = reason
        change.put(unlink_file(link.registry, link.collection, link.version), doc, "unlink")
        return change

    return ctx.store.write(build).commit


def _target(target: str, default_collection: str) -> tuple[str, str]:
    parts = target.strip("/").split("/")
    if parts[0] != "model-registry" or len(parts) not in (2, 3):
        raise UsageError(
            f"link target {target!r}: expected 'model-registry/<registry>' or "
            "'model-registry/<registry>/<collection>'"
        )
    registry = validate_name(parts[1], what="registry name")
    collection = validate_name(
        parts[2] if len(parts) == 3 else default_collection, what="collection name"
    )
    return registry, collection


# -- promotion -------------------------------------------------------------------------


@dataclass(frozen=True)
class Promotion:
    """What ``promote`` did: the check, the commit and, with ``--pr``, the branch and PR."""

    link: LinkRecord
    source: VersionRecord
    stage: str
    verdict: StageCheck
    previous: int | None
    mode: str
    commit: str | None
    message: str
    branch: str | None = None
    pull_request: PullRequest | None = None


def promote(
    ctx: Context,
    path: str,
    stage: str,
    *,
    reason: str | None = None,
    mode: str = "auto",
    registry: str | None = None,
) -> Promotion:
    """Move ``stage`` to a version, checked against the stage's gates.

    ``mode``: ``pr`` commits the move on a ``promote/...`` branch, pushes it and opens
    a pull request; ``direct`` commits on the current branch (refused for protected
    stages); ``auto`` is ``pr`` for protected stages and ``direct`` otherwise.
    """
    if mode not in ("auto", "pr", "direct"):
        raise UsageError(f"promotion mode {mode!r}: use pr, direct or auto")
    validate_alias(stage)
    snap = ctx.store.head()
    ref = parse_artifact_path(path)
    if ref.registry is not None:
        link, source = resolve(ctx, ref, snap)
    else:
        source = ctx.resolve(ref, project=None, snap=snap)
        name = registry or _only_registry(ctx, snap)
        link = link_version(ctx, source, f"model-registry/{name}/{source.name}")
        snap = ctx.store.head()
    config = read_config(ctx, snap, link.registry)
    assert config is not None
    if config.stages and stage not in config.stages:
        raise UsageError(
            f"{stage!r} is not a stage of model-registry/{config.name} "
            f"(stages: {', '.join(config.stages)})"
        )
    verdict = _require(check_stage(ctx, snap, config, link, source, stage), link, stage)
    protected = stage in config.protected
    if mode == "direct" and protected:
        raise ProtectedAliasError(
            f"{stage!r} is protected in model-registry/{config.name}: promote through a "
            f"pull request: registry-tool promote {link.path} --to {stage} --pr"
        )
    chosen = "pr" if mode == "pr" or (mode == "auto" and protected) else "direct"
    current = ctx.store.load(
        snap, registry_alias_file(config.name, link.collection, stage), "alias"
    )
    previous = current["version"] if current else None
    message = promotion_message(ctx, link, source, stage, verdict, previous, reason)
    if previous == link.version:
        return Promotion(link, source, stage, verdict, previous, chosen, None, message)
    if chosen == "direct":
        commit = set_aliases(ctx, link, add=[stage], reason=reason, message=message)
        return Promotion(link, source, stage, verdict, previous, chosen, commit, message)
    return _promote_by_pr(ctx, link, source, stage, verdict, previous, reason, message)


def _only_registry(ctx: Context, snap: Snapshot) -> str:
    names = registries(ctx, snap)
    if len(names) == 1:
        return names[0]
    raise UsageError(
        "say which model registry to promote in (--registry NAME)"
        + (f"; there are {', '.join(names)}" if names else "; there is none yet")
    )


def promotion_message(
    ctx: Context,
    link: LinkRecord,
    source: VersionRecord,
    stage: str,
    verdict: StageCheck,
    previous: int | None,
    reason: str | None,
) -> str:
    lines = [f"promote {link.path} to {stage}", ""]
    lines.append(f"Who: {ctx.author()}")
    lines.append(f"What: {link.source_path} (digest {source.digest[:12]})")
    lines.append(f"Why: {reason or '(no reason given)'}")
    lines.append(f"Previous: {'v' + str(previous) if previous is not None else 'none'}")
    for result in verdict.results:
        lines.append(
            f"Gate: {result.condition} -> {'pass' if result.passed else 'FAIL'} ({result.detail})"
        )
    if verdict.previous_stage:
        lines.append(
            f"Gate: held {verdict.previous_stage} -> {'pass' if verdict.held_previous else 'FAIL'}"
        )
    lines.append(
        f"Registry-Tool-Promotion: {link.registry}/{link.collection}/{stage}/v{link.version}"
    )
    return "\n".join(lines)


def pull_request_body(promotion: Promotion, ctx: Context) -> str:
    """The PR description: a markdown table of what is promoted and why."""

    def cell(value: object) -> str:
        text = str(value).replace("|", "\\|").replace("\n", " ")
        return text.replace("<", "&lt;").replace(">", "&gt;")

    link, source = promotion.link, promotion.source
    rows = [
        ("Registry version", f"`{link.path}`"),
        ("Source", f"`{link.source_path}`"),
        ("Digest", f"`{source.digest}`"),
        ("Stage", f"`{promotion.stage}`"),
        ("Previous holder", f"v{promotion.previous}" if promotion.previous is not None else "none"),
        ("Promoted by", cell(ctx.author())),
    ]
    for key, value in sorted(source.metadata.items()):
        rows.append((f"metadata.{cell(key)}", cell(value)))
    out = ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    if promotion.verdict.results or promotion.verdict.previous_stage:
        out += ["", "| Gate | Result | Detail |", "|---|---|---|"]
        for r in promotion.verdict.results:
            out.append(
                f"| `{cell(r.condition)}` | {'pass' if r.passed else 'FAIL'} | {cell(r.detail)} |"
            )
        if promotion.verdict.previous_stage:
            ok = "pass" if promotion.verdict.held_previous else "FAIL"
            out.append(f"| held `{promotion.verdict.previous_stage}` first | {ok} | |")
    snap = ctx.store.head()
    run = ctx.store.read_run(snap, source.project, source.run) if source.run else None
    if run is not None:
        inputs = ", ".join(f"`{u.path}`" for u in run.inputs) or "none"
        out += [
            "",
            f"Lineage: {inputs} → run `{run.id}` ({cell(run.job_type or 'run')}) → `{link.source_path}`",
        ]
    out += ["", "Checked by `registry-tool check` in CI; merging this moves the stage."]
    return "\n".join(out)


def _promote_by_pr(
    ctx: Context,
    link: LinkRecord,
    source: VersionRecord,
    stage: str,
    verdict: StageCheck,
    previous: int | None,
    reason: str | None,
    message: str,
) -> Promotion:
    from registry_tool._github import open_pull_request, repo_slug

    store = ctx.store
    base = store.git.current_branch()
    if base is None:
        raise UsageError(f"{store.root} has a detached HEAD: check out the main branch to promote")
    parent = store.git.rev_parse(f"refs/heads/{base}")
    assert parent is not None
    snap = Snapshot(store.git, parent)
    config = read_config(ctx, snap, link.registry)
    assert config is not None
    change: Change[None] = Change(message=message)
    _stage_changes(
        ctx,
        snap,
        change,
        config,
        link,
        source,
        [stage],
        allow_protected=True,
        reason=reason,
        run=None,
    )
    branch = f"promote/{link.registry}/{link.collection}/{stage}/v{link.version}"
    commit = store.commit_on_branch(branch, parent, change)
    promotion = Promotion(link, source, stage, verdict, previous, "pr", commit, message, branch)
    if store.remote() is None:
        return promotion
    pr = open_pull_request(
        store.root,
        slug=repo_slug(store.remote_url()),
        base=base,
        branch=branch,
        title=f"Promote {link.registry}/{link.collection} v{link.version} to {stage}",
        body=pull_request_body(promotion, ctx),
    )
    return Promotion(link, source, stage, verdict, previous, "pr", commit, message, branch, pr)
