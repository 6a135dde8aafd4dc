"""``Run``: one execution of training or data code, the lineage it records and the
metrics it logs (their history and summary: ``metrics.py``).

>>> with init(project="my-project", job_type="train", config={"lr": 0.01}) as run:  # doctest: +SKIP
...     data = run.use_artifact("training-data:latest")
...     run.log({"loss": 0.3, "val": {"acc": 0.9}})
...     run.log_artifact(model_artifact, aliases=["best"])
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import string
import subprocess
import sys
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from registry_tool._engine import Context
from registry_tool._model.layout import run_file
from registry_tool._model.names import parse_artifact_path, validate_name
from registry_tool._model.plain import to_plain
from registry_tool._model.records import ArtifactUse, CodeInfo, RunRecord
from registry_tool._promotion import link_version
from registry_tool._promotion.promote import run_page
from registry_tool._sdk.artifact import Artifact
from registry_tool._sdk.init_args import judge
from registry_tool._sdk.metrics import RunMetrics, Summary
from registry_tool._sdk.public_run import Config, check_notes, check_tags, one_line
from registry_tool._sdk.run_files import RunFiles
from registry_tool._sdk.run_models import RunModels
from registry_tool._sdk.settings import Settings
from registry_tool._store import now
from registry_tool._store.registry import check_document
from registry_tool.errors import ArtifactError, RegistryError, UsageError

DEFAULT_PROJECT = "uncategorized"
_ALPHABET = string.ascii_lowercase + string.digits
_URI = re.compile(r"^(s3|gs|https?|file)://", re.IGNORECASE)
_RESUME = ("allow", "must", "never", "auto")


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


def _uri_name(uri: str) -> str:
    """The default artifact name of a URI: its last path segment (its host for none)."""
    parts = urllib.parse.urlsplit(uri)
    return Path(urllib.parse.unquote(parts.path)).name or parts.netloc


class Run(RunFiles, RunModels):
    """A run: records what it used and logged, its config, summary, tags and metric
    history, in one YAML file per run (the history itself is one blob it names); the
    files it saves, its code and its models (``run_files.py``, ``run_models.py``)."""

    def __init__(
        self,
        ctx: Context,
        *,
        project: str | None = None,
        entity: str | None = None,
        job_type: str | None = None,
        config: Any = None,
        name: str | None = None,
        id: str | None = None,
        tags: Iterable[str] | None = None,
        notes: str | None = None,
        group: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        resume: bool | str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self._ctx = ctx
        self._settings = settings or Settings()
        self._saved = {}
        self._pinned = ()
        self._console = False
        self.id = validate_name(id, what="run id") if id else new_run_id()
        self.project = validate_name(project or DEFAULT_PROJECT, what="project")
        self.entity = (
            ctx.check_entity(validate_name(entity, what="entity")) if entity else ctx.entity
        )
        # One line each, checked here: a bad job_type would otherwise surface only when
        # the run is first written, as the default name's fault, after blobs are stored.
        self.job_type = one_line(job_type, "job_type", 128) if job_type is not None else None
        self._name = one_line(name, "name", 256) if name else f"{job_type or 'run'}-{self.id}"
        self.config = Config()
        self._tags = check_tags(tags) if tags is not None else ()
        self._notes = check_notes(notes) if notes is not None else None
        self._group = one_line(group, "group", 128) if group is not None else None
        folder = Path(dir if dir is not None else ".").resolve() / "wandb" / f"run-{self.id}"
        self._metrics = RunMetrics(ctx.blobs, folder)
        self._record = RunRecord(
            id=self.id,
            project=self.project,
            name=self._name,
            job_type=job_type,
            started_at=now(),
            status="running",
            entity=self.entity,
            code=_code_info(ctx.store.root),
        )
        self.resumed = self._resume(resume, tags is not None)
        self._starting_step = self._metrics.history.step
        self.config.update(config or {})
        self._written = self.resumed
        self._finished = False

    def _resume(self, resume: bool | str | None, tags_given: bool) -> bool:
        """Continue the run of the same id (``resume="allow"``, ``"must"``, ``"auto"``,
        True): its config, summary, tags, lineage and history, from the next step."""
        if resume is None or resume is False:
            return False
        if resume is not True and resume not in _RESUME:
            raise UsageError(f"resume: {resume!r} is not one of {', '.join(_RESUME)}, True, False")
        old = self._ctx.store.read_run(self._ctx.store.head(), self.project, self.id)
        where = f"run {self.project}/{self.id}"
        if resume == "never":
            if old is not None:
                raise UsageError(f"resume='never': {where} exists; pick another id")
            return False
        if old is None:
            if resume == "must":
                raise UsageError(f"resume='must': {where} does not exist")
            return False
        self._name = old.name
        self.config.update(old.config)
        self._tags = self._tags if tags_given else old.tags
        self._notes = self._notes if self._notes is not None else old.notes
        self._group = self._group if self._group is not None else old.group
        self._record = replace(old, status="running", finished_at=None)
        history = self._ctx.read_blob(old.history.digest) if old.history else None
        self._metrics.resume(old, history)
        return True

    def __repr__(self) -> str:
        return f"<Run {self.project}/{self.id} ({self.name})>"

    # -- what W&B's Run shows ----------------------------------------------------------

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.id}"

    @property
    def registry(self) -> Path:
        return self._ctx.store.root

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = one_line(value, "name", 256)
        if not value:
            raise UsageError("name: cannot be empty", field="name")

    @property
    def tags(self) -> tuple[str, ...]:
        return self._tags

    @tags.setter
    def tags(self, value: Iterable[str]) -> None:
        self._tags = check_tags(value)

    @property
    def notes(self) -> str | None:
        return self._notes

    @notes.setter
    def notes(self, value: str) -> None:
        self._notes = check_notes(value)

    @property
    def group(self) -> str | None:
        return self._group

    @property
    def summary(self) -> Summary:
        """The last value of each logged key (or what ``define_metric`` asks for), and
        whatever is set here; written into the run's file."""
        return self._metrics.summary

    @property
    def step(self) -> int:
        """The step the next ``log`` writes to."""
        return self._metrics.history.step

    @property
    def start_time(self) -> float:
        return self._metrics.history.started

    @property
    def dir(self) -> str:
        """The run's folder for its files (``<dir>/wandb/run-<id>/files``), made on use."""
        return str(self._metrics.dir)

    @property
    def url(self) -> str | None:
        """The run's page on the published site when the registry's ``mkdocs.yml`` names
        its https ``site_url``; None otherwise (as a W&B run in offline mode)."""
        return run_page(self._ctx.store.head(), self.project, self.id)

    def get_url(self) -> str | None:
        return self.url

    @property
    def offline(self) -> bool:
        return False

    @property
    def disabled(self) -> bool:
        return False

    def project_name(self) -> str:
        return self.project

    def _current(self, **changes: Any) -> RunRecord:
        where = f"run {self.id}"
        config = to_plain(dict(self.config), where=f"{where} config")
        record = replace(
            self._record,
            name=self._name,
            config=config,
            tags=self._tags,
            notes=self._notes,
            group=self._group,
            **changes,
        )
        return self._metrics.record(record, where)

    def _check_open(self) -> None:
        if self._finished:
            raise RegistryError(f"run {self.id} is finished; start a new run with init()")

    # -- metrics -----------------------------------------------------------------------

    def log(
        self,
        data: Mapping[str, Any],
        step: int | None = None,
        commit: bool | None = None,
        sync: bool | None = None,
    ) -> None:
        """Log a row of metrics (nested dicts, ``Image`` and ``Table`` values too).

        Steps count as in W&B: each call commits a row and moves on, ``commit=False``
        adds to the current row, an explicit ``step`` holds its row open until a later
        step; a step below the current one is dropped with a warning.
        """
        self._check_open()
        if self._metrics.log(data, step, commit):
            self._metrics.flush()
            self._ctx.record_run(self._current(), f"history of run {self.id}")
            self._written = True

    def define_metric(
        self,
        name: str,
        step_metric: str | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        overwrite: bool | None = None,
        goal: str | None = None,
    ) -> None:
        """Say how a metric is summarised (``summary="min"``, ``"max,last"``, ``"best"``
        with ``goal``, which W&B 0.31 no longer takes but older scripts pass); a name
        ending in ``*`` covers every metric it prefixes."""
        self._check_open()
        self._metrics.define(
            name,
            summary=summary,
            goal=goal,
            step_metric=step_metric,
            hidden=hidden,
            overwrite=overwrite,
        )

    # -- artifacts and models ------------------------------------------------------------

    def log_artifact(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        tags: list[str] | None = None,
    ) -> Artifact:
        """Log an artifact as this run's output; ``latest`` moves to it.

        A path logs that file or folder; an ``s3://``, ``gs://``, ``http(s)://`` or
        ``file://`` URI logs a reference to it (``Artifact.add_reference``). Logging
        content identical to an existing version creates no new version: the artifact
        becomes that version and the aliases are applied to it.
        """
        self._check_open()
        if isinstance(artifact_or_path, Artifact):
            artifact = artifact_or_path
        elif isinstance(artifact_or_path, str) and _URI.match(artifact_or_path):
            uri = artifact_or_path
            artifact = Artifact(name or _uri_name(uri), type or "unspecified")
            artifact.add_reference(uri)
        else:
            path = Path(artifact_or_path)
            artifact = Artifact(name or path.name, type or "unspecified")
            if path.is_dir():
                artifact.add_dir(path)
            else:
                artifact.add_file(path)
        if isinstance(aliases, str):
            raise UsageError("aliases must be a list of strings, not one string")
        if tags is not None:
            artifact.tags = list(tags)
        self._metrics.flush()
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
        use_as: str | None = None,
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
            self._metrics.flush()
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

    # -- the end -------------------------------------------------------------------------

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Mark the run finished (or failed, for a non-zero exit code) and record it,
        with its summary and its history blob."""
        if self._finished:
            return
        self._keep_at_finish()
        self._metrics.finish()
        self._finished = True
        _active_runs.discard(self)
        global _current_run
        if _current_run is self:
            _current_run = None
        status = "finished" if not exit_code else "failed"
        self._record = self._current(status=status, finished_at=now())
        record = self._record
        said = (record.tags, record.notes, record.group, record.summary, record.metrics)
        if self._written or self.config or record.files or any(said):
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
    entity: str | None = None,
    project: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    id: str | None = None,
    name: str | None = None,
    notes: str | None = None,
    tags: Iterable[str] | None = None,
    config: Any = None,
    config_exclude_keys: list[str] | None = None,
    config_include_keys: list[str] | None = None,
    allow_val_change: bool | None = None,
    group: str | None = None,
    job_type: str | None = None,
    mode: str | None = None,
    force: bool | None = None,
    reinit: bool | str | None = None,
    resume: bool | str | None = None,
    resume_from: str | None = None,
    fork_from: str | None = None,
    save_code: bool | None = None,
    tensorboard: bool | None = None,
    sync_tensorboard: bool | None = None,
    monitor_gym: bool | None = None,
    settings: Settings | dict[str, Any] | None = None,
    anonymous: str | None = None,
    registry: str | os.PathLike[str] | None = None,
) -> Run:
    """Start a run against a registry (see ``registry_tool._store.locate`` for which),
    with W&B's arguments in W&B's order (``init_args.py`` judges them).

    ``config`` is a dict or an ``argparse.Namespace``; ``tags``, ``notes`` and ``group``
    are kept in the run's file; ``resume`` continues a run of the same ``id``;
    ``reinit`` finishes the current run (the default), returns it
    (``"return_previous"``) or leaves it running (``"create_new"``); ``save_code``
    logs the main script as a ``code`` artifact. ``force``, ``allow_val_change`` and
    ``anonymous`` change nothing here (there is no server to reach or log in to, and
    the config always takes new values). ``mode="disabled"``, TensorBoard and gym
    syncing, ``resume_from`` and ``fork_from`` are refused rather than ignored.
    """
    args = judge(locals())
    global _current_run
    if _current_run is not None:
        if args.reinit == "return_previous":
            return _current_run
        if args.reinit == "finish_previous":
            _current_run.finish()
    run = Run(Context.open(registry), settings=args.settings, **args.run)
    _current_run = run
    _active_runs.add(run)
    if args.save_code:
        run.log_code(_main_folder(), include_fn=_is_main)
    return run


def _main_folder() -> str:
    return os.path.dirname(os.path.abspath(sys.argv[0])) if sys.argv and sys.argv[0] else "."


def _is_main(path: str, root: str) -> bool:
    """The script being run, which W&B's ``save_code`` saves."""
    main = sys.argv[0] if sys.argv else ""
    return bool(main) and os.path.abspath(path) == os.path.abspath(main)


def current_run() -> Run | None:
    return _current_run


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, as ``wandb.finish()`` does."""
    if _current_run is not None:
        _current_run.finish(exit_code)


@atexit.register
def _finish_all() -> None:
    for run in list(_active_runs):
        # At interpreter shutdown, never turn a clean exit into a traceback.
        with contextlib.suppress(Exception):
            run.finish()
