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
    "--entity",
    "entities",
    multiple=True,
    metavar="NAME",
    help="An entity name the registry answers to besides its own name (what W&B scripts "
    "pass as entity=, e.g. a team); repeat for several.",
)
@click.option(
    "--github",
    is_flag=True,
    help="Also write .github/: a workflow checking every change, one publishing the site, "
    "CODEOWNERS naming --owners for what governs the registry, and the pinned, "
    "hash-checked requirements both workflows install. Needs --owners.",
)
@click.option(
    "--owners",
    multiple=True,
    metavar="OWNER",
    help="With --github: who must review changes to what governs the registry: @org/team, "
    "@user or an email. Repeat the option or separate owners with commas.",
)
@click.option(
    "--wheelhouse",
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False, path_type=str),
    help="With --github: pin the wheels in DIR instead of downloading them with pip (offline "
    "and air-gapped set-ups). DIR holds a wheel of registry-tool and of every distribution "
    "it needs, at the versions installed here, for CPython 3.11 on Linux x86_64.",
)
@click.option(
    "--shared-storage",
    is_flag=True,
    help="Use a blob store another registry already uses (both then keep their blobs "
    "there; gc in either needs the other given with --include-registry).",
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
    entities: tuple[str, ...],
    github: bool,
    owners: tuple[str, ...],
    wheelhouse: str | None,
    shared_storage: bool,
    as_json: bool,
) -> None:
    """Create a registry repo at PATH (default: the current directory).

    \b
    registry-tool init my-registry
    registry-tool init team-registry --storage s3://ml-artifacts/registry --region eu-west-1
    registry-tool init team-registry --github --owners @acme/ml-admins
    registry-tool init team-registry --entity my-team
    """
    team = [owner for value in owners for owner in value.replace(",", " ").split()]
    if github and not team:
        raise click.UsageError(
            "--github needs --owners OWNER: who must review changes to what governs the "
            "registry (@org/team, @user or an email)"
        )
    if not github and (owners or wheelhouse):
        raise click.UsageError("--owners and --wheelhouse go with --github")
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
        owners=team,
        wheelhouse=wheelhouse,
        shared_storage=shared_storage,
        entities=list(entities),
    )
    if as_json:
        made = {"name": store.name, "root": str(store.root), "storage": store.config.storage.url}
        emit_json({**made, "owners": team} if github else made)
        return
    line(f"Created registry {store.name!r} at {store.root} (blobs: {store.config.storage.url})")
    if github:
        line(
            "Wrote .github/: the check and site workflows, CODEOWNERS (owners: "
            f"{' '.join(team)}) and the pinned requirements they install"
        )


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
