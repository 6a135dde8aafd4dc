"""``registry-tool``: the entry point, global options and error handling.

Errors from the library become one line on stderr and exit code 1; usage errors exit 2
(click's own, and a library error that carries ``exit_code = 2``, such as a setting
with a value it cannot take); ``--traceback`` shows the full trace instead. click's
own messages quote the command line, which a script may have filled from a registry:
they are made inert as every other line is.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import click

from registry_tool import _progress as progress
from registry_tool._escape import log_line
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


def _one_line_warning(
    message: Warning | str, category: type[Warning], *args: object, **kwargs: object
) -> str:
    """A library warning (files ``add_dir`` skipped, say) as the CLI's own lines are: one
    ``warning: ...`` line, its text inert, without Python's source location."""
    return f"warning: {log_line(str(message))}\n"


warnings.formatwarning = _one_line_warning


class State:
    def __init__(self, registry: str | None, traceback: bool) -> None:
        self.registry = registry
        self.traceback = traceback


def _inert(exc: click.ClickException) -> click.ClickException:
    """click's error, or when the text it quotes (an argument, an option's value) holds
    control characters, the same error with them shown as escapes, line by line: click
    prints its message as it is."""
    message = exc.format_message()
    text = "\n".join(log_line(part) for part in message.split("\n"))
    if text == message:
        return exc
    if isinstance(exc, click.UsageError):
        return click.UsageError(text, exc.ctx)
    return click.ClickException(text)


class Group(click.Group):
    """Turns library errors into one red line and exit code 1 (or the error's own
    ``exit_code``), and makes click's usage errors inert."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            raise _inert(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RegistryError as exc:
            state = ctx.find_object(State)
            if state is not None and state.traceback:
                raise
            error(str(exc))
            raise click.exceptions.Exit(getattr(exc, "exit_code", 1)) from None
        except click.ClickException as exc:
            raise _inert(exc) from None
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
