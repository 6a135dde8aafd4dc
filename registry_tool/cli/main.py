"""``registry-tool``: the entry point, global options and error handling.

Errors from the library become one line on stderr and exit code 1; usage errors exit 2;
``--traceback`` shows the full trace instead.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from registry_tool import _progress as progress
from registry_tool._version import __version__
from registry_tool.cli import (
    admin_cmds,
    artifacts,
    check_cmds,
    gc_cmds,
    governance_cmds,
    history_cmds,
    registry_cmds,
    site_cmds,
)
from registry_tool.cli.render import error, progress_sink
from registry_tool.errors import RegistryError


class State:
    def __init__(self, registry: str | None, traceback: bool) -> None:
        self.registry = registry
        self.traceback = traceback


class Group(click.Group):
    """Turns library errors into one red line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RegistryError as exc:
            state = ctx.find_object(State)
            if state is not None and state.traceback:
                raise
            error(str(exc))
            raise click.exceptions.Exit(1) from None
        except KeyboardInterrupt:
            error("interrupted")
            raise click.exceptions.Exit(130) from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--registry",
    metavar="PATH|URL",
    help="Registry repo to use (default: $REGISTRY_TOOL_DIR, the nearest registry.yaml "
    "above the working directory, or the embedded default registry).",
)
@click.option("--traceback", is_flag=True, help="Show the full Python traceback on errors.")
@click.version_option(__version__, prog_name="registry-tool")
@click.pass_context
def cli(ctx: click.Context, registry: str | None, traceback: bool) -> None:
    """A Git-backed artifact and model registry with no server.

    Versions, aliases and runs are YAML files in a Git repo; the bytes live in a blob
    store (a local directory by default). Every write is one commit.
    """
    ctx.obj = State(registry, traceback)
    progress.set_sink(progress_sink)


for command in (
    *artifacts.COMMANDS,
    *registry_cmds.COMMANDS,
    *history_cmds.COMMANDS,
    *check_cmds.COMMANDS,
    *governance_cmds.COMMANDS,
    *admin_cmds.COMMANDS,
    *gc_cmds.COMMANDS,
    *site_cmds.COMMANDS,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="registry-tool")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
