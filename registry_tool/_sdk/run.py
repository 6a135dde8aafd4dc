"""``Run``: one execution of training or data code, and the lineage it records.

>>> with init(project="my-project", job_type="train") as run:     # doctest: +SKIP
...     data = run.use_artifact("training-data:latest")
...     run.log_artifact(model_artifact, aliases=["best"])
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import string
import subprocess
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from registry_tool._engine import Context
from registry_tool._model.layout import run_file
from registry_tool._model.names import parse_artifact_path, validate_line, validate_name
from registry_tool._model.plain import to_plain
from registry_tool._model.records import ArtifactUse, CodeInfo, RunRecord
from registry_tool._promotion import link_version
from registry_tool._sdk.artifact import Artifact
from registry_tool._sdk.public_run import Config
from registry_tool._store import now
from registry_tool._store.registry import check_document
from registry_tool.errors import ArtifactError, RegistryError, UsageError

DEFAULT_PROJECT = "uncategorized"
_ALPHABET = string.ascii_lowercase + string.digits


def new_run_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


def _code_info(registry_root: Path) -> CodeInfo | None:
    """The git commit of the code being run, when the working directory is in a repo
    other than the registry itself."""

    def git(*args: str) -> str | None:
        proc = subprocess.run(["git", *args], capture_output=True, check=False, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() == registry_root.resolve():
        return None
    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return CodeInfo(
        commit=commit, branch=git("symbolic-ref", "--quiet", "--short", "HEAD"), dirty=dirty
    )


def _one_line(value: object, field: str, longest: int) -> str:
    """``value`` if it is a string of one line, at most ``longest`` characters."""
    if not isinstance(value, str):
        raise UsageError(f"{field}: must be a string, not {type(value).__name__}", field=field)
    validate_line(value, field=field)
    if len(value) > longest:
        raise UsageError(f"{field}: longer than {longest} characters", field=field)
    return value


class Run:
    """A run: records what it used and logged, in one YAML file per run."""

    def __init__(
        self,
        ctx: Context,
        *,
        project: str | None = None,
        entity: str | None = None,
        job_type: str | None = None,
        config: dict[str, Any] | None = None,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        self._ctx = ctx
        self.id = validate_name(id, what="run id") if id else new_run_id()
        self.project = validate_name(project or DEFAULT_PROJECT, what="project")
        self.entity = validate_name(entity, what="entity") if entity else ctx.entity
        # One line each, checked here: a bad job_type would otherwise surface only when
        # the run is first written, as the default name's fault, after blobs are stored.
        self.job_type = _one_line(job_type, "job_type", 128) if job_type is not None else None
        self.name = _one_line(name, "name", 256) if name else f"{job_type or 'run'}-{self.id}"
        self.config = Config(config or {})
        self._record = RunRecord(
            id=self.id,
            project=self.project,
            name=self.name,
            job_type=job_type,
            started_at=now(),
            status="running",
            entity=self.entity,
            code=_code_info(ctx.store.root),
        )
        self._written = False
        self._finished = False

    def __repr__(self) -> str:
        return f"<Run {self.project}/{self.id} ({self.name})>"

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.id}"

    @property
    def registry(self) -> Path:
        return self._ctx.store.root

    def _current(self, **changes: Any) -> RunRecord:
        config = to_plain(dict(self.config), where=f"run {self.id} config")
        return replace(self._record, config=config, **changes)

    def _check_open(self) -> None:
        if self._finished:
            raise RegistryError(f"run {self.id} is finished; start a new run with init()")

    def log_artifact(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
    ) -> Artifact:
        """Log an artifact as this run's output; ``latest`` moves to it.

        Logging content identical to an existing version creates no new version:
        the artifact becomes that version and the aliases are applied to it.
        """
        self._check_open()
        if isinstance(artifact_or_path, Artifact):
            artifact = artifact_or_path
        else:
            path = Path(artifact_or_path)
            artifact = Artifact(name or path.name, type or "unspecified")
            if path.is_dir():
                artifact.add_dir(path)
            else:
                artifact.add_file(path)
        if isinstance(aliases, str):
            raise UsageError("aliases must be a list of strings, not one string")
        record = self._current()
        # The run's file is written with the version: its config is judged before a
        # blob is stored, not after.
        check_document(record.to_doc(), "run", run_file(record.project, record.id))
        new = artifact._log_to(
            self._ctx, project=self.project, aliases=list(aliases or []), run=record
        )
        if new is not None:
            self._record = new
        self._written = True
        return artifact

    def use_artifact(
        self,
        artifact_or_name: Artifact | str,
        type: str | None = None,
        aliases: list[str] | None = None,
    ) -> Artifact:
        """Declare an artifact as this run's input and return it (download it next)."""
        self._check_open()
        if isinstance(artifact_or_name, Artifact):
            artifact = artifact_or_name
            if artifact._record is None:
                artifact._log_to(self._ctx, project=self.project, aliases=list(aliases or []))
            via = None
        else:
            via = artifact_or_name
            ref = parse_artifact_path(artifact_or_name)
            found = self._ctx.resolve_ref(ref, project=self.project, entities=(self.entity,))
            artifact = Artifact._from_resolved(self._ctx, found)
            if found.link is None and ref.version is not None:
                via = None
        record = artifact._logged()
        if type is not None and record.type != type:
            raise ArtifactError(
                f"{artifact.qualified_name} is of type {record.type!r}, not {type!r}"
            )
        use = ArtifactUse(record.project, record.name, record.version, via)
        if use not in self._record.inputs:
            self._record = self._current(inputs=(*self._record.inputs, use))
            self._ctx.record_run(self._record, f"use {use.path} [run {self.id}]")
            self._written = True
        return artifact

    def link_artifact(
        self, artifact: Artifact, target_path: str, aliases: list[str] | None = None
    ) -> Artifact:
        """Link an artifact (logged first if it is not yet) into a model registry:
        ``run.link_artifact(model, "model-registry/production-models", aliases=["staging"])``.
        """
        self._check_open()
        if artifact._record is None:
            self.log_artifact(artifact)
        record = artifact._logged()
        if isinstance(aliases, str):
            raise UsageError("aliases must be a list of strings, not one string")
        linked = link_version(self._ctx, record, target_path, list(aliases or []), run=self.id)
        return Artifact._from_resolved(self._ctx, self._ctx.resolve_ref(linked.path))

    def finish(self, exit_code: int | None = None) -> None:
        """Mark the run finished (or failed, for a non-zero exit code) and record it."""
        if self._finished:
            return
        self._finished = True
        _active_runs.discard(self)
        global _current_run
        if _current_run is self:
            _current_run = None
        status = "finished" if not exit_code else "failed"
        self._record = self._current(status=status, finished_at=now())
        if self._written or self.config:
            self._ctx.record_run(self._record, f"finish run {self.id} ({status})")

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish(exit_code=1 if exc_type is not None else 0)


_current_run: Run | None = None
_active_runs: set[Run] = set()


def init(
    project: str | None = None,
    entity: str | None = None,
    job_type: str | None = None,
    config: dict[str, Any] | None = None,
    name: str | None = None,
    registry: str | os.PathLike[str] | None = None,
    id: str | None = None,
    **ignored: Any,
) -> Run:
    """Start a run against a registry (see ``registry_tool._store.locate`` for which).

    Unknown W&B keyword arguments (``tags``, ``notes``, ``mode``...) are accepted and
    ignored, so existing ``wandb.init`` calls keep working.
    """
    global _current_run
    if _current_run is not None:
        _current_run.finish()
    run = Run(
        Context.open(registry),
        project=project,
        entity=entity,
        job_type=job_type,
        config=config,
        name=name,
        id=id,
    )
    _current_run = run
    _active_runs.add(run)
    return run


def current_run() -> Run | None:
    return _current_run


def finish(exit_code: int | None = None) -> None:
    """Finish the current run, as ``wandb.finish()`` does."""
    if _current_run is not None:
        _current_run.finish(exit_code)


@atexit.register
def _finish_all() -> None:
    for run in list(_active_runs):
        # At interpreter shutdown, never turn a clean exit into a traceback.
        with contextlib.suppress(Exception):
            run.finish()
