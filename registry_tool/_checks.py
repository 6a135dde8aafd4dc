"""What ``registry-tool check`` verifies on a whole registry or on a change to it.

Every YAML file is parsed strictly and validated against the schema of its kind, and
the documents must agree with each other: a file sits at the path its content names,
versions are numbered from v0 with no gap, every alias and lineage edge names a version
that exists, and each manifest's digest is the digest of its entries. ``registry.yaml``
files must hold no credentials (``registry_tool._secret_scan``). With ``deep``, every
link's source digest is also recomputed from the source version's manifest, and on a
change every version and link of the head is checked, not only the changed ones.

A change (``check --base/--head``, what a pull request would merge) is judged by rules:

- **Versions and links are immutable.** The tool never rewrites a version file: aliases
  live in their own files, and ``Artifact.save()`` refuses to change a logged version's
  metadata or description. So a version file that exists on the base may not change at
  all (a comment or a reformat included), with one exception: a change that only adds
  the soft-delete mark ``deleted`` (``registry-tool delete``), every other field equal
  as parsed. Taking the mark away again is an edit too. Links never change.
- **A promotion does not change its own gates** (the *separate approval* policy). A
  change that moves or removes a protected alias of a model registry may not also
  change that registry's ``stages``, ``protected``, ``types`` or ``gates`` in
  ``registries/<registry>/registry.yaml``; its description may change. Otherwise one
  pull request could lower a gate and pass it, with reviewers approving both at once,
  and the promotion would be checked against the gates it brings itself. A gate or
  protection change is approved on its own: it lands by its own pull request first,
  so it is on the base before any promotion that relies on it, and the promotion is
  then checked against gates that were already approved.
- **Protected aliases move only by pull request**, and stage aliases meet their gates
  and the previous-stage rule.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Set
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from registry_tool import _schemas as schemas
from registry_tool import _secret_scan as secret_scan
from registry_tool import _settings
from registry_tool import _yamlio as yamlio
from registry_tool._model import layout
from registry_tool._model.layout import REGISTRY_FILE
from registry_tool._model.manifest import Entry, artifact_digest, check_entries
from registry_tool._model.names import parse_version
from registry_tool._store import RegistryStore, Snapshot
from registry_tool.errors import DocumentError, NotFoundError, RegistryError, UsageError


@dataclass(frozen=True)
class Problem:
    path: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckReport:
    files: int
    problems: list[Problem]
    root: Path | None = None  # the registry checked

    @property
    def ok(self) -> bool:
        return not self.problems


def _yaml_files(root: Path) -> list[str]:
    out = [REGISTRY_FILE] if (root / REGISTRY_FILE).exists() else []
    for top in ("projects", "registries"):
        folder = root / top
        if folder.is_dir():
            out += sorted(p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file())
    return out


def check_tree(root: Path, *, deep: bool = False) -> CheckReport:
    """Validate every registry file in a working tree (committed or not); ``deep`` also
    recomputes every link's source digest from the source version's manifest."""
    problems: list[Problem] = []
    docs: dict[str, dict[str, Any]] = {}
    unreadable: set[str] = set()
    files = _yaml_files(root)
    for rel in files:
        kind = layout.kind_for_path(rel)
        if kind is None:
            problems.append(
                Problem(rel, "$", "not a registry file (unexpected path under projects/)")
            )
            continue
        doc, found = _parse(rel, kind, (root / rel).read_bytes())
        problems += found
        if doc is not None:
            docs[rel] = doc
        else:
            unreadable.add(rel)
    problems += _consistency(docs, unreadable)
    if deep:
        from registry_tool import _verify as verify

        problems += verify.link_digests(docs)
    return CheckReport(files=len(files), problems=problems, root=root)


def check_registry(
    registry: str | os.PathLike[str] | None = None,
    *,
    base: str | None = None,
    head: str | None = None,
    main_branch: str = "main",
    verify_blobs: bool = False,
    deep: bool = False,
) -> CheckReport:
    """What ``registry-tool check`` runs: every file of the working tree, or with
    ``base`` the change from ``base`` to ``head`` (see ``check_diff``).

    A ``registry.yaml`` too broken to open the registry with (a key the schema refuses,
    a secret among them) is reported with the rest of the working tree, not raised.

    >>> check_registry("my-registry", base="origin/main", deep=True).ok  # doctest: +SKIP
    True
    """
    from registry_tool import _verify as verify
    from registry_tool._engine.context import Context
    from registry_tool._store import open_registry

    if base is None and head is not None:
        raise UsageError("--head needs --base")
    try:
        store = open_registry(registry)
    except DocumentError as exc:
        root = _unopened_root(registry) if exc.path == REGISTRY_FILE else None
        if root is None:
            raise
        return check_tree(root, deep=deep)
    if base is None:
        return check_tree(store.root, deep=deep)
    report = check_diff(
        store,
        base,
        head or "HEAD",
        main_branch=main_branch,
        verify_blobs=verify.missing_blobs(Context(store)) if verify_blobs else None,
        deep=deep,
    )
    report.root = store.root
    return report


def _unopened_root(registry: str | os.PathLike[str] | None) -> Path | None:
    """The folder of the registry.yaml that failed to open, when it is local."""
    from registry_tool._store.locate import find_registry_root

    given = os.fspath(registry) if registry is not None else _settings.registry_dir()
    if given:
        path = Path(given.removeprefix("file://")).expanduser().resolve()
        return path if (path / REGISTRY_FILE).is_file() else None
    return find_registry_root()


SECRET_KINDS = ("registry", "model-registry")


def _parse(path: str, kind: str, data: bytes) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A file's document (None when it does not parse or validate) and its problems:
    credentials in a registry.yaml first, then the schema's verdict."""
    problems: list[Problem] = []
    try:
        doc = yamlio.loads(data, path)
    except DocumentError as exc:
        if kind in SECRET_KINDS:
            problems += _secrets(path, None, data)
        return None, [*problems, Problem(exc.path, exc.field, exc.message)]
    if kind in SECRET_KINDS:
        problems += _secrets(path, doc, data)
    try:
        schemas.validate(doc, kind, path)
    except DocumentError as exc:
        return None, [*problems, Problem(exc.path, exc.field, exc.message)]
    return doc, problems


def _secrets(path: str, doc: Any, data: bytes) -> list[Problem]:
    return [Problem(path, f.field, f.message) for f in secret_scan.scan(doc, data)]


def _consistency(
    docs: dict[str, dict[str, Any]], unreadable: Set[str] = frozenset()
) -> list[Problem]:
    """Problems between files. A file reported as invalid still counts as present, so
    it is not reported again as missing, nor are the files that name it."""
    problems = []
    versions: dict[tuple[str, str], set[int]] = {}
    deleted: dict[tuple[str, str], set[int]] = {}
    collections = set()
    links: dict[tuple[str, str], set[int]] = {}
    for path in unreadable:
        parts = path.split("/")
        if parts[0] != "projects" or len(parts) < 4:
            continue
        if parts[3] == "artifact.yaml":
            collections.add((parts[1], parts[2]))
        elif len(parts) == 5 and parts[3] == "versions":
            number = parse_version(parts[4].removesuffix(".yaml"))
            if number is not None:
                versions.setdefault((parts[1], parts[2]), set()).add(number)
    for path, doc in docs.items():
        parts = path.split("/")
        kind = doc["kind"]
        if kind in ("registry", "model-registry") or parts[0] == "registries":
            if kind == "link":
                links.setdefault((parts[1], parts[2]), set()).add(doc["version"])
            continue
        project, name = parts[1], parts[2]
        if kind == "run":
            run_id = parts[3].removesuffix(".yaml")
            if (doc["project"], doc["id"]) != (project, run_id):
                problems.append(
                    Problem(
                        path,
                        "$.id",
                        f"names run {doc['project']}/{doc['id']}, not the one its path says",
                    )
                )
            continue
        if kind in ("collection", "version") and (doc["project"], doc["name"]) != (project, name):
            problems.append(
                Problem(
                    path,
                    "$.name",
                    f"names {doc['project']}/{doc['name']}, not the collection its path says",
                )
            )
            continue
        if kind == "collection":
            collections.add((project, name))
        elif kind == "version":
            number = parse_version(parts[4].removesuffix(".yaml"))
            if number is None or number != doc["version"]:
                problems.append(
                    Problem(
                        path, "$.version", f"is {doc['version']}, but the file is named {parts[4]}"
                    )
                )
                continue
            versions.setdefault((project, name), set()).add(number)
            if doc.get("deleted"):
                deleted.setdefault((project, name), set()).add(number)
            problems += check_manifest(path, doc)
        elif kind == "alias" and doc["alias"] != parts[4].removesuffix(".yaml"):
            problems.append(
                Problem(path, "$.alias", f"is {doc['alias']!r}, but the file is named {parts[4]}")
            )
    for (project, name), numbers in sorted(versions.items()):
        if (project, name) not in collections:
            problems.append(
                Problem(
                    f"projects/{project}/{name}/artifact.yaml",
                    "$",
                    "missing: the collection has versions but no artifact.yaml",
                )
            )
        expected = set(range(max(numbers) + 1))
        for gap in sorted(expected - numbers):
            problems.append(
                Problem(
                    f"projects/{project}/{name}/versions/v{gap}.yaml",
                    "$",
                    "missing: versions must be numbered from v0 with no gap",
                )
            )
    for path, doc in docs.items():
        parts = path.split("/")
        if parts[0] == "registries":
            if doc["kind"] == "link":
                project, _, name = doc["source"]["artifact"].partition("/")
                if doc["source"]["version"] not in versions.get((project, name), set()):
                    problems.append(
                        Problem(
                            path,
                            "$.source",
                            f"links {doc['source']['artifact']}:v{doc['source']['version']}, which does not exist",
                        )
                    )
            elif doc["kind"] == "alias" and doc["version"] not in links.get(
                (parts[1], parts[2]), set()
            ):
                problems.append(
                    Problem(
                        path,
                        "$.version",
                        f"alias {doc['alias']!r} names v{doc['version']}, which does not exist",
                    )
                )
            continue
        if doc["kind"] == "alias":
            if doc["version"] not in versions.get((parts[1], parts[2]), set()):
                problems.append(
                    Problem(
                        path,
                        "$.version",
                        f"alias {doc['alias']!r} names v{doc['version']}, which does not exist",
                    )
                )
            elif doc["version"] in deleted.get((parts[1], parts[2]), set()):
                problems.append(
                    Problem(
                        path,
                        "$.version",
                        f"alias {doc['alias']!r} names v{doc['version']}, which is deleted",
                    )
                )
        elif doc["kind"] == "run":
            for field in ("inputs", "outputs"):
                for i, use in enumerate(doc[field]):
                    project, _, name = use["artifact"].partition("/")
                    if use["version"] not in versions.get((project, name), set()):
                        problems.append(
                            Problem(
                                path,
                                f"$.{field}[{i}]",
                                f"{use['artifact']}:v{use['version']} does not exist",
                            )
                        )
    return problems


def check_manifest(path: str, doc: dict[str, Any]) -> list[Problem]:
    entries = [Entry.from_doc(e) for e in doc["entries"]]
    try:
        check_entries(entries)
    except RegistryError as exc:
        return [Problem(path, "$.entries", str(exc))]
    problems = []
    for i, entry in enumerate(entries):
        if entry.ref is None and not entry.digest.startswith("sha256:"):
            problems.append(
                Problem(path, f"$.entries[{i}].digest", "a stored file needs a sha256:<hex> digest")
            )
    if artifact_digest(entries) != doc["digest"]:
        problems.append(
            Problem(
                path,
                "$.digest",
                "does not match the digest of the entries (the manifest was altered)",
            )
        )
    if doc["file_count"] != len(entries):
        problems.append(
            Problem(
                path,
                "$.file_count",
                f"is {doc['file_count']}, the manifest lists {len(entries)} files",
            )
        )
    if doc["size"] != sum(e.size or 0 for e in entries):
        problems.append(Problem(path, "$.size", "does not match the sum of the entries' sizes"))
    return problems


# -- a diff: what `check --base REF --head REF` judges in CI ---------------------------


def _diff(store: RegistryStore, base: str, head: str) -> list[tuple[str, str]]:
    proc = store.git.run("diff", "--name-status", "--no-renames", "-z", base, head)
    parts = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    return [(parts[i][0], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]


def _load(snap: Snapshot, path: str, kind: str) -> dict[str, Any] | None:
    """A file's document at a commit, or None when it is missing or invalid."""
    data = snap.read(path)
    return None if data is None else _parse(path, kind, data)[0]


def is_pull_request(store: RegistryStore, head_commit: str, main_branch: str) -> bool:
    """Whether the change under check arrives by pull request: in GitHub Actions, the
    event says so; elsewhere, any head other than the tip of the main branch is one."""
    event = os.environ.get("GITHUB_EVENT_NAME")
    if event:
        return event in ("pull_request", "pull_request_target", "merge_group")
    return store.git.rev_parse(f"refs/heads/{main_branch}") != head_commit


def check_diff(
    store: RegistryStore,
    base: str,
    head: str = "HEAD",
    *,
    main_branch: str = "main",
    verify_blobs: Callable[[list[str]], list[str]] | None = None,
    deep: bool = False,
) -> CheckReport:
    """Judge the change from ``base`` to ``head`` (what a pull request would merge).

    Every changed file must be valid; versions and links are immutable (a version may
    only gain the soft-delete marker ``deleted``); an alias must name a version or link
    that exists; a stage alias must meet its gates and order; a protected alias may
    change only by pull request, and never in the same change as its registry's gates
    or protection (see the module docstring); a registry.yaml holds no credentials;
    with ``verify_blobs``, every blob an added version names must be in storage; with
    ``deep``, every version and link of ``head`` has its digest recomputed.
    """
    from registry_tool._engine.context import Context

    base_commit = store.git.rev_parse(base)
    head_commit = store.git.rev_parse(head)
    if base_commit is None or head_commit is None:
        missing = base if base_commit is None else head
        raise NotFoundError(f"no commit {missing!r} in {store.root}")
    merge_base = store.git.out("merge-base", base_commit, head_commit, check=False) or base_commit
    snap = Snapshot(store.git, head_commit)
    base_snap = Snapshot(store.git, merge_base)
    ctx = Context(store)
    problems: list[Problem] = []
    changes = _diff(store, merge_base, head_commit)
    from_pr = is_pull_request(store, head_commit, main_branch)
    added_blobs: dict[str, str] = {}
    for status, path in changes:
        kind = layout.kind_for_path(path)
        ours = path == REGISTRY_FILE or path.startswith(("projects/", "registries/"))
        if not ours:
            continue
        if kind is None:
            if status != "D":
                problems.append(Problem(path, "$", "not a registry file (unexpected path)"))
            continue
        if kind in ("version", "link") and status in ("M", "D"):
            if kind == "version" and status == "M":
                found = _version_change(base_snap, snap, path)
                if found is not None:
                    problems += found
                    continue
            what = "modified" if status == "M" else "deleted"
            problems.append(Problem(path, "$", f"{kind}s are immutable: this file was {what}"))
            continue
        if status == "D":
            if kind == "alias" and path.startswith("registries/"):
                problems += _protected(ctx, snap, path, from_pr, deleted=True)
            continue
        doc, found = _parse(path, kind, snap.read(path) or b"")
        problems += found
        if doc is None:
            continue
        parts = path.split("/")
        if (
            kind in ("version", "link")
            and parse_version(parts[4].removesuffix(".yaml")) != doc["version"]
        ):
            problems.append(
                Problem(path, "$.version", f"is {doc['version']}, but the file is named {parts[4]}")
            )
        if kind == "version":
            problems += check_manifest(path, doc)
            for entry in doc["entries"]:
                if "ref" not in entry and entry["digest"].startswith("sha256:"):
                    added_blobs[entry["digest"][7:]] = path
        elif kind == "alias" and parts[0] == "projects":
            named = _version_doc(store, snap, parts[1], parts[2], doc["version"])
            if named is None:
                problems.append(
                    Problem(
                        path,
                        "$.version",
                        f"alias {doc['alias']!r} names v{doc['version']}, which does not exist",
                    )
                )
            elif named.get("deleted"):
                problems.append(
                    Problem(
                        path,
                        "$.version",
                        f"alias {doc['alias']!r} names v{doc['version']}, which is deleted",
                    )
                )
        elif kind == "alias":
            problems += _registry_alias(ctx, snap, path, doc, from_pr, head_commit)
        elif kind == "link":
            source = doc["source"]
            project, _, name = source["artifact"].partition("/")
            digest = store.version_digest(snap, project, name, source["version"])
            if digest is None:
                problems.append(
                    Problem(
                        path,
                        "$.source",
                        f"links {source['artifact']}:v{source['version']}, which does not exist",
                    )
                )
            elif digest != source["digest"]:
                problems.append(
                    Problem(
                        path,
                        "$.source.digest",
                        f"does not match the digest of {source['artifact']}:v{source['version']}",
                    )
                )
        elif kind == "run":
            for field in ("inputs", "outputs"):
                for i, use in enumerate(doc[field]):
                    project, _, name = use["artifact"].partition("/")
                    if not snap.exists(
                        f"projects/{project}/{name}/versions/v{use['version']}.yaml"
                    ):
                        problems.append(
                            Problem(
                                path,
                                f"$.{field}[{i}]",
                                f"{use['artifact']}:v{use['version']} does not exist",
                            )
                        )
    added = {p for s, p in changes if layout.kind_for_path(p) in ("version", "link") and s == "A"}
    problems += _contiguous(snap, added)
    problems += _gates_moved_with_promotion(base_snap, snap, changes)
    if deep:
        from registry_tool import _verify as verify

        problems += verify.deep_problems(store, snap, checked=added)
    if verify_blobs is not None and added_blobs:
        for digest in verify_blobs(sorted(added_blobs)):
            problems.append(
                Problem(
                    added_blobs[digest],
                    "$.entries",
                    f"blob sha256:{digest} is not in storage with that digest",
                )
            )
    return CheckReport(files=len(changes), problems=problems)


def _version_doc(
    store: RegistryStore, snap: Snapshot, project: str, name: str, version: int
) -> dict[str, Any] | None:
    path = f"projects/{project}/{name}/versions/v{version}.yaml"
    try:
        return store.load(snap, path, "version")
    except DocumentError:
        return {}  # it exists; its own problems are reported where it changed


def _version_change(base: Snapshot, head: Snapshot, path: str) -> list[Problem] | None:
    """The problems of a modified version file that only gains the soft-delete marker
    ``deleted`` (its other fields equal once parsed); None for any other change."""
    try:
        old = yamlio.loads(base.read(path) or b"", path)
        new = yamlio.loads(head.read(path) or b"", path)
    except DocumentError:
        return None
    if not isinstance(old, dict) or not isinstance(new, dict):
        return None
    if "deleted" in old or "deleted" not in new:
        return None
    if {k: v for k, v in new.items() if k != "deleted"} != old:
        return None
    try:
        schemas.validate(new, "version", path)
    except DocumentError as exc:
        return [Problem(exc.path, exc.field, exc.message)]
    return []


# What decides whether a version may take a protected stage.
GATE_FIELDS = ("stages", "protected", "types", "gates")


def _gates_moved_with_promotion(
    base: Snapshot, head: Snapshot, changes: list[tuple[str, str]]
) -> list[Problem]:
    """The separate-approval policy: a change that moves (or removes) a protected alias
    of a model registry may not also change that registry's stages, protection, types
    or gates. See the module docstring."""
    problems = []
    for registry in sorted({p.split("/")[1] for _, p in changes if _is_config(p)}):
        path = f"registries/{registry}/registry.yaml"
        old = _load(base, path, "model-registry") or {}
        new = _load(head, path, "model-registry") or {}
        changed = [f for f in GATE_FIELDS if old.get(f) != new.get(f)]
        protected = {*old.get("protected", ()), *new.get("protected", ())}
        moved = sorted(
            p
            for _, p in changes
            if p.startswith(f"registries/{registry}/")
            and layout.kind_for_path(p) == "alias"
            and p.split("/")[4].removesuffix(".yaml") in protected
        )
        if not changed or not moved:
            continue
        aliases = ", ".join(sorted({repr(p.split("/")[4].removesuffix(".yaml")) for p in moved}))
        problems.append(
            Problem(
                path,
                f"$.{changed[0]}",
                f"{' and '.join(changed)} of model-registry/{registry} changed in the same "
                f"change that moves the protected alias {aliases} ({', '.join(moved)}): a "
                "gate or protection change needs its own review. Split the pull request: "
                f"first merge the change to {path} alone, then open the promotion on the "
                "updated main (registry-tool promote ... --pr), checked against those gates",
            )
        )
    return problems


def _is_config(path: str) -> bool:
    return layout.kind_for_path(path) == "model-registry"


def _contiguous(snap: Snapshot, added: set[str]) -> list[Problem]:
    problems = []
    for folder in sorted({p.rsplit("/", 1)[0] for p in added}):
        numbers = {parse_version(n.removesuffix(".yaml")) for n in snap.listdir(folder)}
        numbers.discard(None)
        top = max((n for n in numbers if n is not None), default=-1)
        for gap in sorted(set(range(top + 1)) - numbers):
            problems.append(
                Problem(
                    f"{folder}/v{gap}.yaml",
                    "$",
                    "missing: versions must be numbered from v0 with no gap",
                )
            )
    return problems


def _protected(
    ctx: Any, snap: Snapshot, path: str, from_pr: bool, *, deleted: bool = False
) -> list[Problem]:
    from registry_tool import _promotion as promotion

    parts = path.split("/")
    alias = parts[4].removesuffix(".yaml")
    config = promotion.read_config(ctx, snap, parts[1])
    if config is None or alias not in config.protected or from_pr:
        return []
    what = "removed" if deleted else "moved"
    return [
        Problem(path, "$.alias", f"protected alias {alias!r} was {what} outside a pull request")
    ]


def _registry_alias(
    ctx: Any, snap: Snapshot, path: str, doc: dict[str, Any], from_pr: bool, head: str
) -> list[Problem]:
    from registry_tool import _promotion as promotion

    parts = path.split("/")
    registry, collection = parts[1], parts[2]
    problems = _protected(ctx, snap, path, from_pr)
    config = promotion.read_config(ctx, snap, registry)
    if config is None:
        return [*problems, Problem(path, "$", f"there is no model registry {registry!r}")]
    link = promotion.read_link(ctx, snap, registry, collection, doc["version"])
    if link is None:
        return [
            *problems,
            Problem(
                path,
                "$.version",
                f"alias {doc['alias']!r} names v{doc['version']}, which does not exist",
            ),
        ]
    source = ctx.store.read_version(snap, link.project, link.name, link.source_version)
    if source is None:
        return [
            *problems,
            Problem(
                path, "$.version", f"{link.path} links {link.source_path}, which does not exist"
            ),
        ]
    if source.deleted is not None:
        return [
            *problems,
            Problem(path, "$.version", f"{link.path} links {link.source_path}, which is deleted"),
        ]
    verdict = promotion.check_stage(ctx, snap, config, link, source, doc["alias"], ref=head)
    for problem in verdict.problems():
        problems.append(
            Problem(path, "$.version", f"{link.path} cannot take {doc['alias']!r}: {problem}")
        )
    return problems
