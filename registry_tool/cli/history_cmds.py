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


COMMANDS = [history_cmd]
