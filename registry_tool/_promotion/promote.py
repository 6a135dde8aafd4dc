"""Promotion: move a stage to a registry version, checked against the stage's gates,
directly or (for a protected stage) on a ``promote/...`` branch with a pull request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from registry_tool._engine import Context
from registry_tool._model.governance import LinkRecord
from registry_tool._model.names import parse_artifact_path, validate_alias
from registry_tool._model.records import VersionRecord
from registry_tool._promotion.links import link_version, set_aliases, stage_changes
from registry_tool._promotion.stages import StageCheck, check_stage, require
from registry_tool._store import Change, Snapshot, registries
from registry_tool.errors import ProtectedAliasError, UsageError

if TYPE_CHECKING:
    from registry_tool._github import PullRequest


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
    found = ctx.resolve_ref(ref, snap=snap)
    source = found.record
    if found.link is not None:
        link = found.link
    else:
        name = registry or _only_registry(snap)
        link = link_version(ctx, source, f"model-registry/{name}/{source.name}")
        snap = ctx.store.head()
    config = registries.read_config(ctx.store, snap, link.registry)
    assert config is not None
    if config.stages and stage not in config.stages:
        raise UsageError(
            f"{stage!r} is not a stage of model-registry/{config.name} "
            f"(stages: {', '.join(config.stages)})"
        )
    verdict = require(check_stage(ctx, snap, config, link, source, stage), link, stage)
    protected = stage in config.protected
    if mode == "direct" and protected:
        raise ProtectedAliasError(
            f"{stage!r} is protected in model-registry/{config.name}: promote through a "
            f"pull request: registry-tool promote {link.path} --to {stage} --pr"
        )
    chosen = "pr" if mode == "pr" or (mode == "auto" and protected) else "direct"
    current = registries.read_alias(ctx.store, snap, config.name, link.collection, stage)
    previous = current.version if current else None
    message = promotion_message(ctx, link, source, stage, verdict, previous, reason)
    if previous == link.version:
        return Promotion(link, source, stage, verdict, previous, chosen, None, message)
    if chosen == "direct":
        commit = set_aliases(ctx, link, add=[stage], reason=reason, message=message)
        return Promotion(link, source, stage, verdict, previous, chosen, commit, message)
    return _promote_by_pr(ctx, link, source, stage, verdict, previous, reason, message)


def _only_registry(snap: Snapshot) -> str:
    names = registries.names(snap)
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
    store = ctx.store
    base = store.git.current_branch()
    if base is None:
        raise UsageError(f"{store.root} has a detached HEAD: check out the main branch to promote")
    parent = store.git.rev_parse(f"refs/heads/{base}")
    assert parent is not None
    snap = Snapshot(store.git, parent)
    config = registries.read_config(ctx.store, snap, link.registry)
    assert config is not None
    change: Change[None] = Change(message=message)
    stage_changes(
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
    # deferred: the GitHub client (urllib.request, http.client, email) only when a pull
    # request is opened
    from registry_tool._github import open_pull_request, repo_slug

    pr = open_pull_request(
        store.root,
        slug=repo_slug(store.remote_url()),
        base=base,
        branch=branch,
        title=f"Promote {link.registry}/{link.collection} v{link.version} to {stage}",
        body=pull_request_body(promotion, ctx),
    )
    return Promotion(link, source, stage, verdict, previous, "pr", commit, message, branch, pr)
