"""Runs read back from the registry (``api.run(...)``, ``artifact.logged_by()``), the
run config (a dict that also reads as attributes) and what a run's tags and notes may
be, shared by the live run and an edit of a read one."""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import random
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from registry_tool._engine import Context
from registry_tool._model.layout import run_file
from registry_tool._model.names import parse_artifact_path, validate_entry_path, validate_line
from registry_tool._model.plain import to_plain
from registry_tool._model.records import ArtifactUse, RunFile, RunRecord
from registry_tool._promotion.promote import run_page
from registry_tool._sdk.artifact import Artifact
from registry_tool._sdk.html import run_html, show_html
from registry_tool._sdk.metrics import (
    AttrDict,
    Summary,
    decode_rows,
    flatten,
    plain_metric,
    summary_doc,
    summary_value,
)
from registry_tool._store import Change, Snapshot
from registry_tool.errors import NotFoundError, UnsupportedError, UsageError

CONSOLE_LOG = "output.log"  # the console lines ``run.write_logs`` keeps
STATES = ("running", "finished", "failed", "crashed")

MAX_TAG = 64
MAX_NOTES = 65536


def one_line(value: object, field: str, longest: int) -> str:
    """``value`` if it is a string of one line, at most ``longest`` characters."""
    if not isinstance(value, str):
        raise UsageError(f"{field}: must be a string, not {type(value).__name__}", field=field)
    validate_line(value, field=field)
    if len(value) > longest:
        raise UsageError(f"{field}: longer than {longest} characters", field=field)
    return value


def check_tags(value: object) -> tuple[str, ...]:
    """W&B's tags: a list of non-empty strings of one line, at most 64 characters."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise UsageError(f"tags: must be a list of strings, not {type(value).__name__}")
    out = []
    for tag in value:
        if not one_line(tag, "tags", MAX_TAG):
            raise UsageError("tags: a tag cannot be empty", field="tags")
        out.append(tag)
    return tuple(dict.fromkeys(out))


def check_notes(value: object) -> str:
    """Notes are free text (several lines allowed), at most 64 KiB of characters."""
    if not isinstance(value, str):
        raise UsageError(f"notes: must be a string, not {type(value).__name__}", field="notes")
    if len(value) > MAX_NOTES:
        raise UsageError(f"notes: longer than {MAX_NOTES} characters", field="notes")
    return value


class Config(AttrDict):
    """Run config (``config.lr``); ``update`` takes a dict or an ``argparse.Namespace``,
    as W&B's does."""

    def update(  # type: ignore[override]
        self, d: Any = None, allow_val_change: bool | None = None, **kwargs: Any
    ) -> None:
        if d is not None:
            if not isinstance(d, Mapping):
                if not hasattr(d, "__dict__"):
                    raise UsageError(
                        f"config: cannot update from {type(d).__name__} (a dict or Namespace)"
                    )
                d = vars(d)
            super().update(d)
        super().update(kwargs)

    def setdefaults(self, d: Mapping[str, Any]) -> None:
        for key, value in d.items():
            self.setdefault(key, value)

    def as_dict(self) -> dict[str, Any]:
        return dict(self)

    def persist(self) -> None:
        """Nothing to do: the config is written with the run's file."""


class PreInit:
    """``wandb.config`` and ``wandb.summary`` before ``init``: any use says to call it."""

    def __init__(self, what: str) -> None:
        object.__setattr__(self, "_what", what)

    def _fail(self, *_args: Any, **_kwargs: Any) -> NoReturn:
        raise UsageError(f"{object.__getattribute__(self, '_what')}: call init() first")

    def __getattr__(self, key: str) -> NoReturn:
        self._fail()

    __setattr__ = __getitem__ = __setitem__ = __delitem__ = __iter__ = __len__ = _fail


class RunFileEntry:
    """A file a run logged (an image, a table), as W&B's public ``File``."""

    def __init__(self, ctx: Context, file: RunFile) -> None:
        self._ctx = ctx
        self.name = file.path
        self.size = file.size
        self.digest = file.digest

    def __repr__(self) -> str:
        return f"<File {self.name} ({self.size} bytes)>"

    def download(self, root: str = ".", replace: bool = False, exist_ok: bool = False) -> Path:
        """Write the file under ``root`` at its name, verified; return its path."""
        target = Path(root) / validate_entry_path(self.name)
        if target.exists() and not replace:
            if exist_ok:
                return target
            raise UsageError(f"{target} exists; pass replace=True to overwrite it")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self._ctx.read_blob(self.digest))
        return target


class PublicRun:
    """A run read back from the registry (``api.run(...)``, ``artifact.logged_by()``):
    its config, summary, tags, history and files, as W&B's public ``Run``."""

    def __init__(self, ctx: Context, record: RunRecord) -> None:
        self._ctx = ctx
        self._record = record
        self.id = record.id
        self.name = record.name
        self.project = record.project
        self.entity = record.entity or ctx.entity
        self.job_type = record.job_type
        self.config = Config(record.config)
        self.summary = Summary(summary_value(record.summary))
        self.tags = list(record.tags)
        self.notes = record.notes
        self.group = record.group
        self.state = record.status
        self.status = record.status
        self.started_at = record.started_at
        self.created_at = record.started_at
        self.finished_at = record.finished_at
        self.code = record.code
        # Where W&B's public run downloads its files by default.
        self.dir = os.path.join(tempfile.gettempdir(), self.entity, self.project, self.id)

    def _set(self, record: RunRecord) -> None:
        """Take ``record`` as the run's state, every attribute read from it again."""
        self.__dict__.update(vars(PublicRun(self._ctx, record)))

    def __repr__(self) -> str:
        return f"<PublicRun {self.project}/{self.id} ({self.status})>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicRun) and (self.project, self.id) == (other.project, other.id)

    def __hash__(self) -> int:
        return hash((self.project, self.id))

    @property
    def path(self) -> list[str]:
        return [self.entity, self.project, self.id]

    @property
    def url(self) -> str | None:
        """The run's page on the published site, when the registry names its URL."""
        return run_page(self._ctx.store.head(), self.project, self.id)

    @property
    def lastHistoryStep(self) -> int:  # W&B spells it so
        rows = list(self._rows())
        return int(rows[-1].get("_step", -1)) if rows else -1

    def _rows(self) -> Iterator[dict[str, Any]]:
        history = self._record.history
        if history is None:
            return iter(())
        return decode_rows(self._ctx.read_blob(history.digest))

    def scan_history(
        self,
        keys: list[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
        use_cache: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Every row of the history, oldest first, nested keys as ``a.b``; with
        ``keys``, only the rows holding all of them, and only those keys. The history
        is one blob read whole, so ``page_size`` and ``use_cache`` change nothing."""
        for row in self._rows():
            step = row.get("_step", 0)
            if (min_step is not None and step < min_step) or (
                max_step is not None and step >= max_step
            ):
                continue
            flat = flatten(row)
            if keys is None:
                yield flat
            elif all(k in flat for k in keys):
                yield {k: flat[k] for k in keys}

    def history(
        self,
        samples: int = 500,
        keys: list[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """At most ``samples`` rows, evenly spread, first and last included; with
        ``keys``, the rows holding them (and ``x_axis``). A pandas DataFrame when
        pandas is installed and ``pandas`` is true, else a list of dicts."""
        if stream != "default":
            raise UsageError(f"history: stream {stream!r}: only 'default' is recorded")
        wanted = None if keys is None else [x_axis, *(k for k in keys if k != x_axis)]
        rows = list(self.scan_history(keys=wanted))
        if samples < len(rows):
            picks = sorted(random.Random(0).sample(range(1, len(rows) - 1), max(samples - 2, 0)))
            ends = [0, len(rows) - 1] if samples >= 2 else [0]
            rows = [rows[i] for i in sorted({*ends, *picks})][:samples]
        if pandas:
            try:
                pd = importlib.import_module("pandas")
            except ImportError:
                return rows
            return pd.DataFrame.from_records(rows)
        return rows

    def beta_scan_history(
        self,
        keys: list[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
        use_cache: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """W&B's faster ``scan_history``, which reads exported files: here the same."""
        return self.scan_history(keys, page_size, min_step, max_step, use_cache)

    def files(
        self, names: list[str] | None = None, pattern: str | None = None, per_page: int = 50
    ) -> list[RunFileEntry]:
        """The files of the run: the media it logged, the files it saved or uploaded,
        its console log; only those in ``names``, or matching the glob ``pattern``."""
        out = [RunFileEntry(self._ctx, f) for f in self._record.files]
        return [
            f
            for f in out
            if (names is None or f.name in names)
            and (pattern is None or fnmatch.fnmatchcase(f.name, pattern))
        ]

    def file(self, name: str) -> RunFileEntry:
        for f in self.files():
            if f.name == name:
                return f
        raise UsageError(f"run {self.project}/{self.id} logged no file {name!r}")

    def update(self) -> None:
        """Write back what was changed here: name, tags, notes, group, config and
        summary (as W&B's ``run.update()`` does)."""
        record = replace(
            self._record,
            name=one_line(self.name, "name", 256),
            tags=check_tags(self.tags),
            notes=check_notes(self.notes) if self.notes is not None else None,
            group=one_line(self.group, "group", 128) if self.group is not None else None,
            config=to_plain(dict(self.config), where=f"run {self.id} config"),
            summary=summary_doc(plain_metric(dict(self.summary), where=f"run {self.id} summary")),
        )
        self._ctx.record_run(record, f"update run {self.id}")
        self._record = record

    def _artifacts(self, uses: tuple[ArtifactUse, ...]) -> list[Artifact]:
        snap = self._ctx.store.head()
        out = []
        for use in uses:
            record = self._ctx.store.read_version(snap, use.project, use.name, use.version)
            if record is not None:
                out.append(Artifact._from_record(self._ctx, record))
        return out

    def logged_artifacts(self, per_page: int = 100) -> list[Artifact]:
        return self._artifacts(self._record.outputs)

    def used_artifacts(self, per_page: int = 100) -> list[Artifact]:
        return self._artifacts(self._record.inputs)

    # -- reading again -----------------------------------------------------------------

    def load(self, force: bool = False) -> dict[str, Any]:
        """Read the run again from the registry's newest commit (dropping what was set
        here and not saved); return its document."""
        record = self._ctx.store.read_run(self._ctx.store.head(), self.project, self.id)
        if record is None:
            raise NotFoundError(f"run {self.project}/{self.id} does not exist (deleted?)")
        self._set(record)
        return record.to_doc()

    def load_full_data(self, force: bool = False) -> dict[str, Any]:
        return self.load(force)

    @property
    def summary_metrics(self) -> dict[str, Any]:
        """The summary as last read from the registry."""
        return dict(summary_value(self._record.summary))

    @property
    def rawconfig(self) -> dict[str, Any]:
        """The config as stored (no internal keys are kept here, so it is ``config``)."""
        return dict(self._record.config)

    @property
    def json_config(self) -> str:
        """The config as W&B's JSON spells it: ``{"lr": {"value": 0.1, "desc": null}}``."""
        return json.dumps({k: {"value": v, "desc": None} for k, v in self.rawconfig.items()})

    @property
    def metadata(self) -> dict[str, Any]:
        """What is recorded about where the run ran: the git commit of its code (when
        it ran in a git repository), else an empty dict."""
        if self.code is None:
            return {}
        return {"git": self.code.to_doc()}

    @property
    def system_metrics(self) -> dict[str, Any]:
        """Always empty: runs record no system metrics (CPU, GPU, memory) here."""
        return {}

    def console_logs(self, *, per_page: int = 1000, last: int | None = None) -> list[str]:
        """The lines the run wrote with ``write_logs`` (its ``output.log``), the last
        ``last`` of them; empty when it wrote none (stdout is not captured here)."""
        found = [f for f in self._record.files if f.path == CONSOLE_LOG]
        if not found:
            return []
        lines = self._ctx.read_blob(found[0].digest).decode("utf-8", "replace").splitlines()
        return lines[-last:] if last else lines

    def wait_until_finished(self) -> None:
        """Nothing to wait for: a run's file is written before its calls return."""

    def to_html(self, height: int = 420, hidden: bool = False) -> str:
        return run_html(self.url, self.name, height, hidden)

    def display(self, height: int = 420, hidden: bool = False) -> bool:
        """Show the run in a Jupyter notebook; False elsewhere."""
        return show_html(self.to_html(height, hidden))

    def snake_to_camel(self, string: str) -> str:
        """``job_type`` as W&B's API spells it, ``jobType``."""
        camel = "".join(word.title() for word in string.split("_"))
        return camel[:1].lower() + camel[1:]

    # -- writing -----------------------------------------------------------------------

    def save(self) -> None:
        """``update()``: write what was changed here back to the run's file."""
        self.update()

    def update_state(self, state: str) -> bool:
        """Set the run's state (``running``, ``finished``, ``failed``, ``crashed``)."""
        if state == "pending":
            raise UnsupportedError(
                "update_state('pending') is not supported: a pending run waits in a W&B "
                "Launch queue, which needs a W&B server"
            )
        if state not in STATES:
            raise UsageError(f"update_state: {state!r} is not one of {', '.join(STATES)}")
        record = replace(self._record, status=state)
        self._ctx.record_run(record, f"set run {self.id} {state}")
        self._set(record)
        return True

    def upload_file(self, path: str, root: str = ".") -> RunFileEntry:
        """Store the file ``path`` as a file of the run, named by its path under
        ``root``; a file of that name is replaced."""
        local = Path(path).resolve()
        base = Path(root).resolve()
        if not local.is_relative_to(base):
            raise UsageError(f"upload_file: {path} is not under root {root}")
        if not local.is_file():
            raise UsageError(f"upload_file: {path} is not a file")
        name = validate_entry_path(local.relative_to(base).as_posix())
        hexdigest, _ = self._ctx.blobs.ingest(local, None, lambda _n: None)
        new = RunFile(name, f"sha256:{hexdigest}", local.stat().st_size)
        files = (*(f for f in self._record.files if f.path != name), new)
        record = replace(self._record, files=files)
        self._ctx.record_run(record, f"upload {name} [run {self.id}]")
        self._set(record)
        return RunFileEntry(self._ctx, new)

    def log_artifact(
        self, artifact: Artifact, aliases: list[str] | None = None, tags: list[str] | None = None
    ) -> Artifact:
        """Record ``artifact`` as an output of this finished run (logging it first when
        it is a draft), with ``aliases``."""
        if not isinstance(artifact, Artifact):
            raise UsageError(
                f"log_artifact: artifact must be an Artifact, not {type(artifact).__name__}"
            )
        if isinstance(aliases, str):
            raise UsageError("aliases must be a list of strings, not one string")
        if tags is not None:
            artifact.tags = list(tags)
        new = artifact._log_to(
            self._ctx, project=self.project, aliases=list(aliases or []), run=self._record
        )
        if new is not None:
            self._set(new)
        return artifact

    def use_artifact(self, artifact: Artifact | str, use_as: str | None = None) -> Artifact:
        """Record ``artifact`` (or the one a path names) as an input of this run."""
        via = None
        if isinstance(artifact, str):
            ref = parse_artifact_path(artifact)
            found = self._ctx.resolve_ref(ref, project=self.project, entities=(self.entity,))
            via = artifact if found.link is not None or ref.version is None else None
            artifact = Artifact._from_resolved(self._ctx, found)
        elif not isinstance(artifact, Artifact):
            raise UsageError(
                f"use_artifact: artifact must be an Artifact, not {type(artifact).__name__}"
            )
        logged = artifact._logged()
        use = ArtifactUse(logged.project, logged.name, logged.version, via)
        if use not in self._record.inputs:
            record = replace(self._record, inputs=(*self._record.inputs, use))
            self._ctx.record_run(record, f"use {use.path} [run {self.id}]")
            self._set(record)
        return artifact

    def delete(self, delete_artifacts: bool = False) -> None:
        """Remove the run's file in one commit (git history keeps it); with
        ``delete_artifacts``, soft-delete the versions it logged first, their aliases
        with them, as ``Artifact.delete`` does."""
        if delete_artifacts:
            for artifact in self.logged_artifacts():
                if artifact.state != "DELETED":
                    artifact.delete(delete_aliases=True)
        path = run_file(self.project, self.id)

        def build(snap: Snapshot) -> Change[None]:
            change: Change[None] = Change()
            if snap.read(path) is not None:
                change.files[path] = None
            change.message = f"delete run {self.project}/{self.id}"
            return change

        self._ctx.store.write(build)
