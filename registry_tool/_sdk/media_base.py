"""What every media value shares: W&B's JSON round trip and its binding to a run.

W&B's media classes (``Image``, ``Table``, ``Histogram``, ``Audio``, ...) all speak one
protocol: ``to_json(run_or_artifact)`` gives the cell a run's history or an artifact
holds, ``from_json(cell, artifact)`` gives the value back, and ``bind_to_run`` ties the
value to the run, key and step it is logged under. W&B copies files to its server
there; here the one primitive is ``_store(root)``: it writes the value's files under a
folder (a run's folder, an artifact's staging folder) and returns the cell that names
them with the files written, so a run, an artifact and ``to_json`` store media alike.

>>> Media.path_is_reference("s3://bucket/a.wav"), Media.path_is_reference("a.wav")
(True, False)
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from registry_tool._model.names import validate_entry_path
from registry_tool.errors import InvalidNameError, UsageError

_REFERENCE = re.compile(r"^(gs|s3|https?)://")
# Every media class by W&B's ``_type``, filled as the classes are defined.
_TYPES: dict[str, type[Media]] = {}


def put_file(root: Path, folder: str, data: bytes, ext: str) -> tuple[str, str]:
    """Write ``data`` under ``root/folder`` named by its SHA-256, so the same bytes
    logged many times are one file; return the digest and the relative path."""
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{folder}/{digest[:32]}{ext}"
    target = root / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return digest, rel


def source_root(source: Any) -> Path:
    """The folder the paths of a cell are relative to: a folder given as such, or a
    logged artifact's downloaded files (W&B's ``source_artifact``)."""
    if isinstance(source, (str, os.PathLike)):
        return Path(source)
    download = getattr(source, "download", None)
    if callable(download):
        return Path(download())
    raise UsageError(
        f"from_json needs the artifact (or folder) the cell came from, not {type(source).__name__}"
    )


def resolver(source: Any) -> Callable[[Any], Path]:
    """A function from a cell's ``path`` to the local file, refusing a path that
    would leave the source's folder."""
    root: list[Path] = []

    def resolve(rel: Any) -> Path:
        if not isinstance(rel, str):
            raise UsageError(f"a media cell's path must be text, not {rel!r}")
        try:
            validate_entry_path(rel)
        except InvalidNameError as exc:
            raise UsageError(f"a media cell's path {rel!r}: {exc}") from None
        if not root:
            root.append(source_root(source))
        return root[0] / rel

    return resolve


def _target(value: Media, run_or_artifact: Any) -> tuple[Path, Callable[[Path, list[str]], None]]:
    """Where ``to_json`` writes ``value``'s files and how they join their owner."""
    if isinstance(run_or_artifact, (str, os.PathLike)):
        return Path(run_or_artifact), lambda root, files: None
    staging = getattr(run_or_artifact, "_staging_dir", None)
    if callable(staging):  # a draft artifact: the files become its entries
        art = run_or_artifact
        art._require_draft()

        def add(root: Path, files: list[str]) -> None:
            for rel in files:
                if rel not in art._files:
                    art._add(rel, str(root / rel))

        return staging(), add
    if hasattr(run_or_artifact, "log") and hasattr(run_or_artifact, "dir"):
        if value._run is not run_or_artifact:
            raise UsageError(
                f"{type(value).__name__}.to_json(run): call bind_to_run(run, key, step) first,"
                " as W&B requires"
            )
        return Path(run_or_artifact.dir), lambda root, files: None
    raise UsageError(
        f"{type(value).__name__}.to_json takes a Run or an Artifact,"
        f" not {type(run_or_artifact).__name__}"
    )


class Media:
    """The members W&B's media classes share; a subclass names its ``_log_type`` and
    media folder and defines ``_store`` and ``_from_json``."""

    _log_type: ClassVar[str] = ""
    _subdir: ClassVar[str] = "media"
    _run: Any = None
    _key: str | None = None
    _step: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_log_type" in cls.__dict__ and cls._log_type:
            _TYPES.setdefault(cls._log_type, cls)

    # -- W&B's protocol ------------------------------------------------------------

    def _store(self, root: Path) -> tuple[dict[str, Any], list[str]]:
        raise NotImplementedError

    @classmethod
    def _from_json(cls, json_obj: Mapping[str, Any], resolve: Callable[[Any], Path]) -> Any:
        raise NotImplementedError

    def _has_file(self) -> bool:
        return False

    def bind_to_run(
        self,
        run: Any,
        key: Any,
        step: Any,
        id_: Any = None,
        ignore_copy_err: bool | None = None,
    ) -> None:
        """Tie the value to the run, key and step it is logged under. W&B copies the
        file to the run's upload folder here; the files are written when the row is
        logged (or ``to_json(run)`` is called), so only the binding is recorded."""
        if run is None:
            raise UsageError(f"{type(self).__name__}.bind_to_run needs a run")
        if not isinstance(key, (str, int)) or isinstance(key, bool):
            raise UsageError(f"{type(self).__name__}.bind_to_run key must be text, not {key!r}")
        self._run, self._key, self._step = run, str(key), step

    def is_bound(self) -> bool:
        """Whether ``bind_to_run`` tied the value to a run."""
        return self._run is not None

    def file_is_set(self) -> bool:
        """Whether the value has a file to store (a histogram or a class set has none)."""
        return self._has_file()

    @staticmethod
    def path_is_reference(path: Any) -> bool:
        """Whether ``path`` is a remote URL (s3, gs, http) rather than a local file."""
        if path is None or isinstance(path, Path):
            return False
        return bool(_REFERENCE.match(str(path)))

    @classmethod
    def with_suffix(cls, name: str, filetype: str = "json") -> str:
        """``name`` with W&B's suffix for this kind of value, ``<name>.<type>.json``:
        how an artifact names the value stored under ``name``."""
        suffix = f"{cls._log_type}.{filetype}" if cls._log_type else filetype
        return name if name.endswith(f".{suffix}") else f"{name}.{suffix}"

    @staticmethod
    def type_mapping() -> dict[str, type[Media]]:
        """Every media class by the ``_type`` its cells carry."""
        return dict(_TYPES)

    @classmethod
    def get_media_subdir(cls) -> str:
        """The folder a run or an artifact keeps these files in."""
        return cls._subdir

    @staticmethod
    def captions(media_items: Iterable[Any]) -> list[Any] | bool:
        """The captions of ``media_items``, or False when the first has none (W&B's rule)."""
        items = list(media_items)
        if not items or getattr(items[0], "caption", None) is None:
            return False
        return [getattr(item, "caption", None) for item in items]

    def to_json(self, run_or_artifact: Any) -> dict[str, Any]:
        """W&B's cell for this value; its files are written into the draft artifact
        (as entries) or the run's folder (the value must be bound to that run)."""
        root, add = _target(self, run_or_artifact)
        cell, files = self._store(root)
        add(root, files)
        return cell

    @classmethod
    def from_json(cls, json_obj: Any, source_artifact: Any) -> Any:
        """The value a cell describes; its files are read from ``source_artifact``
        (a logged artifact, or the folder the cell's paths are relative to)."""
        if not isinstance(json_obj, Mapping):
            raise UsageError(
                f"{cls.__name__}.from_json takes a dict, not {type(json_obj).__name__}"
            )
        try:
            return cls._from_json(json_obj, resolver(source_artifact))
        except (KeyError, TypeError) as exc:
            raise UsageError(
                f"{cls.__name__}.from_json: not a {cls._log_type} cell ({exc})"
            ) from None

    @staticmethod
    def init_from_json(json_obj: Any, source_artifact: Any) -> Any:
        """The value of any media cell, its class found by the cell's ``_type``."""
        kind = json_obj.get("_type") if isinstance(json_obj, Mapping) else None
        if kind not in _TYPES:
            raise UsageError(f"init_from_json: {kind!r} is not a known media type")
        return _TYPES[kind].from_json(json_obj, source_artifact)

    @classmethod
    def seq_to_json(cls, seq: Iterable[Any], run: Any, key: Any, step: Any) -> dict[str, Any]:
        """Several values logged under one key, as one cell: each bound to ``run``
        at ``key`` and ``step`` (when not yet bound) and stored."""
        items = list(seq)
        for item in items:
            if not isinstance(item, cls):
                raise UsageError(f"{cls.__name__}.seq_to_json: {type(item).__name__} in the list")
            if not item.is_bound():
                item.bind_to_run(run, key, step)
        cells = [item.to_json(run) for item in items]
        out: dict[str, Any] = {"_type": f"{cls._log_type}/list", "count": len(cells)}
        out["items"] = cells
        captions = cls.captions(items)
        if captions:
            out["captions"] = captions
        return out


def find_stored(root: Path, name: str) -> tuple[str, type[Media]] | None:
    """The file an artifact holds a value under ``name`` as, and its class: ``name``
    itself when it names the type, else the first ``<name>.<type>.json`` present."""
    for kind in _TYPES.values():
        if name.endswith(f".{kind._log_type}.json") and (root / name).is_file():
            return name, kind
    for kind in _TYPES.values():
        candidate = kind.with_suffix(name)
        if (root / candidate).is_file():
            return candidate, kind
    return None
