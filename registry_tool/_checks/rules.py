"""The rules ``check`` applies to registry files, each written once over typed records.

A rule reads one file in its ``Parsed`` form (the ``Key`` its path stands for, the
validated document and its typed record) and, when it must, asks ``Facts`` about the
rest of the registry. ``tree`` answers the facts from the files of a working tree,
``diff`` from the head commit of a change; both apply these same rules.

>>> path = "projects/p/data/aliases/best.yaml"
>>> parsed, problems = parse_file(path, layout.parse(path), b"kind: alias\\n")
>>> parsed, [str(p) for p in problems]
(None, ["projects/p/data/aliases/best.yaml: $: 'alias' is a required property"])
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from registry_tool import _schemas as schemas
from registry_tool import _secret_scan as secret_scan
from registry_tool import _yamlio as yamlio
from registry_tool._checks.report import Problem
from registry_tool._model import layout
from registry_tool._model.edits import EditRecord
from registry_tool._model.governance import LinkRecord
from registry_tool._model.layout import Key
from registry_tool._model.manifest import artifact_digest, check_entries
from registry_tool._model.names import fold
from registry_tool._model.records import AliasRecord, CollectionRecord, RunRecord, VersionRecord
from registry_tool.errors import DocumentError, RegistryError

# The documents that name storage, where a credential could be pasted.
SECRET_KINDS = ("registry", "model-registry")
# What a path the registry does not own is told, in a diff and in a working tree.
NOT_OURS = "not a registry file (unexpected path)"
NOT_OURS_IN_TREE = "not a registry file (unexpected path under projects/)"
GAP = "missing: versions must be numbered from v0 with no gap"
WIDE = "an integer beyond the 64-bit range -2**63..2**64-1"

Record = CollectionRecord | VersionRecord | AliasRecord | RunRecord | LinkRecord | EditRecord


@dataclass(frozen=True)
class Parsed:
    """One registry file that parsed and validated: where it is, what its path stands
    for, its document, and its typed record (None for the configs no rule reads
    field by field: ``registry.yaml``, a model registry's, an unlink mark)."""

    path: str
    key: Key
    doc: dict[str, Any]
    record: Record | None


class Facts(Protocol):
    """What the rules ask about the rest of the registry."""

    def has_version(self, project: str, name: str, number: int) -> bool:
        """Whether ``project/name:v<number>`` is there (an invalid file counts)."""
        ...

    def is_deleted(self, project: str, name: str, number: int) -> bool:
        """Whether that version carries the soft-delete mark."""
        ...

    def has_link(self, registry: str, collection: str, number: int) -> bool:
        """Whether ``model-registry/<registry>/<collection>:v<number>`` is there."""
        ...


@dataclass
class Known:
    """``Facts`` from the files read: the versions (by collection), which of them are
    deleted, and the links (by registry collection)."""

    versions: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    deleted: set[tuple[str, str, int]] = field(default_factory=set)
    links: dict[tuple[str, str], set[int]] = field(default_factory=dict)

    def add_version(self, project: str, name: str, number: int, *, deleted: bool = False) -> None:
        self.versions.setdefault((project, name), set()).add(number)
        if deleted:
            self.deleted.add((project, name, number))

    def add_link(self, registry: str, collection: str, number: int) -> None:
        self.links.setdefault((registry, collection), set()).add(number)

    def has_version(self, project: str, name: str, number: int) -> bool:
        return number in self.versions.get((project, name), ())

    def is_deleted(self, project: str, name: str, number: int) -> bool:
        return (project, name, number) in self.deleted

    def has_link(self, registry: str, collection: str, number: int) -> bool:
        return number in self.links.get((registry, collection), ())


# -- reading a file --------------------------------------------------------------------


def parse_file(path: str, key: Key, data: bytes) -> tuple[Parsed | None, list[Problem]]:
    """A registry file read strictly (None when it does not parse or validate) and its
    problems: credentials in a registry.yaml first, then the schema's verdict."""
    problems: list[Problem] = []
    try:
        doc = yamlio.loads(data, path)
    except DocumentError as exc:
        if key.schema in SECRET_KINDS:
            problems += secrets(path, None, data)
        return None, [*problems, Problem(exc.path, exc.field, exc.message)]
    if key.schema in SECRET_KINDS:
        problems += secrets(path, doc, data)
    try:
        schemas.validate(doc, key.schema, path)
    except DocumentError as exc:
        return None, [*problems, Problem(exc.path, exc.field, exc.message)]
    wide = yamlio.wide_integer(doc)
    if wide is not None:  # the tool never writes one; no 64-bit reader holds it
        return None, [*problems, Problem(path, wide, WIDE)]
    return Parsed(path, key, doc, record_of(key, doc)), problems


def secrets(path: str, doc: Any, data: bytes) -> list[Problem]:
    return [Problem(path, f.field, f.message) for f in secret_scan.scan(doc, data)]


def record_of(key: Key, doc: dict[str, Any]) -> Record | None:
    """The typed record of a validated document."""
    if key.kind == "collection":
        return CollectionRecord.from_doc(doc)
    if key.kind == "version":
        return VersionRecord.from_doc(doc)
    if key.kind in ("alias", "registry-alias"):
        return AliasRecord.from_doc(doc)
    if key.kind == "run":
        return RunRecord.from_doc(doc)
    if key.kind == "link":
        return LinkRecord.from_doc(doc)
    if key.kind == "edit":
        return EditRecord.from_doc(doc)
    return None


def file_name(path: str) -> str:
    return posixpath.basename(path)


# -- a file on its own -----------------------------------------------------------------


def own(p: Parsed) -> list[Problem]:
    """What is wrong with a file by itself: it names what its path says, a version or
    link is numbered as its file is named, a manifest adds up."""
    found = identity(p)
    if found:
        return found  # its other fields describe another document: not judged here
    return [*numbering(p), *manifest(p)]


def identity(p: Parsed) -> list[Problem]:
    """A file names what its path says: a run, collection, version or alias its own
    path, a link or unlink mark its registry collection (and number), a model
    registry's ``registry.yaml`` its folder. Readers go by the path; a field that
    says otherwise would be judged in place of the file that is read."""
    record, key = p.record, p.key
    if isinstance(record, RunRecord) and (record.project, record.id) != (key.project, key.run):
        return [
            Problem(
                p.path,
                "$.id",
                f"names run {record.project}/{record.id}, not the one its path says",
            )
        ]
    if isinstance(record, CollectionRecord | VersionRecord) and (
        (record.project, record.name) != (key.project, key.name)
    ):
        return [
            Problem(
                p.path,
                "$.name",
                f"names {record.project}/{record.name}, not the collection its path says",
            )
        ]
    if isinstance(record, AliasRecord) and record.alias != key.alias:
        return [
            Problem(
                p.path,
                "$.alias",
                f"is {record.alias!r}, but the file is named {file_name(p.path)}",
            )
        ]
    if isinstance(record, LinkRecord) and (record.registry, record.collection) != (
        key.registry,
        key.collection,
    ):
        return [
            Problem(
                p.path,
                "$.registry",
                f"names model-registry/{record.registry}/{record.collection}, not the "
                "collection its path says",
            )
        ]
    if isinstance(record, EditRecord) and (
        record.project,
        record.name,
        record.version,
        record.seq,
    ) != (key.project, key.name, key.version, key.seq):
        return [
            Problem(
                p.path,
                "$",
                f"names {record.path} edit {record.seq}, not the edit its path says "
                "(edits/v<N>/<seq>.yaml)",
            )
        ]
    if key.kind == "model-registry" and p.doc.get("name") != key.registry:
        return [
            Problem(
                p.path,
                "$.name",
                f"is {p.doc.get('name')!r}, but the registry's folder is {key.registry}",
            )
        ]
    if key.kind == "unlink" and (
        p.doc.get("registry"),
        p.doc.get("collection"),
        p.doc.get("version"),
    ) != (key.registry, key.collection, key.version):
        return [Problem(p.path, "$", "names another link than the one its path says")]
    return []


# What a registry file must be in git and on disk: a regular file (not a symbolic link,
# whose target a reader would take for the document, nor a submodule, a FIFO...).
NOT_REGULAR = "not a regular file: registry files may not be symbolic links or submodules"


def numbering(p: Parsed) -> list[Problem]:
    """A version or link file is named ``v<N>.yaml`` for the N it holds."""
    if not isinstance(p.record, VersionRecord | LinkRecord) or p.key.version == p.record.version:
        return []
    return [
        Problem(
            p.path,
            "$.version",
            f"is {p.record.version}, but the file is named {file_name(p.path)}",
        )
    ]


def manifest(p: Parsed) -> list[Problem]:
    """A version's entries are a valid manifest whose digest, count and size are the
    ones the version records."""
    version = p.record
    if not isinstance(version, VersionRecord):
        return []
    path, entries = p.path, version.entries
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
    if artifact_digest(entries) != version.digest:
        problems.append(
            Problem(
                path,
                "$.digest",
                "does not match the digest of the entries (the manifest was altered)",
            )
        )
    # The recorded count and size are document fields the record computes instead.
    if p.doc["file_count"] != len(entries):
        problems.append(
            Problem(
                path,
                "$.file_count",
                f"is {p.doc['file_count']}, the manifest lists {len(entries)} files",
            )
        )
    if p.doc["size"] != version.size:
        problems.append(Problem(path, "$.size", "does not match the sum of the entries' sizes"))
    return problems


# -- a file and what it names ----------------------------------------------------------


def references(p: Parsed, facts: Facts) -> list[Problem]:
    """Everything a file names exists: an alias's version (or link), a link's source,
    a run's inputs and outputs."""
    record = p.record
    if isinstance(record, AliasRecord):
        return alias_target(p, record, facts)
    if isinstance(record, LinkRecord):
        return link_source(p.path, record, facts)
    if isinstance(record, RunRecord):
        return run_uses(p.path, record, facts)
    if isinstance(record, EditRecord):
        return edit_target(p.path, record, facts)
    return []


def alias_target(p: Parsed, alias: AliasRecord, facts: Facts) -> list[Problem]:
    """An alias names a version that exists and is not deleted; a registry alias, a
    link that exists."""
    owner, collection = p.key.collection_key
    if p.key.in_registry:
        exists, deleted = facts.has_link(owner, collection, alias.version), False
    else:
        exists = facts.has_version(owner, collection, alias.version)
        deleted = exists and facts.is_deleted(owner, collection, alias.version)
    if not exists:
        what = "does not exist"
    elif deleted:
        what = "is deleted"
    else:
        return []
    return [
        Problem(p.path, "$.version", f"alias {alias.alias!r} names v{alias.version}, which {what}")
    ]


def link_source(path: str, link: LinkRecord, facts: Facts) -> list[Problem]:
    if facts.has_version(link.project, link.name, link.source_version):
        return []
    return [Problem(path, "$.source", f"links {link.source_path}, which does not exist")]


def edit_target(path: str, edit: EditRecord, facts: Facts) -> list[Problem]:
    """An edit names a version that exists: an edit of nothing would show nowhere, and
    would apply to whatever version later took that number."""
    if facts.has_version(edit.project, edit.name, edit.version):
        return []
    return [Problem(path, "$.version", f"edits {edit.path}, which does not exist")]


def run_uses(path: str, run: RunRecord, facts: Facts) -> list[Problem]:
    problems = []
    for which, uses in (("inputs", run.inputs), ("outputs", run.outputs)):
        for i, use in enumerate(uses):
            if not facts.has_version(use.project, use.name, use.version):
                problems.append(Problem(path, f"$.{which}[{i}]", f"{use.path} does not exist"))
    return problems


# -- across files ----------------------------------------------------------------------


# A collection numbered past more missing versions than this is one problem on its
# highest file: one per missing number would be a billion for a v999999999.yaml.
MAX_GAPS = 1000


def gaps(numbers: Iterable[int], path_for: Callable[[int], str]) -> list[Problem]:
    """Versions (or links) are numbered from v0 with no gap: one problem per number
    missing below the highest, or one on the highest file when more than ``MAX_GAPS``
    are missing (a hand edit of v999999999.yaml would otherwise ask for a billion
    problems, and the memory to list them)."""
    present = set(numbers)
    top = max(present, default=-1)
    missing = top + 1 - len(present)
    if missing > MAX_GAPS:
        return [Problem(path_for(top), "$", f"{GAP} ({missing} numbers are missing below v{top})")]
    return [Problem(path_for(gap), "$", GAP) for gap in sorted(set(range(top + 1)) - present)]


def collection_missing(project: str, name: str) -> Problem:
    return Problem(
        layout.collection_file(project, name),
        "$",
        "missing: the collection has versions but no artifact.yaml",
    )


CASE = "differs only by case from {other} (one path on a case-insensitive file system)"


def case_collisions(paths: Iterable[str]) -> list[Problem]:
    """Every path (or folder of one) whose name differs from a sibling's only by case
    or Unicode form: a checkout on macOS or Windows would make the two one file. The
    first of each such group, in sorted order, stands; the others are reported."""
    places: set[tuple[str, str]] = set()
    for path in paths:
        here = path
        while here:
            parent, name = posixpath.split(here)
            places.add((parent, name))
            here = parent
    groups: dict[tuple[str, str], list[str]] = {}
    for parent, name in sorted(places):
        groups.setdefault((parent, fold(name)), []).append(name)
    problems = []
    for (parent, _), names in sorted(groups.items()):
        for name in names[1:]:
            other = posixpath.join(parent, names[0])
            problems.append(Problem(posixpath.join(parent, name), "$", CASE.format(other=other)))
    return problems
