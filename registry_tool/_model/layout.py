"""Where every document of a registry repo lives: registry keys to repo paths, and back.

This is the one module that knows the repo layout. Everything else asks it for a path
(``version_file("p", "data", 3)``) or for the key a path stands for
(``parse("projects/p/data/versions/v3.yaml")``); no other module splits repo paths::

    registry.yaml                                       the registry: name, storage
    projects/<project>/<name>/artifact.yaml             a collection
    projects/<project>/<name>/versions/v<N>.yaml        one version
    projects/<project>/<name>/aliases/<alias>.yaml      one alias of a collection
    projects/<project>/<name>/edits/v<N>/<seq>.yaml     one edit of version N, made
                                                        after logging (seq 0, 1, ...)
    projects/<project>/runs/<run-id>.yaml               one run
    registries/<registry>/registry.yaml                 a model registry's config
    registries/<registry>/<collection>/links/v<N>.yaml      a link (a registry version)
    registries/<registry>/<collection>/unlinked/v<N>.yaml   an unlink mark
    registries/<registry>/<collection>/aliases/<alias>.yaml a registry alias (a stage)

>>> version_file("vision", "classifier", 3)
'projects/vision/classifier/versions/v3.yaml'
>>> parse("registries/prod/classifier/aliases/production.yaml")
Key(kind='registry-alias', project=None, name=None, version=None, alias='production', run=None, registry='prod', collection='classifier', seq=None)
>>> parse("projects/vision/classifier/versions/v3.yaml").schema
'version'
>>> edit_file("vision", "classifier", 3, 0)
'projects/vision/classifier/edits/v3/0.yaml'
>>> parse("projects/vision/classifier/edits/v3/0.yaml").seq
0

An edit file is written once and never changed (as a version file): the edits of a
version are the record of who changed what after it was logged, in ``seq`` order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REGISTRY_FILE = "registry.yaml"
PROJECTS = "projects"
REGISTRIES = "registries"
RUNS = "runs"  # a project's folder of runs, beside its collections
COLLECTION_FILE = "artifact.yaml"  # a collection's file, in the folder of its versions
_YAML = ".yaml"
_VERSION_RE = re.compile(r"^v(0|[1-9][0-9]{0,8})$")
_VERSION_FILE_RE = re.compile(r"v(0|[1-9][0-9]{0,8})\.yaml")  # fullmatch: one call a file
_SEQ_FILE_RE = re.compile(r"(0|[1-9][0-9]{0,8})\.yaml")  # an edit file: <seq>.yaml
EDITS = "edits"  # a collection's folder of edits, beside its versions


def parse_version(value: str) -> int | None:
    """``"v12"`` -> 12; anything else (``v012``, ``12``) -> None. The version files'
    names and the ``:vN`` of an artifact path share this grammar.

    >>> parse_version("v12"), parse_version("v012")
    (12, None)
    """
    match = _VERSION_RE.fullmatch(value)
    return int(match.group(1)) if match else None


# -- keys to paths -------------------------------------------------------------------


def project_dir(project: str) -> str:
    return f"{PROJECTS}/{project}"


def collection_dir(project: str, name: str) -> str:
    return f"{PROJECTS}/{project}/{name}"


def collection_file(project: str, name: str) -> str:
    return f"{collection_dir(project, name)}/{COLLECTION_FILE}"


def versions_dir(project: str, name: str) -> str:
    return f"{collection_dir(project, name)}/versions"


def version_file(project: str, name: str, version: int) -> str:
    return f"{versions_dir(project, name)}/v{version}{_YAML}"


def aliases_dir(project: str, name: str) -> str:
    return f"{collection_dir(project, name)}/aliases"


def alias_file(project: str, name: str, alias: str) -> str:
    return f"{aliases_dir(project, name)}/{alias}{_YAML}"


def edits_root(project: str, name: str) -> str:
    """The folder of a collection's edits: one ``v<N>`` folder per edited version."""
    return f"{collection_dir(project, name)}/{EDITS}"


def edits_dir(project: str, name: str, version: int) -> str:
    """The folder of one version's edits."""
    return f"{edits_root(project, name)}/v{version}"


def edit_file(project: str, name: str, version: int, seq: int) -> str:
    return f"{edits_dir(project, name, version)}/{seq}{_YAML}"


def edit_seq(filename: str) -> int | None:
    """``2`` for ``2.yaml`` in an edits folder; None for anything else (``02.yaml``).

    >>> edit_seq("2.yaml"), edit_seq("02.yaml"), edit_seq("x.yaml")
    (2, None, None)
    """
    match = _SEQ_FILE_RE.fullmatch(filename)
    return int(match.group(1)) if match else None


def runs_dir(project: str) -> str:
    return f"{PROJECTS}/{project}/{RUNS}"


def run_file(project: str, run_id: str) -> str:
    return f"{runs_dir(project)}/{run_id}{_YAML}"


def model_registry_dir(registry: str) -> str:
    return f"{REGISTRIES}/{registry}"


def model_registry_file(registry: str) -> str:
    return f"{model_registry_dir(registry)}/{REGISTRY_FILE}"


def link_dir(registry: str, collection: str) -> str:
    return f"{model_registry_dir(registry)}/{collection}"


def links_dir(registry: str, collection: str) -> str:
    return f"{link_dir(registry, collection)}/links"


def link_file(registry: str, collection: str, version: int) -> str:
    return f"{links_dir(registry, collection)}/v{version}{_YAML}"


def unlinked_dir(registry: str, collection: str) -> str:
    return f"{link_dir(registry, collection)}/unlinked"


def unlink_file(registry: str, collection: str, version: int) -> str:
    return f"{unlinked_dir(registry, collection)}/v{version}{_YAML}"


def registry_aliases_dir(registry: str, collection: str) -> str:
    return f"{link_dir(registry, collection)}/aliases"


def registry_alias_file(registry: str, collection: str, alias: str) -> str:
    return f"{registry_aliases_dir(registry, collection)}/{alias}{_YAML}"


# -- paths to keys -------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """What one repo path stands for. ``kind`` is one of ``registry``, ``collection``,
    ``version``, ``alias``, ``run``, ``model-registry``, ``link``, ``unlink``,
    ``registry-alias`` and ``edit``; the other fields are those the path names."""

    kind: str
    project: str | None = None
    name: str | None = None
    version: int | None = None
    alias: str | None = None
    run: str | None = None
    registry: str | None = None
    collection: str | None = None
    seq: int | None = None  # an edit's number among its version's edits

    @property
    def schema(self) -> str:
        """The schema its document is validated against (both alias kinds share one)."""
        return "alias" if self.kind == "registry-alias" else self.kind

    @property
    def collection_key(self) -> tuple[str, str]:
        """``(project, name)`` of a project document, ``(registry, collection)`` of a
        registry's; the collection the file belongs to."""
        if self.project is not None and self.name is not None:
            return self.project, self.name
        if self.registry is not None and self.collection is not None:
            return self.registry, self.collection
        raise ValueError(f"a {self.kind} belongs to no collection")

    @property
    def in_registry(self) -> bool:
        """Whether the path is under ``registries/``."""
        return self.registry is not None


def version_of_file(filename: str) -> int | None:
    """``3`` for ``v3.yaml``; None for anything else (``v03.yaml`` included).

    >>> version_of_file("v12.yaml"), version_of_file("v012.yaml"), version_of_file("latest.yaml")
    (12, None, None)
    """
    match = _VERSION_FILE_RE.fullmatch(filename)
    return int(match.group(1)) if match else None


def parse(path: str) -> Key | None:
    """The key a repo path stands for, or None for a path the registry does not own
    (a README, ``.github/``). A version, link or unlink file not named ``v<N>.yaml`` is
    still that kind of file, with ``version`` None: a check reports it."""
    if path == REGISTRY_FILE:
        return Key("registry")
    if not path.endswith(_YAML):
        return None
    parts = path.split("/")
    stem = parts[-1].removesuffix(_YAML)
    if parts[0] == REGISTRIES:
        if len(parts) == 3 and parts[2] == REGISTRY_FILE:
            return Key("model-registry", registry=parts[1])
        if len(parts) != 5:
            return None
        registry, collection, folder = parts[1], parts[2], parts[3]
        if folder == "aliases":
            return Key("registry-alias", alias=stem, registry=registry, collection=collection)
        if folder in ("links", "unlinked"):
            kind = "link" if folder == "links" else "unlink"
            version = version_of_file(parts[4])
            return Key(kind, version=version, registry=registry, collection=collection)
        return None
    if parts[0] != PROJECTS:
        return None
    if len(parts) == 4 and parts[2] == RUNS:
        return Key("run", project=parts[1], run=stem)
    if len(parts) == 4 and parts[3] == COLLECTION_FILE:
        return Key("collection", project=parts[1], name=parts[2])
    if len(parts) == 5 and parts[3] == "aliases":
        return Key("alias", project=parts[1], name=parts[2], alias=stem)
    if len(parts) == 5 and parts[3] == "versions":
        return Key("version", project=parts[1], name=parts[2], version=version_of_file(parts[4]))
    if len(parts) == 6 and parts[3] == EDITS:
        # A badly named edit file is still an edit file, with version or seq None.
        return Key(
            "edit",
            project=parts[1],
            name=parts[2],
            version=parse_version(parts[4]),
            seq=edit_seq(parts[5]),
        )
    return None


def kind_for_path(path: str) -> str | None:
    """The schema of the document at a repo path, or None for files the registry does
    not own."""
    key = parse(path)
    return key.schema if key else None
