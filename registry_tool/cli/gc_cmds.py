"""Commands that take things away: delete (a version, softly) and gc (unnamed blobs)."""

from __future__ import annotations

import time

import click

from registry_tool import _verbs as verbs
from registry_tool._fmt import human_size
from registry_tool.cli.options import json_option, registry_of
from registry_tool.cli.render import emit_json, line, problem
from registry_tool.errors import UsageError


@click.command("delete")
@click.argument("path", metavar="PROJECT/NAME:vN")
@click.option(
    "--delete-aliases",
    is_flag=True,
    help="Remove the version's aliases (model-registry ones too) in the same commit.",
)
@click.option("--reason", metavar="TEXT", help="Why: kept in the version file and the commit.")
@json_option
@click.pass_context
def delete_cmd(
    ctx: click.Context, path: str, delete_aliases: bool, reason: str | None, as_json: bool
) -> None:
    """Soft-delete a version: mark it deleted, in one commit.

    The version file stays (git keeps its history) and its number is never reused;
    getting or using it is then an error, and 'registry-tool gc' may reclaim the blobs
    no other version names. A version with aliases is refused unless --delete-aliases
    is given; 'latest' moves to the newest version left. A protected stage on a link
    to it always refuses: promote another version to that stage by pull request first
    (registry-tool promote ... --to STAGE --pr).
    """
    outcome = verbs.delete(
        path, delete_aliases=delete_aliases, reason=reason, registry=registry_of(ctx)
    )
    record = outcome.record
    label = f"{record.project}/{record.name}:v{record.version}"
    if as_json:
        emit_json(
            {
                "path": label,
                "deleted": record.deleted.to_doc() if record.deleted else None,
                "removed_aliases": list(outcome.removed_aliases),
                "latest": f"v{outcome.latest}" if outcome.latest is not None else None,
                "commit": outcome.commit,
            }
        )
        return
    text = f"Deleted {label}"
    if outcome.removed_aliases:
        text += f"; removed aliases: {', '.join(outcome.removed_aliases)}"
    latest = f"v{outcome.latest}" if outcome.latest is not None else "none (no version left)"
    line(f"{text}; latest: {latest}")


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option(
    "--grace",
    default=verbs.DEFAULT_GRACE,
    show_default=True,
    metavar="DURATION",
    help="Keep unnamed blobs younger than this (s, m, h, d, w): a log uploads its blobs "
    "before it commits, and this is what protects a log in progress. Under an hour "
    "needs --force.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Run with a --grace under an hour (a log in progress may lose its blobs).",
)
@click.option(
    "--include-registry",
    "include",
    multiple=True,
    metavar="PATH|URL",
    help="Another registry using the same blob store (a clone of it or its git URL): "
    "what its versions name is kept. Needed for every other registry the store records.",
)
@json_option
@click.pass_context
def gc_cmd(
    ctx: click.Context,
    dry_run: bool,
    grace: str,
    force: bool,
    include: tuple[str, ...],
    as_json: bool,
) -> None:
    """Remove blobs that no version on any branch or tag names.

    Every ref is read (local and remote-tracking branches, tags; remotes are fetched
    first). A version whose ttl ran out is soft-deleted first (reason "ttl expired")
    unless an alias or a stage names it. Blobs named only by deleted versions go, unless
    an alias or a stage still names such a version; blobs younger than --grace stay. A store that other
    registries use too (see 'storage set --shared-storage') is collected only with each
    of them given by --include-registry. Anything in the store that is not a blob is
    reported and left.
    """
    seconds = verbs.parse_duration(grace)
    try:
        report = verbs.gc(
            grace=seconds,
            dry_run=dry_run,
            force=force,
            include=include,
            warn=lambda text: problem(f"warning: {text}"),
            registry=registry_of(ctx),
        )
    except UsageError as exc:
        if exc.field == "--grace":
            raise click.UsageError(str(exc)) from None
        raise
    for stray in report.strays:
        problem(f"gc: skipped {stray} in {report.store}: not a blob, left in place")
    for kept in report.ttl_kept:
        problem(f"gc: {kept}")
    if as_json:
        emit_json(report.to_dict())
        return
    now = time.time()
    if dry_run:
        for blob in report.removed:
            age = verbs.format_duration(int((now - blob.modified) // 3600) * 3600.0)
            line(f"sha256:{blob.hexdigest}  {human_size(blob.size)}  {age} old")
    for expired in report.expired:
        line(f"{'would delete' if dry_run else 'deleted'} {expired}: ttl expired")
    verb = "would remove" if dry_run else "removed"
    held = ""
    if report.held:
        held = f" ({report.held} kept for a deleted version an alias or stage names)"
    shared = f" (and of {', '.join(report.shared_with)})" if report.shared_with else ""
    strays = f"; left {_count(len(report.strays), 'stray')} (not blobs)" if report.strays else ""
    line(
        f"{report.store}: {verb} {_blobs(len(report.removed))} "
        f"({human_size(report.removed_bytes)}) of {_blobs(report.blobs)} "
        f"({human_size(report.bytes)}); kept {report.kept} named by versions on "
        f"{report.refs} {'ref' if report.refs == 1 else 'refs'}{shared}{held}, {report.young} "
        f"younger than {verbs.format_duration(seconds)}{strays}"
    )
    if report.recorded:
        line(f"recorded this registry as the user of {report.store}")


def _blobs(n: int) -> str:
    return _count(n, "blob")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


COMMANDS = [delete_cmd, gc_cmd]
