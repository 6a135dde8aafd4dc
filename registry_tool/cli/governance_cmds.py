"""Commands on model registries: registry create, link, unlink, promote."""

from __future__ import annotations

import click

from registry_tool import _verbs as verbs
from registry_tool.cli.options import json_option, registry_of
from registry_tool.cli.render import emit_json, line


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@click.group("registry")
def registry_group() -> None:
    """Model registries: stages, protected aliases, gates."""


@registry_group.command("create")
@click.argument("name")
@click.option(
    "--stages", metavar="A,B,C", help="Ordered stages, e.g. development,staging,production."
)
@click.option(
    "--protected", metavar="A,B", help="Stages that move only through a promotion pull request."
)
@click.option("--types", metavar="T,U", help="Artifact types that may be linked (default: any).")
@click.option(
    "--gate",
    "gates",
    multiple=True,
    metavar="'STAGE: CONDITION'",
    help="A gate, e.g. 'production: f1 >= 0.9' (repeatable).",
)
@click.option(
    "--requires-previous",
    metavar="A,B",
    help="Stages a version may take only after holding the stage before.",
)
@click.option("--description", help="What the registry is for.")
@json_option
@click.pass_context
def registry_create(
    ctx: click.Context,
    name: str,
    stages: str | None,
    protected: str | None,
    types: str | None,
    gates: tuple[str, ...],
    requires_previous: str | None,
    description: str | None,
    as_json: bool,
) -> None:
    """Create model-registry/NAME (one commit of registries/NAME/registry.yaml).

    \b
    registry-tool registry create production-models \\
        --stages development,staging,production --protected staging,production \\
        --types model --gate 'production: f1 >= 0.9' --requires-previous production
    """
    config = verbs.create_model_registry(
        name,
        stages=_csv(stages),
        protected=_csv(protected),
        types=_csv(types),
        gates=list(gates),
        requires_previous=_csv(requires_previous),
        description=description,
        registry=registry_of(ctx),
    )
    if as_json:
        emit_json(config.to_doc())
    else:
        line(f"Created model-registry/{config.name} (stages: {', '.join(config.stages) or '-'})")


@click.command("link")
@click.argument("source", metavar="SOURCE_PATH")
@click.argument("target", metavar="model-registry/REGISTRY[/COLLECTION]")
@click.option("--alias", "aliases", multiple=True, help="Registry alias to set (repeatable).")
@json_option
@click.pass_context
def link_cmd(
    ctx: click.Context, source: str, target: str, aliases: tuple[str, ...], as_json: bool
) -> None:
    """Link a logged version into a model registry (the same content links once)."""
    linked = verbs.link(source, target, list(aliases), registry=registry_of(ctx))
    if as_json:
        emit_json({"path": linked.path, "source": linked.source_path, "digest": linked.digest})
    else:
        line(f"{linked.source_path} -> {linked.path}")


@click.command("unlink")
@click.argument("path", metavar="model-registry/REGISTRY/COLLECTION:VERSION")
@click.option("--reason", help="Why: recorded in the unlink mark.")
@json_option
@click.pass_context
def unlink_cmd(ctx: click.Context, path: str, reason: str | None, as_json: bool) -> None:
    """Take a version out of its model registry; the link and its history stay.

    The aliases it holds go with it. While it holds a protected stage it is refused:
    a reviewed promotion (promote ... --pr) moves that stage to another version first.
    """
    done = verbs.unlink(path, reason=reason, registry=registry_of(ctx))
    if as_json:
        emit_json({"path": done.path, "source": done.source_path, "unlinked": True})
    else:
        line(f"Unlinked {done.path} ({done.source_path})")


@click.command("promote")
@click.argument("path", metavar="PATH")
@click.option(
    "--to", "stage", required=True, metavar="STAGE", help="The stage to move to this version."
)
@click.option("--reason", help="Why: recorded in the commit, the alias file and the pull request.")
@click.option(
    "--pr",
    "mode",
    flag_value="pr",
    help="Commit on a promote/... branch, push it and open a pull request.",
)
@click.option(
    "--direct",
    "mode",
    flag_value="direct",
    help="Commit on the current branch (refused for protected stages).",
)
@click.option(
    "--registry-name",
    "in_registry",
    metavar="NAME",
    help="Model registry, when PATH is a source path and there are several.",
)
@json_option
@click.pass_context
def promote_cmd(
    ctx: click.Context,
    path: str,
    stage: str,
    reason: str | None,
    mode: str | None,
    in_registry: str | None,
    as_json: bool,
) -> None:
    """Promote a version to a stage, checked against the stage's gates.

    PATH is model-registry/REGISTRY/COLLECTION:vN (or :alias), or a source path
    project/name:vN (linked on main first). With a remote, the promotion is judged
    against the remote's branch, the base its pull request merges into (upstream's
    when origin is a fork). Protected stages go by pull request (--pr, the default for
    them): gh when logged in, else the GitHub API with GITHUB_TOKEN (https only), else
    the compare URL is printed.
    """
    done = verbs.promote(
        path,
        stage,
        reason=reason,
        mode=mode or "auto",
        in_registry=in_registry,
        registry=registry_of(ctx),
    )
    pr = done.pull_request
    result = {
        "path": done.link.path,
        "source": done.link.source_path,
        "stage": stage,
        "mode": done.mode,
        "previous": f"v{done.previous}" if done.previous is not None else None,
        "commit": done.commit,
        "branch": done.branch,
        "pull_request": (
            {"how": pr.how, "url": pr.url, "number": pr.number, "existing": pr.existing}
            if pr
            else None
        ),
        "base": done.base,
        "gates": [
            {"condition": r.condition, "passed": r.passed, "detail": r.detail}
            for r in done.verdict.results
        ],
    }
    if as_json:
        emit_json(result)
        return
    if done.commit is None:
        line(f"{stage} already names {done.link.path}")
        return
    for r in done.verdict.results:
        line(f"  gate {r.condition}: pass ({r.detail})")
    if done.mode == "direct":
        line(f"{stage} -> {done.link.path} (commit {done.commit[:10]})")
        return
    line(f"{stage} -> {done.link.path} on branch {done.branch} (commit {done.commit[:10]})")
    if pr is None:
        line("The registry has no remote: push the branch and open a pull request for it.")
    elif pr.how == "compare":
        where = pr.url or "your git host"
        line(f"Open the pull request at {where}")
    elif pr.existing:
        line(f"Pull request (already open, now showing the branch): {pr.url or done.branch}")
    else:
        line(f"Pull request: {pr.url}")


COMMANDS = [registry_group, link_cmd, unlink_cmd, promote_cmd]
