"""What ``registry-tool check`` verifies on a whole registry.

Every YAML file is parsed strictly and validated against the schema of its kind, and
the documents must agree with each other: a file sits at the path its content names,
versions are numbered from v0 with no gap, every alias and lineage edge names a version
that exists, and each manifest's digest is the digest of its entries.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from registry_tool import schemas, yamlio
from registry_tool.errors import DocumentError, NotFoundError, RegistryError
from registry_tool.model.manifest import Entry, artifact_digest, check_entries
from registry_tool.model.names import parse_version
from registry_tool.model.records import REGISTRY_FILE
from registry_tool.store import RegistryStore, Snapshot


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


def check_tree(root: Path) -> CheckReport:
    """Validate every registry file in a working tree (committed or not)."""
    problems: list[Problem] = []
    docs: dict[str, dict[str, Any]] = {}
    files = _yaml_files(root)
    for rel in files:
        kind = schemas.kind_for_path(rel)
        if kind is None:
            problems.append(
                Problem(rel, "$", "not a registry file (unexpected path under projects/)")
            )
            continue
        try:
            doc = yamlio.loads((root / rel).read_bytes(), rel)
            schemas.validate(doc, kind, rel)
        except DocumentError as exc:
            problems.append(Problem(exc.path, exc.field, exc.message))
            continue
        docs[rel] = doc
    problems += _consistency(docs)
    return CheckReport(files=len(files), problems=problems)


def _consistency(docs: dict[str, dict[str, Any]]) -> list[Problem]:
    problems = []
    versions: dict[tuple[str, str], set[int]] = {}
    collections = set()
    links: dict[tuple[str, str], set[int]] = {}
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
            problems += _check_manifest(path, doc)
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


def _check_manifest(path: str, doc: dict[str, Any]) -> list[Problem]:
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


def _load(store: RegistryStore, snap: Snapshot, path: str, kind: str) -> tuple[Any, Problem | None]:
    data = snap.read(path)
    try:
        doc = yamlio.loads(data or b"", path)
        schemas.validate(doc, kind, path)
    except DocumentError as exc:
        return None, Problem(exc.path, exc.field, exc.message)
    return doc, None


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
) -> CheckReport:
    """Judge the change from ``base`` to ``head`` (what a pull request would merge).

    Every changed file must be valid; versions and links are immutable; an alias must
    name a version or link that exists; a stage alias must meet its gates and order;
    a protected alias may change only by pull request; with ``verify_blobs``, every
    blob an added version names must be in storage.
    """
    from registry_tool.sdk.context import Context

    base_commit = store.git.rev_parse(base)
    head_commit = store.git.rev_parse(head)
    if base_commit is None or head_commit is None:
        missing = base if base_commit is None else head
        raise NotFoundError(f"no commit {missing!r} in {store.root}")
    merge_base = store.git.out("merge-base", base_commit, head_commit, check=False) or base_commit
    snap = Snapshot(store.git, head_commit)
    ctx = Context(store)
    problems: list[Problem] = []
    changes = _diff(store, merge_base, head_commit)
    from_pr = is_pull_request(store, head_commit, main_branch)
    added_blobs: dict[str, str] = {}
    for status, path in changes:
        kind = schemas.kind_for_path(path)
        ours = path == REGISTRY_FILE or path.startswith(("projects/", "registries/"))
        if not ours:
            continue
        if kind is None:
            if status != "D":
                problems.append(Problem(path, "$", "not a registry file (unexpected path)"))
            continue
        if kind in ("version", "link") and status in ("M", "D"):
            what = "modified" if status == "M" else "deleted"
            problems.append(Problem(path, "$", f"{kind}s are immutable: this file was {what}"))
            continue
        if status == "D":
            if kind == "alias" and path.startswith("registries/"):
                problems += _protected(ctx, snap, path, from_pr, deleted=True)
            continue
        doc, problem = _load(store, snap, path, kind)
        if problem:
            problems.append(problem)
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
            problems += _check_manifest(path, doc)
            for entry in doc["entries"]:
                if "ref" not in entry and entry["digest"].startswith("sha256:"):
                    added_blobs[entry["digest"][7:]] = path
        elif kind == "alias" and parts[0] == "projects":
            if not snap.exists(f"projects/{parts[1]}/{parts[2]}/versions/v{doc['version']}.yaml"):
                problems.append(
                    Problem(
                        path,
                        "$.version",
                        f"alias {doc['alias']!r} names v{doc['version']}, which does not exist",
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
    problems += _contiguous(
        snap,
        {p for s, p in changes if schemas.kind_for_path(p) in ("version", "link") and s == "A"},
    )
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
    from registry_tool import promotion

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
    from registry_tool import promotion

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
    verdict = promotion.check_stage(ctx, snap, config, link, source, doc["alias"], ref=head)
    for problem in verdict.problems():
        problems.append(
            Problem(path, "$.version", f"{link.path} cannot take {doc['alias']!r}: {problem}")
        )
    return problems
