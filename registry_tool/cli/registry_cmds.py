"""Commands on the registry: init, alias set|rm."""

from __future__ import annotations

import click

from registry_tool import _verbs as verbs
from registry_tool.cli.options import json_option, registry_of
from registry_tool.cli.render import emit_json, line


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


COMMANDS = [init_cmd, alias_group]
