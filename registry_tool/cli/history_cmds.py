"""``registry-tool history``: alias and stage moves, from git history."""

from __future__ import annotations

import click

from registry_tool import _verbs as verbs
from registry_tool.cli.options import json_option, registry_of
from registry_tool.cli.render import emit_json, line, table


@click.command("history")
@click.argument("collection", metavar="PROJECT/NAME|model-registry/REGISTRY/COLLECTION")
@click.option("--alias", "--stage", "alias", help="Only this alias (or stage).")
@json_option
@click.pass_context
def history_cmd(ctx: click.Context, collection: str, alias: str | None, as_json: bool) -> None:
    """Who moved which alias (or stage) to which version, when it reached the branch, who
    merged it, by which pull request and why, from git history.

    WHEN is the time the move reached the branch (a merged branch's moves: its merge's
    time). PR comes only from a merge or squash commit of the branch's first-parent
    line, and says which: a direct push that writes "(#N)" in its subject reads as a
    squash, which only the host's "require a pull request" rule can rule out.

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

    def to(v: int | None, error: str | None) -> str:
        return "(unreadable)" if error else "(removed)" if v is None else f"v{v}"

    def pull_request(number: int | None, derived_from: str | None) -> str:
        return "-" if number is None else f"#{number} ({derived_from})"

    # A project alias names its version itself: SOURCE only for a registry's stages.
    # WHEN splits at "T" so that a narrow terminal can wrap it rather than cut it.
    sourced = any(e.source for e in events)
    rows = [
        [
            e.when.replace("T", " ", 1),
            e.alias,
            version(e.previous),
            to(e.version, e.error),
            *([e.source or "-"] if sourced else []),
            e.author,
            e.merged_by,
            pull_request(e.pull_request, e.pull_request_from),
            e.reason or "",
        ]
        for e in events
    ]
    columns = ["WHEN", "ALIAS", "FROM", "TO", "SOURCE", "AUTHOR", "MERGED BY", "PR", "REASON"]
    if not sourced:
        columns.remove("SOURCE")
    # Every cell quotes the repository (names, reasons, git identities): ``table``
    # shows control characters and bidirectional overrides as escapes, never raw.
    table(columns, rows)


COMMANDS = [history_cmd]
