"""Finding a registry, creating one, and recording in its blob store that it is used.

A registry is given by ``registry=`` / ``REGISTRY_TOOL_DIR`` (a path, or a git URL kept
as a managed clone), else found by walking up from the working directory to a
``registry.yaml`` of ours, else the embedded default under the XDG data directory,
created on first use. A managed clone whose remote cannot be reached is used as it
was last fetched, with one warning on stderr saying so.

**Who uses a blob store.** ``gc`` removes the blobs no version names, which is only
safe when it sees every registry whose versions name blobs in the store. So a store
records its registries: one small YAML marker per registry under ``used-by/`` (a
folder beside ``sha256/`` in a local store, keys under the prefix on S3), named by the
registry's ``identity``. ``init`` and ``storage set`` write it, and refuse a store
another registry already uses unless told it is shared (``--shared-storage``); ``gc``
reads them all (``_gc``). A store made before markers existed names nobody: the first
``gc`` or ``storage set`` of it records the registry. A memory store keeps no marker
(it lives and dies with one process). A registry that stops using a store keeps its
marker there (``storage sync`` still reads the old store); delete the marker by hand
once no version of it names a blob there.

Nothing here writes a credential: ``registry.yaml`` is refused before anything is
written when a field of it looks like one (``_secret_scan``), and a marker records
where its registry was seen without any userinfo or query string.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry_tool import _schemas as schemas
from registry_tool import _settings
from registry_tool import _yamlio as yamlio
from registry_tool._blobs import BlobStore, LocalBlobStore, open_blob_store
from registry_tool._escape import log_line
from registry_tool._model.layout import REGISTRY_FILE
from registry_tool._model.names import validate_name
from registry_tool._model.records import RegistryConfig, StorageConfig
from registry_tool._secret_scan import CREDENTIALS_FROM, redact_url, scan, url_findings
from registry_tool._store.git import Git, clone, init_repo
from registry_tool._store.paths import data_home
from registry_tool._store.registry import RegistryStore, now
from registry_tool.errors import DocumentError, NotFoundError, StorageError, UsageError

log = logging.getLogger("registry_tool")

DEFAULT_STORAGE = ".blobs"
USED_BY = "used-by"  # the markers' folder in a blob store
FETCHED = "registry-tool-fetched"  # in a managed clone's .git: touched by each fetch
_URL = re.compile(r"^([a-z][a-z0-9+.-]*://|[^/\s]+@[^/\s]+:)", re.I)

# The options of `registry-tool init` that fill each field of registry.yaml.
INIT_OPTIONS = {
    "$.name": "--name",
    "$.entities": "--entity",
    "$.description": "--description",
    "$.storage.url": "--storage",
    "$.storage.endpoint_url": "--endpoint-url",
    "$.storage.region": "--region",
    "$.storage.profile": "--profile",
}

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


# -- managed clones --------------------------------------------------------------------

_warned_stale: set[str] = set()


def managed_clone(url: str) -> Path:
    """A clone of ``url`` kept under the data directory, brought up to date. When the
    remote cannot be reached the clone is used as it is, and the first time in a
    process stderr says so: reads then show what was there at the last fetch, and a
    write fails at its push."""
    tag = hashlib.sha256(url.encode()).hexdigest()[:16]
    path = data_home() / "clones" / tag
    if not (path / ".git").is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        clone(url, path)
        _fetched(path)
        return path
    repo = Git(path)
    if repo.run("fetch", "--quiet", "origin", check=False).returncode != 0:
        if url not in _warned_stale:
            _warned_stale.add(url)
            log.warning(
                "%s",
                log_line(
                    f"registry-tool: cannot fetch {_shown_url(url)}: working read-only from "
                    f"the managed clone at {path}, last fetched {_last_fetch_age(path)} "
                    "(it may be stale)"
                ),
            )
        return path
    _fetched(path)
    repo.run("merge", "--quiet", "--ff-only", check=False)
    return path


def _shown_url(url: str) -> str:
    """A remote's URL as it may be printed: never its userinfo or query string."""
    return redact_url(url) if "://" in url and url_findings(url) else url


def _fetched(path: Path) -> None:
    (path / ".git" / FETCHED).touch()


def _last_fetch_age(path: Path) -> str:
    for name in (FETCHED, "FETCH_HEAD", "HEAD"):
        try:
            seconds = time.time() - (path / ".git" / name).stat().st_mtime
        except OSError:
            continue
        return f"{_age(max(seconds, 0.0))} ago"
    return "at an unknown time"


def _age(seconds: float) -> str:
    """``"40 s"``, ``"12 min"``, ``"5 h"``, ``"3 days"``: how long ago, roughly."""
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} days"


# -- who uses a blob store -------------------------------------------------------------


@dataclass(frozen=True)
class StoreUser:
    """A registry a blob store's marker names: its ``identity`` (see
    ``RegistryConfig.identity``), name, where it was when it recorded itself (a clone's
    remote without credentials, else its folder), and whether it said the store was
    shared."""

    identity: str
    name: str
    location: str
    shared: bool

    def describe(self) -> str:
        return f"{self.name!r} (at {self.location})"


def describe_users(users: list[StoreUser]) -> str:
    """``registry 'a' (at X)`` or ``registries 'a' (at X) and 'b' (at Y)``."""
    names = [u.describe() for u in sorted(users, key=lambda u: u.identity)]
    if len(names) == 1:
        return f"registry {names[0]}"
    return f"registries {', '.join(names[:-1])} and {names[-1]}"


class _Markers:
    """The ``used-by/`` markers of one store: read all, write one, remove one."""

    def __init__(self, store: BlobStore) -> None:
        self.url = store.url
        self._local = store.root / USED_BY if isinstance(store, LocalBlobStore) else None
        self._s3: Any = store if self._local is None else None

    def read(self) -> dict[str, bytes]:
        """Marker file name -> its bytes (temp files, named with a leading '.', aside)."""
        if self._local is not None:
            try:
                names = sorted(os.listdir(self._local))
            except FileNotFoundError:
                return {}
            except OSError as exc:
                raise StorageError(f"cannot read who uses {self.url}: {exc}") from exc
            found = {}
            for name in names:
                if not name.startswith("."):
                    try:
                        found[name] = (self._local / name).read_bytes()
                    except OSError:
                        found[name] = b""  # unreadable: still a registry we cannot rule out
            return found
        return dict(self._s3_call("reading who uses", self._s3_read))

    def write(self, name: str, data: bytes) -> None:
        if self._local is not None:
            try:
                self._local.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=self._local, prefix=".incoming-")
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.chmod(tmp, 0o644)
                os.replace(tmp, self._local / name)
            except OSError as exc:
                raise StorageError(f"cannot record this registry in {self.url}: {exc}") from exc
            return
        key = self._key(name)
        self._s3_call(
            "recording this registry in",
            lambda: self._s3.client.put_object(Bucket=self._s3.bucket, Key=key, Body=data),
        )

    def remove(self, name: str) -> None:
        if self._local is not None:
            (self._local / name).unlink(missing_ok=True)
            return
        key = self._key(name)
        self._s3_call(
            "removing a marker from",
            lambda: self._s3.client.delete_object(Bucket=self._s3.bucket, Key=key),
        )

    def _key(self, name: str) -> str:
        prefix = self._s3.prefix
        return f"{prefix}/{USED_BY}/{name}" if prefix else f"{USED_BY}/{name}"

    def _s3_read(self) -> Iterator[tuple[str, bytes]]:
        client, bucket = self._s3.client, self._s3.bucket
        base = self._key("")
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
            for item in page.get("Contents", []):
                name = item["Key"][len(base) :]
                if name and "/" not in name and not name.startswith("."):
                    body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                    yield name, body

    def _s3_call(self, what: str, call: Any) -> Any:
        """``call()`` with botocore's errors as one StorageError (never its message's
        request details: the error code, or the exception's kind)."""
        from botocore.exceptions import BotoCoreError, ClientError  # deferred: S3 only

        try:
            result = call()
            return list(result) if isinstance(result, Iterator) else result
        except (BotoCoreError, ClientError) as exc:
            response = getattr(exc, "response", None) or {}
            code = response.get("Error", {}).get("Code") or type(exc).__name__
            if code == "NoCredentialsError":
                code = "no AWS credentials found"
            raise StorageError(f"{what} {self.url}: {code}") from exc


def _markers(store: BlobStore) -> _Markers | None:
    """The store's markers, or None for a store that keeps none (memory)."""
    # An S3 store, known by its shape: its module loads botocore, which only S3 needs.
    s3 = isinstance(getattr(type(store), "client", None), property) and hasattr(store, "bucket")
    return _Markers(store) if isinstance(store, LocalBlobStore) or s3 else None


def _user(name: str, data: bytes, url: str) -> StoreUser:
    identity = name.removesuffix(".yaml")
    try:
        doc = yamlio.loads(data, f"{url}/{USED_BY}/{name}")
    except DocumentError:
        doc = None
    if not isinstance(doc, dict):
        name = identity.rpartition(".")[0] or identity
        return StoreUser(identity, name, "an unreadable marker", False)
    return StoreUser(
        identity,
        str(doc.get("registry") or identity),
        str(doc.get("location") or "an unknown place"),
        doc.get("shared") is True,
    )


def store_users(store: BlobStore) -> dict[str, StoreUser] | None:
    """The registries ``store`` records as its users, by identity; None for a store
    that keeps no record."""
    markers = _markers(store)
    if markers is None:
        return None
    return {
        user.identity: user
        for user in (_user(name, data, store.url) for name, data in markers.read().items())
    }


def refuse_taken(store: BlobStore, config: RegistryConfig, *, shared: bool) -> None:
    """Refuse ``store`` for ``config``'s registry when another registry uses it and the
    caller did not say it is shared (a gc there would remove what this one needs, and
    one here what that one needs)."""
    users = store_users(store) or {}
    others = [u for identity, u in users.items() if identity != config.identity]
    if others and not shared:
        raise UsageError(
            f"{store.url} is already used by {describe_users(others)}; give "
            "--shared-storage to share it (gc in any registry using it then needs the "
            "others, with --include-registry)"
        )


def claim_store(store: BlobStore, config: RegistryConfig, root: Path, *, shared: bool) -> bool:
    """Record ``config``'s registry (its clone at ``root``) as a user of ``store``;
    whether a marker was written (False: it was there already, or the store keeps
    none)."""
    markers = _markers(store)
    if markers is None:
        return False
    users = store_users(store) or {}
    mine = users.get(config.identity)
    if mine is not None and (mine.shared or not shared):
        return False
    doc = {
        "kind": "store-user",
        "registry": config.name,
        "created_at": config.created_at,
        "location": _location(root),
        "shared": shared,
        "recorded_at": now(),
    }
    markers.write(f"{config.identity}.yaml", yamlio.dumps(doc))
    return True


def release_store(store: BlobStore, config: RegistryConfig) -> None:
    """Take ``config``'s marker out of ``store`` (undoing a claim whose write failed)."""
    markers = _markers(store)
    if markers is not None:
        markers.remove(f"{config.identity}.yaml")


def _location(root: Path) -> str:
    """Where a registry is, for the people who read a marker: its remote (without
    credentials), else its folder."""
    remote = None
    if (root / ".git").exists():
        remote = Git(root).config("remote.origin.url")
    if remote and not url_findings(remote):
        return remote
    if remote and "://" in remote:
        return redact_url(remote)
    return str(root)


# -- creating a registry ---------------------------------------------------------------


def refuse_secrets(doc: Mapping[str, Any], options: Mapping[str, str]) -> None:
    """Refuse a ``registry.yaml`` a field of which looks like a credential, naming the
    option (``options``: field -> option) that gave it and never the value."""
    for finding in scan(doc):
        option = options.get(finding.field, finding.field)
        raise UsageError(
            f"{option}: {finding.what} would be written to {REGISTRY_FILE} ({finding.field}); "
            f"credentials never go in registry files: {CREDENTIALS_FROM}",
            path=REGISTRY_FILE,
            field=finding.field,
        )


def registry_config(
    root: Path,
    *,
    name: str | None = None,
    storage: str | None = None,
    description: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    entities: Sequence[str] = (),
) -> RegistryConfig:
    """The ``registry.yaml`` that ``init`` would write at ``root``: the name and the
    ``entities`` it answers to checked, no field holding a credential, the document
    schema-valid. Reads and writes nothing."""
    registry_name = validate_name(name or _name_from(root), what="registry name")
    if isinstance(entities, str):
        entities = [entities]
    declared = tuple(
        dict.fromkeys(validate_name(e, what="entity") for e in entities if e != registry_name)
    )
    config = RegistryConfig(
        name=registry_name,
        storage=StorageConfig(url=storage or DEFAULT_STORAGE, **dict(storage_options or {})),
        created_at=now(),
        description=description,
        entities=declared,
    )
    doc = config.to_doc()
    refuse_secrets(doc, INIT_OPTIONS)
    schemas.validate(doc, "registry", REGISTRY_FILE)
    return config


def init_registry(
    path: Path | str,
    *,
    name: str | None = None,
    storage: str | None = None,
    description: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    shared_storage: bool = False,
    entities: Sequence[str] = (),
) -> RegistryStore:
    """Create a registry repo at ``path`` (a new or empty directory, or a git repo
    without a registry), with ``registry.yaml``, a README and one commit, recorded as a
    user of its blob store. ``entities`` are the entity names it answers to besides its
    name (``init --entity my-team``: W&B scripts' ``entity="my-team"``).

    ``storage_options`` are the other ``storage`` fields of ``registry.yaml``
    (``endpoint_url``, ``region``, ``profile``, ``path_style``, ``checksum``, ``parallel``).
    A store another registry uses is refused unless ``shared_storage``. The store is
    read and the marker written before the repo: a registry never exists unrecorded,
    and a failure after the marker takes it back (and the folder, if this made it).
    """
    root = Path(path).expanduser().resolve()
    if (root / REGISTRY_FILE).exists():
        raise UsageError(f"{root} is already a registry")
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a directory")
    config = registry_config(
        root,
        name=name,
        storage=storage,
        description=description,
        storage_options=storage_options,
        entities=entities,
    )
    blobs = open_blob_store(config.storage, root)
    refuse_taken(blobs, config, shared=shared_storage)
    made_root = not root.exists()
    claimed = claim_store(blobs, config, root, shared=shared_storage)
    try:
        return _write_registry(root, config, default_storage=not storage)
    except BaseException:
        if claimed:
            with contextlib.suppress(StorageError):
                release_store(blobs, config)
        if made_root:
            shutil.rmtree(root, ignore_errors=True)
        raise


def _write_registry(root: Path, config: RegistryConfig, *, default_storage: bool) -> RegistryStore:
    root.mkdir(parents=True, exist_ok=True)
    if not (root / ".git").exists():
        init_repo(root)
    files = {
        REGISTRY_FILE: yamlio.dumps(config.to_doc()),
        "README.md": _README.format(name=config.name).encode(),
    }
    if default_storage:
        files[".gitignore"] = f"/{DEFAULT_STORAGE}/\n".encode()
    for rel, data in files.items():
        target = root / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    store = RegistryStore.open(root)
    store.git.run("add", "--", *files)
    store.git.run("commit", "--quiet", "-m", f"init registry {config.name}", "--", *files)
    return store


def _name_from(root: Path) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", root.name).strip("-._") or "registry"
    return cleaned[:128]
