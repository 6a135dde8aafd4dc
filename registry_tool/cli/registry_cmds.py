"""Commands on the registry: init, alias set|rm, history, check."""

from __future__ import annotations

import os
from pathlib import Path

import click

from registry_tool import _verbs as verbs
from registry_tool.cli.options import json_option, registry_of
from registry_tool.cli.render import emit_json, line, problem, table


@click.command("init")
@click.argument(
    "path", required=False, default=".", type=click.Path(file_okay=False, path_type=str)
)
@click.option("--name", help="Registry name, used as the entity (default: the folder's name).")
@click.option(
    "--storage",
    metavar="URL",
    help="Blob store: s3://bucket/prefix, a directory (relative to the registry) or a "
    "file:// URL. Default: .blobs inside the registry (git-ignored).",
)
@click.option(
    "--endpoint-url",
    metavar="URL",
    help="S3 endpoint of an S3-compatible server (SeaweedFS, MinIO, R2).",
)
@click.option("--region", help="S3 region.")
@click.option("--profile", help="AWS profile to take credentials from (never stored).")
@click.option(
    "--path-style/--virtual-host-style",
    default=None,
    help="S3 addressing style (default: path style when --endpoint-url is given).",
)
@click.option("--description", help="What this registry is for.")
@click.option(
    "--github",
    is_flag=True,
    help="Also write .github/: a workflow checking every pull request, one publishing the "
    "site, and CODEOWNERS for protected aliases.",
)
@json_option
def init_cmd(
    path: str,
    name: str | None,
    storage: str | None,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    path_style: bool | None,
    description: str | None,
    github: bool,
    as_json: bool,
) -> None:
    """Create a registry repo at PATH (default: the current directory).

    \b
    registry-tool init my-registry
    registry-tool init team-registry --storage s3://ml-artifacts/registry --region eu-west-1
    """
    options = {
        "endpoint_url": endpoint_url,
        "region": region,
        "profile": profile,
        "path_style": path_style,
    }
    store = verbs.init(
        path,
        name=name,
        storage=storage,
        description=description,
        storage_options={k: v for k, v in options.items() if v is not None},
        github=github,
    )
    if as_json:
        emit_json(
            {"name": store.name, "root": str(store.root), "storage": store.config.storage.url}
        )
    else:
        line(f"Created registry {store.name!r} at {store.root} (blobs: {store.config.storage.url})")


@click.group("alias")
def alias_group() -> None:
    """Move and remove aliases."""


@alias_group.command("set")
@click.argument("path", metavar="ARTIFACT_PATH")
@click.argument("alias")
@click.option("--reason", help="Why, recorded in the alias file and the commit.")
@json_option
@click.pass_context
def alias_set(ctx: click.Context, path: str, alias: str, reason: str | None, as_json: bool) -> None:
    """Point ALIAS at the version ARTIFACT_PATH names (project/name:vN)."""
    art = verbs.set_alias(path, alias, reason=reason, registry=registry_of(ctx))
    target = f"{art.project}/{art.collection_name}:{art.version}"
    if as_json:
        emit_json({"path": target, "alias": alias, "aliases": art.aliases})
    else:
        line(f"{alias} -> {target}")


@alias_group.command("rm")
@click.argument("collection", metavar="PROJECT/NAME")
@click.argument("alias")
@json_option
@click.pass_context
def alias_rm(ctx: click.Context, collection: str, alias: str, as_json: bool) -> None:
    """Remove ALIAS from the collection."""
    version = verbs.remove_alias(collection, alias, registry=registry_of(ctx))
    if as_json:
        emit_json({"collection": collection, "alias": alias, "removed_from": f"v{version}"})
    else:
        line(f"removed {alias} (was v{version})")


@click.command("history")
@click.argument("collection", metavar="PROJECT/NAME|model-registry/REGISTRY/COLLECTION")
@click.option("--alias", "--stage", "alias", help="Only this alias (or stage).")
@json_option
@click.pass_context
def history_cmd(ctx: click.Context, collection: str, alias: str | None, as_json: bool) -> None:
    """Who moved which alias (or stage) to which version, when and why, from git history.

    \b
    registry-tool history my-project/training-data
    registry-tool history model-registry/production-models/classifier --stage production
    """
    if collection.startswith("model-registry/"):
        events = verbs.stage_history(collection, alias, registry=registry_of(ctx))
    else:
        events = verbs.history(collection, alias, registry=registry_of(ctx))
    if as_json:
        emit_json([e.to_dict() for e in events])
        return
    if not events:
        line("No alias moves.")
        return

    def version(v: int | None) -> str:
        return "-" if v is None else f"v{v}"

    table(
        ["WHEN", "ALIAS", "FROM", "TO", "WHO", "COMMIT", "REASON"],
        [
            [
                e.when,
                e.alias,
                version(e.previous),
                version(e.version) if e.version is not None else "(removed)",
                e.author,
                e.commit[:10],
                e.reason or "",
            ]
            for e in events
        ],
    )


@click.command("check")
@click.option(
    "--base", metavar="REF", help="Judge the change from REF (e.g. the PR's base) to --head."
)
@click.option("--head", metavar="REF", help="The change's tip (default HEAD).")
@click.option(
    "--main-branch",
    default="main",
    show_default=True,
    help="The branch protected aliases may not change on directly.",
)
@click.option(
    "--verify-blobs",
    is_flag=True,
    help="Also check that every blob an added version names is in storage.",
)
@click.option(
    "--deep",
    is_flag=True,
    help="Also recompute the digest of every version from its manifest and every link's "
    "source digest (with --base: of the whole head, not only the changed files).",
)
@json_option
@click.pass_context
def check_cmd(
    ctx: click.Context,
    base: str | None,
    head: str | None,
    main_branch: str,
    verify_blobs: bool,
    deep: bool,
    as_json: bool,
) -> None:
    """Validate the registry: every file, or with --base the change a pull request makes.

    With --base: changed files must be schema-valid; versions and links are never
    modified or deleted (a version may only gain the soft-delete mark); aliases name
    existing versions; stage aliases meet their gates and order; protected aliases
    change only by pull request, and never in the same change as their registry's
    gates or protection (merge that change alone first). No registry.yaml may hold
    credentials. Exits 1 on any problem. Under GitHub Actions it also writes ::error
    annotations and a step summary.
    """
    report = verbs.check(
        base=base,
        head=head,
        main_branch=main_branch,
        verify_blobs=verify_blobs,
        deep=deep,
        registry=registry_of(ctx),
    )
    if as_json:
        emit_json(
            {
                "ok": report.ok,
                "files": report.files,
                "problems": [p.to_dict() for p in report.problems],
            }
        )
    else:
        for found in report.problems:
            problem(str(found))
        line(f"{report.files} files checked, {len(report.problems)} problems")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        github_report(report, root=report.root or verbs.registry_root(registry_of(ctx)))
    if not report.ok:
        raise click.exceptions.Exit(1)


def github_report(report: verbs.CheckReport, *, root: Path) -> None:
    """``::error`` annotations on stdout and a markdown summary for the job page."""
    for found in report.problems:
        line_no = _line_of(root / found.path, found.field)
        message = str(found.message).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        click.echo(f"::error file={found.path},line={line_no}::{found.field}: {message}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return
    rows = ["## registry-tool check", ""]
    if report.ok:
        rows.append(f"All {report.files} changed files pass.")
    else:
        rows += ["| File | Field | Problem |", "|---|---|---|"]
        for found in report.problems:
            cells = [found.path, found.field, found.message]
            rows.append(
                "| " + " | ".join(c.replace("|", "\\|").replace("<", "&lt;") for c in cells) + " |"
            )
    with open(summary, "a", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")


def _line_of(path: Path, field: str) -> int:
    """The line of the first key of a JSON path like $.gates.production (else 1)."""
    key = field.removeprefix("$.").split(".")[0].split("[")[0]
    try:
        for number, text in enumerate(path.read_text("utf-8").splitlines(), 1):
            if key and text.startswith(f"{key}:"):
                return number
    except OSError:
        pass
    return 1


COMMANDS = [init_cmd, alias_group, history_cmd, check_cmd]
