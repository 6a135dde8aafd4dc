"""``run_checks``: what ``registry-tool check`` runs, on a tree or on a change."""

from __future__ import annotations

import os
from pathlib import Path

from registry_tool import _settings
from registry_tool._checks.diff import check_diff
from registry_tool._checks.report import CheckReport
from registry_tool._checks.tree import check_tree
from registry_tool._engine.context import Context
from registry_tool._model.layout import REGISTRY_FILE
from registry_tool._store import RegistryStore, open_registry
from registry_tool._store.locate import find_registry_root
from registry_tool._verify import missing_blobs
from registry_tool.errors import DocumentError, UsageError


def run_checks(
    registry: RegistryStore | str | os.PathLike[str] | None = None,
    *,
    base: str | None = None,
    head: str | None = None,
    main_branch: str = "main",
    verify_blobs: bool = False,
    deep: bool = False,
) -> CheckReport:
    """Every file of the registry's working tree, or with ``base`` the change from
    ``base`` to ``head`` (default HEAD): what a pull request would merge.

    ``registry`` is an opened store, a path or URL, or None for the default registry.
    ``main_branch`` is the branch protected aliases may not change on directly;
    ``verify_blobs`` also checks that every blob an added version names is in storage;
    ``deep`` recomputes every digest (on a change: of the whole head). A
    ``registry.yaml`` too broken to open the registry with (a key the schema refuses,
    a secret among them) is reported with the rest of the working tree, not raised.

    >>> run_checks("my-registry", base="origin/main", deep=True).ok  # doctest: +SKIP
    True
    """
    if base is None and head is not None:
        raise UsageError("--head needs --base")
    if isinstance(registry, RegistryStore):
        store = registry
    else:
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
        verify_blobs=missing_blobs(Context(store)) if verify_blobs else None,
        deep=deep,
    )
    report.root = store.root
    return report


def _unopened_root(registry: str | os.PathLike[str] | None) -> Path | None:
    """The folder of the registry.yaml that failed to open, when it is local."""
    given = os.fspath(registry) if registry is not None else _settings.registry_dir()
    if given:
        path = Path(given.removeprefix("file://")).expanduser().resolve()
        return path if (path / REGISTRY_FILE).is_file() else None
    return find_registry_root()
