"""Commands on artifacts: log, get, ls, show, verify."""

from __future__ import annotations

import click

from registry_tool import _verbs as verbs
from registry_tool._fmt import human_size
from registry_tool._progress import files
from registry_tool.cli.options import json_option, registry_of
from registry_tool.cli.render import emit_json, line, problem, table
from registry_tool.errors import VerificationError


@click.command("log")
@click.argument("path", type=click.Path(exists=True, path_type=str))
@click.option(
    "--name", "full_name", required=True, metavar="PROJECT/NAME", help="Collection to log to."
)
@click.option(
    "--type", "type_", required=True, metavar="TYPE", help="Artifact type: dataset, model, ..."
)
@click.option(
    "--alias",
    "aliases",
    multiple=True,
    metavar="ALIAS",
    help="Alias to set (repeatable); 'latest' moves by itself.",
)
@click.option("--description", help="What this version is.")
@click.option(
    "--metadata", metavar="JSON", help="Metadata as a JSON object, e.g. '{\"accuracy\": 0.9}'."
)
@json_option
@click.pass_context
def log_cmd(
    ctx: click.Context,
    path: str,
    full_name: str,
    type_: str,
    aliases: tuple[str, ...],
    description: str | None,
    metadata: str | None,
    as_json: bool,
) -> None:
    """Log a file or directory as a new version of PROJECT/NAME.

    Content identical to an existing version creates no new version: the aliases are
    applied to that version instead.
    """
    art = verbs.log_path(
        path,
        full_name,
        type_,
        aliases=list(aliases),
        description=description,
        metadata=verbs.parse_metadata(metadata),
        registry=registry_of(ctx),
    )
    result = {
        "path": f"{art.project}/{art.collection_name}:{art.version}",
        "created": art.created,
        "digest": art.digest,
        "size": art.size,
        "files": len(art.files()),
        "aliases": art.aliases,
    }
    if as_json:
        emit_json(result)
        return
    verb = "Logged" if art.created else "Unchanged: already logged as"
    line(
        f"{verb} {result['path']} ({files(len(art.files()))}, {human_size(art.size)}) "
        f"aliases: {', '.join(art.aliases)}"
    )


@click.command("get")
@click.argument("path", metavar="ARTIFACT_PATH")
@click.option("--root", metavar="DIR", help="Where to put the files (default ./artifacts/NAME:vN).")
@json_option
@click.pass_context
def get_cmd(ctx: click.Context, path: str, root: str | None, as_json: bool) -> None:
    """Download a version's files, each verified against its digest.

    ARTIFACT_PATH is [project/]name[:alias|:vN]; no alias means latest.
    """
    art, where = verbs.download(path, root, registry=registry_of(ctx))
    if as_json:
        emit_json({"path": f"{art.project}/{art.collection_name}:{art.version}", "root": where})
    else:
        line(f"Downloaded {art.project}/{art.collection_name}:{art.version} to {where}")


@click.command("ls")
@click.argument("path", metavar="[PROJECT | PROJECT/NAME]", required=False)
@json_option
@click.pass_context
def ls_cmd(ctx: click.Context, path: str | None, as_json: bool) -> None:
    """List artifact collections (of one PROJECT, or all), or the versions of one
    collection (PROJECT/NAME)."""
    if path is not None and "/" in path:
        versions = verbs.list_versions(path, registry=registry_of(ctx))
        if as_json:
            emit_json(versions)
            return
        table(
            ["VERSION", "ALIASES", "DIGEST", "SIZE", "FILES", "CREATED", "RUN"],
            [
                [
                    v["version"] + (" (deleted)" if v["deleted"] else ""),
                    ", ".join(v["aliases"]),
                    v["digest"][:12],
                    human_size(v["size"]),
                    v["files"],
                    v["created_at"],
                    v["run"] or "",
                ]
                for v in versions
            ],
        )
        return
    rows = verbs.list_collections(path, registry=registry_of(ctx))
    if as_json:
        emit_json(rows)
        return
    if not rows:
        line("No artifacts yet.")
        return
    table(
        ["ARTIFACT", "TYPE", "VERSIONS", "LATEST", "ALIASES"],
        [
            [
                r["path"],
                r["type"],
                f"{r['versions']} ({len(r['deleted'])} deleted)"
                if r.get("deleted")
                else r["versions"],
                r["latest"],
                ", ".join(f"{a}={v}" for a, v in r["aliases"].items() if a != "latest"),
            ]
            for r in rows
        ],
    )


@click.command("show")
@click.argument("path", metavar="ARTIFACT_PATH")
@json_option
@click.pass_context
def show_cmd(ctx: click.Context, path: str, as_json: bool) -> None:
    """Show one version: aliases, digest, metadata, run and files."""
    info = verbs.describe(path, registry=registry_of(ctx))
    if as_json:
        emit_json(info)
        return
    line(f"{info['qualified_name']}  ({info['type']})")
    if info["link"]:
        line(f"  links: {info['path']}")
    if info.get("deleted"):
        gone = info["deleted"]
        why = f": {gone['reason']}" if gone.get("reason") else ""
        line(f"  DELETED {gone['at']} by {gone['by']}{why}")
    for key in ("digest", "created_at", "run", "description"):
        if info[key]:
            line(f"  {key}: {info[key]}")
    line(f"  size: {human_size(info['size'])} in {files(len(info['files']))}")
    line(f"  aliases: {', '.join(info['aliases']) or '-'}")
    if info["tags"]:
        line(f"  tags: {', '.join(info['tags'])}")
    if info["ttl"] is not None:
        line(f"  ttl: {info['ttl']} s")
    if info["metadata"]:
        line("  metadata:")
        for key, value in info["metadata"].items():
            line(f"    {key}: {value}")
    table(
        ["FILE", "SIZE", "DIGEST"],
        [[f["path"], human_size(f.get("size")), f["digest"][:19]] for f in info["files"][:200]],
    )
    if len(info["files"]) > 200:
        line(f"... and {len(info['files']) - 200} more files (use --json for all)")


@click.command("verify")
@click.argument("path", metavar="ARTIFACT_PATH", required=False)
@click.option("--root", metavar="DIR", help="Directory holding the downloaded files.")
@click.option(
    "--all",
    "check_all",
    is_flag=True,
    help="Instead: check every blob every version names, in the blob store, against its digest.",
)
@json_option
@click.pass_context
def verify_cmd(
    ctx: click.Context, path: str | None, root: str | None, check_all: bool, as_json: bool
) -> None:
    """Check files under DIR against a version: missing, extra and changed files.

    With --all (no ARTIFACT_PATH): read every blob that a version of the registry
    names from the blob store (local or S3), each distinct blob once, and report every
    one that is missing or whose bytes do not hash to its digest, with the versions and
    files that name it. Soft-deleted versions are skipped.

    Exits 1 when anything differs.

    \b
    registry-tool verify my-project/data:v3 --root ./artifacts/data:v3
    registry-tool verify --all
    """
    if check_all:
        if path or root:
            raise click.UsageError("--all checks the blob store: give no ARTIFACT_PATH or --root")
        _verify_all(ctx, as_json)
        return
    if not path or not root:
        raise click.UsageError("give ARTIFACT_PATH and --root DIR, or --all")
    try:
        report = verbs.verify(path, root, registry=registry_of(ctx))
    except VerificationError as exc:
        if as_json and exc.report is not None:
            emit_json({"ok": False, **_report(exc.report)})
            raise click.exceptions.Exit(1) from None
        raise
    if as_json:
        emit_json({"ok": True, **_report(report)})
    else:
        line(str(report))


def _verify_all(ctx: click.Context, as_json: bool) -> None:
    report = verbs.verify_all(registry=registry_of(ctx))
    if as_json:
        emit_json(report.to_dict())
    else:
        for bad in report.bad:
            problem(f"{bad.artifact}:v{bad.version}: {bad.path}: {bad.digest}: {bad.problem}")
        skipped = f", {_count(report.deleted, 'deleted version')} skipped" if report.deleted else ""
        line(
            f"{_count(report.blobs, 'blob')} ({human_size(report.bytes)}) named by "
            f"{files(report.files)} of {_count(report.versions, 'version')} checked in "
            f"{report.store}{skipped}: {len(report.bad)} bad"
        )
    if not report.ok:
        raise click.exceptions.Exit(1)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _report(report: verbs.VerifyReport) -> dict[str, object]:
    return {
        "root": report.root,
        "missing": report.missing,
        "extra": report.extra,
        "changed": report.changed,
    }


COMMANDS = [log_cmd, get_cmd, ls_cmd, show_cmd, verify_cmd]
