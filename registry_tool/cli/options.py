"""Options and helpers every command group shares."""

from __future__ import annotations

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def registry_of(ctx: click.Context) -> str | None:
    """The ``--registry`` given to the top-level command (None: the usual search)."""
    return ctx.find_root().obj.registry  # type: ignore[no-any-return]
