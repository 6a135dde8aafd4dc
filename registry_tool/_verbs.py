"""One function per CLI command: each opens the registry, does one thing, returns data.

This is the CLI's one door into the library: the CLI parses options, calls one of these
and renders what comes back; it never reaches into the store, the engine or a feature
module. The types it renders (``CheckReport``, ``VerifyReport``, ``BlobReport``...)
are named here too.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
from collections.abc import Callable, Sequence
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry_tool import _cache as blob_cache
from registry_tool import _checks as checks
from registry_tool import _promotion as promotion
from registry_tool import _scaffold as scaffold
from registry_tool import _storage_admin as storage_admin
from registry_tool._cache import SIZE_HELP as CACHE_SIZE_HELP
from registry_tool._cache import CacheInfo, CleanupReport
from registry_tool._checks import CheckReport
from registry_tool._deletion import DeleteOutcome, delete_version
from registry_tool._engine import Context
from registry_tool._engine.download import VerifyReport
from registry_tool._gc import (
    DEFAULT_GRACE,
    GcReport,
    collect_garbage,
    format_duration,
    parse_duration,
)
from registry_tool._model.governance import LinkRecord, ModelRegistryConfig, StageGate
from registry_tool._model.names import parse_artifact_path, validate_alias, validate_name
from registry_tool._sdk.artifact import Artifact
from registry_tool._sdk.run import DEFAULT_PROJECT
from registry_tool._store import RegistryStore, init_registry, registries
from registry_tool._store.history import AliasEvent, alias_history
from registry_tool._verify import BlobReport, verify_store
from registry_tool.errors import NotFoundError, RegistryError, UsageError

if TYPE_CHECKING:
    from registry_tool._site.build import BuildReport

Registry = str | os.PathLike[str] | None


def split_name(full: str) -> tuple[str, str]:
    """``project/name`` -> (project, name); a bare name goes to the default project."""
    project, _, name = full.rpartition("/")
    return validate_name(project or DEFAULT_PROJECT, what="project"), validate_name(
        name, what="artifact name"
    )


def parse_metadata(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--metadata is not valid JSON: {exc.msg} (column {exc.colno})") from None
    except ValueError:  # an integer of more digits than Python converts
        raise UsageError(
            "--metadata: a number is too long to read (integers are held to 64 bits)"
        ) from None
    if not isinstance(value, dict):
        raise UsageError("--metadata must be a JSON object, like '{\"accuracy\": 0.9}'")
    return value


def _refuse_constant(name: str) -> Any:
    raise UsageError(f"--metadata: {name} is not allowed (only finite numbers)")


def log_path(
    path: str | os.PathLike[str],
    full_name: str,
    type: str,
    *,
    aliases: list[str] | None = None,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    registry: Registry = None,
) -> Artifact:
    """Log a file or a directory as a new version of ``project/name`` (no run)."""
    project, name = split_name(full_name)
    for alias in aliases or []:
        validate_alias(alias)
    source = Path(path)
    if not source.exists():
        raise NotFoundError(f"{source} does not exist")
    ctx = Context.open(registry)
    artifact = Artifact(name, type, description=description, metadata=metadata)
    # Read in place ("immutable"): the command logs at once, and a file changed while
    # it is read is refused by the ingest, so the private copy W&B's default makes
    # (for a script that may write the file again before it logs) buys nothing here.
    if source.is_dir():
        artifact.add_dir(source, policy="immutable")
    else:
        artifact.add_file(source, policy="immutable")
    artifact._log_to(ctx, project=project, aliases=list(aliases or []))
    return artifact


def get_artifact(
    path: str, *, include_deleted: bool = False, registry: Registry = None
) -> Artifact:
    """The version a path names: a project path or a ``model-registry/...`` path."""
    ctx = Context.open(registry)
    found = ctx.resolve_ref(path, include_deleted=include_deleted)
    return Artifact._from_resolved(ctx, found)


def download(
    path: str, root: str | None = None, *, registry: Registry = None
) -> tuple[Artifact, str]:
    artifact = get_artifact(path, registry=registry)
    return artifact, artifact.download(root)


def verify(path: str, root: str, *, registry: Registry = None) -> VerifyReport:
    return get_artifact(path, registry=registry).verify(root)


def list_collections(
    project: str | None = None, *, registry: Registry = None
) -> list[dict[str, Any]]:
    """One row per collection: path, type, version count (deleted ones included: their
    numbers stay taken), latest version, aliases, and ``deleted`` (the deleted
    versions, ``["v3"]``) when there are any."""
    ctx = Context.open(registry)
    store = ctx.store
    snap = store.head()
    projects = [validate_name(project, what="project")] if project else store.projects(snap)
    rows = []
    for proj in projects:
        for name in store.collections(snap, proj):
            collection = store.read_collection(snap, proj, name)
            assert collection is not None
            numbers = store.version_numbers(snap, proj, name)
            aliases = store.aliases(snap, proj, name)
            row: dict[str, Any] = {
                "path": f"{proj}/{name}",
                "type": collection.type,
                "versions": len(numbers),
                "latest": f"v{aliases['latest'].version}" if "latest" in aliases else None,
                "aliases": {a: f"v{r.version}" for a, r in sorted(aliases.items())},
                "description": collection.description,
            }
            deleted = [f"v{n}" for n in numbers if store.is_deleted(snap, proj, name, n)]
            if deleted:
                row["deleted"] = deleted
            rows.append(row)
    return rows


def list_versions(path: str, *, registry: Registry = None) -> list[dict[str, Any]]:
    """One row per version of ``project/name``, oldest first: version, aliases, digest,
    size, files, created, run, and ``deleted`` (the mark) when it was deleted."""
    project, _, name = path.partition("/")
    validate_name(project, what="project")
    validate_name(name, what="artifact name")
    ctx = Context.open(registry)
    store = ctx.store
    snap = store.head()
    if store.read_collection(snap, project, name) is None:
        raise NotFoundError(f"artifact {project}/{name} does not exist in {ctx.entity!r}")
    held: dict[int, list[str]] = {}
    for alias, record in sorted(store.aliases(snap, project, name).items()):
        held.setdefault(record.version, []).append(alias)
    return [
        {
            "version": f"v{number}",
            "aliases": held.get(number, []),
            "digest": version.digest,
            "size": version.size,
            "files": version.files,
            "created_at": version.created_at,
            "run": version.run,
            "deleted": version.deleted,
        }
        for number, version in store.version_summaries(snap, project, name).items()
    ]


def describe(path: str, *, registry: Registry = None) -> dict[str, Any]:
    """Everything about one version: identity, aliases, metadata, run, files, and
    ``deleted`` (when, by whom, why; None for a live version). For a registry path,
    ``link`` is the registry version and ``path`` the source version it links."""
    artifact = get_artifact(path, include_deleted=True, registry=registry)
    record = artifact._logged()
    return {
        "path": f"{record.project}/{record.name}:v{record.version}",
        "link": artifact._link.path if artifact._link else None,
        "qualified_name": artifact.qualified_name,
        "type": record.type,
        "version": f"v{record.version}",
        "digest": record.digest,
        "digest_algorithm": record.digest_algorithm,
        "created_at": record.created_at,
        "run": record.run,
        "size": record.size,
        "aliases": list(artifact.aliases),
        # As readers see them: the logged values with the edits made since.
        "description": artifact.description,
        "metadata": dict(artifact.metadata),
        "tags": list(artifact.tags),
        "ttl": int(artifact.ttl.total_seconds()) if artifact.ttl is not None else None,
        "files": [e.to_doc() for e in record.entries],
        "deleted": record.deleted.to_doc() if record.deleted else None,
    }


def set_alias(
    path: str, alias: str, *, reason: str | None = None, registry: Registry = None
) -> Artifact:
    """Point a project alias at a version. A registry's aliases are its stages: they
    move by ``link --alias`` or ``promote``, which judge gates and protection."""
    if parse_artifact_path(path).registry is not None:
        raise UsageError(
            f"{path}: a model registry's aliases are its stages; move one with "
            f"'registry-tool promote {path} --to {alias}'"
        )
    artifact = get_artifact(path, registry=registry)
    record = artifact._logged()
    assert artifact._ctx is not None
    artifact._ctx.set_aliases(
        record.project, record.name, record.version, add=[alias], reason=reason
    )
    return get_artifact(f"{record.project}/{record.name}:v{record.version}", registry=registry)


def delete(
    path: str,
    *,
    delete_aliases: bool = False,
    reason: str | None = None,
    registry: Registry = None,
) -> DeleteOutcome:
    """Soft-delete ``project/name:vN`` (an explicit version: never an alias)."""
    ref = parse_artifact_path(path)
    if ref.registry is not None or ref.project is None or ref.version is None:
        raise UsageError(f"{path}: name the version to delete as project/name:vN")
    ctx = Context.open(registry)
    if ref.entity is not None and ref.entity != ctx.entity:
        raise NotFoundError(f"{path}: entity {ref.entity!r} is not this registry ({ctx.entity!r})")
    return delete_version(
        ctx, ref.project, ref.name, ref.version, delete_aliases=delete_aliases, reason=reason
    )


def remove_alias(collection: str, alias: str, *, registry: Registry = None) -> int:
    """Remove an alias from whichever version holds it; returns that version."""
    ref = parse_artifact_path(collection)
    if ref.project is None:
        raise UsageError(f"{collection}: give the collection as project/name")
    validate_alias(alias)
    ctx = Context.open(registry)
    held = ctx.store.read_alias(ctx.store.head(), ref.project, ref.name, alias)
    if held is None:
        raise NotFoundError(f"{ref.project}/{ref.name} has no alias {alias!r}")
    if alias == "latest":
        raise UsageError("'latest' always names the newest version; it cannot be removed")
    ctx.set_aliases(ref.project, ref.name, held.version, remove=[alias])
    return held.version


def history(
    collection: str, alias: str | None = None, *, registry: Registry = None
) -> list[AliasEvent]:
    ref = parse_artifact_path(collection)
    if ref.project is None:
        raise UsageError(f"{collection}: give the collection as project/name")
    ctx = Context.open(registry)
    if ctx.store.read_collection(ctx.store.head(), ref.project, ref.name) is None:
        raise NotFoundError(f"artifact {ref.project}/{ref.name} does not exist")
    return alias_history(ctx.store, ref.project, ref.name, validate_alias(alias) if alias else None)


def check(
    *,
    base: str | None = None,
    head: str | None = None,
    main_branch: str = "main",
    verify_blobs: bool = False,
    deep: bool = False,
    ci: bool = False,
    registry: Registry = None,
) -> CheckReport:
    """The whole registry (working tree), or with ``base`` the change base..head, or
    with ``ci`` the change of the GitHub Actions event (see
    ``registry_tool._checks.run_checks``)."""
    return checks.run_checks(
        registry,
        base=base,
        head=head,
        main_branch=main_branch,
        verify_blobs=verify_blobs,
        deep=deep,
        ci=ci,
        pull_lookup=_pull_lookup(main_branch) if ci else None,
    )


def _pull_lookup(main_branch: str) -> Callable[[str], list[tuple[int, str]]] | None:
    """In GitHub Actions with a token: asks GitHub which merged pull requests a commit
    of main belongs to (else ``check`` takes git's word, see ``_checks.ci``)."""
    # deferred: the GitHub client (urllib.request, http.client, email) only for --ci
    from registry_tool._github import merged_pulls_lookup

    return merged_pulls_lookup(main_branch)


# -- model registries ------------------------------------------------------------------


def parse_gate(text: str) -> tuple[str, str]:
    """``"production: f1 >= 0.9"`` -> ("production", "f1 >= 0.9")."""
    stage, sep, condition = text.partition(":")
    if not sep or not stage.strip() or not condition.strip():
        raise UsageError(
            f"--gate {text!r}: expected 'STAGE: CONDITION', e.g. 'production: f1 >= 0.9'"
        )
    return validate_alias(stage.strip()), condition.strip()


def create_model_registry(
    name: str,
    *,
    stages: list[str],
    protected: list[str],
    types: list[str],
    gates: list[str],
    requires_previous: list[str],
    description: str | None = None,
    registry: Registry = None,
) -> ModelRegistryConfig:
    for stage in protected:
        if stages and stage not in stages:
            raise UsageError(f"--protected {stage!r} is not one of the stages {stages}")
    conditions: dict[str, list[str]] = {}
    for text in gates:
        stage, condition = parse_gate(text)
        conditions.setdefault(stage, []).append(condition)
    for stage in requires_previous:
        conditions.setdefault(validate_alias(stage), [])
    stage_gates = {
        stage: StageGate(tuple(found), stage in requires_previous)
        for stage, found in conditions.items()
    }
    return promotion.create_registry(
        Context.open(registry),
        name,
        stages=stages,
        protected=protected,
        types=types,
        gates=stage_gates,
        description=description,
    )


def link(source: str, target: str, aliases: list[str], *, registry: Registry = None) -> LinkRecord:
    ctx = Context.open(registry)
    record = ctx.resolve(source, project=None)
    return promotion.link_version(ctx, record, target, aliases)


def unlink(path: str, *, reason: str | None = None, registry: Registry = None) -> LinkRecord:
    """Take a registry version (``model-registry/<registry>/<collection>:vN`` or an
    alias of it) out of its registry; refused while it holds a protected stage."""
    ref = parse_artifact_path(path)
    if ref.registry is None:
        raise UsageError(
            f"{path}: unlink takes a registry version, "
            "model-registry/<registry>/<collection>:<vN or alias>"
        )
    ctx = Context.open(registry)
    found = ctx.resolve_ref(ref)
    assert found.link is not None  # a registry path resolves through its link
    promotion.unlink(ctx, found.link, reason=reason)
    return found.link


def promote(
    path: str,
    stage: str,
    *,
    reason: str | None,
    mode: str,
    in_registry: str | None = None,
    registry: Registry = None,
) -> promotion.Promotion:
    return promotion.promote(
        Context.open(registry), path, stage, reason=reason, mode=mode, registry=in_registry
    )


def stage_history(path: str, stage: str | None, *, registry: Registry = None) -> list[AliasEvent]:
    ref = parse_artifact_path(path)
    if ref.registry is None or not ref.name:
        raise UsageError(f"{path}: expected model-registry/<registry>/<collection>")
    return registries.stage_history(
        Context.open(registry).store,
        ref.registry,
        ref.name,
        validate_alias(stage) if stage else None,
    )


def gc(
    *,
    grace: float,
    dry_run: bool = False,
    force: bool = False,
    include: list[str] | tuple[str, ...] = (),
    warn: Callable[[str], None] | None = None,
    registry: Registry = None,
) -> GcReport:
    """Remove the blobs no version on any branch or tag names, older than ``grace``
    seconds; ``include`` the other registries sharing the store, ``force`` for a grace
    under an hour, which ``warn`` hears about (see ``registry_tool._gc``)."""
    return collect_garbage(
        Context.open(registry),
        grace=grace,
        dry_run=dry_run,
        force=force,
        include=include,
        warn=warn,
    )


def registry_root(registry: Registry = None) -> Path:
    return Context.open(registry).store.root


# -- set-up and administration -----------------------------------------------------------


def init(
    path: str | Path,
    *,
    name: str | None = None,
    storage: str | None = None,
    description: str | None = None,
    storage_options: dict[str, Any] | None = None,
    github: bool = False,
    owners: list[str] | tuple[str, ...] = (),
    wheelhouse: str | os.PathLike[str] | None = None,
    shared_storage: bool = False,
    entities: Sequence[str] = (),
) -> RegistryStore:
    """Create a registry repo (``registry-tool init``). With ``github``, also what the
    repo needs on GitHub (``init --github``): the check and site workflows, CODEOWNERS
    naming ``owners``, and the requirements the workflows install, pinned from the
    wheels in ``wheelhouse`` or downloaded with pip. All of it is computed (owners
    checked, wheels hashed) before anything is written, and committed after the
    registry's first commit. A blob store another registry uses is refused unless
    ``shared_storage`` (see ``registry_tool._store.locate``)."""
    if not github and (owners or wheelhouse):
        raise UsageError("owners and a wheelhouse go with github (init --github)")
    storage_admin.check_init(
        path,
        name=name,
        storage=storage,
        description=description,
        storage_options=storage_options,
        entities=entities,
    )
    files: dict[str, bytes] = {}
    if github:
        house = Path(wheelhouse) if wheelhouse is not None else None
        files = scaffold.github_setup(Path(path).expanduser(), owners, wheelhouse=house)
    store = init_registry(
        path,
        name=name,
        storage=storage,
        description=description,
        storage_options=storage_options or {},
        shared_storage=shared_storage,
        entities=entities,
    )
    if files:
        scaffold.write_files(store.root, files)
        store.git.run("add", "--", *files)
        store.git.run("commit", "--quiet", "-m", scaffold.COMMIT_MESSAGE, "--", *files)
    return store


def verify_all(*, registry: Registry = None) -> BlobReport:
    """Read every stored blob back against its digest (``verify --all``)."""
    return verify_store(Context.open(registry))


def cache_info() -> CacheInfo:
    return blob_cache.cache_info()


def cache_cleanup(max_size: str | None) -> CleanupReport:
    return blob_cache.cleanup_cache(max_size)


def storage_set(
    url: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    path_style: bool | None = None,
    shared_storage: bool = False,
    registry: Registry = None,
) -> storage_admin.SetResult:
    return storage_admin.set_storage(
        url,
        endpoint_url=endpoint_url,
        region=region,
        profile=profile,
        path_style=path_style,
        shared_storage=shared_storage,
        registry=registry,
    )


def storage_sync(from_url: str | None, *, registry: Registry = None) -> storage_admin.SyncReport:
    return storage_admin.sync_storage(from_url, registry=registry)


def build_site(
    out: str | os.PathLike[str],
    *,
    templates: str | os.PathLike[str] | None = None,
    strict: bool = True,
    registry: Registry = None,
) -> BuildReport:
    """Render the registry as a static site in ``out`` (``registry-tool site build``)."""
    # deferred: the site builder loads jinja2, markdown and mkdocs, which no other
    # command should pay for at start-up.
    from registry_tool._site.build import build

    return build(
        Context.open(registry),
        Path(out),
        templates=Path(templates) if templates else None,
        strict=strict,
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No line per request: only the CLI prints."""


def site_server(out: str | os.PathLike[str], port: int) -> ThreadingHTTPServer:
    """A server of the folder ``out`` on 127.0.0.1 (``registry-tool site serve``), in this
    process so that stopping the command stops it, bound before the build so that a
    busy port is told at once. Port 0 takes a free one (``server_address`` says which)."""
    handler = functools.partial(_QuietHandler, directory=str(Path(out).resolve()))
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise RegistryError(f"port {port} on 127.0.0.1: {exc.strerror or exc}") from None


# The names the CLI takes from here that are defined elsewhere (everything defined
# above is the CLI's too).
__all__ = [
    "CACHE_SIZE_HELP",
    "DEFAULT_GRACE",
    "BlobReport",
    "CheckReport",
    "DeleteOutcome",
    "GcReport",
    "VerifyReport",
    "format_duration",
    "parse_duration",
]
