"""``run_checks``: what ``registry-tool check`` runs, on a tree or on a change."""

from __future__ import annotations

import os
from pathlib import Path

from registry_tool import _settings
from registry_tool._checks import ci as ci_event
from registry_tool._checks.ci import PullLookup
from registry_tool._checks.diff import check_diff
from registry_tool._checks.holders import holder_problems
from registry_tool._checks.promotions import ArrivedByPr
from registry_tool._checks.report import CheckReport
from registry_tool._checks.tree import check_tree, committed_objects
from registry_tool._engine.context import Context
from registry_tool._model import layout
from registry_tool._model.layout import REGISTRY_FILE
from registry_tool._model.records import RegistryConfig
from registry_tool._store import RegistryStore, Snapshot, open_registry
from registry_tool._store.history import refuse_shallow
from registry_tool._store.locate import find_registry_root
from registry_tool._store.registry import blob_id
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
    ci: bool = False,
    pull_lookup: PullLookup | None = None,
) -> CheckReport:
    """Every file of the registry's working tree, or with ``base`` the change from
    ``base`` to ``head`` (default HEAD): what a pull request would merge.

    ``registry`` is an opened store, a path or URL, or None for the default registry.
    ``main_branch`` is the branch protected aliases may not change on directly;
    ``verify_blobs`` also checks that every blob an added version names is in storage;
    ``deep`` recomputes every digest (on a change: of the whole head). A
    ``registry.yaml`` too broken to open the registry with (a key the schema refuses,
    a secret among them) is reported with the rest of the working tree, not raised.
    A whole tree also has every protected stage's holder (as committed) judged.

    ``ci`` takes the change from the GitHub Actions event instead of ``base`` and
    ``head`` (see ``registry_tool._checks.ci``); ``pull_lookup`` asks GitHub whether a
    commit pushed to main is a merged pull request.

    Blobs are looked for in the storage the base names: a change's own registry.yaml
    is judged, never trusted with credentials.

    >>> run_checks("my-registry", base="origin/main", deep=True).ok  # doctest: +SKIP
    True
    """
    if base is None and head is not None:
        raise UsageError("--head needs --base")
    if ci and (base is not None or head is not None):
        raise UsageError("--ci takes the change from the GitHub event: drop --base and --head")
    if isinstance(registry, RegistryStore):
        store = registry
    else:
        try:
            store = open_registry(registry)
        except DocumentError:  # only a registry.yaml is read to open a registry
            root = _unopened_root(registry)
            if root is None:
                raise
            return check_tree(root, deep=deep)
    if ci:
        return _check_event(store, main_branch, verify_blobs, deep, pull_lookup)
    if base is None:
        return _check_whole(store, deep)
    return _check_change(store, base, head or "HEAD", main_branch, verify_blobs, deep)


def _check_whole(store: RegistryStore, deep: bool) -> CheckReport:
    """The working tree's files, the git objects of HEAD's (what every reader reads),
    and every protected stage's holder as committed: judged only when those objects
    can be read, else the readers' failure would hide the broken objects named."""
    report = check_tree(store.root, deep=deep)
    commit = store.git.rev_parse("HEAD")
    if commit is None:
        return report
    broken = committed_objects(store.git, commit)
    report.problems += broken
    if not broken:
        report.problems += holder_problems(Context(store), store.head())
    return report


def _check_change(
    store: RegistryStore,
    base: str,
    head: str,
    main_branch: str,
    verify_blobs: bool,
    deep: bool,
    arrived_by_pr: ArrivedByPr | None = None,
) -> CheckReport:
    report = check_diff(
        store,
        base,
        head,
        main_branch=main_branch,
        verify_blobs=missing_blobs(Context(_trusted(store, base))) if verify_blobs else None,
        deep=deep,
        arrived_by_pr=arrived_by_pr,
    )
    report.root = store.root
    return report


def _check_event(
    store: RegistryStore,
    main_branch: str,
    verify_blobs: bool,
    deep: bool,
    pull_lookup: PullLookup | None,
) -> CheckReport:
    """The change of the GitHub Actions event; on a push to main, also how each
    protected stage arrived and every protected stage's holder. A shallow checkout is
    refused first: each of these reads history it does not have."""
    refuse_shallow(store)
    change = ci_event.read_event(store)
    if change.base is None:
        report = _check_whole_at(store, change.head, deep)
        return report
    if change.event != "push":
        return _check_change(store, change.base, change.head, main_branch, verify_blobs, deep)
    arrived = ci_event.PushArrivals(store, change.base, change.head, pull_lookup)
    report = _check_change(
        store, change.base, change.head, main_branch, verify_blobs, deep, arrived
    )
    head = Snapshot(store.git, change.head)
    report.problems += ci_event.forced_push(change, main_branch)
    touched = {
        key.collection_key
        for path in arrived.commits
        if (key := layout.parse(path)) is not None and key.collection is not None
    }
    report.problems += holder_problems(
        Context(store), head, skip=set(arrived.commits), collections=touched
    )
    report.problems = list(dict.fromkeys(report.problems))  # a holder under a new policy
    return report


def _check_whole_at(store: RegistryStore, commit: str, deep: bool) -> CheckReport:
    """A first push: the whole tree, which the checkout has at ``commit``."""
    if store.git.rev_parse("HEAD") != store.git.rev_parse(commit):
        raise UsageError(f"check --ci: HEAD is not the pushed commit {commit[:12]}")
    return _check_whole(store, deep)


def _trusted(store: RegistryStore, base: str) -> RegistryStore:
    """The store with the base's registry.yaml: where blobs are looked for, with what
    credentials, is what was reviewed before this change."""
    data = Snapshot(store.git, store.git.rev_parse(base)).read(REGISTRY_FILE)
    if data is None:  # a base that is no commit (refused later) or holds no registry.yaml
        return store
    doc = store.docs.get(blob_id(data), "registry", lambda: data, REGISTRY_FILE)
    return RegistryStore(store.root, store.git, RegistryConfig.from_doc(doc), store.docs)


def _unopened_root(registry: str | os.PathLike[str] | None) -> Path | None:
    """The folder of the registry.yaml that failed to open, when it is local."""
    given = os.fspath(registry) if registry is not None else _settings.registry_dir()
    if given:
        path = Path(given.removeprefix("file://")).expanduser().resolve()
        return path if (path / REGISTRY_FILE).is_file() else None
    return find_registry_root()
