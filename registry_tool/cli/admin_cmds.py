"""Commands on registry-tool's own machinery: cache info|cleanup, storage set|sync."""

from __future__ import annotations

import click

from registry_tool import _verbs as verbs
from registry_tool._fmt import human_size
from registry_tool.cli.options import json_option, registry_of
from registry_tool.cli.render import emit_json, line, problem


@click.group("cache")
def cache_group() -> None:
    """Inspect and trim the local blob cache.

    Blobs downloaded from a remote store are kept in $REGISTRY_TOOL_CACHE_DIR (default:
    the XDG cache dir), up to $REGISTRY_TOOL_CACHE_MAX_SIZE (default 20GiB); the least
    recently used go first when it is full.
    """


@cache_group.command("info")
@json_option
def cache_info_cmd(as_json: bool) -> None:
    """Where the cache is, how many blobs and bytes it holds, and its size bound."""
    info = verbs.cache_info()
    if as_json:
        emit_json(info.to_dict())
        return
    line(f"path:     {info.path}")
    line(f"blobs:    {info.blobs}")
    line(f"size:     {human_size(info.bytes)} ({info.bytes} bytes)")
    line(f"max size: {human_size(info.max_size)} ({info.max_size} bytes)")
    if info.tmp_files:
        line(f"temp files: {info.tmp_files}")


@cache_group.command("cleanup")
@click.option(
    "--max-size",
    metavar="SIZE",
    help=f"Trim the cache to this size ({verbs.CACHE_SIZE_HELP}; 0 empties it). "
    "Default: the configured bound.",
)
@json_option
def cache_cleanup_cmd(max_size: str | None, as_json: bool) -> None:
    """Evict least recently used blobs until the cache fits its bound.

    Temp files of fetches that died more than an hour ago go too. Exits 1 when a blob
    could not be removed.
    """
    report = verbs.cache_cleanup(max_size)
    if as_json:
        emit_json({"ok": report.ok, **report.to_dict()})
    else:
        for failure in report.failed:
            problem(f"could not remove {failure}")
        line(
            f"removed {_count(len(report.removed), 'blob')} ({human_size(report.freed)}); "
            f"{_count(report.blobs, 'blob')} ({human_size(report.bytes)}) left, "
            f"bound {human_size(report.max_size)}"
        )
    if not report.ok:
        raise click.exceptions.Exit(1)


@click.group("storage")
def storage_group() -> None:
    """Move the registry's blobs to another store."""


@storage_group.command("set")
@click.argument("url")
@click.option("--endpoint-url", metavar="URL", help="S3 endpoint (SeaweedFS, MinIO, R2, ...).")
@click.option("--region", help="S3 region.")
@click.option("--profile", help="AWS profile whose credentials to use.")
@click.option(
    "--path-style/--no-path-style",
    default=None,
    help="S3 path-style addressing (default: on when --endpoint-url is given).",
)
@click.option(
    "--shared-storage",
    is_flag=True,
    help="Use the store though another registry uses it too. gc in any registry using "
    "it then needs the others, given with --include-registry.",
)
@json_option
@click.pass_context
def storage_set_cmd(
    ctx: click.Context,
    url: str,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    path_style: bool | None,
    shared_storage: bool,
    as_json: bool,
) -> None:
    """Point the registry at the blob store URL, in one commit.

    URL is s3://bucket/prefix, a file:// URL or a directory (relative to the
    registry). The old store is kept as previous_storage in registry.yaml; run
    'registry-tool storage sync' to copy the blobs over. The store records which
    registries use it (a used-by/ folder in it); one that another registry uses is
    refused unless --shared-storage is given. Credentials never go in the URL or the
    options: they come from the AWS credential chain.
    """
    result = verbs.storage_set(
        url,
        endpoint_url=endpoint_url,
        region=region,
        profile=profile,
        path_style=path_style,
        shared_storage=shared_storage,
        registry=registry_of(ctx),
    )
    if as_json:
        emit_json(result.to_dict())
    elif not result.changed:
        line(f"storage is already {result.storage.url}")
        if result.recorded:
            line(f"recorded this registry as a user of {result.storage.url}")
    else:
        was = result.previous.url if result.previous else "-"
        line(f"storage: {result.storage.url} (was {was})")
        line("run 'registry-tool storage sync' to copy the blobs to it")


@storage_group.command("sync")
@click.option(
    "--from",
    "from_url",
    metavar="URL",
    help="Copy from this store instead of registry.yaml's previous_storage.",
)
@json_option
@click.pass_context
def storage_sync_cmd(ctx: click.Context, from_url: str | None, as_json: bool) -> None:
    """Copy every blob the registry's versions name into the current store.

    Blobs the store has are skipped and every copy is verified, so running it again
    resumes an interrupted sync. Exits 1 when a blob is missing from the source.
    """
    report = verbs.storage_sync(from_url, registry=registry_of(ctx))
    if as_json:
        emit_json(report.to_dict())
    else:
        for what, found in (("missing from", report.missing), ("corrupt in", report.corrupt)):
            for digest, versions in sorted(found.items()):
                problem(
                    f"sha256:{digest} is {what} {report.source} (needed by {', '.join(versions)})"
                )
        line(
            f"{report.source} -> {report.target}: {_count(report.blobs, 'blob')} named by "
            f"{_count(report.versions, 'version')}; {report.present} already there, "
            f"{report.copied} copied ({human_size(report.bytes_copied)}), "
            f"{len(report.missing)} missing in the source"
            + (f", {len(report.corrupt)} corrupt" if report.corrupt else "")
        )
    if not report.ok:
        raise click.exceptions.Exit(1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


COMMANDS = [cache_group, storage_group]
