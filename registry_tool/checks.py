"""What ``registry-tool check`` verifies on a whole registry.

Every YAML file is parsed strictly and validated against the schema of its kind, and
the documents must agree with each other: a file sits at the path its content names,
versions are numbered from v0 with no gap, every alias and lineage edge names a version
that exists, and each manifest's digest is the digest of its entries.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from registry_tool import schemas, yamlio
from registry_tool.errors import DocumentError, RegistryError
from registry_tool.model.manifest import Entry, artifact_digest, check_entries
from registry_tool.model.names import parse_version
from registry_tool.model.records import REGISTRY_FILE


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
    projects = root / "projects"
    if projects.is_dir():
        out += sorted(p.relative_to(root).as_posix() for p in projects.rglob("*") if p.is_file())
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
    for path, doc in docs.items():
        parts = path.split("/")
        kind = doc["kind"]
        if kind == "registry":
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
