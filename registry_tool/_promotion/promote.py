"""Promotion: move a stage to a registry version, checked against the stage's gates,
directly or (for a protected stage) on a ``promote/...`` branch with a pull request.

A promotion is judged against the base its pull request merges into: the remote's
branch as fetched now (``upstream``'s when the clone has an ``upstream`` remote and
``origin`` is a fork), never the clone's own copy, which may be stale or hold commits
the remote lacks. The branch holds one commit on that base, the stage's alias file:
introducing a version and promoting it are separate reviews (``check`` refuses a pull
request that links and promotes at once), so a version not linked on the base yet is
linked on main first by the normal write path (which pushes), and a link that exists
only in this clone is refused with the command that pushes it.

A ``promote/...`` branch left by an earlier attempt is reused when it is this
promotion's commit on the current base, replaced when it is this promotion's on an
older base (force-with-lease on that branch alone, never on main), and otherwise
reported with the command that clears it.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from registry_tool import _yamlio as yamlio
from registry_tool._engine import Context
from registry_tool._engine.context import Resolved
from registry_tool._engine.edits import merged
from registry_tool._model.gates import GateResult, parse_condition
from registry_tool._model.governance import LinkRecord
from registry_tool._model.layout import registry_alias_file
from registry_tool._model.names import parse_artifact_path, validate_alias, validate_line
from registry_tool._model.records import VersionRecord
from registry_tool._promotion.links import existing_link, link_version, set_aliases, stage_changes
from registry_tool._promotion.stages import StageCheck, check_stage, require
from registry_tool._store import Change, Snapshot, registries
from registry_tool.errors import (
    DocumentError,
    GitError,
    NotFoundError,
    ProtectedAliasError,
    UsageError,
)

if TYPE_CHECKING:
    from registry_tool._github import PullRequest

_OPERATORS = {">=": "≥", "<=": "≤", "==": "=", "!=": "≠", ">": ">", "<": "<"}
# Characters a reader cannot see or that reorder text (controls, zero-width, bidi
# overrides): shown as escapes so a value cannot hide what it says.
_HIDDEN = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
# A metadata key shown as it is after "metadata.", a job type after "(": nothing in
# them can open emphasis, a link or an autolink (no "_", "*", "[", ":", "@"; no "." where
# "www." could start a link).
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_WORD = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class Promotion:
    """What ``promote`` did: the check, the commit and, with ``--pr``, the branch and PR.
    ``base`` is what it was judged against (``origin/main``; the branch alone without
    a remote)."""

    link: LinkRecord
    source: VersionRecord
    stage: str
    verdict: StageCheck
    previous: int | None
    mode: str
    commit: str | None
    message: str
    branch: str | None = None
    pull_request: PullRequest | None = None
    base: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class _Base:
    """The branch a promotion merges into, as the remote has it: ``remote`` holds it
    (None without a remote), ``push_remote`` takes the promotion branch (``origin``,
    a fork's when ``remote`` is ``upstream``)."""

    branch: str
    snap: Snapshot
    remote: str | None
    push_remote: str | None

    @property
    def where(self) -> str:
        return f"{self.remote}/{self.branch}" if self.remote else self.branch

    @property
    def fork(self) -> bool:
        return self.remote != self.push_remote


def promote(
    ctx: Context,
    path: str,
    stage: str,
    *,
    reason: str | None = None,
    mode: str = "auto",
    registry: str | None = None,
) -> Promotion:
    """Move ``stage`` to a version, checked against the stage's gates on the base.

    ``mode``: ``pr`` commits the move on a ``promote/...`` branch, pushes it and opens
    a pull request; ``direct`` commits on the current branch (refused for protected
    stages); ``auto`` is ``pr`` for protected stages and ``direct`` otherwise.
    """
    if mode not in ("auto", "pr", "direct"):
        raise UsageError(f"promotion mode {mode!r}: use pr, direct or auto")
    validate_alias(stage)
    if reason is not None:
        validate_line(reason, field="$.reason")  # before a link or a branch is written
    base = _base(ctx)
    link, source, base = _target(ctx, path, base, registry)
    snap = base.snap
    config = registries.read_config(ctx.store, snap, link.registry)
    assert config is not None  # _target found the link in a registry the base has
    if config.stages and stage not in config.stages:
        raise UsageError(
            f"{stage!r} is not a stage of model-registry/{config.name} "
            f"(stages: {', '.join(config.stages)})"
        )
    verdict = require(check_stage(ctx, snap, config, link, source, stage), link, stage)
    protected = stage in config.protected
    if mode == "direct" and protected:
        raise ProtectedAliasError(
            f"{stage!r} is protected in model-registry/{config.name}: promote through a "
            f"pull request: registry-tool promote {link.path} --to {stage} --pr"
        )
    chosen = "pr" if mode == "pr" or (mode == "auto" and protected) else "direct"
    current = registries.read_alias(ctx.store, snap, config.name, link.collection, stage)
    previous = current.version if current else None
    message = promotion_message(ctx, link, source, stage, verdict, previous, reason)
    done = Promotion(link, source, stage, verdict, previous, chosen, None, message)
    done = replace(done, base=base.where, reason=reason)
    if previous == link.version:
        return done
    if chosen == "direct":
        here = registries.read_link(
            ctx.store, ctx.store.head(), link.registry, link.collection, link.version
        )
        if base.remote is not None and here != link:
            raise UsageError(
                f"this clone is behind {base.where}, where {link.path} is: "
                f"git -C {ctx.store.root} pull --ff-only, then promote again"
            )
        commit = set_aliases(ctx, link, add=[stage], reason=reason, message=message)
        return replace(done, commit=commit)
    return _promote_by_pr(ctx, base, done)


def _base(ctx: Context) -> _Base:
    """Fetch the branch a promotion merges into and snapshot it."""
    store = ctx.store
    branch = store.git.current_branch()
    if branch is None:
        raise UsageError(f"{store.root} has a detached HEAD: check out the main branch to promote")
    remotes = store.git.remote_names()
    fork = "upstream" in remotes and "origin" in remotes
    remote = "upstream" if fork else store.remote()
    push = "origin" if fork else remote
    if remote is None:
        return _Base(branch, store.head(), None, None)
    tracking = f"refs/remotes/{remote}/{branch}"
    proc = store.git.run(
        "fetch", "--quiet", "--no-tags", remote, f"+refs/heads/{branch}:{tracking}", check=False
    )
    if proc.returncode != 0:
        detail = _detail(proc.stderr)
        if "couldn't find remote ref" in detail:
            raise UsageError(
                f"{remote!r} has no branch {branch!r} for a promotion to merge into: push it "
                f"first: git -C {store.root} push {remote} {branch}"
            )
        raise GitError(
            f"could not fetch {branch!r} from {remote!r}, which a promotion is judged "
            f"against: {detail}"
        )
    return _Base(branch, store.snapshot(tracking), remote, push)


def _target(
    ctx: Context, path: str, base: _Base, registry: str | None
) -> tuple[LinkRecord, VersionRecord, _Base]:
    """The link and source version ``path`` names on the base; a source version not
    linked there yet is linked on main first (the base is then read again). The model
    registry must be on the base: linking would create a registry of that name, with
    no stage protected, and a mistyped name would then move a stage without review."""
    found = _resolve_on(ctx, path, base)
    if found.link is not None:
        return found.link, found.record, base  # a registry path: its registry is on the base
    source = found.record
    name = registry or _only_registry(base.snap)
    if registries.read_config(ctx.store, base.snap, name) is None:
        raise NotFoundError(f"there is no model registry {name!r} on {base.where}")
    link = existing_link(ctx, base.snap, name, source.name, source.digest)
    if link is not None:
        return link, source, base
    if base.fork:
        raise UsageError(
            f"{source.project}/{source.name}:v{source.version} is not linked into "
            f"model-registry/{name} on {base.where}: link it there first (registry-tool link "
            f"{path} model-registry/{name}, by a pull request into {base.where}), then promote"
        )
    link = link_version(ctx, source, f"model-registry/{name}/{source.name}")
    # The write pushed (and moved the remote-tracking branch) or failed: read it again.
    store = ctx.store
    tip = store.snapshot(f"refs/remotes/{base.remote}/{base.branch}") if base.remote else None
    base = replace(base, snap=tip if tip is not None else store.head())
    if registries.read_link(store, base.snap, name, link.collection, link.version) != link:
        raise _only_here(ctx, base, link.path)
    return link, source, base


def _resolve_on(ctx: Context, path: str, base: _Base) -> Resolved:
    """``path`` resolved on the base; when only this clone has it, an error that says so
    (and how to get it there)."""
    try:
        return ctx.resolve_ref(parse_artifact_path(path), snap=base.snap)
    except NotFoundError as missing:
        if base.remote is None:
            raise
        try:
            here = ctx.resolve_ref(parse_artifact_path(path))  # on this clone's branch
        except NotFoundError:
            raise missing from None  # not here either: the base's own words
        record = here.record
        what = here.link.path if here.link else f"{record.project}/{record.name}:v{record.version}"
        raise _only_here(ctx, base, what) from None


def _only_here(ctx: Context, base: _Base, what: str) -> UsageError:
    if base.fork:
        fix = (
            f"get it there first: push {base.branch} to {base.push_remote!r} and merge a pull "
            f"request of it into {base.where}"
        )
    else:
        fix = f"push it first: git -C {ctx.store.root} push {base.remote} {base.branch}"
    return UsageError(
        f"{what} is in this clone but not on {base.where}, the base a promotion is judged "
        "against and merges into (a promotion only moves the stage to a version already "
        f"linked there): {fix}"
    )


def _only_registry(snap: Snapshot) -> str:
    names = registries.names(snap)
    if len(names) == 1:
        return names[0]
    raise UsageError(
        "say which model registry to promote in (--registry NAME)"
        + (f"; there are {', '.join(names)}" if names else "; there is none yet")
    )


def _trailer(link: LinkRecord, stage: str) -> str:
    return f"Registry-Tool-Promotion: {link.registry}/{link.collection}/{stage}/v{link.version}"


def promotion_message(
    ctx: Context,
    link: LinkRecord,
    source: VersionRecord,
    stage: str,
    verdict: StageCheck,
    previous: int | None,
    reason: str | None,
) -> str:
    lines = [f"promote {link.path} to {stage}", ""]
    lines.append(f"Who: {ctx.author()}")
    lines.append(f"What: {link.source_path} (digest {source.digest[:12]})")
    lines.append(f"Why: {reason or '(no reason given)'}")
    lines.append(f"Previous: {'v' + str(previous) if previous is not None else 'none'}")
    for result in verdict.results:
        lines.append(
            f"Gate: {result.condition} -> {'pass' if result.passed else 'FAIL'} ({result.detail})"
        )
    if verdict.previous_stage:
        lines.append(
            f"Gate: held {verdict.previous_stage} -> {'pass' if verdict.held_previous else 'FAIL'}"
        )
    lines.append(_trailer(link, stage))
    return "\n".join(lines)


# -- the pull request's body -------------------------------------------------------------


def _text(value: object) -> str:
    """A value as one line of visible text (JSON for anything but a string)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "↵")
    return _HIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _code(value: object, *, cell: bool = True) -> str:
    """A value from the registry as a Markdown code span, where GitHub makes no link,
    image, mention, issue reference or HTML of anything. The fence is longer than any
    run of backticks inside; in a table cell ``|`` is escaped, as GFM splits cells on it
    even inside a code span."""
    text = _text(value)
    if not text:
        return "*(empty)*"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.strip(" ") and (text[0] == text[-1] == " " or "`" in (text[0], text[-1])):
        text = f" {text} "  # one space each side, which the code span strips again
    return f"{fence}{text}{fence}".replace("|", "\\|") if cell else f"{fence}{text}{fence}"


def _fenced(text: str) -> str:
    """Free text (a reason) as a fenced code block: shown as written, rendered as nothing."""
    lines = [_HIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", line) for line in text.splitlines()]
    fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`+", text))])
    return "\n".join([f"{fence}text", *lines, fence])


def _verdict(result: GateResult) -> str:
    """``f1 0.94 ≥ 0.9``: the value, the operator, the threshold."""
    condition = parse_condition(result.condition)
    missing = result.actual is None and "not in the metadata" in result.detail
    actual = "(missing)" if missing else _text(result.actual)
    threshold = _text(condition.value)
    return f"{condition.label} {actual} {_OPERATORS[condition.op]} {threshold}"


def run_page(snap: Snapshot, project: str, run_id: str) -> str | None:
    """The run's page on the published site, when the registry's ``mkdocs.yml`` names
    the site's https address (``site_url``); the site writes pages as ``.html``."""
    return site_page(snap, "runs", project, f"{run_id}.html")


def site_page(snap: Snapshot, *segments: str) -> str | None:
    """The page ``segments`` (each quoted as one path segment) on the published site, when
    ``mkdocs.yml`` names an https ``site_url``: the one source of every page URL."""
    data = snap.read("mkdocs.yml")
    try:
        config = yamlio.loads(data, "mkdocs.yml") if data else None
    except DocumentError:
        return None
    site = config.get("site_url") if isinstance(config, dict) else None
    if not isinstance(site, str):
        return None
    parts = urllib.parse.urlsplit(site)
    if parts.scheme != "https" or not _HOST.match(parts.netloc) or parts.query or parts.fragment:
        return None
    folder = urllib.parse.quote(parts.path.rstrip("/"))  # "/" is kept by default
    page = "/".join(urllib.parse.quote(p, safe="") for p in segments)
    return f"https://{parts.netloc}{folder}/{page}"


_NONE: Any = object()  # no value: the stage has no holder, or a key is not there


def _shown(value: object) -> str:
    """A metadata value: a number, boolean or null as it is (nothing in it renders),
    anything else as a code span."""
    if value is _NONE:
        return "*(none)*"
    if value is None or isinstance(value, (bool, int, float)):
        return _text(value)
    return _code(value)


def pull_request_body(promotion: Promotion, ctx: Context, snap: Snapshot | None = None) -> str:
    """The pull request's description: what moves, why, the gate verdicts, the source
    run and what changes against the stage's current holder, read on ``snap`` (the
    base; the current branch by default). Registry values are inert (``_code``)."""
    snap = snap or ctx.store.head()
    link, source, stage = promotion.link, promotion.source, promotion.stage
    out = ["| | |", "|---|---|", f"| Stage | {_code(stage)} |"]
    out.append(f"| Registry version | {_code(link.path)} |")
    out.append(f"| Source version | {_code(link.source_path)} |")
    out.append(f"| Digest | {_code(source.digest)} |")
    run = ctx.store.read_run(snap, source.project, source.run) if source.run else None
    if run is not None:
        page = run_page(snap, run.project, run.id)
        shown = f"{_code(run.id)} (job type {_code(run.job_type or 'none')})"
        out.append(f"| Source run | {shown}{f' [run page]({page})' if page else ''} |")
    out.append(f"| Promoted by | {_code(ctx.author())} |")
    if run is not None:
        inputs = ", ".join(_code(u.path, cell=False) for u in run.inputs) or "none"
        job = run.job_type or "run"
        job = job if _WORD.match(job) else _code(job, cell=False)
        run_id, made = _code(run.id, cell=False), _code(link.source_path, cell=False)
        out += ["", f"Lineage: {inputs} → run {run_id} ({job}) → {made}"]
    out += ["", "**Why**", "", _fenced(promotion.reason or "(no reason given)"), ""]
    verdict = promotion.verdict
    if verdict.results or verdict.previous_stage:
        out += ["| Gate | Verdict | Result |", "|---|---|---|"]
        for r in verdict.results:
            result = "pass" if r.passed else "FAIL"
            out.append(f"| {_code(r.condition)} | {_code(_verdict(r))} | {result} |")
        if verdict.previous_stage:
            result = "pass" if verdict.held_previous else "FAIL"
            out.append(f"| held {_code(verdict.previous_stage)} first | | {result} |")
    else:
        out.append(f"{_code(stage, cell=False)} has no gates.")
    out += ["", *_holder_diff(ctx, snap, promotion)]
    out += ["", "Checked by `registry-tool check` in CI; merging this moves the stage."]
    return "\n".join(out)


def _holder_diff(ctx: Context, snap: Snapshot, promotion: Promotion) -> list[str]:
    """The stage's current holder against this version: the version, source and digest,
    and each metadata key that differs, old → new (the version's own values when the
    stage has no holder yet), each as readers see it on ``snap``: edits applied."""
    link, number, stage = promotion.link, promotion.previous, _code(promotion.stage, cell=False)
    old = None
    if number is not None:
        old = registries.read_link(ctx.store, snap, link.registry, link.collection, number)
    held = ctx.store.read_version(snap, old.project, old.name, old.source_version) if old else None
    before = merged(ctx.store, snap, held).metadata if held else {}
    after = merged(ctx.store, snap, promotion.source).metadata
    rows = [
        ("Registry version", f"v{old.version}" if old else _NONE, f"v{link.version}"),
        ("Source version", old.source_path if old else _NONE, link.source_path),
        ("Digest", old.digest if old else _NONE, link.digest),
    ]
    for key in sorted({*before, *after}):
        was, now = before.get(key, _NONE), after.get(key, _NONE)
        if was != now:
            label = f"metadata.{key}"
            rows.append((label if _PLAIN.match(key) else _code(label), was, now))
    if old is None:
        out = [f"**{stage} has no holder yet; this pull request gives it**", "", "| | |"]
        return [*out, "|---|---|", *(f"| {label} | {_shown(b)} |" for label, _, b in rows)]
    out = [f"**{stage} now (v{old.version}) → with this pull request**", "", "| | |"]
    return [*out, "|---|---|", *(f"| {k} | {_shown(a)} → {_shown(b)} |" for k, a, b in rows)]


# -- the promotion branch ----------------------------------------------------------------


def _promote_by_pr(ctx: Context, base: _Base, done: Promotion) -> Promotion:
    store = ctx.store
    link, stage = done.link, done.stage
    slug = owner = None
    if base.push_remote is not None:
        # deferred: the GitHub client (urllib.request, http.client, email) only when a
        # pull request is opened
        from registry_tool._github import check_route, repo_slug

        slug = repo_slug(_remote_url(ctx, base.remote))
        if base.fork:
            fork = repo_slug(_remote_url(ctx, base.push_remote), explicit=False)
            owner = fork.split("/")[0] if fork else None
            slug = slug if owner else None
        check_route(store.root, slug=slug)
    config = registries.read_config(store, base.snap, link.registry)
    assert config is not None
    change: Change[None] = Change(message=done.message)
    stage_changes(
        ctx,
        base.snap,
        change,
        config,
        link,
        done.source,
        [stage],
        allow_protected=True,
        reason=done.reason,
        run=None,
    )
    branch = f"promote/{link.registry}/{link.collection}/{stage}/v{link.version}"
    with store.lock():
        commit = _branch_commit(ctx, base, branch, change, done)
    done = replace(done, commit=commit, branch=branch)
    if base.push_remote is None:
        return done
    from registry_tool._github import open_pull_request

    pr = open_pull_request(
        store.root,
        slug=slug,
        base=base.branch,
        branch=branch,
        title=f"Promote {link.registry}/{link.collection} v{link.version} to {stage}",
        body=pull_request_body(done, ctx, base.snap),
        fork_owner=owner,
    )
    return replace(done, pull_request=pr)


def _remote_url(ctx: Context, remote: str | None) -> str | None:
    """The remote's URL. ``git remote get-url`` never fails for a remote named in the
    config (one without a URL answers with its own name), so its answer is taken as is."""
    if remote is None:
        return None
    return ctx.store.git.out("remote", "get-url", remote)


def _branch_commit(
    ctx: Context, base: _Base, branch: str, change: Change[None], done: Promotion
) -> str:
    """Put the promotion's commit on ``branch`` (here and on the push remote): an
    earlier attempt's commit when it is this promotion on the current base, else a new
    one; a branch holding anything else is reported, never overwritten."""
    git = ctx.store.git
    ref = f"refs/heads/{branch}"
    parent = base.snap.commit
    assert parent is not None
    alias = registry_alias_file(done.link.registry, done.link.collection, done.stage)
    local = git.rev_parse(ref)
    remote = _remote_branch(ctx, base, branch)
    for tip, where, fix in (
        (remote, f"on {base.push_remote!r}", f"push {base.push_remote} --delete {branch}"),
        (local, "in this clone", f"branch -D {branch}"),
    ):
        if tip is not None and not _ours(ctx, tip, parent, alias, _trailer(done.link, done.stage)):
            raise UsageError(
                f"branch {branch!r} {where} holds commits other than this promotion "
                f"({tip[:12]}): merge or close its pull request, or delete it and promote "
                f"again: git -C {ctx.store.root} {fix}"
            )
    current = [t for t in (remote, local) if t and _current(ctx, t, parent, alias, done)]
    if current:
        commit = current[0]
    else:
        tree = Snapshot(git, parent).with_changes(change.files)
        commit = git.out("commit-tree", tree, "-p", parent, "-m", change.message)
    if local != commit:
        git.run("update-ref", "-m", f"promote: {branch}", ref, commit, local or "0" * 40)
    if base.push_remote is not None and remote != commit:
        lease = f"--force-with-lease={ref}:{remote or ''}"
        proc = git.run(
            "push", "--porcelain", lease, base.push_remote, f"{commit}:{ref}", check=False
        )
        if proc.returncode != 0:
            raise GitError(
                f"committed {commit[:12]} on branch {branch!r} but {base.push_remote!r} did not "
                f"take it ({_detail(proc.stdout + proc.stderr)}); run the promotion again"
            )
    return commit


def _remote_branch(ctx: Context, base: _Base, branch: str) -> str | None:
    """The promotion branch's tip on the push remote (fetched), None when it has none."""
    if base.push_remote is None:
        return None
    git = ctx.store.git
    listed = git.run("ls-remote", "--heads", base.push_remote, f"refs/heads/{branch}", check=False)
    if listed.returncode != 0:
        raise GitError(
            f"could not ask {base.push_remote!r} for branch {branch!r}: {_detail(listed.stderr)}"
        )
    words = listed.stdout.decode().split()
    if not words:
        return None
    tracking = f"refs/remotes/{base.push_remote}/{branch}"
    git.run("fetch", "--quiet", "--no-tags", base.push_remote, f"+refs/heads/{branch}:{tracking}")
    return words[0]


def _ours(ctx: Context, tip: str, base: str, alias: str, trailer: str) -> bool:
    """Whether ``tip`` is a promotion commit of this promotion: one commit on a commit
    of the base branch's history, changing the stage's alias file alone, its message
    ending in this promotion's trailer."""
    git = ctx.store.git
    parents = git.out("rev-list", "--parents", "-n", "1", tip).split()[1:]
    if len(parents) != 1:
        return False
    if git.run("merge-base", "--is-ancestor", parents[0], base, check=False).returncode != 0:
        return False
    files = git.out("diff-tree", "--name-only", "-r", parents[0], tip)
    message = git.out("log", "-1", "--format=%B", tip)
    return files.splitlines() == [alias] and trailer in message.splitlines()


def _current(ctx: Context, tip: str, parent: str, alias: str, done: Promotion) -> bool:
    """Whether ``tip`` (one of ours) already is this promotion on ``parent``, as asked
    now: the same version and reason (its timestamp aside)."""
    parents = ctx.store.git.out("rev-list", "--parents", "-n", "1", tip).split()[1:]
    if parents != [parent]:
        return False
    doc = ctx.store.load(Snapshot(ctx.store.git, tip), alias, "alias")
    return (
        doc is not None and doc["version"] == done.link.version and doc.get("reason") == done.reason
    )


def _detail(output: bytes) -> str:
    """The most telling line of a git command's output."""
    lines = [line.strip() for line in output.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        if line.startswith(("fatal:", "error:", "!")) or "GH0" in line:
            return line
    return lines[-1] if lines else "no output"
