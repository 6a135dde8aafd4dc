"""What an ``Artifact`` draft holds before it is logged, and W&B's ways of changing it:
``add_file`` (``policy``, ``is_tmp``, ``overwrite``), ``add_dir`` (``merge``),
``remove``, and the files an incremental artifact starts from.

``policy="mutable"`` (W&B's default) copies the file into the draft's own folder when it
is added, so what is logged is the file as it was then, whatever the script writes to it
afterwards; ``"immutable"`` promises the file will not change and reads it in place at
logging time (no copy, and the stat cache spares re-reading a file logged before).
"""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from registry_tool._engine import Context
from registry_tool._engine.ingest import Copy
from registry_tool._escape import printable
from registry_tool._fmt import file_kind
from registry_tool._hashing import copy_and_hash, hash_file, scratch_path
from registry_tool._model.manifest import Entry, file_digest
from registry_tool._model.names import LATEST, validate_entry_path
from registry_tool._references.file import NotRegularFileError, open_regular, scan_folder
from registry_tool._sdk.entries import ArtifactManifestEntry
from registry_tool._sdk.media import Media, write_media
from registry_tool.errors import ArtifactError, UsageError

if TYPE_CHECKING:
    from registry_tool._sdk.artifact import Artifact

POLICIES = ("mutable", "immutable")


class SkippedFilesWarning(UserWarning):
    """``add_dir`` left files out: version control folders, or what is not a regular file."""


def _check_policy(policy: str) -> None:
    if policy not in POLICIES:
        raise UsageError(f"policy {policy!r}: use 'mutable' or 'immutable'", field="policy")


def _copy_in(art: Artifact, real: str) -> tuple[str, str]:
    """A private copy of ``real`` for the draft; (its path, its SHA-256 hex)."""
    target = scratch_path(art._copies_dir(), "f-")
    try:
        with open_regular(real) as src, open(target, "xb") as dst:
            before = os.fstat(src.fileno())
            hexdigest, _ = copy_and_hash(src, dst)
            after = os.stat(real)
    except NotRegularFileError as exc:
        target.unlink(missing_ok=True)
        raise ArtifactError(f"cannot add {real}: it is {exc.kind}, not a regular file") from None
    except OSError as exc:
        target.unlink(missing_ok=True)
        raise ArtifactError(f"cannot add {real}: {exc.strerror}") from None
    # Logging need not read the copy again; the stat cache learns the digest under the
    # file copied, unless it changed while it was read.
    same = (before.st_ino, before.st_size, before.st_mtime_ns) == (
        after.st_ino, after.st_size, after.st_mtime_ns
    )  # fmt: skip
    art._copies_made[str(target)] = Copy(hexdigest, real, before if same else None)
    return str(target), hexdigest


def tmp_name(name: str, hexdigest: str) -> str:
    """W&B's ``is_tmp`` name: the part of the file name before its first dot becomes
    the first 20 hex digits of the content digest, so temp files of different content
    never clash and the same content always gets the same name."""
    folder, _, base = name.rpartition("/")
    parts = base.split(".")
    parts[0] = hexdigest[:20]
    return (f"{folder}/" if folder else "") + ".".join(parts)


def _drop(art: Artifact, name: str) -> None:
    art._files.pop(name, None)
    art._refs.pop(name, None)
    art._sources.pop(name, None)


def _clash(art: Artifact, name: str) -> bool:
    return name in art._files or name in art._refs


def add_file(
    art: Artifact,
    local_path: str | os.PathLike[str],
    name: str | None,
    *,
    is_tmp: bool,
    policy: str,
    overwrite: bool,
) -> ArtifactManifestEntry:
    art._require_draft()
    _check_policy(policy)
    path = Path(local_path)
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = 0
    if not stat.S_ISREG(mode):
        what = f"it is {file_kind(mode)}, not a regular file" if mode else "not a file"
        raise ArtifactError(f"cannot add {path}: {what}")
    real = os.path.realpath(path)
    entry_name = name if name is not None else path.name
    validate_entry_path(entry_name)
    if not is_tmp and _clash(art, entry_name) and not overwrite:
        raise _already(art, entry_name)
    hexdigest = ""
    local = real
    if policy == "mutable":
        local, hexdigest = _copy_in(art, real)
    elif is_tmp:
        hexdigest = hash_file(real)
    if is_tmp:
        entry_name = tmp_name(entry_name, hexdigest)
        validate_entry_path(entry_name)
        if _clash(art, entry_name) and not overwrite:
            if local != real:
                os.unlink(local)
            raise _already(art, entry_name)
    _drop(art, entry_name)
    art._add(entry_name, local)
    art._sources[entry_name] = real
    size = os.path.getsize(local)
    digest = file_digest(hexdigest) if hexdigest else ""
    return ArtifactManifestEntry(Entry(entry_name, digest, size), None, real)


def _already(art: Artifact, name: str) -> ArtifactError:
    return ArtifactError(
        f"file {name!r} is already in artifact {art._name!r} (overwrite=True replaces it)"
    )


def _digest_of(art: Artifact, name: str) -> str:
    if name in art._refs:
        return art._refs[name].digest
    return file_digest(hash_file(art._files[name]))


def add_dir(
    art: Artifact,
    local_path: str | os.PathLike[str],
    name: str | None,
    *,
    policy: str,
    merge: bool,
) -> None:
    """Every file below ``local_path`` under ``name/``. A file already in the draft with
    other content is an error unless ``merge=True`` (then the folder's file wins); the
    same content is no clash. Nothing is added when anything is refused."""
    art._require_draft()
    _check_policy(policy)
    root = Path(local_path)
    if not root.is_dir():
        raise ArtifactError(f"cannot add {root}: not a directory")
    # Trailing slashes are a folder's; a leading one would make every path absolute,
    # which each file's own check then refuses.
    prefix = f"{name.rstrip('/')}/" if name else ""
    found, vcs, special = scan_folder(root)
    wanted: list[tuple[str, str]] = []
    for entry_name, full in found:
        full_name = prefix + entry_name
        validate_entry_path(full_name)
        if _clash(art, full_name) and not merge:
            if _digest_of(art, full_name) != file_digest(hash_file(full)):
                raise ArtifactError(
                    f"file {full_name!r} is already in artifact {art._name!r} with other "
                    "content (add_dir(..., merge=True) replaces it)"
                )
            continue
        wanted.append((full_name, full))
    staged: list[tuple[str, str, str]] = []
    try:
        for full_name, full in wanted:
            local = _copy_in(art, full)[0] if policy == "mutable" else full
            staged.append((full_name, local, full))
    except ArtifactError:
        for _, local, full in staged:
            if local != full:
                os.unlink(local)
        raise
    for full_name, local, full in staged:
        _drop(art, full_name)
        art._add(full_name, local)
        art._sources[full_name] = full
    for skipped, why in (
        (vcs, "version control folders and files (an artifact never holds them)"),
        (special, "what is not a regular file (only regular files are read)"),
    ):
        if skipped:
            shown = ", ".join(printable(s) for s in skipped[:10])
            more = f" (+{len(skipped) - 10} more)" if len(skipped) > 10 else ""
            warnings.warn(
                f"add_dir {root}: skipped {why}: {shown}{more}",
                SkippedFilesWarning,
                stacklevel=3,
            )


def remove(art: Artifact, item: str | os.PathLike[str] | ArtifactManifestEntry | Entry) -> None:
    """Take a file, every file below a folder, or an entry out of the draft."""
    art._require_draft()
    if isinstance(item, ArtifactManifestEntry | Entry):
        name = item.path
    elif isinstance(item, str | os.PathLike):
        name = os.fspath(item)
    else:
        raise UsageError(f"remove takes a path or an entry, not {type(item).__name__}")
    names = [*art._files, *art._refs]
    gone = [name] if name in names else [n for n in names if n.startswith(f"{name.rstrip('/')}/")]
    if not gone:
        extra = (
            " (an incremental artifact can remove only what it added)" if art.incremental else ""
        )
        raise ArtifactError(
            f"cannot remove {printable(name)!r}: no such file or folder in artifact "
            f"{art._name!r}{extra}"
        )
    for each in gone:
        _drop(art, each)


def incremental_base(ctx: Context, project: str, art: Artifact) -> list[Entry]:
    """The files of the collection's latest version that the draft does not replace:
    what an incremental artifact adds to (none when the collection has no version)."""
    snap = ctx.store.head()
    latest = ctx.store.read_alias(snap, project, art._name, LATEST)
    if latest is None:
        return []
    record = ctx.store.read_version(snap, project, art._name, latest.version)
    if record is None or record.deleted is not None:
        return []
    return [e for e in record.entries if not _clash(art, e.path)]


@contextmanager
def new_file(
    art: Artifact, name: str, mode: str, encoding: str | None, policy: str
) -> Iterator[IO[Any]]:
    """A file written straight into the draft's staging folder, added when closed.

    The file is the draft's own already, so either ``policy`` logs it as written: no
    copy is made, and nothing but the draft writes to it.
    """
    art._require_draft()
    _check_policy(policy)
    validate_entry_path(name)
    if mode not in ("x", "w", "xb", "wb"):
        raise UsageError(f"new_file mode {mode!r}: use 'w', 'x', 'wb' or 'xb'")
    if _clash(art, name):
        raise ArtifactError(f"file {name!r} is already in artifact {art._name!r}")
    for parent in Path(name).parents:
        if _clash(art, str(parent)):
            raise ArtifactError(
                f"cannot create {name!r} in artifact {art._name!r}: {str(parent)!r} is a file"
            )
    target = art._staging_dir() / name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        kwargs = {} if "b" in mode else {"encoding": encoding or "utf-8"}
        # Closed by the ``with`` below; an OSError here is about the name, not the data.
        f = open(target, mode.replace("x", "w"), **kwargs)  # type: ignore[call-overload]  # noqa: SIM115
    except OSError as exc:
        raise ArtifactError(
            f"cannot create {name!r} in artifact {art._name!r}: {exc.strerror}"
        ) from exc
    with f:
        yield f
    art._add(name, str(target))


def add_media(art: Artifact, obj: Media, name: str, overwrite: bool) -> ArtifactManifestEntry:
    """A ``Table`` as ``<name>.table.json`` or another media value as
    ``<name>.<type>.json`` (W&B's names), the files it names beside it."""
    art._require_draft()
    if not isinstance(obj, Media):
        raise UsageError(f"artifact.add takes a Table or a media value, not {type(obj).__name__}")
    entry = validate_entry_path(obj.with_suffix(name))
    if _clash(art, entry):
        if not overwrite:
            raise _already(art, entry)
        _drop(art, entry)
    staging = art._staging_dir()
    for rel in write_media(obj, staging, name):
        if rel not in art._files:
            art._add(rel, str(staging / rel))
    return ArtifactManifestEntry(Entry(entry, "", (staging / entry).stat().st_size))


def pending_entries(art: Artifact, *, hash_files: bool) -> list[Entry]:
    """The draft's entries in path order; a file's digest is left empty unless
    ``hash_files`` (hashing a large draft only to show it would be slow)."""
    entries = list(art._refs.values())
    for name, pending in art._files.items():
        digest = file_digest(hash_file(pending)) if hash_files else ""
        entries.append(Entry(name, digest, os.path.getsize(pending)))
    return sorted(entries, key=lambda e: e.path)


def log_draft(art: Artifact, project: str | None) -> None:
    """``Artifact.save()`` on a draft logs it, as W&B's does: through the current run
    (as its output), else through a run of job type ``auto`` started for it in
    ``project`` (default: the default project), as W&B starts one. (``_sdk/run.py``
    imports the artifact, so the run module is imported here, when it is called.)
    """
    from registry_tool._sdk.run import current_run, init

    run = current_run()
    if run is None:
        with init(project=project, job_type="auto") as started:
            started.log_artifact(art)
        return
    if project is not None and project != run.project:
        raise UsageError(
            f"Artifact.save(project={project!r}): the current run {run.id} logs to project "
            f"{run.project!r}; finish it first, or log with run.log_artifact()",
            field="project",
        )
    run.log_artifact(art)
