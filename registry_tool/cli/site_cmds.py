"""Commands on the published registry: site build, site serve."""

from __future__ import annotations

import contextlib
import signal
from types import FrameType

import click

from registry_tool import _verbs as verbs
from registry_tool.cli.options import json_option, registry_of
from registry_tool.cli.render import emit_json, line, problem


@click.group("site")
def site_group() -> None:
    """The registry as a static mkdocs-material site with lineage graphs."""


@site_group.command("build")
@click.option(
    "--out",
    default="site",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the HTML goes.",
)
@click.option(
    "--templates",
    type=click.Path(exists=True, file_okay=False),
    help="Jinja2 templates that override the packaged ones, file by file.",
)
@click.option("--no-strict", is_flag=True, help="Do not fail on mkdocs warnings.")
@json_option
@click.pass_context
def site_build(
    ctx: click.Context, out: str, templates: str | None, no_strict: bool, as_json: bool
) -> None:
    """Render the registry's pages and build the site with mkdocs.

    mkdocs builds the navigable pages; the many others (collections, versions,
    runs) are set into the theme's page by registry-tool, only those that changed.
    """
    report = verbs.build_site(
        out, templates=templates, strict=not no_strict, registry=registry_of(ctx)
    )
    for warning in report.warnings:
        problem(f"warning: {warning}")
    if as_json:
        emit_json(
            {
                "index": str(report.index),
                "pages": report.pages,
                "written": report.written,
                "removed": report.removed,
                "seconds": round(report.seconds, 2),
                "dot": report.dot,
            }
        )
    else:
        line(f"Built {report.pages} pages ({report.written} changed) in {report.seconds:.1f} s")
        line(f"Open {report.index.as_uri()}")


@site_group.command("serve")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--out",
    default="site",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the HTML goes.",
)
@click.pass_context
def site_serve(ctx: click.Context, port: int, out: str) -> None:
    """Build the site, then serve it on 127.0.0.1 (Ctrl-C stops).

    The server runs in this process and the port is taken before the build, so a busy
    port is one line at once, and stopping the command (Ctrl-C, SIGTERM) leaves
    nothing running.
    """
    server = verbs.site_server(out, port)
    try:
        report = verbs.build_site(out, registry=registry_of(ctx))
        bound = server.server_address[1]
        line(f"Serving {report.out} on http://127.0.0.1:{bound}/")
        # Both, explicitly: a process started with SIGINT ignored (a job a script put in
        # the background, a test runner's worker) would otherwise keep serving on Ctrl-C.
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C or SIGTERM: done, not failed
            server.serve_forever()
    finally:
        server.server_close()


def _stop(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends serving as Ctrl-C does: the socket closed, the command done."""
    raise KeyboardInterrupt


COMMANDS = [site_group]
