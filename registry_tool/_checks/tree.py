"""``check`` on a whole working tree (committed or not): every file, and between files;
and the git objects of the committed registry files, which is what every reader reads.

A file reported as invalid still counts as present, so it is not reported again as
missing, nor are the files that name it.
"""

from __future__ import annotations

import gc
import os
import re
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from registry_tool._checks import rules
from registry_tool._checks.deep import link_digests
from registry_tool._checks.owners import owner_problems
from registry_tool._checks.report import CheckReport, Problem
from registry_tool._checks.rules import Known, Parsed
from registry_tool._model import codeowners, layout
from registry_tool._model.governance import LinkRecord, ModelRegistryConfig
from registry_tool._model.layout import REGISTRY_FILE, Key
from registry_tool._model.records import VersionRecord
from registry_tool._site import config as site_config
from registry_tool._store.git import Git
from registry_tool._store.objects import Found, read_objects
from registry_tool.errors import DocumentError

# Files read by one process: their bytes are held at once (a manifest can be megabytes).
_BLOBS_AT_ONCE = 2000
_TREE_ENTRY = re.compile(rb"(\d+) ([^\0]+)\0(.{20})", re.S)


def check_tree(root: Path, *, deep: bool = False) -> CheckReport:
    """Validate every registry file in a working tree (committed or not); ``deep`` also
    recomputes every link's source digest from the source version's manifest.

    >>> check_tree(Path("my-registry")).ok  # doctest: +SKIP
    True
    """
    files: dict[str, Parsed] = {}
    unreadable: list[Key] = []
    paths, irregular = _yaml_files(root)
    problems = [Problem(rel, "$", rules.NOT_REGULAR) for rel in irregular]
    problems += rules.case_collisions([*paths, *irregular])
    with _no_cycle_collection():
        for rel in paths:
            key = layout.parse(rel)
            if key is None:
                problems.append(Problem(rel, "$", rules.NOT_OURS_IN_TREE))
                continue
            parsed, found = rules.parse_file(rel, key, (root / rel).read_bytes())
            problems += found
            if parsed is not None:
                files[rel] = parsed
            else:
                unreadable.append(key)
        problems += _between_files(files, unreadable)
    if deep:
        problems += link_digests(files)
    problems += _site_settings(root)
    problems += _owners(root, files)
    return CheckReport(files=len(paths) + len(irregular), problems=problems, root=root)


def _owners(root: Path, files: dict[str, Parsed]) -> list[Problem]:
    """CODEOWNERS covers what governs the registry (see ``owners``)."""

    def read(rel: str) -> bytes | None:
        path = root / rel
        return path.read_bytes() if path.is_file() and not path.is_symlink() else None

    configs = [
        ModelRegistryConfig.from_doc(p.doc)
        for p in files.values()
        if p.key.kind == "model-registry"
    ]
    return owner_problems(read, (root / codeowners.GITHUB).is_dir(), configs)


def _site_settings(root: Path) -> list[Problem]:
    """A registry's own ``mkdocs.yml`` keeps to what the site build allows (how the
    site looks, never code): refused here, before it reaches the Pages job."""
    problems = [
        Problem(path.relative_to(root).as_posix(), "$", rules.NOT_REGULAR)
        for path in sorted((root / site_config.TEMPLATES).rglob("*"))
        if path.is_symlink()
    ]
    if not os.path.lexists(root / site_config.FILE):
        return problems
    try:
        site_config.load(root)
    except DocumentError as exc:
        problems.append(Problem(exc.path, exc.field, exc.message))
    return problems


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Reading every document of a registry allocates millions of objects and makes no
    reference cycle: the cyclic collector's passes over them are pure cost (half a
    second of a 48,000-file check), so it waits until the files are read."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _yaml_files(root: Path) -> tuple[list[str], list[str]]:
    """The regular files of the registry's tree (``registry.yaml``, ``projects/``,
    ``registries/``), and apart from them every path there that is not one: a
    symbolic link (to a file or a folder, never followed), a FIFO, a device."""
    files: list[str] = []
    irregular: list[str] = []

    def place(path: Path) -> None:
        rel = path.relative_to(root).as_posix()
        mode = path.lstat().st_mode
        (files if stat.S_ISREG(mode) else irregular).append(rel)

    if os.path.lexists(root / REGISTRY_FILE):
        place(root / REGISTRY_FILE)
    for top in (layout.PROJECTS, layout.REGISTRIES):
        folder = root / top
        if folder.is_symlink():
            irregular.append(top)
            continue
        for parent, dirs, names in os.walk(folder):  # never follows a linked folder
            here = Path(parent)
            for name in names:
                place(here / name)
            for name in dirs:
                if (here / name).is_symlink():
                    irregular.append((here / name).relative_to(root).as_posix())
    return sorted(files), sorted(irregular)


def _between_files(files: dict[str, Parsed], unreadable: Iterable[Key]) -> list[Problem]:
    """Each file on its own, then the numbering of every collection, then what each
    file names. A file that could not be read (``unreadable``) still counts as there:
    a collection's artifact.yaml, or a version by the number its name gives."""
    problems: list[Problem] = []
    known = Known()
    collections: set[tuple[str, str]] = set()
    for key in unreadable:
        if key.kind == "collection":
            collections.add(key.collection_key)
        elif key.kind == "version" and key.version is not None:
            known.add_version(*key.collection_key, key.version)
    for parsed in files.values():
        key, record = parsed.key, parsed.record
        mismatch = rules.identity(parsed)
        problems += mismatch
        if mismatch:
            continue  # it describes another document: not counted, nor judged further
        misnumbered = rules.numbering(parsed)
        problems += misnumbered
        problems += rules.manifest(parsed)
        if key.kind == "collection":
            collections.add(key.collection_key)
        elif isinstance(record, VersionRecord) and not misnumbered:
            known.add_version(*key.collection_key, record.version, deleted=bool(record.deleted))
        elif isinstance(record, LinkRecord):
            known.add_link(*key.collection_key, record.version)
    for (project, name), numbers in sorted(known.versions.items()):
        if (project, name) not in collections:
            problems.append(rules.collection_missing(project, name))
        problems += rules.gaps(numbers, partial(layout.version_file, project, name))
    for parsed in files.values():
        problems += rules.references(parsed, known)
    problems += _link_types(files)
    return problems


def _link_types(files: dict[str, Parsed]) -> list[Problem]:
    """Every link of a model registry that lists ``types`` links a version of one."""
    types = {
        p.key.registry: tuple(p.doc.get("types") or ())
        for p in files.values()
        if p.key.kind == "model-registry"
    }
    versions = {
        (r.project, r.name, r.version): r.type
        for p in files.values()
        if isinstance(r := p.record, VersionRecord)
    }
    problems = []
    for parsed in files.values():
        link = parsed.record
        if not isinstance(link, LinkRecord) or not types.get(link.registry):
            continue
        kind = versions.get((link.project, link.name, link.source_version))
        if kind is not None and kind not in types[link.registry]:
            problems.append(
                Problem(
                    parsed.path,
                    "$.source",
                    f"{link.source_path} is of type {kind!r}; model-registry/{link.registry} "
                    f"takes {', '.join(types[link.registry])}",
                )
            )
    return problems


# -- the committed objects -------------------------------------------------------------


def committed_objects(repo: Git, commit: str) -> list[Problem]:
    """One problem per git object of ``commit``'s registry files that cannot be read as
    what it is (missing, or corrupt: it does not inflate, or its bytes do not hash to its
    id), named by the first path it is at. ``check`` reads the working tree, but every
    other command reads these objects: a checkout can look whole while a reader fails.

    The trees are read level by level and the files ``_BLOBS_AT_ONCE`` at a time, each
    batch by one ``git cat-file --batch`` (a few processes for any size of registry); a
    broken folder is reported once, and nothing below it is read."""
    found = read_objects(repo, [commit])[commit]
    if found.kind != "commit" or not found.intact or found.data is None:
        return [_broken(".", commit, "HEAD's commit", found)]
    root = found.data.partition(b"\n")[0].removeprefix(b"tree ").decode("ascii", "replace")
    problems: list[Problem] = []
    level = {root: ""}
    files: dict[str, str] = {}
    while level:
        trees = read_objects(repo, list(level))
        below: dict[str, str] = {}
        for sha, path in level.items():
            tree = trees[sha]
            if tree.kind != "tree" or not tree.intact or tree.data is None:
                problems.append(_broken(path or ".", sha, "the committed folder", tree))
                continue
            for mode, name, entry in _entries(tree.data):
                full = f"{path}/{name}" if path else name
                if not path and name not in (REGISTRY_FILE, layout.PROJECTS, layout.REGISTRIES):
                    continue
                if mode == b"40000":
                    below.setdefault(entry, full)
                elif mode in (b"100644", b"100755"):
                    files.setdefault(entry, full)
        level = below
    shas = list(files)
    for start in range(0, len(shas), _BLOBS_AT_ONCE):
        blobs = read_objects(repo, shas[start : start + _BLOBS_AT_ONCE])
        for sha, blob in blobs.items():
            if blob.kind != "blob" or not blob.intact:
                problems.append(_broken(files[sha], sha, "the committed file", blob))
    return sorted(problems, key=lambda p: p.path)


def _entries(data: bytes) -> Iterator[tuple[bytes, str, str]]:
    """``(mode, name, object id)`` of each entry of a tree object's bytes."""
    for match in _TREE_ENTRY.finditer(data):
        name = match.group(2).decode("utf-8", "surrogateescape")
        yield match.group(1), name, match.group(3).hex()


def _broken(path: str, sha: str, what: str, found: Found) -> Problem:
    state = found.problem or "corrupt"
    return Problem(
        path,
        "$",
        f"git object {sha} of {what} is {state}: every reader fails on it "
        "(fetch it again from a clone that has it)",
    )
