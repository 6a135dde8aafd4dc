"""``registry-tool check``: validate a registry or a change, with GitHub annotations
and a step summary under GitHub Actions."""

from __future__ import annotations

import os
from pathlib import Path

import click

from registry_tool import _verbs as verbs
from registry_tool._escape import md_cell, printable, workflow_command_escape
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
@click.option(
    "--ci",
    is_flag=True,
    help="In GitHub Actions: take the change from the event (GITHUB_EVENT_NAME and "
    "GITHUB_EVENT_PATH): a pull request's merge commit against its base, a merge "
    "group's commit, or a push to main (before..after, with how each protected stage "
    "arrived and every protected stage's holder judged).",
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
    ci: bool,
    as_json: bool,
) -> None:
    """Validate the registry: every file, or with --base the change a pull request makes.

    With --base: changed files must be schema-valid; versions and links are never
    modified or deleted (a version may only gain the soft-delete mark); aliases name
    existing versions; stage aliases meet their gates and order; protected aliases
    change only by pull request, and never in the same change as their registry's
    gates or protection (merge that change alone first). No registry.yaml may hold
    credentials. A protected stage moves only to a link and version already on the
    base. Without --base, every protected stage's current holder is also judged
    against its gates and order. Exits 1 on any problem. Under GitHub Actions it also
    writes ::error annotations and a step summary.
    """
    report = verbs.check(
        base=base,
        head=head,
        main_branch=main_branch,
        verify_blobs=verify_blobs,
        deep=deep,
        ci=ci,
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
    """``::error`` annotations on stdout and a markdown summary for the job page.

    A problem's path, field and message come from the change being judged, so the
    author of a pull request chooses them: each is escaped for where it goes, one
    annotation line per problem whatever it holds. The ``file=`` property keeps the
    real path (GitHub decodes its escapes and attaches the annotation to that file);
    the message is shown with its control characters as visible escapes, on one line.
    """
    for found in report.problems:
        line_no = _line_of(root / found.path, found.field)
        where = workflow_command_escape(found.path, property=True)
        message = workflow_command_escape(printable(f"{found.field}: {found.message}"))
        click.echo(f"::error file={where},line={line_no}::{message}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return
    rows = ["## registry-tool check", ""]
    if report.ok:
        rows.append(f"All {report.files} changed files pass.")
    else:
        rows += ["| File | Field | Problem |", "|---|---|---|"]
        for found in report.problems:
            cells = (found.path, found.field, found.message)
            rows.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
    with open(summary, "a", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")


def _line_of(path: Path, field: str) -> int:
    """The line of the first key of a JSON path like $.gates.production (else 1)."""
    key = field.removeprefix("$.").split(".")[0].split("[")[0]
    try:
        for number, text in enumerate(path.read_text("utf-8").splitlines(), 1):
            if key and text.startswith(f"{key}:"):
                return number
    except (OSError, ValueError):
        pass  # a path no file has (a deleted one, a name the OS refuses): line 1
    return 1


COMMANDS = [check_cmd]
