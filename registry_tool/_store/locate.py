"""Finding a registry, and creating one.

A registry is given by ``registry=`` / ``REGISTRY_TOOL_DIR`` (a path, or a git URL kept
as a managed clone), else found by walking up from the working directory to a
``registry.yaml`` of ours, else the embedded default under the XDG data directory,
created on first use.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from registry_tool import _schemas as schemas
from registry_tool import _settings
from registry_tool import _yamlio as yamlio
from registry_tool._model.layout import REGISTRY_FILE
from registry_tool._model.names import validate_name
from registry_tool._model.records import RegistryConfig, StorageConfig
from registry_tool._store.git import Git, clone, init_repo
from registry_tool._store.paths import data_home
from registry_tool._store.registry import RegistryStore, now
from registry_tool.errors import DocumentError, NotFoundError, UsageError

log = logging.getLogger("registry_tool")

DEFAULT_STORAGE = ".blobs"
_URL = re.compile(r"^([a-z][a-z0-9+.-]*://|[^/\s]+@[^/\s]+:)", re.I)

_README = """# {name}

An artifact and model registry kept by registry-tool. Every file here is YAML that
registry-tool writes and validates; the bytes live in the blob store that
`registry.yaml` names.

    registry-tool ls            # what is here
    registry-tool show PROJECT/NAME:latest
    registry-tool check         # validate every file
"""


def default_registry_path() -> Path:
    return data_home() / "default"


def _is_ours(path: Path) -> bool:
    try:
        doc = yamlio.loads(path.read_bytes(), str(path))
    except (OSError, DocumentError):
        return False
    return isinstance(doc, dict) and doc.get("kind") == "registry"


def find_registry_root(start: Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` holding our ``registry.yaml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / REGISTRY_FILE
        if candidate.is_file() and _is_ours(candidate):
            return folder
    return None


def open_registry(registry: str | os.PathLike[str] | None = None) -> RegistryStore:
    """Open the registry the caller means (see the module docstring for the order)."""
    given = os.fspath(registry) if registry is not None else _settings.registry_dir()
    if given:
        path = Path(given.removeprefix("file://")).expanduser()
        is_checkout = (path / REGISTRY_FILE).is_file()
        if not is_checkout and _URL.match(given):
            return RegistryStore.open(managed_clone(given))
        if not is_checkout:
            raise NotFoundError(
                f"{path} is not a registry (no {REGISTRY_FILE}); "
                f"create one with 'registry-tool init {path}'"
            )
        return RegistryStore.open(path)
    found = find_registry_root()
    if found is not None:
        return RegistryStore.open(found)
    default = default_registry_path()
    if not (default / REGISTRY_FILE).is_file():
        init_registry(default, name="default")
        log.warning("registry-tool: created the default registry at %s", default)
    return RegistryStore.open(default)


def managed_clone(url: str) -> Path:
    """A clone of ``url`` kept under the data directory, brought up to date."""
    tag = hashlib.sha256(url.encode()).hexdigest()[:16]
    path = data_home() / "clones" / tag
    if not (path / ".git").is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        clone(url, path)
    else:
        repo = Git(path)
        repo.run("pull", "--quiet", "--ff-only", check=False)
    return path


def init_registry(
    path: Path | str,
    *,
    name: str | None = None,
    storage: str | None = None,
    description: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> RegistryStore:
    """Create a registry repo at ``path`` (a new or empty directory, or a git repo
    without a registry), with ``registry.yaml``, a README and one commit.

    ``storage_options`` are the other ``storage`` fields of ``registry.yaml``
    (``endpoint_url``, ``region``, ``profile``, ``path_style``, ``checksum``, ``parallel``).
    """
    root = Path(path).expanduser().resolve()
    if (root / REGISTRY_FILE).exists():
        raise UsageError(f"{root} is already a registry")
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a directory")
    registry_name = validate_name(name or _name_from(root), what="registry name")
    config = RegistryConfig(
        name=registry_name,
        storage=StorageConfig(url=storage or DEFAULT_STORAGE, **dict(storage_options or {})),
        created_at=now(),
        description=description,
    )
    doc = config.to_doc()
    schemas.validate(doc, "registry", REGISTRY_FILE)
    root.mkdir(parents=True, exist_ok=True)
    if not (root / ".git").exists():
        init_repo(root)
    files = {
        REGISTRY_FILE: yamlio.dumps(doc),
        "README.md": _README.format(name=registry_name).encode(),
    }
    if not storage:
        files[".gitignore"] = f"/{DEFAULT_STORAGE}/\n".encode()
    for rel, data in files.items():
        target = root / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    store = RegistryStore.open(root)
    store.git.run("add", "--", *files)
    store.git.run("commit", "--quiet", "-m", f"init registry {registry_name}", "--", *files)
    return store


def _name_from(root: Path) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", root.name).strip("-._") or "registry"
    return cleaned[:128]
