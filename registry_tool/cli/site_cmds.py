"""Commands on the published registry: site build, site serve."""

from __future__ import annotations

import subprocess
import sys

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
@click.option("--port", default=8000, show_default=True, help="Port on 127.0.0.1.")
@click.option(
    "--out",
    default="site",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the HTML goes.",
)
@click.pass_context
def site_serve(ctx: click.Context, port: int, out: str) -> None:
    """Build the site, then serve it on 127.0.0.1 (Ctrl-C stops)."""
    report = verbs.build_site(out, registry=registry_of(ctx))
    line(f"Serving {report.out} on http://127.0.0.1:{port}/")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(report.out),
        ],
        check=False,
    )


COMMANDS = [site_group]
