"""What a live run keeps besides metrics and artifacts: files saved into it
(``run.save``) and brought back (``wandb.restore``), its source code as a ``code``
artifact (``run.log_code``), its console lines (``run.write_logs``), and the small
members W&B's ``Run`` has (``settings``, ``starting_step``, ``to_html``...).

A saved file becomes a file of the run, as a logged image does: a blob named in the run
file, listed by the public run's ``files()``. ``restore`` reads it back from any process.
"""

from __future__ import annotations

import glob as globbing
import inspect
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from registry_tool._engine import Context
from registry_tool._model.names import validate_entry_path, validate_name
from registry_tool._model.records import RunFile, RunRecord
from registry_tool._promotion.promote import site_page
from registry_tool._sdk.artifact import Artifact
from registry_tool._sdk.html import run_html, show_html
from registry_tool._sdk.run_like import RunLike
from registry_tool._sdk.settings import Settings
from registry_tool.errors import NotFoundError, UsageError

POLICIES = ("live", "now", "end")
CONSOLE_LOG = "output.log"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_SKIPPED_DIRS = {"wandb", ".wandb", ".git", ".venv", "venv", "node_modules", "__pycache__"}


def _ignore(_n: int) -> None:
    pass


def _is_source(path: str, root: str) -> bool:
    """W&B's default for ``log_code``: Python files, requirements.txt, Dockerfiles."""
    name = os.path.basename(path)
    return name.endswith(".py") or name.startswith("Dockerfile") or name == "requirements.txt"


def _is_excluded(path: str, root: str) -> bool:
    """Files in the run folders (``wandb/``), as W&B excludes them."""
    first = Path(os.path.relpath(path, root)).parts[0]
    return first in ("wandb", ".wandb")


def _ask(fn: Callable[..., bool], path: str, root: str) -> bool:
    """W&B calls ``include_fn``/``exclude_fn`` with ``(path, root)`` or ``(path)``."""
    try:
        arity = len(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        arity = 2
    return bool(fn(path, root) if arity >= 2 else fn(path))


def _walk(root: Path) -> Iterator[Path]:
    """Every regular file under ``root``; virtualenvs, git folders, caches and run
    folders are not entered (they are never the source, and can be huge)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _safe_name(text: str) -> str:
    return _UNSAFE.sub("_", text)[:128]


def find_run(ctx: Context, run_path: str, project: str | None) -> RunRecord:
    """The run ``entity/project/id``, ``project/id`` or ``id`` (in ``project``)."""
    parts = run_path.split("/") if isinstance(run_path, str) else []
    if not parts or len(parts) > 3 or not all(parts):
        raise UsageError(f"run_path {run_path!r}: expected entity/project/id or project/id")
    if len(parts) == 3:
        ctx.check_entity(validate_name(parts[0], what="entity"))
    where = parts[-2] if len(parts) >= 2 else project
    if where is None:
        raise UsageError(f"run_path {run_path!r}: name the project (project/id)")
    record = ctx.store.read_run(ctx.store.head(), validate_name(where, what="project"), parts[-1])
    if record is None:
        raise NotFoundError(f"run {where}/{parts[-1]} does not exist")
    return record


def restore_file(
    ctx: Context, record: RunRecord, name: str, root: str | os.PathLike[str], replace: bool
) -> IO[str]:
    """Write the run's file ``name`` under ``root`` (kept as it is when it exists and
    ``replace`` is false, as W&B does) and return it open for reading."""
    found = {f.path: f for f in record.files}.get(name)
    if found is None:
        raise NotFoundError(f"run {record.project}/{record.id} saved no file {name!r}")
    target = Path(root) / validate_entry_path(name)
    if replace or not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        data = ctx.read_blob(found.digest)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(data)
        partial.replace(target)
    return target.open()


class ConfigStatic(Mapping[str, Any]):
    """A read-only view of the config, by key or attribute (W&B's ``config_static``)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_data", dict(config))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        raise TypeError("config_static is read-only; set run.config instead")

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class RunFiles:
    """The members of ``Run`` this module holds (``Run`` sets the state in ``__init__``)."""

    _saved: dict[str, tuple[Path, str]]
    _pinned: tuple[str, ...]
    _settings: Settings
    _starting_step: int
    _console: bool

    # -- files -------------------------------------------------------------------------

    def save(
        self: RunLike,
        glob_str: str | os.PathLike[str] | None = None,
        base_path: str | os.PathLike[str] | None = None,
        policy: str = "live",
        glob: str | os.PathLike[str] | None = None,
    ) -> list[str]:
        """Save the files matching ``glob_str`` into the run (named by their path under
        ``base_path``, the current folder by default); return their paths in ``dir``.

        ``policy="now"`` keeps the bytes as they are now; ``"live"`` and ``"end"`` keep
        them as they are when the run finishes (each is stored now too).
        """
        self._check_open()
        pattern = glob_str if glob_str is not None else glob
        if pattern is None:
            raise UsageError("save: glob_str is required")
        if policy not in POLICIES:
            raise UsageError(f"save: policy {policy!r} is not one of {', '.join(POLICIES)}")
        text = os.fspath(pattern)
        if base_path is None:
            static = text.split("*")[0].split("?")[0].split("[")[0]
            base = Path(os.path.dirname(static) if os.path.isabs(text) else ".")
        else:
            base = Path(base_path)
        base = base.resolve()
        matches = [Path(p) for p in sorted(globbing.glob(text, recursive=True))]
        named: dict[str, Path] = {}
        for path in (p.resolve() for p in matches if p.is_file()):
            if not path.is_relative_to(base):
                raise UsageError(f"save: {path} is not under base_path {base}")
            named[validate_entry_path(path.relative_to(base).as_posix())] = path
        for name, path in named.items():
            self._saved[name] = (path, policy)
            self._keep(name, path)
        if named:
            self._metrics.flush()
            self._ctx.record_run(self._current(), f"save {len(named)} file(s) [run {self.id}]")
            self._written = True
        return [str(self._metrics.dir / name) for name in named]

    def _keep(self: RunLike, name: str, source: Path) -> None:
        """Copy ``source`` into the run's folder as ``name`` and store it as a blob."""
        local = self._metrics.dir / name
        if source != local.resolve():
            local.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, local)
        hexdigest, _ = self._ctx.blobs.ingest(local, None, _ignore)
        self._metrics.files[name] = RunFile(name, f"sha256:{hexdigest}", local.stat().st_size)

    def _keep_at_finish(self: RunLike) -> None:
        """Store the final bytes of the ``live`` and ``end`` files and the console."""
        for name, (source, policy) in self._saved.items():
            if policy != "now" and source.is_file():
                self._keep(name, source)
        if self._console:
            self._keep(CONSOLE_LOG, self._metrics.dir / CONSOLE_LOG)

    def restore(
        self: RunLike,
        name: str,
        run_path: str | None = None,
        replace: bool = False,
        root: str | os.PathLike[str] | None = None,
    ) -> IO[str]:
        """A file saved by this run (or the run at ``run_path``), written under
        ``root`` (the run's ``dir`` by default) and opened for reading."""
        if run_path is None:
            record = self._current()
        else:
            record = find_run(self._ctx, run_path, self.project)
        return restore_file(self._ctx, record, name, root or self.dir, replace)

    def write_logs(self: RunLike, text: str) -> None:
        """Add ``text`` to the run's console log (``output.log``, stored at finish and
        read back by the public run's ``console_logs()``)."""
        self._check_open()
        if not isinstance(text, str):
            raise UsageError(f"write_logs: text must be a string, not {type(text).__name__}")
        with (self._metrics.dir / CONSOLE_LOG).open("a", encoding="utf-8") as out:
            out.write(text)
        self._console = True

    # -- code --------------------------------------------------------------------------

    def log_code(
        self: RunLike,
        root: str | os.PathLike[str] | None = ".",
        name: str | None = None,
        include_fn: Callable[..., bool] = _is_source,
        exclude_fn: Callable[..., bool] = _is_excluded,
    ) -> Artifact | None:
        """Log the source files under ``root`` as a ``code`` artifact of this run, named
        ``source-<project>-<program>`` by default, as W&B names it (so each run of one
        script is a version of one artifact). None when no file qualifies."""
        self._check_open()
        top = Path(root if root is not None else ".").resolve()
        artifact = Artifact(name or self._code_name(top), "code")
        found = False
        for path in _walk(top):
            full = str(path)
            if _ask(include_fn, full, str(top)) and not _ask(exclude_fn, full, str(top)):
                artifact.add_file(path, name=path.relative_to(top).as_posix())
                found = True
        if not found:
            return None
        return self.log_artifact(artifact)

    def _code_name(self: RunLike, top: Path) -> str:
        program = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
        if program is not None and program.is_file() and program.is_relative_to(top):
            label = program.relative_to(top).as_posix()
        else:
            label = self.id
        return _safe_name(f"source-{self.project}-{label}")

    # -- what W&B's Run shows --------------------------------------------------------

    @property
    def config_static(self: RunLike) -> ConfigStatic:
        """The config as it is now, read-only."""
        return ConfigStatic(self.config)

    @property
    def project_url(self: RunLike) -> str | None:
        """The project's page on the published site, when the registry names its URL."""
        return site_page(self._ctx.store.head(), "artifacts", self.project, "index.html")

    @property
    def settings(self: RunLike) -> Settings:
        """The settings the run started with, and its own fields filled in."""
        out = Settings()
        out.update(self._settings)
        out.update(
            project=self.project,
            entity=self.entity,
            run_id=self.id,
            run_name=self.name,
            run_notes=self.notes,
            run_tags=self.tags,
            run_group=self.group,
            run_job_type=self.job_type,
        )
        return out

    @property
    def starting_step(self: RunLike) -> int:
        """The step the run started at: 0, or the next step of a resumed run."""
        return self._starting_step

    @property
    def sync_dir(self: RunLike) -> str:
        """The run's folder (``<dir>/wandb/run-<id>``): its history and its files."""
        return str(self._metrics.folder)

    def to_html(self: RunLike, height: int = 420, hidden: bool = False) -> str:
        return run_html(self.url, self.name, height, hidden)

    def display(self: RunLike, height: int = 420, hidden: bool = False) -> bool:
        """Show the run in a Jupyter notebook; False elsewhere."""
        return show_html(self.to_html(height, hidden))

    def pin_config_keys(self: RunLike, keys: Any = None) -> None:
        """Choose the config keys shown first for this run. Each must be in the config
        (nested ones as ``a.b``); the published site's run page lists the whole config,
        so the pins are kept on the run object only."""
        wanted = [] if keys is None else list(keys)
        for key in wanted:
            node: Any = self.config
            for part in str(key).split("."):
                if not isinstance(node, Mapping) or part not in node:
                    raise UsageError(f"pin_config_keys: {key!r} is not in the config")
                node = node[part]
        self._pinned = tuple(str(k) for k in wanted)
