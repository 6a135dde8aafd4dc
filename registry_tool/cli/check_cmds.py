"""``registry-tool check``: validate a registry or a change, with GitHub annotations
and a step summary under GitHub Actions."""

from __future__ import annotations

import os
from pathlib import Path

import click

from registry_tool import _verbs as verbs
from registry_tool.cli.options import json_option, registry_of
from registry_tool.cli.render import emit_json, line, problem


@click.command("check")
@click.option(
    "--base", metavar="REF", help="Judge the change from REF (e.g. the PR's base) to --head."
)
@click.option("--head", metavar="REF", help="The change's tip (default HEAD).")
@click.option(
    "--main-branch",
    default="main",
    show_default=True,
    help="The branch protected aliases may not change on directly.",
)
@click.option(
    "--verify-blobs",
    is_flag=True,
    help="Also check that every blob an added version names is in storage.",
)
@click.option(
    "--deep",
    is_flag=True,
    help="Also recompute the digest of every version from its manifest and every link's "
    "source digest (with --base: of the whole head, not only the changed files).",
)
@json_option
@click.pass_context
def check_cmd(
    ctx: click.Context,
    base: str | None,
    head: str | None,
    main_branch: str,
    verify_blobs: bool,
    deep: bool,
    as_json: bool,
) -> None:
    """Validate the registry: every file, or with --base the change a pull request makes.

    With --base: changed files must be schema-valid; versions and links are never
    modified or deleted (a version may only gain the soft-delete mark); aliases name
    existing versions; stage aliases meet their gates and order; protected aliases
    change only by pull request, and never in the same change as their registry's
    gates or protection (merge that change alone first). No registry.yaml may hold
    credentials. Exits 1 on any problem. Under GitHub Actions it also writes ::error
    annotations and a step summary.
    """
    report = verbs.check(
        base=base,
        head=head,
        main_branch=main_branch,
        verify_blobs=verify_blobs,
        deep=deep,
        registry=registry_of(ctx),
    )
    if as_json:
        emit_json(
            {
                "ok": report.ok,
                "files": report.files,
                "problems": [p.to_dict() for p in report.problems],
            }
        )
    else:
        for found in report.problems:
            problem(str(found))
        line(f"{report.files} files checked, {len(report.problems)} problems")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        github_report(report, root=report.root or verbs.registry_root(registry_of(ctx)))
    if not report.ok:
        raise click.exceptions.Exit(1)


def github_report(report: verbs.CheckReport, *, root: Path) -> None:
    """``::error`` annotations on stdout and a markdown summary for the job page."""
    for found in report.problems:
        line_no = _line_of(root / found.path, found.field)
        message = str(found.message).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        click.echo(f"::error file={found.path},line={line_no}::{found.field}: {message}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return
    rows = ["## registry-tool check", ""]
    if report.ok:
        rows.append(f"All {report.files} changed files pass.")
    else:
        rows += ["| File | Field | Problem |", "|---|---|---|"]
        for found in report.problems:
            cells = [found.path, found.field, found.message]
            rows.append(
                "| " + " | ".join(c.replace("|", "\\|").replace("<", "&lt;") for c in cells) + " |"
            )
    with open(summary, "a", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")


def _line_of(path: Path, field: str) -> int:
    """The line of the first key of a JSON path like $.gates.production (else 1)."""
    key = field.removeprefix("$.").split(".")[0].split("[")[0]
    try:
        for number, text in enumerate(path.read_text("utf-8").splitlines(), 1):
            if key and text.startswith(f"{key}:"):
                return number
    except OSError:
        pass
    return 1


COMMANDS = [check_cmd]
